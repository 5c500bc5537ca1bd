"""Snakemake adapter for rule interpolate_seeds: lines between every pair of one
activation's trained models, with their loss barriers."""

from losslandscape.logs import log_to_file
from losslandscape.stages.seed_barriers import run_interpolate_seeds

with log_to_file(snakemake.log[0]):
    run_interpolate_seeds(
        dataset=snakemake.input.dataset,
        checkpoints=list(snakemake.input.checkpoints),
        out=snakemake.output.barriers,
        points=snakemake.params.points,
        subset_size=snakemake.params.subset_size,
        threads=snakemake.threads,
        rule=snakemake.rule,
    )
