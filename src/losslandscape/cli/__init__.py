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
    python -m losslandscape summarize-study --run relu 42 sharpness.nc history.csv \\
        --metrics pca_metrics.nc --out-folder summary/

(README.md lists every command.) Each subcommand is a :class:`~losslandscape.cli.options.Command`
of its group's module (:mod:`~losslandscape.cli.data`, :mod:`~losslandscape.cli.training`,
:mod:`~losslandscape.cli.planes`, :mod:`~losslandscape.cli.analysis`,
:mod:`~losslandscape.cli.study`, :mod:`~losslandscape.cli.figures`); the options that
stand for config keys take their defaults, allowed names and help from the settings.
"""

import argparse
import logging

from losslandscape.cli import analysis, data, figures, planes, study, training

# Subcommand → its help, options and run, in the order ``--help`` lists them
COMMANDS = (
    data.COMMANDS
    | training.COMMANDS
    | planes.COMMANDS
    | analysis.COMMANDS
    | study.COMMANDS
    | figures.COMMANDS
)


def parser() -> argparse.ArgumentParser:
    """The command line: one subcommand (``stage``) per entry of :data:`COMMANDS`."""
    top = argparse.ArgumentParser(prog="losslandscape", description=__doc__.split("\n\n")[0])
    sub = top.add_subparsers(dest="stage", required=True)
    for name, command in COMMANDS.items():
        command.add(sub.add_parser(name, help=command.help))
    return top


def arguments(argv: list[str] | None = None) -> dict:
    """The parsed command line as keyword arguments, ``stage`` among them: ``train``'s
    ``--leaky-relu-slope`` joins the model's constructor arguments (as in the workflow) and
    cosine annealing is on by default (the config's) unless another schedule is chosen."""
    args = vars(parser().parse_args(argv))
    finish = COMMANDS[args["stage"]].finish
    return args if finish is None else finish(args)


def main(argv: list[str] | None = None) -> None:
    """Run the subcommand of ``argv`` (default: the process's arguments)."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = arguments(argv)
    COMMANDS[args.pop("stage")].run(args)
