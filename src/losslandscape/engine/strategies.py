"""Evaluation strategies: loss, its standard error and accuracy at many parameter points.

A point is ``origin + x·u + y·v`` for plane coordinates ``(x, y)``; every strategy takes
the points as an array ``(n_points, 2)`` and returns, per split, ``(n_points,)`` arrays.
All strategies evaluate with no autograd on data resident on the device, visit each point
once for every split, and agree with the plain reference loop
(:func:`losslandscape.engine.grid.evaluate_grid_reference`) to float32 rounding:

- ``point``: one point at a time through a model copy whose parameters are views into one
  flat vector, so moving to a point is one in-place ``origin + x·u + y·v``; big batches.
  The copy runs its activations in place where no other layer sees their input
  (:mod:`losslandscape.engine.cpu.inplace_activations`); on CPU, its convolutions channels-last
  (:mod:`losslandscape.engine.cpu.channels_last`), and a plain Conv1d stack such as the mnist1d CNN
  is computed with the batch innermost, its data laid out once for all points, its
  weights stored in the order the products read them, its products in a C kernel where
  one builds (:mod:`losslandscape.engine.cpu.inference_plan`,
  :mod:`losslandscape.engine.cpu.batch_last`,
  :mod:`losslandscape.engine.cpu.native_kernel`).
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
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from losslandscape.engine.cpu.allocator import keep_freed_memory
from losslandscape.engine.cpu.channels_last import as_channels_last, convert_convolutions
from losslandscape.engine.cpu.inference_plan import InferencePlan, plan_inference
from losslandscape.engine.cpu.inplace_activations import make_activations_inplace
from losslandscape.parameters import ParameterLayout, store_permuted

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
    memory_budget_mb: bound on activation memory (MiB) of one forward pass; data prepared
        once for all points (``point``: batch-innermost or channels-last copies) is kept
        when it takes at most half of it.
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
    (``momentum=None`` averages batches cumulatively), leaving ``model`` in eval mode.

    Only the BatchNorm layers are put in training mode: dropout and stochastic depth stay
    off, so the statistics are those of the deterministic network that is evaluated."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    momenta = [m.momentum for m in norms]
    model.eval()
    for module in norms:
        module.reset_running_stats()
        module.momentum = None
        module.train()
    for start in range(0, len(inputs), batch_size):
        model(inputs[start : start + batch_size])
    for module, momentum in zip(norms, momenta, strict=True):
        module.momentum = momentum
        module.eval()


def cross_entropy_and_prediction(
    logits: torch.Tensor, labels: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy of each sample (nats) and its predicted class, each ``(…, batch)`` for
    logits ``(…, batch, classes)``; stacked points are taken as they are.

    ``log-sum-exp − logit of the label``, the log-sum-exp shifted by each row's largest
    logit as ``torch.logsumexp`` does; the one ``max`` pass gives that shift and the
    prediction together. The same values as ``F.cross_entropy`` and ``argmax`` (to float32
    rounding); for 1000 × 10 logits on one core 0.061 ms, against 0.087 for
    ``torch.logsumexp`` and ``argmax`` apart and twice that for ``F.cross_entropy``.
    """
    top, predicted = logits.max(-1)
    log_sum = (logits - top.unsqueeze(-1)).exp_().sum(-1).log_().add_(top)
    picked = logits.gather(-1, labels.expand(logits.shape[:-1]).unsqueeze(-1)).squeeze(-1)
    return log_sum.sub_(picked), predicted


class _Accumulator:
    """Sums of per-sample losses, their squares and correct predictions for one split,
    kept as float64 tensors on the device (no host synchronisation per batch)."""

    def __init__(self, n_points: int, device: torch.device):
        self.sums = torch.zeros(3, n_points, dtype=torch.float64, device=device)

    def add(self, index, logits: torch.Tensor, labels: torch.Tensor) -> None:
        """``logits`` ``(…, batch, n_classes)`` for the points ``index`` (int or slice)."""
        losses, predicted = cross_entropy_and_prediction(logits, labels)
        losses = losses.double()
        correct = (predicted == labels).sum(-1)
        self.sums[:, index] += torch.stack([losses.sum(-1), losses.square().sum(-1), correct])

    def results(self, split: str, n: int) -> Results:
        loss, square, correct = self.sums.cpu().numpy()
        mean = loss / n
        variance = np.maximum(square / n - mean**2, 0.0) * n / max(n - 1, 1)
        return {
            f"{split}_loss": mean,
            f"{split}_loss_sem": np.sqrt(variance / n),
            f"{split}_accuracy": correct / n,
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


def _unchanged(inputs: torch.Tensor) -> torch.Tensor:
    return inputs


class _Raw:
    """A batch kept as it is, to be prepared each time it is used (its prepared form
    would not fit the memory budget)."""

    def __init__(self, inputs: torch.Tensor):
        self.inputs = inputs


def _prepared(batch, prepare) -> torch.Tensor:
    return prepare(batch.inputs) if isinstance(batch, _Raw) else batch


@torch.inference_mode()
def _prepared_batches(prepare, inputs, labels, options: EvaluationOptions) -> list:
    """``[(prepared inputs or _Raw, labels)]`` per batch of ``options.batch_size``.

    Prepared data (batch-innermost or channels-last copies) is computed once for all
    points when it takes at most half the memory budget, and at each use otherwise."""
    size = options.batch_size
    pieces = [(inputs[s : s + size], labels[s : s + size]) for s in range(0, len(inputs), size)]
    if prepare is _unchanged:
        return pieces
    first = prepare(pieces[0][0])
    total_bytes = first.numel() * first.element_size() * len(inputs) / len(pieces[0][0])
    if total_bytes > options.memory_budget_mb * 2**20 / 2:
        return [(_Raw(batch), batch_labels) for batch, batch_labels in pieces]
    return [(first, pieces[0][1])] + [(prepare(batch), y) for batch, y in pieces[1:]]


class Evaluator:
    """Evaluates batches of points for one model, plane and data; reusable across calls
    (a compiled graph or a worker pool is built once). Use as a context manager."""

    def __call__(self, coords: np.ndarray) -> Results:
        raise NotImplementedError

    def close(self) -> None:
        """Release workers or other resources."""

    def __enter__(self) -> "Evaluator":
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


def evaluation_copy(
    model: nn.Module, sample: torch.Tensor, rewrite: bool = True, native: bool | None = None
) -> tuple[nn.Module, torch.Tensor, InferencePlan, torch.Tensor | None]:
    """The model copy a :class:`PointEvaluator` runs, for data like ``sample`` ``(1, …)``.

    Returns the copy (its parameters views of one flat vector, its activations in place),
    that flat vector ``(n_params,)``, the :class:`InferencePlan` that runs it, and the
    index that moves a vector in :class:`ParameterLayout` order into the flat vector's
    order (``None`` where the orders are the same). On CPU the copy's convolutions run
    channels-last and, with ``rewrite``, its forward pass is planned
    (:func:`plan_inference`, ``native`` as there), the weights stored as the plan reads
    them."""
    twin, flat = model_on_flat_vector(model)
    make_activations_inplace(twin)  # the copy only ever runs under inference_mode
    # channels-last convolutions and the graph rewrites were measured on CPU only
    # (losslandscape.engine.cpu.channels_last, losslandscape.engine.cpu.inference_plan);
    # GPUs keep PyTorch's
    # default layout and the model's own forward pass
    channels_last = sample.device.type == "cpu" and convert_convolutions(twin)
    if channels_last and rewrite:
        plan = plan_inference(twin, sample, native)
    else:
        plan = InferencePlan(twin, as_channels_last if channels_last else _unchanged)
    index = None
    if plan.storage_orders:
        index = store_permuted(twin, flat, plan.storage_orders)
    return twin, flat, plan, index


class PointEvaluator(Evaluator):
    """``point`` (and, with ``compiled``, ``compile``): one point at a time through a model
    copy whose parameters are views of one flat vector (:func:`evaluation_copy`)."""

    def __init__(self, model, origin, u, v, splits, options, compiled: bool = False):
        sample = next(iter(splits.values()))[0][:1]
        self.twin, self.flat, self.plan, index = evaluation_copy(model, sample, not compiled)
        if compiled:
            # dynamic=False: a split's last, shorter batch gets its own graph instead of
            # slower shape-generic code for every batch
            self.plan = replace(self.plan, forward=torch.compile(self.twin, dynamic=False))
        if index is not None:
            origin, u, v = origin[index], u[index], v[index]
        self.plane, self.splits, self.options = (origin, u, v), splits, options
        self.batches = {
            split: _prepared_batches(self.plan.prepare, inputs, labels, options)
            for split, (inputs, labels) in splits.items()
        }
        self.recompute = options.batchnorm == "recompute" and has_batchnorm(self.twin)

    @torch.inference_mode()
    def __call__(self, coords: np.ndarray) -> Results:
        origin, u, v = self.plane
        accumulators = {s: _Accumulator(len(coords), origin.device) for s in self.splits}
        for index, (x, y) in enumerate(coords):
            torch.add(origin, u, alpha=float(x), out=self.flat)
            self.flat.add_(v, alpha=float(y))
            if self.recompute:
                recompute_batchnorm(
                    self.twin, self.options.batchnorm_inputs, self.options.batch_size
                )
            for split, batches in self.batches.items():
                for inputs, labels in batches:
                    prepared = _prepared(inputs, self.plan.prepare)
                    if self.plan.add_loss_sums is not None:  # the C kernel's loss
                        self.plan.add_loss_sums(
                            prepared, labels, accumulators[split].sums[:, index]
                        )
                    else:
                        accumulators[split].add(index, self.plan.forward(prepared), labels)
        return _finish(accumulators, self.splits)


class VmapEvaluator(Evaluator):
    """``vmap``: ``functional_call`` under ``torch.vmap`` over ``points_per_pass`` points."""

    def __init__(self, model, origin, u, v, splits, options):
        if options.batchnorm == "recompute" and has_batchnorm(model):
            raise ValueError(
                "strategy 'vmap' cannot recompute BatchNorm statistics per point; "
                "use strategy point, compile or pool with batchnorm: recompute"
            )
        self.model = copy.deepcopy(model).eval()
        layout = ParameterLayout.of(self.model)
        buffers = dict(self.model.named_buffers())

        def logits_at(flat_point, inputs):
            return torch.func.functional_call(
                self.model, (layout.unflatten(flat_point), buffers), (inputs,)
            )

        self.batched = torch.vmap(logits_at, in_dims=(0, None))
        self.plane, self.splits, self.options = (origin, u, v), splits, options

    @torch.inference_mode()
    def __call__(self, coords: np.ndarray) -> Results:
        origin = self.plane[0]
        batch, step = self.options.batch_size, max(1, self.options.points_per_pass)
        accumulators = {s: _Accumulator(len(coords), origin.device) for s in self.splits}
        for first in range(0, len(coords), step):
            chunk = slice(first, min(first + step, len(coords)))
            stacked = _flat_points(*self.plane, coords[chunk])
            for split, (inputs, labels) in self.splits.items():
                for start in range(0, len(inputs), batch):
                    logits = self.batched(stacked, inputs[start : start + batch])
                    accumulators[split].add(chunk, logits, labels[start : start + batch])
        return _finish(accumulators, self.splits)


_worker: dict[str, PointEvaluator] = {}


def _pool_initializer(model, origin, u, v, splits, options) -> None:
    torch.set_num_threads(1)
    keep_freed_memory()  # a fresh process: glibc's default thresholds again
    _worker["evaluator"] = PointEvaluator(model, origin, u, v, splits, options)


def _pool_task(coords: np.ndarray) -> Results:
    return _worker["evaluator"](coords)


class PoolEvaluator(Evaluator):
    """``pool``: ``workers`` processes with one thread each, each a :class:`PointEvaluator`
    built once; every call shares its points out among them."""

    def __init__(self, model, origin, u, v, splits, options):
        self.workers = max(1, options.workers)
        # spawn, not fork: a forked copy of an initialised torch thread pool can deadlock
        self.pool = concurrent.futures.ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_pool_initializer,
            initargs=(model, origin, u, v, splits, options),
        )

    def __call__(self, coords: np.ndarray) -> Results:
        pieces = [p for p in np.array_split(np.arange(len(coords)), self.workers) if len(p)]
        parts = list(self.pool.map(_pool_task, [coords[piece] for piece in pieces]))
        return {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}

    def close(self) -> None:
        self.pool.shutdown()


def open_evaluator(
    model: nn.Module,
    origin: torch.Tensor,
    u: torch.Tensor,
    v: torch.Tensor,
    splits: Splits,
    strategy: str = "point",
    options: EvaluationOptions | None = None,
) -> Evaluator:
    """An :class:`Evaluator` for ``strategy`` (one of :data:`STRATEGIES`); arguments as for
    :func:`evaluate_points`. Checks the options and fits the batch to the memory budget."""
    options = options or EvaluationOptions()
    if strategy not in STRATEGIES:
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
    options = replace(options, batch_size=batch)
    plane = (model, origin, u, v, splits, options)
    if strategy == "vmap":
        return VmapEvaluator(*plane)
    if strategy == "pool" and options.workers > 1:
        return PoolEvaluator(*plane)
    return PointEvaluator(*plane, compiled=strategy == "compile")


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
    coords = np.asarray(coords, dtype=np.float64).reshape(-1, 2)
    with open_evaluator(model, origin, u, v, splits, strategy, options) as evaluator:
        return evaluator(coords)


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
    """Measure points/s of each candidate and return the fastest with every rate.

    Each candidate's evaluator is built and warmed up on one point per worker (so compile
    and process start-up are not counted), then timed on ``points`` points per worker. A
    candidate that fails (e.g. ``compile`` with no C++ compiler) is logged and skipped.
    """
    rates: dict[str, float] = {}
    for name in candidates:
        workers = options.workers if name == "pool" else 1
        coords = np.column_stack(
            [np.linspace(-0.1, 0.1, points * workers), np.zeros(points * workers)]
        )
        try:
            with open_evaluator(model, origin, u, v, splits, name, options) as evaluator:
                evaluator(coords[:workers])
                started = time.perf_counter()
                evaluator(coords)
                rates[name] = len(coords) / (time.perf_counter() - started)
        except Exception as error:  # a strategy this platform cannot run is not a choice
            log.warning("strategy %s skipped: %s: %s", name, type(error).__name__, error)
    if not rates:
        raise RuntimeError(f"no evaluation strategy of {candidates} ran on this platform")
    best = max(rates, key=rates.get)
    log.info("strategy rates (points/s): %s → %s", {k: round(r, 1) for k, r in rates.items()}, best)
    return best, rates
