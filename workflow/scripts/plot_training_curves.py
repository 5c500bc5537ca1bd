"""Snakemake adapter for rule plot_training_curves: mean ± sd over seeds per activation."""

from losslandscape.logs import log_to_file
from losslandscape.stages.figures import run_plot_training_curves

with log_to_file(snakemake.log[0]):
    run_plot_training_curves(
        histories=list(snakemake.input.histories),
        runs=[tuple(run) for run in snakemake.params.runs],
        out=snakemake.output.figure,
    )
