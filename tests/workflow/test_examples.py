"""The example studies of ``config/examples/`` run as a user runs them, each on a clean
copy of the workflow, end to end with a report: a model given by import path on a data
set given by file (``own-model.yaml``), models trained elsewhere
(``external-checkpoints.yaml``, after ``config/examples/train_outside.py``), and the
mean squared error as the loss (``mse.yaml``). Editing the
model's module or the data file reruns what depends on it, and nothing else."""

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
import xarray as xr

from losslandscape.data.datasets import load_dataset
from losslandscape.training.checkpoints import load_checkpoints, model_from_checkpoints
from tests.dry_run import SNAKEMAKE, job_counts
from tests.study import copy_workflow

pytestmark = pytest.mark.workflow

OWN = "config/examples/own-model.yaml"
MSE = "config/examples/mse.yaml"
EXTERNAL = "config/examples/external-checkpoints.yaml"
MODEL_FILE = "config/examples/moons.py"
DATA_FILE = "config/examples/moons.csv"


def _snakemake(workdir: Path, configfile: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [SNAKEMAKE, "--configfile", configfile, *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=1200,
    )


def _run_with_report(workdir: Path, configfile: str) -> Path:
    """The study of ``configfile`` run to the end in ``workdir``, then its report."""
    for args in (("--cores", "2"), ("--report", "report.html")):
        result = _snakemake(workdir, configfile, *args)
        assert result.returncode == 0, result.stderr[-4000:]
    return workdir


def _rules_to_run(workdir: Path, configfile: str) -> dict[str, int]:
    result = _snakemake(workdir, configfile, "-n", "--quiet", "rules")
    assert result.returncode == 0, result.stderr[-3000:]
    return job_counts(result.stdout + result.stderr)


@pytest.fixture(scope="module")
def own_study(tmp_path_factory) -> Path:
    return _run_with_report(copy_workflow(tmp_path_factory.mktemp("own-model")), OWN)


@pytest.fixture(scope="module")
def external_study(tmp_path_factory) -> Path:
    workdir = copy_workflow(tmp_path_factory.mktemp("external"))
    trained = subprocess.run(
        [sys.executable, "config/examples/train_outside.py"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert trained.returncode == 0, trained.stderr[-3000:]
    return _run_with_report(workdir, EXTERNAL)


def _report(workdir: Path) -> str:
    html = (workdir / "report.html").read_text(errors="replace")
    assert len(html) > 100_000
    return html


def test_own_model_and_data_set_run_end_to_end_with_a_report(own_study):
    results = own_study / "results" / "own-model"
    data = load_dataset(results / "data" / "dataset.pt")
    assert data["name"] == "file:moons.csv" and data["n_classes"] == 2
    assert (len(data["y_train"]), len(data["y_test"]), data["input_shape"]) == (300, 200, [2])
    checkpoints = load_checkpoints(results / "train" / "relu" / "seed_42" / "checkpoints.pt")
    assert checkpoints["model_name"] == "config.examples.moons:mlp"
    assert checkpoints["model_kwargs"]["hidden"] == [32, 32]
    model = model_from_checkpoints(checkpoints)
    assert isinstance(model[2], torch.nn.LayerNorm) and isinstance(model[3], torch.nn.ReLU)
    summary = pd.read_csv(results / "metrics" / "summary.csv")
    assert set(summary["activation"]) == {"tanh", "relu"} and summary["seed"].nunique() == 3
    assert summary["final_train_loss"].lt(0.5).all()  # trained: ln 2 = 0.69 at chance
    with xr.open_dataset(results / "landscape" / "tanh" / "seed_42" / "pca.nc") as grid:
        assert grid.attrs["model"] == "config.examples.moons:mlp"
        assert grid.attrs["dataset"] == "file:moons.csv"
    assert "config.examples.moons:mlp" in _report(own_study)


def _edited(path: Path, text: str):
    """Append ``text`` to ``path``; returns a function that restores its content and
    modification time (so that the next dry run sees the file as it was)."""
    original, stat = path.read_bytes(), path.stat()
    with path.open("a") as file:
        file.write(text)

    def restore():
        path.write_bytes(original)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    return restore


def test_editing_the_model_reruns_training_and_what_follows_only(own_study):
    every_rule = set(_rules_to_run_forced(own_study)) - {"all"}
    restore = _edited(own_study / MODEL_FILE, "\n# an edit of the user's model\n")
    try:
        rules = _rules_to_run(own_study, OWN)
    finally:
        restore()
    assert set(rules) - {"all"} == every_rule - {"prepare_dataset"}
    assert rules["train_model"] == 6  # every run
    assert _rules_to_run(own_study, OWN) == {}, "restoring the file reruns nothing"


def test_editing_the_data_file_reruns_everything_from_the_data_set_on(own_study):
    every_rule = set(_rules_to_run_forced(own_study)) - {"all"}
    restore = _edited(own_study / DATA_FILE, "0.1,0.2,1,test\n")
    try:
        rules = _rules_to_run(own_study, OWN)
    finally:
        restore()
    assert set(rules) - {"all"} == every_rule and rules["prepare_dataset"] == 1


def test_editing_a_file_the_model_does_not_import_reruns_nothing(own_study):
    restore = _edited(own_study / "config/examples/train_outside.py", "\n# unrelated\n")
    try:
        assert _rules_to_run(own_study, OWN) == {}
    finally:
        restore()


def _rules_to_run_forced(workdir: Path) -> dict[str, int]:
    result = _snakemake(workdir, OWN, "-n", "--quiet", "rules", "--forceall")
    assert result.returncode == 0, result.stderr[-3000:]
    return job_counts(result.stdout + result.stderr)


def test_models_trained_elsewhere_run_end_to_end_with_a_report(external_study):
    results = external_study / "results" / "external-checkpoints"
    assert not (external_study / "logs" / "external-checkpoints" / "train_model").exists()
    for activation in ("tanh", "relu"):
        for seed in (42, 250, 300):
            run = results / "train" / activation / f"seed_{seed}"
            checkpoints = load_checkpoints(run / "checkpoints.pt")
            given = torch.load(
                external_study / f"resources/examples/moons/{activation}/seed_{seed}.pt",
                weights_only=True,
            )
            assert checkpoints["epochs"] == [0]
            (state,) = checkpoints["state_dicts"]
            assert all(torch.equal(state[name], given[name]) for name in given)
            history = pd.read_csv(run / "history.csv")
            assert len(history) == 1 and history["train_loss"].iloc[0] < 0.5
            assert (results / "metrics" / activation / f"seed_{seed}" / "hessian.nc").exists()
    summary = pd.read_csv(results / "metrics" / "summary.csv")
    assert len(summary) == 6 * 3  # runs × the planes of the per-run summary
    assert (results / "report" / "seed_barriers.png").exists()
    _report(external_study)


def test_an_edited_state_dict_redoes_that_run_only(external_study):
    path = external_study / "resources/examples/moons/relu/seed_250.pt"
    original, stat = path.read_bytes(), path.stat()
    state = torch.load(path, weights_only=True)
    state["4.bias"] = state["4.bias"] + 0.01  # the model trained again, elsewhere
    torch.save(state, path)
    try:
        rules = _rules_to_run(external_study, EXTERNAL)
    finally:
        path.write_bytes(original)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert rules["import_checkpoints"] == 1 and "prepare_dataset" not in rules
    assert _rules_to_run(external_study, EXTERNAL) == {}


@pytest.fixture(scope="module")
def mse_study(tmp_path_factory) -> Path:
    return _run_with_report(copy_workflow(tmp_path_factory.mktemp("mse")), MSE)


def test_a_study_on_the_mean_squared_error_states_every_number_in_its_units(mse_study):
    results = mse_study / "results" / "mse"
    checkpoints = load_checkpoints(results / "train" / "tanh" / "seed_42" / "checkpoints.pt")
    assert checkpoints["loss"] == "mse"
    model = model_from_checkpoints(checkpoints)
    data = load_dataset(results / "data" / "dataset.pt")
    with torch.no_grad():
        probabilities = torch.softmax(model(data["x_train"]), dim=1)
        hot = torch.nn.functional.one_hot(data["y_train"], 2).float()
        expected = float(torch.nn.functional.mse_loss(probabilities, hot))
    history = pd.read_csv(results / "train" / "tanh" / "seed_42" / "history.csv")
    assert history["train_loss"].iloc[-1] == pytest.approx(expected, rel=1e-5)
    with xr.open_dataset(results / "landscape/tanh/seed_42/random_draw1.nc") as grid:
        # the origin is the trained model: the grid's loss there is the history's
        assert float(grid.train_loss.sel(x=0, y=0)) == pytest.approx(expected, rel=1e-5)
    # every file of the study states the loss's units, none cross-entropy's
    for path in sorted(results.rglob("*.nc")):
        with xr.open_dataset(path) as dataset:
            described = str(dataset.attrs) + "".join(
                str(v.attrs) for v in dataset.variables.values()
            )
        assert "nats" not in described and "cross-entropy" not in described, path
        if path.parent.name.startswith("seed_") and path.parts[-4] == "landscape":
            assert "squared units" in described, path
    answer = (results / "statistics" / "answer.rst").read_text()
    assert "squared units" in answer and "nats" not in answer
    with xr.open_dataset(results / "statistics" / "study.nc") as study:
        assert "squared units" in str(study["final_train_loss"].attrs)
    assert "the mse loss" in _report(mse_study)
