"""Snakemake adapter for rule plot_landscape: one run's landscape with its trajectory, and
its analysis figure (surface, smoothness, basins, shape) with the caption's numbers."""

from losslandscape.logs import log_to_file
from losslandscape.stages.figures import run_plot_landscape, run_plot_landscape_analysis

with log_to_file(snakemake.log[0]):
    run_plot_landscape(landscape=snakemake.input.landscape, out=snakemake.output.figure)
    run_plot_landscape_analysis(
        landscape=snakemake.input.landscape,
        metrics=snakemake.input.metrics,
        out=snakemake.output.analysis,
        numbers=snakemake.output.numbers,
    )
