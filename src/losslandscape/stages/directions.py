"""Stage compute_directions: the two vectors spanning a plane."""

import logging

import torch

from losslandscape.checkpoints import load_checkpoints, model_from_checkpoints
from losslandscape.directions import (
    FORMAT_VERSION as DIRECTIONS_FORMAT_VERSION,
)
from losslandscape.directions import (
    pca_directions,
    random_directions,
    save_directions,
)
from losslandscape.parameters import ParameterLayout

log = logging.getLogger(__name__)


def run_compute_directions(
    checkpoints: str,
    out: str,
    plane: str,
    seed: int,
    normalization: str = "filter",
    ignore_biasbn: bool = True,
) -> None:
    """Directions for one run and plane kind (``pca`` or ``random``) → ``out`` (.pt)."""
    ckpt = load_checkpoints(checkpoints)
    model = model_from_checkpoints(ckpt)
    layout = ParameterLayout.of(model)
    final = {name: ckpt["state_dicts"][-1][name] for name in layout.names}
    if plane == "pca":
        trajectory = torch.stack([layout.flatten(state) for state in ckpt["state_dicts"]])
        flat_u, flat_v, metadata = pca_directions(trajectory)
        u, v = layout.unflatten(flat_u), layout.unflatten(flat_v)
        metadata["normalization"] = "unit"
    elif plane == "random":
        u, v, metadata = random_directions(final, seed, normalization, ignore_biasbn)
    else:
        raise ValueError(f"plane {plane!r} is unknown; choose one of pca, random")
    save_directions(
        {
            "format_version": DIRECTIONS_FORMAT_VERSION,
            "plane": plane,
            "parameter_names": list(layout.names),
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
