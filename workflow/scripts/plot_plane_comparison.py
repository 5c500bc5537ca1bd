"""Snakemake adapter for rule plot_plane_comparison: one plane kind across activations."""

from losslandscape.logs import log_to_file
from losslandscape.stages.figures import run_plot_plane_comparison

with log_to_file(snakemake.log[0]):
    run_plot_plane_comparison(
        landscapes=list(snakemake.input.landscapes),
        runs=[tuple(run) for run in snakemake.params.runs],
        activations=list(snakemake.params.activations),
        variable=snakemake.params.variable,
        out=snakemake.output.figure,
    )
