"""Stages given files that do not belong together (the command line takes any) refuse them
by name before any work: a data set with more classes than the model's outputs or inputs of
another shape, directions of another model (issue 21, case 8's kind)."""

import pytest
import torch

from losslandscape.data.datasets import save_dataset
from losslandscape.io.torchfiles import atomic_torch_save
from losslandscape.planes.directions import load_directions
from losslandscape.stages.directions import run_compute_directions
from losslandscape.stages.landscape import run_evaluate_landscape
from losslandscape.stages.seed_barriers import run_interpolate_seeds
from losslandscape.stages.sharpness import run_compute_sharpness
from losslandscape.training.checkpoints import save_checkpoints
from tests.conftest import make_dataset

SETTINGS = {"resolution": 3, "strategy": "point", "device": "cpu"}


@pytest.fixture
def files(toy_dataset, toy_run, tmp_path) -> dict:
    """The toy run (4 classes, signals of 40) with its data set and random directions, and
    two data sets it was not trained on."""
    paths = {name: str(tmp_path / f"{name}.pt") for name in ("dataset", "checkpoints")}
    save_dataset(toy_dataset, paths["dataset"])
    save_checkpoints(toy_run[0], paths["checkpoints"])
    paths["directions"] = str(tmp_path / "random.pt")
    run_compute_directions(paths["checkpoints"], paths["directions"], "random", seed=1)
    for name, dataset in (
        ("more_classes", make_dataset(n_classes=6)),
        ("shorter", make_dataset(length=12)),
    ):
        paths[name] = str(tmp_path / f"{name}.pt")
        save_dataset(dataset, paths[name])
    return paths


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("more_classes", r"gives outputs of shape \[4\] per input; .* needs 6 class scores"),
        ("shorter", r"cannot take the inputs of data set .*inputs \[12\], 4 classes"),
    ],
)
def test_every_stage_that_reads_labels_refuses_a_data_set_the_model_cannot_take(
    files, tmp_path, data, expected
):
    named = f"checkpoints {files['checkpoints']}.*{files[data]}"
    stages = {
        "landscape": lambda: run_evaluate_landscape(
            files[data], files["checkpoints"], files["directions"], str(tmp_path / "l.nc"), SETTINGS
        ),
        "sharpness": lambda: run_compute_sharpness(
            files[data], files["checkpoints"], str(tmp_path / "s.nc"), subset_size=20
        ),
        "seed lines": lambda: run_interpolate_seeds(
            files[data], [files["checkpoints"], files["checkpoints"]], str(tmp_path / "b.nc")
        ),
        "hessian directions": lambda: run_compute_directions(
            files["checkpoints"], str(tmp_path / "h.pt"), "hessian", seed=1, dataset=files[data]
        ),
    }
    for stage, run in stages.items():
        with pytest.raises(ValueError, match=named) as error:
            run()
        assert error.match(expected), stage
    assert not list(tmp_path.glob("[lsbh].*")), "nothing is written"


def test_directions_of_another_model_are_refused_naming_both_files(files, tmp_path):
    directions = load_directions(files["directions"])
    name = next(iter(directions["u"]))
    for key in ("origin", "u", "v"):
        directions[key][name] = torch.zeros(3, 3)  # the same layer at another shape
    other = str(tmp_path / "other.pt")
    atomic_torch_save(directions, other)
    with pytest.raises(
        ValueError,
        match=rf"directions file {other} does not fit the model of "
        rf"checkpoints {files['checkpoints']}: its origin has parameters "
        rf"reshaped \['{name} \[3, 3\]",
    ):
        run_evaluate_landscape(
            files["dataset"], files["checkpoints"], other, str(tmp_path / "l.nc"), SETTINGS
        )
    directions = load_directions(files["directions"])
    del directions["u"][name]
    atomic_torch_save(directions, other)
    with pytest.raises(ValueError, match=rf"its u has parameters missing \['{name}'\]"):
        run_evaluate_landscape(
            files["dataset"], files["checkpoints"], other, str(tmp_path / "l.nc"), SETTINGS
        )
