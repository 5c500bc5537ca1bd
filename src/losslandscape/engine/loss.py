"""The engine's loss: a per-sample loss (cross-entropy, the mean squared error or the
caller's own) and its reduction to a mean loss, that mean's standard error and, where it is
defined, an accuracy: the one reduction every evaluation path uses (the strategies of
:mod:`losslandscape.engine.strategies` and :func:`losslandscape.engine.evaluation.evaluate`).

The C kernel's ``cross_entropy_sums`` (``engine/cpu/batch_last_kernel.c``) adds the same
three sums for cross-entropy from a head's output in one call; its tests hold it against
:class:`LossSums`.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from losslandscape.units import LOSS_UNITS

# {split}_loss, {split}_loss_sem[, {split}_accuracy] → float64 arrays (n_points,)
Results = dict[str, np.ndarray]


def cross_entropy_and_prediction(
    logits: torch.Tensor, labels: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy of each sample (nats) and its predicted class, each ``(…, batch)`` for
    logits ``(…, batch, classes)`` and labels ``(batch,)``; stacked points are taken as
    they are.

    ``ℓ = log Σ_c exp(z_c) − z_label``, the log-sum-exp shifted by each row's largest
    logit as ``torch.logsumexp`` does; the one ``max`` pass gives that shift and the
    prediction together. The same values as ``F.cross_entropy`` and ``argmax`` (to float32
    rounding); for 1000 × 10 logits on one core 0.061 ms, against 0.087 for
    ``torch.logsumexp`` and ``argmax`` apart and twice that for ``F.cross_entropy``.
    """
    top, predicted = logits.max(-1)
    log_sum = (logits - top.unsqueeze(-1)).exp_().sum(-1).log_().add_(top)
    picked = logits.gather(-1, labels.expand(logits.shape[:-1]).unsqueeze(-1)).squeeze(-1)
    return log_sum.sub_(picked), predicted


def _cross_entropy(outputs: torch.Tensor, targets: torch.Tensor):
    losses, predicted = cross_entropy_and_prediction(outputs, targets)
    return losses, predicted == targets


def _squared_error(outputs: torch.Tensor, targets: torch.Tensor):
    """The mean over outputs of the squared error of each sample, ``(…, batch)``, for
    outputs ``(…, batch, k)`` and targets ``(batch, k)`` or ``(batch,)`` (k = 1); for a
    classifier's ``(batch,)`` integer class indices (k > 1), of the softmax probabilities
    against one-hot targets, as Li et al.'s ``--loss_name mse`` (their ``evaluation.py``:
    ``MSELoss`` of ``softmax(outputs)``), with the accuracy of the largest output."""
    width = outputs.shape[-1] if outputs.dim() > 1 else 1
    # class indices: one integer per sample for several outputs (anything else is a value)
    if not targets.is_floating_point() and targets.dim() == 1 and width > 1:
        hot = F.one_hot(targets, width).to(outputs.dtype)
        error = outputs.softmax(-1) - hot
        return error.square().mean(-1), outputs.argmax(-1) == targets
    wanted = targets.reshape(len(targets), -1).to(outputs.dtype)
    return (outputs - wanted).square().mean(-1), None


@dataclass(frozen=True)
class Loss:
    """A per-sample loss: ``per_sample(outputs, targets) -> (losses, correct)``, ``losses``
    ``(…, batch)`` for outputs ``(…, batch, k)`` (leading axes: stacked points) and
    ``correct`` a boolean ``(…, batch)`` where accuracy is defined, else None.

    ``units`` name the loss's units in the files and figures; ``stacks``: whether
    ``per_sample`` takes stacked points (else the engine calls it once per point).
    """

    name: str
    per_sample: Callable
    units: str
    stacks: bool = True


CROSS_ENTROPY = Loss("cross_entropy", _cross_entropy, LOSS_UNITS["cross_entropy"])
MSE = Loss("mse", _squared_error, LOSS_UNITS["mse"])
LOSSES = {loss.name: loss for loss in (CROSS_ENTROPY, MSE)}


@dataclass(frozen=True)
class _OwnLoss:
    """The caller's per-sample loss ``function(outputs, targets) -> losses (batch,)``, with
    no accuracy (a class, not a closure: the ``pool`` strategy's workers unpickle it)."""

    function: Callable

    def __call__(self, outputs: torch.Tensor, targets: torch.Tensor):
        losses = self.function(outputs, targets)
        if losses.shape != outputs.shape[:1]:
            raise ValueError(
                f"loss {getattr(self.function, '__name__', self.function)!r} must return one "
                f"loss per sample, shape {list(outputs.shape[:1])}; found "
                f"{list(losses.shape)} (compute it with reduction='none')"
            )
        return losses, None


def mean_loss(loss: "Loss | None", outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The mean of ``loss`` over a batch, twice differentiable (training steps, Hessians):
    ``F.cross_entropy`` for cross-entropy or None (the trainer's and the Hessians' objective
    since the start, so that their numbers stay bit for bit what they were; the engine's
    faster per-sample form works in place and is for evaluation only), else the mean of
    ``loss.per_sample``."""
    if loss is None or loss == CROSS_ENTROPY:
        return F.cross_entropy(outputs, targets)
    return loss.per_sample(outputs, targets)[0].mean()


def as_loss(loss: "str | Loss | Callable") -> Loss:
    """A :class:`Loss` from its name (``cross_entropy``, ``mse``), itself, or a callable
    ``(outputs (batch, k), targets) -> (batch,)`` per-sample losses (units unknown: "the
    loss's units"; no accuracy; pickled by reference for the ``pool`` strategy).

    Raises:
        ValueError: an unknown name.
    """
    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, str):
        if loss not in LOSSES:
            raise ValueError(f"loss {loss!r} is unknown; choose one of {', '.join(LOSSES)}")
        return LOSSES[loss]
    name = getattr(loss, "__name__", type(loss).__name__)
    return Loss(name, _OwnLoss(loss), "the loss's units", stacks=False)


class LossSums:
    """Running sums over a split's samples, per point: ``sums`` ``(3, n_points)`` float64 on
    the device (no host synchronisation per batch), rows ``Σ ℓ_i``, ``Σ ℓ_i²`` and the
    number of correct predictions, for the per-sample loss ``ℓ_i`` of ``loss`` (default
    cross-entropy, :func:`cross_entropy_and_prediction`).

    Over the split's ``n`` samples they give (:meth:`statistics`):

    - the mean loss ``ℓ̄ = Σ ℓ_i / n`` (the loss's units: nats for cross-entropy);
    - its standard error ``s / √n``, with the sample variance
      ``s² = (Σ ℓ_i² / n − ℓ̄²) · n / (n − 1)`` (clipped at 0 against rounding; ``n − 1``
      taken as 1 for one sample);
    - the accuracy ``(number correct) / n`` (fraction), NaN where the loss defines none.
    """

    def __init__(self, n_points: int, device: torch.device | str, loss: Loss = CROSS_ENTROPY):
        self.sums = torch.zeros(3, n_points, dtype=torch.float64, device=device)
        self.loss, self.accuracy_defined = loss, True

    def add(self, index: int | slice, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        """Add a batch: ``outputs`` ``(…, batch, k)`` of the points ``index`` (one point, or
        a slice of stacked points), ``targets`` ``(batch, …)``."""
        if self.loss.stacks or not isinstance(index, slice):
            losses, correct = self.loss.per_sample(outputs, targets)
        else:  # the caller's loss, one stacked point at a time
            each = [self.loss.per_sample(point, targets) for point in outputs]
            losses = torch.stack([point_losses for point_losses, _ in each])
            correct = None
        losses = losses.double()
        if correct is None:
            self.accuracy_defined = False
            correct = torch.zeros_like(losses)
        self.sums[:, index] += torch.stack(
            [losses.sum(-1), losses.square().sum(-1), correct.sum(-1).to(losses.dtype)]
        )

    def statistics(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(mean loss, its standard error, accuracy)`` over ``n`` samples, each float64
        ``(n_points,)`` (formulas in the class docstring)."""
        loss, square, correct = self.sums.cpu().numpy()
        mean = loss / n
        variance = np.maximum(square / n - mean**2, 0.0) * n / max(n - 1, 1)
        accuracy = correct / n if self.accuracy_defined else np.full_like(mean, np.nan)
        return mean, np.sqrt(variance / n), accuracy

    def results(self, split: str, n: int) -> Results:
        """:meth:`statistics` named ``{split}_loss``, ``{split}_loss_sem`` and, where the
        loss defines one, ``{split}_accuracy``."""
        mean, sem, accuracy = self.statistics(n)
        out = {f"{split}_loss": mean, f"{split}_loss_sem": sem}
        if self.accuracy_defined:
            out[f"{split}_accuracy"] = accuracy
        return out
