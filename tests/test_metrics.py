import numpy as np
import pytest

from losslandscape.metrics import (
    find_local_minima,
    gradient_magnitude,
    landscape_metrics,
    roughness,
)
from tests.test_datamodel import make_landscape


def grid(n=101, half=5.0):
    axis = np.linspace(-half, half, n)
    yy, xx = np.meshgrid(axis, axis, indexing="ij")
    return axis, xx, yy


def test_paraboloid_has_one_minimum_at_its_centre():
    axis, xx, yy = grid()
    minima = find_local_minima(xx**2 + 3 * yy**2, axis, axis, tolerance=1e-9)
    assert len(minima["loss"]) == 1 and minima["x"][0] == 0 and minima["y"][0] == 0


def test_himmelblau_has_four_minima():
    axis, x, y = grid()
    himmelblau = (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2
    assert len(find_local_minima(himmelblau, axis, axis, tolerance=1e-6)["loss"]) == 4


def test_plateau_and_sub_tolerance_noise_give_no_spurious_minima():
    axis, xx, yy = grid(41)
    assert len(find_local_minima(np.full_like(xx, 2.5), axis, axis, tolerance=1e-6)["loss"]) == 0
    noisy = xx**2 + yy**2 + 1e-7 * np.random.default_rng(0).random(xx.shape)
    assert len(find_local_minima(noisy, axis, axis, tolerance=1e-5)["loss"]) == 1


def test_roughness_of_a_tilted_plane_is_the_mean_absolute_slope():
    """For L = a·x + b·y every horizontal pair differs by |a|·Δx and every vertical by |b|·Δy."""
    xs, ys = np.linspace(0, 2, 21), np.linspace(-1, 1, 11)
    yy, xx = np.meshgrid(ys, xs, indexing="ij")
    loss = 3 * xx - 2 * yy
    n_x, n_y = 11 * 20, 10 * 21
    assert roughness(loss, xs, ys) == pytest.approx((3 * n_x + 2 * n_y) / (n_x + n_y))
    np.testing.assert_allclose(gradient_magnitude(loss, xs, ys), np.hypot(3, 2))


def test_roughness_does_not_depend_on_resolution():
    values = []
    for n in (101, 201):
        axis, xx, yy = grid(n)
        values.append(roughness(np.sin(xx) + np.cos(2 * yy), axis, axis))
    assert values[0] == pytest.approx(values[1], rel=0.02)


def test_landscape_metrics_dataset():
    metrics = landscape_metrics(make_landscape(11, 9))
    assert int(metrics.n_local_minima) == 1
    assert float(metrics.loss_min_x) == 0 and float(metrics.loss_min_y) == 0
    assert float(metrics.loss_at_origin) == pytest.approx(0.1)
    assert metrics.gradient_magnitude.dims == ("y", "x")
    with pytest.raises(ValueError, match="variable 'nope' is not a \\(y, x\\) grid"):
        landscape_metrics(make_landscape(), "nope")
