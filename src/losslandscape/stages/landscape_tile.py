"""Evaluating one tile of a plane's grid: the strategy ``auto`` picks for it, and the loop
over its points that saves progress as it goes (a killed job resumes from there)."""

import logging
import time

import numpy as np
import torch

from losslandscape.engine.strategies import EvaluationOptions, choose_strategy
from losslandscape.engine.tiles import save_partial

log = logging.getLogger(__name__)

# auto also measures torch.compile when the tile would take longer than this with the
# best other strategy (small_cnn2d: compile 2.3 points/s against 0.9 for point, after
# about 20 s of compiling; the default CNN: compile slower; benchmarks/README.md)
COMPILE_WORTH_SECONDS = 300.0


def pick_strategy(
    strategy: str,
    model: torch.nn.Module,
    origin: torch.Tensor,
    u: torch.Tensor,
    v: torch.Tensor,
    splits: dict,
    options: EvaluationOptions,
    n_points: int,
    threads: int,
) -> str:
    """``strategy``, or for ``auto`` the fastest measured on this plane: point, vmap (and
    pool with several ``threads``), then compile too where the ``n_points`` of the tile
    would take longer than :data:`COMPILE_WORTH_SECONDS` with the best of those."""
    if strategy != "auto":
        return strategy
    candidates = ("point", "vmap") + (("pool",) if threads > 1 else ())
    strategy, rates = choose_strategy(model, origin, u, v, splits, options, candidates)
    if n_points / rates[strategy] > COMPILE_WORTH_SECONDS:
        # compiling takes seconds to minutes: tried only where it can pay off
        try:
            _, more = choose_strategy(model, origin, u, v, splits, options, ("compile",))
        except RuntimeError:  # no C++ compiler here: logged by choose_strategy
            more = {}
        if more.get("compile", 0.0) > rates[strategy]:
            strategy = "compile"
    return strategy


def evaluate_tile_points(
    evaluator,
    coords: np.ndarray,
    points: np.ndarray,
    values: dict[str, np.ndarray],
    out: str,
    attrs: dict,
    save_every_seconds: float,
    threads: int,
) -> tuple[dict[str, np.ndarray], float]:
    """The tile's ``points`` (indices into ``coords`` ``(n, 2)``) evaluated by ``evaluator``
    after the first ``len(values[...])`` (done before a kill) → all values and the seconds
    taken. Every ``save_every_seconds`` the values so far go to ``<out>.partial.nc`` with
    ``attrs`` (the tile's key, number, count, strategy and device)."""
    done, chunk = len(values["train_loss"]), max(1, threads)
    started = last_save = now = time.perf_counter()
    while done < len(points):
        begin = time.perf_counter()
        block = points[done : done + chunk]
        new = evaluator(coords[block])
        values = {k: np.concatenate([values[k], new[k]]) for k in values}
        done += len(block)
        now = time.perf_counter()
        # chunks of about 5 s: progress lines and partial saves without per-point overhead
        chunk = max(1, min(4 * chunk, int(len(block) * 5.0 / max(now - begin, 1e-9))))
        if now - last_save >= save_every_seconds and done < len(points):
            save_partial(out, points[:done], values, attrs)
            last_save = now
        log.info(
            "tile %d/%d: %d/%d points, %.1f points/s (%s)",
            attrs["tile"] + 1,
            attrs["tiles"],
            done,
            len(points),
            len(block) / max(now - begin, 1e-9),
            attrs["strategy"],
        )
    return values, now - started
