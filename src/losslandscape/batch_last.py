"""A stack of 1-D convolutions and a linear head computed with the batch innermost (CPU).

The mnist1d CNN's convolutions have 25 channels: laid out channels-last, as oneDNN wants
them, every product is a matrix with 25 columns, which fills two 16-lane AVX-512
registers with 7 lanes idle. With the batch innermost instead, activations
``(length, channels, batch)``, output position ``j`` of a convolution with kernel ``k``
and stride ``s`` is one product ``weight (out, k·in) @ rows [j·s·in, (j·s + k)·in)`` of
the zero-padded input seen as ``(length·in, batch)``: the windows of all positions are
one strided view, the products one batched GEMM (``torch.baddbmm``) whose 1000-wide rows
fill every lane, and each layer writes straight into the interior of the next layer's
zero-padded buffer. The linear head is one more product, its weight's columns permuted to
(position, channel) order.

Measured for the default CNN's pass over its data (one core, batch 1000,
``benchmarks/inference_plan.py``): 1.40–1.43× the points per second of the channels-last
pass with ReLU, 1.33–1.35× with sigmoid, 1.16–1.17× with ELU (whose activation weighs
more); the 25→25 convolutions take 0.48–0.50 instead of 0.53–0.60 ms and 0.24–0.26 instead
of 0.33–0.37 ms. Values equal the plain model's to float32 rounding
(``tests/test_inference_plan.py``).
"""

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class _Layer:
    """One convolution with the activation after it (or ``None``) and its geometry."""

    conv: nn.Conv1d
    activation: nn.Module | None
    length_out: int  # output positions


class BatchLastConv1dNet(nn.Module):
    """``convs[i]`` each followed by ``activations[i]`` (element-wise, or ``None``), then
    ``head(flatten(1))``, for inputs laid out by :meth:`prepare`.

    Input of :meth:`forward`: ``(length + 2·padding₀, in_channels, batch)``, the first
    convolution's input zero-padded and batch innermost. Output: logits ``(batch,
    classes)``, a transposed view of a ``(classes, batch)`` product. Holds the model's own
    modules, so its parameters are the model's."""

    def __init__(self, convs, activations, head: nn.Linear, length: int):
        super().__init__()
        self.convs = nn.ModuleList(convs)
        self.head = head
        self.layers = []
        for conv, activation in zip(convs, activations, strict=True):
            (kernel,), (stride,), (padding,) = conv.kernel_size, conv.stride, conv.padding
            out = (length + 2 * padding - kernel) // stride + 1
            self.layers.append(_Layer(conv, activation, out))
            length = out
        self._workspaces: dict[tuple, list[torch.Tensor]] = {}

    def prepare(self, inputs: torch.Tensor) -> torch.Tensor:
        """``inputs`` ``(batch, in_channels, length)`` as :meth:`forward` takes them."""
        (padding,) = self.layers[0].conv.padding
        return F.pad(inputs, (padding, padding)).permute(2, 1, 0).contiguous()

    def _workspace(self, batch: int, like: torch.Tensor) -> list[torch.Tensor]:
        """Each later layer's zero-padded input and the last layer's output, kept per batch
        size: only interiors are ever written, so the padding stays zero."""
        key = (batch, like.dtype, like.device)
        if key not in self._workspaces:
            shapes = [
                (layer.length_out + 2 * after.conv.padding[0], layer.conv.out_channels, batch)
                for layer, after in zip(self.layers, self.layers[1:], strict=False)
            ]
            last = self.layers[-1]
            shapes.append((last.length_out, last.conv.out_channels, batch))
            self._workspaces[key] = [like.new_zeros(shape) for shape in shapes]
        return self._workspaces[key]

    def forward(self, padded: torch.Tensor) -> torch.Tensor:
        batch = padded.shape[-1]
        buffers = self._workspace(batch, padded)
        source = padded
        for index, layer in enumerate(self.layers):
            conv = layer.conv
            (kernel,), (stride,) = conv.kernel_size, conv.stride
            channels = conv.in_channels
            # windows: position j reads padded rows [j·stride·in, (j·stride + kernel)·in)
            windows = source.as_strided(
                (layer.length_out, kernel * channels, batch),
                (stride * channels * batch, batch, 1),
            )
            # weight columns in (tap, channel) order, as the window's rows
            weight = conv.weight.permute(0, 2, 1).reshape(conv.out_channels, -1)
            target = buffers[index]
            if index + 1 < len(self.layers):
                (padding,) = self.layers[index + 1].conv.padding
                target = target[padding : padding + layer.length_out]
            bias = conv.bias if conv.bias is not None else weight.new_zeros(conv.out_channels)
            torch.baddbmm(
                bias[None, :, None].expand(layer.length_out, -1, batch),
                weight.expand(layer.length_out, -1, -1),
                windows,
                out=target,
            )
            if layer.activation is not None:
                activated = layer.activation(target)
                if activated.data_ptr() != target.data_ptr():  # not an in-place module
                    target.copy_(activated)
            source = buffers[index]
        last = self.layers[-1]
        # head columns (channel, position) → (position, channel), the buffer's row order
        weight = self.head.weight.view(-1, last.conv.out_channels, last.length_out)
        weight = weight.permute(0, 2, 1).reshape(len(weight), -1)
        flat = source.view(-1, batch)
        if self.head.bias is None:
            return torch.mm(weight, flat).t()
        return torch.addmm(self.head.bias[:, None], weight, flat).t()
