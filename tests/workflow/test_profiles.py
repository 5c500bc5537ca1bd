"""The profiles plan the default study on a machine with neither SLURM nor a TPU."""

from pathlib import Path

import pytest
import yaml

from tests.dry_run import dry_run, job_counts

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("profile", ["default", "slurm", "slurm-ci", "tpu"])
def test_profile_plans_the_default_study(profile, tmp_path):
    output = dry_run(
        REPO,
        *("--quiet", "rules", "--profile", f"profiles/{profile}"),
        *("--config", f"study=profile-plan-{profile}"),  # a study with no results yet
    )
    counts = job_counts(output)
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    runs = len(config["activations"]) * len(config["seeds"])
    assert counts["train_model"] == runs and counts["map_run_planes"] == runs
    # the three-seed plane, one per activation, through its own per-plane rules
    assert counts["evaluate_landscape"] == len(config["activations"])
    assert (REPO / "profiles" / profile / "README.md").exists()


def test_slurm_profile_marks_every_site_value_as_a_placeholder():
    config = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    assert config["executor"] == "slurm" and config["retries"] >= 1
    site = [config["default-resources"]["slurm_account"]]
    site += [config["default-resources"]["slurm_partition"]]
    site += [r["slurm_partition"] for r in config["set-resources"].values()]
    assert all(value.startswith("REPLACE_ME") for value in site)
    assert set(config["set-resources"]) == {
        "train_model",
        "evaluate_landscape_tile",
        "evaluate_landscape",
        "map_run_planes",
    }
