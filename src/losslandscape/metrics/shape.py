"""Koenderink–van Doorn shape index and curvedness of a grid surface.

From the Hessian of L in the grid's coordinate units (second-order differences, also at the
edges, so a quadratic has its exact curvature everywhere), optionally after Gaussian
smoothing with a width in coordinate units. With eigenvalues λ1 ≥ λ2:

    S = −(2/π)·atan2(λ1 + λ2, λ1 − λ2)   (−1 cup/bowl, 0 symmetric saddle, +1 cap/dome)
    C = sqrt((λ1² + λ2²) / 2)            (loss per coordinate²)

(Koenderink & van Doorn 1992, "Surface shape and curvature scales", Image Vision Comput.
10(8), §3; the atan2 form is exact for isotropic bowls and domes.)
``skimage.feature.shape_index`` is not used: it works in pixel units, calls an exactly
isotropic bowl a cap (+1, it divides by +0) and adds curvature at the edges.

*Flat is flat*: a curvature that float32 rounding of the grid values could produce is no
curvature. :func:`curvature_noise` bounds it from the values' precision and the weights of
the difference stencils at each point;
where both eigenvalues are below it the point is ``flat`` and its shape index undefined
(NaN), so a constant surface is flat rather than a cup.

*Non-convex share* (Li et al. 2018, "Visualizing the Loss Landscape of Neural Nets", §6,
who map the ratio of the Hessian's extreme eigenvalues to show where a landscape is not
convex): the fraction of a region whose smaller in-plane Hessian eigenvalue is negative
beyond that noise.
"""

import numpy as np
from scipy.ndimage import gaussian_filter

from losslandscape.metrics.minima import NOISE_RELATIVE

# Five equal bins of S; points whose curvature is within float noise are "flat".
SHAPE_CLASSES = ("cup", "trough", "saddle", "ridge", "cap", "flat")
_CLASS_EDGES = (-0.6, -0.2, 0.2, 0.6)


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


def _difference_matrix(axis: np.ndarray) -> np.ndarray:
    """``(n, n)``: row i holds the weights of ``numpy.gradient(·, axis, edge_order=2)`` at
    point i (central inside, second-order one-sided at the ends)."""
    return np.gradient(np.eye(len(axis)), axis, axis=0, edge_order=2)


def curvature_noise(loss: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """``(ny, nx)``: the largest curvature (loss per coordinate²) that float32 rounding of
    the grid values can fake at each point.

    Each value is off by at most ``e = NOISE_RELATIVE / 2 · |L|`` (the engine's float32
    losses are within 4e-7 relative of a float64 reference; non-finite values count 0, their
    derivatives are NaN anyway). The Hessian's second differences add those errors with the
    absolute weights of their stencils, D the first-difference matrix of each axis
    (:func:`_difference_matrix`): ``|D²|`` along x and along y, ``|Dy|·|Dx|`` for the mixed
    derivative; an eigenvalue of the 2 × 2 Hessian is off by at most
    ``|δL_xx| + |δL_yy| + |δL_xy|``. So the bound is
    ``e·|Dx²|ᵀ + |Dy²|·e + |Dy|·e·|Dx|ᵀ`` (on a 1-D slice, the first term): per unit of e,
    3/Δ² inside a square grid, 28/Δ² in a corner.
    """
    error = NOISE_RELATIVE / 2 * np.abs(np.where(np.isfinite(loss), loss, 0.0))
    weights_x = np.abs(_difference_matrix(xs))
    bound = error @ np.abs(_difference_matrix(xs) @ _difference_matrix(xs)).T
    if len(ys) > 1:
        difference_y = _difference_matrix(ys)
        bound = bound + np.abs(difference_y @ difference_y) @ error
        bound = bound + np.abs(difference_y) @ error @ weights_x.T
    return bound


def slice_curvature(loss: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """``d²L/dx²`` ``(1, nx)`` of a 1-D slice by repeated second-order differences."""
    first = np.gradient(loss, xs, axis=1, edge_order=2)
    return np.gradient(first, xs, axis=1, edge_order=2)


def shape_index(
    lambda1: np.ndarray, lambda2: np.ndarray, noise: np.ndarray | float = 0.0
) -> np.ndarray:
    """``S = −(2/π)·atan2(λ1 + λ2, λ1 − λ2)`` in [−1, 1]; NaN where the point is flat
    (both ``|λ| ≤ noise``, see :func:`curvature_noise`; with ``noise = 0`` only where both
    are exactly 0)."""
    index = -(2 / np.pi) * np.arctan2(lambda1 + lambda2, lambda1 - lambda2)
    return np.where(is_flat(lambda1, lambda2, noise), np.nan, index)


def is_flat(lambda1: np.ndarray, lambda2: np.ndarray, noise: np.ndarray | float) -> np.ndarray:
    """Both eigenvalues within ``noise`` (``≤``, so an exactly flat point is flat)."""
    return (np.abs(lambda1) <= noise) & (np.abs(lambda2) <= noise)


def nonconvex_fraction(lambda2: np.ndarray, noise: np.ndarray | float, region: np.ndarray) -> float:
    """Share of the ``region`` points ``(ny, nx)`` bool whose smaller eigenvalue is below
    ``−noise`` (Li et al. 2018 §6); NaN for an empty region."""
    if not region.any():
        return float("nan")
    return float((lambda2 < -np.broadcast_to(noise, lambda2.shape))[region].mean())


def curvedness(lambda1: np.ndarray, lambda2: np.ndarray) -> np.ndarray:
    """``C = sqrt((λ1² + λ2²)/2)``."""
    return np.sqrt((lambda1**2 + lambda2**2) / 2)


def shape_class_fractions(shape: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Fraction of the ``mask`` points in each of :data:`SHAPE_CLASSES` ``(6,)``.

    Bins of S: cup [−1, −0.6), trough [−0.6, −0.2), saddle [−0.2, 0.2), ridge [0.2, 0.6),
    cap [0.6, 1]; flat where S is NaN (:func:`shape_index` of a flat point).
    """
    values = shape[mask]
    flat = np.isnan(values)
    bins = np.digitize(values[~flat], _CLASS_EDGES)
    counts = np.bincount(bins, minlength=5).astype(float)
    counts = np.append(counts, flat.sum())
    return counts / max(mask.sum(), 1)
