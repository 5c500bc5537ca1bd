"""Training checkpoints as plain data (``torch.load(weights_only=True)`` reads them).

A checkpoints file is a dict::

    format_version: int     model_name: str       model_kwargs: dict (constructor args)
    activation: str         seed: int             dataset: str
    batch_size: int         (the training batch size; absent in older files)
    epochs: list[int]       state_dicts: list[dict[str, Tensor]]  (one per saved epoch)
    diverged_epoch: int     (−1, or the epoch at which training diverged and stopped)
    loss: str               (the loss trained on: cross_entropy or mse; absent in older
                            files, which trained on cross-entropy)
    target_loss: float | None  target_epoch: int  (the training-loss target in the loss's
                            units and the first epoch at or below it, −1 if none; absent in
                            older files)
    external: dict          (only for a model trained outside the workflow: ``path``, the
                            state dict file as given, and ``sha256``, its bytes' digest)

Epoch 0 is the initialization; the last entry is always the final model (for a diverged
run, the last finite one). A run imported from a state dict trained elsewhere
(:mod:`losslandscape.stages.imported`) has one entry, epoch 0: the imported model.
"""

from pathlib import Path

from torch import nn

from losslandscape.engine.loss import Loss, as_loss
from losslandscape.io.torchfiles import atomic_torch_save, load_torch_file
from losslandscape.models.registry import build_model

FORMAT_VERSION = 1
REQUIRED_KEYS = (
    "format_version",
    "model_name",
    "model_kwargs",
    "activation",
    "seed",
    "dataset",
    "epochs",
    "state_dicts",
)


def save_checkpoints(checkpoints: dict, path: str | Path) -> None:
    """Write a checkpoints dict atomically."""
    atomic_torch_save(checkpoints, path)


def load_checkpoints(path: str | Path) -> dict:
    """Read and check a checkpoints file.

    Raises:
        ValueError: missing keys, or ``epochs`` and ``state_dicts`` of different lengths.
    """
    checkpoints = load_torch_file(path, what="checkpoints file", required=REQUIRED_KEYS)
    n_epochs, n_states = len(checkpoints["epochs"]), len(checkpoints["state_dicts"])
    if n_epochs == 0 or n_epochs != n_states:
        raise ValueError(
            f"checkpoints file {path}: expected one state dict per saved epoch (at least one), "
            f"found {n_epochs} epochs and {n_states} state dicts"
        )
    return checkpoints


def model_from_checkpoints(checkpoints: dict, index: int = -1) -> nn.Module:
    """Rebuild the model and load the state dict at ``index`` (default: the final model)."""
    model = build_model(
        checkpoints["model_name"], checkpoints["activation"], **checkpoints["model_kwargs"]
    )
    model.load_state_dict(checkpoints["state_dicts"][index])
    model.eval()
    return model


def run_loss(checkpoints: dict) -> Loss:
    """The loss the run trained on, which every stage measures it by
    (:mod:`losslandscape.engine.loss`; cross-entropy for files older than the key)."""
    return as_loss(checkpoints.get("loss", "cross_entropy"))


def run_attrs(checkpoints: dict) -> dict:
    """The run's identity as netCDF attributes: activation, seed, model and data set names,
    ``diverged_epoch`` (−1: the run did not diverge), and the loss measured with its
    units (``loss``, ``loss_units``: cross_entropy, nats; or mse)."""
    loss = run_loss(checkpoints)
    return {
        "activation": checkpoints["activation"],
        "seed": int(checkpoints["seed"]),
        "model": checkpoints["model_name"],
        "dataset": checkpoints["dataset"],
        "diverged_epoch": int(checkpoints.get("diverged_epoch", -1)),
        "loss": loss.name,
        "loss_units": loss.units,
    }
