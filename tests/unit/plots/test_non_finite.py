"""Every figure drawn from landscape grids, with NaN, +inf and −inf points and with no finite
point at all: it is written, and the grid minimum is marked on a finite point (issue 21)."""

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from losslandscape.metrics.landscape import landscape_metrics
from losslandscape.plots import across_runs as plot_across_runs
from losslandscape.plots import analysis as plot_analysis
from losslandscape.plots import comparison as plot_comparison
from losslandscape.plots import landscape as plot_landscape
from losslandscape.plots.finite import finite_grid, grid_minimum, positive_range
from tests.unit.plots.test_across_runs import assert_png, landscape, seed_barriers

# the bowl's minimum is at the centre cell (y 3, x 4); each case spoils it, and a corner
CASES = {
    "nan": np.nan,
    "+inf": np.inf,
    "-inf": -np.inf,
}


def spoiled(value: float, everywhere: bool = False):
    ds = landscape(0.0)
    for variable in ("train_loss", "test_loss"):
        grid = ds[variable].values.copy()
        if everywhere:
            grid[:] = value
        else:
            grid[3, 4] = value  # the true minimum
            grid[0, 0] = value
        ds[variable].values = grid
    return ds


def stars(ax) -> list[tuple[float, float]]:
    return [
        (float(np.ravel(line.get_xdata())[0]), float(np.ravel(line.get_ydata())[0]))
        for line in ax.get_lines()
        if line.get_marker() == "*"
    ]


def test_the_helpers_ignore_non_finite_points():
    grid = np.array([[np.nan, 2.0], [np.inf, -np.inf]])
    assert grid_minimum(grid) == (0, 1)
    assert grid_minimum(np.full((2, 2), np.nan)) is None
    np.testing.assert_array_equal(finite_grid(grid), [[2.0, 2.0], [2.0, 2.0]])
    assert positive_range(grid) == (2.0, 2.02)
    assert positive_range(np.full(3, np.nan)) == (1e-3, 1.0)


@pytest.mark.parametrize("case", CASES)
def test_the_loss_map_marks_a_finite_minimum_and_says_what_it_drew(tmp_path, kept, case):
    ds = spoiled(CASES[case])
    out = tmp_path / "map.png"
    plot_landscape.plot_landscape(ds, str(out))
    assert_png(out)
    xs, ys = ds["x"].values, ds["y"].values
    for ax in kept[0].axes[:2]:
        ((x, y),) = stars(ax)
        loss = ds["train_loss"].values if "train" in ax.get_title() else ds["test_loss"].values
        iy, ix = int(np.argmin(np.abs(ys - y))), int(np.argmin(np.abs(xs - x)))
        assert np.isfinite(loss[iy, ix]) and loss[iy, ix] == np.nanmin(
            np.where(np.isfinite(loss), loss, np.nan)
        )
        assert any("2 of 63 points non-finite" in t.get_text() for t in ax.texts)


@pytest.mark.parametrize("case", CASES)
def test_a_slice_with_non_finite_points_is_drawn(tmp_path, case):
    ds = spoiled(CASES[case]).isel(y=[3])
    out = tmp_path / "slice.png"
    plot_landscape.plot_landscape(ds, str(out))
    assert_png(out)


@pytest.mark.parametrize("case", CASES)
def test_the_plane_comparison_marks_finite_minima(tmp_path, kept, case):
    runs = {("relu", 3): spoiled(CASES[case]), ("tanh", 3): landscape(0.0)}
    out = tmp_path / "comparison.png"
    plot_comparison.plot_plane_comparison(runs, ["relu", "tanh"], "train_loss", str(out))
    assert_png(out)
    marked = {ax.get_title(): stars(ax) for ax in kept[0].axes if ax.get_title()}
    assert marked["tanh, seed 3"] == [(0.0, 0.0)]  # the bowl's minimum
    ((x, y),) = marked["relu, seed 3"]  # spoiled there: the next lowest, a finite point
    assert (x, y) != (0.0, 0.0) and np.hypot(x, y) < 0.35
    slices = {key: ds.isel(y=[3]) for key, ds in runs.items()}
    plot_comparison.plot_plane_comparison(slices, ["relu", "tanh"], "train_loss", str(out))
    assert_png(out)


@pytest.mark.parametrize("case", CASES)
def test_the_analysis_figure_is_drawn(tmp_path, kept, case):
    ds = spoiled(CASES[case])
    out = tmp_path / "analysis.png"
    plot_analysis.plot_analysis(ds, landscape_metrics(ds, stability=False), str(out))
    assert_png(out)
    figure = kept[0]
    texts = [ax.get_title() for ax in figure.axes] + [figure.get_suptitle()]
    assert not any("nan" in text for text in texts), texts  # "undefined" where NaN
    assert "2 of 63 grid points non-finite: left out of the metrics" in texts[-1]


@pytest.mark.parametrize("case", CASES)
def test_the_plane_comparison_says_which_points_are_not_finite(tmp_path, kept, case):
    runs = {("relu", 3): spoiled(CASES[case]), ("tanh", 3): landscape(0.0)}
    plot_comparison.plot_plane_comparison(
        runs, ["relu", "tanh"], "train_loss", str(tmp_path / "c.png")
    )
    notes = {ax.get_title(): [t.get_text() for t in ax.texts] for ax in kept[0].axes}
    assert notes["relu, seed 3"] == ["2 of 63 points non-finite, drawn as the highest loss"]
    assert notes["tanh, seed 3"] == []
    slices = {key: ds.isel(y=[3]) for key, ds in runs.items()}
    plot_comparison.plot_plane_comparison(
        slices, ["relu", "tanh"], "train_loss", str(tmp_path / "s.png")
    )
    (axis,) = [ax for ax in kept[1].axes if ax.get_title() == "seed 3"]
    assert [t.get_text() for t in axis.texts] == [
        "relu: 1 of 9 points non-finite, left out of the curve"
    ]


def test_a_comparison_panel_with_no_finite_point_says_so(tmp_path, kept):
    runs = {("relu", 3): spoiled(np.nan, everywhere=True), ("tanh", 3): landscape(0.0)}
    out = str(tmp_path / "c.png")
    plot_comparison.plot_plane_comparison(runs, ["relu", "tanh"], "train_loss", out)
    (relu,) = [ax for ax in kept[0].axes if ax.get_title() == "relu, seed 3"]
    texts = [t.get_text() for t in relu.texts]
    assert texts == ["no finite loss on this grid", "63 of 63 points non-finite, none drawn"]
    assert not relu.collections  # no contours of a made-up value


def test_a_loss_map_with_no_finite_point_says_so_without_a_colour_scale(tmp_path, kept):
    plot_landscape.plot_landscape(spoiled(np.inf, everywhere=True), str(tmp_path / "m.png"))
    train = kept[0].axes[0]
    assert [t.get_text() for t in train.texts][0] == "no finite train loss on this grid"
    assert len(kept[0].axes) == 2  # the two panels, no colour bars


@pytest.mark.parametrize("case", CASES)
def test_a_grid_with_no_finite_point_still_gives_figures(tmp_path, case):
    ds = spoiled(CASES[case], everywhere=True)
    plot_landscape.plot_landscape(ds, str(tmp_path / "map.png"))
    assert_png(tmp_path / "map.png")
    runs = {("relu", 3): ds, ("tanh", 3): landscape(0.0)}
    plot_comparison.plot_plane_comparison(
        runs, ["relu", "tanh"], "train_loss", str(tmp_path / "c.png")
    )
    assert_png(tmp_path / "c.png")


@pytest.mark.parametrize("case", CASES)
def test_a_slice_with_no_finite_point_still_gives_figures(tmp_path, case):
    ds = spoiled(CASES[case], everywhere=True).isel(y=[3])
    plot_landscape.plot_landscape(ds, str(tmp_path / "slice.png"))
    assert_png(tmp_path / "slice.png")
    runs = {("relu", 3): ds, ("tanh", 3): landscape(0.0).isel(y=[3])}
    plot_comparison.plot_plane_comparison(
        runs, ["relu", "tanh"], "train_loss", str(tmp_path / "c.png")
    )
    assert_png(tmp_path / "c.png")


def test_a_panels_notes_do_not_cover_each_other(tmp_path, kept):
    """Non-finite points and a trajectory off the plane: both notes are shown, and no two
    texts of a panel overlap (they had been two boxes drawn over each other)."""
    ds = spoiled(np.nan)
    ds["trajectory_residual"] = ds["trajectory_residual"] * 0 + 10.0  # every checkpoint off
    plot_landscape.plot_landscape(ds, str(tmp_path / "map.png"))
    figure = kept[0]
    renderer = FigureCanvasAgg(figure).get_renderer()
    for ax in figure.axes[:2]:
        text = "\n".join(t.get_text() for t in ax.texts)
        assert "trajectory not drawn: off the plane" in text
        assert "2 of 63 points non-finite" in text
        boxes = [t.get_window_extent(renderer) for t in ax.texts]
        for i, first in enumerate(boxes):
            for second in boxes[i + 1 :]:
                assert not first.overlaps(second), ax.get_title()


@pytest.mark.parametrize("case", CASES)
def test_the_seed_lines_say_which_points_are_not_finite(tmp_path, kept, case):
    """A line through a non-finite point: its barrier is undefined (not "inf nats"), the
    point a gap in the line, and the panel says how many there are."""
    lines = seed_barriers("relu", [0, 1, 2], 0.2)
    lines["train_loss"][1, 5] = CASES[case]
    lines["barrier_height"][1] = np.inf if case != "nan" else np.nan
    plot_across_runs.plot_seed_barriers([lines], ["relu"], tmp_path / "b.png")
    (relu,) = kept[-1].axes
    assert relu.get_title() == "relu: mean barrier undefined: non-finite points"
    legend = [text.get_text() for text in relu.get_legend().get_texts()]
    assert legend[1] == "seed 0 → seed 2 (barrier undefined: non-finite points)"
    assert [t.get_text() for t in relu.texts] == [
        "1 of 33 points non-finite, left out of the lines"
    ]
