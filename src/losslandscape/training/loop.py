"""Training one network for one (activation, seed): checkpoints and a per-epoch history.

Deterministic on CPU for a given seed: initialization, data order and augmentation come
from generators derived from ``(seed, "init")``, ``(seed, "data_order")`` and
``(seed, "augmentation")``; stochastic depth draws from torch's global generator, seeded
with the run's seed. On CUDA, cuDNN is asked for deterministic kernels (see
config/README.md); a few kernels have none and runs may then differ in the last bits.
"""

import math
from pathlib import Path

import pandas as pd
import torch

from losslandscape.engine.loss import as_loss
from losslandscape.models.registry import build_model, data_kwargs
from losslandscape.seeding import derived_seed, seed_everything
from losslandscape.training.augmentation import AUGMENTATIONS
from losslandscape.training.checkpoints import FORMAT_VERSION
from losslandscape.training.epochs import RunPlan, TrainingRun
from losslandscape.training.optimizers import make_optimizer, make_scheduler
from losslandscape.training.resume import ResumeStore, run_key

HISTORY_COLUMNS = [
    "epoch",
    "train_loss",
    "train_accuracy",
    "test_loss",
    "test_accuracy",
    "learning_rate",
    "seconds",
    "diverged",
    "reached_target",
]


def first_epoch_at_or_below(rows: list[list], target_loss: float | None) -> int:
    """The first history row's epoch whose training loss is ≤ ``target_loss`` (nats), −1
    if none is or there is no target. ``rows`` are history rows in ``HISTORY_COLUMNS``."""
    if target_loss is None:
        return -1
    epoch_at, loss_at = HISTORY_COLUMNS.index("epoch"), HISTORY_COLUMNS.index("train_loss")
    return next((int(row[epoch_at]) for row in rows if row[loss_at] <= target_loss), -1)


def _check_arguments(dataset: dict, augmentation: str, target_loss: float | None) -> None:
    """Refuse an unknown augmentation, augmentation of signals and a target that is no loss."""
    if augmentation not in AUGMENTATIONS:
        raise ValueError(
            f"augmentation {augmentation!r} is unknown; choose one of {', '.join(AUGMENTATIONS)}"
        )
    if augmentation != "none" and dataset["x_train"].dim() not in (3, 4):
        raise ValueError(
            f"augmentation {augmentation!r} needs images (n, c, h, w) or (n, h, w); data set "
            f"{dataset['name']!r} has inputs of shape {list(dataset['input_shape'])}"
        )
    check_target_loss(target_loss)


def check_target_loss(target_loss: float | None) -> None:
    """Refuse a training-loss target that is no loss (finite, ≥ 0) or None."""
    if target_loss is not None and not (math.isfinite(target_loss) and target_loss >= 0):
        raise ValueError(
            f"target_loss {target_loss!r}: expected a finite loss (≥ 0; nats for "
            "cross-entropy) or None"
        )


def constructor_kwargs(dataset: dict, model_name: str, model_kwargs: dict | None) -> dict:
    """Model ``model_name``'s constructor arguments for ``dataset`` as the checkpoints record
    them (``model_kwargs``): those the data set's shapes give, updated with
    ``model_kwargs``."""
    kwargs = data_kwargs(model_name, dataset["input_shape"], dataset["n_classes"])
    kwargs.update(model_kwargs or {})
    return kwargs


def _initial_model(
    dataset: dict, model_name: str, activation: str, seed: int, model_kwargs, device
) -> tuple[torch.nn.Module, dict]:
    """The model initialized from the generator of ``(seed, "init")`` (the global generator
    is left as it was), on ``device``, and its :func:`constructor_kwargs`."""
    kwargs = constructor_kwargs(dataset, model_name, model_kwargs)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derived_seed(seed, "init"))
        model = build_model(model_name, activation, **kwargs).to(torch.device(device))
    return model, kwargs


def _train_epochs(run: TrainingRun, epochs: int, batch_size: int, augmentation: str) -> int:
    """Train ``run`` from its first epoch to train (:meth:`TrainingRun.start`) through
    ``epochs``, stopping at the first epoch whose training loss is not finite; returns that
    epoch, −1 if there was none."""
    for epoch in range(run.start(), epochs + 1):
        if not run.finish_epoch(epoch, run.train_epoch(batch_size, augmentation)):
            return epoch
    return -1


def _checkpoints(
    run: TrainingRun,
    model_name: str,
    kwargs: dict,
    dataset_name: str,
    diverged_epoch: int,
    batch_size: int,
) -> dict:
    """The finished ``run``'s checkpoints as plain data, with the keys :func:`train_run`
    documents (:mod:`losslandscape.training.checkpoints`)."""
    plan = run.plan
    return {
        "format_version": FORMAT_VERSION,
        "model_name": model_name,
        "model_kwargs": kwargs,
        "activation": plan.activation,
        "seed": int(plan.seed),
        "dataset": dataset_name,
        "loss": plan.loss.name,
        "batch_size": int(batch_size),
        "epochs": run.saved_epochs,
        "state_dicts": run.state_dicts,
        "diverged_epoch": diverged_epoch,
        "target_loss": None if plan.target_loss is None else float(plan.target_loss),
        "target_epoch": first_epoch_at_or_below(run.rows, plan.target_loss),
    }


def train_run(
    dataset: dict,
    model_name: str,
    activation: str,
    seed: int,
    epochs: int,
    learning_rate: float,
    batch_size: int = 100,
    optimizer: str = "adam",
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    plateau_factor: float | None = None,
    plateau_patience: int = 15,
    checkpoint_every: int = 1,
    model_kwargs: dict | None = None,
    milestones: list[int] | None = None,
    milestone_factor: float = 0.1,
    augmentation: str = "none",
    device: torch.device | str = "cpu",
    resume_folder: str | Path | None = None,
    cosine: bool = False,
    target_loss: float | None = None,
    loss: str = "cross_entropy",
) -> tuple[dict, pd.DataFrame]:
    """Train one model and return ``(checkpoints, history)``.

    Args:
        dataset: a prepared data set (see :mod:`losslandscape.data.datasets`).
        epochs: passes over the training set; checkpoints are kept at epoch 0, every
            ``checkpoint_every`` epochs, and always at the last epoch.
        learning_rate: the optimizer's (initial) step size, dimensionless.
        plateau_factor: if set, ReduceLROnPlateau multiplies the learning rate by this
            factor after ``plateau_patience`` epochs without a lower training loss.
        milestones: if set (instead of a plateau), the rate is multiplied by
            ``milestone_factor`` after each of these epochs (Li et al.'s ResNet schedule).
        cosine: if True (instead of a plateau or milestones), cosine annealing from
            ``learning_rate`` to 0 over the run, one cycle without restarts (Loshchilov &
            Hutter 2017, "SGDR", eq. 5, with η_min = 0, η_max = ``learning_rate``,
            T_i = ``epochs``; ``CosineAnnealingLR``): after epoch e the rate is
            ``learning_rate · (1 + cos(π e / epochs)) / 2`` (0 after the last), so the rate
            used in epoch e ≥ 1, which the history records, is that of epoch e − 1.
        target_loss: a training-loss target in the loss's units (the mean loss over the
            training set, eval mode); None for none. It only marks the history and checkpoints
            (below); training always runs all ``epochs``.
        loss: the loss trained on and recorded (a name of
            :data:`losslandscape.engine.loss.LOSSES`: ``cross_entropy``, nats, or ``mse``,
            Li et al.'s squared error of the softmax against one-hot labels); the checkpoints
            record it, so every later stage measures the same loss.
        model_kwargs: constructor arguments beyond those the data set's shapes give
            (``leaky_relu_slope`` among them).
        augmentation: ``none`` or ``crop_flip`` (training batches only; images only).
        device: where to train; checkpoints are returned on the CPU.
        resume_folder: if given, progress is saved there after every epoch and a run
            killed at any point continues from its last finished epoch, ending with
            exactly the weights of an uninterrupted run (on CPU).

    Returns:
        checkpoints: plain data, see :mod:`losslandscape.training.checkpoints`.
        history: one row per epoch (0 = initialization) with ``HISTORY_COLUMNS``; losses are
            the mean ``loss`` (cross-entropy: nats) over the whole split, measured in eval mode
            after the epoch; ``learning_rate`` is the rate used in the epoch (epoch 0: the initial
            rate); ``seconds`` is the wall time of the epoch's training steps; ``diverged``
            is 1 on the epoch whose loss was not finite; ``reached_target`` is 1 on and after
            the first epoch whose training loss was ≤ ``target_loss`` (all 0 without one).

    ``checkpoints["loss"]`` is ``loss``; ``checkpoints["target_loss"]`` is ``target_loss``
    (float, in the loss's units, or None) and
    ``checkpoints["target_epoch"]`` the first epoch (0 = initialization) whose training loss
    was ≤ it, −1 if none was or there is no target.

    A run whose training loss becomes NaN or infinite stops there: its history's last row
    has ``diverged`` = 1, its checkpoints end at the last finite saved epoch (the model
    the landscapes are drawn around) and ``checkpoints["diverged_epoch"]`` is that epoch
    (−1 for a run that did not diverge).
    """
    _check_arguments(dataset, augmentation, target_loss)
    objective = as_loss(loss)
    seed_everything(seed)
    model, kwargs = _initial_model(dataset, model_name, activation, seed, model_kwargs, device)
    opt = make_optimizer(optimizer, model.parameters(), learning_rate, momentum, weight_decay)
    scheduler = make_scheduler(
        opt, epochs, plateau_factor, plateau_patience, milestones, milestone_factor, cosine
    )
    store = None
    if resume_folder is not None:
        settings = {
            "dataset": dataset["sha256"],
            "model": model_name,
            "kwargs": kwargs,
            "activation": activation,
            "seed": seed,
            "epochs": epochs,
            "learning_rate": learning_rate,
            "batch_size": batch_size,
            "optimizer": [optimizer, momentum, weight_decay],
            "plateau": [plateau_factor, plateau_patience],
            "milestones": [milestones, milestone_factor],
            "cosine": cosine,
            "target_loss": target_loss,
            "checkpoint_every": checkpoint_every,
            "augmentation": augmentation,
            "loss": loss,
        }
        store = ResumeStore(resume_folder, run_key(settings))
    plan = RunPlan(activation, seed, epochs, checkpoint_every, target_loss, objective)
    run = TrainingRun(model, opt, scheduler, store, dataset, plan)
    diverged_epoch = _train_epochs(run, epochs, batch_size, augmentation)
    checkpoints = _checkpoints(run, model_name, kwargs, dataset["name"], diverged_epoch, batch_size)
    return checkpoints, pd.DataFrame(run.rows, columns=HISTORY_COLUMNS)
