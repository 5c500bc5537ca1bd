"""The commands that map a plane: ``directions`` (the two vectors spanning it), then
``landscape`` (its grid, or one tile of it) and ``merge-landscape`` (the tiles assembled)."""

import argparse

from losslandscape.cli.options import (
    Command,
    add_landscape_settings,
    config_option,
    key_type,
    plane_name,
)
from losslandscape.io.provenance import cli_rule
from losslandscape.planes.directions import PLANES
from losslandscape.settings import Hessian, Interpolation, Narrow, Random, Settings, ThreePoint
from losslandscape.stages import directions, landscape

_INPUTS = ("--dataset", "--checkpoints", "--directions", "--out")


def add_directions(p: argparse.ArgumentParser) -> None:
    """``directions``' options: the checkpoints, the plane and each plane kind's options."""
    p.add_argument(
        "--checkpoints",
        required=True,
        nargs="+",
        help="the run's checkpoints, then the two other seeds' (three_seed planes)",
    )
    p.add_argument(
        "--plane",
        required=True,
        type=plane_name,
        help=f"a plane name: {', '.join(PLANES)}, with _draw<k> for random, narrow and line "
        "(random_draw1), narrow_draw<k>_epoch<e>",
    )
    config_option(p, "--narrow-extent", Narrow, "extent")
    p.add_argument("--dataset", default=None, help="prepared data set (hessian planes)")
    config_option(p, "--hessian-subset-size", Hessian, "subset_size")
    p.add_argument(
        "--seed",
        type=key_type(Settings, "seeds", int),
        required=True,
        help="the run's seed, which also seeds the random directions (config seeds)",
    )
    config_option(p, "--normalization", Random, "normalization")
    config_option(
        p,
        "--keep-biasbn",
        Random,
        "ignore_biasbn",
        dest="ignore_biasbn",
        action="store_false",
        help="keep random directions on biases and BatchNorm parameters (config "
        "directions.random.ignore_biasbn: false)",
    )
    config_option(
        p, "--three-point-epochs", ThreePoint, "epochs", type=int, nargs=3, metavar="EPOCH"
    )
    config_option(
        p,
        "--interpolation-epochs",
        Interpolation,
        "epochs",
        type=int,
        nargs=2,
        metavar="EPOCH",
    )
    p.add_argument("--out", required=True)


def run_directions(args: dict) -> None:
    args["three_point_epochs"] = tuple(args["three_point_epochs"])
    if args["interpolation_epochs"] is not None:
        args["interpolation_epochs"] = tuple(args["interpolation_epochs"])
    directions.run_compute_directions(**args)


def add_landscape(p: argparse.ArgumentParser) -> None:
    """``landscape``'s options: the inputs, the config's landscape keys and ``--tile``."""
    for name in _INPUTS:
        p.add_argument(name, required=True)
    add_landscape_settings(p)
    p.add_argument("--tile", type=int, default=None, help="evaluate only this tile → tile file")


def _inputs(args: dict) -> dict:
    """The input and output files, taken out of ``args`` (what is left: the settings)."""
    return {k: args.pop(k) for k in ("dataset", "checkpoints", "directions", "out")}


def run_landscape(args: dict) -> None:
    inputs = _inputs(args)
    tile, threads = args.pop("tile"), args.pop("threads")  # the job's, not the grid's
    if tile is None:
        landscape.run_evaluate_landscape(
            **inputs, settings=args, threads=threads, rule=cli_rule("landscape")
        )
    else:
        landscape.run_evaluate_tile(**inputs, tile=tile, settings=args, threads=threads)


def add_merge_landscape(p: argparse.ArgumentParser) -> None:
    """``merge-landscape``'s options: the inputs, the tile files and the landscape keys."""
    for name in _INPUTS:
        p.add_argument(name, required=True)
    p.add_argument("--tile-files", nargs="+", required=True)
    add_landscape_settings(p)


def run_merge_landscape(args: dict) -> None:
    inputs = _inputs(args)
    args.pop("threads")  # the job's, not the grid's
    tile_files = args.pop("tile_files")
    landscape.run_merge_landscape(
        **inputs, tiles=tile_files, settings=args, rule=cli_rule("merge-landscape")
    )


COMMANDS = {
    "directions": Command("two direction vectors spanning a plane", add_directions, run_directions),
    "landscape": Command(
        "loss and accuracy on a plane's grid (one tile with --tile)", add_landscape, run_landscape
    ),
    "merge-landscape": Command(
        "assemble tile files into a landscape", add_merge_landscape, run_merge_landscape
    ),
}
