"""``training.loss``: a run trained on the mean squared error (Li et al.'s softmax against
one-hot labels) records it, and every stage after training measures that loss, in its
units, where a plain loop over the same model agrees."""

import math
from pathlib import Path
from types import SimpleNamespace

import jinja2
import matplotlib.pyplot as plt
import pytest
import torch
import xarray as xr
import yaml
from torch.nn import functional as F

from losslandscape.data.datasets import save_dataset
from losslandscape.engine.loss import LOSSES, MSE
from losslandscape.metrics.sharpness import (
    HessianOperator,
    hessian_extreme_eigenvalues,
    sharpness_subset,
)
from losslandscape.planes.directions import load_directions
from losslandscape.plots.units import in_figure_units
from losslandscape.stages.directions import run_compute_directions
from losslandscape.stages.seed_barriers import run_interpolate_seeds
from losslandscape.stages.sharpness import run_compute_sharpness
from losslandscape.training.checkpoints import (
    model_from_checkpoints,
    run_attrs,
    run_loss,
    save_checkpoints,
)
from losslandscape.training.loop import train_run
from losslandscape.units import LOSS_UNITS, in_loss_units

ROOT = Path(__file__).resolve().parents[3]


def _softmax_mse(model, inputs, labels) -> float:
    """Li et al.'s ``MSELoss()(softmax(outputs), one_hot)``, a plain loop's way."""
    with torch.no_grad():
        probabilities = F.softmax(model(inputs), dim=1)
        hot = F.one_hot(labels, probabilities.shape[1]).float()
        return float(F.mse_loss(probabilities, hot))


@pytest.fixture(scope="module")
def mse_runs(toy_dataset):
    return [
        train_run(toy_dataset, "mlp", "tanh", seed, 3, 1e-2, batch_size=50, loss="mse")
        for seed in (1, 2)
    ]


def test_a_run_trained_on_mse_records_it_and_its_history_measures_it(mse_runs, toy_dataset):
    checkpoints, history = mse_runs[0]
    assert checkpoints["loss"] == "mse" and run_loss(checkpoints) == MSE
    assert run_attrs(checkpoints) | {"loss": "mse", "loss_units": "squared units"} == run_attrs(
        checkpoints
    )
    model = model_from_checkpoints(checkpoints)
    for split in ("train", "test"):
        expected = _softmax_mse(model, toy_dataset[f"x_{split}"], toy_dataset[f"y_{split}"])
        assert history[f"{split}_loss"].iloc[-1] == pytest.approx(expected, rel=1e-5)
    cross_entropy, _ = train_run(toy_dataset, "mlp", "tanh", 1, 3, 1e-2, batch_size=50)
    assert cross_entropy.get("loss") == "cross_entropy"
    assert not torch.equal(
        cross_entropy["state_dicts"][-1]["net.0.weight"],
        checkpoints["state_dicts"][-1]["net.0.weight"],
    )


def test_an_unknown_loss_is_refused(toy_dataset):
    with pytest.raises(
        ValueError, match="loss 'hinge' is unknown; choose one of cross_entropy, mse"
    ):
        train_run(toy_dataset, "mlp", "tanh", 1, 2, 1e-2, loss="hinge")


def test_the_hessian_plane_is_the_runs_loss_hessians(mse_runs, toy_dataset, tmp_path):
    dataset = tmp_path / "data.pt"
    save_dataset(toy_dataset, dataset)
    save_checkpoints(mse_runs[0][0], tmp_path / "run.pt")
    run_compute_directions(str(tmp_path / "run.pt"), str(tmp_path / "hessian.pt"), "hessian",
                           seed=1, dataset=str(dataset), hessian_subset_size=100)  # fmt: skip
    largest, _ = load_directions(tmp_path / "hessian.pt")["metadata"]["eigenvalues"]
    model = model_from_checkpoints(mse_runs[0][0])
    subset = sharpness_subset(len(toy_dataset["y_train"]), 100, 1)
    inputs, labels = toy_dataset["x_train"][subset], toy_dataset["y_train"][subset]
    for loss, equal in ((MSE, True), (None, False)):  # None: cross-entropy
        own, _ = hessian_extreme_eigenvalues(HessianOperator(model, inputs, labels, loss), seed=1)
        assert (own == pytest.approx(largest, rel=1e-4)) == equal


def test_sharpness_and_seed_lines_measure_the_runs_loss(mse_runs, toy_dataset, tmp_path):
    dataset = tmp_path / "data.pt"
    save_dataset(toy_dataset, dataset)
    paths = []
    for index, (checkpoints, _) in enumerate(mse_runs):
        paths.append(tmp_path / f"run{index}.pt")
        save_checkpoints(checkpoints, paths[-1])
    run_compute_sharpness(str(dataset), str(paths[0]), str(tmp_path / "sharp.nc"),
                          subset_size=100, trace_products=6, ascent_iterations=2)  # fmt: skip
    with xr.open_dataset(tmp_path / "sharp.nc") as sharp:
        assert sharp.attrs["loss"] == "mse"
        assert "squared units" in sharp["hessian_max_eigenvalue"].attrs["long_name"]
        assert "nats" not in str(sharp["subset_loss"].attrs)
        assert math.isfinite(float(sharp["hessian_max_eigenvalue"]))
    run_interpolate_seeds(str(dataset), [str(p) for p in paths], str(tmp_path / "line.nc"), 5)
    model = model_from_checkpoints(mse_runs[1][0])
    with xr.open_dataset(tmp_path / "line.nc") as line:
        assert line.attrs["loss_units"] == "squared units"
        end = _softmax_mse(model, toy_dataset["x_train"], toy_dataset["y_train"])
        assert float(line["train_loss"][0, -1]) == pytest.approx(end, rel=1e-5)


class _Anything:
    """A caption's wildcards and params: any name, as text."""

    def __getattr__(self, name: str) -> str:
        return name


def test_every_loss_has_its_units_in_one_place_and_the_report_uses_them():
    assert {name: loss.units for name, loss in LOSSES.items()} == LOSS_UNITS
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    environment = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
    for loss, units in LOSS_UNITS.items():
        config["training"]["loss"] = loss
        for page in sorted((ROOT / "report").glob("*.rst")):
            text = environment.from_string(page.read_text()).render(
                snakemake=SimpleNamespace(
                    config=config, wildcards=_Anything(), params=_Anything(), output=_Anything()
                )
            )
            if loss != "cross_entropy":
                assert "nats" not in text, page.name
            if "{{ units }}" in page.read_text():
                assert units in text, page.name


def test_texts_and_figures_are_put_in_the_losss_units():
    assert in_loss_units("0.1 nats; nats/param²", "squared units") == (
        "0.1 squared units; squared units/param²"
    )
    assert in_loss_units("0.1 nats", "nats") == "0.1 nats"
    fig, ax = plt.subplots()
    ax.set_ylabel("training loss (nats, log scale)")
    ax.set_title("barrier 0.3 nats")
    in_figure_units(fig, "squared units")
    assert ax.get_ylabel() == "training loss (squared units, log scale)"
    assert ax.get_title() == "barrier 0.3 squared units"
    plt.close(fig)
