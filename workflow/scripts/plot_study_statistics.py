"""Snakemake adapter for rule plot_study_statistics: metric comparison figures."""

from losslandscape.logs import log_to_file
from losslandscape.stages.figures import run_plot_study_statistics

with log_to_file(snakemake.log[0]):
    run_plot_study_statistics(
        summary=snakemake.input.summary,
        correlations=snakemake.input.correlations,
        activations=list(snakemake.params.activations),
        planes=list(snakemake.params.planes),
        comparison=snakemake.output.comparison,
        accuracy=snakemake.output.accuracy,
        loss_units=snakemake.params.loss_units,
    )
