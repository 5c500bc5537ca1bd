"""Stages given files that do not belong together (the command line takes any) refuse them
by name before any work: a data set the run was not trained on (another name, more classes
than the model's outputs, inputs of another shape), directions of another model or run, a
landscape of another run or plane (issue 21, case 8's kind)."""

import pytest
import torch

from losslandscape.data.datasets import save_dataset, tensor_checksum
from losslandscape.io.torchfiles import atomic_torch_save
from losslandscape.planes.directions import load_directions
from losslandscape.stages.directions import run_compute_directions
from losslandscape.stages.landscape import run_evaluate_landscape
from losslandscape.stages.seed_barriers import run_interpolate_seeds
from losslandscape.stages.sharpness import run_compute_sharpness, run_hessian_map
from losslandscape.training.checkpoints import save_checkpoints
from losslandscape.training.loop import train_run
from tests.conftest import make_dataset

SETTINGS = {"resolution": 3, "strategy": "point", "device": "cpu"}


def _renamed(dataset: dict, name: str) -> dict:
    renamed = dict(dataset, name=name)
    renamed["sha256"] = tensor_checksum(renamed)
    return renamed


@pytest.fixture
def files(toy_dataset, toy_run, tmp_path) -> dict:
    """The toy run (data set "toy": 4 classes, signals of 40) with its data set, random
    directions and landscape, and three data sets it was not trained on."""
    paths = {name: str(tmp_path / f"{name}.pt") for name in ("dataset", "checkpoints")}
    save_dataset(toy_dataset, paths["dataset"])
    save_checkpoints(toy_run[0], paths["checkpoints"])
    paths["directions"] = str(tmp_path / "random.pt")
    run_compute_directions(paths["checkpoints"], paths["directions"], "random", seed=1)
    paths["landscape"] = str(tmp_path / "random.nc")
    run_evaluate_landscape(
        paths["dataset"], paths["checkpoints"], paths["directions"], paths["landscape"], SETTINGS
    )
    for name, dataset in (
        ("renamed", _renamed(toy_dataset, "mnist1d")),
        ("more_classes", make_dataset(n_classes=6)),
        ("shorter", make_dataset(length=12)),
    ):
        paths[name] = str(tmp_path / f"{name}.pt")
        save_dataset(dataset, paths[name])
    return paths


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("renamed", r"were trained on data set 'toy'; found data set .*\(mnist1d: inputs \[40\]"),
        ("more_classes", r"gives outputs of shape \[4\] per input; .* needs 6 class scores"),
        ("shorter", r"cannot take the inputs of data set .*inputs \[12\], 4 classes"),
    ],
)
def test_every_stage_that_reads_labels_refuses_a_data_set_the_model_cannot_take(
    files, tmp_path, data, expected
):
    named = f"checkpoints {files['checkpoints']}.*{files[data]}"
    given = dict(files, dataset=files[data])
    stages = {
        "landscape": lambda: run_evaluate_landscape(
            given["dataset"], files["checkpoints"], files["directions"], str(tmp_path / "l.nc"),
            SETTINGS,
        ),
        "sharpness": lambda: run_compute_sharpness(
            given["dataset"], files["checkpoints"], str(tmp_path / "s.nc"), subset_size=20
        ),
        "hessian map": lambda: run_hessian_map(
            given["dataset"], files["checkpoints"], files["directions"], files["landscape"],
            str(tmp_path / "h.nc"), points=3, subset_size=20,
        ),
        "seed lines": lambda: run_interpolate_seeds(
            given["dataset"], [files["checkpoints"], files["checkpoints"]], str(tmp_path / "b.nc")
        ),
        "hessian directions": lambda: run_compute_directions(
            files["checkpoints"], str(tmp_path / "h.pt"), "hessian", seed=1,
            dataset=given["dataset"],
        ),
    }  # fmt: skip
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
        match=rf"directions file {other} does not fit the model of checkpoints "
        rf"{files['checkpoints']}: its origin has parameters reshaped \['{name} \[3, 3\]",
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


def test_directions_and_landscapes_of_another_run_are_refused(files, toy_dataset, tmp_path):
    """Another seed of the same architecture: the directions fit the model's shapes but
    are centred on another model; a landscape of another plane or run is not the one the
    hessian map's directions span."""
    other_run, _ = train_run(toy_dataset, "mnist1d_cnn", "relu", 8, 2, 1e-2, batch_size=50)
    other = {"checkpoints": str(tmp_path / "other.pt"), "directions": str(tmp_path / "o.pt")}
    save_checkpoints(other_run, other["checkpoints"])
    run_compute_directions(other["checkpoints"], other["directions"], "random", seed=1)
    with pytest.raises(
        ValueError,
        match=rf"directions file {other['directions']} is centred on none of the \d+ saved "
        rf"weights of checkpoints {files['checkpoints']}",
    ):
        run_evaluate_landscape(
            files["dataset"], files["checkpoints"], other["directions"], str(tmp_path / "l.nc"),
            SETTINGS,
        )  # fmt: skip
    pca = str(tmp_path / "pca.pt")
    run_compute_directions(files["checkpoints"], pca, "pca", seed=1)
    with pytest.raises(
        ValueError,
        match=rf"landscape {files['landscape']} is of relu seed 7, plane random_draw1; checkpoints "
        rf"{files['checkpoints']} and directions {pca} are of relu seed 7, plane pca",
    ):
        run_hessian_map(
            files["dataset"], files["checkpoints"], pca, files["landscape"],
            str(tmp_path / "h.nc"), points=3, subset_size=20,
        )  # fmt: skip
    # the same kind, another draw: another plane (the kind alone had passed)
    draw2 = str(tmp_path / "random_draw2.pt")
    run_compute_directions(files["checkpoints"], draw2, "random_draw2", seed=1)
    with pytest.raises(ValueError, match=r"plane random_draw1; .* plane random_draw2"):
        run_hessian_map(
            files["dataset"], files["checkpoints"], draw2, files["landscape"],
            str(tmp_path / "h.nc"), points=3, subset_size=20,
        )  # fmt: skip
