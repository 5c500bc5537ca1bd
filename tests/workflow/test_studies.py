"""The ready studies in config/studies, planned in full (the original one runs shortened in
tests/ci/test_original_study.py)."""

from pathlib import Path

import pytest
import yaml

from tests.dry_run import dry_run, job_counts

REPO = Path(__file__).resolve().parents[2]
STUDIES = sorted((REPO / "config" / "studies").glob("*.yaml"))


@pytest.mark.parametrize("study", STUDIES, ids=lambda p: p.stem)
def test_each_ready_study_plans_nine_runs_and_everything_after(study):
    counts = job_counts(dry_run(REPO, "--quiet", "rules", "--configfile", str(study)))
    config = yaml.safe_load(study.read_text())
    runs = len(config["activations"]) * len(config["seeds"])
    planes = len(config["directions"]["planes"])
    assert runs == 9 and counts["train_model"] == 9
    assert counts["compute_directions"] == counts["merge_landscape"] == 9 * planes
    assert counts["evaluate_landscape_tile"] == 9 * planes * config["landscape"]["tiles"]
    # a run's planes are measured in one job per run, drawn one job per plane
    assert counts["compute_run_metrics"] == 9 and counts["plot_landscape"] == 9 * planes
    assert counts["download_archive"] == 1 and counts["summarize_study"] == 1


def _requests(dry_run_output: str) -> dict[str, set[int]]:
    """rule → the runtime requests (minutes) of its jobs in a dry run's job list."""
    requests, rule = {}, None
    for line in dry_run_output.splitlines():
        if line.startswith("rule ") or line.startswith("localrule "):
            rule = line.split()[1].rstrip(":")
        elif line.strip().startswith("resources:") and "runtime=" in line:
            minutes = int(line.split("runtime=")[1].split(",")[0])
            requests.setdefault(rule, set()).add(minutes)
    return requests


def test_ready_studies_ask_for_the_runtime_their_work_needs():
    """Each heavy job's request is settings/runtimes.py's estimate of the study's work (case
    12 of issue 21: a CIFAR tile asked for 120 minutes whatever its grid)."""
    from losslandscape.settings import runtimes
    from tests.unit.settings.test_runtimes import merged

    study = "config/studies/cifar10-resnet56.yaml"
    requests = _requests(dry_run(REPO, "--configfile", study))
    config = merged(study)
    expected = {
        "train_model": runtimes.training_seconds(config),
        "evaluate_landscape_tile": runtimes.tile_seconds(config),
        "compute_sharpness": runtimes.sharpness_seconds(config),
        "merge_landscape": runtimes.trajectory_seconds(config),
    }
    for rule, seconds in expected.items():
        assert requests[rule] == {runtimes.request_minutes(seconds)}, rule
    assert min(requests["evaluate_landscape_tile"]) > 120
    assert requests["plot_landscape"] == {10}
