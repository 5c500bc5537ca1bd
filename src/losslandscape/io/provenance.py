"""Provenance attributes carried by every artefact: what made it, when, with what."""

import json
import subprocess
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import losslandscape


def git_commit() -> str:
    """The commit of the checkout this package was imported from, or ``"unknown"``."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(losslandscape.__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return result.stdout.strip() if result.returncode == 0 else "unknown"


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
