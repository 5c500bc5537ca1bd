"""The commands that draw: ``plot-landscape`` and ``plot-analysis`` (one landscape), and the
report's figures across runs (``plot-training-curves``, ``plot-plane-comparison``,
``plot-seed-barriers``, ``plot-width-over-training``, ``plot-study-statistics``).

Where the workflow passes the runs and the activations' order from the config, the
commands read them from the files (each landscape and seed-lines file records its run; the
tables have ``activation`` columns) in the order given, or take ``--activations``.
"""

import argparse

from losslandscape.cli.options import (
    Command,
    activation_order,
    activations_option,
    config_option,
)
from losslandscape.settings import Metrics, Training
from losslandscape.stages import figures
from losslandscape.units import LOSS_UNITS


def add_plot_landscape(p: argparse.ArgumentParser) -> None:
    p.add_argument("landscape", help="a landscape netCDF file")
    p.add_argument("--out", required=True, help="the PNG to write: the loss map (or slice)")


def run_plot_landscape(args: dict) -> None:
    figures.run_plot_landscape(**args)


def add_plot_analysis(p: argparse.ArgumentParser) -> None:
    p.add_argument("landscape", help="a landscape netCDF file")
    p.add_argument("--metrics", required=True, help="its metrics file (the metrics command)")
    p.add_argument("--out", required=True, help="the PNG to write")
    p.add_argument(
        "--numbers", default=None, help="also write the run's numbers as a sentence (.rst)"
    )


def run_plot_analysis(args: dict) -> None:
    figures.run_plot_landscape_analysis(**args)


def add_plot_training_curves(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--run",
        nargs=3,
        action="append",
        required=True,
        metavar=("ACTIVATION", "SEED", "HISTORY"),
        help="a run and its history.csv (the train command's --history); once per run",
    )
    activations_option(p)
    config_option(p, "--loss", Training, "loss")
    p.add_argument("--out", required=True, help="the PNG of curves per activation")
    p.add_argument("--out-per-seed", required=True, help="the PNG of curves per seed")


def run_plot_training_curves(args: dict) -> None:
    runs = [(activation, int(seed)) for activation, seed, _ in args["run"]]
    activations = activation_order([a for a, _ in runs], args["activations"], "the runs")
    figures.run_plot_training_curves(
        [history for *_, history in args["run"]],
        runs,
        activations,
        args["out"],
        args["out_per_seed"],
        LOSS_UNITS[args["loss"]],
    )


def add_plot_plane_comparison(p: argparse.ArgumentParser) -> None:
    p.add_argument("landscapes", nargs="+", help="landscape files of one plane, one per run")
    activations_option(p)
    config_option(p, "--variable", Metrics, "variable")
    p.add_argument("--out", required=True, help="the PNG to write")


def run_plot_plane_comparison(args: dict) -> None:
    from losslandscape.io import datamodel

    runs = []
    for path in args["landscapes"]:
        attrs = datamodel.read_landscape(path).attrs
        runs.append((str(attrs["activation"]), int(attrs["seed"])))
    activations = activation_order([a for a, _ in runs], args["activations"], "the landscapes")
    figures.run_plot_plane_comparison(
        args["landscapes"], runs, activations, args["variable"], args["out"]
    )


def add_plot_seed_barriers(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "barriers", nargs="+", help="seed-lines files (interpolate-seeds), one per activation"
    )
    activations_option(p)
    p.add_argument("--out", required=True, help="the PNG to write")


def run_plot_seed_barriers(args: dict) -> None:
    from losslandscape.io import datamodel

    found = [str(datamodel.open_netcdf(path).attrs["activation"]) for path in args["barriers"]]
    activations = activation_order(found, args["activations"], "the seed-lines files")
    figures.run_plot_seed_barriers(args["barriers"], activations, args["out"])


def add_plot_width_over_training(p: argparse.ArgumentParser) -> None:
    p.add_argument("table", help="width_over_training.csv (summarize-study)")
    activations_option(p)
    config_option(p, "--loss", Training, "loss")
    p.add_argument("--out", required=True, help="the PNG to write")


def run_plot_width_over_training(args: dict) -> None:
    import pandas as pd

    found = list(pd.read_csv(args["table"])["activation"])
    activations = activation_order(found, args["activations"], "the table's rows")
    figures.run_plot_width_over_training(
        args["table"], activations, args["out"], LOSS_UNITS[args["loss"]]
    )


def add_plot_study_statistics(p: argparse.ArgumentParser) -> None:
    p.add_argument("--summary", required=True, help="summary.csv (summarize-study)")
    p.add_argument("--correlations", required=True, help="correlations.csv (study-statistics)")
    activations_option(p)
    p.add_argument(
        "--planes",
        nargs="+",
        default=None,
        help="the planes to show, in order (config directions.planes; default: every "
        "plane of the summary)",
    )
    config_option(p, "--loss", Training, "loss")
    p.add_argument("--out-comparison", required=True, help="the PNG of metrics per activation")
    p.add_argument("--out-accuracy", required=True, help="the PNG of metrics against accuracy")


def run_plot_study_statistics(args: dict) -> None:
    import pandas as pd

    table = pd.read_csv(args["summary"])
    activations = activation_order(list(table["activation"]), args["activations"], "the summary")
    planes = args["planes"] or list(dict.fromkeys(table["plane"]))
    figures.run_plot_study_statistics(
        args["summary"],
        args["correlations"],
        activations,
        planes,
        args["out_comparison"],
        args["out_accuracy"],
        LOSS_UNITS[args["loss"]],
    )


COMMANDS = {
    "plot-landscape": Command(
        "draw a landscape file: its loss map (a slice's curves)",
        add_plot_landscape,
        run_plot_landscape,
    ),
    "plot-analysis": Command(
        "draw a landscape's analysis: minima, basins, roughness, shape",
        add_plot_analysis,
        run_plot_analysis,
    ),
    "plot-training-curves": Command(
        "draw the runs' training curves, per activation and per seed",
        add_plot_training_curves,
        run_plot_training_curves,
    ),
    "plot-plane-comparison": Command(
        "draw one plane of every run side by side",
        add_plot_plane_comparison,
        run_plot_plane_comparison,
    ),
    "plot-seed-barriers": Command(
        "draw the loss along the lines between seeds",
        add_plot_seed_barriers,
        run_plot_seed_barriers,
    ),
    "plot-width-over-training": Command(
        "draw basin width against the training epoch",
        add_plot_width_over_training,
        run_plot_width_over_training,
    ),
    "plot-study-statistics": Command(
        "draw the metrics per activation and against accuracy",
        add_plot_study_statistics,
        run_plot_study_statistics,
    ),
}
