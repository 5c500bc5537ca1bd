"""Stage train_model: one (activation, seed) run → checkpoints and history."""

import logging
from pathlib import Path

import torch

from losslandscape.allocator import keep_freed_memory
from losslandscape.checkpoints import save_checkpoints
from losslandscape.datasets import load_dataset
from losslandscape.training import train_run

log = logging.getLogger(__name__)


def run_train_model(
    dataset: str, checkpoints: str, history: str, threads: int = 1, **train_kwargs
) -> None:
    """Train one run (keyword arguments of :func:`losslandscape.training.train_run`)."""
    torch.set_num_threads(threads)
    keep_freed_memory()
    data = load_dataset(dataset)
    result, table = train_run(data, **train_kwargs)
    save_checkpoints(result, checkpoints)
    Path(history).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(history, index=False)
