"""Stage interpolate_seeds: the straight lines between every pair of one activation's
trained models, and the loss barrier on each (how separated the solutions it finds are)."""

import logging
from itertools import combinations

import numpy as np
import torch
import xarray as xr

from losslandscape.data.datasets import load_dataset
from losslandscape.engine.evaluation import evaluate
from losslandscape.engine.evaluators import Splits
from losslandscape.engine.loss import CROSS_ENTROPY, Loss
from losslandscape.io import cf, datamodel
from losslandscape.io.provenance import PYTHON_CALL, provenance_attrs
from losslandscape.metrics.barriers import interpolation_barrier
from losslandscape.stages.landscape_plane import (
    EVALUATION_SUBSET_SEED,
    evaluation_attrs,
    evaluation_splits,
)
from losslandscape.stages.matching import check_data_fits_model
from losslandscape.training.checkpoints import (
    load_checkpoints,
    model_from_checkpoints,
    run_attrs,
    run_loss,
)

log = logging.getLogger(__name__)


def interpolated_state(start: dict, end: dict, alpha: float) -> dict:
    """``(1 − α)·start + α·end`` for every floating tensor of two state dicts (weights and
    BatchNorm statistics alike); integer buffers (batch counters) are taken from ``start``."""
    return {
        name: torch.lerp(tensor, end[name], alpha) if tensor.is_floating_point() else tensor
        for name, tensor in start.items()
    }


# What each pair's barrier (metrics.barriers.interpolation_barrier) stores: name, long name,
# units ({units}: the loss's)
BARRIER_VARIABLES = (
    (
        "barrier_height",
        "training-loss barrier: maximum along the line minus the mean of its ends",
        "{units}",
    ),
    ("barrier_alpha", "alpha of the maximum", "1"),
    ("loss_start", "training loss at alpha = 0", "{units}"),
    ("loss_end", "training loss at alpha = 1", "{units}"),
)


def line_losses(
    model: torch.nn.Module,
    start: dict,
    end: dict,
    alphas: np.ndarray,
    splits: Splits,
    loss: Loss = CROSS_ENTROPY,
) -> dict[str, np.ndarray]:
    """Train and test ``loss`` (nats for cross-entropy) and accuracy at each of ``alphas``
    ``(n,)`` on the line from state ``start`` (α = 0) to ``end`` (α = 1), on ``splits``
    (name → (inputs, labels)).

    Not the engine's ``evaluate_points`` on origin ``start``, u = ``end − start``: that
    moves the parameters alone (BatchNorm statistics stay the origin's, or are recomputed)
    where a line between two models interpolates them too; its ``start + α·u`` is not
    ``torch.lerp``'s point (which ends exactly on ``end``); and on CPU its rewritten
    forward pass sums in another order. The numbers would differ (2e-8 to 2e-7 relative on
    the toy MLP and mnist1d CNN) and the line's ends would no longer be each run's own
    :func:`~losslandscape.engine.evaluation.evaluate` loss.
    """
    values = {f"{split}_{kind}": [] for split in ("train", "test") for kind in ("loss", "accuracy")}
    for alpha in alphas:
        model.load_state_dict(interpolated_state(start, end, float(alpha)))
        for split in ("train", "test"):
            mean, accuracy = evaluate(model, *splits[split], loss=loss)
            values[f"{split}_loss"].append(mean)
            values[f"{split}_accuracy"].append(accuracy)
    return {key: np.asarray(column) for key, column in values.items()}


def _load_runs(checkpoints: list[str]) -> tuple[list[dict], torch.nn.Module]:
    """The runs' checkpoints and a model of their architecture; ValueError for runs of
    several activations or architectures."""
    runs = [load_checkpoints(path) for path in checkpoints]
    for kind in ("activation", "loss"):
        found = {run_attrs(run)[kind] for run in runs}
        if len(found) != 1:
            raise ValueError(f"seed interpolation: {checkpoints} hold several {kind}s {found}")
    model = model_from_checkpoints(runs[0])
    # names and shapes: the same layers at another width are another architecture
    shapes = {name: tuple(t.shape) for name, t in model.state_dict().items()}
    for path, run in zip(checkpoints, runs, strict=True):
        if {name: tuple(t.shape) for name, t in run["state_dicts"][-1].items()} != shapes:
            raise ValueError(
                f"seed interpolation: {path} holds another architecture than {checkpoints[0]}"
            )
    return runs, model


def _pair_lines(
    model: torch.nn.Module, runs: list[dict], alphas: np.ndarray, splits: Splits
) -> tuple[list[tuple[int, int]], list[dict], list[dict]]:
    """Every pair ``(a, b)`` of runs (indices, in the runs' order), the losses on the line
    between their final models (:func:`line_losses`) and its barrier."""
    pairs = list(combinations(range(len(runs)), 2))
    lines, barriers = [], []
    for a, b in pairs:
        values = line_losses(
            model,
            runs[a]["state_dicts"][-1],
            runs[b]["state_dicts"][-1],
            alphas,
            splits,
            run_loss(runs[a]),
        )
        lines.append(values)
        barriers.append(interpolation_barrier(alphas, values["train_loss"]))
        log.info(
            "%s seeds %d → %d: training-loss barrier %.4g %s at alpha %.2f",
            runs[a]["activation"],
            runs[a]["seed"],
            runs[b]["seed"],
            barriers[-1]["barrier_height"],
            run_loss(runs[a]).units,
            barriers[-1]["barrier_alpha"],
        )
    return pairs, lines, barriers


def _lines_dataset(
    runs: list[dict], pairs: list, alphas: np.ndarray, lines: list, barriers: list, attrs: dict
) -> xr.Dataset:
    """The lines ``(pair, alpha)`` and their barriers ``(pair,)`` as a dataset, with the runs'
    activation, model, data set and loss and ``attrs``."""
    units = run_loss(runs[0]).units
    variables = {
        key: (
            ("pair", "alpha"),
            np.stack([line[key] for line in lines]),
            cf.quantity(key.replace("_", " "), units if key.endswith("loss") else "1"),
        )
        for key in lines[0]
    }
    for key, long_name, unit in BARRIER_VARIABLES:
        values = np.array([barrier[key] for barrier in barriers])
        variables[key] = ("pair", values, cf.quantity(long_name, unit.format(units=units)))
    coords = {
        "alpha": (
            "alpha",
            alphas,
            {"long_name": "position on the line (0: seed_a, 1: seed_b)", "units": "1"},
        ),
    }
    for name, end, at in (("seed_a", 0, "alpha = 0"), ("seed_b", 1, "alpha = 1")):
        seeds = [int(runs[pair[end]]["seed"]) for pair in pairs]
        coords[name] = ("pair", seeds, {"long_name": f"seed of the model at {at}", "units": "1"})
    identity = {
        key: value
        for key, value in run_attrs(runs[0]).items()
        if key in ("activation", "model", "dataset", "loss", "loss_units")
    }
    attrs = {**identity, **attrs}
    return xr.Dataset(variables, coords=coords, attrs=attrs)


def run_interpolate_seeds(
    dataset: str,
    checkpoints: list[str],
    out: str,
    points: int = 25,
    subset_size: int | None = None,
    threads: int = 1,
    rule: str = PYTHON_CALL,
) -> None:
    """Lines between the final models of every pair of ``checkpoints`` (runs of one
    activation, in the config's seed order) → netCDF with dims ``(pair, alpha)``.

    ``alpha`` runs over ``points`` equally spaced values on [0, 1] (0: the pair's first seed,
    1: its second; Goodfellow et al. 2015). Variables: ``train_loss``, ``test_loss`` (the
    runs' loss: nats for cross-entropy), ``train_accuracy``, ``test_accuracy`` on
    ``(pair, alpha)``, evaluated on the whole splits or, with ``subset_size``, on the
    landscapes' fixed evaluation subset (the same samples as every grid of the study, so a
    line's barrier and a plane's pass compare); per pair ``barrier_height`` (the loss's
    units: the training loss's maximum along the line minus the mean of its two ends,
    Frankle et al. 2020 §2), ``barrier_alpha`` and the end losses; coordinates ``seed_a``,
    ``seed_b`` on ``pair``. Runs on ``threads`` CPU threads.

    Raises ValueError for fewer than 2 checkpoint files, runs of different activations or
    architectures, or fewer than 3 points.
    """
    if len(checkpoints) < 2:
        raise ValueError(f"seed interpolation: expected 2 or more runs; found {checkpoints}")
    if points < 3:
        raise ValueError(f"seed interpolation: expected at least 3 points per line; found {points}")
    torch.set_num_threads(threads)
    runs, model = _load_runs(checkpoints)
    data = load_dataset(dataset)
    for path, run in zip(checkpoints, runs, strict=True):
        check_data_fits_model(model, data, path, dataset, run["dataset"])
    splits = evaluation_splits(data, subset_size, EVALUATION_SUBSET_SEED, "cpu")
    alphas = np.linspace(0.0, 1.0, points)
    pairs, lines, barriers = _pair_lines(model, runs, alphas, splits)
    parameters = {
        "checkpoints": [str(c) for c in checkpoints],
        "dataset": str(dataset),
        "points": points,
        "subset_size": subset_size,
    }
    attrs = {
        **evaluation_attrs(data, subset_size),
        **provenance_attrs(rule, parameters),
    }
    datamodel.write_netcdf(_lines_dataset(runs, pairs, alphas, lines, barriers, attrs), out)
