"""Smoothness of a grid surface, in the loss's own units: steepness and roughness.

Two different things that a single "mean |ΔL|/Δ" number used to mix up:

- *steepness*: the mean slope ``|∇L|`` (loss per coordinate unit). A perfectly smooth,
  steep bowl is steep, not rough.
- *roughness*: the small-scale variation left after removing the smooth trend at a stated
  scale ``s``: the root mean square of ``L − Q_s[L]``, where ``Q_s[L]`` is the local
  least-squares quadratic fit over a window of half-width ``s`` around each point (a
  Savitzky–Golay smoother of order 2, Savitzky & Golay 1964, Anal. Chem. 36(8); applied
  along x then along y, which is the least-squares fit of the tensor-product quadratics
  on the window and so reproduces every quadratic ``a·x² + b·xy + c·y² + …`` exactly). In
  loss units: 0 for a quadratic bowl of any curvature in any window, and proportional to
  the amplitude of ripples shorter than the window (the residual is linear in L).

Both are measured over a region given as a mask (the metrics use the low-loss region
around the minimum), so they do not grow with the window. All derivatives are in the
grid's coordinate units, so the numbers converge as the resolution grows instead of scaling
with it. Input ``loss`` ``(ny, nx)`` with increasing, evenly spaced coordinates ``xs``
``(nx,)``, ``ys`` ``(ny,)``; ``ny = 1`` is a 1-D slice along x, whose y-derivatives are 0
and whose "areas" are lengths.
"""

import numpy as np
from scipy.ndimage import binary_dilation
from scipy.signal import savgol_filter

# Points on each side of a roughness window at the least: 2 (5 points, 6 quadratic
# coefficients fitted to 25 values on a plane) leaves residual degrees of freedom.
MIN_HALF_WINDOW = 2


def derivatives(loss: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(∂L/∂y, ∂L/∂x)``, each ``(ny, nx)``: central differences inside, second-order
    one-sided at the edges; ``∂L/∂y = 0`` for a 1-D slice."""
    if len(ys) == 1:
        return np.zeros_like(loss), np.gradient(loss, xs, axis=1, edge_order=2)
    return tuple(np.gradient(loss, ys, xs, edge_order=2))


def gradient_magnitude(loss: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """``|∇L|`` ``(ny, nx)`` (loss per coordinate unit): the smoothness map."""
    d_dy, d_dx = derivatives(loss, xs, ys)
    return np.hypot(d_dx, d_dy)


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


def steepness(loss: np.ndarray, xs: np.ndarray, ys: np.ndarray, region: np.ndarray) -> float:
    """Area-weighted mean of ``|∇L|`` over the ``region`` mask ``(ny, nx)`` (loss per
    coordinate unit); NaN for an empty region. For ``L = a·r²`` over the disc
    ``L ≤ h`` it is ``(4/3)·sqrt(a·h)``."""
    if not region.any():
        return float("nan")
    areas = cell_areas(xs, ys)[region]
    return float((gradient_magnitude(loss, xs, ys)[region] * areas).sum() / areas.sum())


def _half_window(axis: np.ndarray, scale: float) -> int:
    """Points on each side of a window of half-width ``scale`` on an evenly spaced axis (at
    least :data:`MIN_HALF_WINDOW`); 0 when the axis is too short for one window."""
    if len(axis) < 2 * MIN_HALF_WINDOW + 1:
        return 0
    spacing = np.diff(axis)
    if np.ptp(spacing) > 1e-6 * abs(spacing.mean()):
        raise ValueError(
            "roughness needs evenly spaced grid coordinates; found spacings from "
            f"{spacing.min():.6g} to {spacing.max():.6g}"
        )
    half = max(MIN_HALF_WINDOW, int(round(scale / spacing.mean())))
    return min(half, (len(axis) - 1) // 2)


def roughness_residual(
    loss: np.ndarray, xs: np.ndarray, ys: np.ndarray, scale: float
) -> tuple[np.ndarray, tuple[float, float]]:
    """``L − Q_s[L]`` ``(ny, nx)`` (loss units) and the windows' half-widths ``(x, y)`` in
    coordinate units as used: ``scale`` rounded to whole grid spacings, at least
    :data:`MIN_HALF_WINDOW` spacings and at most half the axis.

    Raises:
        ValueError: uneven spacing, or an axis (x; y on a plane) shorter than 5 points.
    """
    half_x = _half_window(xs, scale)
    half_y = _half_window(ys, scale) if len(ys) > 1 else -1
    if half_x == 0 or half_y == 0:
        raise ValueError(
            f"roughness needs at least {2 * MIN_HALF_WINDOW + 1} grid points per axis; "
            f"found {len(xs)} x {len(ys)}"
        )
    trend = savgol_filter(loss, 2 * half_x + 1, 2, axis=1, mode="interp")
    if half_y > 0:
        trend = savgol_filter(trend, 2 * half_y + 1, 2, axis=0, mode="interp")
    dx = float(np.mean(np.diff(xs)))
    dy = float(np.mean(np.diff(ys))) if half_y > 0 else 0.0
    return loss - trend, (half_x * dx, max(half_y, 0) * dy)


def roughness(
    loss: np.ndarray,
    xs: np.ndarray,
    ys: np.ndarray,
    scale: float,
    region: np.ndarray,
    nonfinite: np.ndarray | None = None,
) -> tuple[float, tuple[float, float]]:
    """Root mean square of :func:`roughness_residual` over ``region`` (loss units), and the
    windows' half-widths used; points whose window reads a ``nonfinite`` point are left
    out; NaN when no point is left or the grid is too small for one window."""
    try:
        residual, half = roughness_residual(loss, xs, ys, scale)
    except ValueError as error:
        if "needs at least" in str(error):
            return float("nan"), (float("nan"), float("nan"))
        raise
    keep = region.copy()
    if nonfinite is not None and nonfinite.any():
        spacing_x = float(np.mean(np.diff(xs)))
        spacing_y = float(np.mean(np.diff(ys))) if len(ys) > 1 else 1.0
        reach = (2 * round(half[1] / spacing_y) + 1, 2 * round(half[0] / spacing_x) + 1)
        keep &= ~binary_dilation(nonfinite, np.ones(reach, bool))
    if not keep.any():
        return float("nan"), half
    return float(np.sqrt(np.mean(residual[keep] ** 2))), half
