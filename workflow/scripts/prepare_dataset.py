"""Snakemake adapter for rule prepare_dataset: build the data set as tensors."""

from losslandscape.logs import log_to_file
from losslandscape.stages.data import run_prepare_dataset

with log_to_file(snakemake.log[0]):
    run_prepare_dataset(name=snakemake.params.name, out=snakemake.output.dataset)
