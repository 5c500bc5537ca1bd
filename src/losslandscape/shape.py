"""Koenderink–van Doorn shape index and curvedness of a grid surface.

From the Hessian of L in the grid's coordinate units (second-order differences, also at the
edges, so a quadratic has its exact curvature everywhere), optionally after Gaussian
smoothing with a width in coordinate units. With eigenvalues λ1 ≥ λ2:

    S = −(2/π)·atan2(λ1 + λ2, λ1 − λ2)   (−1 cup/bowl, 0 symmetric saddle, +1 cap/dome)
    C = sqrt((λ1² + λ2²) / 2)            (loss per coordinate²)

``skimage.feature.shape_index`` is not used: it works in pixel units, calls an exactly
isotropic bowl a cap (+1, it divides by +0) and adds curvature at the edges.
"""

import numpy as np
from scipy.ndimage import gaussian_filter

# Five equal bins of S; points with curvedness below FLAT_FRACTION·max(C) are "flat".
SHAPE_CLASSES = ("cup", "trough", "saddle", "ridge", "cap", "flat")
_CLASS_EDGES = (-0.6, -0.2, 0.2, 0.6)
FLAT_FRACTION = 1e-6


def hessian_eigenvalues(
    loss: np.ndarray, xs: np.ndarray, ys: np.ndarray, sigma: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """``λ1 ≥ λ2`` ``(ny, nx)`` of the surface's Hessian (loss per coordinate²).

    ``sigma`` > 0 smooths with a Gaussian of that width in coordinate units first
    (``mode="nearest"``: within about 2σ of the edge the surface is flattened).
    """
    surface = loss
    if sigma > 0:
        pixels = (sigma / np.mean(np.diff(ys)), sigma / np.mean(np.diff(xs)))
        surface = gaussian_filter(loss, pixels, mode="nearest")
    d_dy, d_dx = np.gradient(surface, ys, xs, edge_order=2)
    l_xx = np.gradient(d_dx, xs, axis=1, edge_order=2)
    l_yy = np.gradient(d_dy, ys, axis=0, edge_order=2)
    l_xy = (
        np.gradient(d_dx, ys, axis=0, edge_order=2) + np.gradient(d_dy, xs, axis=1, edge_order=2)
    ) / 2
    mean = (l_xx + l_yy) / 2
    spread = np.hypot((l_xx - l_yy) / 2, l_xy)
    return mean + spread, mean - spread


def shape_index(lambda1: np.ndarray, lambda2: np.ndarray) -> np.ndarray:
    """``S = −(2/π)·atan2(λ1 + λ2, λ1 − λ2)`` in [−1, 1] (0 where both are 0)."""
    return -(2 / np.pi) * np.arctan2(lambda1 + lambda2, lambda1 - lambda2)


def curvedness(lambda1: np.ndarray, lambda2: np.ndarray) -> np.ndarray:
    """``C = sqrt((λ1² + λ2²)/2)``."""
    return np.sqrt((lambda1**2 + lambda2**2) / 2)


def shape_class_fractions(shape: np.ndarray, curved: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Fraction of the ``mask`` points in each of :data:`SHAPE_CLASSES` ``(6,)``.

    Bins of S: cup [−1, −0.6), trough [−0.6, −0.2), saddle [−0.2, 0.2), ridge [0.2, 0.6),
    cap [0.6, 1]; flat where C < FLAT_FRACTION·max(C) (S is undefined there).
    """
    values, bends = shape[mask], curved[mask]
    flat = bends < FLAT_FRACTION * max(float(curved.max()), np.finfo(float).tiny)
    bins = np.digitize(values[~flat], _CLASS_EDGES)
    counts = np.bincount(bins, minlength=5).astype(float)
    counts = np.append(counts, flat.sum())
    return counts / max(mask.sum(), 1)
