"""Snakemake adapter for rules compute_metrics (one landscape) and compute_run_metrics
(every plane of a run): minima, steepness, roughness, basins and shape."""

from losslandscape.logs import log_to_file
from losslandscape.stages.analyze import run_compute_metrics

metrics = snakemake.params.metrics
sources = snakemake.input.get("landscapes", [snakemake.input.get("landscape")])
targets = snakemake.output.metrics
targets = [targets] if isinstance(targets, str) else list(targets)
with log_to_file(snakemake.log[0]):
    for landscape, out in zip(sources, targets, strict=True):
        run_compute_metrics(
            landscape=landscape,
            out=out,
            rule=snakemake.rule,
            variable=metrics["variable"],
            tolerance_absolute=metrics["minima_tolerance"]["absolute"],
            tolerance_relative=metrics["minima_tolerance"]["relative"],
            edge=metrics["edge"],
            basin_levels=tuple(metrics["basin_levels"]),
            basin_level_mode=metrics["basin_level_mode"],
            region_height=metrics["region_height"],
            roughness_scale=metrics["roughness_scale"],
            shape_sigma=metrics["shape_sigma"],
        )
