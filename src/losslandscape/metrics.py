"""All grid metrics of one landscape variable as an ``xarray.Dataset`` (docs/data-model.md).

Works on any landscape that follows the data model, including ones built by hand: minima
and their depths (:mod:`minima`), smoothness (:mod:`smoothness`), basin width at a ladder
of levels (:mod:`basins`) and shape (:mod:`shape`), all in the grid's coordinate units.
"""

import numpy as np
import xarray as xr
from scipy.ndimage import binary_dilation

from losslandscape import basins, minima, shape, smoothness


def _var(dims, values, long_name: str, units: str):
    return (dims, values, {"long_name": long_name, "units": units})


def landscape_metrics(
    landscape: xr.Dataset,
    variable: str = "train_loss",
    tolerance_absolute: float = 1e-6,
    tolerance_relative: float = 1e-4,
    edge: str = "include",
    basin_levels: tuple[float, ...] = (0.01, 0.02, 0.05, 0.1, 0.2),
    basin_level_mode: str = "relative",
    shape_sigma: float = 0.0,
    shape_basin_level: float = 0.05,
) -> xr.Dataset:
    """Metrics of ``landscape[variable]`` (a ``(y, x)`` grid).

    Args:
        tolerance_absolute, tolerance_relative: a minimum counts when its depth is at least
            ``max(absolute, relative·(max − min))``.
        edge: minima on the grid edge: ``include`` or ``exclude`` (:mod:`minima`).
        basin_levels: heights above the global minimum for the basin ladder, in loss units
            (``absolute``) or as fractions of the loss range (``relative``).
        shape_sigma: Gaussian smoothing width (coordinate units) before the Hessian; 0: none.
        shape_basin_level: the basin (same mode as the ladder) over which shape classes are
            counted.

    A 1-D slice (one ``y`` value) gets the same variables: areas are lengths, y extents 0,
    and the shape variables, undefined on a line, are NaN.

    Raises:
        ValueError: ``variable`` is not a ``(y, x)`` grid, or no grid value is finite.

    Non-finite grid values (NaN, ±inf) are counted (``n_nonfinite``) and treated as walls
    above every finite value: they are never minima nor inside a basin; gradients within
    one cell of them and curvatures within two are masked (NaN in the maps, left out of
    roughness, total variation, Laplacian energy and the shape classes).
    """
    if variable not in landscape.data_vars or landscape[variable].dims != ("y", "x"):
        grids = [n for n, v in landscape.data_vars.items() if v.dims == ("y", "x")]
        raise ValueError(
            f"variable {variable!r} is not a (y, x) grid of this landscape; choose one of {grids}"
        )
    xs, ys = landscape["x"].values.astype(float), landscape["y"].values.astype(float)
    raw = landscape[variable].values.astype(np.float64)
    finite = np.isfinite(raw)
    if not finite.any():
        raise ValueError(
            f"{variable} has no finite grid values ({raw.size} NaN or infinite); "
            "no metric can be measured"
        )
    # Non-finite points (overflowing losses far out on a plane) become walls above every
    # finite value: never a minimum, never inside a basin. Finite differences that would
    # read them are masked: 1 cell around for gradients, 2 for second derivatives.
    n_nonfinite = int((~finite).sum())
    loss_min, loss_max = float(raw[finite].min()), float(raw[finite].max())
    loss = np.where(finite, raw, loss_max + (loss_max - loss_min) + 1.0)
    near1 = binary_dilation(~finite, np.ones((3, 3), bool)) if n_nonfinite else ~finite
    near2 = binary_dilation(near1, np.ones((3, 3), bool)) if n_nonfinite else ~finite
    units = landscape[variable].attrs.get("units", "1")
    loss_range = loss_max - loss_min
    scale = loss_range if loss_range > 0 else 1.0

    tolerance = minima.minima_tolerance(raw[finite], tolerance_absolute, tolerance_relative)
    found = minima.find_local_minima(loss, xs, ys, tolerance, edge)
    iy_min, ix_min = np.unravel_index(np.argmin(loss), loss.shape)

    rough = smoothness.roughness(loss, xs, ys, finite)
    tv = smoothness.total_variation(loss, xs, ys, ~near1)
    area = float(smoothness.cell_areas(xs, ys)[~near1].sum())
    energy = smoothness.laplacian_energy(loss, xs, ys, ~near2)
    gradient = np.where(near1, np.nan, smoothness.gradient_magnitude(loss, xs, ys))

    heights = basins.basin_levels(raw[finite], list(basin_levels), basin_level_mode)
    widths = basins.basin_widths(loss, xs, ys, heights)

    if len(ys) > 1:
        lambda1, lambda2 = shape.hessian_eigenvalues(loss, xs, ys, shape_sigma)
        index, curved = shape.shape_index(lambda1, lambda2), shape.curvedness(lambda1, lambda2)
        index, curved = np.where(near2, np.nan, index), np.where(near2, np.nan, curved)
        shape_height = basins.basin_levels(raw[finite], [shape_basin_level], basin_level_mode)[0]
        mask = basins.basin_mask(loss, shape_height) & ~near2
        fractions = shape.shape_class_fractions(np.nan_to_num(index), np.nan_to_num(curved), mask)
    else:  # a surface's shape needs two directions: undefined on a 1-D slice
        index = curved = np.full_like(loss, np.nan)
        fractions = np.full(len(shape.SHAPE_CLASSES), np.nan)

    per_coord = f"{units} per unit coordinate"
    data_vars = {
        "n_local_minima": _var(
            (),
            np.int64(len(found["loss"])),
            "number of local minima at least minima_tolerance deep",
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
        "loss_range": _var((), loss_range, f"max - min of {variable}", units),
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
        "roughness": _var(
            (), rough, "mean absolute neighbour difference per unit coordinate", per_coord
        ),
        "roughness_relative": _var(
            (), rough / scale, "roughness divided by the loss range", "1 per unit coordinate"
        ),
        "total_variation": _var(
            (), tv, "integral of |grad L| over the grid", f"{units} times coordinate units"
        ),
        "total_variation_relative": _var(
            (),
            tv / (scale * area),
            "total variation divided by loss range and grid area",
            "1 per unit coordinate",
        ),
        "laplacian_energy": _var(
            (),
            energy,
            "area-weighted mean of the squared Laplacian",
            f"({units})^2 per unit coordinate^4",
        ),
        "laplacian_energy_relative": _var(
            (),
            energy / scale**2,
            "laplacian energy divided by the squared loss range",
            "1 per unit coordinate^4",
        ),
        "basin_height": _var(("level",), heights, "basin level above the global minimum", units),
        "basin_area": _var(
            ("level",),
            widths["area"],
            "area of the connected region below the level holding the minimum",
            "coordinate units^2",
        ),
        "basin_equivalent_diameter": _var(
            ("level",),
            widths["equivalent_diameter"],
            "diameter of the disc with the basin's area",
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
            ("y", "x"), index, "Koenderink shape index (-1 cup, 0 saddle, +1 cap)", "1"
        ),
        "curvedness": _var(
            ("y", "x"),
            curved,
            "Koenderink curvedness sqrt((l1^2 + l2^2)/2)",
            "(loss units) per unit coordinate^2",
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
        "shape_class_fraction": _var(
            ("shape_class",),
            fractions,
            "fraction of the basin (at shape_basin_level) in each shape class",
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
        "variable": variable,
        "edge": edge,
        "basin_level_mode": basin_level_mode,
        "shape_sigma": float(shape_sigma),
        "shape_basin_level": float(shape_basin_level),
    }
    return xr.Dataset(data_vars, coords, attrs=attrs)
