"""Reading Snakemake's dry-run job table, shared by the workflow, profile and study tests."""

import os
import subprocess
import sys
from pathlib import Path

SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def dry_run(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """``snakemake -n *args`` in ``cwd`` (with ``env`` added to the environment): its output
    (stdout and stderr), after asserting it planned without error."""
    result = subprocess.run(
        [SNAKEMAKE, "-n", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout + result.stderr


def job_counts(dry_run_output: str) -> dict[str, int]:
    """rule → job count from the job table of ``snakemake -n --quiet rules`` (its first
    table where Snakemake prints more than one; the ``total`` row left out)."""
    counts = {}
    for line in dry_run_output.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit() and parts[0] != "total":
            counts.setdefault(parts[0], int(parts[1]))
    return counts
