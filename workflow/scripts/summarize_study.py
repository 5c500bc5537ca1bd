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
        across_seeds=list(snakemake.input.across_seeds),
        seed_barriers=list(snakemake.input.seed_barriers),
        over_training=list(snakemake.input.over_training),
        out_across_seeds=snakemake.output.across_seeds,
        out_over_training=snakemake.output.over_training,
        target_loss=snakemake.params.target_loss,
    )
