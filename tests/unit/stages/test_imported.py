"""Stage import_checkpoints: a model trained outside the workflow becomes a run of one saved
epoch (0) in training's formats. Reference tests: the imported model is the original, bit for
bit; its history row is training's own row for the same weights and a plain cross-entropy
loop's; every file that is not a state dict of the configured model is refused by name."""

import hashlib
import logging
import math
import re

import pandas as pd
import pytest
import torch
import xarray as xr
from torch.nn import functional as F

from losslandscape.data.datasets import save_dataset
from losslandscape.plots import training as plots_training
from losslandscape.plots.training import plot_training_curves, plot_training_curves_per_seed
from losslandscape.stages.imported import run_import_checkpoints
from losslandscape.statistics.summary import SHARPNESS_COLUMNS, run_row
from losslandscape.training.checkpoints import load_checkpoints, model_from_checkpoints
from losslandscape.training.loop import HISTORY_COLUMNS, train_run

MODEL_KWARGS = {"hidden": [16], "leaky_relu_slope": 0.2}
RUN = {"model_name": "mlp", "activation": "leaky_relu", "seed": 3}


@pytest.fixture(scope="module")
def trained(toy_dataset) -> tuple[dict, pd.DataFrame]:
    """Two epochs of a small MLP on the toy data set (4 classes, signals of 40)."""
    return train_run(
        toy_dataset, **RUN, epochs=2, learning_rate=1e-2, batch_size=50, model_kwargs=MODEL_KWARGS
    )


@pytest.fixture
def files(toy_dataset, trained, tmp_path) -> dict:
    """The prepared data set, the trained model's final state dict as a plain file, and the
    paths the stage writes."""
    paths = {
        "dataset": str(tmp_path / "data.pt"),
        "state_dict": str(tmp_path / "elsewhere" / "model.pt"),
        "checkpoints": str(tmp_path / "train" / "checkpoints.pt"),
        "history": str(tmp_path / "train" / "history.csv"),
    }
    save_dataset(toy_dataset, paths["dataset"])
    (tmp_path / "elsewhere").mkdir()
    torch.save(trained[0]["state_dicts"][-1], paths["state_dict"])
    return paths


def _import(files: dict, **changes) -> tuple[dict, pd.DataFrame]:
    arguments = {
        **files,
        **RUN,
        "model_kwargs": MODEL_KWARGS,
        "batch_size": 50,
        "target_loss": None,
        "device": "cpu",
    }
    run_import_checkpoints(**(arguments | changes))
    return load_checkpoints(files["checkpoints"]), pd.read_csv(files["history"])


def _original(trained) -> torch.nn.Module:
    return model_from_checkpoints(trained[0])


@pytest.mark.parametrize("wrapper", [None, "state_dict", "model_state_dict", "model"])
def test_the_imported_run_is_the_original_model_in_trainings_format(
    files, trained, toy_dataset, wrapper, caplog
):
    state = trained[0]["state_dicts"][-1]
    if wrapper is not None:  # a training script's checkpoint: the state dict and more
        torch.save({"epoch": 2, wrapper: state, "note": "trained elsewhere"}, files["state_dict"])
    with caplog.at_level(logging.INFO):
        checkpoints, history = _import(files)
    said = "the file is the state dict" if wrapper is None else f"its entry {wrapper!r}"
    assert said in caplog.text and files["state_dict"] in caplog.text

    assert checkpoints["epochs"] == [0] and checkpoints["diverged_epoch"] == -1
    assert checkpoints["batch_size"] == 50 and checkpoints["dataset"] == "toy"
    # everything a trained run records about its model and data is the same
    for key in ("format_version", "model_name", "model_kwargs", "activation", "seed"):
        assert checkpoints[key] == trained[0][key], key
    with open(files["state_dict"], "rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()
    assert checkpoints["external"] == {"path": files["state_dict"], "sha256": digest}
    (imported,) = checkpoints["state_dicts"]
    assert list(imported) == list(state)  # the model's own key order
    assert all(torch.equal(imported[k], state[k]) for k in state)
    assert all(t.device.type == "cpu" and t.dtype == state[k].dtype for k, t in imported.items())

    inputs = toy_dataset["x_test"]
    with torch.no_grad():
        assert torch.equal(model_from_checkpoints(checkpoints)(inputs), _original(trained)(inputs))
    # the row training wrote after its last epoch, measured the same way
    assert list(history.columns) == HISTORY_COLUMNS and len(history) == 1
    row, last = history.iloc[0], trained[1].iloc[-1]
    assert row["epoch"] == 0 and row["diverged"] == 0 and row["reached_target"] == 0
    for column in ("train_loss", "train_accuracy", "test_loss", "test_accuracy"):
        assert row[column] == pytest.approx(last[column], rel=1e-15), column
    assert math.isnan(row["learning_rate"]) and row["seconds"] >= 0


def test_history_is_a_plain_cross_entropy_loop_over_each_split(files, trained, toy_dataset):
    _, history = _import(files)
    model = _original(trained).eval()
    for split in ("train", "test"):
        inputs, labels = toy_dataset[f"x_{split}"], toy_dataset[f"y_{split}"]
        total, correct = 0.0, 0
        with torch.no_grad():
            for i in range(len(inputs)):
                logits = model(inputs[i : i + 1])
                total += float(F.cross_entropy(logits, labels[i : i + 1]))
                correct += int(logits.argmax(1) == labels[i])
        assert history[f"{split}_loss"].iloc[0] == pytest.approx(total / len(inputs), rel=1e-6)
        assert history[f"{split}_accuracy"].iloc[0] == correct / len(inputs)


@pytest.mark.parametrize(("margin", "epoch", "reached"), [(1e-3, 0, 1), (-1e-3, -1, 0)])
def test_the_target_is_reached_at_epoch_0_or_not_at_all(files, trained, margin, epoch, reached):
    target = float(trained[1]["train_loss"].iloc[-1]) + margin
    checkpoints, history = _import(files, target_loss=target)
    assert checkpoints["target_loss"] == target and checkpoints["target_epoch"] == epoch
    assert history["reached_target"].tolist() == [reached]


def test_weights_of_another_dtype_take_the_models(files, trained, caplog):
    state = trained[0]["state_dicts"][-1]
    torch.save({k: v.double() for k, v in state.items()}, files["state_dict"])
    with caplog.at_level(logging.WARNING):
        checkpoints, _ = _import(files)
    assert "converted 4 tensors" in caplog.text and "torch.float64 → torch.float32" in caplog.text
    assert all(t.dtype == torch.float32 for t in checkpoints["state_dicts"][0].values())


def _mismatched(state: dict, case: str) -> dict:
    if case == "missing":
        return {k: v for k, v in state.items() if k != "net.2.bias"}
    if case == "unexpected":
        return {**state, "net.3.weight": torch.zeros(4, 4)}
    if case == "reshaped":
        return {**state, "net.0.weight": torch.zeros(8, 40)}
    return {f"module.{k}": v for k, v in state.items()}  # a DataParallel model's


@pytest.mark.parametrize(
    ("case", "found"),
    [
        ("missing", r"missing \['net.2.bias'\]"),
        ("unexpected", r"unexpected \['net.3.weight'\]"),
        ("reshaped", r"reshaped \['net.0.weight \[8, 40\] \(model: \[16, 40\]\)'\]"),
        ("prefixed", r"missing \['net.0.weight', .*\(every name starts with 'module\.'"),
    ],
)
def test_a_state_dict_of_another_architecture_is_refused_by_name(files, trained, case, found):
    torch.save(_mismatched(trained[0]["state_dicts"][-1], case), files["state_dict"])
    named = rf"state dict {re.escape(files['state_dict'])} does not fit model 'mlp'"
    with pytest.raises(ValueError, match=rf"{named} with activation 'leaky_relu'.*: {found}"):
        _import(files)


@pytest.mark.parametrize(
    ("content", "found"),
    [
        ([torch.zeros(3)], r"found a list"),
        ({"epoch": 2, "weights": {}}, r"found a dict of 2 entries \{'epoch': int, 'weights': dict"),
        (torch.nn.Linear(2, 2), r"cannot be read with torch.load\(weights_only=True\).*pickled"),
    ],
)
def test_a_file_that_is_no_state_dict_is_refused_by_name(files, content, found):
    torch.save(content, files["state_dict"])
    named = rf"state dict {re.escape(files['state_dict'])}"
    with pytest.raises(ValueError, match=rf"{named}: .*{found}"):
        _import(files)


def test_a_missing_file_and_non_finite_weights_are_refused_by_name(files, trained, tmp_path):
    absent = str(tmp_path / "absent.pt")
    with pytest.raises(FileNotFoundError, match=rf"state dict {re.escape(absent)}: no such file"):
        _import(files, state_dict=absent)
    state = dict(trained[0]["state_dicts"][-1])
    state["net.2.weight"] = state["net.2.weight"].clone()
    state["net.2.weight"][1, 3] = float("nan")
    torch.save(state, files["state_dict"])
    with pytest.raises(ValueError, match=r"tensor 'net.2.weight' \[4, 16\] has 1 of 64 entries"):
        _import(files)


def test_an_imported_run_reads_as_a_finished_run_downstream(files, tmp_path, monkeypatch):
    """The summary calls it neither diverged nor trained (epochs 0); the training-curve
    figures draw its one epoch as markers (a line through one point is invisible)."""
    checkpoints, history = _import(files)
    metrics = xr.Dataset(attrs={"activation": "leaky_relu", "seed": 3, "plane": "random"})
    sharpness = xr.Dataset({name: 1.0 for name in SHARPNESS_COLUMNS})
    row = run_row(metrics, history, sharpness, target_loss=10.0)
    assert row["diverged_epoch"] == -1 and row["epochs"] == 0
    assert row["target_epoch"] == 0 and row["reached_target"] == 1
    assert row["final_train_loss"] == history["train_loss"].iloc[0]

    table = pd.concat(
        [history.assign(activation="leaky_relu", seed=seed) for seed in (3, 4)], ignore_index=True
    )
    figures = []
    monkeypatch.setattr(plots_training, "save_figure", lambda fig, path, dpi: figures.append(fig))
    plot_training_curves(table, ["leaky_relu"], str(tmp_path / "curves.png"))
    plot_training_curves_per_seed(table, ["leaky_relu"], str(tmp_path / "per_seed.png"))
    for fig in figures:
        drawn = [line for ax in fig.axes for line in ax.lines if len(line.get_xdata()) > 0]
        assert drawn and all(line.get_marker() not in ("None", "", None) for line in drawn)
    assert "Imported models" in figures[0].texts[0].get_text()


def test_the_command_imports_as_the_workflow_does(files, trained):
    """``import-checkpoints`` on the command line: the slope joins the model's arguments."""
    from losslandscape.cli import main
    from losslandscape.settings import DEFAULTS

    main(
        ["import-checkpoints", "--state-dict", files["state_dict"], "--dataset", files["dataset"]]
        + ["--model", "mlp", "--model-kwargs", '{"hidden": [16]}', "--leaky-relu-slope", "0.2"]
        + ["--activation", "leaky_relu", "--seed", "3", "--device", "cpu"]
        + ["--checkpoints", files["checkpoints"], "--history", files["history"]]
    )
    checkpoints = load_checkpoints(files["checkpoints"])
    assert checkpoints["model_kwargs"] == trained[0]["model_kwargs"]
    assert checkpoints["target_loss"] == DEFAULTS.training.target_loss  # the config's
    assert checkpoints["batch_size"] == DEFAULTS.training.batch_size
