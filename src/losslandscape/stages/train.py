"""Stage train_model: one (activation, seed) run → checkpoints and history."""

import logging
import shutil
from pathlib import Path

import torch

from losslandscape.data.datasets import load_dataset
from losslandscape.devices import resolve_device
from losslandscape.engine.cpu.allocator import keep_freed_memory
from losslandscape.io.files import write_csv
from losslandscape.training.checkpoints import save_checkpoints
from losslandscape.training.loop import train_run

log = logging.getLogger(__name__)


def resume_folder_for(checkpoints: str | Path) -> Path:
    """Where a run's progress is kept while it trains: ``<checkpoints>.resume/``."""
    return Path(f"{checkpoints}.resume")


def run_train_model(
    dataset: str,
    checkpoints: str,
    history: str,
    threads: int = 1,
    device: str = "auto",
    **train_kwargs,
) -> None:
    """Train one run (keyword arguments of :func:`losslandscape.training.loop.train_run`).

    Progress is kept in ``<checkpoints>.resume/`` after every epoch, so a rerun of a killed
    job continues from its last finished epoch; the folder is removed once the outputs are
    written.
    """
    torch.set_num_threads(threads)
    keep_freed_memory()
    chosen = resolve_device(device)
    if chosen.type == "cuda":  # reproducible kernels over speed (config/README.md)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    log.info("training on %s", chosen)
    data = load_dataset(dataset)
    folder = resume_folder_for(checkpoints)
    result, table = train_run(data, device=chosen, resume_folder=folder, **train_kwargs)
    save_checkpoints(result, checkpoints)
    Path(history).parent.mkdir(parents=True, exist_ok=True)
    write_csv(table, history)
    shutil.rmtree(folder, ignore_errors=True)  # the outputs are complete: progress is spent
