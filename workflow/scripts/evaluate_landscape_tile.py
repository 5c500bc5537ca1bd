"""Snakemake adapter for rule evaluate_landscape_tile: one tile of a plane's grid."""

from losslandscape.logs import log_to_file
from losslandscape.stages.landscape import run_evaluate_tile

with log_to_file(snakemake.log[0]):
    run_evaluate_tile(
        dataset=snakemake.input.dataset,
        checkpoints=snakemake.input.checkpoints,
        directions=snakemake.input.directions,
        out=snakemake.output.tile,
        tile=int(snakemake.wildcards.tile),
        settings={
            **snakemake.params.settings,
            "save_every_seconds": float(snakemake.resources.save_every_seconds),
        },
        threads=snakemake.threads,
    )
