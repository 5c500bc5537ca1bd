"""Every key of a study's config: its type, default, allowed values or range, and meaning.

Each section of the config is a frozen dataclass and each key one of its fields, made by
:func:`~losslandscape.settings.keys.key` (or ``section`` for a nested section); the field's
metadata holds the meaning (markdown), the range and the allowed values. The sections live
by stage: :mod:`~losslandscape.settings.training` (dataset, model, training),
:mod:`~losslandscape.settings.landscape` (directions, landscape) and
:mod:`~losslandscape.settings.analysis` (across_seeds, metrics, sharpness, report); this
module assembles them into :class:`Settings`. The defaults are the embedded default study's
values (``config/config.yaml``). This is the one home of these facts: the JSON schema
(``workflow/schemas/config.schema.yaml``) and the key table of ``config/README.md`` are
written from it (:mod:`losslandscape.settings.generate`), the command line takes its
defaults from it, and tests check the config file and the package's own defaults against it.

Allowed names that a package registry keeps (activations, models, data sets, plane kinds…)
are given as a :class:`~losslandscape.settings.keys.Registry` (module and attribute), read
only when asked: the registries import torch, the settings import nothing beyond the
standard library.
"""

from dataclasses import dataclass, is_dataclass
from typing import Any, get_args, get_type_hints

from losslandscape.settings.analysis import AcrossSeeds, Metrics, Report, Sharpness
from losslandscape.settings.keys import Registry, as_config, default_of, key, section
from losslandscape.settings.landscape import Directions, Landscape
from losslandscape.settings.training import Dataset, Model, Training


@dataclass(frozen=True)
class Settings:
    """Configuration of a losslandscape study (config/README.md describes every key)."""

    study: str = key(
        "default",
        "name of the study: the folder under `results/` and `logs/`, so two studies with "
        "different names never overwrite each other",
        required=True,
        # a first letter or digit: ".", ".." and "-x" are no folder names to write into
        pattern="^[A-Za-z0-9][A-Za-z0-9_.-]*$",
    )
    dataset: Dataset = section(Dataset, required=True)
    model: Model = section(Model, required=True)
    activations: list[str] = key(
        ["sigmoid", "tanh", "relu", "leaky_relu"],
        "activation functions compared; each needs a learning rate "
        "(`training.learning_rate`). tanh and sigmoid both saturate, but only tanh is "
        "zero-centred: the pair separates the two properties",
        required=True,
        choices=Registry("losslandscape.models.activations", "ACTIVATIONS"),
        min_items=1,
        unique=True,
    )
    seeds: list[int] = key(
        [42, 250, 300, 400],
        "one training run per (activation, seed); the original study's seeds and a fourth "
        "(an exact permutation test of 3 runs against 3 cannot reach p < 0.05; 4 against 4 "
        "can)",
        required=True,
        minimum=0,
        min_items=1,
        unique=True,
    )
    training: Training = section(Training, required=True)
    directions: Directions = section(Directions, required=True)
    across_seeds: AcrossSeeds = section(AcrossSeeds)
    landscape: Landscape = section(Landscape, required=True)
    metrics: Metrics = section(Metrics, required=True)
    sharpness: Sharpness = section(Sharpness, required=True)
    report: Report = section(Report, required=True)


# The defaults, as one object: ``DEFAULTS.landscape.resolution``
DEFAULTS = Settings()


def key_path(kind: type, name: str, within: type = Settings, prefix: str = "") -> str | None:
    """The dotted config key of key ``name`` of section ``kind`` (``landscape.resolution``,
    ``training.plateau.factor``), or None where ``kind`` is not within ``within``."""
    if kind is within:
        return prefix + name
    for f_name, hint in get_type_hints(within).items():
        inner = [k for k in (hint, *get_args(hint)) if is_dataclass(k)]
        if inner:
            found = key_path(kind, name, inner[0], f"{prefix}{f_name}.")
            if found:
                return found
    return None


def default_at(path: str) -> Any:
    """The default of dotted config key ``path`` (``landscape.resolution``), as config data.
    Within a section that defaults to null (``training.plateau.patience``): the value the
    command line uses when that section is asked for."""
    kind, *parents = Settings, *path.split(".")[:-1]
    for part in parents:
        hint = get_type_hints(kind)[part]
        (kind,) = [k for k in (hint, *get_args(hint)) if is_dataclass(k)]
    return as_config(default_of(kind, path.rsplit(".", 1)[-1]))
