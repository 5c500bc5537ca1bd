"""A plane ready to evaluate: its checkpoints and directions loaded, the grid axes over the
window its kind asks for, the projected training trajectory, and the evaluation data
(the study's fixed evaluation subset, the BatchNorm samples)."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from losslandscape.data.datasets import load_dataset
from losslandscape.engine.grid import symmetric_axis
from losslandscape.engine.model_copy import has_batchnorm
from losslandscape.parameters import ParameterLayout
from losslandscape.planes.directions import load_directions, project_onto_plane
from losslandscape.planes.kinds import plane_kind
from losslandscape.seeding import seeded_subset
from losslandscape.stages.matching import check_data_fits_model, check_directions_fit_model
from losslandscape.training.checkpoints import load_checkpoints, model_from_checkpoints

if TYPE_CHECKING:
    from losslandscape.stages.landscape import LandscapeSettings

# The seed of the evaluation subset (landscape.subset_size), the same for every run
EVALUATION_SUBSET_SEED = 0


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

    ``plane`` is the plane kind; its ``window`` (:mod:`losslandscape.planes.kinds`) decides:
    ``extent`` (random, narrow, hessian, line): ``[-extent, extent]`` (pass a narrow plane's
    own extent); ``trajectory`` (pca): symmetric about the model, covering the projected
    trajectory (``(n_epochs,)`` coordinates) plus ``margin`` (a fraction of it); ``points``
    (three_point, three_seed, interpolation): covering the points' coordinates
    ``points = (xs, ys)`` plus ``margin`` of their span on each side.
    """
    kind = plane_kind(plane)
    if kind.window == "trajectory":
        xs = symmetric_axis(float(np.abs(trajectory_x).max()), margin, resolution)
        ys = symmetric_axis(float(np.abs(trajectory_y).max()), margin, resolution)
    elif kind.window == "points":
        axes = []
        for values in points:
            low, high = min(values), max(values)
            pad = margin * (high - low)
            axes.append(np.linspace(low - pad, high + pad, resolution))
        xs, ys = axes
    else:
        xs = ys = np.linspace(-extent, extent, resolution)
    if kind.one_dimensional:
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


def load_plane(dataset: str, checkpoints: str, directions: str, s: "LandscapeSettings") -> Plane:
    """The plane of a directions file, with the run's checkpoints projected onto it and the
    grid axes of ``s.resolution`` points over its kind's window (:func:`grid_axes`)."""
    data = load_dataset(dataset)
    ckpt = load_checkpoints(checkpoints)
    dirs = load_directions(directions)
    model = model_from_checkpoints(ckpt)
    check_data_fits_model(model, data, checkpoints, dataset, ckpt["dataset"])
    check_directions_fit_model(model, dirs, directions, checkpoints, ckpt["state_dicts"])
    layout = ParameterLayout.of(model)
    origin = layout.flatten(dirs["origin"])
    u, v = layout.flatten(dirs["u"]), layout.flatten(dirs["v"])
    offsets = torch.stack([layout.flatten(state) for state in ckpt["state_dicts"]]) - origin
    traj_x, traj_y, residual = (t.numpy() for t in project_onto_plane(offsets, u, v))
    meta = dirs["metadata"]
    kind = plane_kind(dirs["plane"])
    points = None
    if kind.window == "points":  # fixed by the kind, or where the directions put them
        points = kind.points or (meta["point_x"], meta["point_y"])
    extent = meta.get("extent", s.extent)  # a narrow plane's own half-width
    xs, ys = grid_axes(dirs["plane"], traj_x, traj_y, s.resolution, extent, s.margin, points)
    trajectory = {"trajectory_x": traj_x, "trajectory_y": traj_y, "trajectory_residual": residual}
    return Plane(ckpt, dirs, data, model, origin, u, v, xs, ys, trajectory)


def evaluation_splits(data: dict, subset_size: int | None, seed: int, device) -> dict:
    """Train and test splits (name → (inputs, labels)) on ``device``, each cut to the seeded
    ``subset_size`` if set: the grids' evaluation subset, which the lines between seeds use
    too."""
    splits = {}
    for split in ("train", "test"):
        inputs, labels = data[f"x_{split}"], data[f"y_{split}"]
        keep = seeded_subset(len(labels), subset_size, seed, f"evaluation_subset_{split}")
        splits[split] = (inputs[keep].to(device), labels[keep].to(device))
    return splits


def evaluation_attrs(data: dict, subset_size: int | None) -> dict[str, int]:
    """What a file records of its evaluation subset: the requested ``subset_size`` (−1:
    none) and the samples each split really had (a subset larger than a split is the
    whole split)."""
    attrs = {"evaluation_subset_size": -1 if subset_size is None else int(subset_size)}
    for split in ("train", "test"):
        available = len(data[f"y_{split}"])
        used = available if subset_size is None else min(int(subset_size), available)
        attrs[f"evaluation_{split}_samples"] = used
    return attrs


def batchnorm_inputs(plane: Plane, s: "LandscapeSettings", device) -> torch.Tensor:
    """The run's seeded ``batchnorm_samples`` training inputs, on ``device``: what BatchNorm
    statistics are recomputed from (``batchnorm: recompute``)."""
    data, seed = plane.data, int(plane.checkpoints["seed"])
    keep = seeded_subset(len(data["y_train"]), s.batchnorm_samples, seed, "batchnorm_subset")
    return data["x_train"][keep].to(device)


def batchnorm_batch_size(plane: Plane, s: "LandscapeSettings", checkpoints: str) -> int:
    """Samples per train-mode batch when BatchNorm statistics are recomputed:
    ``s.batchnorm_batch_size``, or (null) the run's training batch size as its checkpoints
    record it; −1 where nothing is recomputed (``batchnorm: keep``, or a model without
    BatchNorm), which is what the landscape records then.

    Raises:
        ValueError: statistics to recompute with no batch size set, from checkpoints
            (``checkpoints``, a path) written before they recorded the training batch size.
    """
    if s.batchnorm != "recompute" or not has_batchnorm(plane.model):
        return -1
    if s.batchnorm_batch_size is not None:
        return int(s.batchnorm_batch_size)
    if "batch_size" not in plane.checkpoints:
        raise ValueError(
            f"landscape.batchnorm_batch_size is null (the run's training batch size), but "
            f"checkpoints {checkpoints} do not record it (written before they did): set "
            f"landscape.batchnorm_batch_size to the batch size the run was trained with"
        )
    return int(plane.checkpoints["batch_size"])


def batchnorm_train_samples(plane: Plane, s: "LandscapeSettings") -> int:
    """The training samples BatchNorm statistics were recomputed from: ``batchnorm_samples``
    or the whole training split where that is smaller; −1 where nothing is recomputed."""
    if s.batchnorm != "recompute" or not has_batchnorm(plane.model):
        return -1
    return min(int(s.batchnorm_samples), len(plane.data["y_train"]))
