"""The config checks a JSON schema cannot state: keys that were renamed, and checks
across keys.

:func:`check_renamed_keys` runs before the schema validation, whose message for an old key
would only say that it was unexpected; :func:`check_config` after it (the schema fills in
the defaults). Both at the workflow's start (``workflow/rules/common.smk``) and in the
tests. This module imports
only the standard library: common.smk loads it by path, so that planning a run imports
neither torch nor an installed copy of the package.
"""

import importlib.util
import json
import platform
import re
from collections.abc import Callable, Mapping
from pathlib import Path

# the learning-rate schedules of section training, each with the value that turns it off
_SCHEDULE_OFF = {"plateau": "null", "milestones": "null", "cosine": "false"}
# the schedules on by default (settings/training.py; tests/unit/settings hold them equal)
_SCHEDULE_DEFAULTS = {"cosine": True}

# How the checks say a count of seeds
_COUNTS = {2: "two", 3: "three", 4: "four"}

# (section, old key) → what replaced it, and how to move an old value over
RENAMED = {
    ("sharpness", "hutchinson_samples"): (
        "sharpness.trace_products",
        "Hessian-vector products of the Hutch++ trace estimate (default 60, at least 6); "
        "n Hutchinson probes were n products, and Hutch++ is far more precise with as many",
    ),
}


def check_renamed_keys(config: Mapping) -> None:
    """Refuse a key of :data:`RENAMED`, naming its replacement (ValueError)."""
    for (section, old), (new, meaning) in RENAMED.items():
        if old in (config.get(section) or {}):
            raise ValueError(
                f"config key {section}.{old} was renamed: expected {new} ({meaning}), "
                f"found {section}.{old}: {config[section][old]!r}"
            )


def _as_written(value) -> str:
    """``value`` as a config file writes it (``true``, ``null``, ``[10, 20]``), not as
    Python prints it."""
    return json.dumps(value)


def saved_epochs(epochs: int, every: int) -> list[int]:
    """The epochs whose checkpoints training keeps: 0, every ``every``-th, and the last."""
    return sorted({0, epochs, *range(every, epochs + 1, every)})


def check_config(
    config: dict,
    kinds: Mapping | None = None,
    datasets: Mapping | None = None,
    has_batchnorm: Callable[[str], bool] | None = None,
) -> None:
    """Refuse a config whose keys disagree with each other, naming the key, what was
    expected and what was found.

    ``config`` is a schema-validated config with its defaults filled in; ``kinds`` maps
    plane-kind names to what each needs (default
    :data:`losslandscape.planes.kinds.PLANE_KINDS`; common.smk passes those of the
    plane-kind module it loads by path); ``datasets`` maps data-set names to their input
    shape first (default :data:`losslandscape.settings.runtimes.DATASETS`, likewise);
    ``has_batchnorm`` tells a model name with BatchNorm layers (default
    :func:`losslandscape.settings.runtimes.has_batchnorm`, likewise).

    Raises:
        ValueError: an activation without a learning rate; more than one learning-rate
            schedule; three_seed planes through seeds not in the study; lines between seeds
            with fewer than 2 seeds; PCA planes with fewer than 4 saved checkpoints;
            narrow, three-point or interpolation epochs that are not saved; more tiles than
            the smallest grid has points; a device the machine cannot give; a model that
            does not take the data set's inputs, or crop-and-flip of signals; BatchNorm
            statistics to recompute from fewer than 2 samples or in batches of 1.
    """
    if kinds is None:
        from losslandscape.planes.kinds import PLANE_KINDS as kinds
    if datasets is None:
        from losslandscape.settings.runtimes import DATASETS as datasets
    if has_batchnorm is None:
        from losslandscape.settings.runtimes import has_batchnorm
    planes = [kinds[name] for name in config["directions"]["planes"]]
    _check_training(config["activations"], config["training"])
    _check_devices(config)
    _check_model_inputs(config, datasets[config["dataset"]["name"]][0])
    _check_seeds(config, planes)
    _check_epochs(config["directions"], config["training"], planes)
    _check_tiles(config["landscape"], planes)
    if has_batchnorm(config["model"]["name"]):  # else recompute changes nothing
        _check_batchnorm(config["landscape"], config["training"])


def _check_training(activations: list[str], training: dict) -> None:
    missing_rates = [a for a in activations if a not in training["learning_rate"]]
    if missing_rates:
        raise ValueError(
            f"config training.learning_rate: no learning rate for activation(s) "
            f"{missing_rates}; found rates for {sorted(training['learning_rate'])}"
        )
    schedules = {key: training.get(key) for key in _SCHEDULE_OFF if training.get(key)}
    if len(schedules) > 1:
        found = " and ".join(f"{key}: {_as_written(value)}" for key, value in schedules.items())
        defaults = [key for key, value in schedules.items() if _SCHEDULE_DEFAULTS.get(key) == value]
        # the merged config cannot tell a default from the same value written in a file
        source = "".join(
            f"; {key}: {_as_written(schedules[key])} is also the default: "
            f"config/config.yaml, which Snakemake reads before a --configfile, sets it, and "
            f"the schema fills it in where a config leaves {key} out"
            for key in defaults
        )
        raise ValueError(
            f"config training: choose one learning-rate schedule; found {found}{source}. "
            "Keep one and turn each of the others off: "
            + ", ".join(f"`{k}: {v}`" for k, v in _SCHEDULE_OFF.items() if k in schedules)
        )


def _check_batchnorm(landscape: dict, training: dict) -> None:
    """Recomputed BatchNorm statistics need a variance: batches of at least 2 samples."""
    if landscape.get("batchnorm") != "recompute":
        return
    batch = landscape.get("batchnorm_batch_size")
    source = "landscape.batchnorm_batch_size"
    if batch is None:
        batch, source = training["batch_size"], "training.batch_size (batchnorm_batch_size: null)"
    found = {source: batch, "landscape.batchnorm_samples": landscape["batchnorm_samples"]}
    small = {key: value for key, value in found.items() if value < 2}
    if small:
        raise ValueError(
            "config landscape.batchnorm: recompute estimates each BatchNorm layer's variance "
            "in train-mode batches, which needs at least 2 samples; found "
            + ", ".join(f"{key}: {value}" for key, value in small.items())
            + ". Set landscape.batchnorm_batch_size and landscape.batchnorm_samples to 2 or more"
        )


def torch_cuda_build() -> str | None | bool:
    """The CUDA version the installed torch was built for (``torch/version.py``'s ``cuda``,
    read as text: planning must not import torch), ``None`` for a CPU-only build, ``False``
    where torch is not installed here (a planning environment without it)."""
    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        return False
    version = Path(next(iter(spec.submodule_search_locations))) / "version.py"
    found = re.search(r"^cuda\b[^=]*=\s*'([^']+)'", version.read_text(), re.MULTILINE)
    return found.group(1) if found else None


def device_missing(device: str) -> str | None:
    """Why this machine cannot give ``device`` (read without importing torch), or None:
    ``cuda`` needs a torch built with CUDA, ``xla`` the ``torch_xla`` package, ``mps`` macOS.
    Nothing is refused where torch is not installed (a planning environment without it)."""
    if torch_cuda_build() is False or device in ("auto", "cpu"):
        return None
    if device == "cuda" and torch_cuda_build() is None:
        return 'a torch built with CUDA; found a CPU-only build of torch (README: "GPUs")'
    if device == "xla" and importlib.util.find_spec("torch_xla") is None:
        return "the torch_xla package (TPUs); found none installed"
    if device == "mps" and platform.system() != "Darwin":
        return f"macOS (Apple's GPUs); found {platform.system()}"
    return None


def _check_devices(config: dict) -> None:
    """A device the machine cannot give would fail only in the first job that uses it."""
    problems = []
    for section in ("training", "landscape"):
        device = config.get(section, {}).get("device")
        why = device_missing(device) if device else None
        if why:
            problems.append(f"{section}.device: {device} needs {why}")
    if problems:
        raise ValueError(
            f"config {'; '.join(problems)}. Install what it needs, or set the device to auto or cpu"
        )


# The inputs each shipped model takes (losslandscape.models.registry.data_kwargs, which
# needs torch; tests/unit/settings/test_checks.py keeps the two in agreement)
SIGNAL_MODELS = ("mnist1d_cnn",)
ANY_INPUT_MODELS = ("mlp",)


def model_takes(model: str, shape: tuple[int, ...]) -> bool:
    """Whether shipped model ``model`` takes inputs of ``shape``: 1-D signals for the
    mnist1d CNN, square images ``(size, size)`` or ``(channels, size, size)`` for the image
    models, anything for the MLP."""
    if model in ANY_INPUT_MODELS:
        return True
    if model in SIGNAL_MODELS:
        return len(shape) == 1
    return len(shape) in (2, 3) and shape[-1] == shape[-2]


def _check_model_inputs(config: dict, shape: tuple[int, ...]) -> None:
    """A model that does not take the data set's inputs, or crop-and-flip of signals, would
    fail only in the first training job."""
    model, dataset = config["model"]["name"], config["dataset"]["name"]
    if not model_takes(model, tuple(shape)):
        kind = "1-D signals" if model in SIGNAL_MODELS else "square images"
        raise ValueError(
            f"config model.name: {model} takes {kind}; dataset.name {dataset} has inputs of "
            f"shape {list(shape)}. Choose mlp, or a model for {dataset}'s inputs (config/README.md)"
        )
    augmentation = config["training"].get("augmentation", "none")
    if augmentation != "none" and len(shape) == 1:
        raise ValueError(
            f"config training.augmentation: {augmentation} needs images; dataset.name "
            f"{dataset} has 1-D inputs of shape {list(shape)}. Set augmentation: none"
        )


def _check_seeds(config: dict, planes: list) -> None:
    seeds = [int(s) for s in config["seeds"]]
    for kind in (k for k in planes if k.seeds_needed):
        given = config["directions"].get(kind.name, {}).get("seeds")
        count = _COUNTS.get(kind.seeds_needed, str(kind.seeds_needed))
        if len(seeds) < kind.seeds_needed or not set(given or seeds) <= set(seeds):
            raise ValueError(
                f"config directions.planes has {kind.name}, which needs {count} of the "
                f"study's seeds {seeds}; found directions.{kind.name}.seeds {given} (null: "
                f"the first {count})"
            )
    if config["across_seeds"]["interpolations"] and len(seeds) < 2:
        raise ValueError(
            "config across_seeds.interpolations is true, which needs at least 2 seeds; "
            f"found seeds {seeds}"
        )


def _check_epochs(directions: dict, training: dict, planes: list) -> None:
    epochs = training["epochs"]
    saved = saved_epochs(epochs, training["checkpoint_every"])
    for kind in planes:
        section = directions.get(kind.name, {})
        if len(saved) < kind.min_checkpoints:
            raise ValueError(
                f"config directions.planes has {kind.name}, which needs at least "
                f"{kind.min_checkpoints} saved checkpoints; training.epochs {epochs} with "
                f"checkpoint_every {training['checkpoint_every']} saves {saved}"
            )
        if kind.around_checkpoints:
            around = section.get("epochs", [])
            early = [e for e in around if e not in saved or e >= epochs]
            if early:
                raise ValueError(
                    f"config directions.{kind.name}.epochs: expected saved epochs before the "
                    f"last ({saved[:-1]}); found {around}, of which {early} are not"
                )
        chosen = section.get("epochs") if kind.chosen_epochs else None
        unsaved = [e for e in chosen or () if e not in saved]
        if unsaved:
            raise ValueError(
                f"config directions.{kind.name}.epochs: expected {kind.chosen_epochs} saved "
                f"epochs (saved: {saved}); found {chosen}, of which {unsaved} are not saved"
            )


def _check_tiles(landscape: dict, planes: list) -> None:
    n_grid_points = landscape["resolution"] ** (1 if any(k.one_dimensional for k in planes) else 2)
    if landscape["tiles"] > n_grid_points:
        raise ValueError(
            f"config landscape.tiles: expected at most the {n_grid_points} points of the "
            f"smallest grid; found {landscape['tiles']}"
        )
