"""Stages that need torch: data set, training, directions, landscape evaluation, sharpness."""

import logging
from pathlib import Path

import numpy as np
import torch
import xarray as xr

from losslandscape import datamodel
from losslandscape.allocator import keep_freed_memory
from losslandscape.checkpoints import load_checkpoints, model_from_checkpoints, save_checkpoints
from losslandscape.datasets import load_dataset, prepare_dataset, save_dataset
from losslandscape.directions import (
    FORMAT_VERSION as DIRECTIONS_FORMAT_VERSION,
)
from losslandscape.directions import (
    load_directions,
    pca_directions,
    project_onto_plane,
    random_directions,
    save_directions,
)
from losslandscape.evaluation import evaluate
from losslandscape.landscape import evaluate_grid, symmetric_axis
from losslandscape.parameters import ParameterLayout
from losslandscape.provenance import provenance_attrs
from losslandscape.sharpness import (
    HessianOperator,
    epsilon_sharpness,
    hessian_extreme_eigenvalues,
    hutchinson_trace,
    sharpness_subset,
)
from losslandscape.training import train_run

log = logging.getLogger(__name__)


def run_prepare_dataset(name: str, out: str) -> None:
    """Build data set ``name`` and write it to ``out`` (.pt)."""
    dataset = prepare_dataset(name)
    save_dataset(dataset, out)
    log.info(
        "%s: %d train / %d test samples, %d classes, input %s → %s",
        name,
        len(dataset["y_train"]),
        len(dataset["y_test"]),
        dataset["n_classes"],
        dataset["input_shape"],
        out,
    )


def run_train_model(
    dataset: str, checkpoints: str, history: str, threads: int = 1, **train_kwargs
) -> None:
    """Train one run (keyword arguments of :func:`losslandscape.training.train_run`)."""
    torch.set_num_threads(threads)
    keep_freed_memory()
    data = load_dataset(dataset)
    result, table = train_run(data, **train_kwargs)
    save_checkpoints(result, checkpoints)
    Path(history).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(history, index=False)


def run_compute_directions(
    checkpoints: str,
    out: str,
    plane: str,
    seed: int,
    normalization: str = "filter",
    ignore_biasbn: bool = True,
) -> None:
    """Directions for one run and plane kind (``pca`` or ``random``) → ``out`` (.pt)."""
    ckpt = load_checkpoints(checkpoints)
    model = model_from_checkpoints(ckpt)
    layout = ParameterLayout.of(model)
    final = {name: ckpt["state_dicts"][-1][name] for name in layout.names}
    if plane == "pca":
        trajectory = torch.stack([layout.flatten(state) for state in ckpt["state_dicts"]])
        flat_u, flat_v, metadata = pca_directions(trajectory)
        u, v = layout.unflatten(flat_u), layout.unflatten(flat_v)
        metadata["normalization"] = "unit"
    elif plane == "random":
        u, v, metadata = random_directions(final, seed, normalization, ignore_biasbn)
    else:
        raise ValueError(f"plane {plane!r} is unknown; choose one of pca, random")
    save_directions(
        {
            "format_version": DIRECTIONS_FORMAT_VERSION,
            "plane": plane,
            "parameter_names": list(layout.names),
            "u": {k: t.clone() for k, t in u.items()},
            "v": {k: t.clone() for k, t in v.items()},
            "metadata": metadata,
        },
        out,
    )
    log.info(
        "%s directions for %s seed %d: %s → %s",
        plane,
        ckpt["activation"],
        ckpt["seed"],
        metadata,
        out,
    )


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


def run_compute_sharpness(
    dataset: str,
    checkpoints: str,
    out: str,
    subset_size: int = 1000,
    hutchinson_samples: int = 20,
    epsilon: float = 1e-3,
    ascent_iterations: int = 10,
    threads: int = 1,
    rule: str = "compute_sharpness",
) -> None:
    """Sharpness of the final model on a seeded training subset → netCDF of scalars."""
    torch.set_num_threads(threads)
    keep_freed_memory()
    data = load_dataset(dataset)
    ckpt = load_checkpoints(checkpoints)
    model = model_from_checkpoints(ckpt)
    subset = sharpness_subset(len(data["y_train"]), subset_size, ckpt["seed"])
    inputs, labels = data["x_train"][subset], data["y_train"][subset]
    hvp = HessianOperator(model, inputs, labels)
    largest, smallest = hessian_extreme_eigenvalues(hvp, seed=ckpt["seed"])
    trace, trace_se = hutchinson_trace(hvp, hutchinson_samples, ckpt["seed"])
    eps_sharp = epsilon_sharpness(model, inputs, labels, epsilon, ascent_iterations)
    nats2 = "nats per unit parameter^2"
    data_vars = {
        "subset_loss": (
            (),
            hvp.loss,
            {"long_name": "mean cross-entropy on the subset", "units": "nats"},
        ),
        "hessian_max_eigenvalue": (
            (),
            largest,
            {"long_name": "largest Hessian eigenvalue", "units": nats2},
        ),
        "hessian_min_eigenvalue": (
            (),
            smallest,
            {"long_name": "smallest Hessian eigenvalue", "units": nats2},
        ),
        "hessian_trace": ((), trace, {"long_name": "Hessian trace (Hutchinson)", "units": nats2}),
        "hessian_trace_se": (
            (),
            trace_se,
            {"long_name": "standard error of hessian_trace", "units": nats2},
        ),
        "epsilon_sharpness": (
            (),
            eps_sharp,
            {"long_name": "Keskar et al. epsilon-sharpness", "units": "percent"},
        ),
    }
    parameters = {
        "subset_size": len(subset),
        "hutchinson_samples": hutchinson_samples,
        "epsilon": epsilon,
        "ascent_iterations": ascent_iterations,
        "checkpoints": str(checkpoints),
        "dataset": str(dataset),
    }
    attrs = {
        "activation": ckpt["activation"],
        "seed": int(ckpt["seed"]),
        "model": ckpt["model_name"],
        "dataset": ckpt["dataset"],
        **provenance_attrs(rule, parameters),
    }
    datamodel.write_netcdf(xr.Dataset(data_vars, attrs=attrs), out)
    log.info(
        "sharpness of %s seed %d: λmax %.4g, λmin %.4g, trace %.4g ± %.2g, ε-sharpness %.4g",
        ckpt["activation"],
        ckpt["seed"],
        largest,
        smallest,
        trace,
        trace_se,
        eps_sharp,
    )
