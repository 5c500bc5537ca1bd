"""Evaluating one tile of a plane's grid: the loop over its points that saves progress as
it goes (a killed job resumes from there)."""

import logging
import time

import numpy as np

from losslandscape.engine.tiles import save_partial

log = logging.getLogger(__name__)


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
