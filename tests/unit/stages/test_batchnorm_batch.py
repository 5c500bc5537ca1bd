"""The train-mode batch of recomputed BatchNorm statistics: a setting of its own, by default
the run's training batch size, recorded in the landscape only where statistics were
recomputed (issue 21, case 4)."""

import numpy as np
import pytest

from losslandscape.data.datasets import save_dataset, tensor_checksum
from losslandscape.io.datamodel import read_landscape
from losslandscape.stages.directions import run_compute_directions
from losslandscape.stages.landscape import run_evaluate_landscape
from losslandscape.training.checkpoints import save_checkpoints
from losslandscape.training.loop import train_run
from tests.conftest import make_dataset

SETTINGS = {"resolution": 3, "strategy": "point", "device": "cpu", "batchnorm_samples": 60}


@pytest.fixture(scope="module")
def images() -> dict:
    """Grey 8×8 images of 4 classes (the toy signals of 64 values, reshaped)."""
    dataset = make_dataset(n_train=120, n_test=40, length=64)
    for split in ("train", "test"):
        dataset[f"x_{split}"] = dataset[f"x_{split}"].reshape(-1, 8, 8)
    dataset["input_shape"] = [8, 8]
    dataset["sha256"] = tensor_checksum(dataset)
    return dataset


@pytest.fixture(scope="module")
def batchnorm_run(images) -> dict:
    """A ResNet-20 (BatchNorm after every convolution) trained one epoch in batches of 30."""
    checkpoints, _ = train_run(images, "resnet20", "relu", 1, 1, 1e-2, batch_size=30)
    return checkpoints


def _landscape(tmp_path, dataset, checkpoints, name, **settings):
    files = {"dataset": str(tmp_path / "dataset.pt"), "checkpoints": str(tmp_path / f"{name}.pt")}
    save_dataset(dataset, files["dataset"])
    save_checkpoints(checkpoints, files["checkpoints"])
    directions = str(tmp_path / f"{name}_random.pt")
    run_compute_directions(files["checkpoints"], directions, "random", seed=5)
    out = str(tmp_path / f"{name}.nc")
    run_evaluate_landscape(**files, directions=directions, out=out, settings=SETTINGS | settings)
    return read_landscape(out)


def test_statistics_are_recomputed_in_the_runs_training_batches(images, batchnorm_run, tmp_path):
    assert batchnorm_run["batch_size"] == 30
    default = _landscape(tmp_path, images, batchnorm_run, "a", batchnorm="recompute")
    assert default.attrs["batchnorm_batch_size"] == 30
    assert default.attrs["batchnorm_train_samples"] == 60  # batchnorm_samples
    larger = _landscape(
        tmp_path, images, batchnorm_run, "e", batchnorm="recompute", batchnorm_samples=10_000
    )
    assert larger.attrs["batchnorm_train_samples"] == 120  # the whole training split
    stated = _landscape(
        tmp_path, images, batchnorm_run, "b", batchnorm="recompute", batchnorm_batch_size=30
    )
    np.testing.assert_array_equal(stated.train_loss, default.train_loss)
    other = _landscape(
        tmp_path, images, batchnorm_run, "c", batchnorm="recompute", batchnorm_batch_size=6
    )
    assert other.attrs["batchnorm_batch_size"] == 6
    assert np.abs(other.train_loss - default.train_loss).max() > 1e-5  # deeper layers differ
    kept = _landscape(tmp_path, images, batchnorm_run, "d", batchnorm="keep")
    assert kept.attrs["batchnorm_batch_size"] == kept.attrs["batchnorm_train_samples"] == -1
    assert kept.attrs["batch_size"] == 1000  # what ran (strategy point), recorded too


def test_nothing_is_recorded_as_recomputed_on_a_model_without_batchnorm(
    toy_dataset, toy_run, tmp_path
):
    landscape = _landscape(tmp_path, toy_dataset, toy_run[0], "toy", batchnorm="recompute")
    assert landscape.attrs["batchnorm_batch_size"] == -1


def test_older_checkpoints_need_the_batch_stated(images, batchnorm_run, tmp_path):
    older = {k: v for k, v in batchnorm_run.items() if k != "batch_size"}
    with pytest.raises(ValueError, match=r"checkpoints .*older\.pt do not record it"):
        _landscape(tmp_path, images, older, "older", batchnorm="recompute")
    stated = _landscape(
        tmp_path, images, older, "older", batchnorm="recompute", batchnorm_batch_size=30
    )
    assert stated.attrs["batchnorm_batch_size"] == 30
