"""Snakemake adapter for rule compute_metrics: minima and roughness of one landscape."""

from losslandscape.logs import log_to_file
from losslandscape.stages.analyze import run_compute_metrics

metrics = snakemake.params.metrics
with log_to_file(snakemake.log[0]):
    run_compute_metrics(
        landscape=snakemake.input.landscape,
        out=snakemake.output.metrics,
        variable=metrics["variable"],
        tolerance_absolute=metrics["minima_tolerance"]["absolute"],
        tolerance_relative=metrics["minima_tolerance"]["relative"],
        rule=snakemake.rule,
    )
