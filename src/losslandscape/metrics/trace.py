"""Stochastic estimates of the Hessian's trace from Hessian-vector products.

Both take a Hessian-vector product ``v ↦ H v`` on flat ``(n,)`` float32 vectors
(:class:`~losslandscape.metrics.sharpness.HessianOperator`) and return the estimate of
``tr H`` and its standard error, in the Hessian's units (nats per unit parameter² for the
mean cross-entropy).

- :func:`hutchpp_trace` (the study's): Hutch++, whose error falls as ``1/m`` in the number
  of products ``m`` where Hutchinson's falls as ``1/√m`` (for positive semi-definite
  matrices, Meyer et al. Theorem 1), because the trace over a sketch of the few large
  eigenvalues that dominate a network's Hessian is taken exactly.
- :func:`hutchinson_trace`: the plain estimator, kept as the reference Hutch++ is measured
  against (``benchmarks/curvature.py``).
"""

from collections.abc import Callable

import numpy as np
import torch

from losslandscape.seeding import generator_for

HessianVectorProduct = Callable[[torch.Tensor], torch.Tensor]

# the fewest products Hutch++ accepts: two for the sketch, two for its projection, two
# residual probes for a standard error
MIN_TRACE_PRODUCTS = 6


def _rademacher(n: int, columns: int, generator: torch.Generator) -> torch.Tensor:
    """``(n, columns)`` float32 of independent ±1."""
    return torch.randint(0, 2, (n, columns), generator=generator).float().mul_(2).sub_(1)


def _quadratic_forms(hvp: HessianVectorProduct, vectors: torch.Tensor) -> np.ndarray:
    """``zᵀ H z`` for each column ``z`` of ``vectors`` ``(n, k)``, in float64."""
    return np.array(
        [float(torch.dot(vectors[:, j].double(), hvp(vectors[:, j]).double())) for j in
         range(vectors.shape[1])]
    )  # fmt: skip


def hutchinson_trace(
    hvp: HessianVectorProduct, n_params: int, n_samples: int, seed: int
) -> tuple[float, float]:
    """Hutchinson (1989), *Commun. Stat. Simul. Comput.* 18(3): ``tr H ≈ mean(zᵀ H z)`` over
    ``n_samples`` Rademacher vectors ``z`` ``(n_params,)``; returns the estimate and its
    standard error (sample standard deviation over ``√n_samples``; ``nan`` for one sample).
    """
    probes = _rademacher(n_params, n_samples, generator_for(seed, "hutchinson"))
    values = _quadratic_forms(hvp, probes)
    error = values.std(ddof=1) / np.sqrt(n_samples) if n_samples > 1 else float("nan")
    return float(values.mean()), float(error)


def hutchpp_trace(
    hvp: HessianVectorProduct, n_params: int, n_products: int, seed: int
) -> tuple[float, float]:
    """Hutch++ (Meyer, Musco, Musco & Woodruff 2021, *Hutch++: Optimal Stochastic Trace
    Estimation*, SOSA, Algorithm 1) with ``n_products`` Hessian-vector products.

    With ``k = n_products // 3``: ``Q`` is an orthonormal basis ``(n_params, k)`` of ``H S``
    for Rademacher ``S``; ``tr(Qᵀ H Q)`` is exact over that subspace, and Hutchinson on the
    rest, ``(I − QQᵀ) G`` for ``n_products − 2k`` Rademacher columns ``G``, estimates the
    remainder. The low-rank part is fixed once ``Q`` is, so the standard error is that of
    the residual Hutchinson mean. Memory: about three ``(n_params, k)`` float32 blocks at
    the peak (the basis, the residual probes and their projection).

    Where ``n_products ≥ n_params`` the trace is computed exactly instead, as
    ``Σ e_iᵀ H e_i`` over the ``n_params`` unit vectors, with standard error 0.

    Returns (estimate, standard error). Raises ``ValueError`` for fewer than
    :data:`MIN_TRACE_PRODUCTS` products.
    """
    if n_products < MIN_TRACE_PRODUCTS:
        raise ValueError(
            f"Hutch++ needs at least {MIN_TRACE_PRODUCTS} Hessian-vector products, "
            f"found {n_products}"
        )
    if n_products >= n_params:
        return float(_quadratic_forms(hvp, torch.eye(n_params)).sum()), 0.0
    generator = generator_for(seed, "hutch++")
    k = n_products // 3
    sketch = _rademacher(n_params, k, generator)
    for j in range(k):  # H S, column by column, in place: one (n, k) block
        sketch[:, j] = hvp(sketch[:, j])
    basis, _ = torch.linalg.qr(sketch)  # float32: orthonormal to ~1e-6, ample for a trace
    del sketch
    low_rank = float(_quadratic_forms(hvp, basis).sum())
    residual = _rademacher(n_params, n_products - 2 * k, generator)
    residual -= basis @ (basis.T @ residual)
    values = _quadratic_forms(hvp, residual)
    return low_rank + float(values.mean()), float(values.std(ddof=1) / np.sqrt(len(values)))
