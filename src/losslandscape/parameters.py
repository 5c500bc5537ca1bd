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
