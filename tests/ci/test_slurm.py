"""The test study on a real SLURM cluster (CI starts one: .ci/slurm-cluster)."""

import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from tests.dry_run import SNAKEMAKE, job_counts
from tests.study import COMPUTED, assert_same_results, copy_workflow, shared_study, snakemake


def _slurm_cluster_answers() -> bool:
    if shutil.which("sinfo") is None:
        return False
    return subprocess.run(["sinfo", "-h"], capture_output=True, timeout=30).returncode == 0


SLURM_REQUIRED = os.environ.get("LOSSLANDSCAPE_SLURM_REQUIRED") == "1"


def _slurm_state(slurm_id: str, seconds: float = 10.0) -> str:
    """The job's state once it has left RUNNING/COMPLETING (squeue lists finished jobs for
    the cluster's MinJobAge)."""
    deadline = time.monotonic() + seconds
    state = ""
    while time.monotonic() < deadline:
        state = subprocess.run(
            ["squeue", "-h", "-t", "all", "-j", slurm_id, "-o", "%T"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        if state not in ("RUNNING", "COMPLETING", ""):
            return state
        time.sleep(0.1)
    return state


@pytest.mark.skipif(
    not SLURM_REQUIRED and not _slurm_cluster_answers(),
    reason="no SLURM cluster answers sinfo here; CI starts one (.ci/slurm-cluster) and runs this",
)
def test_the_study_on_slurm_survives_a_scancel_and_matches_the_local_run(tmp_path_factory):
    """The test study's computations (every netCDF and the study's tables, targets
    :data:`tests.study.COMPUTED`; the figures are drawn and checked in the local run)
    through ``--profile profiles/slurm-ci`` on a real cluster: one job mapping a run's
    planes is cancelled with ``scancel`` while it runs, ``retries`` resubmits only that
    job, the cheap gather rules run locally, and every netCDF value and summary table
    equals the local run's."""
    assert _slurm_cluster_answers(), "LOSSLANDSCAPE_SLURM_REQUIRED=1 but sinfo gets no answer"
    workdir = copy_workflow(tmp_path_factory.mktemp("slurm"))
    log = workdir / "snakemake.log"
    with log.open("w") as out:
        job = subprocess.Popen(
            [SNAKEMAKE, *COMPUTED, "--profile", "profiles/slurm-ci"]
            + ["--configfile", "config/test.yaml"],
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        cancelled = None
        deadline = time.monotonic() + 600
        while cancelled is None and time.monotonic() < deadline and job.poll() is None:
            queue = subprocess.run(
                ["squeue", "-h", "-t", "RUNNING", "-o", "%i|%k"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
            for line in queue:
                slurm_id, comment = line.split("|", 1)
                if comment.startswith("rule_map_run_planes"):
                    subprocess.run(["scancel", slurm_id], check=True)
                    # a job that finished in the meantime was not cancelled: try the next
                    if _slurm_state(slurm_id) == "CANCELLED":
                        cancelled = comment
                    break
            time.sleep(0.2)
        try:
            job.wait(timeout=1200)
        finally:
            if job.poll() is None:
                os.killpg(job.pid, signal.SIGKILL)
    text = log.read_text()
    assert cancelled is not None, "no map_run_planes job was seen running:\n" + text[-3000:]
    assert job.returncode == 0, text[-4000:]
    assert "CANCELLED" in text, text[-4000:]

    # one resubmission, of the cancelled job only: nothing else is computed twice
    submitted = re.findall(
        r"submitted with SLURM jobid \d+ \(log: \S*/slurm_logs/(rule_\w+)/", text
    )
    mapped = [name for name in submitted if name == "rule_map_run_planes"]
    plan = snakemake(workdir, "-n", "--forceall", "--quiet", "rules", "--cores", "1", *COMPUTED)
    planned = job_counts(plan.stdout + plan.stderr)
    assert len(mapped) == planned["map_run_planes"] + 1
    local_rules = set(re.findall(r"^localrule (\w+):", text, re.MULTILINE))
    assert {"summarize_study", "study_statistics"} <= local_rules
    assert len(submitted) == sum(n for r, n in planned.items() if r not in local_rules) + 1
    # the local run, asked for only now (tests/study.py)
    finished_study = shared_study(tmp_path_factory)
    assert_same_results(finished_study / "results" / "test", workdir / "results" / "test")
