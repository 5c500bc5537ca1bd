"""Grid metrics on analytic surfaces whose answers are known."""

import numpy as np
import pytest
import xarray as xr
from scipy.ndimage import gaussian_filter
from skimage.measure import label
from skimage.morphology import h_minima

from losslandscape.io import cf
from losslandscape.metrics.basins import basin_contours, basin_widths
from losslandscape.metrics.landscape import landscape_metrics
from losslandscape.metrics.minima import find_local_minima
from losslandscape.metrics.shape import curvedness, hessian_eigenvalues, shape_index
from losslandscape.metrics.smoothness import gradient_magnitude, roughness, steepness
from tests.unit.io.test_datamodel import make_landscape


def grid(n=101, half=5.0):
    axis = np.linspace(-half, half, n)
    yy, xx = np.meshgrid(axis, axis, indexing="ij")
    return axis, xx, yy


def as_landscape(loss, axis) -> xr.Dataset:
    """A minimal landscape-like Dataset for landscape_metrics."""
    attrs = cf.quantity("train loss", "nats")
    return xr.Dataset({"train_loss": (("y", "x"), loss, attrs)}, {"x": axis, "y": axis})


def n_minima(loss, axis, tolerance=1e-6, edge="include"):
    return len(find_local_minima(loss, axis, axis, tolerance, edge)["loss"])


def test_isotropic_paraboloid_minimum_basin_and_shape():
    """L = a(x² + y²): one minimum, basin diameter 2·sqrt(h/a), cup (S = −1), C = 2a."""
    axis, xx, yy = grid(201)
    a = 0.7
    metrics = landscape_metrics(
        as_landscape(a * (xx**2 + yy**2), axis), basin_levels=(1.0, 4.0, 9.0), region_height=9.0
    )
    spacing = axis[1] - axis[0]
    assert int(metrics.n_local_minima) == 1
    expected = 2 * np.sqrt(np.array([1.0, 4.0, 9.0]) / a)
    assert np.all(np.abs(metrics.basin_width.values - expected) < spacing)
    assert np.all(np.abs(metrics.basin_extent_x.values - expected) < 2 * spacing)
    assert metrics.basin_touches_edge.values.tolist() == [0, 0, 0]
    assert float(metrics.shape_index_at_minimum) == pytest.approx(-1.0)
    assert float(metrics.curvedness_at_minimum) == pytest.approx(2 * a, rel=1e-6)
    cup = metrics.shape_class_fraction.sel(shape_class="cup")
    assert float(cup) == pytest.approx(1.0)


def test_anisotropic_paraboloid_shape_and_basin():
    """L = a·x² + b·y²: Hessian diag(2a, 2b); basin an ellipse of area π·h/sqrt(ab)."""
    axis, xx, yy = grid(201)
    a, b = 2.0, 0.5
    metrics = landscape_metrics(as_landscape(a * xx**2 + b * yy**2, axis), basin_levels=(4.0,))
    assert int(metrics.n_local_minima) == 1
    expected_s = -(2 / np.pi) * np.arctan2(2 * a + 2 * b, 2 * abs(a - b))
    assert float(metrics.shape_index_at_minimum) == pytest.approx(expected_s, abs=1e-9)
    assert float(metrics.curvedness_at_minimum) == pytest.approx(np.sqrt((4 * a**2 + 4 * b**2) / 2))
    spacing = axis[1] - axis[0]
    assert float(metrics.basin_width[0]) == pytest.approx(
        2 * np.sqrt(4.0 / np.sqrt(a * b)), abs=spacing
    )
    assert float(metrics.basin_extent_x[0]) == pytest.approx(2 * np.sqrt(4.0 / a), abs=2 * spacing)
    assert float(metrics.basin_extent_y[0]) == pytest.approx(2 * np.sqrt(4.0 / b), abs=2 * spacing)


def test_himmelblau_has_four_minima():
    axis, x, y = grid()
    assert n_minima((x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2, axis) == 4


def test_rastrigin_has_one_minimum_per_lattice_point_inside_the_grid():
    axis, x, y = grid(281, half=3.5)
    rastrigin = 20 + x**2 - 10 * np.cos(2 * np.pi * x) + y**2 - 10 * np.cos(2 * np.pi * y)
    found = find_local_minima(rastrigin, axis, axis, 1e-6)
    assert len(found["loss"]) == 49  # integer points −3…3 on both axes
    assert np.allclose(np.round(found["x"]), found["x"], atol=0.05)


def test_saddle_has_no_interior_minimum_and_zero_shape_index():
    axis, xx, yy = grid(101)
    saddle = xx**2 - yy**2
    assert n_minima(saddle, axis, edge="exclude") == 0
    assert n_minima(saddle, axis, edge="include") == 2  # the two lowest edge points
    lambda1, lambda2 = hessian_eigenvalues(saddle, axis, axis)
    assert shape_index(lambda1, lambda2)[50, 50] == pytest.approx(0.0, abs=1e-9)
    assert curvedness(lambda1, lambda2)[50, 50] == pytest.approx(2.0)


def test_plateau_and_sub_tolerance_noise_give_no_spurious_minima():
    axis, xx, yy = grid(41)
    assert n_minima(np.full_like(xx, 2.5), axis) == 0
    noisy = xx**2 + yy**2 + 1e-7 * np.random.default_rng(0).random(xx.shape)
    assert n_minima(noisy, axis, tolerance=1e-5) == 1
    noisy_plateau = 2.5 + 1e-7 * np.random.default_rng(1).random(xx.shape)
    assert n_minima(noisy_plateau, axis, tolerance=1e-5) == 0
    # at 2.5 nats the float32 noise floor (1.9e-6 × 2.5) hides 1e-7 dips even with a tiny
    # tolerance; the same dips near 0 nats are above the floor, and only the tolerance hides them
    assert n_minima(noisy_plateau, axis, tolerance=1e-9) == 0
    assert n_minima(noisy_plateau - 2.5, axis, tolerance=1e-9) > 10
    assert n_minima(noisy_plateau - 2.5, axis, tolerance=1e-5) == 0


def test_minima_count_equals_scikit_image_h_minima_on_random_surfaces():
    """Reference: our depth-based count against h_minima for random smooth surfaces."""
    rng = np.random.default_rng(1)
    xs, ys = np.arange(40.0), np.arange(30.0)
    for _ in range(60):
        surface = gaussian_filter(rng.standard_normal((30, 40)), rng.uniform(0.5, 3))
        for tolerance in (1e-4, 1e-2, 0.1):
            reference = label(h_minima(surface, tolerance), connectivity=2).max()
            assert len(find_local_minima(surface, xs, ys, tolerance)["loss"]) == reference


def test_minimum_depth_is_the_pass_height():
    """Two wells of depths 1 and 3 joined by a pass at 0: depths 1 (local) and range (global)."""
    x = np.linspace(-4, 4, 161)
    yy, xx = np.meshgrid(x, x, indexing="ij")
    loss = -np.exp(-((xx + 2) ** 2 + yy**2) * 4) - 3 * np.exp(-((xx - 2) ** 2 + yy**2) * 4)
    found = find_local_minima(loss, x, x, 1e-3)
    assert len(found["loss"]) == 2
    assert found["depth"][1] == pytest.approx(1.0, abs=1e-3)
    assert found["depth"][0] == pytest.approx(np.ptp(loss))


def test_steepness_and_roughness_of_a_tilted_plane():
    """L = a·x + b·y: slope hypot(a, b) everywhere; a plane is its own quadratic fit."""
    xs, ys = np.linspace(0, 2, 21), np.linspace(-1, 1, 11)
    yy, xx = np.meshgrid(ys, xs, indexing="ij")
    loss = 3 * xx - 2 * yy
    everywhere = np.ones(loss.shape, bool)
    np.testing.assert_allclose(gradient_magnitude(loss, xs, ys), np.hypot(3, 2))
    assert steepness(loss, xs, ys, everywhere) == pytest.approx(np.hypot(3, 2))
    rough, half = roughness(loss, xs, ys, 0.3, everywhere)
    assert rough == pytest.approx(0, abs=1e-12)
    assert half == pytest.approx((0.3, 0.4))  # 3 spacings of 0.1; at least 2 of 0.2


def test_resolution_and_rotation_do_not_change_roughness_or_basin_width():
    """A rotated anisotropic bowl with ripples shorter than the roughness window, at 201²
    and 401²: within 3 %."""
    results = []
    for n in (201, 401):
        axis, xx, yy = grid(n, half=3.0)
        angle = np.deg2rad(30)
        u, v = np.cos(angle) * xx + np.sin(angle) * yy, -np.sin(angle) * xx + np.cos(angle) * yy
        loss = 1.5 * u**2 + 0.4 * v**2 + 0.2 * np.sin(30 * u) * np.cos(24 * v)
        widths = basin_widths(loss, axis, axis, np.array([1.0]))
        rough, _ = roughness(loss, axis, axis, 0.3, np.ones(loss.shape, bool))
        results.append((rough, widths["width"][0]))
    (r1, d1), (r2, d2) = results
    assert r1 == pytest.approx(r2, rel=0.03)
    assert r1 == pytest.approx(0.1, rel=0.05)  # RMS of 0.2·sin·cos: the ripples' own
    assert d1 == pytest.approx(d2, rel=0.02)


def test_basin_touching_the_edge_is_flagged_and_contours_are_in_coordinates():
    axis, xx, yy = grid(51, half=1.0)
    loss = xx**2 + yy**2
    widths = basin_widths(loss, axis, axis, np.array([0.25, 5.0]))
    assert widths["touches_edge"].tolist() == [0, 1]
    (contour,) = basin_contours(loss, axis, axis, 0.25)
    np.testing.assert_allclose(np.hypot(contour[:, 0], contour[:, 1]), 0.5, atol=0.01)


def test_landscape_metrics_on_a_data_model_landscape():
    metrics = landscape_metrics(make_landscape(11, 9))
    assert int(metrics.n_local_minima) == 1
    assert float(metrics.loss_min_x) == 0 and float(metrics.loss_min_y) == 0
    assert float(metrics.loss_at_origin) == pytest.approx(0.1)
    assert metrics.gradient_magnitude.dims == ("y", "x")
    assert all({"long_name", "units"} <= set(metrics[name].attrs) for name in metrics.variables)
    with pytest.raises(ValueError, match="variable 'nope' is not a \\(y, x\\) grid"):
        landscape_metrics(make_landscape(), "nope")
    empty = make_landscape().copy(deep=True)
    empty["train_loss"][:] = np.nan
    with pytest.raises(ValueError, match="train_loss has no finite grid values"):
        landscape_metrics(empty)


def test_non_finite_grid_values_are_counted_walls_and_masked():
    clean = landscape_metrics(make_landscape(21, 17))
    broken = make_landscape(21, 17).copy(deep=True)
    broken["train_loss"][0, 0] = np.nan
    broken["train_loss"][16, 20] = np.inf
    metrics = landscape_metrics(broken)
    assert int(metrics.n_nonfinite) == 2 and int(clean.n_nonfinite) == 0
    assert int(metrics.n_local_minima) == int(clean.n_local_minima) == 1
    assert float(metrics.loss_min) == float(clean.loss_min)
    assert float(metrics.loss_range) == pytest.approx(float(clean.loss_range), rel=0.2)
    # exactly the derivatives whose stencils read a bad point are NaN: those that change
    # when the bad points' values change (one-sided stencils at the edges included)
    xs, ys = clean.x.values, clean.y.values
    values = make_landscape(21, 17).train_loss.values
    moved = values.copy()
    moved[0, 0] += 1.0
    moved[16, 20] += 1.0
    reads = gradient_magnitude(values, xs, ys) != gradient_magnitude(moved, xs, ys)
    np.testing.assert_array_equal(np.isnan(metrics.gradient_magnitude.values), reads)
    lambdas, lambdas_moved = hessian_eigenvalues(values, xs, ys), hessian_eigenvalues(moved, xs, ys)
    reads_twice = (lambdas[0] != lambdas_moved[0]) | (lambdas[1] != lambdas_moved[1])
    np.testing.assert_array_equal(np.isnan(metrics.curvedness.values), reads_twice)
    for name in ("roughness", "steepness", "nonconvex_fraction", "basin_area"):
        assert np.isfinite(metrics[name].values).all(), name
    np.testing.assert_allclose(metrics.basin_area, clean.basin_area, rtol=0.05)


def test_non_finite_points_near_the_edge_stay_out_of_roughness_and_steepness():
    """A NaN column 2 and 7 cells in: one-sided stencils and end windows that read it are
    left out, so a bowl stays smooth (roughness 0) with its true steepness."""
    axis, xx, yy = grid(41, half=2.0)
    bowl = xx**2 + yy**2
    clean = landscape_metrics(as_landscape(bowl, axis), region_height=50.0)
    for column in (2, 7):
        holed = bowl.copy()
        holed[:, column] = np.nan
        metrics = landscape_metrics(as_landscape(holed, axis), region_height=50.0)
        assert abs(float(metrics.roughness)) < 1e-12
        assert float(metrics.steepness) == pytest.approx(float(clean.steepness), rel=0.1)


def test_a_constant_surface_with_a_hole_has_no_minimum():
    """The wall standing in for a NaN is no real height: depths stop at the finite range."""
    axis, xx, _ = grid(21)
    surface = np.full_like(xx, 2.5)
    surface[10, 10] = np.nan
    metrics = landscape_metrics(as_landscape(surface, axis))
    assert int(metrics.n_local_minima) == 0


def test_options_no_metric_can_use_are_refused_by_name():
    landscape = as_landscape(*reversed(grid(11)[:2]))
    for options, message in (
        ({"basin_levels": (-0.1, 0.3)}, "basin_levels must be distinct heights > 0"),
        ({"basin_levels": (0.3, 0.3)}, "basin_levels must be distinct heights > 0"),
        ({"region_height": 0}, "region_height must be > 0"),
    ):
        with pytest.raises(ValueError, match=message):
            landscape_metrics(landscape, **options)
    two_rows = xr.Dataset(
        {"train_loss": (("y", "x"), np.ones((2, 5)))}, {"x": np.arange(5.0), "y": [0.0, 1.0]}
    )
    with pytest.raises(ValueError, match="2 x 5 grid; .* at least 3 points"):
        landscape_metrics(two_rows)


def test_curvature_noise_bounds_the_eigenvalue_change_of_any_float_error():
    """Errors of at most NOISE_RELATIVE/2·|L| per value move λ1, λ2 by at most the bound at
    every point: random sign patterns everywhere, and at a corner, an edge and an inside
    point the worst pattern for each second derivative (signs of its stencil's weights)."""
    from losslandscape.metrics.minima import NOISE_RELATIVE
    from losslandscape.metrics.shape import curvature_noise

    rng = np.random.default_rng(3)
    xs, ys = np.linspace(-1, 1, 9), np.linspace(-2, 2, 7)
    loss = 2.3 + rng.random((7, 9))
    bound = curvature_noise(loss, xs, ys)
    error = NOISE_RELATIVE / 2 * np.abs(loss)
    base = np.stack(hessian_eigenvalues(loss, xs, ys))

    def second_derivatives(surface):
        d_dy, d_dx = np.gradient(surface, ys, xs, edge_order=2)
        return (
            np.gradient(d_dx, xs, axis=1, edge_order=2),
            np.gradient(d_dy, ys, axis=0, edge_order=2),
            np.gradient(d_dx, ys, axis=0, edge_order=2),
        )

    patterns = [rng.choice([-1.0, 1.0], loss.shape) for _ in range(200)]
    for iy, ix in ((0, 0), (0, 4), (3, 4), (6, 8)):
        for which in range(3):  # the stencil's weights at the point, by linearity
            impulses = np.eye(loss.size).reshape(loss.size, *loss.shape)
            weights = np.array([second_derivatives(i)[which][iy, ix] for i in impulses])
            patterns.append(np.sign(weights).reshape(loss.shape))
    for signs in patterns:
        moved = np.stack(hessian_eigenvalues(loss + signs * error, xs, ys))
        assert np.all(np.abs(moved - base) <= bound * (1 + 1e-6) + 1e-12)
    # on a square grid of a constant c, e·3/Δ² inside and e·28/Δ² in a corner
    axis = np.linspace(0, 1, 11)
    flat = curvature_noise(np.full((11, 11), 2.0), axis, axis)
    unit = NOISE_RELATIVE / 2 * 2.0 / 0.1**2
    assert flat[5, 5] == pytest.approx(3 * unit) and flat[0, 0] == pytest.approx(28 * unit)
