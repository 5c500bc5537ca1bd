"""The model copy the engine evaluates: parameters that are views of one flat vector, so
that moving to a point is one in-place write, with its BatchNorm statistics recomputed
where asked and, on CPU, its forward pass rewritten for speed
(:mod:`losslandscape.engine.cpu`)."""

import copy

import torch
from torch import nn

from losslandscape.engine.cpu.channels_last import as_channels_last, convert_convolutions
from losslandscape.engine.cpu.inference_plan import InferencePlan, plan_inference
from losslandscape.engine.cpu.inplace_activations import make_activations_inplace
from losslandscape.parameters import ParameterLayout, store_permuted


def unchanged(inputs: torch.Tensor) -> torch.Tensor:
    """The preparation of data for a model copy that runs the model's own forward pass."""
    return inputs


def has_convolutions(model: nn.Module) -> bool:
    """Whether any module of ``model`` is a convolution (the layers a layout changes)."""
    return any(isinstance(m, nn.modules.conv._ConvNd) for m in model.modules())


def has_batchnorm(model: nn.Module) -> bool:
    """Whether any module of ``model`` is a BatchNorm layer."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


def model_on_flat_vector(model: nn.Module) -> tuple[nn.Module, torch.Tensor]:
    """A copy of ``model`` in eval mode whose parameters are views into one flat vector.

    Writing a point into the returned vector ``(n_params,)`` moves the copy there with no
    per-call reparametrization (measured 10 % faster than ``functional_call`` on the
    default CNN); buffers are the copy's own.
    """
    twin = copy.deepcopy(model).eval()
    layout = ParameterLayout.of(twin)
    flat = layout.flatten(dict(twin.named_parameters())).detach().clone()
    views = layout.unflatten(flat)
    for name, parameter in twin.named_parameters():
        parameter.data = views[name]
    return twin, flat


def recompute_batchnorm(model: nn.Module, inputs: torch.Tensor, batch_size: int) -> None:
    """Reset every BatchNorm's running statistics to those of ``inputs`` ``(n, …)``, leaving
    ``model`` in eval mode (Garipov et al. 2018, §3.3 on BatchNorm; Izmailov et al. 2018's
    ``bn_update``).

    The inputs pass in train mode (each layer normalized with its batch's statistics, as
    in training), in ``n // batch_size`` near-equal batches (the remainder spread over them,
    so none is shorter than ``batch_size``; one batch of all ``n`` when ``n`` is smaller), and
    each layer's running mean and (unbiased) variance are the pooled statistics of
    everything it saw: the sample-weighted mean of the batch means, and the within-batch
    plus between-batch variance (combined as Chan, Golub & LeVeque 1979 do, in float64).
    PyTorch's cumulative average (``momentum=None``) weighs every batch alike, so a batch of
    9 counted as much as one of 991 (issue 21). Deeper layers see inputs normalized per
    batch, so their statistics depend on ``batch_size``: callers pass a fixed one (the
    workflow: ``landscape.batchnorm_batch_size``, by default the training batch size),
    never one lowered to fit memory, which had moved a real grid's loss by up to
    0.033 nats between memory budgets.

    Only the BatchNorm layers are put in training mode: dropout and stochastic depth stay
    off, so the statistics are those of the deterministic network that is evaluated.

    Raises:
        ValueError: a batch of fewer than 2 samples (no variance to estimate).
    """
    norms = [
        m
        for m in model.modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.running_mean is not None
    ]
    model.eval()
    if not norms:  # none, or only layers that always normalize with their batch's statistics
        return
    if min(len(inputs), batch_size) < 2:
        raise ValueError(
            f"recomputing BatchNorm statistics needs batches of at least 2 samples; found "
            f"{len(inputs)} samples in batches of {batch_size}: raise "
            f"landscape.batchnorm_samples or landscape.batchnorm_batch_size (null: "
            f"training.batch_size)"
        )
    # no short last batch: its statistics would weigh a few samples' normalization alike
    chunks = torch.tensor_split(inputs, max(1, len(inputs) // batch_size))
    # per layer and batch: sample count, per-channel mean and (biased) variance, each batch
    # reduced in the input's own dtype (no float64 copy of the activations)
    recorded: dict[nn.Module, list[tuple[int, torch.Tensor, torch.Tensor]]] = {m: [] for m in norms}

    def record(module, args):
        x = args[0].detach()
        dims = [d for d in range(x.dim()) if d != 1]
        # centred on the first sample's channel means first: float32 sums of values far
        # from zero lose the spread (a mean of 1e7 had put the variance 2 % off)
        shape = [1, x.shape[1]] + [1] * (x.dim() - 2)
        reference = x[:1].mean(dim=dims, keepdim=True).reshape(shape)
        variance, mean = torch.var_mean(x - reference, dim=dims, correction=0)
        mean = mean.double() + reference.reshape(-1).double()
        recorded[module].append((x.numel() // x.shape[1], mean, variance.double()))

    hooks = [m.register_forward_pre_hook(record) for m in norms]
    for module in norms:
        module.train()
    try:
        for chunk in chunks:
            model(chunk)
    finally:
        for hook in hooks:
            hook.remove()
        for module in norms:
            module.eval()
    for module, batches in recorded.items():
        if not batches:  # a layer this forward pass never reaches keeps its statistics
            continue
        count, mean, m2 = 0, torch.zeros_like(batches[0][1]), torch.zeros_like(batches[0][1])
        for n, batch_mean, batch_variance in batches:  # Chan et al. (1979)'s pairwise update
            delta = batch_mean - mean
            total = count + n
            mean = mean + delta * (n / total)
            m2 = m2 + batch_variance * n + delta * delta * (count * n / total)
            count = total
        module.running_mean.copy_(mean.to(module.running_mean.dtype))
        module.running_var.copy_((m2 / max(count - 1, 1)).to(module.running_var.dtype))
        module.num_batches_tracked.fill_(len(batches))


def evaluation_copy(
    model: nn.Module,
    sample: torch.Tensor,
    rewrite: bool = True,
    native: bool | None = None,
    layout: str = "channels_last",
) -> tuple[nn.Module, torch.Tensor, InferencePlan, torch.Tensor | None]:
    """The model copy a :class:`~losslandscape.engine.evaluators.PointEvaluator` runs, for
    data like ``sample`` ``(1, …)``.

    Returns the copy (its parameters views of one flat vector, its activations in place),
    that flat vector ``(n_params,)``, the :class:`InferencePlan` that runs it, and the
    index that moves a vector in :class:`ParameterLayout` order into the flat vector's
    order (``None`` where the orders are the same). On CPU with ``layout``
    ``channels_last`` the copy's convolutions run channels-last and, with ``rewrite``, its
    forward pass is planned (:func:`plan_inference`, ``native`` as there), the weights
    stored as the plan reads them; with ``default`` it runs its own forward pass."""
    twin, flat = model_on_flat_vector(model)
    make_activations_inplace(twin)  # the copy only ever runs under inference_mode
    # channels-last convolutions and the graph rewrites were measured on CPU only
    # (losslandscape.engine.cpu.channels_last, losslandscape.engine.cpu.inference_plan);
    # GPUs keep PyTorch's default layout and the model's own forward pass
    channels_last = (
        layout == "channels_last" and sample.device.type == "cpu" and convert_convolutions(twin)
    )
    if channels_last and rewrite:
        plan = plan_inference(twin, sample, native)
    else:
        plan = InferencePlan(twin, as_channels_last if channels_last else unchanged)
    index = None
    if plan.storage_orders:
        index = store_permuted(twin, flat, plan.storage_orders)
    return twin, flat, plan, index
