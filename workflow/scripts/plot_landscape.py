"""Snakemake adapter for rule plot_landscape: one run's landscape with its trajectory."""

from losslandscape.logs import log_to_file
from losslandscape.stages.figures import run_plot_landscape

with log_to_file(snakemake.log[0]):
    run_plot_landscape(landscape=snakemake.input.landscape, out=snakemake.output.figure)
