"""Evaluation strategies: loss, its standard error and accuracy at many parameter points.

A point is ``origin + x·u + y·v`` for plane coordinates ``(x, y)``; every strategy takes
the points as an array ``(n_points, 2)`` and returns, per split, ``(n_points,)`` arrays.
All strategies evaluate with no autograd on data resident on the device, visit each point
once for every split, and agree with the plain reference loop
(:func:`losslandscape.landscape.evaluate_grid_reference`) to float32 rounding:

- ``point``: one point at a time through a model copy whose parameters are views into one
  flat vector, so moving to a point is one in-place ``origin + x·u + y·v``; big batches.
- ``vmap``: ``torch.func.functional_call`` under ``torch.vmap`` over a stack of points.
- ``compile``: ``point`` with the forward pass ``torch.compile``d.
- ``pool``: ``point`` in worker processes with one thread each, the points shared out.

``auto`` measures the candidates on a few points and keeps the fastest
(:func:`choose_strategy`).
"""

import concurrent.futures
import copy
import logging
import multiprocessing
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from losslandscape.parameters import ParameterLayout

log = logging.getLogger(__name__)

STRATEGIES = ("point", "vmap", "compile", "pool")
BATCHNORM_MODES = ("keep", "recompute")
QUANTITIES = ("loss", "loss_sem", "accuracy")

Splits = dict[str, tuple[torch.Tensor, torch.Tensor]]
Results = dict[str, np.ndarray]


@dataclass(frozen=True)
class EvaluationOptions:
    """How points are evaluated (see docs/data-model.md for what each choice records).

    batch_size: samples per forward pass (lowered to fit ``memory_budget_mb``).
    batchnorm: ``keep`` the trained running statistics (Li et al.), or ``recompute`` them
        at every point from ``batchnorm_inputs`` (Garipov et al.); models without BatchNorm
        are unaffected.
    batchnorm_inputs: ``(n, …)`` fixed training samples for ``recompute``.
    points_per_pass: points stacked in one ``vmap`` pass.
    workers: processes of the ``pool`` strategy.
    memory_budget_mb: bound on activation memory (MiB) of one forward pass.
    """

    batch_size: int = 1000
    batchnorm: str = "keep"
    batchnorm_inputs: torch.Tensor | None = None
    points_per_pass: int = 8
    workers: int = 1
    memory_budget_mb: float = 2048.0


def has_batchnorm(model: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


def activation_bytes_per_sample(model: nn.Module, sample: torch.Tensor) -> int:
    """Bytes of every module output for one sample ``(1, …)``: a bound on what a forward
    pass holds at once, used to size batches to the memory budget."""
    total = 0

    def count(_module, _inputs, output):
        nonlocal total
        if isinstance(output, torch.Tensor):
            total += output.numel() * output.element_size()

    handles = [m.register_forward_hook(count) for m in model.modules()]
    try:
        with torch.inference_mode():
            model.eval()(sample)
    finally:
        for handle in handles:
            handle.remove()
    return max(total, 1)


def budget_batch_size(
    model: nn.Module, sample: torch.Tensor, requested: int, budget_mb: float, points: int = 1
) -> int:
    """The largest batch ≤ ``requested`` whose activations for ``points`` stacked points
    fit in ``budget_mb``; raises when not even one sample fits."""
    per_sample = activation_bytes_per_sample(model, sample) * points
    fitting = int(budget_mb * 2**20 // per_sample)
    if fitting < 1:
        raise ValueError(
            f"memory budget {budget_mb} MiB is too small: one sample needs "
            f"{per_sample / 2**20:.1f} MiB of activations; raise landscape.memory_budget_mb"
        )
    return max(1, min(requested, fitting))


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
    """Reset every BatchNorm's running statistics to the exact average over ``inputs``
    (``momentum=None`` averages batches cumulatively), leaving ``model`` in eval mode."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    momenta = [m.momentum for m in norms]
    for module in norms:
        module.reset_running_stats()
        module.momentum = None
    model.train()
    for start in range(0, len(inputs), batch_size):
        model(inputs[start : start + batch_size])
    model.eval()
    for module, momentum in zip(norms, momenta, strict=True):
        module.momentum = momentum


class _Accumulator:
    """Sums of per-sample losses, their squares and correct predictions for one split."""

    def __init__(self, n_points: int):
        self.loss = np.zeros(n_points)
        self.square = np.zeros(n_points)
        self.correct = np.zeros(n_points)

    def add(self, index, logits: torch.Tensor, labels: torch.Tensor) -> None:
        """``logits`` ``(…, batch, n_classes)`` for the points ``index`` (int or slice)."""
        if logits.dim() == 2:
            losses = F.cross_entropy(logits, labels, reduction="none")
        else:  # (points, batch, classes): cross_entropy wants the classes second
            losses = F.cross_entropy(
                logits.transpose(1, 2), labels.expand(logits.shape[:2]), reduction="none"
            )
        losses = losses.double()
        self.loss[index] += losses.sum(-1).cpu().numpy()
        self.square[index] += losses.square().sum(-1).cpu().numpy()
        self.correct[index] += (logits.argmax(-1) == labels).sum(-1).cpu().numpy()

    def results(self, split: str, n: int) -> Results:
        mean = self.loss / n
        variance = np.maximum(self.square / n - mean**2, 0.0) * n / max(n - 1, 1)
        return {
            f"{split}_loss": mean,
            f"{split}_loss_sem": np.sqrt(variance / n),
            f"{split}_accuracy": self.correct / n,
        }


def _finish(accumulators: dict[str, _Accumulator], splits: Splits) -> Results:
    out: Results = {}
    for split, acc in accumulators.items():
        out |= acc.results(split, len(splits[split][1]))
    return out


def _flat_points(origin, u, v, coords: np.ndarray) -> torch.Tensor:
    """``(n_points, n_params)`` parameter vectors for ``coords`` ``(n_points, 2)``."""
    xs = torch.as_tensor(coords[:, 0], dtype=origin.dtype, device=origin.device)
    ys = torch.as_tensor(coords[:, 1], dtype=origin.dtype, device=origin.device)
    return origin + xs[:, None] * u + ys[:, None] * v


def _pointwise(
    model, origin, u, v, coords, splits, options, forward_of=lambda twin: twin
) -> Results:
    twin, flat = model_on_flat_vector(model)
    forward = forward_of(twin)
    accumulators = {split: _Accumulator(len(coords)) for split in splits}
    recompute = options.batchnorm == "recompute" and has_batchnorm(twin)
    batch = options.batch_size
    for index, (x, y) in enumerate(coords):
        torch.add(origin, u, alpha=float(x), out=flat)
        flat.add_(v, alpha=float(y))
        if recompute:
            recompute_batchnorm(twin, options.batchnorm_inputs, batch)
        for split, (inputs, labels) in splits.items():
            for start in range(0, len(inputs), batch):
                logits = forward(inputs[start : start + batch])
                accumulators[split].add(index, logits, labels[start : start + batch])
    return _finish(accumulators, splits)


def _evaluate_point(model, origin, u, v, coords, splits, options) -> Results:
    return _pointwise(model, origin, u, v, coords, splits, options)


def _evaluate_compile(model, origin, u, v, coords, splits, options) -> Results:
    # dynamic=False: a split's last, shorter batch gets its own graph instead of
    # slower shape-generic code for every batch
    return _pointwise(
        model,
        origin,
        u,
        v,
        coords,
        splits,
        options,
        lambda twin: torch.compile(twin, dynamic=False),
    )


def _evaluate_vmap(model, origin, u, v, coords, splits, options) -> Results:
    if options.batchnorm == "recompute" and has_batchnorm(model):
        raise ValueError(
            "strategy 'vmap' cannot recompute BatchNorm statistics per point; "
            "use strategy point, compile or pool with batchnorm: recompute"
        )
    model = copy.deepcopy(model).eval()
    layout = ParameterLayout.of(model)
    buffers = dict(model.named_buffers())

    def logits_at(flat_point, inputs):
        return torch.func.functional_call(model, (layout.unflatten(flat_point), buffers), (inputs,))

    batched = torch.vmap(logits_at, in_dims=(0, None))
    accumulators = {split: _Accumulator(len(coords)) for split in splits}
    step = max(1, options.points_per_pass)
    for first in range(0, len(coords), step):
        chunk = slice(first, min(first + step, len(coords)))
        stacked = _flat_points(origin, u, v, coords[chunk])
        for split, (inputs, labels) in splits.items():
            for start in range(0, len(inputs), options.batch_size):
                logits = batched(stacked, inputs[start : start + options.batch_size])
                accumulators[split].add(chunk, logits, labels[start : start + options.batch_size])
    return _finish(accumulators, splits)


_worker_state: dict = {}


def _pool_initializer(model, origin, u, v, splits, options) -> None:
    torch.set_num_threads(1)
    _worker_state.update(model=model, plane=(origin, u, v), splits=splits, options=options)


@torch.inference_mode()
def _pool_task(coords: np.ndarray) -> Results:
    state = _worker_state
    return _evaluate_point(
        state["model"], *state["plane"], coords, state["splits"], state["options"]
    )


def _evaluate_pool(model, origin, u, v, coords, splits, options) -> Results:
    workers = max(1, min(options.workers, len(coords)))
    if workers == 1:
        return _evaluate_point(model, origin, u, v, coords, splits, options)
    # spawn, not fork: a forked copy of an initialised torch thread pool can deadlock
    context = multiprocessing.get_context("spawn")
    pieces = np.array_split(np.arange(len(coords)), workers)
    with concurrent.futures.ProcessPoolExecutor(
        workers,
        mp_context=context,
        initializer=_pool_initializer,
        initargs=(model, origin, u, v, splits, options),
    ) as pool:
        parts = list(pool.map(_pool_task, [coords[piece] for piece in pieces]))
    return {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}


EVALUATORS: dict[str, Callable[..., Results]] = {
    "point": _evaluate_point,
    "vmap": _evaluate_vmap,
    "compile": _evaluate_compile,
    "pool": _evaluate_pool,
}


@torch.inference_mode()
def evaluate_points(
    model: nn.Module,
    origin: torch.Tensor,
    u: torch.Tensor,
    v: torch.Tensor,
    coords: np.ndarray,
    splits: Splits,
    strategy: str = "point",
    options: EvaluationOptions | None = None,
) -> Results:
    """Loss, its standard error and accuracy of every split at every point.

    Args:
        model: supplies architecture and buffers; never modified.
        origin, u, v: ``(n_params,)`` in ``ParameterLayout.of(model)`` order, on the
            device of ``model`` and ``splits``.
        coords: ``(n_points, 2)`` plane coordinates ``(x, y)``.
        splits: name → (inputs ``(n, …)``, labels ``(n,)``).
        strategy: one of :data:`STRATEGIES`.

    Returns:
        ``{split}_loss`` (mean cross-entropy, nats), ``{split}_loss_sem`` (standard error
        of that mean over the split's samples, nats) and ``{split}_accuracy`` (fraction),
        each a float64 array ``(n_points,)``.
    """
    options = options or EvaluationOptions()
    if strategy not in EVALUATORS:
        raise ValueError(
            f"evaluation strategy {strategy!r} is unknown; choose auto or one of "
            f"{', '.join(STRATEGIES)}"
        )
    if options.batchnorm not in BATCHNORM_MODES:
        raise ValueError(
            f"batchnorm {options.batchnorm!r} is unknown; "
            f"choose one of {', '.join(BATCHNORM_MODES)}"
        )
    if (
        options.batchnorm == "recompute"
        and has_batchnorm(model)
        and options.batchnorm_inputs is None
    ):
        raise ValueError("batchnorm: recompute needs batchnorm_inputs (a fixed training subset)")
    coords = np.asarray(coords, dtype=np.float64).reshape(-1, 2)
    sample = next(iter(splits.values()))[0][:1]
    points = options.points_per_pass if strategy == "vmap" else 1
    batch = budget_batch_size(model, sample, options.batch_size, options.memory_budget_mb, points)
    if batch < options.batch_size:
        log.info(
            "batch size %d → %d to fit %.0f MiB",
            options.batch_size,
            batch,
            options.memory_budget_mb,
        )
    return EVALUATORS[strategy](
        model, origin, u, v, coords, splits, replace(options, batch_size=batch)
    )


def choose_strategy(
    model: nn.Module,
    origin: torch.Tensor,
    u: torch.Tensor,
    v: torch.Tensor,
    splits: Splits,
    options: EvaluationOptions,
    candidates: tuple[str, ...] = ("point", "vmap"),
    points: int = 2,
) -> tuple[str, dict[str, float]]:
    """Measure points/s of each candidate on ``points`` points (after one warm-up point)
    and return the fastest with every rate. ``pool`` with ``workers`` > 1 is rated as
    ``workers`` × the one-thread ``point`` rate (its start-up is not worth measuring on
    a few points); a candidate that fails (e.g. ``compile`` with no C++ compiler) is logged
    and skipped."""
    coords = np.column_stack([np.linspace(-0.1, 0.1, points), np.zeros(points)])
    rates: dict[str, float] = {}
    for name in candidates:
        try:
            evaluate_points(model, origin, u, v, coords[:1], splits, name, options)
            started = time.perf_counter()
            evaluate_points(model, origin, u, v, coords, splits, name, options)
            rates[name] = points / (time.perf_counter() - started)
        except Exception as error:  # a strategy this platform cannot run is not a choice
            log.warning("strategy %s skipped: %s: %s", name, type(error).__name__, error)
    if options.workers > 1 and "point" in rates:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            started = time.perf_counter()
            evaluate_points(model, origin, u, v, coords, splits, "point", options)
            rates["pool"] = options.workers * points / (time.perf_counter() - started)
        finally:
            torch.set_num_threads(threads)
    if not rates:
        raise RuntimeError(f"no evaluation strategy of {candidates} ran on this platform")
    best = max(rates, key=rates.get)
    log.info("strategy rates (points/s): %s → %s", {k: round(r, 1) for k, r in rates.items()}, best)
    return best, rates
