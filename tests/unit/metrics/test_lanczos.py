"""One Lanczos run for both ends of a spectrum, against dense eigendecompositions."""

import numpy as np
import pytest

from losslandscape.metrics.lanczos import lanczos_extremes


def _hessian_like(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A symmetric matrix with a trained network's kind of spectrum: a few outliers on top,
    a bulk near zero, and its most negative eigenvalue at the edge of a tight cluster
    (gaps of 1e-3 on a spread of about 50), the case that makes λmin slow."""
    rng = np.random.default_rng(seed)
    spectrum = np.concatenate(
        [
            [50.0, 30.0, 12.0],
            rng.exponential(0.05, n - 13),
            -0.8 + 1e-3 * np.arange(10),
        ]
    )
    basis = np.linalg.qr(rng.standard_normal((n, n)))[0]
    return (basis * spectrum) @ basis.T, np.sort(spectrum)


@pytest.mark.parametrize("seed", range(4))
def test_both_ends_match_the_dense_eigendecomposition(seed):
    matrix, spectrum = _hessian_like(300, seed)
    tol = 1e-6
    found = lanczos_extremes(lambda v: matrix @ v, 300, tol, seed)
    spread = spectrum[-1] - spectrum[0]
    assert found.largest == pytest.approx(spectrum[-1], abs=tol * spread)
    assert found.smallest == pytest.approx(spectrum[0], abs=tol * spread)
    for value, vector in ((found.largest, found.top), (found.smallest, found.bottom)):
        assert np.linalg.norm(vector) == pytest.approx(1)
        assert np.linalg.norm(matrix @ vector - value * vector) <= tol * spread
        assert vector[np.argmax(np.abs(vector))] > 0
    assert found.fallback == () and found.products < 300


def test_one_run_costs_fewer_products_than_arpacks_two():
    """The study's solver before: ARPACK's λmax (``which="LA"``, its default 20 vectors),
    then λmax·I − H for λmin with 80 vectors, each converged only at the end of a pass."""
    from scipy.sparse.linalg import LinearOperator, eigsh

    matrix, spectrum = _hessian_like(300, 0)
    counted = []

    def product(v):
        counted.append(1)
        return matrix @ np.ravel(v)

    operator = LinearOperator(matrix.shape, matvec=product, dtype=np.float64)
    start = np.random.default_rng(0).standard_normal(300)
    largest = eigsh(operator, k=1, which="LA", tol=1e-6, v0=start)[0][0]
    shifted = LinearOperator(
        matrix.shape, matvec=lambda v: largest * np.ravel(v) - product(v), dtype=np.float64
    )
    eigsh(shifted, k=1, which="LA", tol=1e-6, v0=start, ncv=80)
    found = lanczos_extremes(lambda v: matrix @ v, 300, 1e-6, 0)
    assert found.products < len(counted)


def test_an_end_converged_in_a_cluster_keeps_its_converged_vector():
    """Clusters 1e-7 apart at both ends: the end that converges first would, at the last
    step, have turned its Ritz vector towards a neighbour the later steps resolved
    (a true residual 5–53× the tolerance for these seeds); the last pair that met the
    test is returned."""
    rng = np.random.default_rng(2)
    cluster = 1e-7 * np.arange(1, 4)
    spectrum = np.concatenate([rng.uniform(-1, 1, 194), -1 - cluster, 1 + cluster])
    basis = np.linalg.qr(np.random.default_rng(2).standard_normal((200, 200)))[0]
    matrix = (basis * spectrum) @ basis.T
    tol, spread = 1e-6, np.ptp(spectrum)
    for seed in range(4):
        found = lanczos_extremes(lambda v: matrix @ v, 200, tol, seed)
        for value, vector in ((found.largest, found.top), (found.smallest, found.bottom)):
            assert np.linalg.norm(matrix @ vector - value * vector) <= tol * spread


@pytest.mark.parametrize("scale", [1e-16, 1e16])
def test_the_operators_scale_does_not_matter(scale):
    """Rounding-level breakdown is judged against the operator's own scale: a Hessian of
    norm 1e-16 (cross-entropy with large margins) is solved as well as one of norm 1."""
    matrix, spectrum = _hessian_like(200, 3)
    unit = lanczos_extremes(lambda v: matrix @ v, 200, 1e-6, 0)
    scaled = lanczos_extremes(lambda v: scale * (matrix @ v), 200, 1e-6, 0)
    assert scaled.products == unit.products
    assert scaled.smallest == pytest.approx(scale * spectrum[0], rel=1e-6)
    assert scaled.largest == pytest.approx(scale * spectrum[-1], rel=1e-6)


def test_one_end_alone():
    matrix, spectrum = _hessian_like(200, 1)
    found = lanczos_extremes(lambda v: matrix @ v, 200, 1e-8, 0, ends=("max",))
    assert found.largest == pytest.approx(spectrum[-1], rel=1e-7)
    assert np.isnan(found.smallest) and found.bottom is None
    both = lanczos_extremes(lambda v: matrix @ v, 200, 1e-8, 0)
    assert found.products < both.products  # the outlier converges long before the cluster


@pytest.mark.parametrize(
    ("ends", "cap", "handed"),
    [
        (("max", "min"), 25, ("min",)),
        (("min",), 25, ("min",)),
        (("max", "min"), 2, ("max", "min")),
        (("max",), 2, ("max",)),
    ],
)
def test_a_basis_cap_hands_the_unconverged_ends_to_arpack(ends, cap, handed):
    """Each end ARPACK finishes is as accurate as Lanczos would have made it: ARPACK works
    on a shifted operator whose top is about the spread, so its relative test is too."""
    matrix, spectrum = _hessian_like(300, 2)
    tol, spread = 1e-6, np.ptp(spectrum)
    found = lanczos_extremes(lambda v: matrix @ v, 300, tol, 0, ends=ends, max_vectors=cap)
    assert found.fallback == handed
    for end, value, vector, exact in (
        ("max", found.largest, found.top, spectrum[-1]),
        ("min", found.smallest, found.bottom, spectrum[0]),
    ):
        if end in ends:
            assert value == pytest.approx(exact, abs=tol * spread)
            assert np.linalg.norm(matrix @ vector - value * vector) <= 2 * tol * spread


def test_a_non_finite_product_is_named():
    matrix, _ = _hessian_like(50, 0)
    calls = []

    def failing(v):
        calls.append(1)
        return matrix @ v if len(calls) < 4 else np.full(50, np.nan)

    with pytest.raises(FloatingPointError, match=r"product 4 \(Lanczos step 4\) is not finite"):
        lanczos_extremes(failing, 50, 1e-6, 0)
    calls.clear()
    with pytest.raises(FloatingPointError, match=r"product 4 \(ARPACK's 1, for λmax\)"):
        lanczos_extremes(failing, 50, 1e-6, 0, max_vectors=3)


def test_an_invariant_krylov_space_stops_with_exact_values():
    """Three distinct eigenvalues: the Krylov space is invariant after three products."""
    matrix = np.diag(np.repeat([-2.0, 1.0, 5.0], 20))
    found = lanczos_extremes(lambda v: matrix @ v, 60, 1e-12, 0)
    assert found.products == 3
    assert (found.largest, found.smallest) == pytest.approx((5.0, -2.0), abs=1e-12)


@pytest.mark.parametrize("n", [1, 2])
def test_the_smallest_operators(n):
    matrix = np.array([[3.0]]) if n == 1 else np.array([[2.0, 1.0], [1.0, -1.0]])
    expected = np.linalg.eigvalsh(matrix)
    found = lanczos_extremes(lambda v: matrix @ v, n, 1e-10, 0)
    assert (found.smallest, found.largest) == pytest.approx((expected[0], expected[-1]))
    np.testing.assert_allclose(matrix @ found.bottom, found.smallest * found.bottom, atol=1e-10)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"ends": ()}, "ends must be"),
        ({"ends": ("min", "middle")}, "ends must be"),
        ({"ends": ("max", "max")}, "once each"),
        ({"tol": 0.0}, "tol > 0"),
        ({"n": 0}, "n >= 1"),
        ({"max_vectors": 0}, "max_vectors >= 1"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    arguments = {"matvec": lambda v: v, "n": 3, "tol": 1e-6, "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=message):
        lanczos_extremes(**arguments)
