"""The commands that measure: ``metrics`` (of a landscape), ``sharpness`` and
``hessian-map`` (of a trained model)."""

import argparse

from losslandscape.cli.options import Command, config_option
from losslandscape.io.provenance import cli_rule
from losslandscape.settings import Metrics, MinimaTolerance, Sharpness
from losslandscape.stages import analyze, sharpness


def add_metrics(p: argparse.ArgumentParser) -> None:
    """``metrics``' options: the landscape file, the output and the config's metrics keys."""
    p.add_argument(
        "landscape",
        help="a landscape netCDF file (docs/data-model.md), or a grid from another tool: a "
        "netCDF with a loss on (y, x), a NumPy .npz (loss, x, y) or bare .npy, or Li et al.'s "
        "HDF5 surface file (.h5)",
    )
    p.add_argument(
        "--coordinates",
        type=float,
        nargs=4,
        metavar=("X_MIN", "X_MAX", "Y_MIN", "Y_MAX"),
        help="the plane coordinates a bare .npy grid spans (evenly spaced)",
    )
    p.add_argument("--out", required=True, help="the metrics netCDF file to write")
    config_option(p, "--variable", Metrics, "variable")
    config_option(p, "--tolerance-absolute", MinimaTolerance, "absolute")
    config_option(p, "--tolerance-relative", MinimaTolerance, "relative")
    config_option(p, "--edge", Metrics, "edge")
    config_option(p, "--basin-levels", Metrics, "basin_levels", type=float, nargs="+")
    for key in ("basin_level_mode", "region_height", "roughness_scale", "shape_sigma"):
        config_option(p, "--" + key.replace("_", "-"), Metrics, key)


def run_metrics(args: dict) -> None:
    args["basin_levels"] = tuple(args["basin_levels"])
    analyze.run_compute_metrics(**args, rule=cli_rule("metrics"))


def add_sharpness(p: argparse.ArgumentParser) -> None:
    """``sharpness``' options: the inputs, the output and the config's sharpness keys."""
    p.add_argument("--dataset", required=True)
    p.add_argument("--checkpoints", required=True)
    p.add_argument("--out", required=True)
    for key in ("subset_size", "trace_products", "epsilon", "ascent_iterations"):
        config_option(p, "--" + key.replace("_", "-"), Sharpness, key)
    p.add_argument("--threads", type=int, default=1)


def run_sharpness(args: dict) -> None:
    sharpness.run_compute_sharpness(**args, rule=cli_rule("sharpness"))


def add_hessian_map(p: argparse.ArgumentParser) -> None:
    """``hessian-map``'s options: the inputs, the output and the sub-grid's size."""
    for name, what in (
        ("--dataset", "prepared data set (.pt)"),
        ("--checkpoints", "the run's checkpoints (.pt)"),
        ("--directions", "the plane's directions (.pt)"),
        ("--landscape", "the plane's landscape (.nc), whose grid is subsampled"),
        ("--out", "netCDF file to write"),
    ):
        p.add_argument(name, required=True, help=what)
    p.add_argument("--points", type=int, default=5, help="grid points per axis (default 5)")
    config_option(
        p,
        "--subset-size",
        Sharpness,
        "subset_size",
        help="training samples in the loss, the sharpness stage's subset (config "
        "sharpness.subset_size; default: %(default)s)",
    )
    p.add_argument("--threads", type=int, default=1)


def run_hessian_map(args: dict) -> None:
    sharpness.run_hessian_map(**args, rule=cli_rule("hessian-map"))


COMMANDS = {
    "metrics": Command(
        "minima, steepness, roughness, basin width and shape of a landscape (loss units)",
        add_metrics,
        run_metrics,
    ),
    "sharpness": Command(
        "Hessian extremes, trace and ε-sharpness of a model", add_sharpness, run_sharpness
    ),
    "hessian-map": Command(
        "Li et al.'s |λmin/λmax| of the full Hessian on a coarse sub-grid of a landscape",
        add_hessian_map,
        run_hessian_map,
    ),
}
