"""Graph rewrites of the engine's model copy for evaluating many points on fixed data (CPU).

A grid evaluation runs the same data through the same architecture thousands of times with
only the weights changing, so work that depends on the data alone can be done once, and
layout copies can be folded into the weights. Two rewrites of the model's ``torch.fx``
graph, each applied only where its pattern is present:

- **First-layer patches.** A thin first ``Conv1d`` (few input channels × kernel taps, e.g.
  the mnist1d CNN's 1→25 k5) is a poor fit for oneDNN's convolution kernels: on one core,
  batch 1000, it takes 0.35 ms for 4.8 MFLOP. Its input patches (im2col) depend on the data
  only, so :meth:`InferencePlan.prepare` builds them once per batch and the layer becomes
  one oneDNN matrix product, 0.12–0.17 ms. The activation after it (ReLU, leaky ReLU,
  sigmoid, tanh, SiLU, GELU) is applied by oneDNN as the product is written, saving a pass
  over the layer's output (6 % of a point's time, median of 6 interleaved rounds).
- **Channels-last flatten → Linear.** Flattening a channels-last activation copies it into
  channel-major order (0.12–0.14 ms for the mnist1d CNN's 25×5 features); flattening it in
  memory order instead is free when the Linear's weight columns are permuted to match
  (1,250 numbers per batch). With oneDNN's matrix product the head takes 0.06 ms instead
  of 0.20.

Every rewrite computes the same function to float32 rounding (``tests/test_inference_plan.py``
checks them against the plain model). A model ``torch.fx`` cannot trace keeps its plain
forward pass.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import fx, nn
from torch.nn import functional as F

from losslandscape.channels_last import ChannelsLastConv1d, as_channels_last

log = logging.getLogger(__name__)

# a first convolution with at most this many input channels × taps is computed from patches
THIN_CONVOLUTION_TAPS = 16
# ... when its patches are at most this many times the size of the data they come from
PATCH_EXPANSION_LIMIT = 4.0


def linear(inputs: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None):
    """``F.linear`` through oneDNN's matrix product where this build has it.

    Hand-picked rather than left to ``F.linear`` (MKL): for the thin products of a grid
    evaluation (K ≤ 125, ≤ 25 outputs) oneDNN measured 1.5–2× faster on this project's
    machine. ``torch.ops.mkldnn._linear_pointwise`` is the op ``torch.compile`` itself
    emits for linear layers on CPU."""
    if inputs.device.type == "cpu" and _ONEDNN_LINEAR is not None:
        return _ONEDNN_LINEAR(inputs, weight, bias, "none", [], "")
    return F.linear(inputs, weight, bias)


def _fusable(activation: nn.Module) -> tuple[str, list, str] | None:
    """oneDNN's post-op (name, scalars, algorithm) computing ``activation``, if it has one
    (the names ``torch.compile`` passes to ``_linear_pointwise``)."""
    if _ONEDNN_LINEAR is None:
        return None
    if isinstance(activation, nn.ReLU):
        return ("relu", [], "")
    if isinstance(activation, nn.LeakyReLU):
        return ("leaky_relu", [activation.negative_slope], "")
    if isinstance(activation, nn.Sigmoid):
        return ("sigmoid", [], "")
    if isinstance(activation, nn.Tanh):
        return ("tanh", [], "")
    if isinstance(activation, nn.SiLU):
        return ("swish", [], "")
    if isinstance(activation, nn.GELU):
        return ("gelu", [], activation.approximate)
    return None


_ONEDNN_LINEAR = (
    getattr(torch.ops.mkldnn, "_linear_pointwise", None)
    if torch.backends.mkldnn.is_available()
    else None
)


def conv1d_patches(conv: nn.Conv1d, inputs: torch.Tensor) -> torch.Tensor:
    """The patches ``(batch, length', in_channels·kernel)`` of ``inputs`` ``(batch,
    in_channels, length)`` under ``conv``'s padding, stride and dilation, each patch in
    the order of ``conv.weight.view(out_channels, -1)``'s columns."""
    columns = F.unfold(
        inputs.unsqueeze(2),
        (1, conv.kernel_size[0]),
        dilation=(1, conv.dilation[0]),
        padding=(0, conv.padding[0]),
        stride=(1, conv.stride[0]),
    )  # (batch, in_channels·kernel, length')
    return columns.transpose(1, 2).contiguous()


class PatchConv1d(nn.Module):
    """A ``Conv1d`` computed from its precomputed input patches (:func:`conv1d_patches`) as
    one matrix product, and the activation after it where oneDNN can apply it to the
    product's output as it is written (``fused``, from :func:`_fusable`). Input ``(batch,
    length', in_channels·kernel)``; output ``(batch, out_channels, length')`` with
    channels-last strides, as :class:`ChannelsLastConv1d`'s. Holds the convolution itself,
    so its parameters stay those of the model."""

    def __init__(self, conv: nn.Conv1d, fused: tuple[str, list, str] | None = None):
        super().__init__()
        self.conv, self.fused = conv, fused

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        weight = self.conv.weight.view(self.conv.out_channels, -1)
        if self.fused is None:
            out = linear(patches, weight, self.conv.bias)
        else:
            out = _ONEDNN_LINEAR(patches, weight, self.conv.bias, *self.fused)
        return out.transpose(1, 2)


class FlattenLinear(nn.Module):
    """``linear(hidden.flatten(1))`` that flattens a channels-last ``hidden`` ``(batch,
    channels, *positions)`` in memory order, with no copy, and permutes the weight's
    columns to match. Any other layout is flattened as usual."""

    def __init__(self, linear_layer: nn.Linear):
        super().__init__()
        self.linear = linear_layer

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        weight = self.linear.weight
        if hidden.dim() >= 3 and _is_channels_last(hidden):
            # memory order (batch, *positions, channels): a view; the weight's columns
            # (channels, *positions) are permuted into the same order
            flat = hidden.movedim(1, -1).reshape(len(hidden), -1)
            weight = weight.view(len(weight), *hidden.shape[1:]).movedim(1, -1)
            weight = weight.reshape(len(weight), -1)
        else:
            flat = hidden.flatten(1)
        return linear(flat, weight, self.linear.bias)


def _is_channels_last(tensor: torch.Tensor) -> bool:
    """Whether ``tensor`` ``(batch, channels, *positions)`` is dense in the order (batch,
    *positions, channels)."""
    return tensor.movedim(1, -1).is_contiguous()


@dataclass
class InferencePlan:
    """How the engine runs its model copy on fixed data.

    ``prepare`` maps a batch of data ``(batch, …)`` to what ``forward`` takes; it depends on
    the data only, so the engine calls it once per batch and reuses the result at every
    point. ``forward`` returns the model's logits ``(batch, classes)``. ``rewrites`` names
    what was changed (for logs and tests)."""

    forward: Callable[[torch.Tensor], torch.Tensor]
    prepare: Callable[[torch.Tensor], torch.Tensor]
    rewrites: tuple[str, ...] = ()


class _LeavesTracer(fx.Tracer):
    """Keeps every module without children as one graph node (the engine's channels-last
    and in-place layers are subclasses outside ``torch.nn`` that fx would trace into)."""

    def is_leaf_module(self, module: nn.Module, qualified_name: str) -> bool:
        return not any(True for _ in module.children()) or super().is_leaf_module(
            module, qualified_name
        )


def plan_inference(model: nn.Module, sample: torch.Tensor) -> InferencePlan:
    """An :class:`InferencePlan` for ``model`` (the engine's copy, already converted to
    channels-last convolutions) on data like ``sample`` ``(batch, …)``. Models that
    ``torch.fx`` cannot trace, or that have neither pattern, keep their forward pass."""
    plain = InferencePlan(model, as_channels_last)
    try:
        graph = _LeavesTracer().trace(model)
    except Exception as error:  # data-dependent control flow and the like: run as it is
        log.info("model not traced (%s: %s); no graph rewrites", type(error).__name__, error)
        return plain
    modules = dict(model.named_modules())
    rewrites = []
    prepare = as_channels_last
    first = _thin_first_convolution(graph, modules, model, sample)
    if first is not None:
        node, conv = first
        prepare = _patch_preparer(model, conv)
        (user,) = node.users if len(node.users) == 1 else (None,)
        fused = _fusable(modules[user.target]) if user and user.op == "call_module" else None
        modules[f"{node.target}_patches"] = PatchConv1d(conv, fused)
        with graph.inserting_before(node):
            patched = graph.call_module(f"{node.target}_patches", (_placeholder(graph),))
        node.replace_all_uses_with(patched)
        graph.erase_node(node)
        rewrites.append(f"patches for {node.target}")
        if fused is not None:
            user.replace_all_uses_with(patched)
            graph.erase_node(user)
            rewrites.append(f"{user.target} fused into it")
    for node in list(graph.nodes):
        head = _flattened_linear(node, modules)
        if head is not None:
            target = f"{head.target}_flattened"
            modules[target] = FlattenLinear(modules[head.target])
            with graph.inserting_before(head):
                flattened = graph.call_module(target, (node.args[0],))
            head.replace_all_uses_with(flattened)
            graph.erase_node(head)
            graph.erase_node(node)
            rewrites.append(f"flatten into {head.target}")
    if not rewrites:
        return plain
    used = {n.target for n in graph.nodes if n.op in ("call_module", "get_attr")}
    rewritten = fx.GraphModule({name: modules[name] for name in used}, graph)
    rewritten.graph.eliminate_dead_code()  # the input's shape operations before the patches
    rewritten.recompile()
    log.info("inference plan: %s", "; ".join(rewrites))
    return InferencePlan(rewritten, prepare, tuple(rewrites))


def _placeholder(graph: fx.Graph) -> fx.Node:
    return next(n for n in graph.nodes if n.op == "placeholder")


def _depends_on_data_only(node: fx.Node) -> set[fx.Node]:
    """The nodes ``node`` is computed from, itself included, when none of them reads a
    parameter or runs a module (shape operations on the input); empty otherwise."""
    seen, stack = set(), [node]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        if current.op not in ("placeholder", "call_method", "call_function"):
            return set()
        seen.add(current)
        stack.extend(current.all_input_nodes)
    return seen


def _thin_first_convolution(graph, modules, model, sample):
    """The graph node and module of a thin ``ChannelsLastConv1d`` that reads the input
    through shape operations only, and through which alone the input reaches the rest of
    the model; ``None`` when there is none or its patches would be too large."""
    placeholders = [n for n in graph.nodes if n.op == "placeholder"]
    if len(placeholders) != 1:
        return None
    for node in graph.nodes:
        if node.op != "call_module":
            continue
        conv = modules[node.target]
        if not isinstance(conv, ChannelsLastConv1d):
            return None  # the first module run is not such a convolution
        prefix = _depends_on_data_only(node.args[0]) if node.args else set()
        private = all(set(p.users) <= prefix | {node} for p in prefix)
        thin = conv.in_channels * conv.kernel_size[0] <= THIN_CONVOLUTION_TAPS
        plain = conv.groups == 1 and not isinstance(conv.padding, str)
        if not (prefix and private and thin and plain and len(node.args) == 1):
            return None
        expansion = _patch_preparer(model, conv)(sample).numel() / sample.numel()
        return (node, conv) if expansion <= PATCH_EXPANSION_LIMIT else None
    return None


class _Captured(Exception):
    def __init__(self, inputs: torch.Tensor):
        self.inputs = inputs


def _patch_preparer(model: nn.Module, conv: nn.Conv1d):
    """``inputs → conv1d_patches(conv, what conv receives from inputs)``: runs ``model`` up
    to ``conv`` (shape operations only) and stops there."""

    def capture(_module, args):
        raise _Captured(args[0])

    def prepare(inputs: torch.Tensor) -> torch.Tensor:
        handle = conv.register_forward_pre_hook(capture)
        try:
            model(inputs)
        except _Captured as captured:
            return conv1d_patches(conv, captured.inputs)
        finally:
            handle.remove()
        raise RuntimeError("the first convolution was not reached")  # pragma: no cover

    return prepare


def _flattened_linear(node: fx.Node, modules: dict[str, nn.Module]) -> fx.Node | None:
    """The ``nn.Linear`` node that is the only user of ``node`` when ``node`` is
    ``x.flatten(1)`` or ``torch.flatten(x, 1)`` over all remaining dimensions."""
    is_method = node.op == "call_method" and node.target == "flatten"
    is_function = node.op == "call_function" and node.target is torch.flatten
    if not (is_method or is_function) or len(node.users) != 1:
        return None
    arguments = list(node.args[1:]) + [node.kwargs.get(k) for k in ("start_dim", "end_dim")]
    given = [a for a in arguments if a is not None]
    if given not in ([1], [1, -1]):
        return None
    (user,) = node.users
    if (
        user.op == "call_module"
        and isinstance(modules.get(user.target), nn.Linear)
        and user.args == (node,)
        and not user.kwargs
    ):
        return user
    return None
