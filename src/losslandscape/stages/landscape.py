"""Stages evaluate_landscape_tile and merge_landscape: a plane's grid in tiles → netCDF.

Every tile job rebuilds the same grid axes from the directions and checkpoints, evaluates
its share of the points (resuming an interrupted run), and writes a tile file; the merge
job checks and assembles the tiles and adds the projected training trajectory.
"""

import logging
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch

from losslandscape.data.datasets import load_dataset
from losslandscape.devices import resolve_device
from losslandscape.engine.cpu.allocator import keep_freed_memory
from losslandscape.engine.evaluation import evaluate
from losslandscape.engine.grid import grid_coordinates, symmetric_axis
from losslandscape.engine.strategies import EvaluationOptions, choose_strategy, open_evaluator
from losslandscape.engine.tiles import (
    merge_tiles,
    partial_path,
    resume_partial,
    save_partial,
    tile_dataset,
    tile_key,
    tile_points,
)
from losslandscape.io import datamodel
from losslandscape.io.provenance import provenance_attrs
from losslandscape.parameters import ParameterLayout
from losslandscape.planes.directions import load_directions, project_onto_plane
from losslandscape.planes.names import SLICES
from losslandscape.seeding import seeded_subset
from losslandscape.training.checkpoints import load_checkpoints, model_from_checkpoints, run_attrs

log = logging.getLogger(__name__)

# The seed of the evaluation subset (landscape.subset_size), the same for every run
EVALUATION_SUBSET_SEED = 0
# Kinds whose grid spans given points (the models they pass through) plus a margin
THROUGH_POINTS = ("three_point", "three_seed", "interpolation")

# auto also measures torch.compile when the tile would take longer than this with the
# best other strategy (small_cnn2d: compile 2.3 points/s against 0.9 for point, after
# about 20 s of compiling; the default CNN: compile slower; benchmarks/README.md)
COMPILE_WORTH_SECONDS = 300.0


@dataclass(frozen=True)
class LandscapeSettings:
    """The ``landscape`` section of the config (config/README.md documents each key)."""

    resolution: int = 31
    extent: float = 1.0
    margin: float = 0.25
    batch_size: int = 1000
    tiles: int = 1
    threads: int = 1
    strategy: str = "auto"
    batchnorm: str = "keep"
    batchnorm_samples: int = 1000
    subset_size: int | None = None
    memory_budget_mb: float = 2048.0
    device: str = "auto"
    save_every_seconds: float = 60.0

    @classmethod
    def from_config(cls, section: dict) -> "LandscapeSettings":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(section) - known)
        if unknown:
            raise ValueError(f"landscape settings {unknown} are unknown; known: {sorted(known)}")
        return cls(**section)

    def value_settings(self) -> dict:
        """The settings a grid's values may depend on: not how often progress is saved or
        how many threads run (``auto`` picks a strategy per job anyway)."""
        return {k: v for k, v in asdict(self).items() if k not in ("save_every_seconds", "threads")}


def grid_axes(
    plane: str,
    trajectory_x: np.ndarray,
    trajectory_y: np.ndarray,
    resolution: int,
    extent: float,
    margin: float,
    points: tuple[list[float], list[float]] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Grid axes ``xs`` ``(resolution,)`` and ``ys`` (``(resolution,)``, or ``[0]`` for 1-D).

    ``plane`` is the plane kind. ``random``, ``narrow``, ``hessian`` and ``line``:
    ``[-extent, extent]`` (pass a narrow plane's own extent). ``pca``: symmetric about the
    model, covering the projected trajectory (``(n_epochs,)`` coordinates) plus ``margin``
    (a fraction of it). ``three_point``, ``three_seed`` and ``interpolation``: covering the
    points' coordinates ``points = (xs, ys)`` plus ``margin`` of their span on each side.
    """
    if plane == "pca":
        xs = symmetric_axis(float(np.abs(trajectory_x).max()), margin, resolution)
        ys = symmetric_axis(float(np.abs(trajectory_y).max()), margin, resolution)
    elif plane in THROUGH_POINTS:
        axes = []
        for values in points:
            low, high = min(values), max(values)
            pad = margin * (high - low)
            axes.append(np.linspace(low - pad, high + pad, resolution))
        xs, ys = axes
    else:
        xs = ys = np.linspace(-extent, extent, resolution)
    if plane in SLICES:
        ys = np.zeros(1)
    return xs, ys


@dataclass
class Plane:
    """A run's model, data and plane, with the grid axes and the projected trajectory."""

    checkpoints: dict
    directions: dict
    data: dict
    model: torch.nn.Module
    origin: torch.Tensor
    u: torch.Tensor
    v: torch.Tensor
    xs: np.ndarray
    ys: np.ndarray
    trajectory: dict[str, np.ndarray]


def load_plane(dataset: str, checkpoints: str, directions: str, s: LandscapeSettings) -> Plane:
    data = load_dataset(dataset)
    ckpt = load_checkpoints(checkpoints)
    dirs = load_directions(directions)
    model = model_from_checkpoints(ckpt)
    layout = ParameterLayout.of(model)
    origin = layout.flatten(dirs["origin"])
    u, v = layout.flatten(dirs["u"]), layout.flatten(dirs["v"])
    offsets = torch.stack([layout.flatten(state) for state in ckpt["state_dicts"]]) - origin
    traj_x, traj_y, residual = (t.numpy() for t in project_onto_plane(offsets, u, v))
    meta = dirs["metadata"]
    points = None
    if dirs["plane"] in ("three_point", "three_seed"):
        points = (meta["point_x"], meta["point_y"])
    elif dirs["plane"] == "interpolation":
        points = ([0.0, 1.0], [0.0, 0.0])
    extent = meta.get("extent", s.extent)  # a narrow plane's own half-width
    xs, ys = grid_axes(dirs["plane"], traj_x, traj_y, s.resolution, extent, s.margin, points)
    trajectory = {"trajectory_x": traj_x, "trajectory_y": traj_y, "trajectory_residual": residual}
    return Plane(ckpt, dirs, data, model, origin, u, v, xs, ys, trajectory)


def evaluation_splits(data: dict, s: LandscapeSettings, seed: int, device) -> dict:
    """Train and test splits on ``device``, each cut to the seeded ``subset_size`` if set."""
    splits = {}
    for split in ("train", "test"):
        inputs, labels = data[f"x_{split}"], data[f"y_{split}"]
        keep = seeded_subset(len(labels), s.subset_size, seed, f"evaluation_subset_{split}")
        splits[split] = (inputs[keep].to(device), labels[keep].to(device))
    return splits


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
    seed = int(plane.checkpoints["seed"])
    device = resolve_device(s.device)
    model = plane.model.to(device)
    origin, u, v = (t.to(device) for t in (plane.origin, plane.u, plane.v))
    # One evaluation subset for every run of a study (not seeded by the run): activations and
    # seeds are compared on the same samples, so subset noise does not differ between them.
    splits = evaluation_splits(plane.data, s, EVALUATION_SUBSET_SEED, device)
    norm_inputs = plane.data["x_train"][
        seeded_subset(len(plane.data["y_train"]), s.batchnorm_samples, seed, "batchnorm_subset")
    ].to(device)
    options = EvaluationOptions(
        batch_size=s.batch_size,
        batchnorm=s.batchnorm,
        batchnorm_inputs=norm_inputs,
        workers=threads,
        memory_budget_mb=s.memory_budget_mb,
    )
    coords = grid_coordinates(plane.xs, plane.ys)
    points = tile_points(len(coords), s.tiles, tile)
    key = tile_key([dataset, checkpoints, directions], s.value_settings())
    values = resume_partial(out, key, points)
    strategy = s.strategy
    if strategy == "auto":
        candidates = ("point", "vmap") + (("pool",) if threads > 1 else ())
        strategy, rates = choose_strategy(model, origin, u, v, splits, options, candidates)
        if len(points) / rates[strategy] > COMPILE_WORTH_SECONDS:
            # compiling takes seconds to minutes: tried only where it can pay off
            try:
                _, more = choose_strategy(model, origin, u, v, splits, options, ("compile",))
            except RuntimeError:  # no C++ compiler here: logged by choose_strategy
                more = {}
            if more.get("compile", 0.0) > rates[strategy]:
                strategy = "compile"
    attrs = {
        "key": key,
        "tile": tile,
        "tiles": s.tiles,
        "strategy": strategy,
        "device": str(device),
    }

    done, chunk = len(values["train_loss"]), max(1, threads)
    started = last_save = now = time.perf_counter()
    with open_evaluator(model, origin, u, v, splits, strategy, options) as evaluator:
        while done < len(points):
            begin = time.perf_counter()
            block = points[done : done + chunk]
            new = evaluator(coords[block])
            values = {k: np.concatenate([values[k], new[k]]) for k in values}
            done += len(block)
            now = time.perf_counter()
            # chunks of about 5 s: progress lines and partial saves without per-point overhead
            chunk = max(1, min(4 * chunk, int(len(block) * 5.0 / max(now - begin, 1e-9))))
            if now - last_save >= s.save_every_seconds and done < len(points):
                save_partial(out, points[:done], values, attrs)
                last_save = now
            log.info(
                "tile %d/%d: %d/%d points, %.1f points/s (%s)",
                tile + 1,
                s.tiles,
                done,
                len(points),
                len(block) / max(now - begin, 1e-9),
                strategy,
            )
    datamodel.write_netcdf(tile_dataset(points, values, attrs), out)
    partial_path(out).unlink(missing_ok=True)
    log.info("tile %d/%d done in %.1f s → %s", tile + 1, s.tiles, now - started, out)


def run_merge_landscape(
    dataset: str,
    checkpoints: str,
    directions: str,
    tiles: list[str],
    out: str,
    settings: dict,
    rule: str = "merge_landscape",
) -> None:
    """Assemble a plane's tiles, add the trajectory and provenance → landscape netCDF."""
    s = LandscapeSettings.from_config(settings)
    keep_freed_memory()
    plane = load_plane(dataset, checkpoints, directions, s)
    ckpt, dirs, meta = plane.checkpoints, plane.directions, plane.directions["metadata"]
    n_points = len(plane.xs) * len(plane.ys)
    merged, tile_attrs = merge_tiles(tiles, n_points)
    grid = {k: a.reshape(len(plane.ys), len(plane.xs)) for k, a in merged.items()}
    key = tile_key([dataset, checkpoints, directions], s.value_settings())
    if tile_attrs["key"] != key:
        raise ValueError(
            f"tiles {tiles} were computed from other inputs or settings than {out} asks for; "
            "rerun the tiles"
        )
    trajectory = dict(plane.trajectory)
    trajectory["trajectory_loss"] = [
        evaluate(
            model_from_checkpoints(ckpt, index),
            plane.data["x_train"],
            plane.data["y_train"],
            s.batch_size,
        )[0]
        for index in range(len(ckpt["epochs"]))
    ]
    parameters = {
        **s.value_settings(),
        "checkpoints": str(checkpoints),
        "directions": str(directions),
        "dataset": str(dataset),
    }
    attrs = {
        **run_attrs(ckpt),
        "plane": dirs["plane"],
        "plane_name": dirs.get("plane_name", dirs["plane"]),
        "draw": int(meta.get("draw", 1)),
        "dimensions": 1 if dirs["plane"] in SLICES else 2,
        "normalization": meta["normalization"],
        "strategy": tile_attrs["strategy"],
        "device": tile_attrs["device"],
        "batchnorm": s.batchnorm,
        "evaluation_subset_size": -1 if s.subset_size is None else int(s.subset_size),
        **provenance_attrs(rule, parameters),
    }
    if dirs["plane"] in ("three_point", "interpolation"):
        attrs[f"{dirs['plane']}_epochs"] = [int(e) for e in meta["epochs"]]
    if dirs["plane"] == "three_seed":
        attrs["plane_seeds"] = [int(e) for e in meta["seeds"]]
    if "epoch" in meta:  # a narrow plane around an earlier checkpoint
        attrs["centre_epoch"] = int(meta["epoch"])
    if "extent" in meta:
        attrs["extent"] = float(meta["extent"])
    if dirs["plane"] in ("three_point", "three_seed"):
        attrs["three_point_x"] = [float(c) for c in meta["point_x"]]
        attrs["three_point_y"] = [float(c) for c in meta["point_y"]]
    if dirs["plane"] == "hessian":
        attrs["hessian_eigenvalues"] = [float(e) for e in meta["eigenvalues"]]
    if dirs["plane"] == "pca":
        attrs["explained_variance_ratio"] = [float(r) for r in meta["explained_variance_ratio"]]
    landscape = datamodel.build_landscape(
        plane.xs, plane.ys, grid, ckpt["epochs"], trajectory, attrs
    )
    datamodel.write_landscape(landscape, out)
    log.info(
        "landscape %s from %d tiles: train loss %.4g..%.4g → %s",
        dirs["plane"],
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
    rule: str = "evaluate_landscape",
) -> None:
    """One-piece evaluation (all tiles in turn, then the merge) → landscape netCDF."""
    s = LandscapeSettings.from_config(settings)
    tile_files = [f"{out}.tile_{k}.nc" for k in range(s.tiles)]
    for k, tile_file in enumerate(tile_files):
        run_evaluate_tile(dataset, checkpoints, directions, tile_file, k, settings, threads)
    run_merge_landscape(dataset, checkpoints, directions, tile_files, out, settings, rule)
    for tile_file in tile_files:
        Path(tile_file).unlink()
