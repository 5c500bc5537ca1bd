"""End to end: ``snakemake -n`` plans the default study, and refuses a bad config before
any job. Every bad config is checked in-process in tests/unit/settings/test_checks.py; here one per
layer of the start-up checks (the JSON schema, then the checks across keys) goes through
Snakemake itself."""

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.dry_run import SNAKEMAKE
from tests.unit.settings.test_checks import BAD_CONFIGS, default_config

REPO = Path(__file__).resolve().parents[2]


def dry_run(tmp_path: Path, config: dict) -> subprocess.CompletedProcess:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return subprocess.run(
        [SNAKEMAKE, "-n", "--cores", "1", "--configfile", str(path), "--directory", str(tmp_path),
         "--snakefile", str(REPO / "Snakefile")],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_the_default_config_plans_the_study(tmp_path):
    result = dry_run(tmp_path, default_config())
    assert result.returncode == 0, result.stderr[-3000:]
    assert "train_model" in result.stdout


@pytest.mark.parametrize("case", ["resolution-too-small", "activation-without-learning-rate"])
def test_a_bad_config_is_rejected_before_any_job_naming_key_expected_and_found(tmp_path, case):
    edit, fragments = BAD_CONFIGS[case]
    config = default_config()
    edit(config)
    result = dry_run(tmp_path, config)
    output = result.stdout + result.stderr
    assert result.returncode != 0, f"{case} was accepted"
    assert "Building DAG of jobs" not in output and not (tmp_path / "results").exists()
    missing = [fragment for fragment in fragments if fragment not in output]
    assert not missing, f"{case}: {missing} not in:\n{output[-2000:]}"
