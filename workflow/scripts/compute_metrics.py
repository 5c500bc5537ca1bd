"""Snakemake adapter for rule compute_metrics: minima, steepness, roughness, basins and shape."""

from losslandscape.logs import log_to_file
from losslandscape.stages.analyze import run_compute_metrics

metrics = snakemake.params.metrics
with log_to_file(snakemake.log[0]):
    run_compute_metrics(
        landscape=snakemake.input.landscape,
        out=snakemake.output.metrics,
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
