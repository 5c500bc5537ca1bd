"""Measures of a landscape grid: local minima and roughness.

All measures use the grid's own coordinates (``x``, ``y`` values), not pixel indices, so
they do not change when only the resolution changes. Input: a loss array ``(ny, nx)`` with
increasing coordinate vectors ``xs`` ``(nx,)`` and ``ys`` ``(ny,)``.
"""

import numpy as np
import xarray as xr
from skimage.measure import label
from skimage.morphology import h_minima


def minima_tolerance(loss: np.ndarray, absolute: float, relative: float) -> float:
    """The depth below which a dip does not count: ``max(absolute, relative·(max − min))``."""
    return max(float(absolute), float(relative) * float(np.ptp(loss)))


def find_local_minima(
    loss: np.ndarray, xs: np.ndarray, ys: np.ndarray, tolerance: float
) -> dict[str, np.ndarray]:
    """Local minima over the 8-neighbourhood that are at least ``tolerance`` deep.

    A minimum is a connected region (8-connectivity) whose values lie below every
    neighbouring value by at least ``tolerance`` (scikit-image's h-minima transform);
    a plateau counts once. Edge points count when they are lower than all their existing
    neighbours. Each minimum is reported at its lowest grid point.

    Returns:
        ``x``, ``y``, ``loss``: arrays ``(n_minima,)`` sorted by increasing loss.
    """
    if np.ptp(loss) == 0:  # a constant surface has no minimum, whatever the tolerance
        return {"x": np.empty(0), "y": np.empty(0), "loss": np.empty(0)}
    regions = label(h_minima(loss, max(tolerance, np.finfo(float).tiny)), connectivity=2)
    found = []
    for region in range(1, regions.max() + 1):
        iy, ix = np.nonzero(regions == region)
        lowest = np.argmin(loss[iy, ix])
        found.append((loss[iy[lowest], ix[lowest]], xs[ix[lowest]], ys[iy[lowest]]))
    found.sort()
    values = np.array(found, dtype=float).reshape(-1, 3)
    return {"loss": values[:, 0], "x": values[:, 1], "y": values[:, 2]}


def roughness(loss: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> float:
    """Mean absolute difference between neighbouring grid values per unit of coordinate.

    ``mean(|L[i, j+1] − L[i, j]| / Δx  ∪  |L[i+1, j] − L[i, j]| / Δy)`` over every
    horizontal and vertical neighbour pair; units: loss units per coordinate unit.
    """
    along_x = np.abs(np.diff(loss, axis=1)) / np.diff(xs)[None, :]
    along_y = np.abs(np.diff(loss, axis=0)) / np.diff(ys)[:, None]
    return float(np.concatenate([along_x.ravel(), along_y.ravel()]).mean())


def gradient_magnitude(loss: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """``|∇L|`` ``(ny, nx)`` by central differences in coordinate units (one-sided at edges)."""
    d_dy, d_dx = np.gradient(loss, ys, xs)
    return np.hypot(d_dx, d_dy)


def landscape_metrics(
    landscape: xr.Dataset,
    variable: str = "train_loss",
    tolerance_absolute: float = 1e-6,
    tolerance_relative: float = 1e-4,
) -> xr.Dataset:
    """Minima and roughness of ``landscape[variable]`` as a metrics Dataset.

    Scalars: ``n_local_minima``, ``roughness`` and ``roughness_relative`` (divided by the
    loss range), ``loss_min`` with ``loss_min_x``/``loss_min_y``, ``loss_at_origin`` (the
    grid point nearest (0, 0)), ``minima_tolerance``. On dim ``minimum``: ``minima_x``,
    ``minima_y``, ``minima_loss``. Map on ``(y, x)``: ``gradient_magnitude``.
    """
    if variable not in landscape.data_vars or landscape[variable].dims != ("y", "x"):
        grids = [n for n, v in landscape.data_vars.items() if v.dims == ("y", "x")]
        raise ValueError(
            f"variable {variable!r} is not a (y, x) grid of this landscape; choose one of {grids}"
        )
    xs, ys = landscape["x"].values, landscape["y"].values
    loss = landscape[variable].values.astype(np.float64)
    units = landscape[variable].attrs.get("units", "1")
    tolerance = minima_tolerance(loss, tolerance_absolute, tolerance_relative)
    minima = find_local_minima(loss, xs, ys, tolerance)
    iy_min, ix_min = np.unravel_index(np.argmin(loss), loss.shape)
    loss_range = float(np.ptp(loss))
    rough = roughness(loss, xs, ys)

    def scalar(value, long_name, unit):
        return ((), value, {"long_name": long_name, "units": unit})

    data_vars = {
        "n_local_minima": scalar(
            np.int64(len(minima["loss"])), "number of local minima deeper than the tolerance", "1"
        ),
        "minima_tolerance": scalar(tolerance, "depth a local minimum must have to count", units),
        "roughness": scalar(
            rough,
            "mean absolute neighbour difference per unit coordinate",
            f"{units} per unit coordinate",
        ),
        "roughness_relative": scalar(
            rough / loss_range if loss_range > 0 else 0.0,
            "roughness divided by the loss range",
            "1 per unit coordinate",
        ),
        "loss_min": scalar(float(loss[iy_min, ix_min]), f"lowest {variable} on the grid", units),
        "loss_min_x": scalar(float(xs[ix_min]), "x of the lowest grid point", "1"),
        "loss_min_y": scalar(float(ys[iy_min]), "y of the lowest grid point", "1"),
        "loss_at_origin": scalar(
            float(landscape[variable].sel(x=0.0, y=0.0, method="nearest")),
            f"{variable} at the grid point nearest (0, 0)",
            units,
        ),
        "minima_x": (
            ("minimum",),
            minima["x"],
            {"long_name": "x of each local minimum", "units": "1"},
        ),
        "minima_y": (
            ("minimum",),
            minima["y"],
            {"long_name": "y of each local minimum", "units": "1"},
        ),
        "minima_loss": (
            ("minimum",),
            minima["loss"],
            {"long_name": f"{variable} at each local minimum", "units": units},
        ),
        "gradient_magnitude": (
            ("y", "x"),
            gradient_magnitude(loss, xs, ys),
            {
                "long_name": f"|grad {variable}| by central differences",
                "units": f"{units} per unit coordinate",
            },
        ),
    }
    coords = {"x": landscape["x"], "y": landscape["y"]}
    return xr.Dataset(data_vars, coords, attrs={"variable": variable})
