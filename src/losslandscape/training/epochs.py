"""The steps of a training run between epochs (:func:`losslandscape.training.loop.train_run`):
one pass over the data, the history row, checkpoints, the schedule's step, and the progress
saved so that a killed run resumes bit for bit (:mod:`losslandscape.training.resume`)."""

import logging
import math
import time
from dataclasses import dataclass

import torch
from torch import nn

from losslandscape.engine.evaluation import evaluate
from losslandscape.engine.loss import CROSS_ENTROPY, Loss, mean_loss
from losslandscape.seeding import generator_for
from losslandscape.training.augmentation import crop_flip

log = logging.getLogger("losslandscape.training.loop")  # the run's log, as train_run's


def measure(
    model: nn.Module,
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_test: torch.Tensor,
    y_test: torch.Tensor,
    loss: Loss = CROSS_ENTROPY,
) -> tuple[float, float, float, float]:
    """``(train_loss, train_accuracy, test_loss, test_accuracy)`` of ``model`` as the
    history records them: mean ``loss`` (cross-entropy in nats by default) and accuracy
    (fraction) over each whole split, in eval mode
    (:func:`~losslandscape.engine.evaluation.evaluate`), the tensors on the model's
    device."""
    train_loss, train_acc = evaluate(model, x_train, y_train, loss=loss)
    test_loss, test_acc = evaluate(model, x_test, y_test, loss=loss)
    return train_loss, train_acc, test_loss, test_acc


def history_row(
    epoch: int,
    measured: tuple[float, float, float, float],
    learning_rate: float,
    seconds: float,
    target_loss: float | None,
    reached_before: bool,
) -> list:
    """One history row (:data:`losslandscape.training.loop.HISTORY_COLUMNS`) from the
    epoch's :func:`measure`: ``diverged`` is 1 where the training loss is not finite,
    ``reached_target`` 1 where an earlier row had reached the target (``reached_before``)
    or this training loss is ≤ ``target_loss`` (in the loss's units; None: never)."""
    train_loss = measured[0]
    reached = reached_before or (target_loss is not None and train_loss <= target_loss)
    diverged = not math.isfinite(train_loss)
    return [epoch, *measured, learning_rate, seconds, int(diverged), int(reached)]


@dataclass(frozen=True)
class RunPlan:
    """What a run is and when it keeps checkpoints (as
    :func:`~losslandscape.training.loop.train_run` was given them)."""

    activation: str
    seed: int
    epochs: int
    checkpoint_every: int
    target_loss: float | None
    loss: Loss = CROSS_ENTROPY


class TrainingRun:
    """A training run between epochs: the model, optimizer and schedule, the data on the
    device, the generators of data order and augmentation, the history rows and saved
    checkpoints so far, and the ``store`` its progress is saved to (or None)."""

    def __init__(self, model: nn.Module, opt, scheduler, store, data: dict, plan: RunPlan):
        """``model`` on its device, ``data`` a prepared data set (its tensors are moved
        there), ``store`` a :class:`~losslandscape.training.resume.ResumeStore` or None."""
        self.model, self.opt, self.scheduler = model, opt, scheduler
        self.store, self.plan = store, plan
        self.generators = {
            "data_order": generator_for(plan.seed, "data_order"),
            "augmentation": generator_for(plan.seed, "augmentation"),
        }
        device = next(model.parameters()).device
        self.x_train, self.y_train = data["x_train"].to(device), data["y_train"].to(device)
        self.x_test, self.y_test = data["x_test"].to(device), data["y_test"].to(device)
        self.rows: list[list] = []
        self.saved_epochs: list[int] = []
        self.state_dicts: list[dict] = []

    def start(self) -> int:
        """The first epoch to train: after the saved progress where the store has some
        (every state restored), else 1 after recording the initialization as epoch 0."""
        resumed = self.store.load_state() if self.store is not None else None
        if resumed is None:
            self.finish_epoch(0, 0.0)
            return 1
        self.model.load_state_dict(resumed["model"])
        self.opt.load_state_dict(resumed["optimizer"])
        if self.scheduler is not None:
            self.scheduler.load_state_dict(resumed["scheduler"])
        for name, generator in self.generators.items():
            generator.set_state(resumed["generators"][name])
        torch.set_rng_state(resumed["torch_rng"])
        self.rows.extend(resumed["rows"])
        self.saved_epochs.extend(resumed["saved_epochs"])
        self.state_dicts.extend(self.store.load_checkpoint(e) for e in self.saved_epochs)
        plan = self.plan
        log.info("resuming %s seed %d after epoch %d", plan.activation, plan.seed, resumed["epoch"])
        return resumed["epoch"] + 1

    def train_epoch(self, batch_size: int, augmentation: str) -> float:
        """One pass over the training set in the seeded order; returns its wall time (s)."""
        start = time.perf_counter()
        self.model.train()
        # Slicing a resident tensor is several times faster than a DataLoader on small nets.
        permutation = torch.randperm(len(self.x_train), generator=self.generators["data_order"])
        for first in range(0, len(self.x_train), batch_size):
            index = permutation[first : first + batch_size].to(self.x_train.device)
            inputs = self.x_train[index]
            if augmentation == "crop_flip":
                inputs = crop_flip(inputs, self.generators["augmentation"])
            loss = mean_loss(self.plan.loss, self.model(inputs), self.y_train[index])
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
        return time.perf_counter() - start

    def finish_epoch(self, epoch: int, seconds: float) -> bool:
        """Record the epoch's history row; unless its training loss is not finite (after
        epoch 0: the run diverged, and False is returned), keep its checkpoint where due,
        step the schedule and save the progress. True: training goes on."""
        train_loss = self._record(epoch, seconds)
        if not math.isfinite(train_loss) and epoch > 0:
            self._warn_diverged(epoch, train_loss)
            return False
        plan = self.plan
        if epoch == 0 or epoch == plan.epochs or epoch % plan.checkpoint_every == 0:
            self._keep_checkpoint(epoch)
        if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau) and epoch > 0:
            self.scheduler.step(train_loss)
        elif self.scheduler is not None and epoch > 0:
            self.scheduler.step()
        if self.store is not None:
            self._save_progress(epoch)
        return True

    def _record(self, epoch: int, seconds: float) -> float:
        """Append the epoch's history row (:data:`losslandscape.training.loop.HISTORY_COLUMNS`;
        logged too); return its training loss (in the loss's units)."""
        measured = measure(
            self.model, self.x_train, self.y_train, self.x_test, self.y_test, self.plan.loss
        )
        train_loss, train_acc, test_loss, test_acc = measured
        lr = self.opt.param_groups[0]["lr"]
        reached = bool(self.rows) and self.rows[-1][-1] == 1  # once reached, marked to the end
        self.rows.append(history_row(epoch, measured, lr, seconds, self.plan.target_loss, reached))
        log.info(
            "%s seed %d epoch %d/%d: train loss %.4f acc %.3f | test loss %.4f acc %.3f | "
            "lr %.2g | %.2fs",
            self.plan.activation,
            self.plan.seed,
            epoch,
            self.plan.epochs,
            train_loss,
            train_acc,
            test_loss,
            test_acc,
            lr,
            seconds,
        )
        return train_loss

    def _warn_diverged(self, epoch: int, train_loss: float) -> None:
        log.warning(
            "training %s seed %d diverged at epoch %d (train loss %s): stopped; the run "
            "keeps its checkpoints up to epoch %d and is marked diverged; lower the "
            "learning rate for %r",
            self.plan.activation,
            self.plan.seed,
            epoch,
            train_loss,
            self.saved_epochs[-1],
            self.plan.activation,
        )

    def _keep_checkpoint(self, epoch: int) -> None:
        self.saved_epochs.append(epoch)
        state = {k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()}
        self.state_dicts.append(state)
        if self.store is not None:
            self.store.save_checkpoint(epoch, state)

    def _save_progress(self, epoch: int) -> None:
        """Everything :meth:`start` needs to continue after ``epoch``."""
        self.store.save_state(
            {
                "epoch": epoch,
                "model": self.model.state_dict(),
                "optimizer": self.opt.state_dict(),
                "scheduler": self.scheduler.state_dict() if self.scheduler is not None else {},
                "generators": {k: g.get_state() for k, g in self.generators.items()},
                "torch_rng": torch.get_rng_state(),
                "rows": self.rows,
                "saved_epochs": self.saved_epochs,
            }
        )
