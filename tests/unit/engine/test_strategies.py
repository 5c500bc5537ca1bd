"""Every evaluation strategy against the plain reference loop, and the engine's options."""

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from losslandscape.engine.budget import budget_batch_size
from losslandscape.engine.grid import evaluate_grid, evaluate_grid_reference
from losslandscape.engine.loss import as_loss
from losslandscape.engine.model_copy import recompute_batchnorm
from losslandscape.engine.strategies import (
    STRATEGIES,
    EvaluationOptions,
    evaluate_points,
)
from losslandscape.parameters import ParameterLayout
from losslandscape.training.checkpoints import model_from_checkpoints
from tests.planes import random_plane


def _splits(dataset):
    return {
        "train": (dataset["x_train"], dataset["y_train"]),
        "test": (dataset["x_test"], dataset["y_test"]),
    }


def _compiler_missing(error: Exception) -> bool:
    return "compiler" in str(error).lower() or "InvalidCxxCompiler" in type(error).__name__


def _grid_or_skip(model, plane, xs, ys, splits, strategy, options):
    """:func:`evaluate_grid` with ``strategy``; a skip where ``compile`` has no compiler."""
    try:
        return evaluate_grid(model, *plane, xs, ys, splits, strategy, options)
    except Exception as error:
        if strategy == "compile" and _compiler_missing(error):
            pytest.skip(f"torch.compile has no C++ compiler here: {error}")
        raise


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_equals_the_reference_loop_on_a_random_plane(strategy, toy_run, toy_dataset):
    model = model_from_checkpoints(toy_run[0])
    origin, u, v = random_plane(model, seed=3)
    rng = np.random.default_rng(1)
    xs, ys = np.sort(rng.uniform(-1, 1, 3)), np.sort(rng.uniform(-1, 1, 2))
    options = EvaluationOptions(batch_size=64, points_per_pass=4, workers=2)
    ours = _grid_or_skip(model, (origin, u, v), xs, ys, _splits(toy_dataset), strategy, options)
    reference = evaluate_grid_reference(model, origin, u, v, xs, ys, _splits(toy_dataset))
    for key, expected in reference.items():
        np.testing.assert_allclose(ours[key], expected, rtol=1e-5, atol=1e-7, err_msg=key)


def _absolute_error(outputs, targets):
    """A caller's per-sample loss (module level: the pool's workers unpickle it)."""
    return (outputs.softmax(-1).gather(-1, targets[:, None])[:, 0] - 1).abs()


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("loss", ["mse", "own"])
def test_every_strategy_equals_the_reference_loop_with_other_losses(
    strategy, loss, toy_run, toy_dataset
):
    """MSE on one-hot targets (with accuracy) and a caller's loss (without): the same
    values as the plain loop, on every path (the C kernel reduces cross-entropy only)."""
    model = model_from_checkpoints(toy_run[0])
    origin, u, v = random_plane(model, seed=4)
    xs, ys = np.array([-0.5, 0.0, 0.5]), np.array([-0.25, 0.25])
    chosen = as_loss("mse" if loss == "mse" else _absolute_error)
    options = EvaluationOptions(batch_size=64, points_per_pass=4, workers=2, loss=chosen)
    ours = _grid_or_skip(model, (origin, u, v), xs, ys, _splits(toy_dataset), strategy, options)
    reference = evaluate_grid_reference(
        model,
        origin,
        u,
        v,
        xs,
        ys,
        _splits(toy_dataset),
        loss=lambda o, t: chosen.per_sample(o, t)[0],
    )
    for key, expected in reference.items():
        np.testing.assert_allclose(ours[key], expected, rtol=1e-5, atol=1e-7, err_msg=key)
    assert ("train_accuracy" in ours) == (loss == "mse")
    if loss == "mse":  # the argmax accuracy of the cross-entropy reference
        plain = evaluate_grid_reference(model, origin, u, v, xs, ys, _splits(toy_dataset))
        np.testing.assert_array_equal(ours["test_accuracy"], plain["test_accuracy"])


def test_loss_standard_error_is_that_of_the_per_sample_losses(toy_run, toy_dataset):
    model = model_from_checkpoints(toy_run[0])
    origin, u, v = random_plane(model)
    values = evaluate_points(model, origin, u, v, np.array([[0.0, 0.0]]), _splits(toy_dataset))
    with torch.no_grad():
        losses = F.cross_entropy(
            model(toy_dataset["x_train"]), toy_dataset["y_train"], reduction="none"
        ).double()
    expected = losses.std(correction=1) / len(losses) ** 0.5
    assert values["train_loss_sem"][0] == pytest.approx(float(expected), rel=1e-5)
    assert values["train_loss"][0] == pytest.approx(float(losses.mean()), rel=1e-6)


def test_recomputing_batchnorm_changes_nothing_without_batchnorm(toy_run, toy_dataset):
    model = model_from_checkpoints(toy_run[0])
    origin, u, v = random_plane(model)
    coords = np.array([[0.3, -0.2], [0.0, 0.0]])
    keep = evaluate_points(model, origin, u, v, coords, _splits(toy_dataset))
    options = EvaluationOptions(batchnorm="recompute", batchnorm_inputs=toy_dataset["x_train"])
    recomputed = evaluate_points(
        model, origin, u, v, coords, _splits(toy_dataset), "point", options
    )
    for key in keep:
        np.testing.assert_array_equal(recomputed[key], keep[key])


class _NormNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(40, 8)
        self.norm = nn.BatchNorm1d(8)
        self.head = nn.Linear(8, 4)

    def forward(self, inputs):
        return self.head(torch.relu(self.norm(self.linear(inputs))))


def test_recomputed_batchnorm_uses_the_subsets_statistics_at_each_point(toy_dataset):
    torch.manual_seed(0)
    model = _NormNet().eval()  # running stats still the initial 0 and 1
    origin, u, v = random_plane(model)
    subset = toy_dataset["x_train"][:100]
    options = EvaluationOptions(batchnorm="recompute", batchnorm_inputs=subset, batch_size=500)
    point = np.array([[0.5, 0.25]])
    values = evaluate_points(model, origin, u, v, point, _splits(toy_dataset), "point", options)
    moved = ParameterLayout.of(model).unflatten(origin + 0.5 * u + 0.25 * v)
    with torch.no_grad():
        hidden = F.linear(toy_dataset["x_test"], moved["linear.weight"], moved["linear.bias"])
        reference_hidden = F.linear(subset, moved["linear.weight"], moved["linear.bias"])
        mean, var = reference_hidden.mean(0), reference_hidden.var(0, correction=1)
        normed = (hidden - mean) / torch.sqrt(var + model.norm.eps)
        normed = normed * moved["norm.weight"] + moved["norm.bias"]
        logits = F.linear(torch.relu(normed), moved["head.weight"], moved["head.bias"])
        expected = F.cross_entropy(logits, toy_dataset["y_test"])
    assert values["test_loss"][0] == pytest.approx(float(expected), rel=1e-5)
    kept = evaluate_points(model, origin, u, v, point, _splits(toy_dataset))
    assert kept["test_loss"][0] != pytest.approx(values["test_loss"][0], rel=1e-3)
    assert torch.equal(model.norm.running_mean, torch.zeros(8))  # the caller's model untouched
    with pytest.raises(ValueError, match="vmap cannot recompute|'vmap' cannot recompute"):
        evaluate_points(model, origin, u, v, point, _splits(toy_dataset), "vmap", options)


def test_batches_shrink_to_the_memory_budget_without_changing_results(toy_run, toy_dataset):
    model = model_from_checkpoints(toy_run[0])
    sample = toy_dataset["x_train"][:1]
    assert budget_batch_size(model, sample, 1000, budget_mb=0.1) < 1000
    assert budget_batch_size(model, sample, 1000, budget_mb=2048) == 1000
    with pytest.raises(ValueError, match="memory budget .* too small"):
        budget_batch_size(model, sample, 1000, budget_mb=1e-6)
    origin, u, v = random_plane(model)
    coords = np.array([[0.1, 0.2]])
    small = evaluate_points(
        model,
        origin,
        u,
        v,
        coords,
        _splits(toy_dataset),
        options=EvaluationOptions(memory_budget_mb=0.05),
    )
    large = evaluate_points(model, origin, u, v, coords, _splits(toy_dataset))
    for key in large:
        np.testing.assert_allclose(small[key], large[key], rtol=1e-6)


def test_unknown_strategy_is_named(toy_run, toy_dataset):
    model = model_from_checkpoints(toy_run[0])
    with pytest.raises(ValueError, match="strategy 'fastest' is unknown; choose one of point"):
        evaluate_points(
            model, *random_plane(model), np.zeros((1, 2)), _splits(toy_dataset), "fastest"
        )


class _NormDropNet(_NormNet):
    def __init__(self):
        super().__init__()
        self.drop = nn.Dropout(0.5)

    def forward(self, inputs):
        return self.head(self.drop(torch.relu(self.norm(self.linear(inputs)))))


def test_recomputed_batchnorm_keeps_dropout_off_so_points_are_deterministic(toy_dataset):
    torch.manual_seed(0)
    model = _NormDropNet().train()  # the caller's mode must survive evaluation
    origin, u, v = random_plane(model)
    options = EvaluationOptions(batchnorm="recompute", batchnorm_inputs=toy_dataset["x_train"])
    point = np.array([[0.2, -0.1]])
    first = evaluate_points(model, origin, u, v, point, _splits(toy_dataset), "point", options)
    again = evaluate_points(model, origin, u, v, point, _splits(toy_dataset), "point", options)
    for key in first:
        np.testing.assert_array_equal(first[key], again[key])
    assert model.training


def test_recomputed_statistics_pool_their_batches_by_sample_count():
    """The first BatchNorm layer sees the same inputs in any batching: its recomputed mean
    and variance are those of all inputs, whether in one batch or in 991 + 9 samples' worth
    of near-equal batches (PyTorch's cumulative average had weighed 9 samples as 991)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Linear(3, 2))
    inputs = torch.randn(1000, 5) * 3 + 1
    with torch.no_grad():
        features = model[0](inputs).double()
    for batch in (1000, 991, 300, 7):
        recompute_batchnorm(model, inputs, batch)
        norm = model[1]
        torch.testing.assert_close(
            norm.running_mean.double(), features.mean(0), rtol=1e-5, atol=1e-6
        )
        torch.testing.assert_close(norm.running_var.double(), features.var(0), rtol=1e-5, atol=1e-6)
        assert not norm.training


class _TwoNormNet(nn.Module):
    """Two BatchNorm layers: the second sees inputs normalized per batch by the first."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(40, 16), nn.BatchNorm1d(16), nn.Tanh(), nn.Linear(16, 8), nn.BatchNorm1d(8)
        )
        self.head = nn.Linear(8, 4)

    def forward(self, inputs):
        return self.head(torch.relu(self.body(inputs)))


def test_recomputed_batchnorm_depends_on_its_own_batch_not_on_the_memory_budget(toy_dataset):
    """Issue 21: the statistics' batches had followed the memory budget, and a real grid's
    loss moved by up to 0.033 nats between budgets. They follow ``batchnorm_batch_size``
    now, which the deeper layer's statistics do depend on (as in training)."""
    torch.manual_seed(0)
    model = _TwoNormNet().eval()
    origin, u, v = random_plane(model)
    inputs = toy_dataset["x_train"][:400]
    point = np.array([[0.4, -0.3]])
    splits = _splits(toy_dataset)

    def loss(**changes):
        options = EvaluationOptions(batchnorm="recompute", batchnorm_inputs=inputs, **changes)
        return evaluate_points(model, origin, u, v, point, splits, "point", options)

    roomy = loss(memory_budget_mb=2048.0, batchnorm_batch_size=100)
    tight = loss(memory_budget_mb=0.05, batchnorm_batch_size=100)
    for key in roomy:
        np.testing.assert_allclose(tight[key], roomy[key], rtol=1e-6, err_msg=key)
    other = loss(batchnorm_batch_size=20)
    assert abs(other["test_loss"][0] - roomy["test_loss"][0]) > 1e-4


def test_recomputed_statistics_keep_their_precision_far_from_zero_and_refuse_single_samples():
    """A layer input with mean 1e7 and unit spread: the pooled variance from per-batch
    means and variances (Chan et al.), not E[x²] − E[x]² (1.8 % off there)."""
    model = nn.Sequential(nn.BatchNorm1d(2))
    inputs = torch.randn(600, 2, generator=torch.Generator().manual_seed(0)) + 1e7
    recompute_batchnorm(model, inputs, 250)
    expected = inputs.double().var(0)
    torch.testing.assert_close(model[0].running_var.double(), expected, rtol=1e-3, atol=0)
    with pytest.raises(ValueError, match="batches of at least 2 samples.*batchnorm_samples"):
        recompute_batchnorm(model, inputs[:3], 1)
    with pytest.raises(ValueError, match="found 1 samples in batches of 100"):
        recompute_batchnorm(model, inputs[:1], 100)
    # an odd count in batches of 2: no batch of one sample (5 → 3 + 2), so it runs
    recompute_batchnorm(model, inputs[:5], 2)
    assert torch.isfinite(model[0].running_var).all()
