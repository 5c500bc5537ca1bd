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

    Each end asked for (``ends``, a subset of ``("max", "min")``) stops when its Ritz
    residual ``β_m |s_m|`` is at most ``tol·(θmax − θmin)``, the spread of the current
    Ritz values: both eigenvalues are then accurate to about ``tol·(λmax − λmin)`` in the
    operator's units (for λmax the accuracy ARPACK's ``tol·|θ|`` gave where λmin ≤ 0, and
    for λmin what the shifted operator ``λmax·I − H`` gave it, without needing λmax first).
    The run stops when every end asked for has converged, when the Krylov space is
    invariant (``β_m = 0``: its Ritz values are exact), or when ``n`` vectors are held.

    ``max_vectors`` (default ``n``) caps the basis ``(n, max_vectors)`` float64; an end not
    converged by then is finished by ARPACK (``eigsh``, ``which="LA"``, on ``H`` or on the
    shifted ``λmax·I − H``) from the Ritz vector reached, at the same tolerance and with
    as many vectors (at least ARPACK's 20).

    Raises:
        ValueError: ``ends`` empty or not within ``("max", "min")``, ``n < 1``, or a
            ``tol`` that is not positive.
    """
    if not ends or set(ends) - set(ENDS):
        raise ValueError(f"ends must be a non-empty subset of {ENDS}; found {ends!r}")
    if n < 1 or not tol > 0:
        raise ValueError(f"expected n >= 1 and tol > 0; found n={n}, tol={tol}")
    limit = n if max_vectors is None else max(1, min(n, max_vectors))
    start = np.random.default_rng(seed).standard_normal(n)
    # Column-major: a column written touches its own pages only, so the memory used grows
    # with the steps taken, not with max_vectors.
    basis = np.empty((n, limit), order="F")
    basis[:, 0] = start / np.linalg.norm(start)
    alphas, betas = [], []
    converged: set[str] = set()
    products = 0
    for m in range(1, limit + 1):
        q = basis[:, m - 1]
        w = np.asarray(matvec(q), dtype=np.float64).ravel()
        products += 1
        alphas.append(float(q @ w))
        held = basis[:, :m]
        # Twice is enough (Parlett 1998, The Symmetric Eigenvalue Problem, §6.9): keeps the
        # basis orthonormal to working precision, so no ghost copies of converged values.
        w -= held @ (held.T @ w)
        w -= held @ (held.T @ w)
        beta = float(np.linalg.norm(w))
        ritz, vectors = np.linalg.eigh(np.diag(alphas) + np.diag(betas, 1) + np.diag(betas, -1))
        invariant = beta <= np.finfo(np.float64).eps * max(abs(ritz[0]), abs(ritz[-1]), 1.0)
        for end in ends:
            residual = beta * abs(vectors[-1, -1 if end == "max" else 0])
            if invariant or m == n or residual <= tol * (ritz[-1] - ritz[0]):
                converged.add(end)
        if len(converged) == len(ends) or invariant or m == limit:
            break
        betas.append(beta)
        basis[:, m] = w / beta
    # An extreme Ritz value only moves outward as the space grows (Cauchy interlacing), so
    # an end that converged early is taken at the last step, where it is at least as good.
    done = {end: (float(ritz[i]), held @ vectors[:, i]) for end, i in (("max", -1), ("min", 0))}
    fallback = tuple(end for end in ends if end not in converged)
    if fallback:
        del basis, held  # ARPACK's vectors take their place
        operator = LinearOperator((n, n), matvec=matvec, dtype=np.float64)
        for end in (end for end in ENDS if end in fallback):  # λmax first: λmin's shift
            counted, done[end] = _arpack_end(
                operator, end, done["max"][0], done[end][1], tol, vectors=limit
            )
            products += counted
    largest, top = done["max"] if "max" in ends else (float("nan"), None)
    smallest, bottom = done["min"] if "min" in ends else (float("nan"), None)
    return Extremes(
        largest=largest,
        smallest=smallest,
        top=None if top is None else _signed(top),
        bottom=None if bottom is None else _signed(bottom),
        products=products,
        fallback=fallback,
    )


def _arpack_end(
    operator: LinearOperator,
    end: str,
    shift: float,
    guess: np.ndarray,
    tol: float,
    vectors: int,
) -> tuple[int, tuple[float, np.ndarray]]:
    """One end by ARPACK from ``guess`` with ``vectors`` Lanczos vectors (at least 20,
    ARPACK's default, and at most ``n``): λmax of ``H``, or λmin as ``shift − μmax`` of
    ``shift·I − H`` (Saad 2011, §4.1), whose ``tol·|μ|`` test is relative to about the
    spread. Returns (products, (eigenvalue, eigenvector))."""
    counter = [0]
    sign = 1.0 if end == "max" else -1.0
    offset = 0.0 if end == "max" else shift

    def product(v: np.ndarray) -> np.ndarray:
        counter[0] += 1
        v = np.ravel(v)
        return offset * v + sign * operator.matvec(v)

    n = operator.shape[0]
    wrapped = LinearOperator((n, n), matvec=product, dtype=np.float64)
    ncv = min(n, max(20, vectors))
    value, vector = eigsh(wrapped, k=1, which="LA", tol=tol, v0=guess, ncv=ncv)
    return counter[0], (offset + sign * float(value[0]), vector[:, 0])
