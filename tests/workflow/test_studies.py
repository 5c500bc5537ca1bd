"""The ready studies in config/studies, planned in full (the original one runs shortened in
tests/ci/test_original_study.py)."""

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.dry_run import SNAKEMAKE, job_counts

REPO = Path(__file__).resolve().parents[2]
STUDIES = sorted((REPO / "config" / "studies").glob("*.yaml"))


@pytest.mark.parametrize("study", STUDIES, ids=lambda p: p.stem)
def test_each_ready_study_plans_nine_runs_and_everything_after(study):
    result = subprocess.run(
        [SNAKEMAKE, "-n", "--quiet", "rules", "--configfile", str(study)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    counts = job_counts(result.stdout + result.stderr)
    config = yaml.safe_load(study.read_text())
    runs = len(config["activations"]) * len(config["seeds"])
    planes = len(config["directions"]["planes"])
    assert runs == 9 and counts["train_model"] == 9
    assert counts["compute_directions"] == counts["merge_landscape"] == 9 * planes
    assert counts["evaluate_landscape_tile"] == 9 * planes * config["landscape"]["tiles"]
    # a run's planes are measured in one job per run, drawn one job per plane
    assert counts["compute_run_metrics"] == 9 and counts["plot_landscape"] == 9 * planes
    assert counts["download_archive"] == 1 and counts["summarize_study"] == 1
