"""Geometry and memory layout of the batch-innermost Conv1d stack
(:mod:`losslandscape.engine.cpu.batch_last`): one convolution's windows and weight matrix,
the per-batch-size records of a pass's views, and the rows a whole number of vectors long
("pitched") that the C kernel reads.

The weight's columns must be in (tap, channel) order, as the windows' rows are. Where the
weight is stored in that order (:data:`WEIGHT_STORAGE_ORDER`, which the engine arranges
for its model copy), the matrix is a view, and every view and buffer a pass uses is made
once per batch size (pitch); elsewhere the weight is reordered on every pass.
"""

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from losslandscape.engine.cpu import native_kernel
from losslandscape.engine.cpu.inplace_activations import INPLACE_CLASSES

# a Conv1d weight (out, in, k) stored as (out, k, in): its product matrix is then a view
WEIGHT_STORAGE_ORDER = (0, 2, 1)


@dataclass(frozen=True)
class Layer:
    """One convolution with the activation after it (or ``None``) and its geometry."""

    conv: nn.Conv1d
    activation: nn.Module | None
    length_in: int  # input positions, zero padding included
    length_out: int  # output positions

    def windows(self, source: torch.Tensor, batch: int) -> torch.Tensor:
        """``(length_out, k·in, batch)`` windows of ``source``, a contiguous ``(length_in,
        in, batch)`` tensor. Strides follow from the shape: a contiguous tensor with a
        dimension of size 1 may report any stride for it."""
        (kernel,), (stride,) = self.conv.kernel_size, self.conv.stride
        channels = self.conv.in_channels
        return source.as_strided(
            (self.length_out, kernel * channels, batch), (stride * channels * batch, batch, 1)
        )

    def weight_matrix(self) -> torch.Tensor:
        """``(out, k·in)``, columns in (tap, channel) order: a view of the weight where it
        is stored in :data:`WEIGHT_STORAGE_ORDER`, a copy otherwise."""
        weight = self.conv.weight.permute(*WEIGHT_STORAGE_ORDER)
        return weight.reshape(self.conv.out_channels, -1)

    def stored_matrix(self) -> torch.Tensor | None:
        """:meth:`weight_matrix` where it is a (contiguous) view of the stored weight, to be
        made once; ``None`` where it is a copy, to be made on every pass."""
        matrix = self.weight_matrix()
        is_view = matrix.data_ptr() == self.conv.weight.data_ptr() and matrix.is_contiguous()
        return matrix if is_view else None


def apply_in_place(activate: Callable[[torch.Tensor], torch.Tensor], target: torch.Tensor) -> None:
    """``target = activate(target)`` in place, whether or not the module works in place."""
    activated = activate(target)
    if activated.data_ptr() != target.data_ptr():
        target.copy_(activated)


@dataclass(frozen=True)
class Step:
    """One layer's product for one batch size, its operands as views made once."""

    layer: Layer
    windows: torch.Tensor | None  # of the previous buffer; None for the first layer
    weight: torch.Tensor | None  # expanded view; None where it is a copy (made per pass)
    bias: torch.Tensor  # (length_out, out, batch) expanded view
    target: torch.Tensor  # (length_out, out, batch) view of the next layer's buffer
    activate: Callable[[torch.Tensor], torch.Tensor] | None


@dataclass(frozen=True)
class NativeStep:
    """One layer's call of the C kernel for one pitch: its buffers, the kernel's geometry
    arguments and the activation it fuses or leaves to torch."""

    layer: Layer
    weight: torch.Tensor | None  # the (out, k·in) view; None where a copy is made per pass
    bias: int | None  # address of the bias, None for no bias
    target: torch.Tensor  # the interior the layer writes (its activation's argument)
    buffer: torch.Tensor  # the next layer's zero-padded input (or the head's)
    geometry: tuple[int, ...]  # positions, K, out, pitch, source/target position, target channel
    kind: int  # native_kernel.IDENTITY, RELU, LEAKY_RELU or SIGMOID
    slope: float
    activate: Callable[[torch.Tensor], torch.Tensor] | None  # applied by torch afterwards


def fused_activation(activation: nn.Module | None) -> tuple[int, float]:
    """The kernel's activation code and slope for ``activation``; IDENTITY where torch
    applies it (exact types only: a subclass may compute something else)."""
    if type(activation) is nn.ReLU:
        return native_kernel.RELU, 0.0
    if type(activation) is nn.LeakyReLU:
        return native_kernel.LEAKY_RELU, float(activation.negative_slope)
    if type(activation) in (nn.Sigmoid, INPLACE_CLASSES[nn.Sigmoid]):
        return native_kernel.SIGMOID, 0.0
    return native_kernel.IDENTITY, 0.0


def pitch_for(batch: int) -> int:
    """Row length (floats) for ``batch`` samples: rounded up to whole vectors of the kernel."""
    return -(-batch // native_kernel.LANES) * native_kernel.LANES


def is_pitched(tensor: torch.Tensor) -> bool:
    """Whether ``tensor`` ``(length, channels, batch)`` is the first ``batch`` lanes of a
    zero-offset ``(length, channels, pitch)`` buffer, as
    :meth:`~losslandscape.engine.cpu.batch_last.BatchLastConv1dNet.prepare` lays inputs out
    for the kernel."""
    if tensor.dim() != 3 or tensor.stride(2) != 1 or tensor.storage_offset() != 0:
        return False
    length, channels, batch = tensor.shape
    pitch = tensor.stride(1)
    return (
        pitch % native_kernel.LANES == 0
        and pitch >= batch
        and tensor.stride(0) == channels * pitch
        and tensor.untyped_storage().nbytes() >= length * channels * pitch * tensor.element_size()
    )


def pitched(tensor: torch.Tensor) -> torch.Tensor:
    """``tensor`` ``(length, channels, batch)`` copied into the first lanes of a zero
    ``(length, channels, pitch)`` buffer, pitch the batch rounded up to whole vectors."""
    length, channels, batch = tensor.shape
    buffer = tensor.new_zeros(length, channels, pitch_for(batch))
    buffer[..., :batch] = tensor
    return buffer[..., :batch]
