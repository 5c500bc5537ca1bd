"""Loss barriers between trained networks (mode connectivity).

Two measures, both in the loss's own units (nats for cross-entropy):

* Along the straight line between two models A and B, ``θ(α) = (1 − α)·θ_A + α·θ_B``, the
  barrier height is ``max_{α∈[0,1]} L(α) − (L(0) + L(1))/2``: the "error barrier height"
  (instability) of Frankle et al. 2020, "Linear Mode Connectivity and the Lottery Ticket
  Hypothesis", §2, here on the loss; barriers between modes after Garipov et al. 2018
  ("Loss Surfaces, Mode Connectivity, and Fast Ensembling of DNNs") and Draxler et al.
  2018 ("Essentially No Barriers in Neural Network Energy Landscape"). Both ends lie on
  the path, so the height is never below ``|L(1) − L(0)|/2``. (Other papers, e.g. Entezari
  et al. 2022, subtract the linear interpolation of the ends at each α instead; that is
  not this quantity.)
* On a plane grid, the lowest barrier along *any* path between two models: the minimax
  level ``L*``, the lowest level at which both models' grid nodes lie in one connected
  region of ``{L ≤ L*}`` (the grid's analogue of Draxler et al.'s minimum energy path,
  whose highest point is the saddle), minus the mean of the two models' grid values.
  Paths step between 4-neighbours (cells sharing an edge): a path cannot slip between
  two high cells that touch only at a corner, so a one-cell diagonal ridge holds, and
  every barrier is at least the 8-connected one (every 4-path is an 8-path). This is
  more conservative than the 8-connectivity of :mod:`minima`'s pass heights.

Grids follow the project's layout (:func:`landscape.evaluate_grid`, netCDF dims
``("y", "x")``): ``values[iy, ix]`` is the loss at ``(xs[ix], ys[iy])``.
"""

import numpy as np

# Relative to the grid spacing: how far a coordinate may miss a grid value (α = 0, α = 1,
# the grid's extent) and still count as on it, for rounding in linspace and the like.
COORDINATE_TOLERANCE = 1e-9


def _increasing_axis(name: str, axis: np.ndarray) -> np.ndarray:
    """``axis`` as float64 after checking it is 1-D, finite and strictly increasing."""
    axis = np.asarray(axis, dtype=float)
    if axis.ndim != 1 or axis.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array; found shape {axis.shape}")
    if not np.all(np.isfinite(axis)) or np.any(np.diff(axis) <= 0):
        raise ValueError(f"{name} must be finite and strictly increasing; found {axis}")
    return axis


def _tolerance(axis: np.ndarray) -> float:
    """Absolute tolerance on ``axis``: :data:`COORDINATE_TOLERANCE` times its finest spacing
    (times 1 for a single value)."""
    spacing = float(np.min(np.diff(axis))) if axis.size > 1 else 1.0
    return COORDINATE_TOLERANCE * spacing


def interpolation_barrier(alphas: np.ndarray, losses: np.ndarray) -> dict:
    """Barrier height along a linear interpolation ``L(α)`` from model A (α = 0) to B (α = 1).

    ``barrier_height = max_{α∈[0,1]} L(α) − (L(0) + L(1))/2`` (Frankle et al. 2020, §2).
    Only grid points with ``0 ≤ α ≤ 1`` count (within 1e-9 of the finest spacing), so the
    grid may extend beyond the models as a margin. A non-finite loss inside ``[0, 1]`` (a
    diverged point) counts as ``+inf``: the height is then ``inf``, ``loss_peak`` is
    ``inf`` and ``barrier_alpha`` is the first such α.

    Args:
        alphas: ``(n,)`` strictly increasing; must hold α = 0 and α = 1 and at least 3
            points in ``[0, 1]``.
        losses: ``(n,)`` loss at each α (nats); finite at α = 0 and α = 1.

    Returns:
        ``barrier_height`` (nats, ≥ 0), ``barrier_alpha`` (α of the highest point),
        ``loss_start`` (L(0)), ``loss_end`` (L(1)), ``loss_peak`` (the highest L, nats);
        all floats.
    """
    alphas = _increasing_axis("alphas", alphas)
    losses = np.asarray(losses, dtype=float)
    if losses.shape != alphas.shape:
        raise ValueError(
            f"losses must have the shape of alphas {alphas.shape}; found {losses.shape}"
        )
    tol = _tolerance(alphas)
    inside = (alphas >= -tol) & (alphas <= 1 + tol)
    ends = {}
    for name, end in (("start", 0.0), ("end", 1.0)):
        on_end = np.flatnonzero(np.abs(alphas - end) <= tol)
        if on_end.size == 0:
            raise ValueError(
                f"alphas must hold α = {end:g} (model {'A' if end == 0 else 'B'}) within "
                f"{tol:.3g}; found none in [{alphas[0]:g}, {alphas[-1]:g}]"
            )
        ends[name] = float(losses[on_end[0]])
        if not np.isfinite(ends[name]):
            raise ValueError(f"the loss at α = {end:g} must be finite; found {ends[name]}")
    if inside.sum() < 3:
        raise ValueError(f"alphas must hold at least 3 points in [0, 1]; found {inside.sum()}")
    path_alphas, path_losses = alphas[inside], losses[inside]
    path_losses = np.where(np.isfinite(path_losses), path_losses, np.inf)  # diverged: +inf
    peak = int(np.argmax(path_losses))
    loss_peak = float(path_losses[peak])
    return {
        "barrier_height": loss_peak - (ends["start"] + ends["end"]) / 2,
        "barrier_alpha": float(path_alphas[peak]),
        "loss_start": ends["start"],
        "loss_end": ends["end"],
        "loss_peak": loss_peak,
    }


def _grid_nodes(xs: np.ndarray, ys: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``(k,)`` flat indices ``iy·nx + ix`` of the grid nodes nearest to ``points`` ``(k, 2)``
    as (x, y), after checking that every point lies within the grid's extent."""
    points = np.asarray(points, dtype=float)
    if points.ndim != 2 or points.shape[1] != 2 or not np.all(np.isfinite(points)):
        raise ValueError(f"points must be finite (k, 2) plane coordinates (x, y); found {points}")
    tol_x, tol_y = _tolerance(xs), _tolerance(ys)
    for i, (x, y) in enumerate(points):
        if not (xs[0] - tol_x <= x <= xs[-1] + tol_x and ys[0] - tol_y <= y <= ys[-1] + tol_y):
            raise ValueError(
                f"point {i} at (x, y) = ({x:g}, {y:g}) lies outside the grid's extent "
                f"x ∈ [{xs[0]:g}, {xs[-1]:g}], y ∈ [{ys[0]:g}, {ys[-1]:g}]"
            )
    ix = np.argmin(np.abs(xs[None, :] - points[:, :1]), axis=1)
    iy = np.argmin(np.abs(ys[None, :] - points[:, 1:]), axis=1)
    return iy * len(xs) + ix


def _minimax_levels(values: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """``(k, k)`` minimax level between every pair of ``nodes`` (flat indices) on ``values``
    ``(ny, nx)``, 4-connected, non-finite cells impassable; ``inf`` where none connects."""
    # Hand-written: scipy and scikit-image have no minimax-path (bottleneck) routine.
    # Kruskal-style flooding: add cells from the lowest up, join each to its flooded
    # 4-neighbours (union-find); two nodes' level is the value of the cell that joins them.
    ny, nx = values.shape
    flat = values.ravel()
    k = len(nodes)
    levels = np.full((k, k), np.inf)
    levels[np.arange(k), np.arange(k)] = flat[nodes]  # a node reaches itself at its value
    parent = np.full(flat.size, -1)  # -1: not flooded yet
    size = np.ones(flat.size, dtype=np.int64)
    members: dict[int, list[int]] = {}  # root cell -> indices of the nodes in its region
    for i, node in enumerate(nodes):
        members.setdefault(int(node), []).append(i)

    def find(cell: int) -> int:
        while parent[cell] != cell:
            parent[cell] = parent[parent[cell]]  # path halving
            cell = parent[cell]
        return cell

    unresolved = k * (k - 1) // 2
    finite = np.flatnonzero(np.isfinite(flat))
    for cell in finite[np.argsort(flat[finite], kind="stable")].tolist():
        if unresolved == 0:
            break
        level = flat[cell]
        parent[cell] = cell
        here = members.get(cell, [])
        for a, i in enumerate(here):  # nodes on one cell: joined at its own value
            for j in here[a + 1 :]:
                levels[i, j] = levels[j, i] = level
                unresolved -= 1
        iy, ix = divmod(cell, nx)
        neighbours = (
            [cell - nx] * (iy > 0)
            + [cell + nx] * (iy < ny - 1)
            + [cell - 1] * (ix > 0)
            + [cell + 1] * (ix < nx - 1)
        )
        for neighbour in neighbours:
            if parent[neighbour] < 0:
                continue
            root_a, root_b = find(cell), find(neighbour)
            if root_a == root_b:
                continue
            if size[root_a] < size[root_b]:
                root_a, root_b = root_b, root_a
            group_a, group_b = members.pop(root_a, []), members.pop(root_b, [])
            for i in group_a:
                for j in group_b:
                    levels[i, j] = levels[j, i] = level
            unresolved -= len(group_a) * len(group_b)
            parent[root_b] = root_a
            size[root_a] += size[root_b]
            if group_a or group_b:
                members[root_a] = group_a + group_b
    return levels


def plane_barrier_levels(
    xs: np.ndarray, ys: np.ndarray, values: np.ndarray, points: np.ndarray
) -> np.ndarray:
    """Minimax loss level between every pair of models on a plane grid.

    The level between models i and j is the lowest ``L*`` such that their nearest grid
    nodes are joined by a 4-connected path of cells with ``values ≤ L*``: the height of the
    lowest pass between them (nats). NaN (and other non-finite) cells are impassable.

    Args:
        xs: ``(nx,)``, ys: ``(ny,)`` strictly increasing plane coordinates.
        values: ``(ny, nx)`` loss at ``(xs[ix], ys[iy])`` in ``values[iy, ix]`` (nats).
        points: ``(k, 2)`` plane coordinates (x, y) of k models, within the grid's extent
            (each is taken at its nearest grid node, which must be finite).

    Returns:
        ``(k, k)`` symmetric levels (nats); the diagonal holds each model's own grid value;
        ``inf`` where impassable cells separate two models.
    """
    xs, ys = _increasing_axis("xs", xs), _increasing_axis("ys", ys)
    values = np.asarray(values, dtype=float)
    if values.shape != (len(ys), len(xs)):
        raise ValueError(
            f"values must have shape (len(ys), len(xs)) = {(len(ys), len(xs))}; "
            f"found {values.shape}"
        )
    nodes = _grid_nodes(xs, ys, points)
    own = values.ravel()[nodes]
    if not np.all(np.isfinite(own)):
        bad = int(np.flatnonzero(~np.isfinite(own))[0])
        raise ValueError(f"the grid value nearest to point {bad} must be finite; found {own[bad]}")
    return _minimax_levels(values, nodes)


def plane_barriers(
    xs: np.ndarray, ys: np.ndarray, values: np.ndarray, points: np.ndarray
) -> np.ndarray:
    """Lowest barrier between every pair of models along any path on a plane grid.

    ``barrier[i, j] = L*_ij − (L_i + L_j)/2`` with ``L*_ij`` the minimax level of
    :func:`plane_barrier_levels` and ``L_i`` model i's grid value: the plane analogue of
    :func:`interpolation_barrier`: never above the barrier along any 4-connected grid path
    between them (a grid row or column included), never below ``|L_i − L_j|/2``.

    Args:
        xs, ys, values, points: as for :func:`plane_barrier_levels`.

    Returns:
        ``(k, k)`` symmetric barrier heights (nats), 0 on the diagonal, ``inf`` where
        impassable (non-finite) cells separate two models.
    """
    levels = plane_barrier_levels(xs, ys, values, points)
    own = np.diag(levels).copy()
    barriers = levels - (own[:, None] + own[None, :]) / 2
    np.fill_diagonal(barriers, 0.0)
    return barriers
