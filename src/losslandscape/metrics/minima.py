"""Local minima of a grid surface and their depths (dynamics).

A minimum's *depth* is how far the surface must be flooded above it before its basin joins
the basin of a lower minimum: ``pass height − minimum value`` (the "dynamic" of
mathematical morphology). A minimum counts when its depth is at least the tolerance (in
the loss's own units) and at least the float32 noise floor at its pass height
(:func:`noise_floor`), so rounding noise never counts however high the surface lies. The
global minimum never joins a lower one; its depth is reported as the full range ``max − min``.

Computed with scikit-image: candidate minima are the 8-connected regions lower than all
their neighbours (a plateau is one region), their catchment basins come from a watershed,
and the pass height between two basins is the lowest ``max(L_p, L_q)`` over 8-neighbour
pairs ``p, q`` across their boundary. Merging basins in order of pass height (Kruskal)
gives every depth. ``skimage.morphology.h_minima`` gives the same count for any tolerance
(the tests compare them) but not the depths.
"""

import numpy as np
from scipy import ndimage
from skimage.measure import label
from skimage.morphology import local_minima
from skimage.segmentation import watershed

EDGE_RULES = ("include", "exclude")
# Relative precision of one grid value: the engine's float32 losses agree with a float64
# reference to <= 4e-7 relative (measured on the study's models); 16 float32 epsilons
# (1.9e-6) bound the difference of two such values with a margin of more than 2.
NOISE_RELATIVE = 16 * float(np.finfo(np.float32).eps)
# The four offsets that cover every 8-neighbour pair once.
_OFFSETS = ((0, 1), (1, 0), (1, 1), (1, -1))


def _shifted_pairs(array: np.ndarray, dy: int, dx: int) -> tuple[np.ndarray, np.ndarray]:
    """The values at ``p`` and at ``p + (dy, dx)`` for every ``p`` where both exist."""
    ny, nx = array.shape
    y0, y1 = 0, ny - dy
    x0, x1 = max(0, -dx), nx - max(0, dx)
    return array[y0:y1, x0:x1], array[y0 + dy : y1 + dy, x0 + dx : x1 + dx]


def _pass_heights(loss: np.ndarray, basins: np.ndarray) -> np.ndarray:
    """Rows ``(basin_a, basin_b, pass height)`` with ``a < b``, one per adjacent pair."""
    rows = []
    for dy, dx in _OFFSETS:
        label_p, label_q = _shifted_pairs(basins, dy, dx)
        value_p, value_q = _shifted_pairs(loss, dy, dx)
        crossing = label_p != label_q
        low = np.minimum(label_p[crossing], label_q[crossing])
        high = np.maximum(label_p[crossing], label_q[crossing])
        rows.append(np.stack([low, high, np.maximum(value_p[crossing], value_q[crossing])], 1))
    edges = np.concatenate(rows) if rows else np.empty((0, 3))
    if len(edges) == 0:
        return edges
    order = np.lexsort((edges[:, 2], edges[:, 1], edges[:, 0]))
    edges = edges[order]
    first = np.ones(len(edges), dtype=bool)
    first[1:] = (edges[1:, 0] != edges[:-1, 0]) | (edges[1:, 1] != edges[:-1, 1])
    return edges[first]  # the lowest pass for each pair


def minima_depths(loss: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Label every candidate minimum and compute its depth.

    Args:
        loss: ``(ny, nx)`` finite values.

    Returns:
        regions: ``(ny, nx)`` int, 0 outside minima, k on the points of minimum k (1-based).
        depths: ``(n_candidates,)`` depth of minimum k at index k − 1 (loss units).
    """
    regions = label(local_minima(loss, connectivity=2, allow_borders=True), connectivity=2)
    n = int(regions.max())
    if n == 0:
        return regions, np.empty(0)
    lowest = ndimage.minimum(loss, regions, np.arange(1, n + 1))  # one pass, not one per label
    basins = watershed(loss, markers=regions, connectivity=2)
    parent = np.arange(n + 1)
    best = np.concatenate([[np.inf], lowest])  # lowest minimum in each merged component
    winner = np.arange(n + 1)  # which minimum that is
    depths = np.full(n, float(np.ptp(loss)))

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    edges = _pass_heights(loss, basins)
    for a, b, height in edges[np.argsort(edges[:, 2], kind="stable")]:
        ra, rb = root(int(a)), root(int(b))
        if ra == rb:
            continue
        # The component whose lowest minimum is higher dies here.
        keep, die = (ra, rb) if best[ra] <= best[rb] else (rb, ra)
        depths[winner[die] - 1] = height - best[die]
        parent[die] = keep
    return regions, depths


def find_local_minima(
    loss: np.ndarray,
    xs: np.ndarray,
    ys: np.ndarray,
    tolerance: float,
    edge: str = "include",
    max_depth: float | None = None,
) -> dict[str, np.ndarray]:
    """Local minima at least ``tolerance`` deep, each at its lowest grid point.

    Args:
        loss: ``(ny, nx)``; xs: ``(nx,)``; ys: ``(ny,)`` increasing coordinates.
        tolerance: minimum depth (loss units); must be > 0 so plateaus never count. A
            minimum also needs a depth above :func:`noise_floor` of its pass height.
        edge: ``include`` (default: an edge point counts when it is lower than all its
            existing neighbours) or ``exclude`` (drop minima touching the grid's edge,
            whose basin may continue outside the window; for a 1-D slice, ``ny = 1``,
            only its two ends are the edge).
        max_depth: depths are capped here (the range of the finite values, where ``loss``
            holds stand-in walls for non-finite points, which are not real heights).

    Returns:
        ``x``, ``y``, ``loss``, ``depth``: arrays ``(n_minima,)``, by increasing loss.
    """
    if edge not in EDGE_RULES:
        raise ValueError(f"edge rule {edge!r} is unknown; choose one of {', '.join(EDGE_RULES)}")
    if not tolerance > 0:
        raise ValueError(f"minima tolerance must be > 0, found {tolerance}")
    regions, depths = minima_depths(loss)
    if max_depth is not None:
        depths = np.minimum(depths, max_depth)
    if len(depths):
        lowest = ndimage.minimum(loss, regions, np.arange(1, len(depths) + 1))
        floor = noise_floor(np.maximum(np.abs(lowest), np.abs(lowest + depths)))
        keep = np.nonzero((depths >= tolerance) & (depths >= floor))[0] + 1
    else:
        keep = np.empty(0, dtype=np.int64)
    if edge == "exclude" and len(keep):
        ny, nx = loss.shape
        boxes = ndimage.find_objects(regions)
        # a 1-D slice's single row is no edge: only its ends are
        inside = [
            (ny == 1 or (boxes[k - 1][0].start > 0 and boxes[k - 1][0].stop < ny))
            and boxes[k - 1][1].start > 0 and boxes[k - 1][1].stop < nx
            for k in keep
        ]  # fmt: skip
        keep = keep[np.asarray(inside, dtype=bool)]
    if len(keep) == 0:
        return {key: np.empty(0) for key in ("loss", "x", "y", "depth")}
    where = np.array(ndimage.minimum_position(loss, regions, keep)).reshape(-1, 2)
    values = loss[where[:, 0], where[:, 1]]
    order = np.argsort(values, kind="stable")
    return {
        "loss": values[order],
        "x": xs[where[order, 1]],
        "y": ys[where[order, 0]],
        "depth": depths[keep - 1][order],
    }


def noise_floor(values) -> np.ndarray:
    """Depth that float32 rounding of grid values around ``values`` (loss units) can fake:
    :data:`NOISE_RELATIVE` × |value|; same shape as ``values``."""
    return NOISE_RELATIVE * np.abs(np.asarray(values, dtype=float))


def minima_tolerance(loss: np.ndarray, absolute: float, relative: float = 0.0) -> float:
    """The depth a minimum needs to count, in loss units: ``absolute`` (the default rule),
    or ``max(absolute, relative·(max − min))`` where a range-relative ``relative`` > 0 is
    asked for explicitly (it depends on the window: not for comparisons)."""
    return max(float(absolute), float(relative) * float(np.ptp(loss)))
