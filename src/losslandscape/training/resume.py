"""A training run's progress on disk, so a killed job continues where it stopped.

The folder (``<checkpoints>.resume/`` beside the run's output) holds ``epoch_<e>.pt`` for
every checkpoint saved so far and ``state.pt``: the epoch reached, model, optimizer and
scheduler states, every random generator's state and the history rows. Each file is
written atomically, and a checkpoint before the state that refers to it, so the folder
is consistent whenever the job is killed. A ``key`` (digest of the run's data set and
settings) keeps a changed run from resuming stale progress.
"""

import hashlib
import json
import logging
from pathlib import Path

import torch

from losslandscape.io.torchfiles import atomic_torch_save, load_torch_file

log = logging.getLogger(__name__)

STATE_KEYS = (
    "key",
    "epoch",
    "model",
    "optimizer",
    "scheduler",
    "generators",
    "torch_rng",
    "rows",
    "saved_epochs",
)


def run_key(settings: dict) -> str:
    """Digest of everything a run's weights depend on (JSON-serializable ``settings``)."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()


class ResumeStore:
    """Saved progress of one training run in ``folder`` (see the module docstring)."""

    def __init__(self, folder: str | Path, key: str):
        # the folder is removed by the train stage once the run's outputs are written
        self.folder, self.key = Path(folder), key

    def _checkpoint_path(self, epoch: int) -> Path:
        return self.folder / f"epoch_{epoch}.pt"

    def save_checkpoint(self, epoch: int, state_dict: dict) -> None:
        atomic_torch_save(state_dict, self._checkpoint_path(epoch))

    def load_checkpoint(self, epoch: int) -> dict:
        return torch.load(self._checkpoint_path(epoch), map_location="cpu", weights_only=True)

    def save_state(self, state: dict) -> None:
        atomic_torch_save({"key": self.key, **state}, self.folder / "state.pt")

    def load_state(self) -> dict | None:
        """The saved state, or None when there is none, it is unreadable or from another
        run (each case logged; the run then starts afresh)."""
        path = self.folder / "state.pt"
        if not path.exists():
            return None
        try:
            state = load_torch_file(path, "training progress", STATE_KEYS)
        except ValueError as error:
            log.warning("%s; starting afresh", error)
            return None
        if state["key"] != self.key:
            log.warning("training progress in %s is from other settings; starting afresh", path)
            return None
        return state
