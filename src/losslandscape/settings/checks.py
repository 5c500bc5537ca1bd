"""The config checks a JSON schema cannot state: keys that were renamed, and checks
across keys.

:func:`check_renamed_keys` runs before the schema validation, whose message for an old key
would only say that it was unexpected; :func:`check_config` after it (the schema fills in
the defaults). Both at the workflow's start (``workflow/rules/common.smk``) and in the
tests. This module imports
only the standard library: common.smk loads it by path, so that planning a run imports
neither torch nor an installed copy of the package.
"""

import csv
import importlib.util
import json
import platform
import re
import string
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
    dataset_summary: Callable[[dict], tuple] | None = None,
    has_batchnorm: Callable[[str], bool] | None = None,
    check_import_path: Callable[[str], object] | None = None,
) -> None:
    """Refuse a config whose keys disagree with each other, naming the key, what was
    expected and what was found.

    ``config`` is a schema-validated config with its defaults filled in; ``kinds`` maps
    plane-kind names to what each needs (default
    :data:`losslandscape.planes.kinds.PLANE_KINDS`; common.smk passes those of the
    plane-kind module it loads by path); ``dataset_summary`` gives the config's data set's
    input shape first (default :func:`losslandscape.settings.runtimes.dataset_summary`,
    likewise); ``has_batchnorm`` tells a model name with BatchNorm layers (default
    :func:`losslandscape.settings.runtimes.has_batchnorm`, likewise); ``check_import_path``
    checks a model's import path without importing it (default
    :func:`losslandscape.models.import_path.check_import_path`, likewise).

    Raises:
        ValueError: an activation without a learning rate; more than one learning-rate
            schedule; three_seed planes through seeds not in the study; lines between seeds
            with fewer than 2 seeds; PCA planes with fewer than 4 saved checkpoints;
            narrow, three-point or interpolation epochs that are not saved; more tiles than
            the smallest grid has points; a device the machine cannot give; a model that
            does not take the data set's inputs, or crop-and-flip of signals; BatchNorm
            statistics to recompute from fewer than 2 samples or in batches of 1; a data
            set file or model module that is missing; external checkpoints that are
            missing, or with planes that need a training trajectory.
    """
    if kinds is None:
        from losslandscape.planes.kinds import PLANE_KINDS as kinds
    if dataset_summary is None:
        from losslandscape.settings.runtimes import dataset_summary
    if has_batchnorm is None:
        from losslandscape.settings.runtimes import has_batchnorm
    if check_import_path is None:
        from losslandscape.models.import_path import check_import_path
    planes = [kinds[name] for name in config["directions"]["planes"]]
    external = config["training"].get("external_checkpoints")
    if external:
        _check_external_checkpoints(config, external, planes)
    else:  # the learning rates and schedules are unused
        _check_training(config["activations"], config["training"])
    _check_devices(config)
    _check_own_model(config["model"]["name"], check_import_path)
    _check_model_inputs(config, _dataset_shape(config["dataset"], dataset_summary))
    _check_seeds(config, planes)
    _check_heights_for_the_loss(config)
    if not external:
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


# a model's import path, package.module:factory (losslandscape.models.import_path)
_IMPORT_PATH = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$"
# the files a data set may be given as (losslandscape.data.files)
DATA_FILE_SUFFIXES = (".pt", ".npz", ".csv")


def _check_own_model(model: str, check_import_path: Callable[[str], object]) -> None:
    """A model given by import path whose module is nowhere, or defines no such factory,
    would fail in every job."""
    if re.match(_IMPORT_PATH, model):
        try:
            check_import_path(model)
        except ValueError as error:
            raise ValueError(f"config model.name: {model}: {error}") from None


def _dataset_shape(dataset: dict, dataset_summary: Callable[[dict], tuple]) -> tuple:
    """The data set's input shape; for ``name: file`` the file is checked first: given,
    of a known kind, and readable."""
    path = dataset.get("path")
    if dataset["name"] == "file":
        if not path:
            raise ValueError(
                "config dataset.name: file reads your data set from dataset.path; expected a "
                f"{', '.join(DATA_FILE_SUFFIXES)} file there, found dataset.path: null"
            )
        if Path(path).suffix.lower() not in DATA_FILE_SUFFIXES:
            raise ValueError(
                f"config dataset.path: expected a {', '.join(DATA_FILE_SUFFIXES)} file; "
                f"found {path}"
            )
        if not Path(path).is_file():
            raise ValueError(
                f"config dataset.path: expected your data set's file; found no file {path} "
                f"(relative to the working directory {Path.cwd()})"
            )
        try:
            return tuple(dataset_summary(dataset)[0])
        except (OSError, ValueError, csv.Error) as error:  # UnicodeDecodeError among them
            said = str(error) if str(path) in str(error) else f"{path}: {error}"
            raise ValueError(f"config dataset.path: {said}") from None
    if path:
        raise ValueError(
            f"config dataset.path is read only with dataset.name: file; found dataset.name: "
            f"{dataset['name']} with dataset.path: {path}. Set name: file, or path: null"
        )
    return tuple(dataset_summary(dataset)[0])


def external_checkpoint_paths(config: dict) -> dict[tuple[str, int], str]:
    """(activation, seed) → its state dict's path, from ``training.external_checkpoints``."""
    pattern = config["training"]["external_checkpoints"]
    return {
        (activation, int(seed)): pattern.format(activation=activation, seed=int(seed))
        for activation in config["activations"]
        for seed in config["seeds"]
    }


def _check_external_checkpoints(config: dict, pattern: str, planes: list) -> None:
    """Models trained elsewhere: one state dict per run, all there, and no plane that
    needs the training trajectory of saved epochs only training gives."""
    fields = {name for _, name, _, _ in string.Formatter().parse(pattern) if name is not None}
    if fields != {"activation", "seed"}:
        raise ValueError(
            "config training.external_checkpoints: expected a path pattern with the fields "
            f"{{activation}} and {{seed}} and no other; found {pattern!r} with fields "
            f"{sorted(fields)}"
        )
    missing = [
        path for path in external_checkpoint_paths(config).values() if not Path(path).is_file()
    ]
    if missing:
        shown = ", ".join(missing[:3]) + (
            f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        )
        raise ValueError(
            f"config training.external_checkpoints: expected a state dict per (activation, "
            f"seed) run at {pattern}; found none at {shown} (relative to {Path.cwd()})"
        )
    directions = config["directions"]
    needs = [
        kind.name
        for kind in planes
        if kind.min_checkpoints > 1
        or kind.chosen_epochs
        or (kind.around_checkpoints and directions.get(kind.name, {}).get("epochs"))
    ]
    if needs:
        raise ValueError(
            "config training.external_checkpoints: a run trained elsewhere has one saved "
            f"model, and directions.planes has {needs}, which need saved epochs of a training "
            "run (a trajectory, or checkpoints by epoch). Remove them, or set their "
            "directions.<kind>.epochs to [] where a kind maps the final model too"
        )


# The inputs each shipped model takes (losslandscape.models.registry.data_kwargs, which
# needs torch; tests/unit/settings/test_checks.py keeps the two in agreement)
SIGNAL_MODELS = ("mnist1d_cnn",)
ANY_INPUT_MODELS = ("mlp",)


def model_takes(model: str, shape: tuple[int, ...]) -> bool:
    """Whether shipped model ``model`` takes inputs of ``shape``: 1-D signals for the
    mnist1d CNN, square images ``(size, size)`` or ``(channels, size, size)`` for the image
    models, anything for the MLP."""
    if model in ANY_INPUT_MODELS or re.match(_IMPORT_PATH, model):  # the factory decides
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


# The heights of the defaults, set for cross-entropy in nats (settings/analysis.py,
# settings/training.py; tests/unit/settings hold them equal)
NATS_HEIGHTS = {
    "metrics.basin_levels": [0.01, 0.03, 0.1, 0.3, 1.0],
    "metrics.region_height": 1.0,
    "training.target_loss": 0.1,
}


def _check_heights_for_the_loss(config: dict) -> None:
    """A loss other than cross-entropy with a height left at its default for nats would
    measure basins and regions, or mark runs as trained, at heights of another scale (the
    softmax MSE of 10 classes is 0.09 at chance: below the default target of 0.1)."""
    loss = config["training"].get("loss", "cross_entropy")
    if loss == "cross_entropy":
        return
    kept = {}
    for key, nats in NATS_HEIGHTS.items():
        section, name = key.split(".")
        relative = section == "metrics" and config[section].get("basin_level_mode") == "relative"
        if config[section].get(name) == nats and not (relative and name == "basin_levels"):
            kept[key] = nats
    if kept:
        found = ", ".join(f"{key}: {_as_written(value)}" for key, value in kept.items())
        raise ValueError(
            f"config training.loss: {loss} is measured in its own units; found heights at "
            f"their defaults for cross-entropy in nats ({found}). Set each for the loss's "
            "values (config/examples/mse.yaml sets them for mse)"
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
