"""``auto``: how to evaluate a plane, chosen by measurement, never by belief.

A candidate is an evaluation strategy (:data:`~losslandscape.engine.strategies.STRATEGIES`),
a memory layout of the ``point`` model copy (:data:`~losslandscape.engine.strategies.LAYOUTS`:
``default``, PyTorch's own forward pass; ``channels_last``, the CPU rewrite of
:mod:`losslandscape.engine.cpu`) and a batch size. Each is timed on a few points of the
plane itself, over the whole evaluation data, and the fastest is kept. Measured on this
project's machine, no single choice is best everywhere: channels-last ran the default CNN
2× faster and a user's Conv2d/GELU/LayerNorm net 1.8× slower (9.10 against 4.97 ms a pass);
ResNet-20 on CIFAR-shaped data ran twice as fast with batch 128 as with 1000 (issue 23;
the halvings of 1000 reach 125).

The search goes in stages, likeliest gains first, so that the candidates stay few:

1. ``point`` at the requested batch in every layout (one where the model has no
   convolutions or runs on a GPU), always measured: it includes the plain pass
   (``default`` layout), so ``auto`` is never slower than it beyond measurement noise.
2. ``pool`` where there are several threads, at the best ``point``'s layout and batch.
3. ``point`` at the other batch sizes of :func:`batch_candidates`, and ``pool`` again
   where one of them won. (BatchNorm statistics recomputed at every point do not depend on
   the batch size: they are batched by the fixed ``batchnorm_batch_size``.)
4. ``vmap`` (which calls the model itself: ``default`` layout) at the best batch.
5. ``compile``, only where the points would take longer than
   :data:`COMPILE_WORTH_SECONDS` with the best so far (compiling takes seconds to minutes).

Every other candidate is measured only while the search has taken less than
:data:`MEASURE_SHARE` of the time the points would take at the best rate so far (or
:data:`MEASURE_FLOOR_SECONDS`): a small grid is not measured for longer than it runs.

The choice and every measured rate are returned (:class:`Choice`) and logged; the
workflow stores them in the grid's attributes (``docs/data-model.md``). A process measures
once per model architecture, data shapes, options and point count: the planes of one run
(rule ``map_run_planes``) reuse the first plane's choice (``seconds`` 0 on the reuses).
"""

import json
import logging
import time
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from losslandscape.engine.budget import budget_batch_size
from losslandscape.engine.evaluators import Splits
from losslandscape.engine.model_copy import has_convolutions
from losslandscape.engine.strategies import EvaluationOptions, open_evaluator

log = logging.getLogger(__name__)

# compile is tried only where the points would take longer than this with the best other
# candidate (small_cnn2d: compile 2.3 points/s against 0.9 for point, after about 20 s of
# compiling; the default CNN: compile slower; benchmarks/README.md)
COMPILE_WORTH_SECONDS = 300.0

# the smallest batch auto tries: below it, per-batch overhead dominates every model measured
SMALLEST_BATCH = 100
# a candidate is timed on calls that last at least this long, or have this many points
# per worker (measure_rate)
MEASURE_SECONDS = 0.2
MAX_MEASURE_POINTS = 64
# the search stops before a candidate once it has taken this share of the time the points
# would take at the best rate so far, or MEASURE_FLOOR_SECONDS where that is more: on a
# small grid, measuring every candidate (about 5 s for the default CNN, pool's start-up
# included) costs more than the fastest could save
MEASURE_SHARE = 0.25
MEASURE_FLOOR_SECONDS = 2.0


# the attributes that record how a grid was evaluated: every tile has the first two, and
# tiles of strategy auto the rest (Choice.attrs)
EVALUATION_ATTRS = ("strategy", "layout", "batch_size", "auto_rates", "auto_seconds")


@dataclass(frozen=True)
class Choice:
    """What ``auto`` chose: ``strategy``, ``options`` with the chosen ``layout`` and
    ``batch_size``, every candidate's rate (points/s, keyed ``strategy/layout/batch``) and
    the seconds the measurement took."""

    strategy: str
    options: EvaluationOptions
    rates: dict[str, float]
    seconds: float

    def attrs(self) -> dict:
        """The choice as netCDF attributes (str/int/float only)."""
        return {
            "strategy": self.strategy,
            "layout": self.options.layout,
            "batch_size": int(self.options.batch_size),
            "auto_rates": json.dumps({k: round(r, 3) for k, r in self.rates.items()}),
            "auto_seconds": round(self.seconds, 3),
        }


# what this process has measured: _measurement_key(...) → Choice
_CHOICES: dict[tuple, Choice] = {}


def _measurement_key(model, splits, options, n_points, threads) -> tuple:
    """What the fastest way depends on: the architecture (not the weights), the data's
    shapes, dtypes and devices, every option (the BatchNorm inputs by shape), the points and
    the threads."""
    shapes = tuple(
        (name, tuple(x.shape), str(x.dtype), str(x.device)) for name, (x, _) in splits.items()
    )
    parameters = tuple((name, tuple(p.shape)) for name, p in model.named_parameters())
    inputs = options.batchnorm_inputs
    settings = replace(options, batchnorm_inputs=None if inputs is None else tuple(inputs.shape))
    return (repr(model), parameters, shapes, repr(settings), n_points, threads)


def batch_candidates(requested: int) -> list[int]:
    """``requested`` and its halvings down to :data:`SMALLEST_BATCH`, largest first (1000 →
    1000, 500, 250, 125)."""
    batches = [requested]
    while batches[-1] // 2 >= SMALLEST_BATCH:
        batches.append(batches[-1] // 2)
    return batches


def measure_rate(
    model: nn.Module,
    origin: torch.Tensor,
    u: torch.Tensor,
    v: torch.Tensor,
    splits: Splits,
    strategy: str,
    options: EvaluationOptions,
    seconds: float = MEASURE_SECONDS,
) -> float:
    """Points/s of one candidate: its evaluator built and warmed up on one point per worker
    (so that compiling, planning and process start-up are not counted), then timed on calls
    of 2, 4, 8, … points per worker near the plane's centre until one call lasts
    ``seconds`` or has :data:`MAX_MEASURE_POINTS` points per worker; the last call's rate.
    (Calls of a few fast points measure the hand-over to ``pool``'s workers more than the
    evaluation: with 2 points per worker, auto kept ``point`` for the mnist1d CNN and MLP
    where the benchmark's calls of 20 found ``pool`` 1.8× faster.)"""
    workers = options.workers if strategy == "pool" else 1
    with open_evaluator(model, origin, u, v, splits, strategy, options) as evaluator:
        evaluator(np.zeros((workers, 2)))
        per_worker = 2
        while True:
            n = per_worker * workers
            coords = np.column_stack([np.linspace(-0.1, 0.1, n), np.zeros(n)])
            started = time.perf_counter()
            evaluator(coords)
            elapsed = time.perf_counter() - started
            if elapsed >= seconds or per_worker >= MAX_MEASURE_POINTS:
                return n / elapsed
            per_worker *= 2


def _label(strategy: str, options: EvaluationOptions) -> str:
    return f"{strategy}/{options.layout}/{options.batch_size}"


def choose_evaluation(
    model: nn.Module,
    origin: torch.Tensor,
    u: torch.Tensor,
    v: torch.Tensor,
    splits: Splits,
    options: EvaluationOptions,
    n_points: int,
    threads: int = 1,
) -> Choice:
    """The fastest way to evaluate ``n_points`` points of this plane, by the staged search of
    this module's docstring. Arguments as for
    :func:`~losslandscape.engine.strategies.evaluate_points`; ``options.batch_size`` is the
    largest batch tried, ``threads`` the workers ``pool`` may use. A candidate that fails
    (``compile`` without a C++ compiler) is logged and skipped; where none ran, the first
    candidate's error is raised (a setting the engine refuses says why). The same
    measurement in one process is done once (:func:`_measurement_key`).
    """
    key = _measurement_key(model, splits, options, n_points, threads)
    if key in _CHOICES:
        choice = replace(_CHOICES[key], seconds=0.0)
        log.info("auto: %s, as measured earlier in this job", choice.attrs()["strategy"])
        return choice
    started = time.perf_counter()
    rates: dict[str, float] = {}
    tried: dict[str, tuple[str, EvaluationOptions]] = {}
    failures: list[Exception] = []

    def run(strategy: str, candidate: EvaluationOptions, always: bool = False) -> None:
        label = _label(strategy, candidate)
        if label in rates:
            return
        if not always and rates:
            projected = n_points / max(rates.values())
            if time.perf_counter() - started > max(
                MEASURE_SHARE * projected, MEASURE_FLOOR_SECONDS
            ):
                log.info("auto: %s not measured (the search's time is spent)", label)
                return
        try:
            rates[label] = measure_rate(model, origin, u, v, splits, strategy, candidate)
            tried[label] = (strategy, candidate)
        except Exception as error:  # a candidate this platform cannot run is not a choice
            log.warning("candidate %s skipped: %s: %s", label, type(error).__name__, error)
            failures.append(error)

    sample = next(iter(splits.values()))[0][:1]
    largest = budget_batch_size(model, sample, options.batch_size, options.memory_budget_mb)
    layouts = ["default"]
    if sample.device.type == "cpu" and has_convolutions(model):
        layouts.append("channels_last")
    batches = batch_candidates(largest)

    def best_point() -> str:
        return max((label for label in tried if label.startswith("point/")), key=rates.get)

    for layout in layouts:  # the requested batch in every layout: always measured
        run("point", replace(options, layout=layout, batch_size=largest), always=True)
    if not rates:  # what failed every candidate (a setting the engine refuses) says why
        raise failures[0]
    if threads > 1:  # the likeliest gain next: the other cores
        run("pool", replace(tried[best_point()][1], workers=threads))
    for batch in batches[1:]:
        for layout in layouts:
            run("point", replace(options, layout=layout, batch_size=batch))
    base = tried[best_point()][1]
    if threads > 1:  # again where a smaller batch won (a label measured is not repeated)
        run("pool", replace(base, workers=threads))
    run("vmap", replace(base, layout="default"))
    best = max(rates, key=rates.get)
    if n_points / rates[best] > COMPILE_WORTH_SECONDS:
        run("compile", base)
    best = max(rates, key=rates.get)
    strategy, chosen = tried[best]
    choice = Choice(strategy, chosen, rates, time.perf_counter() - started)
    _CHOICES[key] = choice
    log.info(
        "auto: %s (%.1f points/s) of %s, measured in %.1f s",
        best,
        rates[best],
        {k: round(r, 1) for k, r in rates.items()},
        choice.seconds,
    )
    return choice
