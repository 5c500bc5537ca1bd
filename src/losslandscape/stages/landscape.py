"""Stage evaluate_landscape: loss and accuracy over a plane → landscape netCDF."""

import logging

import numpy as np
import torch

from losslandscape import datamodel
from losslandscape.allocator import keep_freed_memory
from losslandscape.checkpoints import load_checkpoints, model_from_checkpoints
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
) -> tuple[np.ndarray, np.ndarray]:
    """Grid axes ``xs``, ``ys``, each ``(resolution,)``: ``[-extent, extent]`` for random
    planes; for PCA planes a range symmetric about the model that covers the projected
    trajectory (``(n_epochs,)`` coordinates) plus ``margin`` (a fraction of it)."""
    if plane == "pca":
        xs = symmetric_axis(float(np.abs(trajectory_x).max()), margin, resolution)
        ys = symmetric_axis(float(np.abs(trajectory_y).max()), margin, resolution)
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
    pca_margin: float = 0.25,
    batch_size: int = 8192,
    threads: int = 1,
    rule: str = "evaluate_landscape",
) -> None:
    """Evaluate the plane of ``directions`` around the final model → landscape netCDF."""
    torch.set_num_threads(threads)
    keep_freed_memory()
    data = load_dataset(dataset)
    ckpt = load_checkpoints(checkpoints)
    dirs = load_directions(directions)
    model = model_from_checkpoints(ckpt)
    layout = ParameterLayout.of(model)
    origin = layout.flatten(ckpt["state_dicts"][-1])
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

    xs, ys = grid_coordinates(dirs["plane"], traj_x, traj_y, resolution, extent, pca_margin)
    splits = {"train": (data["x_train"], data["y_train"]), "test": (data["x_test"], data["y_test"])}
    grid = evaluate_grid(model, origin, u, v, xs, ys, splits, batch_size=batch_size)

    parameters = {
        "resolution": resolution,
        "extent": extent,
        "pca_margin": pca_margin,
        "batch_size": batch_size,
        "checkpoints": str(checkpoints),
        "directions": str(directions),
        "dataset": str(dataset),
    }
    attrs = {
        "activation": ckpt["activation"],
        "seed": int(ckpt["seed"]),
        "model": ckpt["model_name"],
        "dataset": ckpt["dataset"],
        "plane": dirs["plane"],
        "normalization": dirs["metadata"]["normalization"],
        **provenance_attrs(rule, parameters),
    }
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
