"""Moving between a model's named parameters and one flat vector.

Directions and grid points are handled as flat float32 vectors of length ``n_params``; a
:class:`ParameterLayout` remembers the names and shapes to turn them back into tensors.
Buffers (BatchNorm running statistics) are not parameters: they stay those of the model.
"""

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class ParameterLayout:
    """Names and shapes of a model's parameters, in ``named_parameters()`` order."""

    names: tuple[str, ...]
    shapes: tuple[torch.Size, ...]

    @classmethod
    def of(cls, model: nn.Module) -> "ParameterLayout":
        """The layout of ``model``'s parameters; ``flatten(dict(model.named_parameters()))``
        then gives its weights as one vector ``(n_params,)``, the origin of a plane."""
        named = list(model.named_parameters())
        return cls(tuple(n for n, _ in named), tuple(p.shape for _, p in named))

    @property
    def sizes(self) -> list[int]:
        return [shape.numel() for shape in self.shapes]

    @property
    def n_params(self) -> int:
        return sum(self.sizes)

    def flatten(self, tensors: dict[str, torch.Tensor]) -> torch.Tensor:
        """Concatenate ``tensors[name]`` in layout order → ``(n_params,)``."""
        missing = [name for name in self.names if name not in tensors]
        if missing:
            raise ValueError(f"parameters {missing} are missing; expected {list(self.names)}")
        return torch.cat([tensors[name].reshape(-1) for name in self.names])

    def unflatten(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        """Views of ``flat`` (``(n_params,)``) shaped like each parameter."""
        if flat.shape != (self.n_params,):
            raise ValueError(
                f"expected a flat vector of {self.n_params} values, found {tuple(flat.shape)}"
            )
        pieces = torch.split(flat, self.sizes)
        return {
            name: piece.view(shape)
            for name, piece, shape in zip(self.names, pieces, self.shapes, strict=True)
        }


def store_permuted(
    model: nn.Module, flat: torch.Tensor, orders: dict[str, tuple[int, ...]]
) -> torch.Tensor:
    """Store each parameter named in ``orders`` with its dimensions in memory in that order.

    ``model``'s parameters are views of ``flat`` ``(n_params,)`` in layout order (as the
    engine's model copy has them). ``flat`` is rearranged in place and every parameter
    re-pointed at its piece, with its own shape: a parameter ``(out, in, k)`` stored in
    order ``(0, 2, 1)`` becomes a strided view of memory laid out ``(out, k, in)``.
    Returns ``index`` ``(n_params,)``: the new ``flat`` is the old ``flat[index]``, and a
    vector in layout order (a point, a direction) is moved into it the same way."""
    layout = ParameterLayout.of(model)
    unknown = sorted(set(orders) - set(layout.names))
    if unknown:
        raise ValueError(f"parameters {unknown} are not in the model; it has {list(layout.names)}")
    index = torch.arange(layout.n_params, device=flat.device)
    pieces = dict(zip(layout.names, torch.split(index, layout.sizes), strict=True))
    for name, order in orders.items():
        piece = pieces[name]
        piece.copy_(piece.view(layout.shapes[layout.names.index(name)]).permute(order).flatten())
    flat.copy_(flat[index])
    values = dict(zip(layout.names, torch.split(flat, layout.sizes), strict=True))
    for name, parameter in model.named_parameters():
        order = orders.get(name, tuple(range(parameter.dim())))
        stored = values[name].view([parameter.shape[d] for d in order])
        parameter.data = stored.permute([order.index(d) for d in range(len(order))])
    return index
