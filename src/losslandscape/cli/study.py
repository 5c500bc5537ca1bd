"""The commands across runs: ``interpolate-seeds`` (the lines between seeds' models),
``summarize-study`` (one table of every run and plane) and ``study-statistics`` (the tests,
intervals, correlations, study.nc and the front page's answer)."""

import argparse
from pathlib import Path

from losslandscape.cli.options import (
    Command,
    activation_order,
    activations_option,
    config_option,
)
from losslandscape.io.provenance import cli_rule
from losslandscape.settings import AcrossSeeds, Landscape, Metrics, Training
from losslandscape.units import LOSS_UNITS

# The files study-statistics writes into its folder (the workflow's names)
STATISTICS_FILES = {
    "by_activation": "by_activation.csv",
    "comparisons": "comparisons.csv",
    "correlations": "correlations.csv",
    "variance_split": "variance_split.csv",
    "dataset": "study.nc",
    "answer": "answer.rst",
}


def add_interpolate_seeds(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", required=True, help="prepared data set (.pt)")
    p.add_argument(
        "--checkpoints",
        nargs="+",
        required=True,
        help="checkpoints of two or more seeds of one activation (.pt), in seed order",
    )
    config_option(p, "--points", AcrossSeeds, "points")
    config_option(
        p,
        "--subset-size",
        Landscape,
        "subset_size",
        help="evaluate on the grids' fixed seeded subset of this many samples of each split; "
        "null: the whole splits (config landscape.subset_size; default: %(default)s)",
    )
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", required=True, help="the seed-lines netCDF file to write")


def run_interpolate_seeds(args: dict) -> None:
    from losslandscape.stages.seed_barriers import run_interpolate_seeds as run

    run(**args, rule=cli_rule("interpolate-seeds"))


def add_summarize_study(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--run",
        nargs=4,
        action="append",
        required=True,
        metavar=("ACTIVATION", "SEED", "SHARPNESS", "HISTORY"),
        help="a run with its sharpness file (the sharpness command) and history.csv; once per run",
    )
    p.add_argument(
        "--metrics",
        nargs="+",
        required=True,
        help="the metrics files of the runs' planes (the metrics command), all of them: each "
        "names its run and plane, which decide its table (per run; across seeds for "
        "three-seed planes; over training for narrow planes around earlier checkpoints and "
        "the final model)",
    )
    p.add_argument(
        "--seed-barriers", nargs="*", default=[], help="seed-lines files (interpolate-seeds)"
    )
    config_option(p, "--target-loss", Training, "target_loss")
    p.add_argument(
        "--out-folder",
        required=True,
        help="folder for summary.csv, summary_by_activation.csv, across_seeds.csv and "
        "width_over_training.csv (the last two where their inputs are given)",
    )


def _tables_of(metrics: list[str]) -> dict[str, list[str]]:
    """The metrics files sorted into the summary's tables by their plane's name
    (:mod:`losslandscape.planes.kinds`: the workflow gathers them by the same rules); a
    narrow plane of the first draw around the final model is in two."""
    from losslandscape.io import datamodel
    from losslandscape.planes import kinds

    tables = {"runs": [], "across_seeds": [], "over_training": []}
    for path in metrics:
        attrs = datamodel.open_netcdf(path).attrs
        name = str(attrs.get("plane_name", attrs["plane"]))
        for table, belongs in (
            ("runs", kinds.is_run_plane),
            ("across_seeds", kinds.is_across_seeds),
            ("over_training", kinds.is_over_training),
        ):
            if belongs(name):
                tables[table].append(path)
    return tables


def run_summarize_study(args: dict) -> None:
    from losslandscape.stages.analyze import run_summarize_study as run

    folder = Path(args["out_folder"])
    tables = _tables_of(args["metrics"])
    run(
        metrics=tables["runs"],
        sharpness=[sharpness for _, _, sharpness, _ in args["run"]],
        histories=[history for *_, history in args["run"]],
        runs=[(activation, int(seed)) for activation, seed, *_ in args["run"]],
        out=str(folder / "summary.csv"),
        out_by_activation=str(folder / "summary_by_activation.csv"),
        across_seeds=tables["across_seeds"],
        seed_barriers=args["seed_barriers"],
        over_training=tables["over_training"],
        out_across_seeds=(
            str(folder / "across_seeds.csv")
            if tables["across_seeds"] or args["seed_barriers"]
            else None
        ),
        out_over_training=(
            str(folder / "width_over_training.csv") if tables["over_training"] else None
        ),
        target_loss=args["target_loss"],
    )


def add_study_statistics(p: argparse.ArgumentParser) -> None:
    p.add_argument("summary", help="summary.csv (summarize-study)")
    activations_option(p)
    p.add_argument(
        "--planes",
        nargs="+",
        default=None,
        help="the planes to report, in order (config directions.planes; default: every plane "
        "of the summary)",
    )
    p.add_argument(
        "--across-seeds", default=None, help="across_seeds.csv (summarize-study), if any"
    )
    config_option(p, "--basin-level-mode", Metrics, "basin_level_mode")
    config_option(p, "--loss", Training, "loss")
    p.add_argument(
        "--out-folder",
        required=True,
        help="folder for " + ", ".join(STATISTICS_FILES.values()),
    )


def run_study_statistics(args: dict) -> None:
    import pandas as pd

    from losslandscape.stages.analyze import run_study_statistics as run

    table = pd.read_csv(args["summary"])
    activations = activation_order(list(table["activation"]), args["activations"], "the summary")
    folder = Path(args["out_folder"])
    run(
        summary=args["summary"],
        activations=activations,
        planes=args["planes"] or list(dict.fromkeys(table["plane"])),
        outputs={name: str(folder / file) for name, file in STATISTICS_FILES.items()},
        basin_level_mode=args["basin_level_mode"],
        across_seeds=args["across_seeds"],
        rule=cli_rule("study-statistics"),
        loss_units=LOSS_UNITS[args["loss"]],
    )


COMMANDS = {
    "interpolate-seeds": Command(
        "loss along the straight lines between seeds' final models, and their barriers",
        add_interpolate_seeds,
        run_interpolate_seeds,
    ),
    "summarize-study": Command(
        "one table of every run and plane, and the tables across seeds and over training",
        add_summarize_study,
        run_summarize_study,
    ),
    "study-statistics": Command(
        "intervals, pairwise tests, correlations, study.nc and the front page's answer",
        add_study_statistics,
        run_study_statistics,
    ),
}
