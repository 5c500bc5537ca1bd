"""Loss and accuracy of a model on a data set held as tensors (no DataLoader, no autograd)."""

import torch
from torch import nn
from torch.nn import functional as F


@torch.inference_mode()
def evaluate(
    model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor, batch_size: int = 8192
) -> tuple[float, float]:
    """Mean cross-entropy (nats) and accuracy (fraction in [0, 1]) of ``model`` in eval mode.

    Args:
        inputs: ``(n, *input_shape)`` float32.
        labels: ``(n,)`` int64 class indices.
        batch_size: samples per forward pass; sums are accumulated so the result does not
            depend on it beyond float rounding.
    """
    was_training = model.training
    model.eval()
    loss_sum = torch.zeros((), dtype=torch.float64, device=inputs.device)
    correct = 0
    for start in range(0, len(inputs), batch_size):
        logits = model(inputs[start : start + batch_size])
        batch_labels = labels[start : start + batch_size]
        loss_sum += F.cross_entropy(logits, batch_labels, reduction="sum").double()
        correct += (logits.argmax(dim=1) == batch_labels).sum()
    model.train(was_training)
    return float(loss_sum) / len(inputs), int(correct) / len(inputs)
