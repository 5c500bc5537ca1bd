"""Provenance attributes carried by every artefact: what made it, when, with what."""

import json
import subprocess
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import losslandscape


def _git(*args: str) -> subprocess.CompletedProcess | None:
    try:
        return subprocess.run(
            ["git", *args],
            cwd=Path(losslandscape.__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None


def git_commit() -> str:
    """The commit of the checkout this package was imported from, with ``-dirty`` appended
    where the code differs from it (``git describe --dirty``'s convention): a changed or new
    file in the package or under ``workflow/``; a study's edited ``config/`` is not code.
    ``-dirty?`` where git cannot say; ``"unknown"`` outside a checkout."""
    head = _git("rev-parse", "HEAD")
    if head is None or head.returncode != 0:
        return "unknown"
    # the code: this package and the workflow, changed or new (not a study's edited config)
    status = _git("status", "--porcelain", "--", ".", ":/workflow")
    if status is None or status.returncode != 0:
        return head.stdout.strip() + "-dirty?"  # git could not say
    return head.stdout.strip() + ("-dirty" if status.stdout.strip() else "")


# what a file records as its rule when no Snakemake rule or command made it
PYTHON_CALL = "python call (no Snakemake rule)"


def cli_rule(command: str) -> str:
    """What a file records as its rule when command ``command`` of the command line made it."""
    return f"python -m losslandscape {command}"  # as the README runs it


def provenance_attrs(rule: str, parameters: dict) -> dict[str, str]:
    """netCDF-safe attributes: creation time (UTC, ISO 8601), versions, commit, the rule that
    made the file and its exact parameters as a JSON string."""
    return {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "losslandscape_version": losslandscape.__version__,
        "torch_version": version("torch"),  # metadata: no 2-s torch import in analysis jobs
        "git_commit": git_commit(),
        "rule": rule,
        "parameters": json.dumps(parameters, sort_keys=True, default=str),
    }
