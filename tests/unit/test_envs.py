"""envs/*.yaml repeat pyproject.toml's pins exactly, so conda users get the tested versions."""

import re
import tomllib
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==(\S+)$")


def pins(requirements: list[str]) -> dict[str, str]:
    found = {}
    for requirement in requirements:
        match = PIN.match(requirement.strip())
        assert match, f"{requirement!r} is not pinned with =="
        found[match.group(1).lower()] = match.group(2)
    return found


PROJECT_PINS = pins(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"])


@pytest.mark.parametrize("env_file", sorted((REPO / "envs").glob("*.yaml")), ids=lambda p: p.name)
def test_env_pins_equal_pyproject(env_file):
    env = yaml.safe_load(env_file.read_text())
    pip_sections = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_sections) == 1, f"{env_file.name}: expected one pip section"
    env_pins = pins(pip_sections[0])
    assert env_pins["torch"] == "2.13.0"
    for name, version in env_pins.items():
        assert PROJECT_PINS.get(name) == version, (
            f"{env_file.name} pins {name}=={version}; pyproject.toml has {PROJECT_PINS.get(name)}"
        )
    assert (env_file.parent / f"{env_file.stem}.post-deploy.sh").exists()


def test_every_rule_env_exists():
    rules = "\n".join(p.read_text() for p in (REPO / "workflow" / "rules").glob("*.smk"))
    for env in set(re.findall(r'conda:\s*\n\s*"\.\./\.\./(envs/[^"]+)"', rules)):
        assert (REPO / env).exists(), env
