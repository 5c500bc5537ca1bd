"""Stage compute_sharpness: Hessian extremes, trace, adaptive (weight-scaled) Hessian
λmax and ε-sharpness of a trained model."""

import logging

import torch
import xarray as xr

from losslandscape.data.datasets import load_dataset
from losslandscape.engine.cpu.allocator import keep_freed_memory
from losslandscape.io import datamodel
from losslandscape.io.provenance import PYTHON_CALL, provenance_attrs
from losslandscape.metrics.sharpness import (
    HessianOperator,
    adaptive_hessian_max_eigenvalue,
    epsilon_sharpness,
    hessian_extreme_eigenvalues,
    sharpness_subset,
)
from losslandscape.metrics.trace import hutchpp_trace
from losslandscape.metrics.variables import SHARPNESS_METRICS
from losslandscape.stages.matching import (
    check_data_fits_model,
    check_directions_fit_model,
    check_landscape_of_plane,
)
from losslandscape.training.checkpoints import (
    load_checkpoints,
    model_from_checkpoints,
    run_attrs,
    run_loss,
)

log = logging.getLogger(__name__)


def run_compute_sharpness(
    dataset: str,
    checkpoints: str,
    out: str,
    subset_size: int = 500,
    trace_products: int = 90,
    epsilon: float = 1e-3,
    ascent_iterations: int = 10,
    threads: int = 1,
    rule: str = PYTHON_CALL,
) -> None:
    """Sharpness of the final model on a seeded training subset → netCDF of scalars."""
    torch.set_num_threads(threads)
    keep_freed_memory()
    data = load_dataset(dataset)
    ckpt = load_checkpoints(checkpoints)
    model = model_from_checkpoints(ckpt)
    check_data_fits_model(model, data, checkpoints, dataset, ckpt["dataset"])
    subset = sharpness_subset(len(data["y_train"]), subset_size, ckpt["seed"])
    inputs, labels = data["x_train"][subset], data["y_train"][subset]
    loss = run_loss(ckpt)
    hvp = HessianOperator(model, inputs, labels, loss)
    largest, smallest = hessian_extreme_eigenvalues(hvp, seed=ckpt["seed"])
    adaptive = adaptive_hessian_max_eigenvalue(hvp, seed=ckpt["seed"])
    trace, trace_se = hutchpp_trace(hvp, hvp.n_params, trace_products, ckpt["seed"])
    eps_sharp = epsilon_sharpness(model, inputs, labels, epsilon, ascent_iterations, loss)
    values = {
        "subset_loss": hvp.loss,
        "hessian_max_eigenvalue": largest,
        "hessian_min_eigenvalue": smallest,
        "hessian_max_eigenvalue_adaptive": adaptive,
        "hessian_trace": trace,
        "hessian_trace_se": trace_se,
        "epsilon_sharpness": eps_sharp,
    }
    data_vars = {
        name: spec.entry(values[name], units=loss.units) for name, spec in SHARPNESS_METRICS.items()
    }
    parameters = {
        "subset_size": len(subset),
        "trace_estimator": "hutch++",
        "trace_products": trace_products,
        "epsilon": epsilon,
        "ascent_iterations": ascent_iterations,
        "checkpoints": str(checkpoints),
        "dataset": str(dataset),
    }
    attrs = run_attrs(ckpt) | provenance_attrs(rule, parameters)
    datamodel.write_netcdf(xr.Dataset(data_vars, attrs=attrs), out)
    log.info(
        "sharpness of %s seed %d: λmax %.4g, λmin %.4g, adaptive λmax %.4g, "
        "trace %.4g ± %.2g, ε-sharpness %.4g",
        ckpt["activation"],
        ckpt["seed"],
        largest,
        smallest,
        adaptive,
        trace,
        trace_se,
        eps_sharp,
    )


def run_hessian_map(
    dataset: str,
    checkpoints: str,
    directions: str,
    landscape: str,
    out: str,
    points: int = 5,
    subset_size: int = 500,
    threads: int = 1,
    rule: str = PYTHON_CALL,
) -> None:
    """Li et al.'s ``|λmin/λmax|`` map (:mod:`losslandscape.metrics.hessian_map`) on ``points`` ×
    ``points`` coordinates of ``landscape``'s grid (the plane of ``directions``), over the
    sharpness stage's seeded training subset → netCDF."""
    from losslandscape.metrics.hessian_map import coarse_axis, hessian_ratio_map
    from losslandscape.parameters import ParameterLayout
    from losslandscape.planes.directions import load_directions

    torch.set_num_threads(threads)
    keep_freed_memory()
    data = load_dataset(dataset)
    ckpt = load_checkpoints(checkpoints)
    plane = load_directions(directions)
    grid = datamodel.read_landscape(landscape)
    model = model_from_checkpoints(ckpt)
    check_data_fits_model(model, data, checkpoints, dataset, ckpt["dataset"])
    check_directions_fit_model(model, plane, directions, checkpoints, ckpt["state_dicts"])
    check_landscape_of_plane(grid, landscape, ckpt, checkpoints, plane, directions)
    layout = ParameterLayout.of(model)
    origin, u, v = (layout.flatten(plane[key]).float() for key in ("origin", "u", "v"))
    subset = sharpness_subset(len(data["y_train"]), subset_size, ckpt["seed"])
    xs = coarse_axis(grid["x"].values, points)
    ys = coarse_axis(grid["y"].values, points)
    result = hessian_ratio_map(
        model, origin, u, v, xs, ys, data["x_train"][subset], data["y_train"][subset],
        seed=ckpt["seed"], loss=run_loss(ckpt),
    )  # fmt: skip
    parameters = {
        "points": points,
        "subset_size": len(subset),
        "checkpoints": str(checkpoints),
        "directions": str(directions),
        "landscape": str(landscape),
        "dataset": str(dataset),
    }
    result.attrs |= run_attrs(ckpt) | {"plane": plane["plane"]} | provenance_attrs(rule, parameters)
    datamodel.write_netcdf(result, out)
    log.info(
        "Hessian map of %s seed %d, %s plane: |λmin/λmax| from %.3g to %.3g over %d points",
        ckpt["activation"],
        ckpt["seed"],
        plane["plane"],
        float(result.eigenvalue_ratio.min()),
        float(result.eigenvalue_ratio.max()),
        result.eigenvalue_ratio.size,
    )
