"""Stage evaluate_landscape: loss and accuracy over a plane → landscape netCDF."""

import logging

import numpy as np
import torch

from losslandscape import datamodel
from losslandscape.allocator import keep_freed_memory
from losslandscape.checkpoints import load_checkpoints, model_from_checkpoints, run_attrs
from losslandscape.datasets import load_dataset
from losslandscape.directions import load_directions, project_onto_plane
from losslandscape.evaluation import evaluate
from losslandscape.landscape import evaluate_grid, symmetric_axis
from losslandscape.parameters import ParameterLayout
from losslandscape.provenance import provenance_attrs

log = logging.getLogger(__name__)


def grid_coordinates(
    plane: str,
    trajectory_x: np.ndarray,
    trajectory_y: np.ndarray,
    resolution: int,
    extent: float,
    margin: float,
    points: tuple[list[float], list[float]] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Grid axes ``xs``, ``ys``, each ``(resolution,)``.

    ``random`` and ``hessian``: ``[-extent, extent]``. ``pca``: symmetric about the model,
    covering the projected trajectory (``(n_epochs,)`` coordinates) plus ``margin`` (a
    fraction of it).
    ``three_point``: covering the three points' coordinates ``points = (xs, ys)`` plus
    ``margin`` of their span on each side.
    """
    if plane == "pca":
        xs = symmetric_axis(float(np.abs(trajectory_x).max()), margin, resolution)
        ys = symmetric_axis(float(np.abs(trajectory_y).max()), margin, resolution)
    elif plane == "three_point":
        axes = []
        for values in points:
            low, high = min(values), max(values)
            pad = margin * (high - low)
            axes.append(np.linspace(low - pad, high + pad, resolution))
        xs, ys = axes
    else:
        xs = ys = np.linspace(-extent, extent, resolution)
    return xs, ys


def run_evaluate_landscape(
    dataset: str,
    checkpoints: str,
    directions: str,
    out: str,
    resolution: int,
    extent: float = 1.0,
    margin: float = 0.25,
    batch_size: int = 1000,
    threads: int = 1,
    rule: str = "evaluate_landscape",
) -> None:
    """Evaluate the plane of ``directions`` around its origin → landscape netCDF.

    ``margin`` pads PCA planes around the trajectory and three-point planes around their
    three points, as a fraction of what they cover.
    """
    torch.set_num_threads(threads)
    keep_freed_memory()
    data = load_dataset(dataset)
    ckpt = load_checkpoints(checkpoints)
    dirs = load_directions(directions)
    model = model_from_checkpoints(ckpt)
    layout = ParameterLayout.of(model)
    origin = layout.flatten(dirs["origin"])
    u, v = layout.flatten(dirs["u"]), layout.flatten(dirs["v"])

    offsets = torch.stack([layout.flatten(s) for s in ckpt["state_dicts"]]) - origin
    traj_x, traj_y, residual = (t.numpy() for t in project_onto_plane(offsets, u, v))
    traj_loss = []
    for index in range(len(ckpt["epochs"])):
        traj_loss.append(
            evaluate(
                model_from_checkpoints(ckpt, index), data["x_train"], data["y_train"], batch_size
            )[0]
        )

    meta = dirs["metadata"]
    points = (meta["point_x"], meta["point_y"]) if dirs["plane"] == "three_point" else None
    xs, ys = grid_coordinates(dirs["plane"], traj_x, traj_y, resolution, extent, margin, points)
    splits = {"train": (data["x_train"], data["y_train"]), "test": (data["x_test"], data["y_test"])}
    grid = evaluate_grid(model, origin, u, v, xs, ys, splits, batch_size=batch_size)

    parameters = {
        "resolution": resolution,
        "extent": extent,
        "margin": margin,
        "batch_size": batch_size,
        "checkpoints": str(checkpoints),
        "directions": str(directions),
        "dataset": str(dataset),
    }
    attrs = {
        **run_attrs(ckpt),
        "plane": dirs["plane"],
        "normalization": dirs["metadata"]["normalization"],
        **provenance_attrs(rule, parameters),
    }
    if dirs["plane"] == "three_point":
        attrs["three_point_epochs"] = [int(e) for e in meta["epochs"]]
        attrs["three_point_x"] = [float(c) for c in meta["point_x"]]
        attrs["three_point_y"] = [float(c) for c in meta["point_y"]]
    if dirs["plane"] == "hessian":
        attrs["hessian_eigenvalues"] = [float(e) for e in meta["eigenvalues"]]
    if dirs["plane"] == "pca":
        attrs["explained_variance_ratio"] = [
            float(r) for r in dirs["metadata"]["explained_variance_ratio"]
        ]
    trajectory = {
        "trajectory_x": traj_x,
        "trajectory_y": traj_y,
        "trajectory_loss": traj_loss,
        "trajectory_residual": residual,
    }
    landscape = datamodel.build_landscape(xs, ys, grid, ckpt["epochs"], trajectory, attrs)
    datamodel.write_landscape(landscape, out)
    log.info(
        "landscape %s: train loss %.4g..%.4g → %s",
        dirs["plane"],
        grid["train_loss"].min(),
        grid["train_loss"].max(),
        out,
    )
