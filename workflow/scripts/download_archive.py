"""Snakemake adapter for rule download_archive: one official archive, md5 checked."""

from losslandscape.logs import log_to_file
from losslandscape.stages.data import run_download_archive

with log_to_file(snakemake.log[0]):
    run_download_archive(
        dataset=snakemake.wildcards.dataset,
        filename=snakemake.wildcards.archive,
        out=snakemake.output.archive,
        # a resource, not a param: where from is not what, so a changed mirror must not
        # refetch verified archives
        mirror=snakemake.resources.mirror or None,
        checksums=snakemake.params.checksums,
    )
