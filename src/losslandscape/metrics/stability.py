"""The headline metrics of a landscape and whether they depend on the grid.

Each headline (:data:`HEADLINES`) is measured again on the grid subsampled 2× and on the
central half of the window; the relative changes are stored (``stability_*``) and a
headline that moves more than :data:`STABILITY_THRESHOLD` is flagged (``headline_stable``),
as are the region's summaries when the low-loss region reaches the window's edge.
"""

from collections.abc import Callable

import numpy as np
import xarray as xr

from losslandscape.metrics import minima
from losslandscape.metrics.variables import STABILITY_METRICS

# The scalars the report leads with; ``basin_width`` is the width at the middle level.
HEADLINES = (
    "n_local_minima_region",
    "basin_width",
    "roughness",
    "steepness",
    "curvedness_at_minimum",
    "shape_index_at_minimum",
    "nonconvex_fraction",
)
# Headlines summarized over the low-loss region: they depend on the window where the region
# reaches its edge, and are flagged not stable there.
_REGION_HEADLINES = ("n_local_minima_region", "roughness", "steepness", "nonconvex_fraction")
# Bounded headlines (a share; the shape index in [−1, 1], where 0 is a saddle, not "none")
# are compared by their absolute change, everything else relatively.
_ABSOLUTE_HEADLINES = ("nonconvex_fraction", "shape_index_at_minimum")
# A headline that changes by more than this (relative; absolute for the bounded ones) when the grid
# is subsampled 2× or the window cut to its central half is flagged as not stable.
STABILITY_THRESHOLD = 0.2
# Fewest points per axis of a sub-grid that is still measured for stability.
_MIN_STABILITY_POINTS = 5


def headline_level(levels) -> float:
    """The basin level the headline width is read at: the middle of the ladder (the
    upper middle for an even count)."""
    ordered = sorted(float(level) for level in levels)
    return ordered[len(ordered) // 2]


def headline_values(metrics: xr.Dataset) -> dict[str, float]:
    """The :data:`HEADLINES` of a metrics Dataset as floats (basin width at
    :func:`headline_level`)."""
    level = headline_level(metrics["level"].values)
    values = {name: float(metrics[name]) for name in HEADLINES if name != "basin_width"}
    values["basin_width"] = float(metrics["basin_width"].sel(level=level))
    return values


def _floors(metrics: xr.Dataset) -> dict[str, float]:
    """Differences below which two values of a headline are the same number: the float32
    noise of the values (loss units) for roughness and of the curvature at the minimum."""
    low = abs(float(metrics["loss_min"])) + float(metrics["region_height"])
    at_minimum = {"x": float(metrics["loss_min_x"]), "y": float(metrics["loss_min_y"])}
    return {
        "roughness": minima.NOISE_RELATIVE * low,
        "curvedness_at_minimum": float(metrics["curvature_noise"].sel(at_minimum)),
    }


def _change(name: str, full: float, part: float, floor: float = 0.0) -> float:
    """Relative change ``|part − full| / max(|full|, |part|, floor)`` (absolute for the
    bounded headlines);
    0 when both are NaN (undefined in both, e.g. shape on a 1-D slice), inf when only one is."""
    if np.isnan(full) and np.isnan(part):
        return 0.0
    if np.isnan(full) or np.isnan(part):
        return float("inf")
    if name in _ABSOLUTE_HEADLINES:
        return abs(part - full)
    scale = max(abs(full), abs(part), floor)
    return 0.0 if scale == 0 else abs(part - full) / scale


def _subgrids(landscape: xr.Dataset, variable: str) -> dict[str, xr.Dataset | None]:
    """The two stability sub-grids: every other point (keeping the lowest grid point on
    the grid) and the central half of the window; None where too small to measure."""
    values = landscape[variable].values
    iy, ix = np.unravel_index(
        np.nanargmin(np.where(np.isfinite(values), values, np.inf)), values.shape
    )
    sub = landscape.isel(
        x=slice(ix % 2, None, 2), y=slice(iy % 2, None, 2) if values.shape[0] > 1 else slice(None)
    )
    xs, ys = landscape["x"].values, landscape["y"].values
    keep_x = np.abs(xs - (xs[0] + xs[-1]) / 2) <= (xs[-1] - xs[0]) / 4 + 1e-12 * np.ptp(xs)
    keep_y = np.abs(ys - (ys[0] + ys[-1]) / 2) <= (ys[-1] - ys[0]) / 4 + 1e-12 * max(np.ptp(ys), 1)
    window = landscape.isel(x=np.nonzero(keep_x)[0], y=np.nonzero(keep_y)[0])

    def big_enough(ds: xr.Dataset) -> bool:
        sizes = [ds.sizes["x"]] + ([ds.sizes["y"]] if values.shape[0] > 1 else [])
        finite = np.isfinite(ds[variable].values).any()
        return min(sizes) >= _MIN_STABILITY_POINTS and bool(finite)

    return {
        "subsample": sub if big_enough(sub) else None,
        "window": window if big_enough(window) else None,
    }


def with_stability(
    metrics: xr.Dataset,
    landscape: xr.Dataset,
    variable: str,
    measure: Callable[[xr.Dataset], xr.Dataset],
) -> xr.Dataset:
    """``metrics`` of ``landscape[variable]`` with ``stability_subsample``,
    ``stability_window`` and ``headline_stable`` on dim ``headline``; ``measure`` gives the
    metrics of a sub-grid with the same options (and no stability of its own)."""
    full, floors = headline_values(metrics), _floors(metrics)
    changes = {}
    for kind, part in _subgrids(landscape, variable).items():
        if part is None:
            changes[kind] = np.full(len(HEADLINES), np.nan)
            continue
        values = headline_values(measure(part))
        changes[kind] = np.array(
            [_change(name, full[name], values[name], floors.get(name, 0.0)) for name in HEADLINES]
        )
    stable = (changes["subsample"] <= STABILITY_THRESHOLD) & (
        changes["window"] <= STABILITY_THRESHOLD
    )
    if int(metrics["region_touches_edge"]):  # the window cuts the region they summarize
        stable &= ~np.isin(HEADLINES, _REGION_HEADLINES)
    values = {
        "stability_subsample": changes["subsample"],
        "stability_window": changes["window"],
        "headline_stable": stable.astype(np.int64),
    }
    return (
        metrics.assign(
            {
                name: spec.entry(values[name], threshold=STABILITY_THRESHOLD)
                for name, spec in STABILITY_METRICS.items()
            }
        )
        .assign_coords(
            headline=("headline", list(HEADLINES), {"long_name": "headline metric", "units": "1"})
        )
        .assign_attrs(stability_threshold=STABILITY_THRESHOLD)
    )
