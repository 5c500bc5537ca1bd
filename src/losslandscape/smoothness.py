"""Smoothness of a grid surface from differences between neighbouring values.

All derivatives are in the grid's coordinate units, so the numbers converge as the
resolution grows instead of scaling with it. Input ``loss`` ``(ny, nx)`` with increasing
coordinates ``xs`` ``(nx,)``, ``ys`` ``(ny,)``; ``ny = 1`` is a 1-D slice along x, whose
y-derivatives are 0 and whose "areas" are lengths.
"""

import numpy as np


def derivatives(loss: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(∂L/∂y, ∂L/∂x)``, each ``(ny, nx)``: central differences inside, second-order
    one-sided at the edges; ``∂L/∂y = 0`` for a 1-D slice."""
    if len(ys) == 1:
        return np.zeros_like(loss), np.gradient(loss, xs, axis=1, edge_order=2)
    return tuple(np.gradient(loss, ys, xs, edge_order=2))


def gradient_magnitude(loss: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """``|∇L|`` ``(ny, nx)``."""
    d_dy, d_dx = derivatives(loss, xs, ys)
    return np.hypot(d_dx, d_dy)


def roughness(
    loss: np.ndarray, xs: np.ndarray, ys: np.ndarray, finite: np.ndarray | None = None
) -> float:
    """Mean absolute difference between neighbouring values per unit of coordinate.

    ``mean(|L[i, j+1] − L[i, j]| / Δx  ∪  |L[i+1, j] − L[i, j]| / Δy)`` over every horizontal
    and vertical neighbour pair; for a smooth surface it tends to the mean of |∂L/∂x| and
    |∂L/∂y|. Units: loss per coordinate unit.
    ``finite`` ``(ny, nx)`` bool keeps only pairs of two finite values.
    """
    finite = np.ones(loss.shape, bool) if finite is None else finite
    along_x = np.abs(np.diff(loss, axis=1)) / np.diff(xs)[None, :]
    along_y = np.abs(np.diff(loss, axis=0)) / np.diff(ys)[:, None]
    keep_x, keep_y = finite[:, 1:] & finite[:, :-1], finite[1:] & finite[:-1]
    return float(np.concatenate([along_x[keep_x], along_y[keep_y]]).mean())


def cell_widths(axis: np.ndarray) -> np.ndarray:
    """``(n,)`` length each coordinate stands for (half-spacing to each neighbour); 1 for
    a single coordinate (the y axis of a 1-D slice), so areas become lengths."""
    if len(axis) == 1:
        return np.ones(1)
    edges = np.concatenate([[axis[0]], (axis[1:] + axis[:-1]) / 2, [axis[-1]]])
    return np.diff(edges)


def cell_areas(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """``(ny, nx)`` area each grid point stands for."""
    return np.outer(cell_widths(ys), cell_widths(xs))


def total_variation(
    loss: np.ndarray, xs: np.ndarray, ys: np.ndarray, valid: np.ndarray | None = None
) -> float:
    """``∫ |∇L| dx dy`` over the grid's rectangle (loss × coordinate units); over the
    ``valid`` cells only when a mask is given."""
    terms = gradient_magnitude(loss, xs, ys) * cell_areas(xs, ys)
    return float(terms.sum() if valid is None else terms[valid].sum())


def laplacian(loss: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """``∂²L/∂x² + ∂²L/∂y²`` ``(ny, nx)`` by repeated second-order differences."""
    d_dy, d_dx = derivatives(loss, xs, ys)
    return derivatives(d_dx, xs, ys)[1] + derivatives(d_dy, xs, ys)[0]


def laplacian_energy(
    loss: np.ndarray, xs: np.ndarray, ys: np.ndarray, valid: np.ndarray | None = None
) -> float:
    """Area-weighted mean of ``(∇²L)²`` (loss² per coordinate⁴): curvature energy; over the
    ``valid`` cells only when a mask is given."""
    areas = cell_areas(xs, ys)
    valid = np.ones(loss.shape, bool) if valid is None else valid
    if not valid.any():
        return float("nan")
    return float((laplacian(loss, xs, ys) ** 2 * areas)[valid].sum() / areas[valid].sum())
