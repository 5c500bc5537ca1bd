"""Snakemake adapter for rule plot_landscape_analysis: surface, smoothness, basins, shape."""

from losslandscape.logs import log_to_file
from losslandscape.stages.figures import run_plot_landscape_analysis

with log_to_file(snakemake.log[0]):
    run_plot_landscape_analysis(
        landscape=snakemake.input.landscape,
        metrics=snakemake.input.metrics,
        out=snakemake.output.figure,
        numbers=snakemake.output.numbers,
    )
