"""Command line: every stage of the study without Snakemake.

    python -m losslandscape prepare-dataset --name mnist1d --out data.pt
    python -m losslandscape train --dataset data.pt --model mnist1d_cnn --activation relu \\
        --seed 42 --epochs 40 --learning-rate 1e-2 --checkpoints ckpt.pt --history history.csv
    python -m losslandscape directions --checkpoints ckpt.pt --plane pca --seed 42 --out pca.pt
    python -m losslandscape landscape --dataset data.pt --checkpoints ckpt.pt \\
        --directions pca.pt --resolution 41 --out pca.nc
    python -m losslandscape metrics pca.nc --out pca_metrics.nc
    python -m losslandscape sharpness --dataset data.pt --checkpoints ckpt.pt --out sharp.nc
    python -m losslandscape hessian-map --dataset data.pt --checkpoints ckpt.pt \\
        --directions random.pt --landscape random.nc --points 5 --out random_hessian.nc
    python -m losslandscape plot-landscape pca.nc --out pca.png
"""

import argparse
import json
import logging
from dataclasses import fields

from losslandscape.data.archives import ARCHIVES
from losslandscape.data.datasets import DATASETS
from losslandscape.devices import DEVICES
from losslandscape.metrics.basins import LEVEL_MODES
from losslandscape.metrics.landscape import DEFAULTS as METRICS
from losslandscape.metrics.minima import EDGE_RULES
from losslandscape.planes.directions import PLANES
from losslandscape.planes.names import PlaneName
from losslandscape.stages import analyze, data, directions, figures, landscape, sharpness, train
from losslandscape.training.loop import AUGMENTATIONS


def _add_landscape_settings(p: argparse.ArgumentParser) -> None:
    """The config's ``landscape`` keys as options (config/README.md documents them)."""
    defaults = landscape.LandscapeSettings()
    for field in fields(landscape.LandscapeSettings):
        kind = field.type if field.type in (int, float, str) else int  # int | None: an int
        p.add_argument(
            "--" + field.name.replace("_", "-"),
            type=kind,
            default=getattr(defaults, field.name),
            help=f"default {getattr(defaults, field.name)}",
        )


def plane_name(text: str) -> str:
    """An argparse type: a valid plane name (losslandscape.planes.names), else a usage error."""
    try:
        PlaneName.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="losslandscape", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="stage", required=True)

    p = sub.add_parser("prepare-dataset", help="build a data set as tensors")
    p.add_argument("--name", required=True, choices=DATASETS)
    p.add_argument("--archive-folder", default=None, help="official archives (CIFAR, MNIST)")
    p.add_argument("--labels", default="fine", choices=["fine", "coarse"], help="CIFAR-100")
    p.add_argument("--out", required=True)

    p = sub.add_parser("download", help="fetch a data set's official archives (md5 checked)")
    p.add_argument("--name", required=True, choices=sorted(ARCHIVES))
    p.add_argument("--folder", required=True)
    p.add_argument("--mirror", default=None, help="base URL replacing the official one")

    p = sub.add_parser("train", help="train one (activation, seed) run")
    p.add_argument("--dataset", required=True)
    p.add_argument("--model", dest="model_name", required=True)
    p.add_argument(
        "--model-kwargs", type=json.loads, default={}, help="JSON object of constructor arguments"
    )
    p.add_argument("--activation", required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--epochs", type=int, required=True)
    p.add_argument("--learning-rate", type=float, required=True)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--optimizer", default="adam", choices=["adam", "sgd"])
    p.add_argument("--plateau-factor", type=float, default=None)
    p.add_argument("--plateau-patience", type=int, default=15)
    p.add_argument("--checkpoint-every", type=int, default=1)
    p.add_argument("--milestones", type=int, nargs="+", default=None, metavar="EPOCH")
    p.add_argument("--milestone-factor", type=float, default=0.1)
    p.add_argument("--cosine", action="store_true", help="cosine annealing of the rate to 0")
    p.add_argument(
        "--target-loss", type=float, default=None, help="training-loss target (nats) to record"
    )
    p.add_argument("--augmentation", default="none", choices=AUGMENTATIONS)
    p.add_argument("--device", default="auto", choices=DEVICES)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--checkpoints", required=True)
    p.add_argument("--history", required=True)

    p = sub.add_parser("directions", help="two direction vectors spanning a plane")
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
    p.add_argument("--narrow-extent", type=float, default=0.25)
    p.add_argument("--dataset", default=None, help="prepared data set (hessian planes)")
    p.add_argument("--hessian-subset-size", type=int, default=500)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--normalization", default="filter", choices=["filter", "layer", "none"])
    p.add_argument("--keep-biasbn", dest="ignore_biasbn", action="store_false")
    p.add_argument("--three-point-epochs", type=int, nargs=3, default=[0, 1, 2], metavar="EPOCH")
    p.add_argument(
        "--interpolation-epochs",
        type=int,
        nargs=2,
        default=None,
        metavar="EPOCH",
        help="default: the first and last saved epochs",
    )
    p.add_argument("--out", required=True)

    p = sub.add_parser(
        "landscape", help="loss and accuracy on a plane's grid (one tile with --tile)"
    )
    for name in ("--dataset", "--checkpoints", "--directions", "--out"):
        p.add_argument(name, required=True)
    _add_landscape_settings(p)
    p.add_argument("--tile", type=int, default=None, help="evaluate only this tile → tile file")

    p = sub.add_parser("merge-landscape", help="assemble tile files into a landscape")
    for name in ("--dataset", "--checkpoints", "--directions", "--out"):
        p.add_argument(name, required=True)
    p.add_argument("--tile-files", nargs="+", required=True)
    _add_landscape_settings(p)

    p = sub.add_parser(
        "metrics",
        help="minima, steepness, roughness, basin width and shape of a landscape (loss units)",
    )
    p.add_argument("landscape", help="a landscape netCDF file (docs/data-model.md)")
    p.add_argument("--out", required=True, help="the metrics netCDF file to write")
    p.add_argument(
        "--variable", default=METRICS["variable"], help="grid variable (train_loss, test_loss)"
    )
    p.add_argument(
        "--tolerance-absolute",
        type=float,
        default=METRICS["tolerance_absolute"],
        help="depth a local minimum needs (loss units)",
    )
    p.add_argument(
        "--tolerance-relative",
        type=float,
        default=METRICS["tolerance_relative"],
        help="also this fraction of the window's loss range (0: off; not for comparisons)",
    )
    p.add_argument(
        "--edge",
        default=METRICS["edge"],
        choices=list(EDGE_RULES),
        help="whether minima on the grid edge count",
    )
    p.add_argument(
        "--basin-levels",
        type=float,
        nargs="+",
        default=list(METRICS["basin_levels"]),
        help="heights above the minimum at which the basin width is measured",
    )
    p.add_argument(
        "--basin-level-mode",
        default=METRICS["basin_level_mode"],
        choices=list(LEVEL_MODES),
        help="levels in loss units (absolute) or as fractions of the window's range",
    )
    p.add_argument(
        "--region-height",
        type=float,
        default=METRICS["region_height"],
        help="height of the low-loss region above the minimum (loss units)",
    )
    p.add_argument(
        "--roughness-scale",
        type=float,
        default=METRICS["roughness_scale"],
        help="half-width of the roughness fit's window (coordinate units)",
    )
    p.add_argument(
        "--shape-sigma",
        type=float,
        default=METRICS["shape_sigma"],
        help="Gaussian smoothing before the Hessian (coordinate units; 0: none)",
    )

    p = sub.add_parser("sharpness", help="Hessian extremes, trace and ε-sharpness of a model")
    p.add_argument("--dataset", required=True)
    p.add_argument("--checkpoints", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--subset-size", type=int, default=500)
    p.add_argument("--hutchinson-samples", type=int, default=20)
    p.add_argument("--epsilon", type=float, default=1e-3)
    p.add_argument("--ascent-iterations", type=int, default=10)
    p.add_argument("--threads", type=int, default=1)

    p = sub.add_parser(
        "hessian-map",
        help="Li et al.'s |λmin/λmax| of the full Hessian on a coarse sub-grid of a landscape",
    )
    for name, what in (
        ("--dataset", "prepared data set (.pt)"),
        ("--checkpoints", "the run's checkpoints (.pt)"),
        ("--directions", "the plane's directions (.pt)"),
        ("--landscape", "the plane's landscape (.nc), whose grid is subsampled"),
        ("--out", "netCDF file to write"),
    ):
        p.add_argument(name, required=True, help=what)
    p.add_argument("--points", type=int, default=5, help="grid points per axis (default 5)")
    p.add_argument(
        "--subset-size", type=int, default=500, help="training samples in the loss (default 500)"
    )
    p.add_argument("--threads", type=int, default=1)

    p = sub.add_parser("plot-landscape", help="draw a landscape file")
    p.add_argument("landscape")
    p.add_argument("--out", required=True)
    return parser


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = vars(_parser().parse_args(argv))
    stage = args.pop("stage")
    if stage == "prepare-dataset":
        data.run_prepare_dataset(**args)
    elif stage == "download":
        for archive in ARCHIVES[args["name"]]:
            data.run_download_archive(
                args["name"],
                archive.filename,
                f"{args['folder']}/{archive.filename}",
                args["mirror"],
            )
    elif stage == "train":
        train.run_train_model(
            args.pop("dataset"), args.pop("checkpoints"), args.pop("history"), **args
        )
    elif stage == "directions":
        args["three_point_epochs"] = tuple(args["three_point_epochs"])
        if args["interpolation_epochs"] is not None:
            args["interpolation_epochs"] = tuple(args["interpolation_epochs"])
        directions.run_compute_directions(**args)
    elif stage in ("landscape", "merge-landscape"):
        inputs = {k: args.pop(k) for k in ("dataset", "checkpoints", "directions", "out")}
        tile, threads = args.pop("tile", None), args["threads"]
        if stage == "merge-landscape":
            tile_files = args.pop("tile_files")
            landscape.run_merge_landscape(**inputs, tiles=tile_files, settings=args)
        elif tile is None:
            landscape.run_evaluate_landscape(**inputs, settings=args, threads=threads)
        else:
            landscape.run_evaluate_tile(**inputs, tile=tile, settings=args, threads=threads)
    elif stage == "metrics":
        args["basin_levels"] = tuple(args["basin_levels"])
        analyze.run_compute_metrics(**args)
    elif stage == "sharpness":
        sharpness.run_compute_sharpness(**args)
    elif stage == "hessian-map":
        sharpness.run_hessian_map(**args)
    elif stage == "plot-landscape":
        figures.run_plot_landscape(**args)


if __name__ == "__main__":
    main()
