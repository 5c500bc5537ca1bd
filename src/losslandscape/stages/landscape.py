"""Stages evaluate_landscape_tile and merge_landscape: a plane's grid in tiles → netCDF.

Every tile job rebuilds the same grid axes from the directions and checkpoints
(:mod:`~losslandscape.stages.landscape_plane`), evaluates its share of the points, resuming
an interrupted run (:mod:`~losslandscape.stages.landscape_tile`), and writes a tile file; the
merge job checks and assembles the tiles and adds the projected training trajectory and the
plane's attrs (:mod:`~losslandscape.stages.landscape_merge`).
"""

import logging
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from losslandscape.devices import resolve_device
from losslandscape.engine.autotune import EVALUATION_ATTRS, choose_evaluation
from losslandscape.engine.cpu.allocator import keep_freed_memory
from losslandscape.engine.grid import grid_coordinates
from losslandscape.engine.strategies import (
    EvaluationOptions,
    fitted_batch_size,
    layout_that_runs,
    open_evaluator,
)
from losslandscape.engine.tiles import (
    partial_path,
    resume_partial,
    tile_dataset,
    tile_key,
    tile_points,
)
from losslandscape.io import datamodel
from losslandscape.io.provenance import PYTHON_CALL, provenance_attrs
from losslandscape.settings import DEFAULTS as SETTINGS_DEFAULTS
from losslandscape.stages.landscape_merge import (
    cached_trajectory_losses,
    kind_attrs,
    merged_grid,
    plane_attrs,
)
from losslandscape.stages.landscape_plane import (
    EVALUATION_SUBSET_SEED,
    batchnorm_batch_size,
    batchnorm_inputs,
    batchnorm_train_samples,
    evaluation_attrs,
    evaluation_splits,
    load_plane,
)
from losslandscape.stages.landscape_tile import evaluate_tile_points
from losslandscape.training.checkpoints import run_attrs, run_loss

log = logging.getLogger(__name__)

_CONFIG = SETTINGS_DEFAULTS.landscape  # the config's landscape defaults


@dataclass(frozen=True)
class LandscapeSettings:
    """The ``landscape`` section of the config, with the defaults of
    :class:`losslandscape.settings.Landscape` (config/README.md documents each key), but for
    ``threads``: the job's thread count, which the stage functions take on its own."""

    resolution: int = _CONFIG.resolution
    extent: float = _CONFIG.extent
    margin: float = _CONFIG.margin
    batch_size: int = _CONFIG.batch_size
    tiles: int = _CONFIG.tiles
    strategy: str = _CONFIG.strategy
    batchnorm: str = _CONFIG.batchnorm
    batchnorm_samples: int = _CONFIG.batchnorm_samples
    batchnorm_batch_size: int | None = _CONFIG.batchnorm_batch_size
    subset_size: int | None = _CONFIG.subset_size
    memory_budget_mb: float = _CONFIG.memory_budget_mb
    device: str = _CONFIG.device
    save_every_seconds: float = _CONFIG.save_every_seconds

    # Config keys of the section that are not grid settings: the job's threads
    JOB_KEYS: ClassVar[tuple[str, ...]] = ("threads",)

    @classmethod
    def from_config(cls, section: dict) -> "LandscapeSettings":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(section) - known - set(cls.JOB_KEYS))
        if unknown:
            raise ValueError(f"landscape settings {unknown} are unknown; known: {sorted(known)}")
        return cls(**{k: v for k, v in section.items() if k not in cls.JOB_KEYS})

    def value_settings(self) -> dict:
        """The settings a grid's values may depend on: not how often progress is saved
        (``auto`` picks a strategy per job anyway)."""
        return {k: v for k, v in asdict(self).items() if k != "save_every_seconds"}


def run_evaluate_tile(
    dataset: str,
    checkpoints: str,
    directions: str,
    out: str,
    tile: int,
    settings: dict,
    threads: int = 1,
) -> None:
    """Evaluate tile ``tile`` of ``settings["tiles"]`` of a plane's grid → tile netCDF.

    Progress is saved to ``<out>.partial.nc`` every ``save_every_seconds``; a rerun after a
    kill continues from there when inputs and settings are unchanged.
    """
    s = LandscapeSettings.from_config(settings)
    torch.set_num_threads(threads)
    keep_freed_memory()
    plane = load_plane(dataset, checkpoints, directions, s)
    device = resolve_device(s.device)
    model = plane.model.to(device)
    origin, u, v = (t.to(device) for t in (plane.origin, plane.u, plane.v))
    # One evaluation subset for every run of a study (not seeded by the run): activations and
    # seeds are compared on the same samples, so subset noise does not differ between them.
    splits = evaluation_splits(plane.data, s.subset_size, EVALUATION_SUBSET_SEED, device)
    statistics_batch = batchnorm_batch_size(plane, s, checkpoints)  # −1: nothing recomputed
    options = EvaluationOptions(
        batch_size=s.batch_size,
        batchnorm=s.batchnorm,
        batchnorm_inputs=batchnorm_inputs(plane, s, device),
        **({"batchnorm_batch_size": statistics_batch} if statistics_batch > 0 else {}),
        workers=threads,
        memory_budget_mb=s.memory_budget_mb,
        loss=run_loss(plane.checkpoints),
    )
    coords = grid_coordinates(plane.xs, plane.ys)
    points = tile_points(len(coords), s.tiles, tile)
    key = tile_key([dataset, checkpoints, directions], s.value_settings())
    values = resume_partial(out, key, points)
    if s.strategy == "auto":
        choice = choose_evaluation(model, origin, u, v, splits, options, len(points), threads)
        strategy, options, chosen = choice.strategy, choice.options, choice.attrs()
    else:
        layout = layout_that_runs(model, s.strategy, options, device)
        strategy, chosen = s.strategy, {"strategy": s.strategy, "layout": layout}
    # the batch that really runs: vmap lowers auto's choice further for its stacked points
    chosen["batch_size"] = fitted_batch_size(model, splits, strategy, options)
    loss = run_loss(plane.checkpoints)
    attrs = {"key": key, "tile": tile, "tiles": s.tiles, **chosen, "device": str(device)}
    attrs |= {"loss": loss.name, "loss_units": loss.units}  # what the tile's values are
    with open_evaluator(model, origin, u, v, splits, strategy, options) as evaluator:
        values, seconds = evaluate_tile_points(
            evaluator, coords, points, values, out, attrs, s.save_every_seconds, threads
        )
    datamodel.write_netcdf(tile_dataset(points, values, attrs), out)
    partial_path(out).unlink(missing_ok=True)
    log.info("tile %d/%d done in %.1f s → %s", tile + 1, s.tiles, seconds, out)


def run_merge_landscape(
    dataset: str,
    checkpoints: str,
    directions: str,
    tiles: list[str],
    out: str,
    settings: dict,
    rule: str = PYTHON_CALL,
) -> None:
    """Assemble a plane's tiles, add the trajectory and provenance → landscape netCDF."""
    s = LandscapeSettings.from_config(settings)
    keep_freed_memory()
    plane = load_plane(dataset, checkpoints, directions, s)
    key = tile_key([dataset, checkpoints, directions], s.value_settings())
    grid, tile_attrs = merged_grid(plane, tiles, key, out)
    losses = cached_trajectory_losses(plane, checkpoints, s.batch_size)
    trajectory = {**plane.trajectory, "trajectory_loss": losses}
    parameters = {
        **s.value_settings(),
        "checkpoints": str(checkpoints),
        "directions": str(directions),
        "dataset": str(dataset),
    }
    attrs = {
        **run_attrs(plane.checkpoints),
        **plane_attrs(plane.directions),
        **{k: tile_attrs[k] for k in EVALUATION_ATTRS if k in tile_attrs},
        "device": tile_attrs["device"],
        "batchnorm": s.batchnorm,
        "batchnorm_batch_size": batchnorm_batch_size(plane, s, checkpoints),
        "batchnorm_train_samples": batchnorm_train_samples(plane, s),
        **evaluation_attrs(plane.data, s.subset_size),
        **provenance_attrs(rule, parameters),
        **kind_attrs(plane.directions),
    }
    landscape = datamodel.build_landscape(
        plane.xs, plane.ys, grid, plane.checkpoints["epochs"], trajectory, attrs
    )
    datamodel.write_landscape(landscape, out)
    log.info(
        "landscape %s from %d tiles: train loss %.4g..%.4g → %s",
        plane.directions["plane"],
        len(tiles),
        np.nanmin(grid["train_loss"]),
        np.nanmax(grid["train_loss"]),
        out,
    )


def run_evaluate_landscape(
    dataset: str,
    checkpoints: str,
    directions: str,
    out: str,
    settings: dict,
    threads: int = 1,
    rule: str = PYTHON_CALL,
) -> None:
    """One-piece evaluation (all tiles in turn, then the merge) → landscape netCDF."""
    s = LandscapeSettings.from_config(settings)
    tile_files = [f"{out}.tile_{k}.nc" for k in range(s.tiles)]
    for k, tile_file in enumerate(tile_files):
        run_evaluate_tile(dataset, checkpoints, directions, tile_file, k, settings, threads)
    run_merge_landscape(dataset, checkpoints, directions, tile_files, out, settings, rule)
    for tile_file in tile_files:
        Path(tile_file).unlink()
