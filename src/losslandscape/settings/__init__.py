"""The study's config, typed: every key's type, default, allowed values and meaning.

:mod:`~losslandscape.settings.keys` says how a key is written down, the sections hold the
keys (one frozen dataclass per config section) by stage —
:mod:`~losslandscape.settings.training`, :mod:`~losslandscape.settings.landscape`,
:mod:`~losslandscape.settings.analysis`, assembled in
:mod:`~losslandscape.settings.sections` —, :mod:`~losslandscape.settings.checks` holds the
checks across keys, and :mod:`~losslandscape.settings.generate` writes the JSON schema and
the key table of ``config/README.md`` from them::

    python -m losslandscape.settings          # rewrite both
    python -m losslandscape.settings --check  # exit 1 if either is out of date

Importing this package imports only the standard library (no torch).
"""

from losslandscape.settings.analysis import AcrossSeeds, Metrics, MinimaTolerance, Report, Sharpness
from losslandscape.settings.checks import check_config, check_renamed_keys, saved_epochs
from losslandscape.settings.keys import Registry, as_config, default_of, meaning
from losslandscape.settings.landscape import (
    Directions,
    Hessian,
    Interpolation,
    Landscape,
    Narrow,
    Random,
    ThreePoint,
    ThreeSeed,
)
from losslandscape.settings.sections import DEFAULTS, Settings, default_at, key_path
from losslandscape.settings.training import Dataset, Milestones, Model, Plateau, Training

__all__ = [
    "DEFAULTS",
    "AcrossSeeds",
    "Dataset",
    "Directions",
    "Hessian",
    "Interpolation",
    "Landscape",
    "Metrics",
    "MinimaTolerance",
    "Milestones",
    "Model",
    "Narrow",
    "Plateau",
    "Random",
    "Registry",
    "Report",
    "Settings",
    "Sharpness",
    "ThreePoint",
    "ThreeSeed",
    "Training",
    "as_config",
    "check_config",
    "check_renamed_keys",
    "default_at",
    "default_of",
    "key_path",
    "meaning",
    "saved_epochs",
]
