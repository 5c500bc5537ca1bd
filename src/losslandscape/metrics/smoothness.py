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
with it. Input ``loss`` ``(ny, nx)`` with increasing coordinates ``xs`` ``(nx,)``, ``ys``
``(ny,)`` (evenly spaced for roughness; at least 3 per axis for derivatives); ``ny = 1`` is a
1-D slice along x, whose y-derivatives are 0 and whose "areas" are lengths.
"""

import numpy as np
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
    coordinate unit), leaving out points whose gradient is NaN (a stencil that reads a NaN
    value); NaN for an empty region. For ``L = a·r²`` over the disc ``L ≤ h`` it is
    ``(4/3)·sqrt(a·h)``."""
    slope = gradient_magnitude(loss, xs, ys)
    keep = region & np.isfinite(slope)
    if not keep.any():
        return float("nan")
    areas = cell_areas(xs, ys)[keep]
    return float((slope[keep] * areas).sum() / areas.sum())


def roughness_half_window(axis: np.ndarray, scale: float) -> int:
    """Points on each side of a roughness window of half-width ``scale`` on ``axis``:
    ``scale`` in whole spacings, at least :data:`MIN_HALF_WINDOW`, at most half the axis;
    0 when the axis is shorter than 5 points or not evenly spaced (to float32 precision of
    the coordinates, 1e-4 relative), where no such window exists."""
    if len(axis) < 2 * MIN_HALF_WINDOW + 1:
        return 0
    spacing = np.diff(axis)
    if np.ptp(spacing) > 1e-4 * abs(spacing.mean()):
        return 0
    half = max(MIN_HALF_WINDOW, int(round(scale / spacing.mean())))
    return min(half, (len(axis) - 1) // 2)


def _reads(bad: np.ndarray, half: int, axis: int) -> np.ndarray:
    """Which points' windows of ``2·half + 1`` along ``axis`` read a ``bad`` point, for
    Savitzky–Golay's ``interp`` mode: inside, the window centred on the point; within
    ``half`` of an end, the first or last ``2·half + 1`` points."""
    n = bad.shape[axis]
    first = np.clip(np.arange(n) - half, 0, n - 1 - 2 * half)
    counts = np.cumsum(np.moveaxis(bad, axis, 0).astype(np.int64), axis=0)
    counts = np.concatenate([np.zeros((1, *counts.shape[1:]), np.int64), counts])
    inside = counts[first + 2 * half + 1] - counts[first]
    return np.moveaxis(inside > 0, 0, axis)


def roughness(
    loss: np.ndarray,
    xs: np.ndarray,
    ys: np.ndarray,
    scale: float,
    region: np.ndarray,
    nonfinite: np.ndarray | None = None,
) -> tuple[float, tuple[float, float]]:
    """Root mean square over ``region`` of ``L − Q_s[L]`` (loss units), and the windows'
    half-widths ``(x, y)`` used (coordinate units; 0 in y on a 1-D slice).

    ``Q_s`` fits along x, then along y, a quadratic over ``2k + 1`` points, ``k`` from
    :func:`roughness_half_window` (``mode="interp"``: within ``k`` of an end, the end's
    window). Points whose windows read a ``nonfinite`` point ``(ny, nx)`` bool (its value
    in ``loss`` is a finite stand-in) are left out. NaN (with NaN half-widths) where an
    axis is shorter than 5 points or unevenly spaced, or no region point is left.
    """
    half_x = roughness_half_window(xs, scale)
    half_y = roughness_half_window(ys, scale) if len(ys) > 1 else None
    if half_x == 0 or half_y == 0:
        return float("nan"), (float("nan"), float("nan"))
    trend = savgol_filter(loss, 2 * half_x + 1, 2, axis=1, mode="interp")
    keep = region.copy()
    bad = np.zeros(loss.shape, bool) if nonfinite is None else nonfinite
    bad = _reads(bad, half_x, axis=1)
    if half_y is not None:
        trend = savgol_filter(trend, 2 * half_y + 1, 2, axis=0, mode="interp")
        bad = _reads(bad, half_y, axis=0)
    keep &= ~bad
    half = (
        half_x * float(np.mean(np.diff(xs))),
        half_y * float(np.mean(np.diff(ys))) if half_y else 0.0,
    )
    if not keep.any():
        return float("nan"), half
    return float(np.sqrt(np.mean((loss - trend)[keep] ** 2))), half
