"""The activation functions the study compares, in one registry."""

from collections.abc import Callable
from functools import partial

from torch import nn

ACTIVATIONS: dict[str, Callable[..., nn.Module]] = {
    "sigmoid": nn.Sigmoid,
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "tanh": nn.Tanh,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
}
DEFAULT_LEAKY_RELU_SLOPE = 0.01

Activation = str | Callable[[], nn.Module]


def activation_factory(
    name: str, leaky_relu_slope: float = DEFAULT_LEAKY_RELU_SLOPE
) -> Callable[[], nn.Module]:
    """A zero-argument constructor of activation ``name`` (``leaky_relu`` with the given
    negative slope).

    Raises:
        ValueError: ``name`` is not in the registry; the message lists the known names.
    """
    try:
        factory = ACTIVATIONS[name]
    except KeyError:
        known = ", ".join(ACTIVATIONS)
        raise ValueError(f"activation {name!r} is unknown; choose one of {known}") from None
    if name == "leaky_relu":
        return partial(factory, negative_slope=leaky_relu_slope)
    return factory


def make_activation(activation: Activation) -> nn.Module:
    """A fresh activation module from a registry name or a factory of
    :func:`activation_factory`."""
    factory = activation if callable(activation) else activation_factory(activation)
    return factory()
