"""Snakemake adapter for rule evaluate_landscape: a one-tile grid evaluated and assembled in
one job."""

from losslandscape.logs import log_to_file
from losslandscape.stages.landscape import run_evaluate_landscape

with log_to_file(snakemake.log[0]):
    run_evaluate_landscape(
        dataset=snakemake.input.dataset,
        checkpoints=snakemake.input.checkpoints,
        directions=snakemake.input.directions,
        out=snakemake.output.landscape,
        settings={
            **snakemake.params.settings,
            "save_every_seconds": float(snakemake.resources.save_every_seconds),
        },
        threads=snakemake.threads,
        rule=snakemake.rule,
    )
