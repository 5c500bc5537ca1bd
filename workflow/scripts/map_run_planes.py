"""Snakemake adapter for rule map_run_planes: every plane of one run from its own
checkpoints (directions, then the one-tile grid), in one job."""

from losslandscape.logs import log_to_file
from losslandscape.stages.directions import direction_kwargs, run_compute_directions
from losslandscape.stages.landscape import run_evaluate_landscape

settings = {
    **snakemake.params.settings,
    "save_every_seconds": float(snakemake.resources.save_every_seconds),
}
with log_to_file(snakemake.log[0]):
    for plane, directions, landscape in zip(
        snakemake.params.planes,
        snakemake.output.directions,
        snakemake.output.landscapes,
        strict=True,
    ):
        run_compute_directions(
            checkpoints=[snakemake.input.checkpoints],
            out=directions,
            plane=plane,
            seed=int(snakemake.wildcards.seed),
            dataset=snakemake.input.dataset,
            **direction_kwargs(plane, snakemake.params.options[plane]),
        )
        run_evaluate_landscape(
            dataset=snakemake.input.dataset,
            checkpoints=snakemake.input.checkpoints,
            directions=directions,
            out=landscape,
            settings=settings,
            threads=snakemake.threads,
            rule=snakemake.rule,
        )
