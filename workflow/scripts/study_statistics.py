"""Snakemake adapter for rule study_statistics: the summary → statistics and the answer."""

from losslandscape.logs import log_to_file
from losslandscape.stages.analyze import run_study_statistics

with log_to_file(snakemake.log[0]):
    run_study_statistics(
        summary=snakemake.input.summary,
        activations=list(snakemake.params.activations),
        planes=list(snakemake.params.planes),
        outputs=dict(snakemake.output.items()),
        basin_level_mode=snakemake.params.basin_level_mode,
        across_seeds=snakemake.input.across_seeds,
        rule=snakemake.rule,
        loss_units=snakemake.params.loss_units,
    )
