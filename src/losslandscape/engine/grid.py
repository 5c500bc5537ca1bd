"""Loss and accuracy on a grid of parameter vectors ``w0 + x·u + y·v``.

The grid is evaluated by one of the strategies of :mod:`losslandscape.engine.strategies`,
or by the fastest of them measured on the grid's own plane (``auto``,
:mod:`losslandscape.engine.autotune`).
Correctness reference: :func:`evaluate_grid_reference` (copy weights into the module,
DataLoader of batch 128, the Li et al. way), which the tests and the benchmark hold every
strategy against.
"""

import copy
from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from losslandscape.engine.autotune import choose_evaluation
from losslandscape.engine.strategies import EvaluationOptions, Splits, evaluate_points
from losslandscape.parameters import ParameterLayout


def symmetric_axis(extent: float, margin: float, resolution: int) -> np.ndarray:
    """``resolution`` evenly spaced values on ``[-a, a]`` with ``a = extent·(1 + margin)``.

    Symmetric so that an odd resolution puts a grid point exactly on the origin.
    """
    half_width = max(float(extent), 1e-12) * (1.0 + margin)
    return np.linspace(-half_width, half_width, resolution)


def grid_coordinates(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """``(ny·nx, 2)`` points ``(x, y)`` of the grid in row-major order (``y`` outer), the
    order in which tiles split a grid and :func:`evaluate_grid` reshapes it."""
    grid_x, grid_y = np.meshgrid(np.asarray(xs, float), np.asarray(ys, float))
    return np.column_stack([grid_x.ravel(), grid_y.ravel()])


def evaluate_grid(
    model: nn.Module,
    origin: torch.Tensor,
    u: torch.Tensor,
    v: torch.Tensor,
    xs: np.ndarray,
    ys: np.ndarray,
    splits: Splits,
    strategy: str = "point",
    options: EvaluationOptions | None = None,
) -> dict[str, np.ndarray]:
    """Every :func:`~losslandscape.engine.strategies.evaluate_points` quantity on the grid
    ``xs × ys``.

    Args:
        xs: ``(nx,)``, ys: ``(ny,)`` coordinates along u and v.
        strategy: ``auto`` (measure layouts, batch sizes and strategies on a few points
            of this plane and keep the fastest; ``options.batch_size`` is the largest
            tried, and ``pool`` a candidate where ``options.workers`` > 1) or one of
            :data:`~losslandscape.engine.strategies.STRATEGIES`. ``pool``'s worker
            processes are started on first use and kept for the next call
            (:mod:`losslandscape.engine.workers`); like any spawned process, they need
            a script's calls under ``if __name__ == "__main__":``.
        the rest: as for :func:`~losslandscape.engine.strategies.evaluate_points`.

    Returns:
        ``{split}_loss``, ``{split}_loss_sem`` (nats) and ``{split}_accuracy`` (fraction),
        float64 arrays ``(ny, nx)``.
    """
    coords = grid_coordinates(xs, ys)
    if strategy == "auto":
        options = options or EvaluationOptions()
        choice = choose_evaluation(
            model, origin, u, v, splits, options, len(coords), options.workers
        )
        strategy, options = choice.strategy, choice.options
    values = evaluate_points(model, origin, u, v, coords, splits, strategy, options)
    return {key: array.reshape(len(ys), len(xs)) for key, array in values.items()}


@torch.no_grad()
def evaluate_grid_reference(
    model: nn.Module,
    origin: torch.Tensor,
    u: torch.Tensor,
    v: torch.Tensor,
    xs: np.ndarray,
    ys: np.ndarray,
    splits: Splits,
    batch_size: int = 128,
    loss: Callable | None = None,
) -> dict[str, np.ndarray]:
    """The plain reference: copy each point's weights into the module, DataLoader batches
    of ``batch_size`` (the Li et al. loop).

    Arguments as for :func:`evaluate_grid` but ``batch_size`` for ``strategy`` and
    ``options``, and ``loss``: None for cross-entropy (``F.cross_entropy``, with accuracy),
    else a function ``(outputs, targets) -> (batch,)`` of per-sample losses (no accuracy);
    returns ``{split}_loss`` (and ``{split}_accuracy``) ``(ny, nx)`` (no standard errors).
    Slow: what the tests and benchmarks hold every strategy against.
    """
    model = copy.deepcopy(model).eval()  # the caller's module keeps its weights
    layout = ParameterLayout.of(model)
    params = dict(model.named_parameters())
    kinds = ("loss", "accuracy") if loss is None else ("loss",)
    out = {f"{n}_{k}": np.empty((len(ys), len(xs))) for n in splits for k in kinds}
    for iy, y in enumerate(ys):
        for ix, x in enumerate(xs):
            point = layout.unflatten(origin + float(x) * u + float(y) * v)
            for name, tensor in point.items():
                params[name].copy_(tensor)
            for name, (inputs, labels) in splits.items():
                loss_sum, correct = 0.0, 0
                for batch_inputs, batch_labels in DataLoader(
                    TensorDataset(inputs, labels), batch_size=batch_size
                ):
                    logits = model(batch_inputs)
                    if loss is None:
                        loss_sum += float(F.cross_entropy(logits, batch_labels, reduction="sum"))
                        correct += int((logits.argmax(1) == batch_labels).sum())
                    else:
                        loss_sum += float(loss(logits, batch_labels).double().sum())
                out[f"{name}_loss"][iy, ix] = loss_sum / len(inputs)
                if loss is None:
                    out[f"{name}_accuracy"][iy, ix] = correct / len(inputs)
    return out
