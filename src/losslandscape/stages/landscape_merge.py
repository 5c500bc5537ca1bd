"""Assembling a plane's landscape: its tiles merged onto the grid, the training trajectory's
losses, and the attrs that record the plane (those its kind asks for from the directions'
metadata, :mod:`losslandscape.planes.kinds`)."""

import numpy as np
import torch

from losslandscape.engine.evaluation import evaluate
from losslandscape.engine.tiles import merge_tiles
from losslandscape.io.files import file_digest
from losslandscape.planes.kinds import plane_kind
from losslandscape.stages.landscape_plane import Plane
from losslandscape.training.checkpoints import model_from_checkpoints, run_loss


def merged_grid(
    plane: Plane, tiles: list[str], key: str, out: str
) -> tuple[dict[str, np.ndarray], dict]:
    """The tiles' values on the plane's grid, each ``(len(ys), len(xs))``, and the tiles'
    attrs; ValueError where the tiles were computed from other inputs or settings (their
    ``key`` is not ``key``)."""
    merged, tile_attrs = merge_tiles(tiles, len(plane.xs) * len(plane.ys))
    grid = {k: a.reshape(len(plane.ys), len(plane.xs)) for k, a in merged.items()}
    if tile_attrs["key"] != key:
        raise ValueError(
            f"tiles {tiles} were computed from other inputs or settings than {out} asks for; "
            "rerun the tiles"
        )
    return grid, tile_attrs


def trajectory_losses(plane: Plane, batch_size: int) -> list[float]:
    """Training loss (the run's loss, :func:`run_loss`: nats for cross-entropy; mean over
    the whole training split, eval mode) of each saved checkpoint, evaluated ``batch_size``
    samples at a time.

    The run's history.csv has the same quantity, but not the same numbers: training
    evaluates with another batch size (and possibly on another device), so its per-batch
    float32 sums differ in the last bits (the default study: up to 2e-7 relative). Evaluated
    here so that the stored trajectory stays what it was.
    """
    ckpt, data = plane.checkpoints, plane.data
    losses = []
    for index in range(len(ckpt["epochs"])):
        model = model_from_checkpoints(ckpt, index)
        loss, _ = evaluate(model, data["x_train"], data["y_train"], batch_size, run_loss(ckpt))
        losses.append(loss)
    return losses


# Trajectory losses computed in this process, by (checkpoint file's sha256, data set's sha256,
# batch size, torch's CPU threads). Every plane of a run evaluates the same checkpoints on the
# same whole training split, on the CPU whatever the grid's device, so a job that maps all of
# a run's planes (rule map_run_planes) computes them once; the thread count is in the key
# because CPU kernels may sum in another order on another number of threads.
_TRAJECTORY_LOSSES: dict[tuple[str, str, int, int], list[float]] = {}


def cached_trajectory_losses(plane: Plane, checkpoints: str, batch_size: int) -> list[float]:
    """:func:`trajectory_losses` of the run whose checkpoint file is ``checkpoints``, computed
    once per process for that file's contents, the data set, ``batch_size`` and the thread
    count (the same numbers as computing them again)."""
    key = (file_digest(checkpoints), plane.data["sha256"], int(batch_size), torch.get_num_threads())
    if key not in _TRAJECTORY_LOSSES:
        _TRAJECTORY_LOSSES[key] = trajectory_losses(plane, batch_size)
    return list(_TRAJECTORY_LOSSES[key])


def plane_attrs(directions: dict) -> dict:
    """What a landscape's attrs say about its plane: kind, name, draw, dimensions and the
    directions' normalization."""
    meta = directions["metadata"]
    return {
        "plane": directions["plane"],
        "plane_name": directions.get("plane_name", directions["plane"]),
        "draw": int(meta.get("draw", 1)),
        "dimensions": 1 if plane_kind(directions["plane"]).one_dimensional else 2,
        "normalization": meta["normalization"],
    }


def kind_attrs(directions: dict) -> dict:
    """The attrs a plane's kind records from its directions' metadata (its ``attrs``), and
    the centre epoch and extent of planes that have them (lists of ints or floats)."""
    meta = directions["metadata"]
    attrs = {}
    if "epoch" in meta:  # a plane around an earlier checkpoint
        attrs["centre_epoch"] = int(meta["epoch"])
    if "extent" in meta:  # a plane with its own extent
        attrs["extent"] = float(meta["extent"])
    for attr, key, convert in plane_kind(directions["plane"]).attrs:
        attrs[attr] = [convert(value) for value in meta[key]]
    return attrs
