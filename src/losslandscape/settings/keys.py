"""How a config key is written down: :func:`key` (a field with its meaning, range and
allowed values), :func:`section` (a nested section), :class:`Registry` (allowed names that
a package registry keeps), and the helpers that read them back (:func:`default_of`,
:func:`meaning`, :func:`as_config`).

Each section of the config is a frozen dataclass made of these fields
(:mod:`losslandscape.settings.sections` assembles them). A :class:`Registry` is read only
when asked: the registries import torch, the settings import nothing beyond the standard
library.
"""

import copy
import importlib
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from typing import Any


@dataclass(frozen=True)
class Registry:
    """The names kept by a registry of the package, ``module.attribute`` (a dict or a
    tuple), after the names ``first`` that the config adds (``auto``); where ``pattern``
    is given, any name matching it too (a model's import path)."""

    module: str
    attribute: str
    first: tuple[str, ...] = ()
    pattern: str | None = None

    def names(self) -> list[str]:
        """The allowed names, in the registry's order (imports the registry's module)."""
        return [*self.first, *getattr(importlib.import_module(self.module), self.attribute)]


def key(
    default: Any,
    meaning: str,
    *,
    required: bool = False,
    choices: tuple[str, ...] | Registry | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive_minimum: float | None = None,
    exclusive_maximum: float | None = None,
    pattern: str | None = None,
    min_items: int | None = None,
    max_items: int | None = None,
    unique: bool = False,
) -> Any:
    """A config key: a dataclass field with default ``default``, described by ``meaning``.

    ``choices``, the bounds and ``pattern`` constrain the scalar values (a list's items, a
    mapping's values, the non-null value of an optional key); ``min_items``, ``max_items``
    and ``unique`` constrain a list. ``required`` keys must be written in the config.
    """
    limits = {
        "minimum": minimum,
        "maximum": maximum,
        "exclusiveMinimum": exclusive_minimum,
        "exclusiveMaximum": exclusive_maximum,
        "pattern": pattern,
    }
    metadata = {
        "meaning": meaning,
        "required": required,
        "choices": choices,
        "limits": {name: value for name, value in limits.items() if value is not None},
        "items": {
            name: value
            for name, value in (("minItems", min_items), ("maxItems", max_items))
            if value is not None
        }
        | ({"uniqueItems": True} if unique else {}),
    }
    if isinstance(default, list | dict):
        return field(default_factory=lambda: copy.deepcopy(default), metadata=metadata)
    return field(default=default, metadata=metadata)


def section(kind: type, *, required: bool = False) -> Any:
    """A nested section of the config, described by the docstring of its dataclass."""
    return field(default_factory=kind, metadata={"meaning": None, "required": required})


def meaning(kind: type, name: str) -> str:
    """The meaning (markdown) of key ``name`` of section ``kind``."""
    return next(f.metadata["meaning"] for f in fields(kind) if f.name == name)


def default_of(kind: type, name: str) -> Any:
    """The default of key ``name`` of section ``kind`` (a fresh copy)."""
    chosen = next(f for f in fields(kind) if f.name == name)
    return chosen.default_factory() if chosen.default is MISSING else chosen.default


def as_config(settings: Any) -> Any:
    """A settings object (or value) as plain config data: dicts, lists and scalars."""
    if is_dataclass(settings):
        return {f.name: as_config(getattr(settings, f.name)) for f in fields(settings)}
    if isinstance(settings, list | tuple):
        return [as_config(item) for item in settings]
    if isinstance(settings, dict):
        return {name: as_config(value) for name, value in settings.items()}
    return settings


# The devices of training.device and landscape.device
DEVICE_CHOICES = Registry("losslandscape.devices", "DEVICES")
AUTO_DEVICE = (
    "`auto` (cuda, then mps, then xla when torch_xla is installed, else cpu) or one of them "
    "by name; a named device that is missing is an error"
)
