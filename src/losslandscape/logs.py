"""Routing a stage's log lines (and its error, if any) to one file, as Snakemake jobs want."""

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@contextlib.contextmanager
def log_to_file(path: str | Path) -> Iterator[logging.Logger]:
    """Send INFO and above from every logger to ``path`` while the block runs.

    An exception raised in the block is written to the file with its traceback, then
    re-raised, so the job log says why the job failed.
    """
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, mode="w")
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield root
    except BaseException:
        root.exception("stage failed")
        raise
    finally:
        root.removeHandler(handler)
        handler.close()
