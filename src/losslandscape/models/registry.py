"""Model architectures, each built with the activation chosen by the study.

Every model takes inputs shaped ``(batch, length)`` for 1-D signals (mnist1d) or
``(batch, features)`` and returns logits ``(batch, n_classes)``.
"""

import importlib
import sys
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from losslandscape.models.activations import (
    DEFAULT_LEAKY_RELU_SLOPE,
    Activation,
    activation_factory,
    make_activation,
)
from losslandscape.models.cifar import CifarResNet, ConvMLP, channels_first
from losslandscape.models.import_path import is_import_path, module_source


class Mnist1dCNN(nn.Module):
    """The CNN of the mnist1d paper (Greydanus 2020): 5,210 parameters for length 40.

    Conv1d 1→c (k5 s2 p1), c→c (k3 s2 p1) twice, Linear (c·5)→n_classes, the activation
    after each convolution. Input ``(batch, length)``; output ``(batch, n_classes)``.
    """

    def __init__(
        self,
        activation: Activation,
        input_length: int = 40,
        n_classes: int = 10,
        channels: int = 25,
    ):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv1d(1, channels, kernel_size=5, stride=2, padding=1),
            make_activation(activation),
            nn.Conv1d(channels, channels, kernel_size=3, stride=2, padding=1),
            make_activation(activation),
            nn.Conv1d(channels, channels, kernel_size=3, stride=2, padding=1),
            make_activation(activation),
        )
        with torch.no_grad():
            flat = self.features(torch.zeros(1, 1, input_length)).numel()
        self.classifier = nn.Linear(flat, n_classes)

    def forward(self, signals: torch.Tensor) -> torch.Tensor:
        hidden = self.features(signals.unsqueeze(1))
        return self.classifier(hidden.flatten(1))


class MLP(nn.Module):
    """A fully connected network: input → hidden widths (each with the activation) → logits.

    The mnist1d paper's MLP is ``hidden=(100, 100)`` on 40 inputs. Input ``(batch, n_inputs)``
    (extra dims are flattened); output ``(batch, n_classes)``.
    """

    def __init__(
        self,
        activation: Activation,
        n_inputs: int = 40,
        n_classes: int = 10,
        hidden: tuple[int, ...] | list[int] = (100, 100),
    ):
        super().__init__()
        layers: list[nn.Module] = []
        width = n_inputs
        for size in hidden:
            layers += [nn.Linear(width, size), make_activation(activation)]
            width = size
        layers.append(nn.Linear(width, n_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.net(inputs.flatten(1))


class SmallCNN2d(nn.Module):
    """A small 2-D CNN for images: three 3×3 conv blocks (conv, activation, 2×2 max-pool)
    with ``channels`` filters, then Linear → ``hidden`` → activation → Linear.

    188,810 parameters for 3×32×32 inputs and 10 classes (the default widths). Input
    ``(batch, channels, height, width)`` or ``(batch, height, width)`` for one channel;
    output ``(batch, n_classes)``.
    """

    def __init__(
        self,
        activation: Activation,
        in_channels: int = 3,
        image_size: int = 32,
        n_classes: int = 10,
        channels: tuple[int, ...] | list[int] = (32, 64, 64),
        hidden: int = 128,
    ):
        super().__init__()
        blocks: list[nn.Module] = []
        width, size = in_channels, image_size
        for out in channels:
            blocks += [nn.Conv2d(width, out, 3, padding=1), make_activation(activation)]
            if size >= 2:  # pool while the image is large enough (8×8 digits: two pools)
                blocks.append(nn.MaxPool2d(2))
                size //= 2
            width = out
        self.features = nn.Sequential(*blocks)
        self.classifier = nn.Sequential(
            nn.Linear(width * size * size, hidden),
            make_activation(activation),
            nn.Linear(hidden, n_classes),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(channels_first(images)).flatten(1))


def _resnet(depth: int, skip: bool) -> Callable[..., nn.Module]:
    def build(activation: Activation, **kwargs) -> nn.Module:
        return CifarResNet(activation, depth=depth, skip=skip, **kwargs)

    return build


MODELS: dict[str, Callable[..., nn.Module]] = {
    "mnist1d_cnn": Mnist1dCNN,
    "mlp": MLP,
    "small_cnn2d": SmallCNN2d,
    "resnet20": _resnet(20, skip=True),
    "resnet20_noshort": _resnet(20, skip=False),
    "resnet56": _resnet(56, skip=True),
    "resnet56_noshort": _resnet(56, skip=False),
    "convmlp_s": ConvMLP,
}
IMAGE_MODELS = ("small_cnn2d", "resnet20", "resnet20_noshort", "resnet56", "resnet56_noshort")


def imported_factory(name: str) -> Callable[..., nn.Module]:
    """The factory of model ``name`` = ``package.module:factory``
    (:mod:`losslandscape.models.import_path` documents its signature), imported with the
    working directory on ``sys.path`` (where a study's own modules lie).

    Raises:
        ValueError: the module is found nowhere, fails to import, or has no callable
            ``factory``; the message names the model and what was found.
    """
    module_name, factory_name = name.split(":")
    root, path = module_source(module_name)
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # the user's code: any error it raises on import
        raise ValueError(
            f"model.name {name!r}: importing {module_name} from {path} failed: "
            f"{type(error).__name__}: {error}"
        ) from error
    imported = Path(getattr(module, "__file__", None) or "").resolve()
    if imported != path.resolve():  # another module of that name came first on sys.path
        raise ValueError(
            f"model.name {name!r}: expected {module_name} from {path}; importing it gave "
            f"{imported} (imported before, or first on sys.path). Rename your package"
        )
    factory = getattr(module, factory_name, None)
    if not callable(factory):
        found = "nothing" if factory is None else f"a {type(factory).__name__}"
        raise ValueError(
            f"model.name {name!r}: expected a callable {factory_name} in {path}; found {found}"
        )
    return factory


SIGNATURE = "factory(activation=…, input_shape=…, n_classes=…, **model.kwargs)"


def _own_model(name: str, make: Callable[[], nn.Module], kwargs: dict) -> nn.Module:
    """The model of import path ``name``'s factory, called by keyword (:data:`SIGNATURE`),
    checked as the study needs it: an ``nn.Module`` that calls the activation it is given
    (else every activation would train the same network) and maps a batch of inputs to
    ``n_classes`` logits."""
    calls = []

    def activation() -> nn.Module:
        calls.append(1)
        return make()

    if "input_shape" in kwargs:
        kwargs["input_shape"] = tuple(kwargs["input_shape"])
    try:
        model = imported_factory(name)(activation=activation, **kwargs)
    except ValueError:
        raise
    except Exception as error:  # the user's code: any error it raises
        raise ValueError(
            f"model.name {name!r}: calling the factory as {SIGNATURE} with "
            f"{sorted(kwargs)} failed: {type(error).__name__}: {error}"
        ) from error
    if not isinstance(model, nn.Module):
        raise ValueError(
            f"model.name {name!r}: expected the factory to return a torch nn.Module; "
            f"found {type(model).__name__}"
        )
    if not calls:
        raise ValueError(
            f"model.name {name!r}: the factory never called activation(), so every "
            "activation of the study would train the same network; build each activation "
            "of the architecture with activation()"
        )
    if "input_shape" in kwargs and "n_classes" in kwargs:
        _check_logits(name, model, kwargs["input_shape"], kwargs["n_classes"])
    return model


def _check_logits(name: str, model: nn.Module, input_shape: tuple, n_classes: int) -> None:
    """Refuse a model whose outputs for a batch of 2 zero inputs are not (2, n_classes)."""
    was_training = model.training
    try:
        with torch.no_grad():
            found = tuple(model.eval()(torch.zeros(2, *input_shape)).shape)
    except Exception as error:  # the user's forward pass
        raise ValueError(
            f"model.name {name!r}: the model's forward pass on a batch of inputs "
            f"(2, *{list(input_shape)}) failed: {type(error).__name__}: {error}"
        ) from error
    finally:
        model.train(was_training)
    if found != (2, n_classes):
        raise ValueError(
            f"model.name {name!r}: expected logits of shape (batch, {n_classes}) for the "
            f"data set's {n_classes} classes; found {list(found)} for a batch of 2"
        )


def build_model(
    name: str,
    activation: str,
    leaky_relu_slope: float = DEFAULT_LEAKY_RELU_SLOPE,
    **kwargs,
) -> nn.Module:
    """Build model ``name`` with ``activation`` at every place the architecture has one
    (``leaky_relu`` with ``leaky_relu_slope``). ``name`` is a shipped model
    (:data:`MODELS`) or an import path ``package.module:factory``
    (:func:`imported_factory`; ``kwargs`` then hold ``input_shape`` and ``n_classes``,
    as :func:`data_kwargs` gives them).

    Raises:
        ValueError: unknown model name or activation (the message lists the known ones);
            a factory that cannot be imported or does not return an ``nn.Module``.
    """
    make = activation_factory(activation, leaky_relu_slope)
    if is_import_path(name):
        return _own_model(name, make, kwargs)
    try:
        factory = MODELS[name]
    except KeyError:
        known = ", ".join(MODELS)
        raise ValueError(
            f"model {name!r} is unknown; choose one of {known}, or an import path "
            "package.module:factory"
        ) from None
    return factory(activation=make, **kwargs)


def data_kwargs(name: str, input_shape: list[int], n_classes: int) -> dict:
    """The constructor arguments of model ``name`` that follow from the data set's shapes
    (for an import path: ``input_shape`` and ``n_classes``)."""
    if is_import_path(name):
        return {"input_shape": [int(d) for d in input_shape], "n_classes": n_classes}
    if name == "mnist1d_cnn":
        if len(input_shape) != 1:
            raise ValueError(
                f"model 'mnist1d_cnn' takes 1-D signals; the data set's inputs have shape "
                f"{list(input_shape)}; choose model 'mlp' for this data set"
            )
        return {"input_length": int(input_shape[0]), "n_classes": n_classes}
    if name == "mlp":
        return {"n_inputs": int(torch.Size(input_shape).numel()), "n_classes": n_classes}
    if name in IMAGE_MODELS or name == "convmlp_s":
        if len(input_shape) not in (2, 3) or input_shape[-1] != input_shape[-2]:
            raise ValueError(
                f"model {name!r} takes square images (channels, size, size) or (size, size); "
                f"the data set's inputs have shape {list(input_shape)}"
            )
        channels = int(input_shape[0]) if len(input_shape) == 3 else 1
        if name == "small_cnn2d":
            return {
                "in_channels": channels,
                "image_size": int(input_shape[-1]),
                "n_classes": n_classes,
            }
        return {"in_channels": channels, "n_classes": n_classes}
    raise ValueError(
        f"model {name!r} is unknown; choose one of {', '.join(MODELS)}, or an import path "
        "package.module:factory"
    )
