"""Snakemake adapter for rule plot_training_curves: mean and range over seeds, and per seed."""

from losslandscape.logs import log_to_file
from losslandscape.stages.figures import run_plot_training_curves

with log_to_file(snakemake.log[0]):
    run_plot_training_curves(
        histories=list(snakemake.input.histories),
        runs=[tuple(run) for run in snakemake.params.runs],
        activations=list(snakemake.params.activations),
        out=snakemake.output.figure,
        out_per_seed=snakemake.output.per_seed,
        loss_units=snakemake.params.loss_units,
    )
