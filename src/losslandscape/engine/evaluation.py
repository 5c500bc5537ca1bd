"""Loss and accuracy of a model on a data set held as tensors (no DataLoader, no autograd)."""

import torch
from torch import nn

from losslandscape.engine.loss import LossSums


@torch.inference_mode()
def evaluate(
    model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor, batch_size: int = 8192
) -> tuple[float, float]:
    """Mean cross-entropy (nats) and accuracy (fraction in [0, 1]) of ``model`` in eval mode,
    reduced as the landscape engine reduces them (:class:`~losslandscape.engine.loss.LossSums`).

    Args:
        inputs: ``(n, *input_shape)`` float32.
        labels: ``(n,)`` int64 class indices.
        batch_size: samples per forward pass; sums are accumulated in float64 so the result
            does not depend on it beyond float rounding.
    """
    was_training = model.training
    model.eval()
    sums = LossSums(1, inputs.device)
    for start in range(0, len(inputs), batch_size):
        sums.add(0, model(inputs[start : start + batch_size]), labels[start : start + batch_size])
    model.train(was_training)
    mean, _, accuracy = sums.statistics(len(inputs))
    return float(mean[0]), float(accuracy[0])
