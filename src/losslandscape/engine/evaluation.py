"""Loss and accuracy of a model on a data set held as tensors (no DataLoader, no autograd)."""

import torch
from torch import nn

from losslandscape.engine.loss import CROSS_ENTROPY, Loss, LossSums


@torch.inference_mode()
def evaluate(
    model: nn.Module,
    inputs: torch.Tensor,
    labels: torch.Tensor,
    batch_size: int = 8192,
    loss: Loss = CROSS_ENTROPY,
) -> tuple[float, float]:
    """Mean loss (cross-entropy in nats by default) and accuracy (fraction in [0, 1]; NaN
    where ``loss`` defines none) of ``model`` in eval mode, reduced as the landscape engine
    reduces them (:class:`~losslandscape.engine.loss.LossSums`).

    Args:
        inputs: ``(n, *input_shape)`` float32.
        labels: ``(n, …)`` targets: int64 class indices for cross-entropy.
        batch_size: samples per forward pass; sums are accumulated in float64 so the result
            does not depend on it beyond float rounding.
        loss: the per-sample loss (:func:`losslandscape.engine.loss.as_loss`).
    """
    was_training = model.training
    model.eval()
    sums = LossSums(1, inputs.device, loss)
    for start in range(0, len(inputs), batch_size):
        sums.add(0, model(inputs[start : start + batch_size]), labels[start : start + batch_size])
    model.train(was_training)
    mean, _, accuracy = sums.statistics(len(inputs))
    return float(mean[0]), float(accuracy[0])
