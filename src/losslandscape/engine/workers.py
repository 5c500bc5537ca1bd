"""Worker processes for the ``pool`` strategy that live as long as the process using them.

Starting a spawned worker costs seconds (Python, torch, the C kernel's library), more than
a small plane takes to evaluate: through a Python call that started new workers each
time, ``pool`` ran the default CNN's 21 × 21 plane at 142 points/s where ``point`` ran
334 (issue 23). A :class:`WorkerGroup` is started once per process and number of workers
(:func:`acquire`) and kept until the process exits; each evaluator only sends its model,
plane and data to the workers (:meth:`WorkerGroup.setup`), which build their
:class:`~losslandscape.engine.evaluators.PointEvaluator` from them.

Each worker has a pipe of its own, rather than a ``ProcessPoolExecutor``'s shared queue,
so that every worker gets the setup exactly once. Tensors cross the pipes through torch's
shared-memory reductions (``torch.multiprocessing``), not as copies.
"""

import atexit
import logging
import multiprocessing
import os
import signal
import threading
import time
import traceback

import torch

from losslandscape.engine.cpu.allocator import keep_freed_memory

log = logging.getLogger(__name__)


class WorkerError(RuntimeError):
    """A pool worker died, or failed in a way its exception could not be sent back."""


def _answer(kind: str, payload, evaluator):
    """What ``_serve`` answers to one message (``evaluator`` is the worker's current one)."""
    if kind == "failed":
        hint = ""
        if isinstance(payload, AttributeError | ImportError):
            hint = (
                " (a model class defined in a notebook or an unguarded script cannot reach "
                "spawned workers: import it from a module, or use strategy point)"
            )
        raise WorkerError(
            f"a pool worker could not read its task: {type(payload).__name__}: {payload}{hint}"
        )
    if kind == "evaluate":
        if evaluator is None:
            raise WorkerError("a pool worker was asked to evaluate before any setup")
        return evaluator(payload)
    raise WorkerError(f"a pool worker got the unknown message {kind!r}")


def _serve(connection) -> None:
    """A worker's loop: ``("setup", args)`` builds a ``PointEvaluator(*args)``,
    ``("evaluate", coords)`` answers its results, ``("release", None)`` drops it,
    ``("stop", None)`` or a closed pipe ends the worker. Every other message is answered
    ``("ok", value)`` or ``("error", exception)``; a message it cannot read is answered
    with an error, and ends the worker (what it held may be half received)."""
    # imported here: the evaluators module imports this one
    from losslandscape.engine.evaluators import PointEvaluator

    # Ctrl-C is the parent's to handle: it stops the workers (WorkerGroup.close)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(1)  # the workers are the parallelism
    keep_freed_memory()  # a fresh process: glibc's default thresholds again
    evaluator = None
    while True:
        try:
            kind, payload = connection.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        except Exception as error:  # e.g. a model class this process cannot import
            kind, payload = "failed", error
        if kind == "stop":
            return
        try:
            if kind in ("setup", "release"):
                evaluator = None  # free the last plane's copies before building the next
                if kind == "setup":
                    evaluator = PointEvaluator(*payload)
                answer = None
            else:
                answer = _answer(kind, payload, evaluator)
            connection.send(("ok", answer))
        except (BrokenPipeError, ConnectionResetError):  # the parent closed the group
            return
        except Exception as error:
            try:
                connection.send(("error", error))
            except (BrokenPipeError, ConnectionResetError):
                return
            except Exception:  # an exception that cannot be pickled: send its text
                connection.send(("error", WorkerError(traceback.format_exc())))
        if kind == "failed":
            return


class WorkerGroup:
    """``workers`` spawned processes of one thread each, one pipe each."""

    def __init__(self, workers: int):
        # spawn, not fork: a forked copy of an initialised torch thread pool can deadlock
        context = multiprocessing.get_context("spawn")
        self.connections, self.processes = [], []
        for _ in range(workers):
            parent_end, child_end = context.Pipe()
            process = context.Process(target=_serve, args=(child_end,), daemon=True)
            process.start()
            child_end.close()
            self.connections.append(parent_end)
            self.processes.append(process)
        self.busy = False
        # True while answers are owed: an exchange cut short (an exception, Ctrl-C) leaves
        # answers in the pipes, so the group cannot be used again
        self.owing = False

    def __len__(self) -> int:
        return len(self.processes)

    def alive(self) -> bool:
        """Whether every worker runs and no answer is owed."""
        running = bool(self.processes) and all(p.is_alive() for p in self.processes)
        return running and not self.owing

    def _exchange(self, messages: list[tuple]) -> list:
        """Send ``messages[i]`` to worker ``i`` (all first, so they work at once), then
        collect every answer; the first worker error is raised after all have answered."""
        kind = messages[0][0]
        if self.owing or not self.processes:
            raise WorkerError(
                "this pool's workers were stopped (a worker died or a call was interrupted); "
                "open a new evaluator"
            )
        for index, process in enumerate(self.processes):
            if not process.is_alive():
                self._died(index, kind)
        self.owing = True
        for index, message in enumerate(messages):
            try:
                self.connections[index].send(message)
            except (BrokenPipeError, ConnectionResetError):
                self._died(index, kind)
        answers, failure = [], None
        for index, connection in enumerate(self.connections[: len(messages)]):
            try:
                status, value = connection.recv()
            except (EOFError, OSError):
                self._died(index, kind)
            except Exception as error:  # an answer this process cannot unpickle
                status, value = (
                    "error",
                    WorkerError(
                        f"pool worker {index}'s answer could not be read: "
                        f"{type(error).__name__}: {error}"
                    ),
                )
            if status == "error" and failure is None:
                failure = value
            answers.append(value)
        self.owing = False
        if failure is not None:
            raise failure
        return answers

    def _died(self, index: int, kind: str) -> None:
        """Close the group and raise :class:`WorkerError` for worker ``index``."""
        process = self.processes[index]
        process.join(1)
        self.close()
        raise WorkerError(
            f"pool worker {index} (pid {process.pid}) exited with code {process.exitcode} "
            f"during {kind}; a fresh group of workers starts with the next evaluator"
        ) from None

    def setup(self, *evaluator_args) -> None:
        """Have every worker build ``PointEvaluator(*evaluator_args)``."""
        self._exchange([("setup", evaluator_args)] * len(self))

    def evaluate(self, pieces: list) -> list:
        """Evaluate ``pieces[i]`` (coordinates ``(n_i, 2)``) on worker ``i``."""
        return self._exchange([("evaluate", piece) for piece in pieces])

    def release(self) -> None:
        """Drop every worker's evaluator (its model copy and prepared data)."""
        if self.alive():
            self._exchange([("release", None)] * len(self))

    def close(self) -> None:
        """Stop the workers (they also stop when this process exits): asked to, with 5 s
        for all of them, or at once where they are still busy with a call that was cut
        short."""
        for connection in self.connections:
            if not self.owing:
                try:
                    connection.send(("stop", None))
                except (OSError, ValueError):
                    pass
            connection.close()
        deadline = time.monotonic() + (0 if self.owing else 5)
        for process in self.processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.terminate()
                process.join(1)
        self.connections, self.processes = [], []


# workers → the group this process keeps (one per size; an evaluator opened while it is in
# use gets a group of its own, closed with that evaluator)
_GROUPS: dict[int, WorkerGroup] = {}
_LOCK = threading.Lock()


def acquire(workers: int) -> WorkerGroup:
    """A group of ``workers`` processes to use until :func:`release`: the kept one where it
    is alive and free, else a new one (kept where none is)."""
    with _LOCK:
        kept = _GROUPS.get(workers)
        if kept is not None and not kept.alive():  # a worker died, or an exchange broke
            _GROUPS.pop(workers).close()
            kept = None
        if kept is not None and not kept.busy:
            kept.busy = True
            return kept
        group = WorkerGroup(workers)
        group.busy = True
        if kept is None:
            _GROUPS[workers] = group
        log.info("started %d pool workers", workers)
        return group


def release(group: WorkerGroup) -> None:
    """Hand ``group`` back: a kept group drops its evaluators and waits for the next call;
    another, or one whose workers failed, is closed."""
    with _LOCK:
        kept = any(kept is group for kept in _GROUPS.values())
        try:
            if kept and group.alive():
                group.release()
            else:
                group.close()
        except Exception:  # a worker died while releasing: the group is closed
            group.close()
        finally:
            group.busy = False
            if not group.alive():
                for size in [size for size, kept in _GROUPS.items() if kept is group]:
                    del _GROUPS[size]


# a forked child shares its parent's pipes: it must neither use nor stop the parent's workers
os.register_at_fork(after_in_child=_GROUPS.clear)


@atexit.register
def _close_kept_groups() -> None:
    for group in _GROUPS.values():
        group.close()
    _GROUPS.clear()
