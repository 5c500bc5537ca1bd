"""Snakemake adapter for rule compute_sharpness: Hessian and ε-sharpness of one model."""

from losslandscape.logs import log_to_file
from losslandscape.stages.sharpness import run_compute_sharpness

sharpness = snakemake.params.sharpness
with log_to_file(snakemake.log[0]):
    run_compute_sharpness(
        dataset=snakemake.input.dataset,
        checkpoints=snakemake.input.checkpoints,
        out=snakemake.output.sharpness,
        subset_size=sharpness["subset_size"],
        trace_products=sharpness["trace_products"],
        epsilon=sharpness["epsilon"],
        ascent_iterations=sharpness["ascent_iterations"],
        threads=snakemake.threads,
        rule=snakemake.rule,
    )
