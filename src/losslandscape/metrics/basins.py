"""Width of the minimum from level sets: the region around the global minimum below a level.

For each height h above the minimum, in the loss's own units (nats), the basin is the
8-connected region of grid points with ``L ≤ L_min + h`` that contains the global minimum
(scikit-image ``label``); this is the "width of the minimum at rising loss levels" of the
study, measured at fixed heights so that it describes the minimum and not the window (a
height that is a fraction of the grid's loss range makes the width of ``L = a·r²`` the same
for every curvature a and proportional to the window: docs/data-model.md). Each grid point
stands for a cell of its spacing, so the area is ``Σ Δx·Δy`` over the region and the extents
are the region's coordinate span plus one spacing. The width is the equivalent diameter
``sqrt(4·area/π)`` on a plane (``2·sqrt(h/a)`` for ``L = a·r²``) and the length on a 1-D
slice (``2·sqrt(h/a)`` for ``L = a·x²``). A basin that reaches the grid's edge may continue
outside the window: its width is then a lower bound (``touches_edge``).
"""

import numpy as np
from skimage.measure import find_contours, label

from losslandscape.metrics.smoothness import cell_areas

LEVEL_MODES = ("absolute", "relative")


def basin_levels(loss: np.ndarray, levels: list[float], mode: str = "absolute") -> np.ndarray:
    """Heights above the minimum: ``levels`` as given (``absolute``, loss units: the default)
    or times the grid's loss range (``relative``: a property of the window, kept only as an
    explicitly named option, never for comparisons)."""
    if mode not in LEVEL_MODES:
        raise ValueError(
            f"basin level mode {mode!r} is unknown; choose one of {', '.join(LEVEL_MODES)}"
        )
    values = np.asarray(levels, dtype=float)
    return values * float(np.ptp(loss)) if mode == "relative" else values


def basin_mask(loss: np.ndarray, height: float) -> np.ndarray:
    """``(ny, nx)`` bool: the connected region below ``min + height`` holding the minimum."""
    iy, ix = np.unravel_index(np.argmin(loss), loss.shape)
    regions = label(loss <= loss[iy, ix] + height, connectivity=2)
    return regions == regions[iy, ix]


def touches_edge(mask: np.ndarray) -> bool:
    """Whether a region ``(ny, nx)`` reaches the window's edge: any border row or column on
    a plane; either end on a 1-D slice (``ny = 1``), whose single row is no edge."""
    if mask.shape[0] == 1:
        return bool(mask[0, 0] or mask[0, -1])
    return bool(mask[0].any() | mask[-1].any() | mask[:, 0].any() | mask[:, -1].any())


def basin_widths(loss: np.ndarray, xs: np.ndarray, ys: np.ndarray, heights: np.ndarray) -> dict:
    """Area, width, x/y extents and edge contact of the basin at each height (loss units).

    Returns arrays ``(n_levels,)``: ``area`` (coordinate units², a length on a 1-D slice),
    ``width`` (plane: equivalent diameter ``sqrt(4·area/π)``; 1-D slice: the length),
    ``extent_x``, ``extent_y`` (coordinate units; 0 in y on a slice), ``touches_edge`` (1
    where the region reaches the window's edge, so the width is a lower bound).
    """
    areas = cell_areas(xs, ys)
    dx = np.gradient(xs)
    dy = np.gradient(ys) if len(ys) > 1 else np.zeros(1)  # a 1-D slice has no y extent
    out = {k: np.zeros(len(heights)) for k in ("area", "width", "extent_x", "extent_y")}
    out["touches_edge"] = np.zeros(len(heights), dtype=np.int64)
    for i, height in enumerate(heights):
        mask = basin_mask(loss, height)
        rows, cols = np.nonzero(mask)
        out["area"][i] = areas[mask].sum()
        out["width"][i] = out["area"][i] if len(ys) == 1 else np.sqrt(4 * out["area"][i] / np.pi)
        out["extent_x"][i] = xs[cols.max()] - xs[cols.min()] + (dx[cols.max()] + dx[cols.min()]) / 2
        out["extent_y"][i] = ys[rows.max()] - ys[rows.min()] + (dy[rows.max()] + dy[rows.min()]) / 2
        out["touches_edge"][i] = int(touches_edge(mask))
    return out


def basin_contours(
    loss: np.ndarray, xs: np.ndarray, ys: np.ndarray, height: float
) -> list[np.ndarray]:
    """Contour lines of ``L = min + height`` in coordinates, each ``(n_points, 2)`` as (x, y)
    (scikit-image ``find_contours``), for drawing the basin outline."""
    contours = find_contours(loss, float(loss.min() + height))
    return [
        np.column_stack(
            [np.interp(c[:, 1], np.arange(len(xs)), xs), np.interp(c[:, 0], np.arange(len(ys)), ys)]
        )
        for c in contours
    ]
