"""Both ends of a symmetric operator's spectrum from one Lanczos run.

Lanczos from a start vector ``q₁`` builds an orthonormal basis of the Krylov space
``K_m = span{q₁, H q₁, …, H^{m−1} q₁}`` and the tridiagonal ``T_m = Q_mᵀ H Q_m``; the
extreme eigenvalues of ``T_m`` (Ritz values) converge to both extreme eigenvalues of ``H`` at
once (Golub & Van Loan, *Matrix Computations*, 4th ed., §10.1; Saad 2011, *Numerical
Methods for Large Eigenvalue Problems*, 2nd ed., §6.6). The residual of a Ritz pair
``(θ, Q_m s)`` is ``β_m |s_m|`` (the last entry of ``s``; Golub & Van Loan §10.1.4), known
after every step at no extra product.

Hand-written rather than ARPACK's ``eigsh`` (which the study used before) because ARPACK
tests convergence once per pass of ``ncv`` products and against ``tol·|θ|``, so λmax and
λmin took two runs of a whole pass each: 21 + 81 products on the default CNN where one run
tested after every step needs 76 (``benchmarks/curvature.py``). Where the basis outgrows its
memory budget before an end converges, that end is finished by ARPACK's implicitly
restarted Lanczos from the Ritz vector reached (``fallback`` in the result).
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.linalg import eigh_tridiagonal
from scipy.sparse.linalg import LinearOperator, eigsh

ENDS = ("max", "min")


@dataclass(frozen=True)
class Extremes:
    """The result of :func:`lanczos_extremes`.

    Attributes:
        largest, smallest: the extreme eigenvalues (``nan`` for an end not asked for).
        top, bottom: their unit eigenvectors ``(n,)`` float64 (``None`` where not asked
            for), each signed so that its largest-magnitude entry is positive.
        products: operator products spent in all.
        fallback: the ends ARPACK finished because the basis reached ``max_vectors``.
    """

    largest: float
    smallest: float
    top: np.ndarray | None
    bottom: np.ndarray | None
    products: int
    fallback: tuple[str, ...]


def _signed(vector: np.ndarray) -> np.ndarray:
    vector = vector / np.linalg.norm(vector)
    return vector * np.sign(vector[np.argmax(np.abs(vector))])


def lanczos_extremes(
    matvec: Callable[[np.ndarray], np.ndarray],
    n: int,
    tol: float,
    seed: int,
    ends: tuple[str, ...] = ENDS,
    max_vectors: int | None = None,
) -> Extremes:
    """The extreme eigenpairs of a symmetric ``n × n`` operator given by ``matvec``
    (``(n,)`` float64 → ``(n,)``), by Lanczos with full reorthogonalization from a seeded
    normal start.

    Each end asked for (``ends``: ``("max",)``, ``("min",)`` or both) stops when its Ritz
    residual ``β_m |s_m|`` is at most ``tol·(θmax − θmin)``, the spread of the current
    Ritz values (never more than ``λmax − λmin``): each eigenvalue is then within that of
    *an* eigenvalue of the operator, in its units; of the extreme one where the end is set
    apart from the rest (λmax of a trained net), and where it sits in a cluster (λmin) the
    value may be a neighbour's and the vector a mix of the cluster's, with that residual.
    The pair returned for an end is the last that met its test: a later step can resolve a
    neighbour in a cluster and turn the extreme Ritz vector towards it, past the test. Not
    below rounding: where ``tol·spread`` is under about ``eps·max|λ|`` the result is as
    good as float64 allows, not ``tol``. The run stops when every end asked for has
    converged, when the Krylov space is invariant (``β_m`` at rounding level: its Ritz
    values are exact), or when ``n`` vectors are held.

    ``max_vectors`` (default ``n``) caps the basis ``(n, max_vectors)`` float64; an end not
    converged by then is finished by ARPACK from the Ritz vector reached, with as many
    vectors (at least ARPACK's 20), as the largest eigenvalue of a shifted operator whose
    ``tol·|μ|`` test is again relative to the spread: ``H − θ·I`` for λmax with θ the
    smallest Ritz value, ``θ·I − H`` for λmin with θ the best estimate of λmax (ARPACK's
    where it finished λmax too; a shift at or below λmax leaves λmin the top; Saad 2011,
    §4.1).

    Raises:
        ValueError: ``ends`` not one of ``("max",)``, ``("min",)``, ``("max", "min")``
            (in either order), ``n < 1``, ``tol`` not positive or ``max_vectors < 1``.
        FloatingPointError: a product that is not finite (named by its number, in the
            Lanczos run or ARPACK's).
    """
    if not ends or set(ends) - set(ENDS) or len(set(ends)) != len(ends):
        raise ValueError(f"ends must be ('max',), ('min',) or both, once each; found {ends!r}")
    if n < 1 or not tol > 0:
        raise ValueError(f"expected n >= 1 and tol > 0; found n={n}, tol={tol}")
    if max_vectors is not None and max_vectors < 1:
        raise ValueError(f"expected max_vectors >= 1 (or None for n); found {max_vectors}")
    limit = n if max_vectors is None else min(n, max_vectors)
    start = np.random.default_rng(seed).standard_normal(n)
    # Column-major: a column written touches its own pages only, so the memory used grows
    # with the steps taken, not with max_vectors.
    basis = np.empty((n, limit), order="F")
    basis[:, 0] = start / np.linalg.norm(start)
    alphas, betas = np.empty(limit), np.empty(limit)
    # Per end: (eigenvalue, coefficients in the basis) of the last pair that met its test.
    passed: dict[str, tuple[float, np.ndarray]] = {}
    products = 0
    for m in range(1, limit + 1):
        w = np.asarray(matvec(basis[:, m - 1]), dtype=np.float64).ravel()
        products += 1
        _check_finite(w, f"product {products} (Lanczos step {m})")
        alphas[m - 1] = basis[:, m - 1] @ w
        held = basis[:, :m]
        # Twice is enough (Parlett 1998, The Symmetric Eigenvalue Problem, §6.9): keeps the
        # basis orthonormal to working precision, so no ghost copies of converged values.
        w -= held @ (held.T @ w)
        w -= held @ (held.T @ w)
        beta = float(np.linalg.norm(w))
        ritz = {end: _extreme_ritz_pair(alphas[:m], betas[: m - 1], end) for end in ENDS}
        spread = ritz["max"][0] - ritz["min"][0]
        scale = max(abs(ritz["max"][0]), abs(ritz["min"][0]))
        invariant = beta <= np.finfo(np.float64).eps * scale
        for end in ends:
            value, coefficients = ritz[end]
            residual = 0.0 if invariant or m == n else beta * abs(coefficients[-1])
            if residual <= tol * spread:
                passed[end] = (value, coefficients)
        if len(passed) == len(ends) or invariant or m == limit:
            break
        betas[m - 1] = beta
        basis[:, m] = w / beta
    # A pair from step k has k coefficients: the first k basis vectors'.
    found = {end: (value, held[:, : len(c)] @ c) for end, (value, c) in passed.items()}
    found.update({end: (ritz[end][0], held @ ritz[end][1]) for end in ENDS if end not in found})
    fallback = tuple(end for end in ENDS if end in ends and end not in passed)
    if fallback:
        del basis, held, w  # ARPACK's vectors take their place
        for end in fallback:  # λmax first: λmin's shift
            shift = found["min" if end == "max" else "max"][0]
            counted, found[end] = _arpack_end(
                matvec, n, end, shift, found[end][1], tol, limit, products
            )
            products += counted
    largest, top = found["max"] if "max" in ends else (float("nan"), None)
    smallest, bottom = found["min"] if "min" in ends else (float("nan"), None)
    return Extremes(
        largest=largest,
        smallest=smallest,
        top=None if top is None else _signed(top),
        bottom=None if bottom is None else _signed(bottom),
        products=products,
        fallback=fallback,
    )


def _extreme_ritz_pair(alphas: np.ndarray, betas: np.ndarray, end: str) -> tuple[float, np.ndarray]:
    """The largest or smallest eigenpair of the symmetric tridiagonal matrix with diagonal
    ``alphas`` ``(m,)`` and off-diagonal ``betas`` ``(m − 1,)``: LAPACK's bisection and
    inverse iteration for that one pair (``stebz``/``stein``), O(m) where a full ``eigh``
    is O(m³) per step."""
    index = len(alphas) - 1 if end == "max" else 0
    values, vectors = eigh_tridiagonal(alphas, betas, select="i", select_range=(index, index))
    return float(values[0]), vectors[:, 0]


def _check_finite(image: np.ndarray, which: str) -> None:
    """Raises FloatingPointError naming ``which`` product where ``image`` is not finite."""
    if not np.all(np.isfinite(image)):
        raise FloatingPointError(
            f"the operator's {which} is not finite: {np.count_nonzero(~np.isfinite(image))} "
            f"of its {len(image)} entries are NaN or infinite"
        )


def _arpack_end(
    matvec: Callable[[np.ndarray], np.ndarray],
    n: int,
    end: str,
    shift: float,
    guess: np.ndarray,
    tol: float,
    vectors: int,
    first: int,
) -> tuple[int, tuple[float, np.ndarray]]:
    """One end by ARPACK from ``guess`` with ``vectors`` Lanczos vectors (at least 20,
    ARPACK's default, and at most ``n``), as the top ``μ`` of a shifted operator (Saad
    2011, §4.1) so that ARPACK's ``tol·|μ|`` test is relative to about the spread:
    λmax = ``shift + μ`` of ``H − shift·I`` (``shift`` ≈ λmin), λmin = ``shift − μ`` of
    ``shift·I − H`` (``shift`` ≈ λmax). ``first``: the products spent before, to number a
    product that is not finite. Returns (products, (eigenvalue, eigenvector))."""
    counter = [0]
    sign = 1.0 if end == "max" else -1.0

    def product(v: np.ndarray) -> np.ndarray:
        counter[0] += 1
        v = np.ravel(v)
        image = np.asarray(matvec(v), dtype=np.float64).ravel()
        _check_finite(image, f"product {first + counter[0]} (ARPACK's {counter[0]}, for λ{end})")
        return sign * (image - shift * v)

    wrapped = LinearOperator((n, n), matvec=product, dtype=np.float64)
    ncv = min(n, max(20, vectors))
    value, vector = eigsh(wrapped, k=1, which="LA", tol=tol, v0=guess, ncv=ncv)
    return counter[0], (shift + sign * float(value[0]), vector[:, 0])
