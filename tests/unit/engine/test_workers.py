"""pool's worker processes: kept across calls, rebuilt after a failure."""

import os
import signal

import numpy as np
import pytest

from losslandscape.engine import workers
from losslandscape.engine.strategies import EvaluationOptions, evaluate_points, open_evaluator
from losslandscape.training.checkpoints import model_from_checkpoints
from tests.planes import random_plane

POOL = EvaluationOptions(batch_size=200, workers=2)


@pytest.fixture
def plane(toy_run, toy_dataset):
    model = model_from_checkpoints(toy_run[0])
    splits = {
        "train": (toy_dataset["x_train"], toy_dataset["y_train"]),
        "test": (toy_dataset["x_test"], toy_dataset["y_test"]),
    }
    return model, *random_plane(model, seed=4), splits


def _pids(group: workers.WorkerGroup) -> list[int]:
    return [process.pid for process in group.processes]


def test_the_workers_outlive_a_call_and_serve_the_next_plane(plane):
    """Two calls on two planes run in the same processes and equal point's values."""
    model, origin, u, v, splits = plane
    coords = np.random.default_rng(0).uniform(-0.5, 0.5, (5, 2))
    first = evaluate_points(model, origin, u, v, coords, splits, "pool", POOL)
    kept = workers._GROUPS[2]
    pids = _pids(kept)
    assert not kept.busy
    second = evaluate_points(model, origin, v, u, coords, splits, "pool", POOL)
    assert _pids(workers._GROUPS[2]) == pids
    for values, (a, b) in ((first, (u, v)), (second, (v, u))):
        expected = evaluate_points(model, origin, a, b, coords, splits, "point", POOL)
        for key, array in expected.items():
            np.testing.assert_allclose(values[key], array, rtol=1e-6, err_msg=key)


def test_an_evaluator_opened_beside_the_kept_one_gets_its_own_workers(plane):
    model, origin, u, v, splits = plane
    with open_evaluator(model, origin, u, v, splits, "pool", POOL) as outer:
        with open_evaluator(model, origin, u, v, splits, "pool", POOL) as inner:
            assert inner.group is not outer.group
            own = inner.group
            np.testing.assert_allclose(
                inner(np.zeros((2, 2)))["train_loss"], outer(np.zeros((2, 2)))["train_loss"]
            )
        assert own.processes == []  # closed with its evaluator
    assert workers._GROUPS[2] is outer.group and not outer.group.busy


def test_a_worker_error_is_raised_and_the_workers_stay(plane):
    """An exception inside a worker reaches the caller as itself; the group serves on."""
    model, origin, u, v, splits = plane
    bad = {"train": (splits["train"][0], splits["train"][1] + 100)}  # labels past the classes
    with pytest.raises((ValueError, IndexError, RuntimeError)):
        evaluate_points(model, origin, u, v, np.zeros((2, 2)), bad, "pool", POOL)
    pids = _pids(workers._GROUPS[2])
    evaluate_points(model, origin, u, v, np.zeros((2, 2)), splits, "pool", POOL)
    assert _pids(workers._GROUPS[2]) == pids


def test_a_killed_worker_is_named_and_the_next_call_starts_fresh_ones(plane):
    model, origin, u, v, splits = plane
    with open_evaluator(model, origin, u, v, splits, "pool", POOL) as evaluator:
        victim = evaluator.group.processes[1]
        os.kill(victim.pid, signal.SIGKILL)
        victim.join(5)
        with pytest.raises(workers.WorkerError, match=r"pool worker \d \(pid \d+\) exited"):
            evaluator(np.zeros((4, 2)))
    values = evaluate_points(model, origin, u, v, np.zeros((2, 2)), splits, "pool", POOL)
    assert victim.pid not in _pids(workers._GROUPS[2])
    assert np.isfinite(values["train_loss"]).all()


class _Unreachable:
    """Unpickles in no process: what a notebook's model class is to a spawned worker."""

    def __reduce__(self):
        return (_missing_function, ())


def _missing_function():
    raise AttributeError("Can't get attribute 'NotebookNet' on <module '__main__'>")


def test_a_task_a_worker_cannot_read_is_named(plane):
    group = workers.acquire(2)
    try:
        with pytest.raises(workers.WorkerError, match="could not read its task.*NotebookNet"):
            group.setup(_Unreachable())
        assert group.alive()
    finally:
        workers.release(group)
