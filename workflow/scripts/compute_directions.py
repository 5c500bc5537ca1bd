"""Snakemake adapter for rule compute_directions: the plane's two direction vectors."""

from losslandscape.logs import log_to_file
from losslandscape.stages.directions import run_compute_directions

plane = snakemake.wildcards.plane
options = snakemake.params.options  # this plane kind's section of config["directions"]
kwargs = {}
if plane in ("random", "line"):
    kwargs = {"normalization": options["normalization"], "ignore_biasbn": options["ignore_biasbn"]}
elif plane == "three_point":
    kwargs = {"three_point_epochs": tuple(options["epochs"])}
elif plane == "interpolation":
    kwargs = {"interpolation_epochs": options["epochs"]}
elif plane == "hessian":
    kwargs = {"hessian_subset_size": options["subset_size"]}
with log_to_file(snakemake.log[0]):
    run_compute_directions(
        checkpoints=snakemake.input.checkpoints,
        out=snakemake.output.directions,
        plane=plane,
        seed=int(snakemake.wildcards.seed),
        dataset=snakemake.input.dataset or None,
        **kwargs,
    )
