"""Shared fixtures (a small synthetic data set, a short training run on it, the engine's C
kernel) and the test tiers.

Tiers, by marker (``make check`` runs the first, ``make test`` all three):

- unmarked: the fast in-process tier, ``tests/unit/`` (mirroring the package). It starts no
  Python, CLI, script or Snakemake process: :func:`in_process_only` refuses them;
- ``workflow``: Snakemake runs and dry runs, the command line and scripts in subprocesses,
  SIGKILLed jobs (every test under ``tests/workflow/``, and a few marked by hand);
- ``ci``: the SLURM cluster, the headless browser and the shortened original study
  (everything under ``tests/ci/``), which CI runs with their services present.
"""

import os
import shlex
import subprocess
from pathlib import Path

import pytest
import torch

from losslandscape.data.datasets import tensor_checksum
from losslandscape.engine.cpu.native_kernel import batch_last_kernels
from losslandscape.training.loop import train_run
from tests.study import shared_study


def make_dataset(
    n_train: int = 200, n_test: int = 80, length: int = 40, n_classes: int = 4, seed: int = 0
) -> dict:
    """A learnable toy problem in the prepared-data-set format: the class sets the mean."""
    gen = torch.Generator().manual_seed(seed)
    y_train = torch.randint(0, n_classes, (n_train,), generator=gen)
    y_test = torch.randint(0, n_classes, (n_test,), generator=gen)
    x_train = torch.randn(n_train, length, generator=gen) + y_train[:, None].float()
    x_test = torch.randn(n_test, length, generator=gen) + y_test[:, None].float()
    dataset = {
        "format_version": 1,
        "name": "toy",
        "x_train": x_train,
        "y_train": y_train,
        "x_test": x_test,
        "y_test": y_test,
        "n_classes": n_classes,
        "input_shape": [length],
        "normalization": {"kind": "none", "mean": 0.0, "std": 1.0},
    }
    dataset["sha256"] = tensor_checksum(dataset)
    return dataset


@pytest.fixture(scope="session")
def toy_dataset() -> dict:
    return make_dataset()


@pytest.fixture(scope="session")
def toy_run(toy_dataset) -> tuple[dict, object]:
    """(checkpoints, history) of a 4-epoch CNN run on the toy data set."""
    return train_run(
        toy_dataset, "mnist1d_cnn", "relu", seed=7, epochs=4, learning_rate=1e-2, batch_size=50
    )


@pytest.fixture(scope="session")
def finished_study(tmp_path_factory) -> Path:
    """A working copy of the workflow in which the test study (config/test.yaml) has run to
    the end: run once per session and shared by the workflow and CI tiers, which compare
    their own runs with it or dry-run changes in it (each such test puts back what it
    changes; :func:`tests.study.shared_study`)."""
    return shared_study(tmp_path_factory)


@pytest.fixture(autouse=True)
def restore_torch_threads():
    """Stage functions set torch's thread count for their job; results of later tests in
    this process (training in particular) depend on it, so put it back after each test."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def c_kernel():
    """The engine's C kernels (``losslandscape.engine.cpu.native_kernel``); their tests skip
    where they do not build, except under ``LOSSLANDSCAPE_NATIVE_REQUIRED=1`` (CI), where
    they fail."""
    kernels = batch_last_kernels()
    if kernels is None:
        if os.environ.get("LOSSLANDSCAPE_NATIVE_REQUIRED") == "1":
            pytest.fail("LOSSLANDSCAPE_NATIVE_REQUIRED=1 but the C kernel was not built")
        pytest.skip("the C kernel is not built here (LOSSLANDSCAPE_NATIVE=0, or no C compiler)")
    return kernels


TESTS = Path(__file__).resolve().parent
TIERS = ("workflow", "ci")


def pytest_collection_modifyitems(config, items):
    """Mark every test under ``tests/<tier>/`` with its tier."""
    for item in items:
        folder = Path(item.path).relative_to(TESTS).parts[0]
        if folder in TIERS:
            item.add_marker(folder)


# make test's two pytest-xdist workers: the shortened original study and then the SLURM
# test on one, every other test on the other, each in collection order. Their CPU time is
# about even (the original study's sharpness jobs use one core; the SLURM test mostly waits
# on the executor's 2–14 s status polls), so neither worker idles long; the SLURM test uses
# the shared test study, which the other worker runs first (the browser test's).
BESIDE = {"tests/ci/test_original_study.py": "beside", "tests/ci/test_slurm.py": "beside"}


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: absent without -n
def pytest_xdist_make_scheduler(config, log):
    """For ``make test``'s ``-n 2`` (``--dist load``, its default): pytest-xdist's scope
    scheduler with two scopes, :data:`BESIDE`'s files and the rest. Any other ``-n`` or
    ``--dist`` keeps pytest-xdist's own scheduling. (``--dist loadgroup`` with
    ``xdist_group`` marks would say the same, but with pytest 9.2 it silently stops
    grouping: pytest-xdist issue #1386.)"""
    if config.getoption("numprocesses") != 2 or config.getoption("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class BesideScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return BESIDE.get(nodeid.split("::", 1)[0], "serial")

    return BesideScheduling(config, log)


def _starts_the_package_or_a_workflow(args) -> bool:
    """Whether ``args`` would start Snakemake, the package's command line, or a script of
    the workflow or the benchmarks."""
    if isinstance(args, str):  # shell=True, or a bare program
        args = shlex.split(args)
    argv = [str(a) for a in ([args] if isinstance(args, Path) else args)]
    text = " ".join(argv)
    return (
        any(Path(a).name == "snakemake" for a in argv)
        or "-m losslandscape" in text
        or any(Path(a).suffix == ".py" for a in argv[1:])
        or (Path(argv[0]).name.startswith("python") and len(argv) == 1)
    )


class _InProcessOnly(subprocess.Popen):
    def __init__(self, args, *rest, **kwargs):
        if _starts_the_package_or_a_workflow(args):
            raise RuntimeError(
                f"the fast tier runs in-process; {args!r} starts a process: call the function "
                "it runs instead, or mark the test `workflow`"
            )
        super().__init__(args, *rest, **kwargs)


@pytest.fixture(autouse=True)
def in_process_only(request, monkeypatch):
    """Tests of the fast tier may not start the package, a script or Snakemake in a new
    process (compilers and git are allowed: the C kernel builds with ``cc``)."""
    if not any(request.node.get_closest_marker(tier) for tier in TIERS):
        monkeypatch.setattr(subprocess, "Popen", _InProcessOnly)
    yield
