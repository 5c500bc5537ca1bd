"""The engine's one loss reduction against torch's cross-entropy."""

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from losslandscape.engine.loss import (
    CROSS_ENTROPY,
    MSE,
    LossSums,
    as_loss,
    cross_entropy_and_prediction,
)


@pytest.mark.parametrize("scale", [1.0, 1e3], ids=["unit-logits", "huge-logits"])
def test_cross_entropy_and_prediction_equal_torchs_for_single_and_stacked_points(scale):
    torch.manual_seed(0)
    logits = torch.randn(3, 50, 10) * scale  # 3 stacked points, 50 samples, 10 classes
    labels = torch.randint(0, 10, (50,))
    losses, predicted = cross_entropy_and_prediction(logits, labels)
    for point in range(3):
        expected = F.cross_entropy(logits[point], labels, reduction="none")
        torch.testing.assert_close(losses[point], expected, rtol=1e-5, atol=1e-5 * scale)
        assert torch.equal(predicted[point], logits[point].argmax(-1))
        alone, alone_predicted = cross_entropy_and_prediction(logits[point], labels)
        torch.testing.assert_close(alone, losses[point])
        assert torch.equal(alone_predicted, predicted[point])


@pytest.mark.parametrize("n", [1, 2, 300])
def test_loss_sums_equal_a_float64_reference_of_torchs_cross_entropy(n):
    """Mean, standard error and accuracy of three stacked points, added in two batches,
    against ``F.cross_entropy`` in float64: the mean over samples, ``std(ddof=1) / √n``
    (0 for one sample) and the share of ``argmax`` equal to the label."""
    generator = torch.Generator().manual_seed(n)
    logits = torch.randn(3, n, 7, generator=generator) * 4  # points, samples, classes
    labels = torch.randint(0, 7, (n,), generator=generator)
    sums = LossSums(3, "cpu")
    half = n // 2
    sums.add(slice(0, 3), logits[:, :half], labels[:half])
    sums.add(slice(0, 3), logits[:, half:], labels[half:])
    mean, sem, accuracy = sums.statistics(n)
    for point in range(3):
        losses = F.cross_entropy(logits[point].double(), labels, reduction="none").numpy()
        spread = losses.std(ddof=1) / np.sqrt(n) if n > 1 else 0.0
        correct = (logits[point].argmax(-1) == labels).double().mean().item()
        assert mean[point] == pytest.approx(losses.mean(), rel=1e-6)
        assert sem[point] == pytest.approx(spread, rel=1e-5, abs=1e-12)
        assert accuracy[point] == correct
    results = sums.results("test", n)
    assert sorted(results) == ["test_accuracy", "test_loss", "test_loss_sem"]
    np.testing.assert_array_equal(results["test_loss_sem"], sem)


def test_one_point_adds_at_its_index_only():
    logits, labels = torch.randn(5, 4), torch.randint(0, 4, (5,))
    sums = LossSums(3, "cpu")
    sums.add(1, logits, labels)
    assert sums.sums[:, [0, 2]].eq(0).all() and sums.sums[0, 1] > 0


def test_mse_is_torchs_per_sample_mean_squared_error():
    """Regression targets ``(batch, k)`` or ``(batch,)`` (k = 1): no accuracy; class
    indices: softmax probabilities against one-hot targets (Li et al.'s ``--loss_name
    mse``) and the argmax accuracy."""
    generator = torch.Generator().manual_seed(0)
    outputs = torch.randn(2, 40, 3, generator=generator)  # 2 stacked points
    targets = torch.randn(40, 3, generator=generator)
    losses, correct = MSE.per_sample(outputs, targets)
    expected = F.mse_loss(outputs, targets.expand_as(outputs), reduction="none").mean(-1)
    torch.testing.assert_close(losses, expected)
    assert correct is None
    single, _ = MSE.per_sample(outputs[0, :, :1], targets[:, 0])
    torch.testing.assert_close(single, (outputs[0, :, 0] - targets[:, 0]).square())
    labels = torch.randint(0, 3, (40,), generator=generator)
    losses, correct = MSE.per_sample(outputs, labels)
    hot = F.one_hot(labels, 3).float()
    for point in range(2):  # Li et al.: nn.MSELoss()(F.softmax(outputs), one_hot_targets)
        expected = [
            F.mse_loss(F.softmax(outputs[point, i], -1), hot[i]) for i in range(len(labels))
        ]
        torch.testing.assert_close(losses[point], torch.stack(expected))
    assert torch.equal(correct, outputs.argmax(-1) == labels)


def test_a_callers_loss_is_summed_per_point_with_no_accuracy():
    def absolute_error(outputs, targets):
        return (outputs[:, 0] - targets).abs()

    loss = as_loss(absolute_error)
    assert loss.name == "absolute_error" and loss.units == "the loss's units"
    outputs, targets = torch.randn(2, 10, 1), torch.randn(10)
    sums = LossSums(2, "cpu", loss)
    sums.add(slice(0, 2), outputs, targets)  # stacked points: called once per point
    mean, _, accuracy = sums.statistics(10)
    for point in range(2):
        expected = (outputs[point, :, 0] - targets).abs().double().mean()
        assert mean[point] == pytest.approx(float(expected))
    assert np.isnan(accuracy).all() and "x_accuracy" not in sums.results("x", 10)
    with pytest.raises(ValueError, match="must return one loss per sample, shape \\[10\\]"):
        as_loss(lambda o, t: (o - t).abs().mean()).per_sample(outputs[0], targets)
    with pytest.raises(ValueError, match="loss 'hinge' is unknown; choose one of cross_entropy"):
        as_loss("hinge")
    assert as_loss("mse") is MSE and as_loss(CROSS_ENTROPY) is CROSS_ENTROPY
