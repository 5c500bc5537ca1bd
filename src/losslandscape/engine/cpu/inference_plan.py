"""A graph rewrite of the engine's model copy for evaluating many points on fixed data (CPU).

A grid evaluation runs the same data through the same architecture thousands of times with
only the weights changing. Where the model's ``torch.fx`` graph is a plain stack, input
shape operations → (``Conv1d`` → element-wise activation)+ → flatten → ``Linear``, as the
mnist1d CNN is, the whole forward pass is replaced by
:class:`~losslandscape.engine.cpu.batch_last.BatchLastConv1dNet`, which computes it with the batch
innermost; its data layout depends on the data only, so :meth:`InferencePlan.prepare`
builds it once per batch for all points. Any other model keeps its forward pass, as does
one ``torch.fx`` cannot trace.

Earlier rewrites of single layers (the first convolution from precomputed patches as a
oneDNN product with the activation fused, a flatten into the head with permuted weight
columns instead of a copy) gained 1.1–1.2× on the default CNN; the whole stack with the
batch innermost gains more (``benchmarks/inference_plan.py``) and replaced them.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import fx, nn

from losslandscape.engine.cpu.batch_last import BatchLastConv1dNet
from losslandscape.engine.cpu.batch_last_layout import WEIGHT_STORAGE_ORDER
from losslandscape.engine.cpu.channels_last import as_channels_last

log = logging.getLogger(__name__)


@dataclass
class InferencePlan:
    """How the engine runs its model copy on fixed data.

    ``prepare`` maps a batch of data ``(batch, …)`` to what ``forward`` takes; it depends on
    the data only, so the engine calls it once per batch and reuses the result at every
    point. ``forward`` returns the model's logits ``(batch, classes)``. ``rewrites`` names
    what was changed (for logs and tests). ``storage_orders`` maps parameter names to the
    order of dimensions in which ``forward`` would have them stored (for
    :func:`losslandscape.parameters.store_permuted`); ``forward`` is correct either way,
    faster so. ``add_loss_sums(prepared, labels, sums)``, where given, adds a batch's
    summed cross-entropy, summed squared cross-entropy and correct predictions to ``sums``
    ``(3,)`` float64 in one step (instead of ``forward`` and reducing its logits)."""

    forward: Callable[[torch.Tensor], torch.Tensor]
    prepare: Callable[[torch.Tensor], torch.Tensor]
    rewrites: tuple[str, ...] = ()
    storage_orders: dict[str, tuple[int, ...]] = field(default_factory=dict)
    add_loss_sums: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], None] | None = None


class _LeavesTracer(fx.Tracer):
    """Keeps every module without children as one graph node (the engine's channels-last
    and in-place layers are subclasses outside ``torch.nn`` that fx would trace into)."""

    def is_leaf_module(self, module: nn.Module, qualified_name: str) -> bool:
        return not any(True for _ in module.children()) or super().is_leaf_module(
            module, qualified_name
        )


def plan_inference(
    model: nn.Module, sample: torch.Tensor, native: bool | None = None
) -> InferencePlan:
    """An :class:`InferencePlan` for ``model`` (the engine's copy, in eval mode, its
    convolutions already channels-last) on data like ``sample`` ``(batch, …)``. Models
    that ``torch.fx`` cannot trace, or that are not such a stack, keep their forward pass
    with channels-last inputs. ``native``: whether the batch-innermost stack uses the C
    kernel (:mod:`losslandscape.engine.cpu.native_kernel`; ``None``: where it builds)."""
    plain = InferencePlan(model, as_channels_last)
    try:
        graph = _LeavesTracer().trace(model)
    except Exception as error:  # data-dependent control flow and the like: run as it is
        log.info("model not traced (%s: %s); no graph rewrite", type(error).__name__, error)
        return plain
    stack = _batch_last_stack(graph, dict(model.named_modules()), model, sample, native)
    if stack is None:
        return plain
    net, prepare, names, head = stack
    products = "C kernel" if net.kernels is not None else "torch GEMM"
    rewrite = f"batch innermost ({products}): {', '.join(names)} → {head}"
    log.info("inference plan: %s", rewrite)
    orders = {f"{name}.weight": WEIGHT_STORAGE_ORDER for name in names}
    add_loss_sums = net.add_loss_sums if net.uses_kernel(sample) else None
    return InferencePlan(net, prepare, (rewrite,), orders, add_loss_sums)


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


class _Captured(Exception):
    def __init__(self, inputs: torch.Tensor):
        self.inputs = inputs


def _input_of(model: nn.Module, module: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """What ``module`` receives when ``model`` runs on ``inputs``: runs ``model`` up to it
    (shape operations only, for the first module) and stops there."""

    def capture(_module, args):
        raise _Captured(args[0])

    handle = module.register_forward_pre_hook(capture)
    try:
        model(inputs)
    except _Captured as captured:
        return captured.inputs
    finally:
        handle.remove()
    raise RuntimeError(f"{type(module).__name__} was not reached")  # pragma: no cover


# element-wise activations (one value in, one out), which the batch-last stack may apply
# in its own layout
_ELEMENTWISE = (
    nn.ReLU,
    nn.LeakyReLU,
    nn.Sigmoid,
    nn.Tanh,
    nn.ELU,
    nn.GELU,
    nn.SiLU,
    nn.Softplus,
    nn.Mish,
    nn.SELU,
    nn.CELU,
    nn.Hardtanh,
    nn.Hardswish,
    nn.Hardsigmoid,
)


def _is_plain_conv1d(module: nn.Module | None) -> bool:
    """A zero-padded, ungrouped, undilated ``Conv1d`` with numeric padding."""
    return (
        isinstance(module, nn.Conv1d)
        and module.padding_mode == "zeros"
        and module.groups == 1
        and module.dilation == (1,)
        and not isinstance(module.padding, str)
    )


def _only_user(node: fx.Node) -> fx.Node | None:
    return next(iter(node.users)) if len(node.users) == 1 else None


def _batch_last_stack(graph, modules, model, sample, native):
    """A :class:`BatchLastConv1dNet`, its data preparation, the convolutions' and the
    head's names when the whole model is input shape operations → (Conv1d → element-wise
    activation?)+ → flatten → Linear; ``None`` otherwise."""
    placeholders = [n for n in graph.nodes if n.op == "placeholder"]
    first = next((n for n in graph.nodes if n.op == "call_module"), None)
    if len(placeholders) != 1 or first is None or len(first.args) != 1:
        return None
    prefix = _depends_on_data_only(first.args[0])
    if not prefix or not all(set(p.users) <= prefix | {first} for p in prefix):
        return None
    convs, activations = [], []
    node, source = first, first.args[0]
    while node is not None and node.op == "call_module" and _is_plain_conv1d(modules[node.target]):
        conv = modules[node.target]
        if node.args != (source,) or node.kwargs:
            return None
        source, activation = node, None
        follower = _only_user(node)
        if (
            follower is not None
            and follower.op == "call_module"
            and isinstance(modules[follower.target], _ELEMENTWISE)
            and follower.args == (node,)
        ):
            activation, source = modules[follower.target], follower
        convs.append(conv)
        activations.append(activation)
        node = _only_user(source)
    if node is None or not convs or not node.args or node.args[0] is not source:
        return None
    head = _flattened_linear(node, modules)
    output = _only_user(head) if head is not None else None
    if output is None or output.op != "output" or output.args != (head,):
        return None
    first_input = _input_of(model, convs[0], sample)
    if first_input.dim() != 3:  # (batch, channels, length) only
        return None
    length = first_input.shape[-1]
    net = BatchLastConv1dNet(convs, activations, modules[head.target], length, native)

    def prepare(inputs: torch.Tensor) -> torch.Tensor:
        return net.prepare(_input_of(model, convs[0], inputs))

    names = [n for n, m in modules.items() if any(m is c for c in convs)]
    return net, prepare, names, head.target


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
