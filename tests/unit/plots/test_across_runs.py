"""Figures across runs (basin width over training, seed barriers) and the landscape map's
trajectory and plane labels, on small synthetic inputs: each writes a non-empty PNG, and
draws what the data says (no trajectory off the plane, hollow markers for lower bounds)."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from losslandscape.io import cf
from losslandscape.io.datamodel import build_landscape, write_netcdf
from losslandscape.io.provenance import provenance_attrs
from losslandscape.plots import across_runs as plot_across_runs
from losslandscape.plots import landscape as plot_landscape
from losslandscape.stages import figures

ACTIVATIONS = ["relu", "tanh"]


def assert_png(path) -> None:
    assert path.exists() and path.stat().st_size > 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def landscape(residual: float, plane: str = "random", **attrs) -> xr.Dataset:
    """A bowl on [-1, 1]² with a three-checkpoint trajectory ending at the origin (the
    trained model, on the plane: residual 0), the earlier checkpoints' relative off-plane
    distance ``residual``."""
    xs, ys = np.linspace(-1, 1, 9), np.linspace(-1, 1, 7)
    yy, xx = np.meshgrid(ys, xs, indexing="ij")
    loss = xx**2 + yy**2 + 0.1
    grid = {
        "train_loss": loss,
        "test_loss": loss + 0.2,
        "train_accuracy": np.exp(-loss),
        "test_accuracy": np.exp(-loss - 0.2),
        "train_loss_sem": 0.01 * loss,
        "test_loss_sem": 0.01 * loss,
    }
    trajectory = {
        "trajectory_x": [-0.8, -0.3, 0.0],
        "trajectory_y": [0.6, 0.2, 0.0],
        "trajectory_loss": [2.0, 1.0, 0.1],
        "trajectory_residual": [residual, residual, 0.0],
    }
    base = {
        "activation": "relu",
        "seed": 3,
        "model": "mlp",
        "dataset": "toy",
        "plane": plane,
        "normalization": "filter",
        **provenance_attrs("test", {}),
    }
    return build_landscape(xs, ys, grid, [0, 5, 10], trajectory, base | attrs)


def labels(ax) -> list[str]:
    return [line.get_label() for line in ax.get_lines()]


def texts(ax) -> list[str]:
    return [text.get_text() for text in ax.texts]


def test_trajectory_off_the_plane_is_not_drawn(tmp_path, kept):
    """Residuals of 1 but at the origin (a random plane): no trajectory line nor legend
    entry, a note instead; the trained model is still marked."""
    path = tmp_path / "random.png"
    plot_landscape.plot_landscape(landscape(1.0, plane_name="random_draw2", draw=2), path)
    assert_png(path)
    fig = kept[-1]
    panels = [ax for ax in fig.axes if ax.get_title() in ("train loss", "test loss")]
    assert len(panels) == 2
    for ax in panels:
        assert "training trajectory" not in labels(ax)
        assert "trained model" in labels(ax)
        assert any("trajectory not drawn: off the plane" in text for text in texts(ax))
    legend = [text.get_text() for text in fig.axes[0].get_legend().get_texts()]
    assert "training trajectory" not in legend and "trained model" in legend
    assert "random_draw2 plane" in fig._suptitle.get_text()


def test_trajectory_near_the_plane_is_drawn(tmp_path, kept):
    path = tmp_path / "pca.png"
    plot_landscape.plot_landscape(
        landscape(0.1, plane="pca", explained_variance_ratio=[0.7, 0.2]), path
    )
    assert_png(path)
    ax = kept[-1].axes[0]
    assert labels(ax).count("training trajectory") == 1
    assert not any("not drawn" in text for text in texts(ax))
    (trajectory,) = [line for line in ax.get_lines() if line.get_label() == "training trajectory"]
    np.testing.assert_allclose(trajectory.get_xdata(), [-0.8, -0.3, 0.0])


def test_only_checkpoints_near_the_plane_are_drawn(tmp_path, kept):
    """The residual threshold is 0.5: a checkpoint at 0.9 is left out, one at 0.4 drawn."""
    ds = landscape(0.1)
    ds["trajectory_residual"].values[:] = [0.9, 0.4, 0.0]
    plot_landscape.plot_landscape(ds, tmp_path / "mixed.png")
    (trajectory,) = [
        line for line in kept[-1].axes[0].get_lines() if line.get_label() == "training trajectory"
    ]
    x = np.asarray(trajectory.get_xdata(), dtype=float)
    assert np.isnan(x[0]) and np.allclose(x[1:], [-0.3, 0.0])
    assert "1 of 3 checkpoints off the plane, not drawn" in texts(kept[-1].axes[0])


def test_three_seed_plane_labels_its_models_by_seed(tmp_path, kept):
    ds = landscape(
        0.0,
        plane="three_seed",
        plane_name="three_seed",
        plane_seeds=[3, 4, 5],
        three_point_x=[0.0, 1.0, 0.4],
        three_point_y=[0.0, 0.0, 0.9],
    )
    plot_landscape.plot_landscape(ds, tmp_path / "three_seed.png")
    assert_png(tmp_path / "three_seed.png")
    assert {"seed 3", "seed 4", "seed 5"} <= set(texts(kept[-1].axes[0]))


def test_three_point_plane_labels_its_models_by_epoch(tmp_path, kept):
    ds = landscape(
        0.0,
        plane="three_point",
        three_point_epochs=[0, 5, 10],
        three_point_x=[0.0, 1.0, 0.4],
        three_point_y=[0.0, 0.0, 0.9],
    )
    plot_landscape.plot_landscape(ds, tmp_path / "three_point.png")
    assert {"epoch 0", "epoch 5", "epoch 10"} <= set(texts(kept[-1].axes[0]))


def test_title_names_the_plane_and_its_centre_epoch(tmp_path, kept):
    ds = landscape(0.2, plane="narrow", plane_name="narrow_draw1_epoch5", centre_epoch=5)
    plot_landscape.plot_landscape(ds, tmp_path / "narrow.png")
    assert "narrow_draw1_epoch5 plane around epoch 5" in kept[-1]._suptitle.get_text()


def test_slices_still_plot(tmp_path, kept):
    xs = np.linspace(-0.25, 1.25, 13)
    loss = (xs * (1 - xs) + 0.1)[None, :]
    grid = {
        "train_loss": loss,
        "test_loss": loss + 0.1,
        "train_accuracy": np.full_like(loss, 0.5),
        "test_accuracy": np.full_like(loss, 0.4),
        "train_loss_sem": 0.01 * loss,
        "test_loss_sem": 0.01 * loss,
    }
    trajectory = {
        "trajectory_x": [0.0, 1.0],
        "trajectory_y": [0.0, 0.0],
        "trajectory_loss": [0.5, 0.1],
        "trajectory_residual": [0.0, 0.0],
    }
    attrs = {
        "activation": "relu",
        "seed": 3,
        "model": "mlp",
        "dataset": "toy",
        "plane": "interpolation",
        "plane_name": "interpolation",
        "interpolation_epochs": [5, 10],
        "normalization": "none",
        **provenance_attrs("test", {}),
    }
    path = tmp_path / "slice.png"
    plot_landscape.plot_landscape(
        build_landscape(xs, [0.0], grid, [5, 10], trajectory, attrs), path
    )
    assert_png(path)
    assert "interpolation slice" in kept[-1]._suptitle.get_text()


def width_table(lower_bound: bool) -> pd.DataFrame:
    rows = []
    for activation, scale in (("relu", 1.0), ("tanh", 0.5)):
        for seed in (0, 1):
            for epoch in (2, 5, 10):
                rows.append(
                    {
                        "activation": activation,
                        "seed": seed,
                        "epoch": epoch,
                        "train_loss": 2.0 / epoch,
                        "basin_level": 0.1,
                        "basin_width": scale * (1 + 0.1 * epoch + 0.05 * seed),
                        "basin_touches_edge": int(lower_bound and epoch == 2),
                        "n_local_minima_region": 1,
                    }
                )
    return pd.DataFrame(rows)


@pytest.mark.parametrize("lower_bound", [True, False])
def test_width_over_training(tmp_path, kept, lower_bound):
    """Hollow markers (and their legend entry) exactly where a width is a lower bound; one
    thick mean line per activation; the level in the y label; loss on a log axis."""
    path = tmp_path / "width.png"
    plot_across_runs.plot_width_over_training(width_table(lower_bound), ACTIVATIONS, path)
    assert_png(path)
    ax_width, ax_loss = kept[-1].axes
    legend = [text.get_text() for text in ax_width.get_legend().get_texts()]
    assert (plot_across_runs.LOWER_BOUND_LABEL in legend) == lower_bound
    assert "relu (mean of 2 seeds)" in legend and "tanh (mean of 2 seeds)" in legend
    hollow = [
        line
        for line in ax_width.get_lines()
        if line.get_marker() == "o"
        and line.get_markerfacecolor() == "none"
        and len(line.get_xdata())
    ]
    assert len(hollow) == (4 if lower_bound else 0)  # one per run, at epoch 2
    assert all(list(line.get_xdata()) == [2] for line in hollow)
    assert "0.1 nats above the minimum" in ax_width.get_ylabel()
    assert ax_loss.get_yscale() == "log"
    assert len(ax_loss.get_lines()) == 4  # one per run


def test_width_over_training_names_missing_columns(tmp_path):
    with pytest.raises(ValueError, match="basin_touches_edge"):
        plot_across_runs.plot_width_over_training(
            width_table(False).drop(columns="basin_touches_edge"), ACTIVATIONS, tmp_path / "w.png"
        )


def seed_barriers(activation: str, seeds: list[int], bump: float) -> xr.Dataset:
    """Lines between every pair of ``seeds``: ends at 0.1 nats, a bump of ``bump`` nats
    times the pair's index + 1 at α = 0.5."""
    alphas = np.linspace(0, 1, 11)
    pairs = [(a, b) for i, a in enumerate(seeds) for b in seeds[i + 1 :]]
    heights = bump * (1 + np.arange(len(pairs)))
    train = 0.1 + heights[:, None] * np.sin(np.pi * alphas)[None, :]
    return xr.Dataset(
        {
            "train_loss": (("pair", "alpha"), train, cf.quantity("train loss", "nats")),
            "test_loss": (("pair", "alpha"), train + 0.1, cf.quantity("test loss", "nats")),
            "barrier_height": ("pair", heights, cf.quantity("barrier", "nats")),
        },
        coords={
            "alpha": ("alpha", alphas, {"long_name": "position on the line", "units": "1"}),
            "seed_a": ("pair", [a for a, _ in pairs]),
            "seed_b": ("pair", [b for _, b in pairs]),
        },
        attrs={"activation": activation},
    )


def test_seed_barriers(tmp_path, kept):
    """Panels in the order of ``activations`` whatever the datasets' order, a labelled line
    per pair, the mean barrier in the title, a shared log y axis."""
    path = tmp_path / "barriers.png"
    barriers = [seed_barriers("tanh", [0, 1], 0.5), seed_barriers("relu", [0, 1, 2], 0.2)]
    plot_across_runs.plot_seed_barriers(barriers, ACTIVATIONS, path)
    assert_png(path)
    relu, tanh = kept[-1].axes
    assert relu.get_title() == "relu: mean barrier 0.4 nats"  # (0.2 + 0.4 + 0.6) / 3
    assert tanh.get_title() == "tanh: mean barrier 0.5 nats"
    assert labels(relu) == [
        "seed 0 → seed 1 (barrier 0.2 nats)",
        "seed 0 → seed 2 (barrier 0.4 nats)",
        "seed 1 → seed 2 (barrier 0.6 nats)",
    ]
    assert relu.get_yscale() == "log" and relu.get_shared_y_axes().joined(relu, tanh)


def test_seed_barriers_rejects_an_unlisted_activation(tmp_path):
    with pytest.raises(ValueError, match="'gelu' is not one of relu, tanh"):
        plot_across_runs.plot_seed_barriers(
            [seed_barriers("gelu", [0, 1], 0.1)], ACTIVATIONS, tmp_path / "b.png"
        )


def test_figure_stages_read_their_files(tmp_path):
    """The stages read the CSV and the netCDF files they are given and write the PNGs."""
    table = tmp_path / "width.csv"
    width_table(True).to_csv(table, index=False)
    figures.run_plot_width_over_training(str(table), ACTIVATIONS, str(tmp_path / "width.png"))
    assert_png(tmp_path / "width.png")
    paths = []
    for activation in ACTIVATIONS:
        paths.append(str(tmp_path / f"{activation}.nc"))
        write_netcdf(seed_barriers(activation, [0, 1, 2], 0.3), paths[-1])
    figures.run_plot_seed_barriers(paths, ACTIVATIONS, str(tmp_path / "barriers.png"))
    assert_png(tmp_path / "barriers.png")


def test_late_checkpoints_near_the_model_are_drawn_on_an_orthonormal_plane(tmp_path, kept):
    """On a PCA plane (orthonormal directions) a late checkpoint near the model has a large
    residual over its own small distance, yet lies close to the plane on the trajectory's
    scale: it is drawn; one far off the plane on that scale is not, and a note counts it."""
    ds = landscape(0.1, plane="pca", explained_variance_ratio=[0.7, 0.2])
    ds.attrs["normalization"] = "unit"
    # off the plane, over the largest distance (1.25): checkpoint 0 at 0.6 (0.75 of its own
    # 1.25), checkpoint 1 at 0.6 (0.9 of its own 0.83): both beyond half, neither drawn
    ds["trajectory_residual"].values[:] = [0.6, 0.9, 0.0]
    plot_landscape.plot_landscape(ds, tmp_path / "pca.png")
    ax = kept[-1].axes[0]
    assert "training trajectory" not in labels(ax)
    assert any("trajectory not drawn: off the plane" in text for text in texts(ax))
    # 0.2 and 0.7 of their own distances are 0.2 and 0.35 of the largest: both drawn
    ds["trajectory_residual"].values[:] = [0.2, 0.7, 0.0]
    plot_landscape.plot_landscape(ds, tmp_path / "pca2.png")
    ax = kept[-1].axes[0]
    (trajectory,) = [line for line in ax.get_lines() if line.get_label() == "training trajectory"]
    np.testing.assert_allclose(trajectory.get_xdata(), [-0.8, -0.3, 0.0])
    assert not any("not drawn" in text for text in texts(ax))
