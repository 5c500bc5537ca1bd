"""Measures across seeds: the plane through three runs' final models, the straight lines
between every pair of them, the lowest passes between the models on a plane grid, and the
study table that gathers them.

Reference tests: the three-seed plane reproduces each run's final weights at its recorded
coordinates; the lines' ends are the runs' own losses (:func:`evaluation.evaluate`) and
their barrier is recomputed from the stored line; the plane barriers of three Gaussian
wells equal :func:`barriers.plane_barriers` and lie between the bounds any path sets.
"""

import numpy as np
import pytest
import torch
import xarray as xr

from losslandscape.data.datasets import load_dataset, save_dataset
from losslandscape.engine.evaluation import evaluate
from losslandscape.io.datamodel import build_landscape, read_landscape, write_landscape
from losslandscape.io.provenance import PYTHON_CALL, provenance_attrs
from losslandscape.metrics.barriers import plane_barriers
from losslandscape.planes.directions import load_directions
from losslandscape.stages.analyze import model_barriers, run_compute_metrics
from losslandscape.stages.directions import direction_kwargs, run_compute_directions
from losslandscape.stages.seed_barriers import interpolated_state, run_interpolate_seeds
from losslandscape.statistics.summary import ACROSS_SEEDS_COLUMNS, across_seeds_table
from losslandscape.training.checkpoints import (
    load_checkpoints,
    model_from_checkpoints,
    save_checkpoints,
)
from losslandscape.training.loop import train_run

SEEDS = (11, 12, 13)
TINY = {"model_name": "mlp", "epochs": 2, "learning_rate": 1e-2, "batch_size": 50}


def _train(dataset: dict, folder, name: str, activation="relu", seed=11, **overrides) -> str:
    """Train a tiny run on ``dataset`` and save its checkpoints as ``<name>.pt``."""
    settings = TINY | {"model_kwargs": {"hidden": [16]}} | overrides
    checkpoints, _ = train_run(dataset, activation=activation, seed=seed, **settings)
    path = str(folder / f"{name}.pt")
    save_checkpoints(checkpoints, path)
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory, toy_dataset) -> dict:
    """The toy data set on disk, three relu runs of one small MLP (``SEEDS``, in seed order),
    and runs that do not belong with them: another model, another width (the same parameter
    names, other shapes) and another activation."""
    folder = tmp_path_factory.mktemp("seeds")
    dataset = str(folder / "dataset.pt")
    save_dataset(toy_dataset, dataset)
    return {
        "dataset": dataset,
        "seeds": [_train(toy_dataset, folder, f"relu_{seed}", seed=seed) for seed in SEEDS],
        "cnn": _train(toy_dataset, folder, "cnn", model_name="mnist1d_cnn", model_kwargs={}),
        "narrower": _train(toy_dataset, folder, "narrower", model_kwargs={"hidden": [8]}),
        "tanh": _train(toy_dataset, folder, "tanh", activation="tanh", epochs=1),
    }


def _final_weights(path: str) -> dict[str, torch.Tensor]:
    ckpt = load_checkpoints(path)
    names = [name for name, _ in model_from_checkpoints(ckpt).named_parameters()]
    return {name: ckpt["state_dicts"][-1][name] for name in names}


# --- the plane through three seeds' final models ------------------------------------------


def test_three_seed_plane_passes_through_each_runs_final_weights(runs, tmp_path):
    """origin + x·u + y·v at the metadata's (point_x[i], point_y[i]) is run i's final model
    (Garipov et al. 2018, §3), for every parameter, to float32 rounding."""
    assert direction_kwargs("three_seed", {}) == {}
    out = tmp_path / "three_seed.pt"
    run_compute_directions(runs["seeds"], str(out), "three_seed", seed=SEEDS[0])
    dirs = load_directions(out)
    meta = dirs["metadata"]
    assert (dirs["plane"], dirs["plane_name"]) == ("three_seed", "three_seed")
    assert meta["seeds"] == list(SEEDS)
    assert meta["point_x"][:2] == [0.0, 1.0] and meta["point_y"] == [0.0, 0.0, 1.0]
    assert meta["normalization"] == "none"
    finals = [_final_weights(path) for path in runs["seeds"]]
    assert list(dirs["origin"]) == list(finals[0])
    for i, final in enumerate(finals):
        x, y = meta["point_x"][i], meta["point_y"][i]
        for name, weight in final.items():
            on_plane = dirs["origin"][name] + x * dirs["u"][name] + y * dirs["v"][name]
            torch.testing.assert_close(on_plane, weight, rtol=1e-5, atol=1e-6, msg=name)
    # u ⟂ v: the third point's x is its projection onto the line through the first two
    flat_u = torch.cat([t.reshape(-1) for t in dirs["u"].values()]).double()
    flat_v = torch.cat([t.reshape(-1) for t in dirs["v"].values()]).double()
    assert abs(float(flat_u @ flat_v)) < 1e-5 * float(flat_u.norm() * flat_v.norm())


def test_three_seed_plane_refuses_a_wrong_count_or_another_model(runs, tmp_path):
    out = str(tmp_path / "d.pt")
    two = runs["seeds"][:2]
    with pytest.raises(
        ValueError, match=r"three_seed: expected the checkpoints of 3 seeds; found 2"
    ):
        run_compute_directions(two, out, "three_seed", seed=SEEDS[0])
    with pytest.raises(ValueError, match="found 4"):
        run_compute_directions([*runs["seeds"], runs["tanh"]], out, "three_seed", seed=SEEDS[0])
    with pytest.raises(ValueError, match=r"cnn\.pt holds another architecture than .*relu_11"):
        run_compute_directions([*two, runs["cnn"]], out, "three_seed", seed=SEEDS[0])


def test_three_seed_plane_refuses_a_model_of_another_width(runs, tmp_path):
    with pytest.raises(ValueError, match="narrower.pt holds another architecture"):
        run_compute_directions(
            [*runs["seeds"][:2], runs["narrower"]], str(tmp_path / "d.pt"), "three_seed", seed=11
        )


# --- the straight lines between seeds -----------------------------------------------------


def test_interpolated_state_has_exact_ends_and_the_mean_halfway():
    gen = torch.Generator().manual_seed(0)
    start = {
        "weight": torch.randn(3, 4, generator=gen),
        "bn.running_var": torch.rand(3, generator=gen) + 0.5,
        "bn.num_batches_tracked": torch.tensor(7),
    }
    end = {
        "weight": torch.randn(3, 4, generator=gen),
        "bn.running_var": torch.rand(3, generator=gen) + 0.5,
        "bn.num_batches_tracked": torch.tensor(40),
    }
    for alpha, expected in ((0.0, start), (1.0, end)):
        state = interpolated_state(start, end, alpha)
        for name in ("weight", "bn.running_var"):
            assert torch.equal(state[name], expected[name]), (alpha, name)
    half = interpolated_state(start, end, 0.5)
    for name in ("weight", "bn.running_var"):
        torch.testing.assert_close(half[name], (start[name] + end[name]) / 2)
    # integer buffers (batch counters) are not interpolated: always the start's
    for alpha in (0.0, 0.5, 1.0):
        counter = interpolated_state(start, end, alpha)["bn.num_batches_tracked"]
        assert counter.dtype == torch.int64 and int(counter) == 7


def test_lines_between_seeds_start_and_end_at_each_runs_own_loss(runs, tmp_path):
    out = tmp_path / "lines.nc"
    run_interpolate_seeds(runs["dataset"], runs["seeds"], str(out), points=5)
    with xr.open_dataset(out) as opened:
        lines = opened.load()
    assert lines.sizes == {"pair": 3, "alpha": 5}
    np.testing.assert_allclose(lines.alpha, np.linspace(0, 1, 5))
    # every pair once, in the order of the files (here seed order)
    assert list(zip(lines.seed_a.values, lines.seed_b.values, strict=True)) == [
        (11, 12),
        (11, 13),
        (12, 13),
    ]
    assert lines.attrs["activation"] == "relu"
    assert lines.attrs["rule"] == PYTHON_CALL  # called here, not by a Snakemake rule
    assert lines.attrs["evaluation_train_samples"] == len(load_dataset(runs["dataset"])["y_train"])
    assert lines.train_loss.attrs["long_name"].endswith("in nats")
    assert lines.train_loss.attrs["units"] == lines.barrier_alpha.attrs["units"] == "1"
    data = load_dataset(runs["dataset"])
    own = {}
    for seed, path in zip(SEEDS, runs["seeds"], strict=True):
        model = model_from_checkpoints(load_checkpoints(path))
        own[seed] = {
            split: evaluate(model, data[f"x_{split}"], data[f"y_{split}"])
            for split in ("train", "test")
        }
    for pair in range(3):
        line = lines.isel(pair=pair)
        a, b = int(line.seed_a), int(line.seed_b)
        for split in ("train", "test"):
            assert float(line[f"{split}_loss"][0]) == pytest.approx(own[a][split][0], rel=1e-9)
            assert float(line[f"{split}_loss"][-1]) == pytest.approx(own[b][split][0], rel=1e-9)
            assert float(line[f"{split}_accuracy"][0]) == own[a][split][1]
            assert float(line[f"{split}_accuracy"][-1]) == own[b][split][1]
        train = line.train_loss.values
        assert float(line.loss_start) == train[0] and float(line.loss_end) == train[-1]
        assert float(line.barrier_height) == pytest.approx(
            train.max() - (train[0] + train[-1]) / 2, abs=1e-12
        )
        assert float(line.barrier_alpha) == float(lines.alpha[np.argmax(train)])
        assert float(line.barrier_height) >= abs(train[-1] - train[0]) / 2


def test_lines_between_seeds_refuse_bad_inputs(runs, tmp_path):
    out, dataset = str(tmp_path / "lines.nc"), runs["dataset"]
    with pytest.raises(ValueError, match="expected 2 or more runs"):
        run_interpolate_seeds(dataset, runs["seeds"][:1], out)
    with pytest.raises(ValueError, match="expected at least 3 points per line; found 2"):
        run_interpolate_seeds(dataset, runs["seeds"], out, points=2)
    with pytest.raises(ValueError, match="several activations"):
        run_interpolate_seeds(dataset, [runs["seeds"][0], runs["tanh"]], out, points=3)
    with pytest.raises(ValueError, match=r"cnn\.pt holds another architecture"):
        run_interpolate_seeds(dataset, [runs["seeds"][0], runs["cnn"]], out, points=3)


def test_lines_between_seeds_refuse_a_model_of_another_width(runs, tmp_path):
    with pytest.raises(ValueError, match="narrower.pt holds another architecture"):
        run_interpolate_seeds(
            runs["dataset"], [runs["seeds"][0], runs["narrower"]], str(tmp_path / "l.nc"), 3
        )


# --- barriers on the plane through three models -------------------------------------------

WELLS = ((0.0, 0.0, 1.0), (1.0, 0.0, 0.8), (0.5, 1.0, 0.6))  # (x, y, depth)
WIDTH = 0.3


def three_wells(resolution: int = 81) -> xr.Dataset:
    """A three-seed landscape: ``L = 1.5 − Σ d·exp(−|p − c|² / (2·0.3²))``, Gaussian wells of
    depths 1, 0.8, 0.6 at the models' points (0, 0), (1, 0), (0.5, 1) (nodes of the grid)."""
    xs = ys = np.linspace(-0.5, 1.5, resolution)
    yy, xx = np.meshgrid(ys, xs, indexing="ij")
    loss = 1.5 - sum(
        depth * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * WIDTH**2)) for x, y, depth in WELLS
    )
    grid = {name: loss for name in ("train_loss", "test_loss")}
    grid |= {name: np.zeros_like(loss) for name in ("train_accuracy", "test_accuracy")}
    grid |= {name: np.zeros_like(loss) for name in ("train_loss_sem", "test_loss_sem")}
    trajectory = {
        name: [0.0]
        for name in ("trajectory_x", "trajectory_y", "trajectory_loss", "trajectory_residual")
    }
    attrs = {
        "activation": "relu",
        "seed": 11,
        "model": "analytic",
        "dataset": "none",
        "plane": "three_seed",
        "plane_name": "three_seed",
        "plane_seeds": list(SEEDS),
        "normalization": "none",
        "three_point_x": [x for x, _, _ in WELLS],
        "three_point_y": [y for _, y, _ in WELLS],
        **provenance_attrs("test", {}),
    }
    return build_landscape(xs, ys, grid, [0], trajectory, attrs)


def test_model_barriers_are_the_lowest_passes_between_the_three_wells(tmp_path):
    path = tmp_path / "three_seed.nc"
    write_landscape(three_wells(), path)
    landscape = read_landscape(path)  # the attrs as the metrics stage sees them
    result = model_barriers(landscape, "train_loss")
    matrix = result["model_barrier"]
    assert matrix.dims == ("model", "model_to") and matrix.attrs["long_name"].endswith("in nats")
    values = matrix.values
    np.testing.assert_array_equal(values, values.T)
    np.testing.assert_array_equal(np.diag(values), 0.0)
    xs, ys, loss = landscape.x.values, landscape.y.values, landscape.train_loss.values
    points = np.array([[x, y] for x, y, _ in WELLS])
    np.testing.assert_array_equal(values, plane_barriers(xs, ys, loss, points))
    pairs = values[np.triu_indices(3, k=1)]
    assert float(result["model_barrier_mean"]) == pytest.approx(pairs.mean())
    assert float(result["model_barrier_max"]) == pairs.max()
    # bounds any path sets: never below half the difference of the ends, never above the
    # barrier along the straight grid row y = 0 between wells 0 and 1
    ix = [int(np.argmin(np.abs(xs - x))) for x, _, _ in WELLS]
    iy = [int(np.argmin(np.abs(ys - y))) for _, y, _ in WELLS]
    own = loss[iy, ix]
    for i, j in ((0, 1), (0, 2), (1, 2)):
        assert values[i, j] >= abs(own[i] - own[j]) / 2 + 1e-3  # separate wells: a real pass
    row = loss[iy[0], ix[0] : ix[1] + 1]
    assert values[0, 1] <= row.max() - (own[0] + own[1]) / 2 + 1e-12


def test_metrics_of_a_three_seed_plane_carry_its_barriers_and_across_seeds_table(tmp_path):
    """The metrics stage adds the barriers to a three-seed plane (not to a random one), and
    the across-seeds table lists every line's barrier and the plane's mean and largest."""
    landscape, metrics = tmp_path / "three_seed.nc", tmp_path / "metrics.nc"
    write_landscape(three_wells(), landscape)
    run_compute_metrics(str(landscape), str(metrics))
    with xr.open_dataset(metrics) as opened:
        plane = opened.load()
    expected = model_barriers(read_landscape(landscape), "train_loss")
    for name, value in expected.items():
        np.testing.assert_array_equal(plane[name].values, value.values, err_msg=name)
    assert list(plane.attrs["plane_seeds"]) == list(SEEDS)
    assert int(plane.n_local_minima) == 3  # one per well

    random_landscape = tmp_path / "random.nc"
    other = three_wells()
    other.attrs |= {"plane": "random", "plane_name": "random_draw1"}
    for key in ("three_point_x", "three_point_y", "plane_seeds"):
        del other.attrs[key]
    write_landscape(other, random_landscape)
    run_compute_metrics(str(random_landscape), str(tmp_path / "random_metrics.nc"))
    with xr.open_dataset(tmp_path / "random_metrics.nc") as opened:
        assert "model_barrier" not in opened

    lines = []
    for activation, heights in (("relu", [0.1, 0.4, 0.7]), ("tanh", [2.0, 3.0, 4.0])):
        lines.append(
            xr.Dataset(
                {"barrier_height": ("pair", heights)},
                coords={"seed_a": ("pair", [11, 11, 12]), "seed_b": ("pair", [12, 13, 13])},
                attrs={"activation": activation},
            )
        )
    table = across_seeds_table([plane], lines)
    assert list(table.columns) == list(ACROSS_SEEDS_COLUMNS)
    assert table[["activation", "kind", "seeds"]].values.tolist() == [
        ["relu", "line", "11-12"],
        ["relu", "line", "11-13"],
        ["relu", "line", "12-13"],
        ["tanh", "line", "11-12"],
        ["tanh", "line", "11-13"],
        ["tanh", "line", "12-13"],
        ["relu", "three_seed", "11-12-13"],
    ]
    assert table["barrier_height"].tolist()[:6] == [0.1, 0.4, 0.7, 2.0, 3.0, 4.0]
    assert table.iloc[:6][["barrier_height_max", "n_local_minima"]].isna().all(axis=None)
    three = table.iloc[6]
    assert three.barrier_height == float(plane.model_barrier_mean)
    assert three.barrier_height_max == float(plane.model_barrier_max)
    assert (three.n_local_minima, three.n_local_minima_region) == (
        3,
        int(plane.n_local_minima_region),
    )
    assert across_seeds_table([], []).columns.tolist() == list(ACROSS_SEEDS_COLUMNS)
