"""auto: layouts, batch sizes and strategies chosen by measurement."""

import json

import numpy as np
import pytest
import torch
from torch import nn

from losslandscape.engine import autotune
from losslandscape.engine.autotune import EVALUATION_ATTRS, batch_candidates, choose_evaluation
from losslandscape.engine.grid import evaluate_grid, evaluate_grid_reference
from losslandscape.engine.strategies import LAYOUTS, EvaluationOptions, evaluate_points
from losslandscape.training.checkpoints import model_from_checkpoints
from tests.planes import random_plane


@pytest.fixture(autouse=True)
def fresh_measurements(monkeypatch):
    """Each test measures for itself: no choice remembered from another test; and in full,
    however slow the machine (the search's time limit has a test of its own)."""
    monkeypatch.setattr(autotune, "_CHOICES", {})
    monkeypatch.setattr(autotune, "MEASURE_FLOOR_SECONDS", 1e9)


def _splits(dataset):
    return {
        "train": (dataset["x_train"], dataset["y_train"]),
        "test": (dataset["x_test"], dataset["y_test"]),
    }


class _DigitsNet(nn.Module):
    """A user's own small model: Conv2d, GELU and LayerNorm on 8×8 images (issue 23)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1)
        self.norm = nn.LayerNorm([8, 8, 8])
        self.head = nn.Linear(8 * 8 * 8, 10)

    def forward(self, images):
        return self.head(torch.flatten(nn.functional.gelu(self.norm(self.conv(images))), 1))


def _digits_splits(n=300):
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(n, 1, 8, 8, generator=generator)
    labels = torch.randint(0, 10, (n,), generator=generator)
    return {
        "train": (images[: n // 2], labels[: n // 2]),
        "test": (images[n // 2 :], labels[n // 2 :]),
    }


def test_batch_candidates_halve_down_to_the_smallest():
    assert batch_candidates(1000) == [1000, 500, 250, 125]
    assert batch_candidates(128) == [128]
    assert batch_candidates(50) == [50]


def test_auto_measures_the_plain_pass_and_keeps_the_fastest(toy_run, toy_dataset):
    """The mnist1d CNN has convolutions: given the time, both layouts are measured at every
    batch size, the plain pass (default layout, the requested batch) among them; the choice
    is the fastest of all, and its attributes are netCDF-ready."""
    model = model_from_checkpoints(toy_run[0])
    options = EvaluationOptions(batch_size=200)
    choice = choose_evaluation(model, *random_plane(model), _splits(toy_dataset), options, 50)
    measured = {tuple(label.split("/")) for label in choice.rates}
    assert {("point", layout, str(b)) for layout in LAYOUTS for b in (200, 100)} <= measured
    assert any(label.startswith("vmap/") for label in choice.rates)
    best = max(choice.rates, key=choice.rates.get)
    assert best == f"{choice.strategy}/{choice.options.layout}/{choice.options.batch_size}"
    attrs = choice.attrs()
    assert set(attrs) == set(EVALUATION_ATTRS)
    assert all(isinstance(value, str | int | float) for value in attrs.values())
    assert json.loads(attrs["auto_rates"]).keys() == choice.rates.keys()
    assert choice.seconds > 0


def test_a_job_measures_once_per_architecture_and_data(toy_run, toy_dataset):
    """The planes of one run reuse the first plane's choice (seconds 0); other weights of the
    same architecture reuse it too; another architecture or other data measure anew."""
    model = model_from_checkpoints(toy_run[0])
    options = EvaluationOptions(batch_size=200)
    first = choose_evaluation(
        model, *random_plane(model, seed=1), _splits(toy_dataset), options, 50
    )
    again = choose_evaluation(
        model, *random_plane(model, seed=2), _splits(toy_dataset), options, 50
    )
    assert first.seconds > 0 and again.seconds == 0.0
    assert (again.strategy, again.options, again.rates) == (
        first.strategy,
        first.options,
        first.rates,
    )
    fewer = {name: (x[:100], y[:100]) for name, (x, y) in _splits(toy_dataset).items()}
    assert choose_evaluation(model, *random_plane(model), fewer, options, 50).seconds > 0


def test_a_model_without_convolutions_has_one_layout(toy_dataset):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(40, 16), nn.Tanh(), nn.Linear(16, 10))
    choice = choose_evaluation(
        model, *random_plane(model), _splits(toy_dataset), EvaluationOptions(batch_size=100), 10
    )
    assert {label.split("/")[1] for label in choice.rates} == {"default"}


def test_the_default_layout_equals_the_reference_on_a_users_conv2d_net():
    torch.manual_seed(0)
    model = _DigitsNet()
    origin, u, v = random_plane(model, seed=1)
    splits = _digits_splits()
    xs, ys = np.array([-0.5, 0.0, 0.5]), np.array([-0.2, 0.3])
    reference = evaluate_grid_reference(model, origin, u, v, xs, ys, splits)
    for layout in LAYOUTS:
        options = EvaluationOptions(batch_size=64, layout=layout)
        ours = evaluate_grid(model, origin, u, v, xs, ys, splits, "point", options)
        for key, expected in reference.items():
            np.testing.assert_allclose(ours[key], expected, rtol=1e-5, atol=1e-7, err_msg=key)


def test_auto_through_evaluate_grid_equals_the_reference(toy_run, toy_dataset):
    model = model_from_checkpoints(toy_run[0])
    origin, u, v = random_plane(model, seed=3)
    xs, ys = np.array([-0.4, 0.1, 0.6]), np.array([-0.3, 0.2])
    splits = _splits(toy_dataset)
    ours = evaluate_grid(model, origin, u, v, xs, ys, splits, "auto")
    reference = evaluate_grid_reference(model, origin, u, v, xs, ys, splits)
    for key, expected in reference.items():
        np.testing.assert_allclose(ours[key], expected, rtol=1e-5, atol=1e-7, err_msg=key)


def test_recomputed_batchnorm_gives_the_same_grid_at_every_batch_size():
    """BatchNorm statistics recomputed per point are batched by the memory budget, not the
    grid's batch size (issue 21: batch 1000 against 600 had moved a real grid's training
    loss by 0.0086), so every batch auto may choose gives the same values."""
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv1d(1, 4, 3), nn.BatchNorm1d(4), nn.ReLU(), nn.Conv1d(4, 4, 3), nn.BatchNorm1d(4),
        nn.ReLU(), nn.Flatten(), nn.Linear(4 * 36, 10),
    )  # fmt: skip
    generator = torch.Generator().manual_seed(1)
    inputs = torch.randn(400, 1, 40, generator=generator)
    splits = {"train": (inputs, torch.randint(0, 10, (400,), generator=generator))}
    plane = random_plane(model)
    coords = np.array([[0.0, 0.0], [0.3, -0.2]])
    values = [
        evaluate_points(
            model, *plane, coords, splits, "point",
            EvaluationOptions(batch_size=b, batchnorm="recompute", batchnorm_inputs=inputs),
        )["train_loss"]
        for b in (400, 391, 250, 100)
    ]  # fmt: skip
    for other in values[1:]:
        np.testing.assert_allclose(other, values[0], rtol=1e-6)
    options = EvaluationOptions(batch_size=400, batchnorm="recompute", batchnorm_inputs=inputs)
    choice = choose_evaluation(model, *plane, splits, options, 10)
    assert {label.split("/")[2] for label in choice.rates} >= {"400", "200", "100"}


def test_an_unknown_layout_is_named(toy_run, toy_dataset):
    model = model_from_checkpoints(toy_run[0])
    with pytest.raises(ValueError, match="layout 'sideways' is unknown; choose one of"):
        evaluate_points(
            model, *random_plane(model), np.zeros((1, 2)), _splits(toy_dataset), "point",
            EvaluationOptions(layout="sideways"),
        )  # fmt: skip


def test_a_small_grid_is_not_measured_for_longer_than_it_runs(toy_run, toy_dataset, monkeypatch):
    """With no time to spare, only the requested batch in both layouts is measured (the
    plain pass among them); with threads, pool is the next candidate."""
    monkeypatch.setattr(autotune, "MEASURE_SHARE", 0.0)
    monkeypatch.setattr(autotune, "MEASURE_FLOOR_SECONDS", 0.0)
    model = model_from_checkpoints(toy_run[0])
    options = EvaluationOptions(batch_size=200)
    choice = choose_evaluation(model, *random_plane(model), _splits(toy_dataset), options, 50)
    assert set(choice.rates) == {f"point/{layout}/200" for layout in LAYOUTS}
    monkeypatch.setattr(autotune, "_CHOICES", {})
    monkeypatch.setattr(autotune, "MEASURE_SHARE", 1.0)
    monkeypatch.setattr(autotune, "MEASURE_FLOOR_SECONDS", 1e9)
    choice = choose_evaluation(
        model, *random_plane(model), _splits(toy_dataset), options, 50, threads=2
    )
    labels = list(choice.rates)  # in the order measured
    best_point = max(labels[:2], key=choice.rates.get)
    assert labels[2] == "pool/" + best_point.split("/", 1)[1]


def test_evaluate_grid_tries_pool_only_where_workers_are_asked_for(toy_run, toy_dataset):
    """A script without ``if __name__ == "__main__":`` must not get spawned processes
    unasked: auto through evaluate_grid measures pool only with ``options.workers`` > 1."""
    model = model_from_checkpoints(toy_run[0])
    plane = random_plane(model, seed=5)
    xs = np.array([0.0, 0.1])
    for workers, pooled in ((1, False), (2, True)):
        autotune._CHOICES.clear()
        options = EvaluationOptions(batch_size=200, workers=workers)
        evaluate_grid(model, *plane, xs, xs, _splits(toy_dataset), "auto", options)
        (choice,) = autotune._CHOICES.values()
        assert any(label.startswith("pool/") for label in choice.rates) == pooled
