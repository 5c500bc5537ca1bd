"""Stage compute_directions: the two vectors spanning a plane."""

import logging

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
from losslandscape.planes.names import PlaneName
from losslandscape.training.checkpoints import load_checkpoints, model_from_checkpoints

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
    """Keyword arguments of :func:`run_compute_directions` for plane name ``plane`` from its
    kind's section of the config's ``directions`` (the ``random`` section for narrow
    planes and line slices, with a narrow plane's ``extent``)."""
    kind = PlaneName.parse(plane).kind
    if kind in ("random", "narrow", "line"):
        kwargs = {
            "normalization": options["normalization"],
            "ignore_biasbn": options["ignore_biasbn"],
        }
        if kind == "narrow":
            kwargs["narrow_extent"] = options["extent"]
        return kwargs
    if kind == "three_point":
        return {"three_point_epochs": tuple(options["epochs"])}
    if kind == "interpolation":
        epochs = options["epochs"]
        return {"interpolation_epochs": None if epochs is None else tuple(epochs)}
    if kind == "hessian":
        return {"hessian_subset_size": options["subset_size"]}
    return {}


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

    ``plane`` is a plane name (:mod:`losslandscape.planes.names`). ``checkpoints`` is the
    run's checkpoint file, or a list starting with it; ``three_seed`` planes need the two
    other seeds' files after it.

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
    parsed = PlaneName.parse(plane)
    kind = parsed.kind
    ckpt = load_checkpoints(paths[0])
    model = model_from_checkpoints(ckpt)
    layout = ParameterLayout.of(model)
    centre = ckpt["state_dicts"][-1]
    if parsed.epoch is not None:
        (centre,) = _saved_states(ckpt, [parsed.epoch], 1, plane, paths[0])
    origin = {key: centre[key] for key in layout.names}
    if kind == "pca":
        trajectory = torch.stack([layout.flatten(state) for state in ckpt["state_dicts"]])
        flat_u, flat_v, metadata = pca_directions(trajectory)
        u, v = layout.unflatten(flat_u), layout.unflatten(flat_v)
        metadata["normalization"] = "unit"
    elif kind in ("random", "narrow", "line"):
        u, v, metadata = random_directions(origin, seed, normalization, ignore_biasbn, parsed.draw)
        if kind == "line":
            v = {key: torch.zeros_like(t) for key, t in u.items()}
            del metadata["cosine_uv"]
        if kind == "narrow":
            if not narrow_extent > 0:
                raise ValueError(
                    f"narrow extent: expected a positive number; found {narrow_extent}"
                )
            metadata["extent"] = float(narrow_extent)
        if parsed.epoch is not None:
            metadata["epoch"] = int(parsed.epoch)
    elif kind == "interpolation":
        epochs = interpolation_epochs or (ckpt["epochs"][0], ckpt["epochs"][-1])
        start, end = _saved_states(ckpt, epochs, 2, "interpolation", paths[0])
        metadata = {"normalization": "none", "epochs": [int(e) for e in epochs]}
        origin = {key: start[key] for key in layout.names}
        u = {key: end[key] - start[key] for key in layout.names}
        v = {key: torch.zeros_like(t) for key, t in u.items()}
    elif kind in ("three_point", "three_seed"):
        if kind == "three_point":
            states = _saved_states(ckpt, three_point_epochs, 3, "three_point", paths[0])
            extra = {"epochs": [int(e) for e in three_point_epochs]}
        else:
            states, seeds = _final_states(paths, layout, 3, plane)
            extra = {"seeds": seeds}
        points = [layout.flatten(state) for state in states]
        flat_u, flat_v, metadata = three_point_directions(*points)
        u, v = layout.unflatten(flat_u), layout.unflatten(flat_v)
        origin = {key: states[0][key] for key in layout.names}
        metadata |= {"normalization": "none", **extra}
    elif kind == "hessian":
        if dataset is None:
            raise ValueError(
                "hessian directions need the data set: pass dataset=<prepared .pt file>"
            )
        data = load_dataset(dataset)
        subset = sharpness_subset(len(data["y_train"]), hessian_subset_size, seed)
        hvp = HessianOperator(model, data["x_train"][subset], data["y_train"][subset])
        flat_u, flat_v, largest, smallest = hessian_extreme_eigenvectors(hvp, seed=seed)
        u, v = layout.unflatten(flat_u), layout.unflatten(flat_v)
        metadata = {
            "normalization": "unit",
            "eigenvalues": [largest, smallest],
            "subset_size": len(subset),
        }
    else:  # pragma: no cover - PlaneName.parse knows every kind
        raise AssertionError(kind)
    metadata["draw"] = parsed.draw
    save_directions(
        {
            "format_version": DIRECTIONS_FORMAT_VERSION,
            "plane": kind,
            "plane_name": str(parsed),
            "parameter_names": list(layout.names),
            "origin": {k: t.clone() for k, t in origin.items()},
            "u": {k: t.clone() for k, t in u.items()},
            "v": {k: t.clone() for k, t in v.items()},
            "metadata": metadata,
        },
        out,
    )
    log.info(
        "%s directions for %s seed %d: %s → %s",
        plane,
        ckpt["activation"],
        ckpt["seed"],
        metadata,
        out,
    )
