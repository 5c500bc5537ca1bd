"""Stage compute_directions: the two vectors spanning a plane."""

import logging

import torch

from losslandscape.checkpoints import load_checkpoints, model_from_checkpoints
from losslandscape.datasets import load_dataset
from losslandscape.directions import (
    FORMAT_VERSION as DIRECTIONS_FORMAT_VERSION,
)
from losslandscape.directions import (
    PLANES,
    pca_directions,
    random_directions,
    save_directions,
    three_point_directions,
)
from losslandscape.parameters import ParameterLayout
from losslandscape.sharpness import HessianOperator, hessian_extreme_eigenvectors, sharpness_subset

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


def run_compute_directions(
    checkpoints: str,
    out: str,
    plane: str,
    seed: int,
    normalization: str = "filter",
    ignore_biasbn: bool = True,
    three_point_epochs: tuple[int, int, int] = (0, 1, 2),
    interpolation_epochs: tuple[int, int] | None = None,
    dataset: str | None = None,
    hessian_subset_size: int = 500,
) -> None:
    """Directions and origin for one run and plane kind → ``out`` (.pt).

    ``pca``, ``random``, ``hessian`` planes and ``line`` slices are centred on the final
    model (a ``line`` runs along the ``random`` plane's u, v = 0); ``interpolation`` slices
    run from the checkpoint of ``interpolation_epochs[0]`` (x = 0) to that of
    ``interpolation_epochs[1]`` (x = 1; default: first and last saved epochs), v = 0;
    ``three_point`` planes pass through the checkpoints of ``three_point_epochs`` (saved
    epochs) with origin at the first. ``hessian`` planes need ``dataset``: their directions
    are the Hessian's extreme eigenvectors on a seeded subset of ``hessian_subset_size``
    training samples.
    """
    ckpt = load_checkpoints(checkpoints)
    model = model_from_checkpoints(ckpt)
    layout = ParameterLayout.of(model)
    final = {name: ckpt["state_dicts"][-1][name] for name in layout.names}
    origin = final
    if plane == "pca":
        trajectory = torch.stack([layout.flatten(state) for state in ckpt["state_dicts"]])
        flat_u, flat_v, metadata = pca_directions(trajectory)
        u, v = layout.unflatten(flat_u), layout.unflatten(flat_v)
        metadata["normalization"] = "unit"
    elif plane == "random":
        u, v, metadata = random_directions(final, seed, normalization, ignore_biasbn)
    elif plane == "line":
        u, _, metadata = random_directions(final, seed, normalization, ignore_biasbn)
        v = {name: torch.zeros_like(t) for name, t in u.items()}
        del metadata["cosine_uv"]
    elif plane == "interpolation":
        epochs = interpolation_epochs or (ckpt["epochs"][0], ckpt["epochs"][-1])
        start, end = _saved_states(ckpt, epochs, 2, "interpolation", checkpoints)
        origin = {name: start[name] for name in layout.names}
        u = {name: end[name] - start[name] for name in layout.names}
        v = {name: torch.zeros_like(t) for name, t in u.items()}
        metadata = {"normalization": "none", "epochs": [int(e) for e in epochs]}
    elif plane == "three_point":
        states = _saved_states(ckpt, three_point_epochs, 3, "three_point", checkpoints)
        points = [layout.flatten(state) for state in states]
        flat_u, flat_v, metadata = three_point_directions(*points)
        u, v = layout.unflatten(flat_u), layout.unflatten(flat_v)
        origin = {name: states[0][name] for name in layout.names}
        metadata |= {"normalization": "none", "epochs": [int(e) for e in three_point_epochs]}
    elif plane == "hessian":
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
    else:
        raise ValueError(f"plane {plane!r} is unknown; choose one of {', '.join(PLANES)}")
    save_directions(
        {
            "format_version": DIRECTIONS_FORMAT_VERSION,
            "plane": plane,
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
