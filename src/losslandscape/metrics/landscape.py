"""All grid metrics of one landscape variable as an ``xarray.Dataset`` (docs/data-model.md).

Works on any landscape that follows the data model, including ones built by hand: minima
and their depths (:mod:`minima`), steepness and roughness (:mod:`smoothness`), basin width
at a ladder of heights (:mod:`basins`) and shape (:mod:`shape`). Every number is in the
loss's own units (nats for cross-entropy) or plane coordinates, and measures the minimum,
not the window: heights are above the minimum in loss units, and the smoothness and shape
summaries are taken over the *low-loss region* (the connected region below
``L_min + region_height`` that holds the minimum), not over the whole window.

Each headline metric (:data:`HEADLINES`) is measured again on the grid subsampled 2× and on
the central half of the window; the relative changes are stored (``stability_*``) and a
headline that moves more than :data:`STABILITY_THRESHOLD` is flagged (``headline_stable``),
as are the region's summaries when the low-loss region reaches the window's edge.
"""

import numpy as np
import xarray as xr

from losslandscape.io.datamodel import DATA_MODEL_VERSION
from losslandscape.metrics import basins, minima, shape, smoothness

# The defaults of :func:`landscape_metrics` (the config schema and the CLI say the same).
DEFAULTS = {
    "variable": "train_loss",
    "tolerance_absolute": 1e-3,
    "tolerance_relative": 0.0,
    "edge": "include",
    "basin_levels": (0.01, 0.03, 0.1, 0.3, 1.0),
    "basin_level_mode": "absolute",
    "region_height": 1.0,
    "roughness_scale": 0.2,
    "shape_sigma": 0.0,
}
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


def _var(dims, values, long_name: str, units: str):
    return (dims, values, {"long_name": long_name, "units": units})


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


def _check_options(basin_levels, region_height: float, roughness_scale: float) -> None:
    """Refuse option values no metric can be measured with, naming them."""
    for name, value in (("region_height", region_height), ("roughness_scale", roughness_scale)):
        if not value > 0:
            raise ValueError(
                f"metrics option {name} must be > 0 (loss or coordinate units); found {value}"
            )
    levels = [float(level) for level in basin_levels]
    if not levels or min(levels) <= 0 or len(set(levels)) != len(levels):
        raise ValueError(
            f"metrics option basin_levels must be distinct heights > 0; found {levels}"
        )


def landscape_metrics(
    landscape: xr.Dataset,
    variable: str = DEFAULTS["variable"],
    tolerance_absolute: float = DEFAULTS["tolerance_absolute"],
    tolerance_relative: float = DEFAULTS["tolerance_relative"],
    edge: str = DEFAULTS["edge"],
    basin_levels: tuple[float, ...] = DEFAULTS["basin_levels"],
    basin_level_mode: str = DEFAULTS["basin_level_mode"],
    region_height: float = DEFAULTS["region_height"],
    roughness_scale: float = DEFAULTS["roughness_scale"],
    shape_sigma: float = DEFAULTS["shape_sigma"],
    stability: bool = True,
) -> xr.Dataset:
    """Metrics of ``landscape[variable]`` (a ``(y, x)`` grid; one ``y``: a 1-D slice).

    Args:
        tolerance_absolute: depth a local minimum needs to count (loss units); a minimum
            also needs a depth above the float32 noise floor at its pass height
            (:func:`losslandscape.metrics.minima.noise_floor`).
        tolerance_relative: 0 (default), or a fraction of the grid's loss range that the
            depth must also reach (a property of the window; not for comparisons).
        edge: minima on the grid edge: ``include`` or ``exclude`` (:mod:`minima`).
        basin_levels: heights above the global minimum for the basin ladder, in loss units
            (``absolute``, default) or as fractions of the loss range (``relative``, a
            property of the window; not for comparisons).
        region_height: the low-loss region is the connected region below
            ``L_min + region_height`` (loss units) holding the minimum: steepness,
            roughness, the non-convex share and the shape classes are measured over it.
        roughness_scale: half-width (coordinate units) of the local quadratic fit whose
            residual is the roughness (:mod:`smoothness`).
        shape_sigma: Gaussian smoothing width (coordinate units) before the Hessian; 0: none.
        stability: also measure the headlines on the 2×-subsampled grid and the central
            half of the window (``stability_*`` variables).

    A 1-D slice (one ``y`` value) gets the same variables: widths are lengths, y extents 0,
    the non-convex share uses ``d²L/dx²``, and the shape variables, undefined on a line,
    are NaN.

    Raises:
        ValueError: ``variable`` is not a ``(y, x)`` grid, the grid has fewer than 3
            points along an axis (a slice: one y), no grid value is finite, or an option is
            out of its range (heights and scales ≤ 0, repeated basin levels).

    Non-finite grid values (NaN, ±inf) are counted (``n_nonfinite``) and treated as walls
    above every finite value: they are never minima nor inside a basin, and no depth
    exceeds the finite values' range; every derivative whose stencil reads one is NaN in
    the maps and left out of the region summaries, and roughness leaves out points whose
    fitting window reads one.
    """
    if variable not in landscape.data_vars or landscape[variable].dims != ("y", "x"):
        grids = [n for n, v in landscape.data_vars.items() if v.dims == ("y", "x")]
        raise ValueError(
            f"variable {variable!r} is not a (y, x) grid of this landscape; choose one of {grids}"
        )
    _check_options(basin_levels, region_height, roughness_scale)
    xs, ys = landscape["x"].values.astype(float), landscape["y"].values.astype(float)
    if len(xs) < 3 or len(ys) == 2:
        raise ValueError(
            f"{variable} is a {len(ys)} x {len(xs)} grid; the metrics' second-order differences "
            "need at least 3 points along x and, on a plane, along y (one y value: a 1-D slice)"
        )
    raw = landscape[variable].values.astype(np.float64)
    finite = np.isfinite(raw)
    if not finite.any():
        raise ValueError(
            f"{variable} has no finite grid values ({raw.size} NaN or infinite); "
            "no metric can be measured"
        )
    # Non-finite points (overflowing losses far out on a plane) become walls above every
    # finite value: never a minimum, never inside a basin, never deeper than the finite
    # range. Differences are taken on the values with NaN there, so every derivative whose
    # stencil reads one is NaN and left out (one-sided stencils at the edges included).
    n_nonfinite = int((~finite).sum())
    loss_min, loss_max = float(raw[finite].min()), float(raw[finite].max())
    loss = np.where(finite, raw, loss_max + (loss_max - loss_min) + 1.0)
    holed = np.where(finite, raw, np.nan)
    units = landscape[variable].attrs.get("units", "1")
    is_slice = len(ys) == 1

    tolerance = minima.minima_tolerance(raw[finite], tolerance_absolute, tolerance_relative)
    found = minima.find_local_minima(loss, xs, ys, tolerance, edge, loss_max - loss_min)
    iy_min, ix_min = np.unravel_index(np.argmin(loss), loss.shape)

    region = basins.basin_mask(loss, region_height)
    in_region = region[np.searchsorted(ys, found["y"]), np.searchsorted(xs, found["x"])]
    gradient = smoothness.gradient_magnitude(holed, xs, ys)
    steep = smoothness.steepness(holed, xs, ys, region)
    rough, (half_x, half_y) = smoothness.roughness(loss, xs, ys, roughness_scale, region, ~finite)

    heights = basins.basin_levels(raw[finite], list(basin_levels), basin_level_mode)
    widths = basins.basin_widths(loss, xs, ys, heights)

    noise = shape.curvature_noise(holed, xs, ys)
    if not is_slice:
        lambda1, lambda2 = shape.hessian_eigenvalues(holed, xs, ys, shape_sigma)
        index = shape.shape_index(lambda1, lambda2, noise)
        curved = shape.curvedness(lambda1, lambda2)
        curvature_region = region & np.isfinite(lambda2)
        fractions = shape.shape_class_fractions(index, curvature_region)
    else:  # a surface's shape needs two directions: undefined on a 1-D slice
        lambda2 = shape.slice_curvature(holed, xs)
        curvature_region = region & np.isfinite(lambda2)
        index = curved = np.full_like(loss, np.nan)
        fractions = np.full(len(shape.SHAPE_CLASSES), np.nan)
    nonconvex = shape.nonconvex_fraction(lambda2, noise, curvature_region)

    per_coord = f"{units} per unit coordinate"
    data_vars = {
        "n_local_minima": _var(
            (),
            np.int64(len(found["loss"])),
            "number of local minima at least minima_tolerance deep in the window",
            "1",
        ),
        "n_local_minima_region": _var(
            (),
            np.int64(in_region.sum()),
            "number of those minima whose lowest point lies in the low-loss region",
            "1",
        ),
        "minima_tolerance": _var((), tolerance, "depth a local minimum needs to count", units),
        "n_nonfinite": _var(
            (),
            np.int64(n_nonfinite),
            "grid points whose value is NaN or infinite (walls; their neighbourhood masked)",
            "1",
        ),
        "minima_x": _var(("minimum",), found["x"], "x of each local minimum's lowest point", "1"),
        "minima_y": _var(("minimum",), found["y"], "y of each local minimum's lowest point", "1"),
        "minima_loss": _var(
            ("minimum",), found["loss"], f"{variable} at each local minimum", units
        ),
        "minima_depth": _var(
            ("minimum",),
            found["depth"],
            "flooding height at which the minimum joins a lower one (the range for the global one)",
            units,
        ),
        "loss_min": _var((), float(loss[iy_min, ix_min]), f"lowest {variable} on the grid", units),
        "loss_min_x": _var((), float(xs[ix_min]), "x of the lowest grid point", "1"),
        "loss_min_y": _var((), float(ys[iy_min]), "y of the lowest grid point", "1"),
        "loss_range": _var(
            (), loss_max - loss_min, f"max - min of {variable} (a property of the window)", units
        ),
        "loss_at_origin": _var(
            (),
            float(landscape[variable].sel(x=0.0, y=0.0, method="nearest")),
            f"{variable} at the grid point nearest (0, 0)",
            units,
        ),
        "gradient_magnitude": _var(
            ("y", "x"),
            gradient,
            f"|grad {variable}| by finite differences",
            per_coord,
        ),
        "region_height": _var(
            (), float(region_height), "height of the low-loss region above the minimum", units
        ),
        "region_area": _var(
            (),
            float(smoothness.cell_areas(xs, ys)[region].sum()),
            "area of the low-loss region (a length on a 1-D slice)",
            "coordinate units^2",
        ),
        "region_touches_edge": _var(
            (),
            np.int64(basins.touches_edge(region)),
            "1 where the low-loss region reaches the window's edge (its summaries may change "
            "with the window)",
            "1",
        ),
        "steepness": _var(
            (), steep, "area-weighted mean |grad L| over the low-loss region", per_coord
        ),
        "roughness": _var(
            (),
            rough,
            "RMS over the low-loss region of L minus its local quadratic fit "
            "(Savitzky-Golay, order 2, half-width roughness_window)",
            units,
        ),
        "roughness_window_x": _var(
            (), half_x, "half-width in x of the roughness fit's window as used", "1"
        ),
        "roughness_window_y": _var(
            (), half_y, "half-width in y of the roughness fit's window as used (0: a slice)", "1"
        ),
        "basin_height": _var(("level",), heights, "basin level above the global minimum", units),
        "basin_area": _var(
            ("level",),
            widths["area"],
            "area of the connected region below the level holding the minimum "
            "(a length on a 1-D slice)",
            "coordinate units^2",
        ),
        "basin_width": _var(
            ("level",),
            widths["width"],
            "equivalent diameter sqrt(4 area / pi) of the basin (its length on a 1-D slice); "
            "a lower bound where basin_touches_edge",
            "1",
        ),
        "basin_extent_x": _var(("level",), widths["extent_x"], "x extent of the basin", "1"),
        "basin_extent_y": _var(("level",), widths["extent_y"], "y extent of the basin", "1"),
        "basin_touches_edge": _var(
            ("level",),
            widths["touches_edge"],
            "1 where the basin reaches the grid edge (widths are lower bounds)",
            "1",
        ),
        "shape_index": _var(
            ("y", "x"), index, "Koenderink shape index (-1 cup, 0 saddle, +1 cap; NaN flat)", "1"
        ),
        "curvedness": _var(
            ("y", "x"),
            curved,
            "Koenderink curvedness sqrt((l1^2 + l2^2)/2)",
            f"{units} per unit coordinate^2",
        ),
        "curvature_noise": _var(
            ("y", "x"),
            noise,
            "largest curvature float32 rounding of the values can fake (below: flat)",
            f"{units} per unit coordinate^2",
        ),
        "shape_index_at_minimum": _var(
            (), float(index[iy_min, ix_min]), "shape index at the lowest grid point", "1"
        ),
        "curvedness_at_minimum": _var(
            (),
            float(curved[iy_min, ix_min]),
            "curvedness at the lowest grid point",
            f"{units} per unit coordinate^2",
        ),
        "nonconvex_fraction": _var(
            (),
            nonconvex,
            "share of the low-loss region whose smaller in-plane Hessian eigenvalue is "
            "negative beyond float noise (Li et al. 2018)",
            "1",
        ),
        "shape_class_fraction": _var(
            ("shape_class",),
            fractions,
            "fraction of the low-loss region in each shape class",
            "1",
        ),
    }
    coords = {
        "x": landscape["x"],
        "y": landscape["y"],
        "level": (
            "level",
            np.asarray(basin_levels, dtype=float),
            {
                "long_name": f"basin level ({basin_level_mode})",
                "units": "1" if basin_level_mode == "relative" else units,
            },
        ),
        "shape_class": (
            "shape_class",
            list(shape.SHAPE_CLASSES),
            {"long_name": "Koenderink shape class", "units": "1"},
        ),
    }
    attrs = {
        "data_model_version": DATA_MODEL_VERSION,
        "variable": variable,
        "edge": edge,
        "basin_level_mode": basin_level_mode,
        "headline_level": headline_level(basin_levels),
        "roughness_scale": float(roughness_scale),
        "shape_sigma": float(shape_sigma),
    }
    metrics = xr.Dataset(data_vars, coords, attrs=attrs)
    if stability:
        metrics = _with_stability(
            metrics,
            landscape,
            variable,
            dict(
                tolerance_absolute=tolerance_absolute,
                tolerance_relative=tolerance_relative,
                edge=edge,
                basin_levels=basin_levels,
                basin_level_mode=basin_level_mode,
                region_height=region_height,
                roughness_scale=roughness_scale,
                shape_sigma=shape_sigma,
            ),
        )
    return metrics


def _with_stability(
    metrics: xr.Dataset, landscape: xr.Dataset, variable: str, options: dict
) -> xr.Dataset:
    """``metrics`` with ``stability_subsample``, ``stability_window`` and
    ``headline_stable`` on dim ``headline``."""
    full, floors = headline_values(metrics), _floors(metrics)
    changes = {}
    for kind, part in _subgrids(landscape, variable).items():
        if part is None:
            changes[kind] = np.full(len(HEADLINES), np.nan)
            continue
        values = headline_values(landscape_metrics(part, variable, stability=False, **options))
        changes[kind] = np.array(
            [_change(name, full[name], values[name], floors.get(name, 0.0)) for name in HEADLINES]
        )
    stable = (changes["subsample"] <= STABILITY_THRESHOLD) & (
        changes["window"] <= STABILITY_THRESHOLD
    )
    if int(metrics["region_touches_edge"]):  # the window cuts the region they summarize
        stable &= ~np.isin(HEADLINES, _REGION_HEADLINES)
    share = "relative change (absolute for the share and the shape index)"
    return (
        metrics.assign(
            stability_subsample=_var(
                ("headline",),
                changes["subsample"],
                f"{share} of each headline on the grid subsampled 2x",
                "1",
            ),
            stability_window=_var(
                ("headline",),
                changes["window"],
                f"{share} of each headline on the central half of the window",
                "1",
            ),
            headline_stable=_var(
                ("headline",),
                stable.astype(np.int64),
                f"1 where both changes are at most {STABILITY_THRESHOLD} (NaN: not measurable, 0) "
                "and, for the region's summaries, the low-loss region lies inside the window",
                "1",
            ),
        )
        .assign_coords(
            headline=("headline", list(HEADLINES), {"long_name": "headline metric", "units": "1"})
        )
        .assign_attrs(stability_threshold=STABILITY_THRESHOLD)
    )
