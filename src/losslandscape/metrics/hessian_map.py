"""Li et al.'s convexity map: the full Hessian's extreme eigenvalues over a coarse grid.

Li et al. (2018, "Visualizing the Loss Landscape of Neural Nets", §6, Fig. 7) colour each
point of a plane by ``|λmin / λmax|`` of the loss Hessian *in all parameters* (not only in
the plane): near 0 the landscape is convex there in every direction, large ratios mark
strong negative curvature that a 2-D slice may hide. Each point needs Lanczos on
Hessian-vector products (:mod:`losslandscape.metrics.sharpness`), hundreds of gradients, so the map
is taken on a coarse sub-grid of a landscape's own coordinates. The in-plane counterpart,
the non-convex share, comes free with every landscape's metrics
(:mod:`losslandscape.metrics.shape`).
"""

import numpy as np
import torch
import xarray as xr
from torch import nn

from losslandscape.engine.loss import CROSS_ENTROPY, Loss
from losslandscape.metrics.sharpness import (
    HESSIAN_TOLERANCE,
    HessianOperator,
    hessian_extreme_eigenvalues,
)
from losslandscape.metrics.variables import HESSIAN_MAP_METRICS
from losslandscape.parameters import ParameterLayout


def coarse_axis(axis: np.ndarray, points: int) -> np.ndarray:
    """``points`` values of ``axis`` ``(n,)``, evenly spread over its index range (both ends
    and, for odd counts on a symmetric odd axis, the centre kept); all of it if shorter.

    Raises:
        ValueError: fewer than 2 points (one point would be a corner, not the plane).
    """
    if points < 2:
        raise ValueError(f"a Hessian map needs at least 2 points per axis; found {points}")
    if points >= len(axis):
        return axis.copy()
    return axis[np.round(np.linspace(0, len(axis) - 1, points)).astype(int)]


def hessian_ratio_map(
    model: nn.Module,
    origin: torch.Tensor,
    u: torch.Tensor,
    v: torch.Tensor,
    xs: np.ndarray,
    ys: np.ndarray,
    inputs: torch.Tensor,
    labels: torch.Tensor,
    tol: float = HESSIAN_TOLERANCE,
    seed: int = 0,
    loss: Loss | None = None,
) -> xr.Dataset:
    """Extreme Hessian eigenvalues of the mean ``loss`` (default cross-entropy, nats) at
    ``origin + x·u + y·v``.

    Args:
        model: its parameters are overwritten point by point (BatchNorm buffers kept, in
            eval mode, as in the landscape).
        origin, u, v: flat ``(n_params,)`` vectors in ``named_parameters()`` order.
        xs ``(nx,)``, ys ``(ny,)``: the coarse grid's coordinates.
        inputs, labels: the fixed data subset the loss is taken over.
        tol: the Lanczos solver's tolerance, relative to ``λmax − λmin``; by default the
            sharpness rule's and the hessian plane's
            (:data:`~losslandscape.metrics.sharpness.HESSIAN_TOLERANCE`).

    Returns:
        Dataset on ``(y, x)``: ``hessian_max_eigenvalue``, ``hessian_min_eigenvalue`` (the
        loss's units per unit parameter²) and ``eigenvalue_ratio`` = ``|λmin / λmax|`` (1).
    """
    layout = ParameterLayout.of(model)
    largest = np.full((len(ys), len(xs)), np.nan)
    smallest = np.full_like(largest, np.nan)
    model.eval()
    for iy, y in enumerate(ys):
        for ix, x in enumerate(xs):
            point = origin + float(x) * u + float(y) * v
            with torch.no_grad():
                for name, value in layout.unflatten(point).items():
                    model.get_parameter(name).copy_(value)
            hvp = HessianOperator(model, inputs, labels, loss)
            largest[iy, ix], smallest[iy, ix] = hessian_extreme_eigenvalues(hvp, tol, seed)
    coords = {
        "x": (
            "x",
            np.asarray(xs, float),
            {"long_name": "coordinate along direction u", "units": "1"},
        ),
        "y": (
            "y",
            np.asarray(ys, float),
            {"long_name": "coordinate along direction v", "units": "1"},
        ),
    }
    values = {
        "hessian_max_eigenvalue": largest,
        "hessian_min_eigenvalue": smallest,
        "eigenvalue_ratio": np.abs(smallest / largest),
    }
    units = (loss or CROSS_ENTROPY).units
    data_vars = {
        name: spec.entry(values[name], units=units) for name, spec in HESSIAN_MAP_METRICS.items()
    }
    return xr.Dataset(data_vars, coords)
