"""Reading Snakemake's dry-run job table, shared by the workflow, profile and study tests."""

import sys
from pathlib import Path

SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def job_counts(dry_run_output: str) -> dict[str, int]:
    """rule → job count from the job table of ``snakemake -n --quiet rules`` (its first
    table where Snakemake prints more than one; the ``total`` row left out)."""
    counts = {}
    for line in dry_run_output.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit() and parts[0] != "total":
            counts.setdefault(parts[0], int(parts[1]))
    return counts
