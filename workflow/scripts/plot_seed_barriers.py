"""Snakemake adapter for rule plot_seed_barriers: the lines between seeds, per activation."""

from losslandscape.logs import log_to_file
from losslandscape.stages.figures import run_plot_seed_barriers

with log_to_file(snakemake.log[0]):
    run_plot_seed_barriers(
        barriers=list(snakemake.input.barriers),
        activations=list(snakemake.params.activations),
        out=snakemake.output.figure,
    )
