"""Training one network for one (activation, seed): checkpoints and a per-epoch history.

Deterministic on CPU for a given seed: initialization and data order come from generators
derived from ``(seed, "init")`` and ``(seed, "data_order")``.
"""

import logging
import math
import time

import pandas as pd
import torch
from torch.nn import functional as F

from losslandscape.checkpoints import FORMAT_VERSION
from losslandscape.evaluation import evaluate
from losslandscape.models import build_model, data_kwargs
from losslandscape.seeding import derived_seed, generator_for, seed_everything

log = logging.getLogger(__name__)

HISTORY_COLUMNS = [
    "epoch",
    "train_loss",
    "train_accuracy",
    "test_loss",
    "test_accuracy",
    "learning_rate",
    "seconds",
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
) -> tuple[dict, pd.DataFrame]:
    """Train one model and return ``(checkpoints, history)``.

    Args:
        dataset: a prepared data set (see :mod:`losslandscape.datasets`).
        epochs: passes over the training set; checkpoints are kept at epoch 0, every
            ``checkpoint_every`` epochs, and always at the last epoch.
        plateau_factor: if set, ReduceLROnPlateau multiplies the learning rate by this
            factor after ``plateau_patience`` epochs without a lower training loss.

    Returns:
        checkpoints: plain data, see :mod:`losslandscape.checkpoints`.
        history: one row per epoch (0 = initialization) with ``HISTORY_COLUMNS``; losses are
            mean cross-entropy in nats over the whole split, measured in eval mode after the
            epoch; ``seconds`` is the wall time of the epoch's training steps.

    Raises:
        FloatingPointError: the training loss became NaN or infinite.
    """
    seed_everything(seed)
    kwargs = data_kwargs(model_name, dataset["input_shape"], dataset["n_classes"])
    kwargs.update(model_kwargs or {})
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derived_seed(seed, "init"))
        model = build_model(model_name, activation, **kwargs)
    opt = make_optimizer(optimizer, model.parameters(), learning_rate, momentum, weight_decay)
    scheduler = None
    if plateau_factor is not None:
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            opt, mode="min", factor=plateau_factor, patience=plateau_patience
        )
    order_gen = generator_for(seed, "data_order")
    x_train, y_train = dataset["x_train"], dataset["y_train"]
    x_test, y_test = dataset["x_test"], dataset["y_test"]

    saved_epochs, state_dicts, rows = [], [], []

    def record(epoch: int, seconds: float) -> None:
        train_loss, train_acc = evaluate(model, x_train, y_train)
        test_loss, test_acc = evaluate(model, x_test, y_test)
        lr = opt.param_groups[0]["lr"]
        rows.append([epoch, train_loss, train_acc, test_loss, test_acc, lr, seconds])
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
        if not math.isfinite(train_loss):
            raise FloatingPointError(
                f"training {activation} seed {seed} diverged at epoch {epoch}: train loss "
                f"{train_loss}; lower the learning rate for {activation!r}"
            )
        if epoch == 0 or epoch == epochs or epoch % checkpoint_every == 0:
            saved_epochs.append(epoch)
            state_dicts.append({k: v.detach().clone() for k, v in model.state_dict().items()})
        if scheduler is not None and epoch > 0:
            scheduler.step(train_loss)

    record(0, 0.0)
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        model.train()
        # Slicing a resident tensor is several times faster than a DataLoader on small nets.
        permutation = torch.randperm(len(x_train), generator=order_gen)
        for first in range(0, len(x_train), batch_size):
            index = permutation[first : first + batch_size]
            loss = F.cross_entropy(model(x_train[index]), y_train[index])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        record(epoch, time.perf_counter() - start)

    checkpoints = {
        "format_version": FORMAT_VERSION,
        "model_name": model_name,
        "model_kwargs": kwargs,
        "activation": activation,
        "seed": int(seed),
        "dataset": dataset["name"],
        "epochs": saved_epochs,
        "state_dicts": state_dicts,
    }
    return checkpoints, pd.DataFrame(rows, columns=HISTORY_COLUMNS)
