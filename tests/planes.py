"""A random filter-normalized plane around a model, as the engine's callers pass it."""

import torch
from torch import nn

from losslandscape.parameters import ParameterLayout
from losslandscape.planes.directions import random_directions


def random_plane(model: nn.Module, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """``(origin, u, v)``, each ``(n_params,)`` in ``ParameterLayout.of(model)`` order: the
    model's own weights and two random filter-normalized directions."""
    layout = ParameterLayout.of(model)
    weights = {n: p.detach().clone() for n, p in model.named_parameters()}
    u, v, _ = random_directions(weights, seed=seed)
    return layout.flatten(weights), layout.flatten(u), layout.flatten(v)
