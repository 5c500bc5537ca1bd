"""Snakemake adapter for rule evaluate_landscape: loss and accuracy over the 2-D grid."""

from losslandscape.logs import log_to_file
from losslandscape.stages.landscape import run_evaluate_landscape

grid = snakemake.params.grid
with log_to_file(snakemake.log[0]):
    run_evaluate_landscape(
        dataset=snakemake.input.dataset,
        checkpoints=snakemake.input.checkpoints,
        directions=snakemake.input.directions,
        out=snakemake.output.landscape,
        resolution=grid["resolution"],
        extent=grid["extent"],
        margin=grid["margin"],
        batch_size=grid["batch_size"],
        threads=snakemake.threads,
        rule=snakemake.rule,
    )
