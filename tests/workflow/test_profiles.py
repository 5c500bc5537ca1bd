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
        "import_checkpoints",  # models trained elsewhere: evaluated where training would run
        "evaluate_landscape_tile",
        "evaluate_landscape",
        "map_run_planes",
    }


def _resources(dry_run_output: str) -> dict[str, list[dict[str, int | str]]]:
    """rule → the resources of each of its jobs in a dry run's job list."""
    jobs, rule = {}, None
    for line in dry_run_output.splitlines():
        if line.startswith(("rule ", "localrule ")):
            rule = line.split()[1].rstrip(":")
        elif line.strip().startswith("resources:"):
            pairs = line.split(":", 1)[1].split(",")
            resources = dict(pair.strip().split("=", 1) for pair in pairs if "=" in pair)
            # Snakemake's resources are integers where they can be (the plugin reads 0 so)
            resources = {k: int(v) if v.isdigit() else v for k, v in resources.items()}
            jobs.setdefault(rule, []).append(resources)
    return jobs


class _Job:
    """What the SLURM plugin reads of a job's resources: ``get`` and attributes."""

    def __init__(self, resources: dict[str, int | str]):
        self.resources = type("Resources", (), {"get": lambda _, k, d=None: resources.get(k, d)})()


@pytest.mark.parametrize("device", ["cuda", "auto"])
def test_the_slurm_profile_asks_for_a_gpu_where_the_study_runs_on_cuda(device, tmp_path):
    """Issue 21 case 11: with ``device: cuda``, the jobs that run the model (training, tiles,
    a run's planes, per-plane landscapes) ask for one GPU on the GPU partition, which the
    SLURM plugin turns into ``sbatch --gpus=1``; with ``auto`` none does (README: "GPUs").
    A stand-in for a CUDA build of torch (its version file only) passes the start-up check
    that refuses cuda with the CPU build installed here; planning never imports torch."""
    from snakemake_executor_plugin_slurm.utils import set_gres_string

    fake = tmp_path / "fake" / "torch"
    fake.mkdir(parents=True)
    (fake / "version.py").write_text("cuda = '12.4'\n")
    (fake / "__init__.py").write_text('raise ImportError("planning must not import torch")\n')
    overlay = tmp_path / "device.yaml"
    overlay.write_text(yaml.safe_dump({s: {"device": device} for s in ("training", "landscape")}))
    output = dry_run(
        REPO,
        *("--profile", "profiles/slurm", "--configfile", "config/config.yaml", str(overlay)),
        *("--config", f"study=profile-gpu-{device}"),
        env={"PYTHONPATH": str(tmp_path / "fake")},
    )
    jobs = _resources(output)
    model_rules = {"train_model", "evaluate_landscape", "map_run_planes"}
    assert model_rules <= set(jobs)
    for rule, requests in jobs.items():
        for resources in requests:
            wanted = device == "cuda" and rule in model_rules
            assert resources.get("gpu", 0) == int(wanted), rule
            assert set_gres_string(_Job(resources)).strip() == ("--gpus=1" if wanted else "")
            if wanted:
                assert resources["slurm_partition"] == "REPLACE_ME_gpu_partition", rule
