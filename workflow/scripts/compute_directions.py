"""Snakemake adapter for rule compute_directions: the plane's two direction vectors."""

from losslandscape.logs import log_to_file
from losslandscape.stages.directions import run_compute_directions

with log_to_file(snakemake.log[0]):
    run_compute_directions(
        checkpoints=snakemake.input.checkpoints,
        out=snakemake.output.directions,
        plane=snakemake.wildcards.plane,
        seed=int(snakemake.wildcards.seed),
        normalization=snakemake.params.random["normalization"],
        ignore_biasbn=snakemake.params.random["ignore_biasbn"],
        three_point_epochs=tuple(snakemake.params.three_point["epochs"]),
        interpolation_epochs=snakemake.params.interpolation["epochs"],
        dataset=snakemake.input.dataset or None,
        hessian_subset_size=snakemake.params.hessian["subset_size"],
    )
