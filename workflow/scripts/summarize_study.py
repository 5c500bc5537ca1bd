"""Snakemake adapter for rule summarize_study: the study's summary tables."""

from losslandscape.logs import log_to_file
from losslandscape.stages.analyze import run_summarize_study

with log_to_file(snakemake.log[0]):
    run_summarize_study(
        metrics=list(snakemake.input.metrics),
        sharpness=list(snakemake.input.sharpness),
        histories=list(snakemake.input.histories),
        runs=[tuple(run) for run in snakemake.params.runs],
        out=snakemake.output.summary,
        out_by_activation=snakemake.output.by_activation,
    )
