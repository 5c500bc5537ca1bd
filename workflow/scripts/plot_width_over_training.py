"""Snakemake adapter for rule plot_width_over_training: basin width against epoch."""

from losslandscape.logs import log_to_file
from losslandscape.stages.figures import run_plot_width_over_training

with log_to_file(snakemake.log[0]):
    run_plot_width_over_training(
        table=snakemake.input.table,
        activations=list(snakemake.params.activations),
        out=snakemake.output.figure,
        loss_units=snakemake.params.loss_units,
    )
