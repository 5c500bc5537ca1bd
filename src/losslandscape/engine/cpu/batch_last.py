"""A stack of 1-D convolutions and a linear head computed with the batch innermost (CPU).

The mnist1d CNN's convolutions have 25 channels: laid out channels-last, as oneDNN wants
them, every product is a matrix with 25 columns, which fills two 16-lane AVX-512
registers with 7 lanes idle. With the batch innermost instead, activations
``(length, channels, batch)``, output position ``j`` of a convolution with kernel ``k``
and stride ``s`` is one product ``weight (out, k·in) @ rows [j·s·in, (j·s + k)·in)`` of
the zero-padded input seen as ``(length·in, batch)``, whose 1000-wide rows fill every
lane, and each layer writes straight into the interior of the next layer's zero-padded
buffer. The last layer writes ``(channels, length, batch)``, the order in which
``flatten`` hands the head its inputs, so the head is one product with its own weight.

The products run in one of two ways, with the same buffers and results:

- the C kernel (:mod:`losslandscape.engine.cpu.native_kernel`, ``batch_last_kernel.c``) for float32
  where it builds: one call per layer, the bias and a ReLU, Leaky ReLU or sigmoid fused
  (other activations follow in torch). Its rows are whole vectors: the batch is padded to
  a multiple of 16 lanes (the pitch), and the padding lanes are computed and never read.
- torch's batched GEMM (``torch.baddbmm`` over a strided view of all windows), the
  reference and the fallback.

With the kernel, :meth:`BatchLastConv1dNet.add_loss_sums` also reduces the head's output
to the engine's loss sums in C (those of :class:`losslandscape.engine.loss.LossSums`),
which the engine uses instead of reducing the logits.

The layers' geometry and memory layout are in
:mod:`losslandscape.engine.cpu.batch_last_layout`.

Measured for the default CNN's pass over its data with its loss sums (one core, batch
1000, ``benchmarks/inference_plan.py``, alternating in one process): the kernel's products
give 1.55× the points per second of torch's GEMM with ReLU, 1.58× with Leaky ReLU, 1.70×
with sigmoid, 1.10× with ELU (applied by torch); its loss sums a further 1.14–1.24×; both
together 2.8–3.2× the channels-last pass for the first three. Its 25→25 products run at
87–108 GFLOP/s, torch's at 55–74. Values equal the plain model's to float32 rounding
(``tests/unit/engine/cpu/test_inference_plan.py``,
``tests/unit/engine/cpu/test_native_kernel.py``).
"""

import torch
from torch import nn
from torch.nn import functional as F

from losslandscape.engine.cpu import native_kernel
from losslandscape.engine.cpu.batch_last_layout import (
    Layer,
    NativeStep,
    Step,
    apply_in_place,
    fused_activation,
    is_pitched,
    pitched,
)


class BatchLastConv1dNet(nn.Module):
    """``convs[i]`` each followed by ``activations[i]`` (element-wise, or ``None``), then
    ``head(flatten(1))``, for inputs laid out by :meth:`prepare`.

    Input of :meth:`forward`: ``(length + 2·padding₀, in_channels, batch)``, the first
    convolution's input zero-padded and batch innermost (for the C kernel, as
    :meth:`prepare` lays it out: the first lanes of rows a whole number of vectors long;
    another layout is copied into that). Output: logits ``(batch, classes)``, a transposed
    view of a ``(classes, batch)`` product. ``native``: use the C kernel for float32 inputs
    (``None``: where it builds; ``True``: fail where it does not). Holds the model's own
    modules, so its parameters are the model's. Forward hooks of the activations do not
    run: their ``forward`` is called directly, to spare a call's overhead."""

    def __init__(self, convs, activations, head: nn.Linear, length: int, native=None):
        super().__init__()
        # the C kernel for float32 on CPU (native None: where it builds; False: never)
        self.kernels = native_kernel.batch_last_kernels() if native is not False else None
        if native and self.kernels is None:
            raise RuntimeError(
                "native=True, but the C kernel could not be built here "
                "(the log of losslandscape.engine.cpu.native_kernel says why)"
            )
        self.convs = nn.ModuleList(convs)
        self.head = head
        self.layers = []
        for conv, activation in zip(convs, activations, strict=True):
            (kernel,), (stride,), (padding,) = conv.kernel_size, conv.stride, conv.padding
            length += 2 * padding
            out = (length - kernel) // stride + 1
            self.layers.append(Layer(conv, activation, length, out))
            length = out
        # per signature: (steps, head input, head bias) for torch's GEMM, steps for the kernel
        self._steps: dict[tuple, tuple | list[NativeStep]] = {}
        # the Parameter objects stay while ``.data`` is re-pointed; listed once, as walking
        # the modules took 19 µs a call
        self._parameters_list = list(self.parameters())

    def prepare(self, inputs: torch.Tensor) -> torch.Tensor:
        """``inputs`` ``(batch, in_channels, length)`` as :meth:`forward` takes them: for
        the kernel, the first lanes of a buffer whose rows are whole vectors long."""
        (padding,) = self.layers[0].conv.padding
        padded = F.pad(inputs, (padding, padding)).permute(2, 1, 0)
        return pitched(padded) if self.uses_kernel(padded) else padded.contiguous()

    def uses_kernel(self, tensor: torch.Tensor) -> bool:
        """Whether inputs like ``tensor`` run through the C kernel (float32 on CPU, where
        the kernel is built and not declined)."""
        return (
            self.kernels is not None
            and tensor.dtype == torch.float32
            and tensor.device.type == "cpu"
        )

    def _signature(self, padded: torch.Tensor) -> tuple:
        """What the cached views depend on: batch size, dtype, device, and where each
        parameter's values lie (the engine may re-point them before its first pass)."""
        places = tuple((p.data_ptr(), p.stride()) for p in self._parameters_list)
        return padded.shape[-1], padded.dtype, padded.device, places

    def _buffer(self, index: int, width: int, like: torch.Tensor):
        """Layer ``index``'s output buffer with rows ``width`` floats long, and the
        ``(length_out, out, width)`` view of it the layer writes. Every later layer reads
        a zero-padded buffer of its own, of which only the interior is ever written, so
        the padding stays zero; the last writes ``(out, length, width)``, the head's
        flatten order."""
        layer = self.layers[index]
        out, length = layer.conv.out_channels, layer.length_out
        if index + 1 < len(self.layers):
            after = self.layers[index + 1]
            (padding,) = after.conv.padding
            buffer = like.new_zeros(after.length_in, out, width)
            return buffer, buffer[padding : padding + length]
        buffer = like.new_zeros(out, length, width)
        return buffer, buffer.permute(1, 0, 2)

    def _build_steps(self, batch: int, like: torch.Tensor):
        """Each layer's :class:`Step`, the head's input ``(channels·length, batch)`` and
        its bias ``(classes, 1)``."""
        steps, source = [], None
        for index, layer in enumerate(self.layers):
            conv, length = layer.conv, layer.length_out
            buffer, target = self._buffer(index, batch, like)
            matrix = layer.stored_matrix()
            bias = conv.bias if conv.bias is not None else like.new_zeros(conv.out_channels)
            activate = layer.activation.forward if layer.activation is not None else None
            steps.append(
                Step(
                    layer,
                    layer.windows(source, batch) if source is not None else None,
                    matrix.expand(length, -1, -1) if matrix is not None else None,
                    bias[None, :, None].expand(length, -1, batch),
                    target,
                    activate,
                )
            )
            source = buffer
        head_bias = self.head.bias[:, None] if self.head.bias is not None else None
        return steps, source.view(-1, batch), head_bias

    def _build_native_steps(self, pitch: int, like: torch.Tensor) -> list[NativeStep]:
        """Each layer's :class:`NativeStep` for rows ``pitch`` floats long, in the
        buffers :meth:`_build_steps` uses; the padding lanes of every row are computed
        and never read across (each lane is one sample)."""
        steps = []
        for index, layer in enumerate(self.layers):
            conv = layer.conv
            (kernel,), (stride,) = conv.kernel_size, conv.stride
            buffer, target = self._buffer(index, pitch, like)
            kind, slope = fused_activation(layer.activation)
            unfused = layer.activation is not None and kind == native_kernel.IDENTITY
            steps.append(
                NativeStep(
                    layer,
                    layer.stored_matrix(),
                    conv.bias.data_ptr() if conv.bias is not None else None,
                    target,
                    buffer,
                    (
                        layer.length_out,
                        kernel * conv.in_channels,
                        conv.out_channels,
                        pitch,
                        stride * conv.in_channels * pitch,
                        target.stride(0),  # next output position
                        target.stride(1),  # next output channel
                    ),
                    kind,
                    slope,
                    layer.activation.forward if unfused else None,
                )
            )
        return steps

    def _logits_native(self, padded: torch.Tensor) -> torch.Tensor:
        """Logits ``(classes, pitch)`` of the C kernel's pass, one call per layer and one
        for the head; the first ``batch`` lanes are the samples'."""
        if not is_pitched(padded):  # not laid out by prepare
            padded = pitched(padded)
        pitch = padded.stride(1)
        key = ("native", pitch, *self._signature(padded)[1:])
        if key not in self._steps:
            self._steps[key] = self._build_native_steps(pitch, padded)
        source = padded
        for step in self._steps[key]:
            weight = step.weight
            if weight is None:
                weight = step.layer.weight_matrix().contiguous()
            self.kernels.conv(
                source.data_ptr(),
                weight.data_ptr(),
                step.bias,
                step.target.data_ptr(),
                *step.geometry,
                step.kind,
                step.slope,
            )
            if step.activate is not None:
                apply_in_place(step.activate, step.target)
            source = step.buffer
        weight = self.head.weight.contiguous()  # kept alive through the call, as bias
        bias = self.head.bias.contiguous() if self.head.bias is not None else None
        logits = padded.new_empty(self.head.out_features, pitch)
        self.kernels.conv(
            source.data_ptr(),
            weight.data_ptr(),
            bias.data_ptr() if bias is not None else None,
            logits.data_ptr(),
            1,
            self.head.in_features,
            self.head.out_features,
            pitch,
            0,
            0,
            pitch,
            native_kernel.IDENTITY,
            0.0,
        )
        return logits

    def add_loss_sums(self, padded: torch.Tensor, labels: torch.Tensor, sums: torch.Tensor):
        """Add the batch's summed cross-entropy (nats), summed squared cross-entropy and
        number of correct predictions to ``sums`` ``(3,)`` float64 (any stride), computed
        from the head's output by the C kernel: what
        :class:`~losslandscape.engine.loss.LossSums` adds from :meth:`forward`'s logits, in
        one call instead of some fifteen torch operations. Only for inputs :meth:`forward`
        runs through the kernel (float32 on CPU)."""
        if not self.uses_kernel(padded):
            raise ValueError(
                f"add_loss_sums runs the C kernel only: inputs must be float32 on CPU with "
                f"the kernel built, found {padded.dtype} on {padded.device}"
            )
        if sums.dtype != torch.float64 or sums.shape != (3,) or sums.device.type != "cpu":
            raise ValueError(
                f"sums must be (3,) float64 on CPU, found {tuple(sums.shape)} {sums.dtype} "
                f"on {sums.device}"
            )
        if labels.shape != (padded.shape[-1],):  # the kernel reads one label per sample
            raise ValueError(
                f"labels must be ({padded.shape[-1]},), one per sample of the batch, "
                f"found {tuple(labels.shape)}"
            )
        logits = self._logits_native(padded)
        labels = labels.to(torch.int64).contiguous()
        classes, pitch = logits.shape
        bad = self.kernels.cross_entropy_sums(
            logits.data_ptr(),
            labels.data_ptr(),
            classes,
            padded.shape[-1],
            pitch,
            sums.data_ptr(),
            sums.stride(0),
        )
        if bad:
            raise ValueError(
                f"label {int(labels[bad - 1])} of sample {bad - 1} in this batch is not a "
                f"class of this model's {classes} (expected 0 to {classes - 1})"
            )

    def forward(self, padded: torch.Tensor) -> torch.Tensor:
        if self.uses_kernel(padded):
            return self._logits_native(padded)[:, : padded.shape[-1]].t()
        batch = padded.shape[-1]
        key = self._signature(padded)
        if key not in self._steps:  # kept per batch size: a split's last batch is shorter
            self._steps[key] = self._build_steps(batch, padded)
        steps, flat, head_bias = self._steps[key]
        for step in steps:
            windows = step.windows
            if windows is None:  # the first layer reads this call's input
                windows = step.layer.windows(padded, batch)
            weight = step.weight
            if weight is None:
                weight = step.layer.weight_matrix().expand(step.layer.length_out, -1, -1)
            torch.baddbmm(step.bias, weight, windows, out=step.target)
            if step.activate is not None:
                apply_in_place(step.activate, step.target)
        if head_bias is None:
            return torch.mm(self.head.weight, flat).t()
        return torch.addmm(head_bias, self.head.weight, flat).t()
