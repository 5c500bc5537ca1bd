"""Sharpness of a trained model: Hessian extremes and trace, the adaptive (weight-scaled)
Hessian's largest eigenvalue, and Keskar's ε-sharpness.

All on the mean loss ``L(w)`` over a fixed data subset: cross-entropy (nats) unless a
:class:`~losslandscape.engine.loss.Loss` is given (the run's, ``training.loss``). Hessian-vector
products reuse one gradient graph (built once with ``create_graph=True``), which measured
1.2–1.8× faster than rebuilding it per product.
"""

from typing import TYPE_CHECKING

import numpy as np
import torch
from scipy.optimize import Bounds, minimize
from scipy.sparse.linalg import LinearOperator, eigsh
from torch import nn
from torch.func import functional_call

from losslandscape.engine.loss import mean_loss
from losslandscape.parameters import ParameterLayout
from losslandscape.seeding import seeded_subset

if TYPE_CHECKING:
    from losslandscape.engine.loss import Loss

# ARPACK's relative accuracy for every Hessian eigenvalue of the study: the sharpness rule's
# extremes and adaptive λmax, the hessian plane's eigenvectors and the convexity map. The
# tighter of the two that the rule and the plane used; the looser, 1e-4, gave the same
# eigenvalues to nine digits on the default model at three quarters of the cost. Relative
# to λmax for λmax; for λmin relative to λmax − λmin, the shifted operator's eigenvalue
# (_smallest_eigenpair): an absolute accuracy of 1e-6·(λmax − λmin).
HESSIAN_TOLERANCE = 1e-6

# Lanczos vectors for λmin, as many as fit LANCZOS_MEMORY_BYTES in float64 (at least
# ARPACK's default of 20). ARPACK tests convergence once per pass of that many products;
# the default CNN's λmin, next to a cluster of small eigenvalues, needed about 75, so 80
# converged in one pass (81 products) where 20 took 13 passes (261; 311 with which="SA"):
# benchmarks/curvature.py.
# λmax, set apart from the rest, converges in ARPACK's first pass of 20. λmin stays at
# 3.6–4.1× λmax's time: exact Lanczos needs 3.4–6.8× λmax's steps for it on the default CNN
# with each activation (the benchmark's "Krylov floor"; λmin sits in a cluster, its nearest
# neighbour 0.0005–0.03 away, where λmax is an outlier), so no Krylov solver does better.
LANCZOS_VECTORS = 80
LANCZOS_MEMORY_BYTES = 2 * 2**30


class HessianOperator:
    """``v ↦ H v`` for the loss Hessian at the model's current weights, on flat vectors."""

    def __init__(
        self,
        model: nn.Module,
        inputs: torch.Tensor,
        labels: torch.Tensor,
        loss: "Loss | None" = None,
        trainable_only: bool = False,
    ):
        """The Hessian of the mean ``loss`` (default cross-entropy;
        :mod:`losslandscape.engine.loss`) over ``inputs`` (a tensor, or a tuple of them for
        a model called with several) and ``labels``, with respect to
        every parameter (``trainable_only``: those that require a gradient, in the
        model's order)."""
        self.params = [p for p in model.parameters() if p.requires_grad or not trainable_only]
        self.n_params = sum(p.numel() for p in self.params)
        outputs = model(*inputs) if isinstance(inputs, tuple) else model(inputs)
        mean = mean_loss(loss, outputs, labels)
        self.loss = float(mean.detach())
        grads = torch.autograd.grad(mean, self.params, create_graph=True)
        self.flat_grad = torch.cat([g.reshape(-1) for g in grads])

    def __call__(self, vector: torch.Tensor) -> torch.Tensor:
        """``(n_params,)`` → ``(n_params,)`` float32."""
        products = torch.autograd.grad(
            self.flat_grad,
            self.params,
            grad_outputs=vector.to(self.flat_grad.dtype),
            retain_graph=True,
        )
        return torch.cat([p.reshape(-1) for p in products]).detach()

    def as_scipy(self) -> LinearOperator:
        def matvec(v: np.ndarray) -> np.ndarray:
            return self(torch.from_numpy(np.asarray(v, dtype=np.float32).ravel())).double().numpy()

        return LinearOperator((self.n_params, self.n_params), matvec=matvec, dtype=np.float64)


def _largest_eigenpair(
    operator: LinearOperator, tol: float, seed: int, vectors: int | None = None
) -> tuple[float, np.ndarray]:
    """The largest (algebraic) eigenvalue of a symmetric ``operator`` and its unit
    eigenvector ``(n,)``, by Lanczos (ARPACK's ``eigsh``, ``which="LA"``) from a seeded
    normal start; the vector's sign makes its largest entry positive. ``tol``: ARPACK's
    relative accuracy of the eigenvalue (its ``dsaupd`` stops when a Ritz value's error
    bound is below ``tol·|θ|``). ``vectors``: Lanczos vectors kept (ARPACK's ``ncv``; its
    default where ``None``)."""
    start = np.random.default_rng(seed).standard_normal(operator.shape[0])
    value, vector = eigsh(operator, k=1, which="LA", tol=tol, v0=start, ncv=vectors)
    vector = vector[:, 0] * np.sign(vector[np.argmax(np.abs(vector[:, 0])), 0])
    return float(value[0]), vector / np.linalg.norm(vector)


def _smallest_eigenpair(
    operator: LinearOperator, largest: float, tol: float, seed: int
) -> tuple[float, np.ndarray]:
    """The smallest eigenpair of a symmetric ``operator`` whose largest eigenvalue is
    ``largest``, as the largest eigenpair of the shifted operator ``largest·I − H``
    (a spectral shift: Saad 2011, *Numerical Methods for Large Eigenvalue Problems*, 2nd
    ed., §4.1): ``λmin = largest − μmax``, same eigenvector.

    The Krylov space is the one ARPACK's ``which="SA"`` on ``H`` would build; what changes
    is the stopping test, ``error bound ≤ tol·|θ|`` for the Ritz value θ (``dsaupd``'s
    ``TOL``; Lehoucq, Sorensen & Yang 1998, *ARPACK Users' Guide*). With ``SA`` θ is λmin
    itself, so where ``|λmin| ≪ λmax`` (a trained net) the test asks for an absolute
    accuracy far below the spectrum's scale, and λmin took 12× λmax's time. Shifted,
    θ = λmax − λmin, so λmin is accurate to ``tol·(λmax − λmin)`` nats per unit
    parameter², the accuracy λmax has. It keeps :data:`LANCZOS_VECTORS` Lanczos vectors
    where they fit :data:`LANCZOS_MEMORY_BYTES`.
    """
    n = operator.shape[0]
    vectors = min(n, max(20, min(LANCZOS_VECTORS, LANCZOS_MEMORY_BYTES // (8 * n))))
    shifted = LinearOperator(
        operator.shape,
        matvec=lambda v: largest * np.ravel(v) - operator.matvec(np.ravel(v)),
        dtype=np.float64,
    )
    top, vector = _largest_eigenpair(shifted, tol, seed, vectors)
    return largest - top, vector


def hessian_extreme_eigenvectors(
    hvp: HessianOperator, tol: float = HESSIAN_TOLERANCE, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, float, float]:
    """The Hessian's extreme eigenpairs: unit eigenvectors ``(n_params,)`` float32 of the
    largest and smallest (most negative) eigenvalues, and those eigenvalues (nats per unit
    parameter²), by Lanczos (:func:`_largest_eigenpair`; the smallest through a shifted
    operator, :func:`_smallest_eigenpair`); each vector's sign makes its largest entry
    positive. Both eigenvalues are accurate to about ``tol·(λmax − λmin)``.

    The one solver of the study's Hessian extremes: the hessian plane's directions and the
    sharpness rule's eigenvalues (:func:`hessian_extreme_eigenvalues`) both come from it,
    at :data:`HESSIAN_TOLERANCE`.
    """
    operator = hvp.as_scipy()
    largest, top = _largest_eigenpair(operator, tol, seed)
    smallest, bottom = _smallest_eigenpair(operator, largest, tol, seed)
    return torch.from_numpy(top).float(), torch.from_numpy(bottom).float(), largest, smallest


def hessian_extreme_eigenvalues(
    hvp: HessianOperator, tol: float = HESSIAN_TOLERANCE, seed: int = 0
) -> tuple[float, float]:
    """Largest and smallest (most negative) Hessian eigenvalues (nats per unit parameter²):
    those of :func:`hessian_extreme_eigenvectors`, the same solver and tolerance, so that
    the sharpness rule reports the eigenvalues whose eigenvectors span the hessian plane."""
    _, _, largest, smallest = hessian_extreme_eigenvectors(hvp, tol, seed)
    return largest, smallest


def adaptive_hessian_max_eigenvalue(
    hvp: HessianOperator,
    weights: torch.Tensor | None = None,
    tol: float = HESSIAN_TOLERANCE,
    seed: int = 0,
) -> float:
    """Largest eigenvalue of the adaptive Hessian ``T H T``, ``T = diag(|w|)``, by Lanczos.

    ASAM's normalization operator ``T_w = |w|`` (Kwon et al. 2021, §3) with ``η = 0``: the
    curvature along relative parameter changes ``δ_i = |w_i| u_i``. A ReLU or leaky-ReLU net
    computes the same function after ``w_i → α_i w_i`` with ``α > 0`` per neuron or layer
    (a hidden unit's inputs and bias times ``α``, its outputs over ``α``; Dinh et al. 2017,
    §4–5); ``H_ij`` then scales by ``1/(α_i α_j)`` and ``|w_i|`` by ``α_i``, so this
    eigenvalue is unchanged where the raw ``λmax`` is not. Units: nats (per squared relative
    change, which has none).

    ``weights`` ``(n_params,)``: the flat weights the Hessian is taken at, in
    ``model.parameters()`` order (``ParameterLayout.flatten`` gives it); by default the
    operator's parameters as they are now.
    """
    if weights is None:
        weights = torch.cat([p.detach().reshape(-1) for p in hvp.params])
    if weights.shape != (hvp.n_params,):
        raise ValueError(
            f"expected flat weights of {hvp.n_params} values, found {tuple(weights.shape)}"
        )
    scale = weights.detach().abs().double().cpu().numpy()
    hessian = hvp.as_scipy()
    operator = LinearOperator(
        hessian.shape,
        matvec=lambda v: scale * hessian.matvec(scale * np.ravel(v)),
        dtype=np.float64,
    )
    return _largest_eigenpair(operator, tol, seed)[0]


def epsilon_sharpness(
    model: nn.Module,
    inputs: torch.Tensor,
    labels: torch.Tensor,
    epsilon: float,
    max_iterations: int = 10,
    loss: "Loss | None" = None,
) -> float:
    """Keskar et al. (2017): ``100·(max_{δ∈C} L(w+δ) − L(w)) / (1 + L(w))`` with the box
    ``C = {δ : |δ_i| ≤ ε(|w_i| + 1)}``, maximized by L-BFGS-B as in the paper; ``L`` the
    mean ``loss`` (default cross-entropy, nats)."""
    layout = ParameterLayout.of(model)
    weights = layout.flatten(dict(model.named_parameters())).detach().double()
    buffers = dict(model.named_buffers())

    def loss_and_grad(flat: np.ndarray) -> tuple[float, np.ndarray]:
        point = torch.tensor(
            flat, dtype=torch.float32, requires_grad=True
        )  # copies: scipy reuses flat
        outputs = functional_call(model, {**layout.unflatten(point), **buffers}, (inputs,))
        mean = mean_loss(loss, outputs, labels)
        (grad,) = torch.autograd.grad(mean, point)
        return -float(mean.detach()), -grad.double().numpy()

    w = weights.numpy()
    radius = epsilon * (np.abs(w) + 1)
    base = -loss_and_grad(w)[0]
    result = minimize(
        loss_and_grad,
        w,
        jac=True,
        method="L-BFGS-B",
        # Bounds arrays: a list of 8.5M (low, high) pairs took scipy 50 s to convert.
        bounds=Bounds(w - radius, w + radius),
        options={"maxiter": max_iterations},
    )
    worst = max(-float(result.fun), base)
    return 100 * (worst - base) / (1 + base)


def sharpness_subset(n_total: int, size: int, seed: int) -> torch.Tensor:
    """Indices of the fixed, seeded evaluation subset (all samples if ``size ≥ n_total``)."""
    return seeded_subset(n_total, size, seed, "sharpness_subset")
