"""The two direction vectors that span a landscape plane.

The plane is ``w(x, y) = origin + x·u + y·v`` (Li et al. 2018), the origin being the final
model except for ``three_point`` planes. Three kinds:

- ``pca`` (Li et al. §7): rows ``d_k = w_k − w_final`` for every saved checkpoint but the
  final one, centred over rows as sklearn's PCA does; ``u``, ``v`` are the first two
  principal axes (unit norm, orthogonal), found exactly from the Gram matrix ``M·Mᵀ``.
- ``random`` (Li et al. §4): Gaussian N(0, 1) directions, normalized per filter (each slice
  along dim 0 of a ≥2-D parameter rescaled to the norm of the matching weight slice), per
  layer, or not at all; 1-D parameters (biases, BatchNorm) are zeroed unless asked otherwise.
- ``three_point``: the plane through three weight vectors (here three checkpoints of a run),
  ``u = w2 − w1``, ``v = (w3 − w1)`` orthogonalized against ``u``, origin ``w1``; the three
  points sit at (0, 0), (1, 0) and (a, 1) with ``a = ⟨w3 − w1, u⟩ / ⟨u, u⟩``.
- ``hessian``: unit eigenvectors of the largest and smallest Hessian eigenvalues at the
  final model (:func:`losslandscape.metrics.sharpness.hessian_extreme_eigenvectors`).

A directions file is plain data::

    format_version: int   plane: str   parameter_names: list[str]
    origin, u, v: dict[str, Tensor] (shaped like the parameters)
    metadata: dict (JSON-able: explained_variance_ratio, normalization, ...)
"""

import math
from pathlib import Path

import torch

from losslandscape.io.torchfiles import atomic_torch_save, load_torch_file
from losslandscape.parameters import ParameterLayout
from losslandscape.planes.kinds import KINDS, plane_kind
from losslandscape.seeding import generator_for

FORMAT_VERSION = 2  # 2: the plane's origin is stored (three_point planes start at w1)
# The plane kinds (losslandscape.planes.kinds)
PLANES = KINDS
NORMALIZATIONS = ("filter", "layer", "none")


# the smallest variance of the second principal axis relative to the first
PCA_MIN_VARIANCE_RATIO = 1e-10


def pca_directions(trajectory: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """First two centred principal axes of a training trajectory.

    Args:
        trajectory: ``(n_checkpoints, n_params)`` flat weights in training order, the last
            row being the final model (the plane's origin).

    Returns:
        ``u``, ``v``: ``(n_params,)`` float32 unit vectors, orthogonal; signs fixed so the
        first checkpoint (the initialization) projects to negative coordinates.
        metadata: ``explained_variance_ratio`` (2 floats: share of the centred rows'
        variance along u and v).

    Raises:
        ValueError: fewer than four checkpoints (the centred differences of three
            checkpoints from the final one are needed to span two directions), or a
            trajectory that does not move in two directions (the second axis's variance
            at most :data:`PCA_MIN_VARIANCE_RATIO` of the first's: weights that never
            changed gave NaN directions).
    """
    if trajectory.shape[0] < 4:
        raise ValueError(
            f"PCA directions need at least 4 checkpoints (3 besides the final model, whose "
            f"centred differences span a plane); found {trajectory.shape[0]}: train more "
            f"epochs or save checkpoints more often"
        )
    rows = (trajectory[:-1] - trajectory[-1]).double()
    centred = rows - rows.mean(dim=0, keepdim=True)
    # Exact and fast for few rows: eigenvectors of the (k × k) Gram matrix map to the
    # principal axes through centredᵀ·a / sqrt(λ).
    eigenvalues, eigenvectors = torch.linalg.eigh(centred @ centred.T)
    order = torch.argsort(eigenvalues, descending=True)
    eigenvalues, eigenvectors = eigenvalues[order].clamp_min(0), eigenvectors[:, order]
    # a second axis with no variance beyond float32 rounding of the weights (relative
    # variance below 1e-10; rounding alone gives about 1e-15) is no direction, only noise
    if not (eigenvalues[0] > 0 and eigenvalues[1] > PCA_MIN_VARIANCE_RATIO * eigenvalues[0]):
        moved = float(rows.norm(dim=1).max())
        raise ValueError(
            f"PCA directions need a training trajectory that moves in two directions; these "
            f"{trajectory.shape[0]} checkpoints' centred differences have variances "
            f"{eigenvalues[0]:.3g} and {eigenvalues[1]:.3g} (largest distance from the final "
            f"weights {moved:.3g}): did training change the weights? (a learning rate too "
            f"small, or a model that cannot train); use the random plane for this run"
        )
    axes = []
    for i in range(2):
        axis = centred.T @ eigenvectors[:, i]
        axis = axis / axis.norm()
        if torch.dot(rows[0], axis) > 0:
            axis = -axis
        axes.append(axis)
    ratio = (eigenvalues[:2] / eigenvalues.sum()).tolist()
    return axes[0].float(), axes[1].float(), {"explained_variance_ratio": ratio}


def three_point_directions(
    w1: torch.Tensor, w2: torch.Tensor, w3: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """The plane through three flat weight vectors ``(n_params,)``, origin ``w1``.

    Returns ``u = w2 − w1``, ``v = (w3 − w1) − a·u`` with ``a = ⟨w3 − w1, u⟩/⟨u, u⟩`` (so
    ``v ⟂ u``), and metadata ``point_x = [0, 1, a]``, ``point_y = [0, 0, 1]``: the three
    points' plane coordinates.

    Raises:
        ValueError: the three points are (numerically) collinear or coincide.
    """
    first, second = (w2 - w1).double(), (w3 - w1).double()
    if first.norm() == 0:
        raise ValueError("three-point plane: w1 and w2 coincide; choose different points")
    along = float(torch.dot(second, first) / torch.dot(first, first))
    v = second - along * first
    if v.norm() <= 1e-6 * second.norm():
        raise ValueError(
            "three-point plane: w3 lies on the line through w1 and w2; choose other points"
        )
    return first.float(), v.float(), {"point_x": [0.0, 1.0, along], "point_y": [0.0, 0.0, 1.0]}


def random_direction(
    weights: dict[str, torch.Tensor],
    generator: torch.Generator,
    normalization: str = "filter",
    ignore_biasbn: bool = True,
) -> dict[str, torch.Tensor]:
    """A Gaussian direction shaped like ``weights``, normalized as Li et al. (2018) §4.

    Args:
        weights: parameter tensors by name (iterated in the dict's order for the draws).
        normalization: ``filter`` (each slice along dim 0 of a ≥2-D tensor gets the norm of
            the matching weight slice), ``layer`` (each tensor gets its weight's norm) or
            ``none``.
        ignore_biasbn: zero 1-D parameters (biases, BatchNorm); otherwise they copy the
            weights, as in the reference code.
    """
    if normalization not in NORMALIZATIONS:
        raise ValueError(
            f"normalization {normalization!r} is unknown; choose one of {', '.join(NORMALIZATIONS)}"
        )
    direction = {}
    for name, weight in weights.items():
        draw = torch.randn(weight.shape, generator=generator, dtype=weight.dtype)
        if weight.dim() <= 1:
            direction[name] = torch.zeros_like(weight) if ignore_biasbn else weight.clone()
        elif normalization == "filter":
            dims = tuple(range(1, weight.dim()))
            # vector_norm: Tensor.norm over three dims (2-D conv weights) is a matrix norm
            weight_norm = torch.linalg.vector_norm(weight, dim=dims, keepdim=True)
            scale = weight_norm / (torch.linalg.vector_norm(draw, dim=dims, keepdim=True) + 1e-10)
            direction[name] = draw * scale
        elif normalization == "layer":
            direction[name] = draw * (weight.norm() / (draw.norm() + 1e-10))
        else:
            direction[name] = draw
    return direction


def random_directions(
    weights: dict[str, torch.Tensor],
    seed: int,
    normalization: str = "filter",
    ignore_biasbn: bool = True,
    draw: int = 1,
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], dict]:
    """Two independent random directions drawn from generators for ``(seed, "direction_u")``
    and ``(seed, "direction_v")`` (draw 1) or ``(seed, "direction_u_draw<k>")`` and
    ``(seed, "direction_v_draw<k>")`` (draw k > 1: independent of the others); metadata
    records the normalization, the draw and the cosine between u and v (near 0 in high
    dimension, not exactly 0)."""
    if draw < 1:
        raise ValueError(f"direction draw: expected 1, 2, ...; found {draw}")
    suffix = "" if draw == 1 else f"_draw{draw}"
    u, v = (
        random_direction(
            weights, generator_for(seed, f"direction_{axis}{suffix}"), normalization, ignore_biasbn
        )
        for axis in ("u", "v")
    )
    layout = ParameterLayout(tuple(weights), tuple(w.shape for w in weights.values()))
    flat_u, flat_v = layout.flatten(u).double(), layout.flatten(v).double()
    cosine = float(torch.dot(flat_u, flat_v) / (flat_u.norm() * flat_v.norm()))
    return (
        u,
        v,
        {
            "normalization": normalization,
            "ignore_biasbn": int(ignore_biasbn),
            "draw": draw,
            "cosine_uv": cosine,
        },
    )


def project_onto_plane(
    points: torch.Tensor, u: torch.Tensor, v: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Least-squares plane coordinates of offset vectors (exact dot products when u ⟂ v).

    Args:
        points: ``(n, n_params)`` offsets from the plane's origin.
        u, v: ``(n_params,)`` direction vectors.

    Returns:
        x, y: ``(n,)`` coordinates; residual: ``(n,)`` relative off-plane distance
        ``‖d − x·u − y·v‖ / ‖d‖`` (0 for a zero offset).
    """
    offsets, u, v = points.double(), u.double(), v.double()
    # The 2×2 normal equations from element-wise products and sums, not torch.linalg.lstsq:
    # LAPACK's least squares differed in the last bits between two runs on identical
    # inputs, and coordinates must be reproducible bit for bit.
    along_u, along_v = (offsets * u).sum(dim=1), (offsets * v).sum(dim=1)
    uu, uv, vv = (u * u).sum(), (u * v).sum(), (v * v).sum()
    if vv == 0:  # a 1-D slice: coordinates along u alone, y = 0
        x, y = along_u / uu, torch.zeros_like(along_u)
    else:
        det = uu * vv - uv * uv
        x, y = (vv * along_u - uv * along_v) / det, (uu * along_v - uv * along_u) / det
    remainder = offsets - x[:, None] * u - y[:, None] * v
    norms = offsets.norm(dim=1)
    residual = torch.where(norms > 0, remainder.norm(dim=1) / norms.clamp_min(1e-300), 0.0)
    return x, y, residual


def save_directions(directions: dict, path: str | Path) -> None:
    atomic_torch_save(directions, path)


def load_directions(path: str | Path) -> dict:
    """Read and check a directions file (vectors finite; u, and v of planes, not zero)."""
    directions = load_torch_file(
        path,
        what="directions file",
        required=("format_version", "plane", "origin", "u", "v", "metadata"),
    )
    for key in ("u", "v"):
        norm = math.sqrt(sum(float(t.double().pow(2).sum()) for t in directions[key].values()))
        slice_v = key == "v" and plane_kind(directions["plane"]).one_dimensional
        if not math.isfinite(norm) or (norm == 0) != slice_v:
            expected = "0 (a 1-D slice)" if slice_v else "finite, > 0"
            raise ValueError(
                f"directions file {path}: vector {key} has norm {norm}; expected {expected}"
            )
    return directions
