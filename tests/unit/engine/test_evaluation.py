"""Loss and accuracy of a model on tensors, reduced as the landscape engine reduces them."""

import torch
from torch import nn

from losslandscape.engine.evaluation import evaluate
from losslandscape.engine.loss import LossSums


def test_evaluate_is_the_engines_reduction_in_any_batches():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 5)).train()
    inputs, labels = torch.randn(50, 6), torch.randint(0, 5, (50,))
    sums = LossSums(1, "cpu")
    with torch.no_grad():
        for start in range(0, 50, 7):
            sums.add(0, model(inputs[start : start + 7]), labels[start : start + 7])
    mean, _, accuracy = sums.statistics(50)
    assert evaluate(model, inputs, labels, batch_size=7) == (mean[0], accuracy[0])
    assert model.training  # the caller's mode is kept
    whole = evaluate(model, inputs, labels)
    assert abs(whole[0] - mean[0]) <= 1e-6 * mean[0] and whole[1] == accuracy[0]
