"""Channels-last convolutions for grid evaluation on CPU.

oneDNN, PyTorch's CPU convolution library, runs the study's thin convolutions much faster
when activations lie in memory as (batch, …positions, channels) instead of PyTorch's
default (batch, channels, …positions). Measured on one core of this project's machine,
batch 1000: the mnist1d CNN's Conv1d 25→25 k3 takes 0.55–0.64 ms instead of 1.1–1.2 ms,
and the CIFAR-shaped ``small_cnn2d`` runs 2.2–2.4× faster as a whole.

PyTorch keeps a memory format for 4-D tensors only (``torch.channels_last``), so a
``Conv1d`` is run as a ``Conv2d`` with a kernel one row high, over the batch's signals
stacked as the rows of a few images, ``(batch / rows, channels, rows, length)``, which is
the same memory as ``(batch, length, channels)``; oneDNN blocks its work over the rows,
and a point of the mnist1d CNN ran 1.07–1.11× faster than with one signal per image. The
output, seen back as 3-D, keeps the channels-last strides, and the element-wise
activations after it keep them too. Values are those of the plain convolution to float32
rounding (the mnist1d CNN's logits came out equal to the bit with 1 and with 50 rows).
"""

import torch
from torch import nn
from torch.nn import functional as F


def _channels_last_strides(shape: torch.Size) -> tuple[int, ...]:
    _, channels, height, width = shape
    return (height * width * channels, 1, width * channels, channels)


def as_channels_last(inputs: torch.Tensor) -> torch.Tensor:
    """``inputs`` ``(batch, channels, height, width)`` laid out channels-last; other ranks
    are returned as they are.

    The strides are compared exactly instead of asking ``is_contiguous``: with one channel
    a default-layout tensor also counts as channels-last contiguous, yet oneDNN reads its
    strides as the default layout and writes its output in that layout too."""
    if inputs.dim() != 4 or inputs.stride() == _channels_last_strides(inputs.shape):
        return inputs
    laid_out = torch.empty(
        inputs.shape,
        dtype=inputs.dtype,
        device=inputs.device,
        memory_format=torch.channels_last,
    )
    return laid_out.copy_(inputs)


# signals stacked into one image: a point of the mnist1d CNN ran 1.08, 1.10, 1.07 and
# 1.11× faster with 20, 50, 100 and 1000 rows than with 1 (median of 7 alternating rounds)
SIGNAL_ROWS = 50


def signal_rows(batch: int) -> int:
    """The largest divisor of ``batch`` up to :data:`SIGNAL_ROWS`: how many signals a
    :class:`ChannelsLastConv1d` stacks into the rows of one image. (Not cached: a cache
    wrapper makes ``torch.compile`` warn, and the first try divides the usual batches.)"""
    return next(d for d in range(min(batch, SIGNAL_ROWS), 0, -1) if batch % d == 0)


class ChannelsLastConv1d(nn.Conv1d):
    """``nn.Conv1d`` computed as a channels-last ``Conv2d`` over ``(batch / rows, channels,
    rows, length)`` (:func:`signal_rows`). Input ``(batch, channels, length)`` in any
    layout; output ``(batch, out_channels, length')`` with channels-last strides
    ``(length'·out_channels, 1, out_channels)``."""

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        padding = self.padding if isinstance(self.padding, str) else (0, self.padding[0])
        signals = as_channels_last(inputs.unsqueeze(2))  # (batch, channels, 1, length)
        batch, channels, _, length = signals.shape
        rows = signal_rows(batch)
        # the same memory seen as (batch / rows) images of `rows` signals each: a kernel one
        # row high never mixes rows, and oneDNN blocks its work over the rows
        memory_order = signals.permute(0, 2, 3, 1)  # (batch, 1, length, channels), dense
        images = memory_order.view(batch // rows, rows, length, channels).permute(0, 3, 1, 2)
        out = F.conv2d(
            images,
            self.weight.unsqueeze(2),
            self.bias,
            (1, self.stride[0]),
            padding,
            (1, self.dilation[0]),
            self.groups,
        )
        # back to (batch, out_channels, length') over the same memory
        return out.permute(0, 2, 3, 1).reshape(batch, -1, self.out_channels).transpose(1, 2)


def convert_convolutions(model: nn.Module) -> bool:
    """Make every zero-padded ``nn.Conv1d`` of ``model`` a :class:`ChannelsLastConv1d`, in
    place, and say whether ``model`` has convolutions at all (then its 4-D inputs should be
    passed through :func:`as_channels_last`).

    The class of each module is swapped rather than the module replaced: parameters keep
    their identity (the engine's model copy has them as views into one flat vector) and
    their names."""
    has_convolutions = False
    for module in model.modules():
        if type(module) is nn.Conv1d and module.padding_mode == "zeros":
            module.__class__ = ChannelsLastConv1d
        has_convolutions |= isinstance(module, nn.modules.conv._ConvNd)
    return has_convolutions
