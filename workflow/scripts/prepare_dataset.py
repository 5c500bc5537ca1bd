"""Snakemake adapter for rule prepare_dataset: build the data set as tensors."""

from pathlib import Path

from losslandscape.logs import log_to_file
from losslandscape.stages.data import run_prepare_dataset

archives = list(snakemake.input.archives)
with log_to_file(snakemake.log[0]):
    run_prepare_dataset(
        name=snakemake.params.name,
        out=snakemake.output.dataset,
        archive_folder=str(Path(archives[0]).parent) if archives else None,
        labels=snakemake.params.labels,
        checksums=snakemake.params.checksums,
        path=snakemake.input.file[0] if snakemake.input.file else None,
    )
