"""Snakemake adapter for rule merge_landscape: tiles → the plane's landscape netCDF."""

from losslandscape.logs import log_to_file
from losslandscape.stages.landscape import run_merge_landscape

with log_to_file(snakemake.log[0]):
    run_merge_landscape(
        dataset=snakemake.input.dataset,
        checkpoints=snakemake.input.checkpoints,
        directions=snakemake.input.directions,
        tiles=list(snakemake.input.tiles),
        out=snakemake.output.landscape,
        settings=snakemake.params.settings,
        rule=snakemake.rule,
    )
