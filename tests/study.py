"""The test study (config/test.yaml) run once per test session, and what its tests share:
running Snakemake on a copy of the workflow, reading the config, comparing two runs."""

import fcntl
import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import xarray as xr
import yaml

from losslandscape.planes.kinds import PlaneName, run_plane_names
from tests.dry_run import SNAKEMAKE

REPO = Path(__file__).resolve().parents[1]
# The study's tables: targets that make every netCDF of the test study but no figure and no
# report (the runs that only compare their numbers with the shared run's stop there)
COMPUTED = [
    "results/test/metrics/summary.csv",
    "results/test/metrics/across_seeds.csv",
    "results/test/statistics/answer.rst",
]
WORKFLOW_FILES = ("Snakefile", "workflow", "config", "report", "profiles", "envs", "src")


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [SNAKEMAKE, "--configfile", "config/test.yaml", *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=900,
    )


def plane_names(config: dict, seed: int) -> list[PlaneName]:
    """The planes config/test.yaml maps in the folder of ``seed``."""
    directions = config["directions"]
    seeds = config["seeds"]
    return run_plane_names(
        directions["planes"],
        directions["draws"],
        seed,
        directions["three_seed"]["seeds"] or seeds[:3],
        directions["narrow"]["epochs"],
    )


def study_config(finished_study: Path) -> dict:
    return yaml.safe_load((finished_study / "config" / "test.yaml").read_text())


def copy_workflow(workdir: Path) -> Path:
    """The workflow's files copied to ``workdir``, so a run starts from a clean state."""
    workdir.mkdir(parents=True, exist_ok=True)
    for item in WORKFLOW_FILES:
        source = REPO / item
        (shutil.copytree if source.is_dir() else shutil.copy)(source, workdir / item)
    return workdir


def assert_same_results(reference: Path, results: Path) -> None:
    """Every netCDF's values and coordinates and the summary tables are equal."""
    files = sorted(p.relative_to(reference) for p in reference.rglob("*.nc"))
    assert len(files) > 40
    for relative in files:
        with xr.open_dataset(reference / relative) as a, xr.open_dataset(results / relative) as b:
            xr.testing.assert_equal(a, b)  # values and coordinates; attrs hold timestamps
    for table in ("summary.csv", "summary_by_activation.csv"):
        pd.testing.assert_frame_equal(
            pd.read_csv(reference / "metrics" / table), pd.read_csv(results / "metrics" / table)
        )


def shared_study(tmp_path_factory) -> Path:
    """The working copy in which the test study has run to the end, run once per test
    session, when a test first asks for it (the SLURM test asks only after its own run).
    Should the tests run in several pytest-xdist workers, they share it: the first to ask
    runs it while the others wait on a lock in the folder above each worker's temporary
    folder, which is the session's (as pytest-xdist documents)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    root = tmp_path_factory.getbasetemp()
    if worker is not None:
        root = root.parent
    workdir, done = root / "shared-study", root / "shared-study.done"
    with open(root / "shared-study.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(workdir, ignore_errors=True)
            result = snakemake(copy_workflow(workdir), "--cores", "2")
            done.write_text(str(result.returncode) + "\n" + result.stderr[-4000:])
    code, _, stderr = done.read_text().partition("\n")
    assert code == "0", stderr
    return workdir
