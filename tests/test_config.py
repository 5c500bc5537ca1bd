"""The config is validated before any job starts, and errors name the key."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def dry_run(tmp_path: Path, config: dict) -> subprocess.CompletedProcess:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return subprocess.run(
        [SNAKEMAKE, "-n", "--cores", "1", "--configfile", str(path), "--directory", str(tmp_path),
         "--snakefile", str(REPO / "Snakefile")],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def default_config() -> dict:
    return yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def test_the_default_and_test_configs_plan_the_study(tmp_path):
    result = dry_run(tmp_path, default_config())
    assert result.returncode == 0, result.stderr[-3000:]
    assert "train_model" in result.stdout


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda c: c["activations"].append("relu6"), "relu6"),
        (lambda c: c["training"].__setitem__("epochs", 1), "epochs"),
        (lambda c: c.__setitem__("colour", "blue"), "colour"),
        (
            lambda c: c["training"]["learning_rate"].pop("sigmoid"),
            "no learning rate for activation(s) ['sigmoid']",
        ),
    ],
)
def test_bad_configs_are_rejected_by_name(tmp_path, edit, message):
    config = default_config()
    edit(config)
    result = dry_run(tmp_path, config)
    assert result.returncode != 0
    assert message in result.stdout + result.stderr
