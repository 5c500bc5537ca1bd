# losslandscape: how activation functions shape loss landscapes, as a workflow.
#
# Path grammar (every output; {study} is config["study"], so studies never overwrite
# each other):
#   resources/datasets/{dataset}/{archive}          (official archives, shared by studies)
#   results/{study}/data/dataset.pt
#   results/{study}/train/{activation}/seed_{seed}/checkpoints.pt | history.csv
#   ({plane} is a plane name: pca, random_draw1, narrow_draw2, narrow_draw1_epoch10,
#    three_seed, ...; losslandscape/planes/kinds.py)
#   results/{study}/directions/{activation}/seed_{seed}/{plane}.pt
#   results/{study}/landscape/{activation}/seed_{seed}/{plane}.nc
#   results/{study}/metrics/{activation}/seed_{seed}/{plane}.nc
#   results/{study}/landscape/{activation}/seed_{seed}/{plane}/tile_{tile}.nc (one per tile
#       job; merge_landscape assembles them into {plane}.nc)
#   results/{study}/metrics/{activation}/seed_barriers.nc  (lines between seeds' models)
#   results/{study}/metrics/summary.csv | summary_by_activation.csv | across_seeds.csv
#       | width_over_training.csv
#   results/{study}/statistics/by_activation.csv | comparisons.csv | correlations.csv
#       | variance_split.csv
#   results/{study}/statistics/study.nc | answer.rst   (answer.rst: the report's front page)
#   results/{study}/report/training_curves.png | metric_comparison.png | metric_accuracy.png
#       | width_over_training.png | seed_barriers.png
#   results/{study}/report/landscape/{activation}/seed_{seed}/{plane}.png
#   results/{study}/report/analysis/{activation}/seed_{seed}/{plane}.png | {plane}.rst
#   results/{study}/report/planes/{plane}.png
# Logs and Snakemake benchmarks mirror it: logs/{study}/<rule>/..., logs/{study}/benchmarks/<rule>/...


import re

from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "report/workflow.rst"


include: "workflow/rules/common.smk"


# Wildcards match only what the config names, so no path is ambiguous between rules.
wildcard_constraints:
    study=re.escape(STUDY),
    activation="|".join(map(re.escape, config["activations"])),
    seed=r"\d+",
    plane="|".join(all_plane_names()),
    tile=r"\d+",
    dataset="|".join(ARCHIVE_FILES),
    archive="|".join(re.escape(f) for files in ARCHIVE_FILES.values() for f in files),


include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/directions.smk"
include: "workflow/rules/landscape.smk"
include: "workflow/rules/metrics.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        final_outputs(),
