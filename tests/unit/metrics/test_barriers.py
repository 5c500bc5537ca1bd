"""Loss barriers (:mod:`losslandscape.metrics.barriers`) on curves and surfaces with known answers.

The line barrier on analytic paths (equal and unequal ends, a margin beyond [0, 1], a
diverged point); the plane barrier on two Gaussian wells (saddle at the origin), on a ridge
whose gap makes a detour lower than the straight line, across NaN walls, and against a
plain reference (the lowest level at which ``scipy.ndimage.label`` joins two nodes).
"""

import numpy as np
import pytest
from scipy import ndimage

from losslandscape.metrics.barriers import (
    interpolation_barrier,
    plane_barrier_levels,
    plane_barriers,
)

# --- the line: interpolation_barrier ---------------------------------------------------


def test_symmetric_double_well_has_barrier_one():
    """``L = sin²(πα) + c``: equal ends at c, peak 1 + c at α = 1/2, so the barrier is 1."""
    alphas = np.linspace(0, 1, 101)
    result = interpolation_barrier(alphas, np.sin(np.pi * alphas) ** 2 + 0.7)
    assert result["barrier_height"] == pytest.approx(1.0, abs=1e-12)
    assert result["barrier_alpha"] == pytest.approx(0.5)
    assert result["loss_start"] == pytest.approx(0.7)
    assert result["loss_end"] == pytest.approx(0.7)
    assert result["loss_peak"] == pytest.approx(1.7)


def test_asymmetric_ends_subtract_their_mean():
    """A tent from 1 up to 5 at α = 0.3 and down to 2: barrier 5 − (1 + 2)/2 = 3.5."""
    alphas = np.linspace(0, 1, 11)
    result = interpolation_barrier(alphas, np.interp(alphas, [0, 0.3, 1], [1.0, 5.0, 2.0]))
    assert result["barrier_height"] == pytest.approx(3.5)
    assert result["barrier_alpha"] == pytest.approx(0.3)
    assert (result["loss_start"], result["loss_end"]) == pytest.approx((1.0, 2.0))


def test_smooth_asymmetric_peak_matches_calculus():
    """``L = α + sin²(πα)``: ``L' = 1 + π sin 2πα = 0`` with ``L'' < 0`` at
    ``α* = 1/2 + asin(1/π)/(2π)``; the barrier is ``L(α*) − 1/2`` to grid accuracy."""
    alphas = np.linspace(0, 1, 10001)
    peak_alpha = 0.5 + np.arcsin(1 / np.pi) / (2 * np.pi)
    result = interpolation_barrier(alphas, alphas + np.sin(np.pi * alphas) ** 2)
    expected = peak_alpha + np.sin(np.pi * peak_alpha) ** 2 - 0.5
    assert result["barrier_height"] == pytest.approx(expected, abs=1e-7)
    assert result["barrier_alpha"] == pytest.approx(peak_alpha, abs=1e-4)


def test_margin_beyond_the_models_is_ignored():
    """Higher losses (and a NaN) at α < 0 and α > 1 do not count: the barrier stays 1."""
    alphas = np.linspace(-0.5, 1.5, 201)  # α = 0 and 1 only up to rounding
    losses = np.sin(np.pi * alphas) ** 2
    losses[alphas < -0.2] = 50.0
    losses[alphas > 1.2] = 80.0
    losses[0] = np.nan
    result = interpolation_barrier(alphas, losses)
    assert result["barrier_height"] == pytest.approx(1.0, abs=1e-12)
    assert result["barrier_alpha"] == pytest.approx(0.5)
    assert result["loss_peak"] == pytest.approx(1.0)


def test_diverged_point_inside_is_an_infinite_barrier():
    alphas = np.linspace(0, 1, 11)
    losses = np.sin(np.pi * alphas) ** 2
    losses[4] = np.nan
    result = interpolation_barrier(alphas, losses)
    assert result["barrier_height"] == np.inf
    assert result["loss_peak"] == np.inf
    assert result["barrier_alpha"] == pytest.approx(0.4)


@pytest.mark.parametrize(
    ("alphas", "losses", "message"),
    [
        (np.linspace(0.05, 1, 20), np.zeros(20), "α = 0"),
        (np.linspace(0, 0.95, 20), np.zeros(20), "α = 1"),
        (np.array([0, 0.5, 0.4, 1]), np.zeros(4), "strictly increasing"),
        (np.array([0, 0.5, 0.5, 1]), np.zeros(4), "strictly increasing"),
        (np.zeros((2, 3)), np.zeros((2, 3)), "1-D"),
        (np.linspace(0, 1, 5), np.zeros(4), "shape"),
        (np.array([-1, 0, 1, 2]), np.zeros(4), "at least 3"),
        (np.linspace(0, 1, 5), np.array([np.nan, 1, 2, 1, 0]), "α = 0 must be finite"),
        (np.linspace(0, 1, 5), np.array([0, 1, 2, 1, np.inf]), "α = 1 must be finite"),
    ],
)
def test_interpolation_errors_name_what_was_expected(alphas, losses, message):
    with pytest.raises(ValueError, match=message):
        interpolation_barrier(alphas, losses)


# --- the plane: plane_barriers ---------------------------------------------------------


def two_wells(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """``(ny, nx)``: ``L = −exp(−((x−1)² + y²)) − exp(−((x+1)² + y²))``, a saddle at (0, 0)."""
    grid_x, grid_y = np.meshgrid(xs, ys)
    return -np.exp(-((grid_x - 1) ** 2 + grid_y**2)) - np.exp(-((grid_x + 1) ** 2 + grid_y**2))


def test_two_wells_meet_at_the_saddle():
    """Every path from x < 0 to x > 0 crosses the column x = 0, whose lowest value is the
    saddle ``L(0, 0) = −2/e``; the wells' points have ``L(±1, 0) = −1 − e⁻⁴``. The grid
    holds both, so the barrier is exact, and equals the line barrier along y = 0."""
    xs, ys = np.linspace(-2, 2, 201), np.linspace(-1.5, 1.5, 151)
    values = two_wells(xs, ys)
    barriers = plane_barriers(xs, ys, values, np.array([[-1.0, 0.0], [1.0, 0.0]]))
    expected = -2 / np.e - (-1 - np.exp(-4.0))
    assert barriers[0, 1] == pytest.approx(expected, rel=1e-12)
    levels = plane_barrier_levels(xs, ys, values, np.array([[-1.0, 0.0], [1.0, 0.0]]))
    assert levels[0, 1] == pytest.approx(-2 / np.e, rel=1e-12)
    row = values[np.argmin(np.abs(ys))]
    line = interpolation_barrier((xs + 1) / 2, row)
    assert line["barrier_height"] == pytest.approx(barriers[0, 1], rel=1e-12)
    assert line["barrier_alpha"] == pytest.approx(0.5)


def ridge_with_gap() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A flat plane at 0 split by a ridge of height 5 along x = 0, lowered to 1 for
    1 ≤ y ≤ 1.4: the straight line y = 0 from (−1, 0) to (1, 0) crosses the ridge at 5,
    the detour through the gap at 1."""
    xs = ys = np.linspace(-2, 2, 41)
    values = np.zeros((len(ys), len(xs)))
    on_ridge = np.abs(xs) < 0.15
    values[:, on_ridge] = 5.0
    in_gap = (ys >= 1.0 - 1e-9) & (ys <= 1.4 + 1e-9)
    values[np.ix_(in_gap, on_ridge)] = 1.0
    return xs, ys, values


def test_detour_through_a_gap_beats_the_straight_line():
    xs, ys, values = ridge_with_gap()
    barriers = plane_barriers(xs, ys, values, np.array([[-1.0, 0.0], [1.0, 0.0]]))
    row = values[np.argmin(np.abs(ys))]
    inside = (xs >= -1 - 1e-9) & (xs <= 1 + 1e-9)
    line = interpolation_barrier((xs[inside] + 1) / 2, row[inside])
    assert line["barrier_height"] == pytest.approx(5.0)
    assert barriers[0, 1] == pytest.approx(1.0)
    assert barriers[0, 1] < line["barrier_height"]


def test_unequal_points_subtract_their_mean():
    """The right half raised by 0.4: the pass stays at 1, the ends are 0 and 0.4, so 0.8."""
    xs, ys, values = ridge_with_gap()
    values = values + np.where(xs > 0.15, 0.4, 0.0)[None, :]
    levels = plane_barrier_levels(xs, ys, values, np.array([[-1.0, 0.0], [1.0, 0.0]]))
    barriers = plane_barriers(xs, ys, values, np.array([[-1.0, 0.0], [1.0, 0.0]]))
    assert levels[0, 1] == pytest.approx(1.0)
    assert np.diag(levels) == pytest.approx([0.0, 0.4])
    assert barriers[0, 1] == pytest.approx(1.0 - 0.2)


def test_barriers_are_symmetric_with_zero_diagonal():
    """Invariants on a random surface: symmetric, 0 on the diagonal, and never below half
    the difference of the two models' values (both ends lie on every path)."""
    rng = np.random.default_rng(0)
    xs, ys = np.linspace(-1, 1, 17), np.linspace(-1, 1.5, 13)
    values = rng.normal(size=(len(ys), len(xs)))
    points = np.column_stack([rng.uniform(-1, 1, 6), rng.uniform(-1, 1.5, 6)])
    points[5] = points[4] + 1e-4  # the same grid node as point 4
    barriers = plane_barriers(xs, ys, values, points)
    assert barriers.shape == (6, 6)
    np.testing.assert_array_equal(barriers, barriers.T)
    np.testing.assert_array_equal(np.diag(barriers), 0.0)
    assert barriers[4, 5] == 0.0
    levels = plane_barrier_levels(xs, ys, values, points)
    own = np.diag(levels)
    assert np.all(barriers >= np.abs(own[:, None] - own[None, :]) / 2 - 1e-12)


def test_nan_walls_block_paths():
    """A NaN column separates the halves (inf); a gap in it lets the path through at the
    gap's value; points on one side stay connected at their own level."""
    xs = ys = np.linspace(-1, 1, 21)
    values = np.zeros((len(ys), len(xs)))
    values[:, 10] = np.nan
    points = np.array([[-0.5, 0.0], [0.5, 0.0], [-0.5, 0.5]])
    barriers = plane_barriers(xs, ys, values, points)
    assert barriers[0, 1] == np.inf and barriers[1, 2] == np.inf
    assert barriers[0, 2] == 0.0
    values[3, 10] = 2.0  # a gap
    assert plane_barriers(xs, ys, values, points)[0, 1] == pytest.approx(2.0)


def test_a_diagonal_gap_does_not_leak():
    """4-connectivity: two NaN cells touching at a corner still block the path."""
    xs = ys = np.arange(2.0)
    values = np.array([[0.0, np.nan], [np.nan, 0.0]])
    barriers = plane_barriers(xs, ys, values, np.array([[0.0, 0.0], [1.0, 1.0]]))
    assert barriers[0, 1] == np.inf


def test_a_single_row_matches_the_line_barrier():
    """On a 1-D slice (``ny = 1``) the only path is the line itself."""
    xs = np.linspace(0, 1, 11)
    row = np.interp(xs, [0, 0.3, 1], [1.0, 5.0, 2.0])
    barriers = plane_barriers(xs, np.zeros(1), row[None, :], np.array([[0.0, 0.0], [1, 0]]))
    assert barriers[0, 1] == pytest.approx(interpolation_barrier(xs, row)["barrier_height"])


@pytest.mark.parametrize(
    ("point", "message"),
    [
        ([1.5, 0.0], r"point 1 at \(x, y\) = \(1.5, 0\) lies outside .* x ∈ \[-1, 1\]"),
        ([0.0, -1.01], "point 1 .* outside"),
    ],
)
def test_points_outside_the_grid_are_refused(point, message):
    xs = ys = np.linspace(-1, 1, 5)
    with pytest.raises(ValueError, match=message):
        plane_barriers(xs, ys, np.zeros((5, 5)), np.array([[0.0, 0.0], point]))


def test_plane_input_errors():
    xs = ys = np.linspace(-1, 1, 5)
    with pytest.raises(ValueError, match=r"shape \(len\(ys\), len\(xs\)\)"):
        plane_barriers(xs, ys, np.zeros((5, 4)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"\(k, 2\)"):
        plane_barriers(xs, ys, np.zeros((5, 5)), np.zeros(2))
    values = np.zeros((5, 5))
    values[2, 2] = np.nan
    with pytest.raises(ValueError, match="nearest to point 0 must be finite"):
        plane_barriers(xs, ys, values, np.zeros((2, 2)))


def reference_levels(values: np.ndarray, nodes: list[tuple[int, int]]) -> np.ndarray:
    """The lowest level at which ``ndimage.label`` (4-connected) puts two nodes in one
    region of ``{values ≤ level}``, by binary search over the sorted finite values."""
    candidates = np.unique(values[np.isfinite(values)])
    k = len(nodes)
    levels = np.full((k, k), np.inf)
    for i in range(k):
        for j in range(k):

            def joined(level: float, a=nodes[i], b=nodes[j]) -> bool:
                regions, _ = ndimage.label(values <= level)  # NaN ≤ level is False
                return regions[a] != 0 and regions[a] == regions[b]

            low, high = 0, len(candidates)
            while low < high:
                middle = (low + high) // 2
                if joined(candidates[middle]):
                    high = middle
                else:
                    low = middle + 1
            if low < len(candidates):
                levels[i, j] = candidates[low]
    return levels


@pytest.mark.parametrize("seed", range(25))
def test_union_find_matches_a_plain_reference(seed):
    rng = np.random.default_rng(seed)
    ny, nx = rng.integers(1, 9, size=2)
    values = rng.integers(0, 6, size=(ny, nx)).astype(float)  # ties on purpose
    values[rng.random((ny, nx)) < 0.2] = np.nan
    finite = np.argwhere(np.isfinite(values))
    if len(finite) == 0:
        return
    picks = finite[rng.integers(0, len(finite), size=4)]
    xs, ys = np.arange(nx) * 0.5 - 1, np.arange(ny) * 0.25
    points = np.column_stack([xs[picks[:, 1]], ys[picks[:, 0]]])
    levels = plane_barrier_levels(xs, ys, values, points)
    np.testing.assert_array_equal(levels, reference_levels(values, [tuple(p) for p in picks]))
