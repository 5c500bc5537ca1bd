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
from torch import nn
from torch.func import functional_call

from losslandscape.engine.loss import mean_loss
from losslandscape.metrics.lanczos import Extremes, lanczos_extremes
from losslandscape.parameters import ParameterLayout
from losslandscape.seeding import seeded_subset

if TYPE_CHECKING:
    from losslandscape.engine.loss import Loss

# The accuracy, as a fraction of the spread λmax − λmin, of every Hessian eigenvalue of the
# study: the sharpness rule's extremes and adaptive λmax, the hessian plane's eigenvectors
# and the convexity map. Each end's Ritz residual is at most HESSIAN_TOLERANCE·(λmax − λmin)
# (lanczos_extremes, which says what that does and does not promise); the tighter of the
# two tolerances that the rule and the plane once used.
HESSIAN_TOLERANCE = 1e-6

# The Lanczos basis (float64) may grow to this many bytes before an unconverged end is
# handed to ARPACK's restarted Lanczos with as many vectors: every step the default CNN's
# 5,210 parameters can take (its λmin needs about 76), and 78 of a ResNet-56's
# 855,770, about what the previous solver held (80 ARPACK vectors) within the rules' 4 GB.
LANCZOS_MEMORY_BYTES = 2**29


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

    def matvec(self, vector: np.ndarray) -> np.ndarray:
        """``(n_params,)`` float64 → ``(n_params,)`` float64 (products in float32)."""
        flat = np.asarray(vector, dtype=np.float32).ravel()
        return self(torch.from_numpy(flat)).double().numpy()


def _hessian_extremes(
    matvec, n: int, tol: float, seed: int, ends: tuple[str, ...] = ("max", "min")
) -> Extremes:
    """:func:`~losslandscape.metrics.lanczos.lanczos_extremes` with the basis capped at
    :data:`LANCZOS_MEMORY_BYTES` (at least 20 vectors, ARPACK's default)."""
    vectors = max(20, LANCZOS_MEMORY_BYTES // (8 * n))
    return lanczos_extremes(matvec, n, tol, seed, ends, max_vectors=vectors)


def hessian_extreme_eigenvectors(
    hvp: HessianOperator, tol: float = HESSIAN_TOLERANCE, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, float, float]:
    """The Hessian's extreme eigenpairs: unit eigenvectors ``(n_params,)`` float32 of the
    largest and smallest (most negative) eigenvalues, and those eigenvalues (nats per unit
    parameter²); each vector's sign makes its largest entry positive. Both come from one
    Lanczos run from a normal start seeded by ``seed``
    (:func:`~losslandscape.metrics.lanczos.lanczos_extremes`; ARPACK finishes an end the
    run has not when its basis reaches :data:`LANCZOS_MEMORY_BYTES`), each pair with a
    residual of at most ``tol·(λmax − λmin)``: λmax, apart from the rest, to about that;
    λmin, at the edge of a cluster, may be a neighbour's value within that and its vector a
    mix of the cluster's.

    The one solver of the study's Hessian extremes: the hessian plane's directions and the
    sharpness rule's eigenvalues (:func:`hessian_extreme_eigenvalues`) both come from it,
    at :data:`HESSIAN_TOLERANCE`.
    """
    found = _hessian_extremes(hvp.matvec, hvp.n_params, tol, seed)
    return (
        torch.from_numpy(found.top).float(),
        torch.from_numpy(found.bottom).float(),
        found.largest,
        found.smallest,
    )


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
    found = _hessian_extremes(
        lambda v: scale * hvp.matvec(scale * v), hvp.n_params, tol, seed, ends=("max",)
    )
    return found.largest


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
