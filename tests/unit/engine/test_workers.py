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
        kept = outer.group
        with open_evaluator(model, origin, u, v, splits, "pool", POOL) as inner:
            assert inner.group is not outer.group
            own = inner.group
            np.testing.assert_allclose(
                inner(np.zeros((2, 2)))["train_loss"], outer(np.zeros((2, 2)))["train_loss"]
            )
        assert own.processes == []  # closed with its evaluator
    assert workers._GROUPS[2] is kept and not kept.busy


def test_a_worker_error_is_raised_and_the_workers_stay(plane):
    """An exception inside a worker reaches the caller as itself; the group serves on."""
    model, origin, u, v, splits = plane
    bad = {"train": (splits["train"][0], splits["train"][1] + 100)}  # labels past the classes
    with pytest.raises(ValueError, match="label"):
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


def test_a_task_a_worker_cannot_read_is_named_and_its_workers_replaced(plane):
    group = workers.acquire(2)
    with pytest.raises(workers.WorkerError, match="could not read its task.*NotebookNet"):
        group.setup(_Unreachable())
    workers.release(group)
    assert not group.alive() and workers._GROUPS.get(2) is not group
    model, origin, u, v, splits = plane
    evaluate_points(model, origin, u, v, np.zeros((2, 2)), splits, "pool", POOL)


def test_closing_twice_does_not_hand_back_a_group_in_use(plane):
    model, origin, u, v, splits = plane
    first = open_evaluator(model, origin, u, v, splits, "pool", POOL)
    first.close()
    with open_evaluator(model, origin, u, v, splits, "pool", POOL) as second:
        first.close()
        assert second.group.busy
        assert np.isfinite(second(np.zeros((2, 2)))["train_loss"]).all()


def test_no_points_give_empty_arrays_as_point_does(plane):
    model, origin, u, v, splits = plane
    pooled = evaluate_points(model, origin, u, v, np.zeros((0, 2)), splits, "pool", POOL)
    alone = evaluate_points(model, origin, u, v, np.zeros((0, 2)), splits, "point", POOL)
    assert pooled.keys() == alone.keys()
    assert all(array.shape == (0,) for array in pooled.values())


def test_a_call_cut_short_stops_the_workers_at_once(plane, monkeypatch):
    """An exchange left owing answers (Ctrl-C in the middle) cannot be reused: its workers
    are stopped without waiting, and the next evaluator gets fresh ones."""
    model, origin, u, v, splits = plane
    evaluator = open_evaluator(model, origin, u, v, splits, "pool", POOL)
    group = evaluator.group
    group.connections[0].send(("evaluate", np.zeros((400, 2))))  # an answer now owed
    group.owing = True
    evaluator.close()
    assert group.processes == [] and 2 not in workers._GROUPS
    with pytest.raises(workers.WorkerError, match="open a new evaluator"):
        group.evaluate([np.zeros((1, 2))])
    evaluate_points(model, origin, u, v, np.zeros((2, 2)), splits, "pool", POOL)


def test_a_forked_child_forgets_the_parents_workers(plane):
    model, origin, u, v, splits = plane
    evaluate_points(model, origin, u, v, np.zeros((2, 2)), splits, "pool", POOL)
    kept = workers._GROUPS[2]
    pid = os.fork()
    if pid == 0:  # the child: nothing kept, so nothing of the parent's to use or stop
        os._exit(1 if workers._GROUPS else 0)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert kept.alive() and workers._GROUPS[2] is kept
