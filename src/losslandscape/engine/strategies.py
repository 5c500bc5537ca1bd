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

``auto`` measures strategies, layouts (:data:`LAYOUTS`) and batch sizes on a few points and
keeps the fastest (:mod:`losslandscape.engine.autotune`). The evaluators are in
:mod:`losslandscape.engine.evaluators`, the model copy they run in
:mod:`losslandscape.engine.model_copy`, the batch sizing in
:mod:`losslandscape.engine.budget` and the loss reduction they share in
:mod:`losslandscape.engine.loss`.
"""

import logging
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from losslandscape.engine.budget import budget_batch_size
from losslandscape.engine.evaluators import (
    Evaluator,
    PointEvaluator,
    PoolEvaluator,
    Splits,
    VmapEvaluator,
)
from losslandscape.engine.loss import CROSS_ENTROPY, Loss, Results
from losslandscape.engine.model_copy import has_batchnorm, has_convolutions

log = logging.getLogger(__name__)

STRATEGIES = ("point", "vmap", "compile", "pool")
BATCHNORM_MODES = ("keep", "recompute")
# the point model copy's memory layout on CPU: channels_last, the rewrite of
# losslandscape.engine.cpu (channels-last convolutions, and the planned batch-innermost pass
# where the model is a plain Conv1d stack); default, the model's own forward pass in
# PyTorch's default layout. GPUs always run the default.
LAYOUTS = ("channels_last", "default")


@dataclass(frozen=True)
class EvaluationOptions:
    """How points are evaluated (see docs/data-model.md for what each choice records).

    batch_size: samples per forward pass (lowered to fit ``memory_budget_mb``).
    batchnorm: ``keep`` the trained running statistics (Li et al.), or ``recompute`` them
        at every point from ``batchnorm_inputs`` (Garipov et al.); models without BatchNorm
        are unaffected.
    batchnorm_inputs: ``(n, …)`` fixed training samples for ``recompute``.
    batchnorm_batch_size: samples per train-mode batch for ``recompute`` (the statistics
        depend on it, so it is never lowered to fit ``memory_budget_mb``).
    points_per_pass: points stacked in one ``vmap`` pass.
    workers: processes of the ``pool`` strategy.
    memory_budget_mb: bound on activation memory (MiB) of one forward pass; data prepared
        once for all points (``point``: batch-innermost or channels-last copies) is kept
        when it takes at most half of it.
    layout: the ``point`` model copy's memory layout on CPU, one of :data:`LAYOUTS`.
    loss: the per-sample loss (:mod:`losslandscape.engine.loss`; default cross-entropy,
        the only one the C kernel of the planned pass reduces).
    """

    batch_size: int = 1000
    batchnorm: str = "keep"
    batchnorm_inputs: torch.Tensor | None = None
    batchnorm_batch_size: int = 100
    points_per_pass: int = 8
    workers: int = 1
    memory_budget_mb: float = 2048.0
    layout: str = "channels_last"
    loss: Loss = CROSS_ENTROPY


def layout_that_runs(
    model: nn.Module, strategy: str, options: EvaluationOptions, device: torch.device
) -> str:
    """The layout ``strategy``'s evaluator really runs ``model`` in: ``options.layout`` for
    the ``point`` model copy (``point``, ``compile``, ``pool``) of a model with convolutions
    on CPU; ``default`` otherwise (``vmap`` calls the model itself; a model without
    convolutions, or on a GPU, has nothing to lay out)."""
    rewritten = strategy != "vmap" and device.type == "cpu" and has_convolutions(model)
    return options.layout if rewritten else "default"


def _check_choices(model: nn.Module, strategy: str, options: EvaluationOptions) -> None:
    """Refuse an unknown strategy or BatchNorm mode, and ``recompute`` without its data."""
    if strategy not in STRATEGIES:
        raise ValueError(
            f"evaluation strategy {strategy!r} is unknown; choose one of "
            f"{', '.join(STRATEGIES)} (or auto, through evaluate_grid or the workflow)"
        )
    if options.layout not in LAYOUTS:
        raise ValueError(
            f"layout {options.layout!r} is unknown; choose one of {', '.join(LAYOUTS)}"
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


def fitted_batch_size(
    model: nn.Module, splits: Splits, strategy: str, options: EvaluationOptions
) -> int:
    """The samples per forward pass ``strategy`` runs: ``options.batch_size``, lowered to
    fit ``options.memory_budget_mb`` (``vmap``: for ``points_per_pass`` stacked points)."""
    sample = next(iter(splits.values()))[0][:1]
    points = options.points_per_pass if strategy == "vmap" else 1
    return budget_batch_size(model, sample, options.batch_size, options.memory_budget_mb, points)


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
    _check_choices(model, strategy, options)
    batch = fitted_batch_size(model, splits, strategy, options)
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
