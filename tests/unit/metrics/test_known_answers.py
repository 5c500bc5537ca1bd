"""The metrics' default settings on surfaces with known answers, through the command line
(``python -m losslandscape metrics``) on data-model landscape files, as a user would run it.

Each case is one claim of docs/data-model.md: basin widths in loss units that describe the
minimum whatever the window; roughness that is 0 for any smooth bowl and proportional to
ripples; a shallow dip that counts beside a steep bowl while float32 noise never does; 1-D
slices; flat surfaces; the non-convex share; and the stability flags.
"""

import numpy as np
import pytest

from losslandscape.cli import main
from losslandscape.io.datamodel import build_landscape, open_netcdf, write_landscape
from losslandscape.io.provenance import provenance_attrs
from losslandscape.metrics.landscape import DEFAULTS

F32 = np.finfo(np.float32).eps


def metrics_of(tmp_path, loss: np.ndarray, xs: np.ndarray, ys: np.ndarray, *options: str):
    """Write ``loss`` ``(ny, nx)`` as a landscape file, run the CLI with default options
    (plus ``options``), and return the metrics it wrote."""
    grid = {
        "train_loss": loss,
        "test_loss": loss,
        "train_accuracy": np.zeros_like(loss),
        "test_accuracy": np.zeros_like(loss),
        "train_loss_sem": np.zeros_like(loss),
        "test_loss_sem": np.zeros_like(loss),
    }
    trajectory = {name: [0.0] for name in ("trajectory_x", "trajectory_y", "trajectory_loss")} | {
        "trajectory_residual": [0.0]
    }
    attrs = {
        "activation": "relu",
        "seed": 0,
        "model": "analytic",
        "dataset": "none",
        "plane": "random",
        "normalization": "none",
        **provenance_attrs("test", {}),
    }
    path, out = tmp_path / "landscape.nc", tmp_path / "metrics.nc"
    write_landscape(build_landscape(xs, ys, grid, [0], trajectory, attrs), path)
    main(["metrics", str(path), "--out", str(out), *options])
    return open_netcdf(out)


def square(extent: float, n: int = 81):
    axis = np.linspace(-extent, extent, n)
    yy, xx = np.meshgrid(axis, axis, indexing="ij")
    return axis, xx, yy


@pytest.mark.parametrize("a", [0.5, 2.0, 8.0])
def test_bowl_widths_are_2_sqrt_h_over_a_whatever_the_window(tmp_path, a):
    """L = a·(x² + y²): the basin at height h is a disc of diameter 2·sqrt(h/a). Where the
    disc fits in the window the width is that, within a cell and 3 %, for every window;
    where it does not, the width is flagged as a lower bound and is one."""
    heights = np.asarray(DEFAULTS["basin_levels"])
    exact = 2 * np.sqrt(heights / a)
    for extent in (0.5, 1.0, 2.0):
        axis, xx, yy = square(extent)
        metrics = metrics_of(tmp_path, a * (xx**2 + yy**2), axis, axis)
        width, edge = metrics.basin_width.values, metrics.basin_touches_edge.values
        cell = axis[1] - axis[0]
        np.testing.assert_allclose(metrics.basin_height, heights)
        fits = exact < 2 * extent - 2 * cell
        assert fits.any() or a < 1  # every window measures some rung for a ≥ 2
        np.testing.assert_allclose(width[fits], exact[fits], atol=cell, rtol=0.03)
        assert not edge[fits].any()
        outside = exact > 2 * extent * np.sqrt(2)  # the disc covers the whole window
        assert edge[outside].all() and np.all(width[outside] <= exact[outside])
        assert int(metrics.n_local_minima) == 1
        assert float(metrics.curvedness_at_minimum) == pytest.approx(2 * a)
        assert float(metrics.shape_index_at_minimum) == pytest.approx(-1.0)


def test_range_relative_levels_measure_the_window_and_are_only_an_explicit_option(tmp_path):
    """The old default, levels as fractions of max − min, gives one width per window
    whatever the curvature: it stays available only when asked for by name."""
    widths = {}
    for a in (0.5, 8.0):
        for extent in (0.5, 2.0):
            axis, xx, yy = square(extent)
            metrics = metrics_of(
                tmp_path,
                a * (xx**2 + yy**2),
                axis,
                axis,
                "--basin-level-mode",
                "relative",
                "--basin-levels",
                "0.05",
            )
            widths[a, extent] = float(metrics.basin_width[0])
            assert metrics.level.attrs["long_name"] == (
                "basin level as a share of the window's loss range"
            )
    assert widths[0.5, 0.5] == pytest.approx(widths[8.0, 0.5], rel=0.01)
    assert widths[0.5, 2.0] == pytest.approx(4 * widths[0.5, 0.5], rel=0.05)


def test_roughness_is_zero_for_smooth_bowls_and_proportional_to_ripples(tmp_path):
    axis, xx, yy = square(1.0, 201)
    ripple = np.sin(2 * np.pi * xx / 0.1) * np.sin(2 * np.pi * yy / 0.1)
    for a in (0.5, 2.0, 8.0):
        bowl = a * (xx**2 + yy**2)
        smooth = metrics_of(tmp_path, bowl, axis, axis)
        assert abs(float(smooth.roughness)) < 1e-9
        rough = [
            float(metrics_of(tmp_path, bowl + A * ripple, axis, axis).roughness)
            for A in (0.01, 0.02)
        ]
        # the RMS of A·sin·sin is A/2; the residual is linear in the surface (the region
        # below 1 nat moves a little with the ripples)
        assert rough[0] == pytest.approx(0.005, rel=0.03)
        assert rough[1] == pytest.approx(2 * rough[0], rel=0.01)
        assert float(smooth.steepness) > 0  # steep is not rough
    for extent in (0.5, 2.0):  # and for smooth bowls in any window
        axis, xx, yy = square(extent)
        assert abs(float(metrics_of(tmp_path, 2 * (xx**2 + yy**2), axis, axis).roughness)) < 1e-9


def test_steepness_of_a_bowl_is_its_mean_slope_over_the_low_loss_region(tmp_path):
    """L = a·r² over the disc L ≤ h: mean |∇L| = (4/3)·sqrt(a·h), in any window holding it."""
    for extent in (1.0, 2.0):
        axis, xx, yy = square(extent, 161)
        metrics = metrics_of(tmp_path, 2.0 * (xx**2 + yy**2), axis, axis)
        assert float(metrics.steepness) == pytest.approx(4 / 3 * np.sqrt(2.0 * 1.0), rel=0.03)
        assert int(metrics.region_touches_edge) == 0


def tilted_double_well(xx, yy):
    """A 0.035-nat dip beside the global minimum, in a bowl whose corners reach 800 nats:
    g(x) = 0.04·(x² − 1)² + 0.005·x plus 200·y²."""
    return 0.04 * (xx**2 - 1) ** 2 + 0.005 * xx + 200 * yy**2


def test_a_shallow_dip_beside_a_steep_bowl_counts_as_a_minimum(tmp_path):
    axis, xx, yy = square(2.0)
    loss = tilted_double_well(xx, yy)
    assert loss.max() > 800
    metrics = metrics_of(tmp_path, loss, axis, axis)
    assert int(metrics.n_local_minima) == int(metrics.n_local_minima_region) == 2
    # the dip's depth on the grid: the barrier between the wells minus the dip's floor
    line = tilted_double_well(axis, 0.0)
    dip = line[axis > 0].min()
    barrier = line[(axis > -1) & (axis < 1)].max()
    assert float(metrics.minima_depth[1]) == pytest.approx(barrier - dip, rel=1e-9)
    assert 0.03 < barrier - dip < 0.04
    assert float(metrics.minima_x[1]) == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize("seed", range(3))
def test_float32_noise_never_counts_as_a_minimum(tmp_path, seed):
    """Values with the engine's float32 error (up to 4e-7 relative against a float64
    reference, measured on the study's models), then rounded to float32: a bowl keeps one
    minimum and a constant surface has none, high or low."""
    rng = np.random.default_rng(seed)
    axis, xx, yy = square(2.0)

    def noisy(surface):
        noise = 1 + rng.uniform(-4e-7, 4e-7, surface.shape)
        return (surface * noise).astype(np.float32).astype(np.float64)

    assert (
        int(metrics_of(tmp_path, noisy(200 * (xx**2 + yy**2) + 0.1), axis, axis).n_local_minima)
        == 1
    )
    for level in (np.log(10), 800.0):
        flat = metrics_of(tmp_path, noisy(np.full_like(xx, level)), axis, axis)
        assert int(flat.n_local_minima) == 0


def test_a_1d_slice_has_one_minimum_with_lengths_2_sqrt_h(tmp_path):
    """L = 0.1 + x² on [−1, 1], 21 points, with ``edge: exclude``."""
    xs = np.linspace(-1, 1, 21)
    metrics = metrics_of(tmp_path, (0.1 + xs**2)[None, :], xs, np.array([0.0]), "--edge", "exclude")
    assert int(metrics.n_local_minima) == 1
    heights = metrics.basin_height.values
    inside = 2 * np.sqrt(heights) < 2 - 0.1
    assert inside.sum() >= 4
    np.testing.assert_allclose(
        metrics.basin_width.values[inside], 2 * np.sqrt(heights[inside]), atol=0.1
    )
    assert not metrics.basin_touches_edge.values[inside].any()
    assert metrics.basin_touches_edge.values[~inside].all()
    assert float(metrics.nonconvex_fraction) == 0
    assert np.isnan(float(metrics.shape_index_at_minimum))


def test_a_constant_surface_is_flat_with_or_without_float_noise(tmp_path):
    axis, xx, yy = square(1.0, 41)
    constant = np.full_like(xx, np.log(10))
    wobble = 1e-14 * np.sin(7 * xx) * np.cos(5 * yy)  # curvatures of about 1e-12
    float32 = constant * (1 + 3 * F32 * np.random.default_rng(0).standard_normal(xx.shape))
    for surface in (constant, constant + wobble, float32.astype(np.float32).astype(float)):
        metrics = metrics_of(tmp_path, surface, axis, axis)
        fractions = metrics.shape_class_fraction.to_series()
        assert fractions["flat"] == 1 and fractions.drop("flat").sum() == 0
        assert np.isnan(float(metrics.shape_index_at_minimum))
        assert float(metrics.nonconvex_fraction) == 0


def test_the_nonconvex_share_of_a_mexican_hat(tmp_path):
    """L = (r² − 1)²: the minimum is the ring r = 1; the smaller curvature, 4(r² − 1) along
    the ring, is negative inside it. Over the region L ≤ 0.25 (0.5 ≤ r² ≤ 1.5) the share
    inside the ring is (1 − 0.5)/(1.5 − 0.5) = 1/2 of the area."""
    axis, xx, yy = square(1.5, 241)
    metrics = metrics_of(tmp_path, (xx**2 + yy**2 - 1) ** 2, axis, axis, "--region-height", "0.25")
    assert float(metrics.nonconvex_fraction) == pytest.approx(0.5, abs=0.03)
    bowl = metrics_of(tmp_path, xx**2 + yy**2, axis, axis)
    assert float(bowl.nonconvex_fraction) == 0


def test_headline_stability_is_stored_and_flags_what_the_window_cuts(tmp_path):
    axis, xx, yy = square(1.0)
    inside = metrics_of(tmp_path, 8 * (xx**2 + yy**2), axis, axis)
    assert set(inside.headline.values) >= {"basin_width", "roughness", "n_local_minima_region"}
    assert inside.headline_stable.all()
    assert float(inside.stability_subsample.sel(headline="basin_width")) < 0.2
    # a wide bowl whose low-loss region fills the window: halving the window cuts it
    wide = metrics_of(tmp_path, 0.5 * (xx**2 + yy**2), axis, axis)
    assert int(wide.region_touches_edge) == 1
    for name in ("steepness", "roughness", "nonconvex_fraction", "n_local_minima_region"):
        assert not bool(wide.headline_stable.sel(headline=name))  # the window cuts the region
    assert bool(wide.headline_stable.sel(headline="curvedness_at_minimum"))


@pytest.mark.parametrize("n", [121, 241, 501])
def test_float_noise_threshold_leaves_real_curvature_alone_at_any_resolution(tmp_path, n):
    """At 2.3 nats (chance loss for 10 classes) with the engine's float32 error: a bowl of
    curvature 2 stays a cup, and the Mexican hat's non-convex share stays near 1/2, from
    121 to 501 points per axis."""
    rng = np.random.default_rng(n)

    def noisy(surface):
        noise = 1 + rng.uniform(-4e-7, 4e-7, surface.shape)
        return (surface * noise).astype(np.float32).astype(np.float64)

    axis, xx, yy = square(1.0, n)
    bowl = metrics_of(tmp_path, noisy(2.3 + xx**2 + yy**2), axis, axis)
    assert float(bowl.shape_index_at_minimum) == pytest.approx(-1, abs=0.01)
    assert float(bowl.curvedness_at_minimum) == pytest.approx(2, rel=0.02)
    assert float(bowl.shape_class_fraction.sel(shape_class="cup")) > 0.999  # edge stencils
    axis, xx, yy = square(1.5, n)
    hat = noisy(2.3 + (xx**2 + yy**2 - 1) ** 2)
    share = float(
        metrics_of(tmp_path, hat, axis, axis, "--region-height", "0.25").nonconvex_fraction
    )
    assert share == pytest.approx(0.5, abs=0.06)
