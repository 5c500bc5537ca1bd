"""What the commands are made of: :class:`Command`, and the options that stand for config
keys, whose defaults, allowed names, types and help are the settings'
(:mod:`losslandscape.settings`), so the command line cannot drift from the config."""

import argparse
import types
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, Union, get_args, get_origin, get_type_hints

from losslandscape.planes.kinds import PlaneName
from losslandscape.settings import Landscape, Registry, default_of, key_path


@dataclass(frozen=True)
class Command:
    """A subcommand: its help line, what adds its options to its parser, what runs it on
    the parsed options (a dict of keyword arguments, ``stage`` left out), and ``finish``,
    what turns the parsed options into those arguments (None: they are)."""

    help: str
    add: Callable[[argparse.ArgumentParser], None]
    run: Callable[[dict], None]
    finish: Callable[[dict], dict] | None = None


def _optional(kind: type):
    """An argparse type: ``kind``, or None for ``null`` (a config key that may be null)."""

    def parse(text: str):
        return None if text.lower() in ("null", "none") else kind(text)

    parse.__name__ = kind.__name__  # argparse's error messages name the type
    return parse


def _argument_type(hint: Any):
    """The argparse type of a config key's scalar type hint (``int | None`` → int or null)."""
    if get_origin(hint) in (Union, types.UnionType):
        (inner,) = (k for k in get_args(hint) if k is not type(None))
        return _optional(_argument_type(inner))
    return hint


# How each bound of a key (losslandscape.settings.keys) is checked, and said when broken
_BOUNDS = {
    "minimum": (lambda value, bound: value >= bound, "at least"),
    "maximum": (lambda value, bound: value <= bound, "at most"),
    "exclusiveMinimum": (lambda value, bound: value > bound, "more than"),
    "exclusiveMaximum": (lambda value, bound: value < bound, "less than"),
}


def _bounded(parse: Callable, limits: dict, path: str):
    """An argparse type: ``parse``, then the config key's bounds (a usage error naming the
    key when one is broken, as the schema does for a config file)."""

    def checked(text: str):
        value = parse(text)
        if isinstance(value, int | float) and not isinstance(value, bool):
            for limit, bound in limits.items():
                holds, words = _BOUNDS.get(limit, (None, None))
                if holds is not None and not holds(value, bound):
                    raise argparse.ArgumentTypeError(
                        f"config {path} must be {words} {bound:g}; found {text}"
                    )
        return value

    checked.__name__ = getattr(parse, "__name__", "value")
    return checked


def key_type(kind: type, name: str, parse: Callable) -> Callable:
    """An argparse type for an option that stands for (an item of) key ``name`` of config
    section ``kind`` without taking its default (a value the command requires): ``parse``,
    then the key's bounds."""
    chosen = next(f for f in fields(kind) if f.name == name)
    return _bounded(parse, chosen.metadata["limits"], key_path(kind, name))


def config_option(
    p: argparse.ArgumentParser, flag: str, kind: type, name: str, **kwargs
) -> argparse.Action:
    """Option ``flag`` for key ``name`` of config section ``kind``: its default, allowed
    names, type and help are the settings' (:mod:`losslandscape.settings`), so the command
    line cannot drift from the config. ``kwargs`` add to or replace them (``nargs``…)."""
    chosen = next(f for f in fields(kind) if f.name == name)
    kwargs.setdefault("default", default_of(kind, name))
    choices = chosen.metadata["choices"]
    if choices is not None:
        kwargs.setdefault(
            "choices", choices.names() if isinstance(choices, Registry) else list(choices)
        )
    path = key_path(kind, name)
    if "action" not in kwargs and "nargs" not in kwargs:
        kwargs.setdefault("type", _argument_type(get_type_hints(kind)[name]))
    if "type" in kwargs and chosen.metadata["limits"]:
        kwargs["type"] = _bounded(kwargs["type"], chosen.metadata["limits"], path)
    text = chosen.metadata["meaning"].replace("`", "").replace("%", "%%")
    kwargs.setdefault("help", f"{text} (config {path}; default: %(default)s)")
    action = p.add_argument(flag, **kwargs)
    action.config_key = path  # for the test that the defaults are the config's
    return action


def add_landscape_settings(p: argparse.ArgumentParser) -> None:
    """The config's ``landscape`` keys as options (config/README.md documents them)."""
    for field in fields(Landscape):
        config_option(p, "--" + field.name.replace("_", "-"), Landscape, field.name)


def plane_name(text: str) -> str:
    """An argparse type: a valid plane name (losslandscape.planes.kinds), else a usage error."""
    try:
        PlaneName.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def activations_option(p: argparse.ArgumentParser) -> None:
    """``--activations``: the order (and colours) of a command across runs."""
    p.add_argument(
        "--activations",
        nargs="+",
        default=None,
        help="the activations in the order the figure shows them, which also fixes their "
        "colours (config activations; default: in the order the inputs first name them)",
    )


def activation_order(found: list[str], chosen: list[str] | None, what: str) -> list[str]:
    """``chosen`` (the user's order), which must name every activation ``found`` in the
    inputs; else the activations in the order the inputs name them first."""
    if chosen is None:
        return list(dict.fromkeys(found))
    missing = sorted(set(found) - set(chosen))
    if missing:
        raise ValueError(f"--activations {chosen}: {what} also hold {missing}; name them too")
    return list(chosen)
