"""The public API: a landscape of your own model on your own data, in a few lines.

    import losslandscape as ll
    plane = ll.random_plane(model, seed=0)                  # filter-normalized (Li et al.)
    grid = ll.evaluate(model, plane, (inputs, targets), loss="mse", resolution=21)
    ll.metrics(grid)                                       # minima, width, smoothness, shape
    ll.plot(grid).savefig("plane.png")

Planes are :class:`Plane` s: an origin and two directions, each a state dict of the
model's parameters (name → tensor). A model or weight vector may be given as an
``nn.Module`` or a state dict; planes from state dicts alone need ``model`` to name the
parameters (a state dict also holds buffers, which no plane moves). Frozen parameters
(``requires_grad=False``) stay at the origin on random and Hessian planes.

Data may be a ``(inputs, targets)`` pair of tensors, a torch ``Dataset`` of such pairs, a
``DataLoader``, or a dict of named splits of any of these (``{"train": …, "test": …}``);
a single one is the split ``train``. For a model called with several inputs,
``model(a, b)``, the inputs are a tuple: ``((a, b), targets)`` (samples
``((a_i, b_i), target_i)`` in a Dataset); its grid comes from the plain per-point loop the
engine's fast paths are checked against, with the model's own BatchNorm statistics.

The loss is ``"cross_entropy"``, ``"mse"`` (one-hot targets for class indices, as Li et
al.'s ``--loss_name mse``) or any function ``(outputs, targets) -> (batch,)`` of
per-sample losses (:mod:`losslandscape.engine.loss`).
Accuracy is recorded only where the loss defines it.

A PCA plane's grid holds its checkpoints (``trajectory_x``, ``trajectory_y``) and a
three-point plane's its three models, so that :func:`plot` marks them.

Every function here works on grids made anywhere (:func:`evaluate`, the study's
landscape files, :func:`losslandscape.io.foreign.read_grid`): a loss ``<split>_loss`` on
``(y, x)`` is all they need.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import xarray as xr
from torch import nn
from torch.utils.data import DataLoader, Dataset

from losslandscape.engine.grid import evaluate_grid
from losslandscape.engine.loss import Loss, LossSums, as_loss
from losslandscape.engine.strategies import EvaluationOptions
from losslandscape.io import cf
from losslandscape.parameters import ParameterLayout
from losslandscape.planes import directions as plane_directions
from losslandscape.seeding import seeded_subset

Weights = nn.Module | Mapping[str, torch.Tensor]
Data = tuple | Dataset | DataLoader | Mapping
# One split's inputs: a tensor (n, …), or a tuple of them for a model of several inputs
Inputs = torch.Tensor | tuple[torch.Tensor, ...]


@dataclass(frozen=True)
class Plane:
    """A plane in weight space: ``w(x, y) = origin + x·u + y·v``.

    ``origin``, ``u``, ``v``: parameter name → tensor (the model's shapes). ``kind``: how
    it was made (``random``, ``pca``, ``three_point``, ``hessian``). ``points``: plane
    coordinates ``(xs, ys)`` of models the plane passes through (PCA: the checkpoints;
    three-point: the three models), which :func:`evaluate` covers; ``metadata``: what the
    construction measured (explained variance, eigenvalues, …).
    """

    kind: str
    origin: dict[str, torch.Tensor]
    u: dict[str, torch.Tensor]
    v: dict[str, torch.Tensor]
    points: tuple[list[float], list[float]] | None = None
    metadata: dict = field(default_factory=dict)


def _parameter_names(model: nn.Module | None, weights: list[Weights]) -> list[str]:
    """The parameters' names: ``model``'s, else those of the first module among ``weights``."""
    for candidate in [model, *weights]:
        if isinstance(candidate, nn.Module):
            return [name for name, _ in candidate.named_parameters()]
    raise ValueError(
        "planes from state dicts need model=<the nn.Module> to tell its parameters from its "
        "buffers (running statistics, counters), which no plane moves"
    )


def _state(weights: Weights, names: list[str]) -> dict[str, torch.Tensor]:
    """``weights`` (a module or a state dict) as parameter name → detached float tensor."""
    source = dict(weights.named_parameters()) if isinstance(weights, nn.Module) else weights
    missing = [name for name in names if name not in source]
    if missing:
        raise ValueError(
            f"weights without parameters {missing[:3]}{' …' if len(missing) > 3 else ''}: "
            f"expected the parameters {names[:3]}… of the model"
        )
    # on the CPU, where the directions are drawn; evaluate() moves the plane to the model
    return {name: source[name].detach().float().cpu().clone() for name in names}


def _frozen(model: nn.Module | None) -> set[str]:
    if model is None:
        return set()
    return {name for name, p in model.named_parameters() if not p.requires_grad}


def random_plane(
    model: nn.Module,
    seed: int = 0,
    normalization: str = "filter",
    ignore_biasbn: bool = True,
    draw: int = 1,
) -> Plane:
    """Two Gaussian directions around ``model``'s weights, filter-normalized (Li et al.
    2018, §4: each filter of ``u`` and ``v`` has the norm of the model's filter), biases
    and BatchNorm parameters zeroed (``ignore_biasbn``), frozen parameters zeroed.

    ``normalization``: ``filter``, ``layer`` or ``none``; ``draw`` k: the k-th independent
    pair for ``seed`` (the study's direction draws)."""
    names = _parameter_names(model, [])
    origin = _state(model, names)
    u, v, metadata = plane_directions.random_directions(
        origin, seed, normalization, ignore_biasbn, draw
    )
    for name in _frozen(model):
        u[name], v[name] = torch.zeros_like(u[name]), torch.zeros_like(v[name])
    return Plane("random", origin, u, v, metadata=metadata)


def pca_plane(checkpoints: list[Weights], model: nn.Module | None = None) -> Plane:
    """The plane of the first two principal axes of a training trajectory, centred on its
    last checkpoint (Li et al. 2018, §7): ``checkpoints`` in training order, the first the
    initialization, at least four.

    Raises:
        ValueError: fewer than four checkpoints, or weights that did not move in two
            directions (:func:`losslandscape.planes.directions.pca_directions`).
    """
    names = _parameter_names(model, checkpoints)
    states = [_state(w, names) for w in checkpoints]
    layout = ParameterLayout(tuple(names), tuple(states[0][n].shape for n in names))
    flat = torch.stack([layout.flatten(state) for state in states])
    u, v, metadata = plane_directions.pca_directions(flat)
    xs, ys, residual = plane_directions.project_onto_plane(flat - flat[-1], u, v)
    points = (xs.tolist(), ys.tolist())
    metadata = {**metadata, "trajectory_residual": np.asarray(residual, float).tolist()}
    return Plane("pca", states[-1], layout.unflatten(u), layout.unflatten(v), points, metadata)


def three_point_plane(
    w1: Weights, w2: Weights, w3: Weights, model: nn.Module | None = None
) -> Plane:
    """The plane through three weight vectors (Garipov et al. 2018, §3; the study's
    formula (1)): origin ``w1``, ``u = w2 − w1``, ``v`` the part of ``w3 − w1``
    orthogonal to ``u``; the three models lie at ``(0, 0)``, ``(1, 0)`` and ``(a, 1)``.

    Raises:
        ValueError: the points coincide or are collinear.
    """
    names = _parameter_names(model, [w1, w2, w3])
    states = [_state(w, names) for w in (w1, w2, w3)]
    layout = ParameterLayout(tuple(names), tuple(states[0][n].shape for n in names))
    u, v, metadata = plane_directions.three_point_directions(*map(layout.flatten, states))
    points = (metadata["point_x"], metadata["point_y"])
    return Plane(
        "three_point", states[0], layout.unflatten(u), layout.unflatten(v), points, metadata
    )


def hessian_plane(
    model: nn.Module,
    data: Data,
    loss: "str | Callable" = "cross_entropy",
    subset_size: int = 500,
    seed: int = 0,
) -> Plane:
    """The plane of the loss Hessian's eigenvectors of the largest and the smallest (most
    negative) eigenvalue at ``model``'s weights (Lanczos; Li et al. 2018, §6), on a seeded
    subset of ``subset_size`` samples of the first split of ``data``; frozen parameters
    are not moved. ``metadata["eigenvalues"]``: the two eigenvalues (loss units per unit
    parameter²)."""
    from losslandscape.metrics.sharpness import HessianOperator, hessian_extreme_eigenvectors

    names = _parameter_names(model, [])
    inputs, targets = _training_split(_splits(data))
    keep = seeded_subset(len(targets), subset_size, seed, "hessian_subset")
    twin = _evaluation_model(model)
    device = _device_of(twin)
    inputs, targets = _moved(_take(inputs, keep), device), targets[keep].to(device)
    hvp = HessianOperator(twin, inputs, targets, as_loss(loss), trainable_only=True)
    top, bottom, largest, smallest = hessian_extreme_eigenvectors(hvp, seed=seed)
    trainable = [name for name, p in twin.named_parameters() if p.requires_grad]
    origin = _state(model, names)
    moved = ParameterLayout(tuple(trainable), tuple(origin[n].shape for n in trainable))
    u = {name: torch.zeros_like(t) for name, t in origin.items()} | moved.unflatten(top)
    v = {name: torch.zeros_like(t) for name, t in origin.items()} | moved.unflatten(bottom)
    metadata = {"eigenvalues": [largest, smallest], "subset_size": len(keep)}
    return Plane("hessian", origin, u, v, metadata=metadata)


def _training_split(splits: dict) -> tuple[Inputs, torch.Tensor]:
    """The split a Hessian or recomputed BatchNorm statistics come from: ``train`` if the
    data has one, else the first."""
    return splits.get("train", next(iter(splits.values())))


def _device_of(model: nn.Module) -> torch.device:
    """Where ``model``'s parameters are (the CPU for a model without any)."""
    return next((p.device for p in model.parameters()), torch.device("cpu"))


def _evaluation_model(model: nn.Module) -> nn.Module:
    """A copy of ``model`` in eval mode (the caller's module is never changed)."""
    import copy

    return copy.deepcopy(model).eval()


def _is_array(value) -> bool:
    return isinstance(value, torch.Tensor | np.ndarray)


def _take(inputs: Inputs, index) -> Inputs:
    """``inputs`` at ``index`` (a slice or index tensor), each input alike."""
    return tuple(t[index] for t in inputs) if isinstance(inputs, tuple) else inputs[index]


def _moved(inputs: Inputs, device: torch.device) -> Inputs:
    return tuple(t.to(device) for t in inputs) if isinstance(inputs, tuple) else inputs.to(device)


def _as_inputs(values) -> Inputs:
    """A tensor, or a tuple of tensors (several inputs) of one length; floats as float32."""
    if isinstance(values, tuple | list):
        tensors = tuple(torch.as_tensor(t) for t in values)
        return tuple(t.float() if t.is_floating_point() else t for t in tensors)
    tensor = torch.as_tensor(values)
    return tensor.float() if tensor.is_floating_point() else tensor


def _collated(batches: list) -> Inputs:
    """Batches of inputs (tensors, or lists of tensors for several inputs) joined."""
    if isinstance(batches[0], tuple | list):
        return tuple(
            torch.cat([torch.as_tensor(b[i]) for b in batches]) for i in range(len(batches[0]))
        )
    return torch.cat([torch.as_tensor(b) for b in batches])


def _tensors(data, what: str) -> tuple[Inputs, torch.Tensor]:
    """One split as ``(inputs, targets (n, …))``: inputs ``(n, …)`` float32, or a tuple of
    such tensors for a model called with several inputs (``model(*inputs)``)."""
    several = (
        isinstance(data, tuple | list)
        and len(data) == 2
        and isinstance(data[0], tuple | list)
        and len(data[0]) > 0
        and all(_is_array(t) for t in data[0])
        and _is_array(data[1])
    )
    if several or (
        isinstance(data, tuple | list) and len(data) == 2 and all(_is_array(t) for t in data)
    ):
        inputs, targets = _as_inputs(data[0]), torch.as_tensor(data[1])
    elif isinstance(data, DataLoader | Dataset):
        if isinstance(data, DataLoader):  # every sample once, in order, whatever its sampler
            data = DataLoader(
                data.dataset, batch_size=data.batch_size or 1, collate_fn=data.collate_fn
            )
        else:  # one batch of all: the default collation stacks tensors and numbers alike
            data = DataLoader(data, batch_size=max(1, len(data)))
        try:
            pairs = list(data)
        except (TypeError, RuntimeError) as error:
            raise ValueError(
                f"{what}: its samples cannot be collated into tensors ({error}); expected "
                f"(inputs, targets) pairs of tensors or numbers"
            ) from None
        if not pairs or not all(len(pair) == 2 for pair in pairs):
            raise ValueError(f"{what}: expected (inputs, targets) pairs; found {pairs[:1]}")
        inputs = _as_inputs(_collated([x for x, _ in pairs]))
        targets = torch.cat([torch.as_tensor(y) for _, y in pairs])
    else:
        raise ValueError(
            f"{what}: expected an (inputs, targets) pair of tensors, a torch Dataset or a "
            f"DataLoader; found {type(data).__name__}"
        )
    lengths = {len(t) for t in inputs} if isinstance(inputs, tuple) else {len(inputs)}
    if lengths != {len(targets)}:
        raise ValueError(
            f"{what}: inputs of {sorted(lengths)} samples but {len(targets)} targets; "
            "expected one target per sample of every input"
        )
    if not targets.is_floating_point():
        targets = targets.long()
    return inputs, targets


def _splits(data: Data) -> dict[str, tuple[Inputs, torch.Tensor]]:
    """Named splits (a single data set is ``train``)."""
    if isinstance(data, Mapping):
        if not data:
            raise ValueError("data: expected at least one named split; found an empty dict")
        return {str(name): _tensors(split, f"data split {name!r}") for name, split in data.items()}
    return {"train": _tensors(data, "data")}


def _axes(plane: Plane, resolution: int, extent: float, margin: float):
    """Grid axes by the study's rule for the plane's kind
    (:func:`losslandscape.stages.landscape_plane.grid_axes`): ``[-extent, extent]`` for
    random and Hessian planes; for PCA, symmetric about the model over the projected
    checkpoints plus ``margin``; for three points, their span plus ``margin`` of it."""
    from losslandscape.stages.landscape_plane import grid_axes

    xs, ys = (np.asarray(values, float) for values in (plane.points or ([0.0], [0.0])))
    return grid_axes(plane.kind, xs, ys, resolution, extent, margin, points=plane.points)


def evaluate(
    model: nn.Module,
    plane: Plane,
    data: Data,
    loss: "str | Callable" = "cross_entropy",
    resolution: int = 21,
    extent: float = 1.0,
    margin: float = 0.25,
    strategy: str = "auto",
    batch_size: int = 1000,
    batchnorm: str = "keep",
    batchnorm_samples: int = 1000,
    batchnorm_batch_size: int = 100,
    threads: int = 1,
    memory_budget_mb: float = 2048.0,
) -> xr.Dataset:
    """The mean loss, its standard error and (where the loss defines one) the accuracy of
    every split of ``data`` at ``resolution × resolution`` points of ``plane``.

    The window: ``[-extent, extent]`` on both axes, or, for a plane through given models
    (PCA, three-point), those models' coordinates plus ``margin`` of their span. BatchNorm
    statistics are the model's own (``keep``, Li et al.) or ``recompute``d at each point
    from ``batchnorm_samples`` samples of the first split in batches of
    ``batchnorm_batch_size`` (Garipov et al.). ``strategy``: the engine's
    (:mod:`losslandscape.engine.strategies`; ``auto`` measures and picks the fastest, the
    others are held equal to a plain loop by the tests).

    Returns:
        a Dataset on ``(y, x)`` with ``<split>_loss``, ``<split>_loss_sem`` and
        ``<split>_accuracy`` per split, each with ``long_name`` and ``units``, and attrs
        ``plane``, ``loss``, ``loss_units``, ``strategy``: the documented data model
        (docs/data-model.md) without the study's run attributes.

    Raises:
        ValueError: data in another form, a plane of other parameters than ``model``'s, an
            unknown loss or strategy.
    """
    chosen = as_loss(loss)
    twin = _evaluation_model(model)
    device = _device_of(twin)
    splits = {
        name: (_moved(inputs, device), targets.to(device))
        for name, (inputs, targets) in _splits(data).items()
    }
    layout = ParameterLayout.of(twin)
    for part in (plane.origin, plane.u, plane.v):
        wrong = [
            f"{name} {list(part[name].shape)} (model: {list(shape)})"
            for name, shape in zip(layout.names, layout.shapes, strict=True)
            if name in part and tuple(part[name].shape) != tuple(shape)
        ]
        missing = [name for name in layout.names if name not in part]
        if wrong or missing:
            raise ValueError(
                f"the plane does not fit the model: parameters missing {missing[:3]}, of "
                f"another shape {wrong[:3]}; make the plane from this model"
            )
    origin, u, v = (layout.flatten(part).to(device) for part in (plane.origin, plane.u, plane.v))
    xs, ys = _axes(plane, resolution, extent, margin)
    if any(isinstance(inputs, tuple) for inputs, _ in splits.values()):
        if batchnorm == "recompute":
            raise ValueError(
                "batchnorm='recompute' takes a model of one input tensor; found several "
                "inputs. Use batchnorm='keep'"
            )
        values = _several_inputs_grid(twin, layout, origin, u, v, xs, ys, splits, chosen,
                                      batch_size)  # fmt: skip
        return _with_marks(
            grid_dataset(xs, ys, values, chosen.name, chosen.units, plane.kind), plane
        )
    first = _training_split(splits)[0]
    keep = seeded_subset(len(first), batchnorm_samples, 0, "batchnorm_subset")
    options = EvaluationOptions(
        batch_size=batch_size,
        batchnorm=batchnorm,
        batchnorm_inputs=first[keep] if batchnorm == "recompute" else None,
        batchnorm_batch_size=batchnorm_batch_size,
        workers=threads,
        memory_budget_mb=memory_budget_mb,
        loss=chosen,
    )
    values = evaluate_grid(twin, origin, u, v, xs, ys, splits, strategy, options)
    return _with_marks(grid_dataset(xs, ys, values, chosen.name, chosen.units, plane.kind), plane)


def _with_marks(grid: xr.Dataset, plane: Plane) -> xr.Dataset:
    """``grid`` with the models its plane passes through, as the study's files hold them
    for the figures: a PCA plane's checkpoints as ``trajectory_x``, ``trajectory_y`` and
    ``trajectory_residual`` on ``epoch`` (their index in the given order), a three-point
    plane's models as the attributes ``three_point_x``, ``three_point_y`` and
    ``model_names`` (w1, w2, w3)."""
    if plane.kind == "pca":
        xs, ys = plane.points
        epoch = ("epoch", np.arange(len(xs)), cf.quantity("checkpoint, in the given order", "1"))
        marks = {
            "trajectory_x": (xs, "x of each checkpoint"),
            "trajectory_y": (ys, "y of each checkpoint"),
            "trajectory_residual": (
                plane.metadata["trajectory_residual"],
                "distance of each checkpoint off the plane, relative to its distance from "
                "the origin",
            ),
        }
        return grid.assign_coords(epoch=epoch).assign(
            {
                name: ("epoch", np.asarray(values, float), cf.quantity(meaning, "1"))
                for name, (values, meaning) in marks.items()
            }
        )
    if plane.kind == "three_point":
        xs, ys = plane.points
        return grid.assign_attrs(
            three_point_x=list(map(float, xs)),
            three_point_y=list(map(float, ys)),
            model_names=["w1", "w2", "w3"],
        )
    return grid


def _several_inputs_grid(
    model: nn.Module,
    layout: ParameterLayout,
    origin: torch.Tensor,
    u: torch.Tensor,
    v: torch.Tensor,
    xs: np.ndarray,
    ys: np.ndarray,
    splits: dict,
    loss: Loss,
    batch_size: int,
) -> dict[str, np.ndarray]:
    """The grid of a model called with several inputs, ``model(*inputs)``: the engine's
    strategies slice one input tensor, so this is the plain loop they are all checked
    against (each point's weights through ``torch.func.functional_call``, batches of
    ``batch_size``), reduced by the engine's :class:`~losslandscape.engine.loss.LossSums`
    so that its numbers mean what theirs do. Returns ``{split}_loss``, ``{split}_loss_sem``
    and, where the loss defines one, ``{split}_accuracy``, each ``(ny, nx)``."""
    from torch.func import functional_call

    buffers = dict(model.named_buffers())
    sums = {name: LossSums(len(xs) * len(ys), origin.device, loss) for name in splits}
    with torch.no_grad():
        for point, (y, x) in enumerate((y, x) for y in ys for x in xs):
            weights = layout.unflatten(origin + float(x) * u + float(y) * v)
            for name, (inputs, targets) in splits.items():
                for start in range(0, len(targets), batch_size):
                    batch = _take(inputs, slice(start, start + batch_size))
                    batch = batch if isinstance(batch, tuple) else (batch,)
                    outputs = functional_call(model, {**weights, **buffers}, batch)
                    sums[name].add(point, outputs, targets[start : start + batch_size])
    values = {}
    for name, (_, targets) in splits.items():
        for key, array in sums[name].results(name, len(targets)).items():
            values[key] = np.asarray(array).reshape(len(ys), len(xs))
    return values


def grid_dataset(
    xs: np.ndarray, ys: np.ndarray, values: dict, loss: str, units: str, plane: str
) -> xr.Dataset:
    """Evaluated grids ``values`` (name → ``(ny, nx)``) as a Dataset in the data model:
    coordinates ``x``, ``y``, each variable's ``long_name`` and CF ``units``."""
    data_vars = {}
    for name, array in values.items():
        split, _, quantity = name.partition("_")
        meaning = {
            "loss": (f"{split}-set mean {loss}", units),
            "loss_sem": (f"standard error of the {split}-set mean {loss}", units),
            "accuracy": (f"{split}-set accuracy", "1"),
        }[quantity]
        data_vars[name] = (("y", "x"), np.asarray(array, dtype=np.float64), cf.quantity(*meaning))
    coords = {
        "x": ("x", np.asarray(xs, float), cf.quantity("coordinate along direction u", "1")),
        "y": ("y", np.asarray(ys, float), cf.quantity("coordinate along direction v", "1")),
    }
    attrs = {"plane": plane, "loss": loss, "loss_units": units}
    return xr.Dataset(data_vars, coords, attrs)


def metrics(grid: xr.Dataset, variable: str | None = None, **options) -> xr.Dataset:
    """Minima, basin widths, smoothness and shape of ``grid[variable]`` (default: the first
    split's loss), in the loss's own units: :func:`losslandscape.metrics.landscape.
    landscape_metrics`, whose keyword ``options`` these are.

    Its defaults are heights for cross-entropy in nats (basin levels 0.01 … 1, a low-loss
    region 1 above the minimum): for a grid of another loss (its ``loss_units`` not nats)
    ``basin_levels`` (unless ``basin_level_mode="relative"``) and ``region_height`` must be
    given in its units (a softmax MSE never exceeds 1, so a region of height 1 is the whole
    window), as the workflow's start-up check asks.

    Raises:
        ValueError: no loss on (y, x); heights missing for a loss other than nats.
    """
    from losslandscape.metrics.landscape import landscape_metrics
    from losslandscape.plots.landscape import loss_variables

    if variable is None:
        found = loss_variables(grid)
        if not found:
            raise ValueError(
                f"metrics need a loss <split>_loss on (y, x); found {sorted(map(str, grid))}"
            )
        variable = found[0]
    units = str(grid.attrs.get("loss_units", "nats"))
    needed = ["region_height"]
    if options.get("basin_level_mode", "absolute") == "absolute":
        needed.insert(0, "basin_levels")
    missing = [key for key in needed if key not in options]
    if units != "nats" and missing:
        raise ValueError(
            f"metrics of a loss in {units}: expected {' and '.join(missing)} in its units "
            "(the defaults are heights in nats, for cross-entropy); found none given"
        )
    return landscape_metrics(grid, variable, **options)


def plot(grid: xr.Dataset):
    """The loss map of each split (a 1-D slice: curves) → a matplotlib Figure."""
    from losslandscape.plots.landscape import landscape_figure

    return landscape_figure(grid)


def plot_analysis(grid: xr.Dataset, measured: xr.Dataset | None = None):
    """The analysis figure (surface, gradient, basins, shape) of ``grid`` with its
    :func:`metrics` (computed if not given) → a matplotlib Figure."""
    from losslandscape.plots.analysis import analysis_figure

    return analysis_figure(grid, metrics(grid) if measured is None else measured)


def open_study(results: str | Path) -> xr.Dataset:
    """A finished study's numbers (``statistics/study.nc``) with ``plane``, ``activation``,
    ``seed`` (and ``level``, ``shape_class``, ``headline``) as dimensions, labels decoded:
    ``results`` is the study's folder (``results/<study>``) or the file itself.

    Raises:
        FileNotFoundError: naming the path looked at, when the study has not reached its
            statistics.
    """
    from losslandscape.io.datamodel import open_netcdf

    path = Path(results)
    if path.is_dir():
        path = path / "statistics" / "study.nc"
    if not path.exists():
        raise FileNotFoundError(
            f"{path}: no such file; expected results/<study>/statistics/study.nc, which "
            f"rule study_statistics writes (snakemake --cores N)"
        )
    return open_netcdf(path)
