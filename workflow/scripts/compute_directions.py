"""Snakemake adapter for rule compute_directions: the plane's two direction vectors."""

from losslandscape.logs import log_to_file
from losslandscape.stages.directions import direction_kwargs, run_compute_directions

plane = snakemake.wildcards.plane
with log_to_file(snakemake.log[0]):
    run_compute_directions(
        checkpoints=list(snakemake.input.checkpoints),
        out=snakemake.output.directions,
        plane=plane,
        seed=int(snakemake.wildcards.seed),
        dataset=snakemake.input.dataset or None,
        # params.options: this plane kind's section of config["directions"]
        **direction_kwargs(plane, snakemake.params.options),
    )
