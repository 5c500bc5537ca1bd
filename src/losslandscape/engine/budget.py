"""The engine's memory budget: batches sized so that one forward pass's activations fit
it, and data prepared once for all points (batch-innermost or channels-last copies) kept
only where it takes at most half of it."""

import torch
from torch import nn

from losslandscape.engine.model_copy import unchanged


def activation_bytes_per_sample(model: nn.Module, sample: torch.Tensor) -> int:
    """Bytes of every module output for one sample ``(1, …)``: a bound on what a forward
    pass holds at once, used to size batches to the memory budget."""
    total = 0

    def count(_module, _inputs, output):
        nonlocal total
        if isinstance(output, torch.Tensor):
            total += output.numel() * output.element_size()

    handles = [m.register_forward_hook(count) for m in model.modules()]
    was_training = model.training
    try:
        with torch.inference_mode():
            model.eval()(sample)
    finally:
        model.train(was_training)  # the caller's model keeps its mode
        for handle in handles:
            handle.remove()
    return max(total, 1)


def budget_batch_size(
    model: nn.Module, sample: torch.Tensor, requested: int, budget_mb: float, points: int = 1
) -> int:
    """The largest batch ≤ ``requested`` whose activations for ``points`` stacked points
    fit in ``budget_mb`` (MiB); raises when not even one sample fits."""
    per_sample = activation_bytes_per_sample(model, sample) * points
    fitting = int(budget_mb * 2**20 // per_sample)
    if fitting < 1:
        raise ValueError(
            f"memory budget {budget_mb} MiB is too small: one sample needs "
            f"{per_sample / 2**20:.1f} MiB of activations; raise landscape.memory_budget_mb"
        )
    return max(1, min(requested, fitting))


class Raw:
    """A batch kept as it is, to be prepared each time it is used (its prepared form
    would not fit the memory budget)."""

    def __init__(self, inputs: torch.Tensor):
        self.inputs = inputs


def prepared(batch: "torch.Tensor | Raw", prepare) -> torch.Tensor:
    """``batch`` as the model copy takes it: prepared now where it was kept :class:`Raw`."""
    return prepare(batch.inputs) if isinstance(batch, Raw) else batch


@torch.inference_mode()
def prepared_batches(
    prepare, inputs: torch.Tensor, labels: torch.Tensor, batch_size: int, budget_mb: float
) -> list:
    """``[(prepared inputs or Raw, labels)]`` per batch of ``batch_size`` samples.

    Prepared data (batch-innermost or channels-last copies) is computed once for all
    points when it takes at most half the memory budget ``budget_mb`` (MiB), and at each
    use otherwise."""
    pieces = [
        (inputs[s : s + batch_size], labels[s : s + batch_size])
        for s in range(0, len(inputs), batch_size)
    ]
    if prepare is unchanged:
        return pieces
    first = prepare(pieces[0][0])
    total_bytes = first.numel() * first.element_size() * len(inputs) / len(pieces[0][0])
    if total_bytes > budget_mb * 2**20 / 2:
        return [(Raw(batch), batch_labels) for batch, batch_labels in pieces]
    return [(first, pieces[0][1])] + [(prepare(batch), y) for batch, y in pieces[1:]]
