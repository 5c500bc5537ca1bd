"""Stage compute_directions: the two vectors spanning a plane, computed by the direction
method its kind names (:mod:`losslandscape.planes.kinds`)."""

import logging
from collections.abc import Callable
from dataclasses import dataclass

import torch

from losslandscape.data.datasets import load_dataset
from losslandscape.metrics.sharpness import (
    HessianOperator,
    hessian_extreme_eigenvectors,
    sharpness_subset,
)
from losslandscape.parameters import ParameterLayout
from losslandscape.planes.directions import (
    FORMAT_VERSION as DIRECTIONS_FORMAT_VERSION,
)
from losslandscape.planes.directions import (
    pca_directions,
    random_directions,
    save_directions,
    three_point_directions,
)
from losslandscape.planes.kinds import PlaneKind, PlaneName, plane_kind
from losslandscape.stages.matching import check_data_fits_model
from losslandscape.training.checkpoints import (
    load_checkpoints,
    model_from_checkpoints,
    run_loss,
)

log = logging.getLogger(__name__)


def _saved_states(ckpt: dict, epochs, count: int, plane: str, source: str) -> list[dict]:
    """The state dicts of ``epochs`` (``count`` saved epochs of ``ckpt``), or a clear error."""
    missing = [e for e in epochs if e not in ckpt["epochs"]]
    if missing or len(epochs) != count:
        raise ValueError(
            f"{plane} epochs {list(epochs)}: expected {count} saved epochs of {source}; "
            f"saved epochs are {ckpt['epochs']}"
        )
    return [ckpt["state_dicts"][ckpt["epochs"].index(e)] for e in epochs]


def _final_states(
    paths: list[str], layout: ParameterLayout, count: int, plane: str
) -> tuple[list, list[int]]:
    """The final weights and seeds of the runs in ``paths`` (``count`` seeds of one
    activation)."""
    if len(paths) != count:
        raise ValueError(
            f"{plane}: expected the checkpoints of {count} seeds; found {len(paths)}: {paths}"
        )
    states, seeds = [], []
    for path in paths:
        ckpt = load_checkpoints(path)
        other = ParameterLayout.of(model_from_checkpoints(ckpt))
        # names and shapes: the same layers at another width are another architecture
        if (other.names, other.shapes) != (layout.names, layout.shapes):
            raise ValueError(f"{plane}: {path} holds another architecture than {paths[0]}")
        states.append({name: ckpt["state_dicts"][-1][name] for name in layout.names})
        seeds.append(int(ckpt["seed"]))
    return states, seeds


def direction_kwargs(plane: str, options: dict) -> dict:
    """Keyword arguments of :func:`run_compute_directions` for plane name ``plane`` from the
    config section of the kind whose directions it uses (``random`` for narrow planes and
    line slices, with a narrow plane's ``extent``): the kind's ``option_kwargs``
    (:mod:`losslandscape.planes.kinds`), lists as tuples."""
    kind = plane_kind(plane)
    return {
        keyword: tuple(value) if isinstance(value, list) else value
        for key, keyword in kind.option_kwargs
        for value in [options[key]]
    }


@dataclass(frozen=True)
class PlaneInputs:
    """What a direction method may use: the plane, the checkpoint files (the run's first,
    then other seeds'), the run's checkpoints and model, its parameter layout, the weights
    the plane is centred on (by parameter name), the run's seed and the keyword options of
    :func:`run_compute_directions`."""

    name: PlaneName
    paths: list[str]
    ckpt: dict
    model: torch.nn.Module
    layout: ParameterLayout
    centre: dict[str, torch.Tensor]
    seed: int
    options: dict

    @property
    def kind(self) -> PlaneKind:
        return self.name.plane_kind


# A direction method: PlaneInputs → origin, u, v (tensors by parameter name) and metadata
Directions = tuple[dict, dict, dict, dict]
# Direction methods by name (a kind's ``directions``, losslandscape.planes.kinds)
DIRECTION_METHODS: dict[str, Callable[[PlaneInputs], Directions]] = {}


def _direction_method(method: Callable[[PlaneInputs], Directions]):
    DIRECTION_METHODS[method.__name__] = method
    return method


def _zeros_like(vector: dict) -> dict:
    return {key: torch.zeros_like(t) for key, t in vector.items()}


@_direction_method
def trajectory_pca(p: PlaneInputs) -> Directions:
    """The first two principal axes of the run's saved checkpoints (:func:`pca_directions`),
    unit vectors, origin at the final model."""
    trajectory = torch.stack([p.layout.flatten(state) for state in p.ckpt["state_dicts"]])
    try:
        flat_u, flat_v, metadata = pca_directions(trajectory)
    except ValueError as error:
        raise ValueError(f"{p.paths[0]}: {error}") from None
    metadata["normalization"] = "unit"
    return p.centre, p.layout.unflatten(flat_u), p.layout.unflatten(flat_v), metadata


@_direction_method
def random_gaussian(p: PlaneInputs) -> Directions:
    """The draw's normalized Gaussian directions (:func:`random_directions`) at the centre;
    a 1-D kind keeps u alone (v = 0), a kind with its own extent records it."""
    normalization, ignore_biasbn = p.options["normalization"], p.options["ignore_biasbn"]
    u, v, metadata = random_directions(p.centre, p.seed, normalization, ignore_biasbn, p.name.draw)
    if p.kind.one_dimensional:
        v = _zeros_like(u)
        del metadata["cosine_uv"]
    if p.kind.own_extent:
        extent = p.options["narrow_extent"]
        if not extent > 0:
            raise ValueError(f"{p.kind.name} extent: expected a positive number; found {extent}")
        metadata["extent"] = float(extent)
    if p.name.epoch is not None:
        metadata["epoch"] = int(p.name.epoch)
    return p.centre, u, v, metadata


@_direction_method
def between_checkpoints(p: PlaneInputs) -> Directions:
    """The line from the checkpoint of ``interpolation_epochs[0]`` (x = 0) to that of
    ``interpolation_epochs[1]`` (x = 1; default: the first and last saved), v = 0."""
    epochs = p.options["interpolation_epochs"] or (p.ckpt["epochs"][0], p.ckpt["epochs"][-1])
    start, end = _saved_states(p.ckpt, epochs, 2, p.kind.name, p.paths[0])
    metadata = {"normalization": "none", "epochs": [int(e) for e in epochs]}
    origin = {key: start[key] for key in p.layout.names}
    u = {key: end[key] - start[key] for key in p.layout.names}
    if not any(bool(t.any()) for t in u.values()):
        raise ValueError(
            f"{p.paths[0]}: the {p.kind.name} slice needs two different models; the weights "
            f"of epochs {epochs[0]} and {epochs[1]} are identical (did training change the "
            "weights?)"
        )
    return origin, u, _zeros_like(u), metadata


def _through(p: PlaneInputs, states: list[dict], extra: dict) -> Directions:
    """The plane through three state dicts (:func:`three_point_directions`), origin at the
    first; ``extra`` (the epochs or seeds) joins the metadata and names the models in an
    error."""
    points = [p.layout.flatten(state) for state in states]
    try:
        flat_u, flat_v, metadata = three_point_directions(*points)
    except ValueError as error:
        chosen = ", ".join(f"{key} {value}" for key, value in extra.items())
        raise ValueError(f"{', '.join(p.paths)} ({chosen}): {error}") from None
    origin = {key: states[0][key] for key in p.layout.names}
    metadata |= {"normalization": "none", **extra}
    return origin, p.layout.unflatten(flat_u), p.layout.unflatten(flat_v), metadata


@_direction_method
def through_checkpoints(p: PlaneInputs) -> Directions:
    """The plane through the run's checkpoints of ``three_point_epochs``."""
    epochs = p.options["three_point_epochs"]
    states = _saved_states(p.ckpt, epochs, 3, p.kind.name, p.paths[0])
    return _through(p, states, {"epochs": [int(e) for e in epochs]})


@_direction_method
def through_seed_models(p: PlaneInputs) -> Directions:
    """The plane through the final models of three seeds (``paths``; Garipov et al. 2018)."""
    states, seeds = _final_states(p.paths, p.layout, 3, str(p.name))
    return _through(p, states, {"seeds": seeds})


@_direction_method
def hessian_eigenvectors(p: PlaneInputs) -> Directions:
    """Unit eigenvectors of the Hessian of the run's loss (:func:`run_loss`) at the model,
    of its largest and smallest eigenvalues, on a seeded subset of ``hessian_subset_size``
    training samples of ``dataset``."""
    if p.options["dataset"] is None:
        raise ValueError(
            f"{p.kind.name} directions need the data set: pass dataset=<prepared .pt file>"
        )
    data = load_dataset(p.options["dataset"])
    check_data_fits_model(p.model, data, p.paths[0], p.options["dataset"], p.ckpt["dataset"])
    subset = sharpness_subset(len(data["y_train"]), p.options["hessian_subset_size"], p.seed)
    hvp = HessianOperator(
        p.model, data["x_train"][subset], data["y_train"][subset], run_loss(p.ckpt)
    )
    flat_u, flat_v, largest, smallest = hessian_extreme_eigenvectors(hvp, seed=p.seed)
    metadata = {
        "normalization": "unit",
        "eigenvalues": [largest, smallest],
        "subset_size": len(subset),
    }
    return p.centre, p.layout.unflatten(flat_u), p.layout.unflatten(flat_v), metadata


def _plane_inputs(plane: str, paths: list[str], seed: int, options: dict) -> PlaneInputs:
    """The run of ``paths[0]`` loaded for plane name ``plane``, centred on its final model or
    on the checkpoint of the epoch the name gives."""
    parsed = PlaneName.parse(plane)
    ckpt = load_checkpoints(paths[0])
    model = model_from_checkpoints(ckpt)
    layout = ParameterLayout.of(model)
    centre = ckpt["state_dicts"][-1]
    if parsed.epoch is not None:
        (centre,) = _saved_states(ckpt, [parsed.epoch], 1, plane, paths[0])
    origin = {key: centre[key] for key in layout.names}
    return PlaneInputs(parsed, paths, ckpt, model, layout, origin, seed, options)


def _directions_file(p: PlaneInputs, origin: dict, u: dict, v: dict, metadata: dict) -> dict:
    """What a directions file holds (:func:`save_directions`): the plane's names, the
    parameter names, copies of origin, u and v (by parameter name) and the metadata."""
    return {
        "format_version": DIRECTIONS_FORMAT_VERSION,
        "plane": p.name.kind,
        "plane_name": str(p.name),
        "parameter_names": list(p.layout.names),
        "origin": {k: t.clone() for k, t in origin.items()},
        "u": {k: t.clone() for k, t in u.items()},
        "v": {k: t.clone() for k, t in v.items()},
        "metadata": metadata,
    }


def run_compute_directions(
    checkpoints: str | list[str],
    out: str,
    plane: str,
    seed: int,
    normalization: str = "filter",
    ignore_biasbn: bool = True,
    three_point_epochs: tuple[int, int, int] = (0, 1, 2),
    interpolation_epochs: tuple[int, int] | None = None,
    dataset: str | None = None,
    hessian_subset_size: int = 500,
    narrow_extent: float = 0.25,
) -> None:
    """Directions and origin for one run and plane → ``out`` (.pt).

    ``plane`` is a plane name (:mod:`losslandscape.planes.kinds`); its kind's direction
    method computes them (:data:`DIRECTION_METHODS`). ``checkpoints`` is the run's
    checkpoint file, or a list starting with it; ``three_seed`` planes need the two other
    seeds' files after it.

    ``pca``, ``random``, ``narrow``, ``hessian`` planes and ``line`` slices are centred on
    the final model (``narrow_draw<k>_epoch<e>``: on the checkpoint of epoch ``e``; a
    ``line`` runs along the random plane's u, v = 0); ``random``, ``narrow`` and ``line`` of
    one draw share their directions (normalized to the weights they are centred on);
    ``narrow`` planes record ``narrow_extent`` (their grid's half-width, in the directions'
    filter-normalized units). ``interpolation`` slices run from the checkpoint of
    ``interpolation_epochs[0]`` (x = 0) to that of ``interpolation_epochs[1]`` (x = 1;
    default: first and last saved epochs), v = 0. ``three_point`` planes pass
    through the checkpoints of ``three_point_epochs``, ``three_seed`` planes through the
    final models of the three seeds (Garipov et al. 2018, §3), origin at the first.
    ``hessian`` planes need ``dataset``: their directions are the Hessian's extreme
    eigenvectors on a seeded subset of ``hessian_subset_size`` training samples.
    """
    paths = [checkpoints] if isinstance(checkpoints, str) else list(checkpoints)
    options = {
        "normalization": normalization,
        "ignore_biasbn": ignore_biasbn,
        "three_point_epochs": three_point_epochs,
        "interpolation_epochs": interpolation_epochs,
        "dataset": dataset,
        "hessian_subset_size": hessian_subset_size,
        "narrow_extent": narrow_extent,
    }
    inputs = _plane_inputs(plane, paths, seed, options)
    origin, u, v, metadata = DIRECTION_METHODS[inputs.kind.directions](inputs)
    metadata["draw"] = inputs.name.draw
    save_directions(_directions_file(inputs, origin, u, v, metadata), out)
    activation, run_seed = inputs.ckpt["activation"], inputs.ckpt["seed"]
    log.info("%s directions for %s seed %d: %s → %s", plane, activation, run_seed, metadata, out)
