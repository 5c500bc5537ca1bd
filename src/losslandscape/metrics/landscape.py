"""All grid metrics of one landscape variable as an ``xarray.Dataset`` (docs/data-model.md).

Works on any landscape that follows the data model, including ones built by hand: minima
and their depths (:mod:`minima`), steepness and roughness (:mod:`smoothness`), basin width
at a ladder of heights (:mod:`basins`) and shape (:mod:`shape`). Every number is in the
loss's own units (nats for cross-entropy) or plane coordinates, and measures the minimum,
not the window: heights are above the minimum in loss units, and the smoothness and shape
summaries are taken over the *low-loss region* (the connected region below
``L_min + region_height`` that holds the minimum), not over the whole window.

Each headline metric is measured again on sub-grids to flag the ones that depend on the
grid (:mod:`losslandscape.metrics.stability`). Every variable's long name and units are in
:data:`losslandscape.metrics.variables.LANDSCAPE_METRICS`.
"""

import functools
from dataclasses import dataclass

import numpy as np
import xarray as xr

from losslandscape.io import cf
from losslandscape.io.datamodel import DATA_MODEL_VERSION, LOSS_UNITS
from losslandscape.metrics import basins, minima, shape, smoothness
from losslandscape.metrics.stability import headline_level, with_stability
from losslandscape.metrics.variables import LANDSCAPE_METRICS

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


@dataclass(frozen=True)
class _Surface:
    """A ``(y, x)`` grid prepared for the metrics: ``raw`` values (float64), ``finite`` mask,
    ``loss`` with every non-finite point a wall above the finite range, ``holed`` with NaN
    there, the finite range ``loss_min``..``loss_max`` and the lowest point ``lowest``
    ``(iy, ix)``."""

    xs: np.ndarray
    ys: np.ndarray
    raw: np.ndarray
    finite: np.ndarray
    loss: np.ndarray
    holed: np.ndarray
    loss_min: float
    loss_max: float
    lowest: tuple[int, int]


def _surface(landscape: xr.Dataset, variable: str, *options) -> _Surface:
    """``landscape[variable]`` as a :class:`_Surface`, refusing grids no metric can use
    and ``options`` (basin levels, region height, roughness scale) none can use."""
    if variable not in landscape.data_vars or landscape[variable].dims != ("y", "x"):
        grids = [n for n, v in landscape.data_vars.items() if v.dims == ("y", "x")]
        raise ValueError(
            f"variable {variable!r} is not a (y, x) grid of this landscape; choose one of {grids}"
        )
    _check_options(*options)
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
    loss_min, loss_max = float(raw[finite].min()), float(raw[finite].max())
    loss = np.where(finite, raw, loss_max + (loss_max - loss_min) + 1.0)
    lowest = np.unravel_index(np.argmin(loss), loss.shape)
    holed = np.where(finite, raw, np.nan)
    return _Surface(xs, ys, raw, finite, loss, holed, loss_min, loss_max, lowest)


def _minima_metrics(s: _Surface, tolerance_absolute, tolerance_relative, edge, region) -> dict:
    """Local minima deep enough to count (:mod:`minima`), those in the low-loss
    ``region``, and the lowest grid point."""
    tolerance = minima.minima_tolerance(s.raw[s.finite], tolerance_absolute, tolerance_relative)
    found = minima.find_local_minima(s.loss, s.xs, s.ys, tolerance, edge, s.loss_max - s.loss_min)
    in_region = region[np.searchsorted(s.ys, found["y"]), np.searchsorted(s.xs, found["x"])]
    iy_min, ix_min = s.lowest
    return {
        "n_local_minima": np.int64(len(found["loss"])),
        "n_local_minima_region": np.int64(in_region.sum()),
        "minima_tolerance": tolerance,
        "n_nonfinite": np.int64((~s.finite).sum()),
        "minima_x": found["x"],
        "minima_y": found["y"],
        "minima_loss": found["loss"],
        "minima_depth": found["depth"],
        "loss_min": float(s.loss[iy_min, ix_min]),
        "loss_min_x": float(s.xs[ix_min]),
        "loss_min_y": float(s.ys[iy_min]),
        "loss_range": s.loss_max - s.loss_min,
    }


def _smoothness_metrics(s: _Surface, region, region_height, roughness_scale) -> dict:
    """Slope and roughness (:mod:`smoothness`) and the low-loss region's size."""
    rough, (half_x, half_y) = smoothness.roughness(
        s.loss, s.xs, s.ys, roughness_scale, region, ~s.finite
    )
    return {
        "gradient_magnitude": smoothness.gradient_magnitude(s.holed, s.xs, s.ys),
        "region_height": float(region_height),
        "region_area": float(smoothness.cell_areas(s.xs, s.ys)[region].sum()),
        "region_touches_edge": np.int64(basins.touches_edge(region)),
        "steepness": smoothness.steepness(s.holed, s.xs, s.ys, region),
        "roughness": rough,
        "roughness_window_x": half_x,
        "roughness_window_y": half_y,
    }


def _basin_metrics(s: _Surface, basin_levels, basin_level_mode: str) -> dict:
    """Basin size at each level of the ladder (:mod:`basins`)."""
    heights = basins.basin_levels(s.raw[s.finite], list(basin_levels), basin_level_mode)
    widths = basins.basin_widths(s.loss, s.xs, s.ys, heights)
    return {"basin_height": heights} | {
        f"basin_{key}": widths[key]
        for key in ("area", "width", "extent_x", "extent_y", "touches_edge")
    }


def _shape_metrics(s: _Surface, region, shape_sigma: float) -> dict:
    """Koenderink shape and curvedness and the non-convex share (:mod:`shape`); the
    shape of a 1-D slice, which needs two directions, is NaN."""
    noise = shape.curvature_noise(s.holed, s.xs, s.ys)
    if len(s.ys) > 1:
        lambda1, lambda2 = shape.hessian_eigenvalues(s.holed, s.xs, s.ys, shape_sigma)
        index = shape.shape_index(lambda1, lambda2, noise)
        curved = shape.curvedness(lambda1, lambda2)
        curvature_region = region & np.isfinite(lambda2)
        fractions = shape.shape_class_fractions(index, curvature_region)
    else:
        lambda2 = shape.slice_curvature(s.holed, s.xs)
        curvature_region = region & np.isfinite(lambda2)
        index = curved = np.full_like(s.loss, np.nan)
        fractions = np.full(len(shape.SHAPE_CLASSES), np.nan)
    return {
        "shape_index": index,
        "curvedness": curved,
        "curvature_noise": noise,
        "shape_index_at_minimum": float(index[s.lowest]),
        "curvedness_at_minimum": float(curved[s.lowest]),
        "nonconvex_fraction": shape.nonconvex_fraction(lambda2, noise, curvature_region),
        "shape_class_fraction": fractions,
    }


def _coordinates(landscape: xr.Dataset, basin_levels, basin_level_mode: str, units: str) -> dict:
    return {
        "x": landscape["x"],
        "y": landscape["y"],
        "level": (
            "level",
            np.asarray(basin_levels, dtype=float),
            cf.quantity("basin level above the global minimum", units)
            if basin_level_mode == "absolute"
            else cf.quantity("basin level as a share of the window's loss range", "1"),
        ),
        "shape_class": (
            "shape_class",
            list(shape.SHAPE_CLASSES),
            {"long_name": "Koenderink shape class", "units": "1"},
        ),
    }


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
    s = _surface(landscape, variable, basin_levels, region_height, roughness_scale)
    region = basins.basin_mask(s.loss, region_height)
    origin = float(landscape[variable].sel(x=0.0, y=0.0, method="nearest"))
    values = (
        _minima_metrics(s, tolerance_absolute, tolerance_relative, edge, region)
        | {"loss_at_origin": origin}
        | _smoothness_metrics(s, region, region_height, roughness_scale)
        | _basin_metrics(s, basin_levels, basin_level_mode)
        | _shape_metrics(s, region, shape_sigma)
    )
    # cross-entropy is in nats; a grid from another tool says what it knows of its loss
    units = landscape.attrs.get("loss_units", LOSS_UNITS)
    data_vars = {
        name: spec.entry(values[name], variable=variable, units=units)
        for name, spec in LANDSCAPE_METRICS.items()
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
    coords = _coordinates(landscape, basin_levels, basin_level_mode, units)
    metrics = xr.Dataset(data_vars, coords, attrs=attrs)
    if not stability:
        return metrics
    options = dict(
        tolerance_absolute=tolerance_absolute,
        tolerance_relative=tolerance_relative,
        edge=edge,
        basin_levels=basin_levels,
        basin_level_mode=basin_level_mode,
        region_height=region_height,
        roughness_scale=roughness_scale,
        shape_sigma=shape_sigma,
    )
    measure = functools.partial(landscape_metrics, variable=variable, stability=False, **options)
    return with_stability(metrics, landscape, variable, measure)
