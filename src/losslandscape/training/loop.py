"""Training one network for one (activation, seed): checkpoints and a per-epoch history.

Deterministic on CPU for a given seed: initialization, data order and augmentation come
from generators derived from ``(seed, "init")``, ``(seed, "data_order")`` and
``(seed, "augmentation")``; stochastic depth draws from torch's global generator, seeded
with the run's seed. On CUDA, cuDNN is asked for deterministic kernels (see
config/README.md); a few kernels have none and runs may then differ in the last bits.
"""

import logging
import math
import time
from pathlib import Path

import pandas as pd
import torch
from torch.nn import functional as F

from losslandscape.engine.evaluation import evaluate
from losslandscape.models.registry import build_model, data_kwargs
from losslandscape.seeding import derived_seed, generator_for, seed_everything
from losslandscape.training.checkpoints import FORMAT_VERSION
from losslandscape.training.resume import ResumeStore, run_key

log = logging.getLogger(__name__)

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


def make_optimizer(name: str, params, learning_rate: float, momentum: float, weight_decay: float):
    """Adam (the study's default) or SGD with momentum."""
    if name == "adam":
        return torch.optim.Adam(params, lr=learning_rate, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(
            params, lr=learning_rate, momentum=momentum, weight_decay=weight_decay
        )
    raise ValueError(f"optimizer {name!r} is unknown; choose one of adam, sgd")


def make_scheduler(
    opt: torch.optim.Optimizer,
    epochs: int,
    plateau_factor: float | None,
    plateau_patience: int,
    milestones: list[int] | None,
    milestone_factor: float,
    cosine: bool,
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """The one learning-rate schedule asked for, or None; stepped once per epoch.

    Raises:
        ValueError: more than one of a plateau, milestones and cosine annealing.
    """
    chosen = [
        name
        for name, on in (
            (f"a plateau (factor {plateau_factor})", plateau_factor is not None),
            (f"milestones {milestones}", bool(milestones)),
            ("cosine annealing", cosine),
        )
        if on
    ]
    if len(chosen) > 1:
        raise ValueError(
            "choose one learning-rate schedule: a plateau, milestones or cosine annealing; "
            f"found {' and '.join(chosen)}"
        )
    if plateau_factor is not None:
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            opt, mode="min", factor=plateau_factor, patience=plateau_patience
        )
    if milestones:
        return torch.optim.lr_scheduler.MultiStepLR(opt, milestones, milestone_factor)
    if cosine:
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs, eta_min=0.0)
    return None


def first_epoch_at_or_below(rows: list[list], target_loss: float | None) -> int:
    """The first history row's epoch whose training loss is ≤ ``target_loss`` (nats), −1
    if none is or there is no target. ``rows`` are history rows in ``HISTORY_COLUMNS``."""
    if target_loss is None:
        return -1
    epoch_at, loss_at = HISTORY_COLUMNS.index("epoch"), HISTORY_COLUMNS.index("train_loss")
    return next((int(row[epoch_at]) for row in rows if row[loss_at] <= target_loss), -1)


AUGMENTATIONS = ("none", "crop_flip")


def crop_flip(images: torch.Tensor, generator: torch.Generator, padding: int = 4) -> torch.Tensor:
    """Random crop after zero padding and random horizontal flip, per image (the CIFAR
    training augmentation). ``images`` ``(n, c, h, w)``, already normalized, so the padding
    is the training set's mean colour. Offsets and flips come from ``generator`` (CPU)."""
    n, _, height, width = images.shape
    padded = F.pad(images, (padding,) * 4)
    dy = torch.randint(0, 2 * padding + 1, (n,), generator=generator).to(images.device)
    dx = torch.randint(0, 2 * padding + 1, (n,), generator=generator).to(images.device)
    flip = (torch.rand(n, generator=generator) < 0.5).to(images.device)
    rows = (dy[:, None] + torch.arange(height, device=images.device))[:, None, :, None]
    cols = dx[:, None] + torch.arange(width, device=images.device)
    cols = torch.where(flip[:, None], cols.flip(-1), cols)[:, None, None, :]
    batch = torch.arange(n, device=images.device)[:, None, None, None]
    channel = torch.arange(images.shape[1], device=images.device)[None, :, None, None]
    return padded[batch, channel, rows, cols]


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
        target_loss: a training-loss target in nats (mean cross-entropy over the training
            set, eval mode); None for none. It only marks the history and checkpoints
            (below); training always runs all ``epochs``.
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
            mean cross-entropy in nats over the whole split, measured in eval mode after the
            epoch; ``learning_rate`` is the rate used in the epoch (epoch 0: the initial
            rate); ``seconds`` is the wall time of the epoch's training steps; ``diverged``
            is 1 on the epoch whose loss was not finite; ``reached_target`` is 1 on and after
            the first epoch whose training loss was ≤ ``target_loss`` (all 0 without one).

    ``checkpoints["target_loss"]`` is ``target_loss`` (float, nats, or None) and
    ``checkpoints["target_epoch"]`` the first epoch (0 = initialization) whose training loss
    was ≤ it, −1 if none was or there is no target.

    A run whose training loss becomes NaN or infinite stops there: its history's last row
    has ``diverged`` = 1, its checkpoints end at the last finite saved epoch (the model
    the landscapes are drawn around) and ``checkpoints["diverged_epoch"]`` is that epoch
    (−1 for a run that did not diverge).
    """
    if augmentation not in AUGMENTATIONS:
        raise ValueError(
            f"augmentation {augmentation!r} is unknown; choose one of {', '.join(AUGMENTATIONS)}"
        )
    if augmentation != "none" and dataset["x_train"].dim() != 4:
        raise ValueError(
            f"augmentation {augmentation!r} needs images (n, c, h, w); data set "
            f"{dataset['name']!r} has inputs of shape {list(dataset['input_shape'])}"
        )
    if target_loss is not None and not (math.isfinite(target_loss) and target_loss >= 0):
        raise ValueError(
            f"target_loss {target_loss!r}: expected a finite cross-entropy in nats (≥ 0) or None"
        )
    seed_everything(seed)
    device = torch.device(device)
    kwargs = data_kwargs(model_name, dataset["input_shape"], dataset["n_classes"])
    kwargs.update(model_kwargs or {})
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derived_seed(seed, "init"))
        model = build_model(model_name, activation, **kwargs).to(device)
    opt = make_optimizer(optimizer, model.parameters(), learning_rate, momentum, weight_decay)
    scheduler = make_scheduler(
        opt, epochs, plateau_factor, plateau_patience, milestones, milestone_factor, cosine
    )
    generators = {
        "data_order": generator_for(seed, "data_order"),
        "augmentation": generator_for(seed, "augmentation"),
    }
    x_train, y_train = dataset["x_train"].to(device), dataset["y_train"].to(device)
    x_test, y_test = dataset["x_test"].to(device), dataset["y_test"].to(device)

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
        }
        store = ResumeStore(resume_folder, run_key(settings))

    saved_epochs, state_dicts, rows = [], [], []

    def record(epoch: int, seconds: float) -> None:
        train_loss, train_acc = evaluate(model, x_train, y_train)
        test_loss, test_acc = evaluate(model, x_test, y_test)
        lr = opt.param_groups[0]["lr"]
        finite = math.isfinite(train_loss)
        reached = bool(rows) and rows[-1][-1] == 1  # once reached, marked to the end
        reached |= target_loss is not None and train_loss <= target_loss
        rows.append(
            [epoch, train_loss, train_acc, test_loss, test_acc, lr, seconds]
            + [int(not finite), int(reached)]
        )
        log.info(
            "%s seed %d epoch %d/%d: train loss %.4f acc %.3f | test loss %.4f acc %.3f | "
            "lr %.2g | %.2fs",
            activation,
            seed,
            epoch,
            epochs,
            train_loss,
            train_acc,
            test_loss,
            test_acc,
            lr,
            seconds,
        )
        if not finite and epoch > 0:
            log.warning(
                "training %s seed %d diverged at epoch %d (train loss %s): stopped; the run "
                "keeps its checkpoints up to epoch %d and is marked diverged; lower the "
                "learning rate for %r",
                activation,
                seed,
                epoch,
                train_loss,
                saved_epochs[-1],
                activation,
            )
            return False
        if epoch == 0 or epoch == epochs or epoch % checkpoint_every == 0:
            saved_epochs.append(epoch)
            state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
            state_dicts.append(state)
            if store is not None:
                store.save_checkpoint(epoch, state)
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau) and epoch > 0:
            scheduler.step(train_loss)
        elif scheduler is not None and epoch > 0:
            scheduler.step()
        if store is not None:
            store.save_state(
                {
                    "epoch": epoch,
                    "model": model.state_dict(),
                    "optimizer": opt.state_dict(),
                    "scheduler": scheduler.state_dict() if scheduler is not None else {},
                    "generators": {k: g.get_state() for k, g in generators.items()},
                    "torch_rng": torch.get_rng_state(),
                    "rows": rows,
                    "saved_epochs": saved_epochs,
                }
            )
        return True

    first_epoch, diverged_epoch = 1, -1
    resumed = store.load_state() if store is not None else None
    if resumed is not None:
        model.load_state_dict(resumed["model"])
        opt.load_state_dict(resumed["optimizer"])
        if scheduler is not None:
            scheduler.load_state_dict(resumed["scheduler"])
        for name, generator in generators.items():
            generator.set_state(resumed["generators"][name])
        torch.set_rng_state(resumed["torch_rng"])
        rows.extend(resumed["rows"])
        saved_epochs.extend(resumed["saved_epochs"])
        state_dicts.extend(store.load_checkpoint(e) for e in saved_epochs)
        first_epoch = resumed["epoch"] + 1
        log.info("resuming %s seed %d after epoch %d", activation, seed, resumed["epoch"])
    else:
        record(0, 0.0)
    for epoch in range(first_epoch, epochs + 1):
        start = time.perf_counter()
        model.train()
        # Slicing a resident tensor is several times faster than a DataLoader on small nets.
        permutation = torch.randperm(len(x_train), generator=generators["data_order"])
        for first in range(0, len(x_train), batch_size):
            index = permutation[first : first + batch_size].to(device)
            inputs = x_train[index]
            if augmentation == "crop_flip":
                inputs = crop_flip(inputs, generators["augmentation"])
            loss = F.cross_entropy(model(inputs), y_train[index])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        if not record(epoch, time.perf_counter() - start):
            diverged_epoch = epoch
            break

    checkpoints = {
        "format_version": FORMAT_VERSION,
        "model_name": model_name,
        "model_kwargs": kwargs,
        "activation": activation,
        "seed": int(seed),
        "dataset": dataset["name"],
        "epochs": saved_epochs,
        "state_dicts": state_dicts,
        "diverged_epoch": diverged_epoch,
        "target_loss": None if target_loss is None else float(target_loss),
        "target_epoch": first_epoch_at_or_below(rows, target_loss),
    }
    return checkpoints, pd.DataFrame(rows, columns=HISTORY_COLUMNS)
