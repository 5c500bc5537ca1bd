"""The train-mode batch of recomputed BatchNorm statistics: a setting of its own, by default
the run's training batch size, recorded in the landscape (issue 21)."""

from types import SimpleNamespace

from losslandscape.data.datasets import save_dataset
from losslandscape.io.datamodel import read_landscape
from losslandscape.stages.directions import run_compute_directions
from losslandscape.stages.landscape import LandscapeSettings, run_evaluate_landscape
from losslandscape.stages.landscape_plane import batchnorm_batch_size
from losslandscape.training.checkpoints import save_checkpoints


def test_the_batch_is_the_setting_or_the_runs_training_batch(toy_run):
    checkpoints = toy_run[0]
    assert checkpoints["batch_size"] == 50  # what conftest's toy run trained with
    plane = SimpleNamespace(checkpoints=checkpoints)
    assert batchnorm_batch_size(plane, LandscapeSettings()) == 50
    assert batchnorm_batch_size(plane, LandscapeSettings(batchnorm_batch_size=64)) == 64
    older = SimpleNamespace(checkpoints={k: v for k, v in checkpoints.items() if k != "batch_size"})
    assert batchnorm_batch_size(older, LandscapeSettings()) == 100  # training's default


def test_a_landscape_records_the_batch_it_recomputed_statistics_with(
    toy_dataset, toy_run, tmp_path
):
    files = {"dataset": str(tmp_path / "dataset.pt"), "checkpoints": str(tmp_path / "ckpt.pt")}
    save_dataset(toy_dataset, files["dataset"])
    save_checkpoints(toy_run[0], files["checkpoints"])
    directions = str(tmp_path / "random.pt")
    run_compute_directions(files["checkpoints"], directions, "random", seed=5)
    settings = {"resolution": 3, "strategy": "point", "device": "cpu", "batchnorm": "recompute"}
    out = str(tmp_path / "random.nc")
    run_evaluate_landscape(**files, directions=directions, out=out, settings=settings)
    landscape = read_landscape(out)
    assert landscape.attrs["batchnorm"] == "recompute"
    assert landscape.attrs["batchnorm_batch_size"] == 50
