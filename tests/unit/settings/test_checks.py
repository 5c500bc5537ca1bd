"""The config is validated before any job starts; each error names the key, what was
expected and what was found.

In-process: the checks Snakemake runs at start-up (workflow/rules/common.smk), called
directly on each bad config: the JSON schema (``snakemake.utils.validate``, which also fills
in the defaults), with :func:`losslandscape.settings.check_renamed_keys` before it and
:func:`losslandscape.settings.check_config` after it. That ``snakemake -n``
runs them before any job is tested end to end in tests/workflow/test_config_dry_run.py.
"""

import re
from pathlib import Path

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from losslandscape.settings import check_config, check_renamed_keys

REPO = Path(__file__).resolve().parents[3]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"


def default_config() -> dict:
    return yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def check(config: dict) -> str | None:
    """The start-up checks of workflow/rules/common.smk on ``config``: the error message
    that refuses it, or None if it passes."""
    try:
        check_renamed_keys(config)
        validate(config, str(SCHEMA))
        check_config(config)
    except (WorkflowError, ValueError) as error:
        return str(error)
    return None


def test_the_default_config_passes_the_start_up_checks():
    assert check(default_config()) is None


def _set(*path_and_value):
    *path, value = path_and_value

    def edit(config):
        node = config
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return edit


def _batchnorm_model(config):
    """A model with BatchNorm (ResNet-20) on a data set it takes (digits' 8×8 images)."""
    config["model"]["name"], config["dataset"]["name"] = "resnet20", "digits"


def _drop(*path):
    def edit(config):
        node = config
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return edit


def _key(*path):
    """How the schema validator names a key: On instance['a']['b']."""
    return "".join(f"[{key!r}]" for key in path)


# (edit, fragments that must all appear in the error: the key, what was expected, what
# was found). Schema errors read "<found> is not ... <expected>" and "On instance[<key>]".
BAD_CONFIGS = {
    "resolution-too-small": (
        _set("landscape", "resolution", 1),
        [_key("landscape", "resolution"), "1 is less than the minimum of 3"],
    ),
    "resolution-a-string": (
        _set("landscape", "resolution", "41"),
        [_key("landscape", "resolution"), "'41' is not of type 'integer'"],
    ),
    "study-name-with-space": (
        _set("study", "my study"),
        [_key("study"), "'my study' does not match"],
    ),
    **{
        f"study-name-{name}": (_set("study", name), [_key("study"), f"'{name}' does not match"])
        for name in ("..", ".", ".hidden", "-rf", "a/b")
    },
    "title-on-two-lines": (
        _set("report", "title", "first\nsecond"),
        [_key("report", "title"), "does not match"],
    ),
    "blank-title": (_set("report", "title", "  "), [_key("report", "title"), "does not match"]),
    "unknown-dataset": (
        _set("dataset", "name", "imagenet"),
        [_key("dataset", "name"), "'imagenet' is not one of"],
    ),
    # the message goes on with the schema: the shipped names and the import path's pattern
    "unknown-model": (
        _set("model", "name", "vgg"),
        [_key("model", "name"), "'vgg' is not valid under any", "'mnist1d_cnn'", "'pattern'"],
    ),
    "no-activations": (_set("activations", []), [_key("activations"), "[]", "non-empty"]),
    "repeated-activation": (
        _set("activations", ["relu", "relu"]),
        [_key("activations"), "non-unique elements"],
    ),
    "unknown-activation": (
        _set("activations", ["relu6"]),
        [_key("activations", 0), "'relu6' is not one of"],
    ),
    "repeated-seed": (_set("seeds", [42, 42]), [_key("seeds"), "non-unique elements"]),
    "negative-seed": (_set("seeds", [-1]), [_key("seeds", 0), "-1 is less than the minimum"]),
    "one-epoch": (
        _set("training", "epochs", 1),
        [_key("training", "epochs"), "1 is less than the minimum of 2"],
    ),
    "zero-batch": (
        _set("training", "batch_size", 0),
        [_key("training", "batch_size"), "0 is less than the minimum of 1"],
    ),
    "recompute-in-batches-of-one": (
        lambda config: (
            _batchnorm_model(config),
            config["landscape"].update(batchnorm="recompute"),
            config["training"].update(batch_size=1),
        ),
        [
            "config landscape.batchnorm: recompute",
            "needs at least 2 samples; found training.batch_size (batchnorm_batch_size: null): 1",
            "Set landscape.batchnorm_batch_size",
        ],
    ),
    "recompute-from-one-sample": (
        lambda config: (
            _batchnorm_model(config),
            config["landscape"].update(batchnorm="recompute", batchnorm_samples=1),
        ),
        ["found landscape.batchnorm_samples: 1"],
    ),
    "unknown-optimizer": (
        _set("training", "optimizer", "rmsprop"),
        [_key("training", "optimizer"), "'rmsprop' is not one of ['adam', 'sgd']"],
    ),
    "negative-learning-rate": (
        _set("training", "learning_rate", "relu", -0.1),
        [_key("training", "learning_rate", "relu"), "-0.1 is less than or equal to the minimum"],
    ),
    "activation-without-learning-rate": (
        _drop("training", "learning_rate", "sigmoid"),
        ["training.learning_rate", "no learning rate for activation(s) ['sigmoid']", "found"],
    ),
    "plateau-factor-above-one": (
        _set("training", "plateau", {"factor": 1.5, "patience": 15}),
        [_key("training", "plateau"), "is not valid under any of the given schemas"],
    ),
    "cosine-and-milestones": (
        _set("training", "milestones", {"epochs": [10], "factor": 0.1}),
        [
            "config training: choose one learning-rate schedule",
            'milestones: {"epochs": [10], "factor": 0.1} and cosine: true',
            "cosine: true is also the default: config/config.yaml, which Snakemake reads "
            "before a --configfile, sets it, and the schema fills it in where a config leaves "
            "cosine out",
            "Keep one and turn each of the others off: `milestones: null`, `cosine: false`",
        ],
    ),
    "plateau-and-milestones": (
        lambda config: config["training"].update(
            cosine=False,
            plateau={"factor": 0.1, "patience": 15},
            milestones={"epochs": [10], "factor": 0.1},
        ),
        ['found plateau: {"factor": 0.1, "patience": 15} and milestones', "`plateau: null`"],
    ),
    "negative-target-loss": (
        _set("training", "target_loss", -0.1),
        [_key("training", "target_loss"), "is not valid under any of the given schemas"],
    ),
    "zero-direction-draws": (
        _set("directions", "draws", 0),
        [_key("directions", "draws"), "0 is less than the minimum of 1"],
    ),
    "narrow-epoch-not-saved": (
        _set("directions", "narrow", {"extent": 0.25, "epochs": [41]}),
        ["directions.narrow.epochs", "expected saved epochs before the last", "[41]"],
    ),
    "three-seed-seeds-not-in-study": (
        _set("directions", "three_seed", {"seeds": [42, 250, 7]}),
        ["directions.planes has three_seed", "[42, 250, 300, 400]", "[42, 250, 7]"],
    ),
    "unknown-augmentation": (
        _set("training", "augmentation", "mixup"),
        [_key("training", "augmentation"), "'mixup' is not one of"],
    ),
    "unknown-training-device": (
        _set("training", "device", "tpu"),
        [_key("training", "device"), "'tpu' is not one of"],
    ),
    "zero-checkpoint-interval": (
        _set("training", "checkpoint_every", 0),
        [_key("training", "checkpoint_every"), "0 is less than the minimum of 1"],
    ),
    "too-few-checkpoints-for-pca": (
        _set("training", "checkpoint_every", 50),
        ["directions.planes has pca", "at least 4 saved checkpoints", "saves [0, 40]"],
    ),
    "unknown-plane": (
        _set("directions", "planes", ["pca", "spiral"]),
        [_key("directions", "planes", 1), "'spiral' is not one of"],
    ),
    "unknown-normalization": (
        _set("directions", "random", "normalization", "unit"),
        [_key("directions", "random", "normalization"), "'unit' is not one of"],
    ),
    "two-three-point-epochs": (
        _set("directions", "three_point", "epochs", [0, 20]),
        [_key("directions", "three_point", "epochs"), "[0, 20] is too short"],
    ),
    "unsaved-three-point-epoch": (
        lambda c: (
            c["directions"]["planes"].append("three_point"),
            c["directions"]["three_point"].update(epochs=[0, 20, 41]),
        ),
        ["directions.three_point.epochs", "expected 3 saved epochs", "[41] are not saved"],
    ),
    "zero-tiles": (
        _set("landscape", "tiles", 0),
        [_key("landscape", "tiles"), "0 is less than the minimum of 1"],
    ),
    "more-tiles-than-points": (
        _set("landscape", "tiles", 5000),
        ["landscape.tiles", "at most the 961 points", "found 5000"],
    ),
    "unknown-strategy": (
        _set("landscape", "strategy", "fastest"),
        [_key("landscape", "strategy"), "'fastest' is not one of"],
    ),
    "zero-memory-budget": (
        _set("landscape", "memory_budget_mb", 0),
        [_key("landscape", "memory_budget_mb"), "0 is less than or equal to the minimum of 0"],
    ),
    "unknown-metric-variable": (
        _set("metrics", "variable", "val_loss"),
        [_key("metrics", "variable"), "'val_loss' is not one of"],
    ),
    "no-basin-levels": (
        _set("metrics", "basin_levels", []),
        [_key("metrics", "basin_levels"), "[]", "non-empty"],
    ),
    "renamed-hutchinson-samples": (
        _set("sharpness", "hutchinson_samples", 20),
        ["sharpness.hutchinson_samples was renamed", "expected sharpness.trace_products", "20"],
    ),
    "too-few-trace-products": (
        _set("sharpness", "trace_products", 5),
        [_key("sharpness", "trace_products"), "5 is less than the minimum of 6"],
    ),
    "unknown-top-level-key": (
        _set("colour", "blue"),
        ["Additional properties are not allowed ('colour' was unexpected)"],
    ),
    "misspelt-nested-key": (
        _set("landscape", "resolutoin", 41),
        [_key("landscape"), "('resolutoin' was unexpected)"],
    ),
    "missing-required-key": (
        _drop("training", "epochs"),
        [_key("training"), "'epochs' is a required property"],
    ),
    "unsupported-mirror-scheme": (
        _set("dataset", "mirror", "ftp://example.org/"),
        [_key("dataset", "mirror"), "'ftp://example.org/' is not valid under any"],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_a_bad_config_is_rejected_naming_key_expected_and_found(case):
    edit, fragments = BAD_CONFIGS[case]
    config = default_config()
    edit(config)
    output = check(config)
    assert output is not None, f"{case} was accepted"
    missing = [fragment for fragment in fragments if fragment not in output]
    assert not missing, f"{case}: {missing} not in:\n{output[-2000:]}"


def test_there_are_at_least_25_distinct_bad_configs():
    assert len(BAD_CONFIGS) >= 25


def test_the_schedule_defaults_the_checks_name_are_the_settings():
    from losslandscape.settings import checks
    from losslandscape.settings.sections import default_at

    for key in checks._SCHEDULE_OFF:
        expected = checks._SCHEDULE_DEFAULTS.get(key, False if key == "cosine" else None)
        assert default_at(f"training.{key}") == expected, key


@pytest.mark.parametrize(("build", "refused"), [(None, True), ("12.8", False), (False, False)])
def test_cuda_is_refused_at_start_up_with_a_cpu_only_torch(monkeypatch, build, refused):
    """With the pinned CPU build, device: cuda had failed only in the first job (issue 21);
    a CUDA build, or no torch in the planning environment, passes."""
    from losslandscape.settings import checks

    monkeypatch.setattr(checks, "torch_cuda_build", lambda: build)
    config = default_config()
    config["training"]["device"] = "cuda"
    config["landscape"]["device"] = "cuda"
    message = check(config)
    if refused:
        assert "config training.device: cuda needs a torch built with CUDA" in message
        assert "landscape.device: cuda needs" in message
        assert "found a CPU-only build" in message and 'README: "GPUs"' in message
    else:
        assert message is None


@pytest.mark.parametrize(
    "device, system, xla, refused",
    [
        ("xla", "Linux", False, "landscape.device: xla needs the torch_xla package"),
        ("xla", "Linux", True, None),
        ("mps", "Linux", False, "landscape.device: mps needs macOS (Apple's GPUs); found Linux"),
        ("mps", "Darwin", False, None),
    ],
)
def test_a_device_the_machine_cannot_give_is_refused_at_start_up(
    monkeypatch, device, system, xla, refused
):
    """xla without torch_xla and mps off macOS had failed in every job (issue 21, case 11's
    kind: the device is checked at start-up)."""
    import importlib.util
    import platform

    from losslandscape.settings import checks

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(checks, "torch_cuda_build", lambda: None)
    monkeypatch.setattr(platform, "system", lambda: system)
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: (
            (object() if xla else None) if name == "torch_xla" else real_find_spec(name, *a)
        ),
    )
    config = default_config()
    config["landscape"]["device"] = device
    message = check(config)
    if refused:
        assert refused in message and "set the device to auto or cpu" in message
    else:
        assert message is None


def test_the_installed_torch_build_is_read_without_importing_it():
    import torch

    from losslandscape.settings import checks

    assert checks.torch_cuda_build() == torch.version.cuda


def test_model_inputs_agree_with_the_model_registry():
    """The planning check (torch-free) says a model takes a shape exactly where the model
    registry builds it; every shipped data set has its shape there."""
    from losslandscape.data.datasets import DATASETS
    from losslandscape.models.registry import MODELS, data_kwargs
    from losslandscape.settings import checks, runtimes

    assert set(runtimes.DATASETS) | {"file"} == set(DATASETS)  # a file: its own shape
    shapes = {shape for shape, _, _ in runtimes.DATASETS.values()} | {(8, 9), (2, 8, 8, 8)}
    for model in MODELS:
        for shape in shapes:
            try:
                data_kwargs(model, list(shape), 10)
                builds = True
            except ValueError:
                builds = False
            assert checks.model_takes(model, shape) == builds, (model, shape)


@pytest.mark.parametrize(
    "changes, message",
    [
        (
            {"model": {"name": "resnet20"}},
            r"model.name: resnet20 takes square images; dataset.name mnist1d has inputs of "
            r"shape \[40\]",
        ),
        (
            {"dataset": {"name": "digits"}},
            r"model.name: mnist1d_cnn takes 1-D signals; dataset.name digits has inputs of "
            r"shape \[8, 8\]",
        ),
        (
            {"training": {"augmentation": "crop_flip"}},
            r"training.augmentation: crop_flip needs images; dataset.name mnist1d has 1-D",
        ),
    ],
)
def test_a_model_or_augmentation_the_data_cannot_feed_is_refused_at_start_up(changes, message):
    """resnet20 on mnist1d had planned every job and failed in the first training job
    (new-user check of issue 21)."""
    config = default_config()
    for section, values in changes.items():
        config[section] |= values
    assert re.search(message, check(config) or "")


def test_recompute_in_batches_of_one_passes_where_the_model_has_no_batchnorm():
    """mnist1d_cnn has no BatchNorm: batchnorm: recompute changes nothing there, and the
    batches' size is not checked."""
    config = default_config()
    config["landscape"].update(batchnorm="recompute", batchnorm_samples=1)
    config["training"]["batch_size"] = 1
    assert check(config) is None


def _own_study(config: dict) -> dict:
    """The examples' model and data set (config/examples/own-model.yaml)."""
    config["dataset"].update(name="file", path="config/examples/moons.csv")
    config["model"].update(name="config.examples.moons:mlp", kwargs={"hidden": [8]})
    return config


def test_a_model_and_data_set_of_ones_own_pass_from_the_working_directory(monkeypatch):
    monkeypatch.chdir(REPO)
    assert check(_own_study(default_config())) is None


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            _set("dataset", "path", None),
            "config dataset.name: file reads your data set from dataset.path; expected a "
            ".pt, .npz, .csv file there, found dataset.path: null",
        ),
        (
            _set("dataset", "path", "config/examples/moons.txt"),
            "config dataset.path: expected a .pt, .npz, .csv file; found config/examples/moons.txt",
        ),
        (
            _set("dataset", "path", "config/examples/absent.csv"),
            "config dataset.path: expected your data set's file; found no file "
            "config/examples/absent.csv",
        ),
        (
            _set("model", "name", "config.examples.absent:mlp"),
            "config model.name: config.examples.absent:mlp: module 'config.examples.absent': "
            "expected config/examples/absent.py",
        ),
        (
            _set("training", "external_checkpoints", "weights/{activation}.pt"),
            "config training.external_checkpoints: expected a path pattern with the fields "
            "{activation} and {seed} and no other; found 'weights/{activation}.pt' with "
            "fields ['activation']",
        ),
        (
            _set("training", "external_checkpoints", "absent/{activation}/{seed}.pt"),
            "config training.external_checkpoints: expected a state dict per (activation, "
            "seed) run at absent/{activation}/{seed}.pt; found none at absent/sigmoid/42.pt, "
            "absent/sigmoid/250.pt, absent/sigmoid/300.pt and 13 more",
        ),
    ],
    ids=["no-path", "suffix", "missing-file", "missing-module", "pattern", "missing-weights"],
)
def test_a_wrong_own_model_data_set_or_external_checkpoint_is_named(monkeypatch, edit, message):
    monkeypatch.chdir(REPO)
    config = _own_study(default_config())
    edit(config)
    assert message in (check(config) or "")


def test_a_data_set_path_is_refused_for_a_shipped_data_set():
    config = default_config()
    config["dataset"]["path"] = "data.csv"
    assert (
        "config dataset.path is read only with dataset.name: file; found dataset.name: "
        "mnist1d with dataset.path: data.csv" in (check(config) or "")
    )


def test_external_checkpoints_refuse_planes_that_need_a_training_trajectory(tmp_path):
    config = default_config()
    for activation in config["activations"]:
        for seed in config["seeds"]:
            path = tmp_path / activation / f"{seed}.pt"
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(b"")
    config["training"]["external_checkpoints"] = str(tmp_path / "{activation}" / "{seed}.pt")
    message = check(config) or ""
    assert "directions.planes has ['pca', 'narrow']" in message  # narrow: epochs [10, 20]
    config["directions"]["planes"] = ["random", "narrow", "three_seed"]
    config["directions"]["narrow"]["epochs"] = []
    assert check(config) is None
    # the learning rates are not needed for models trained elsewhere
    config["training"]["learning_rate"] = {}
    assert check(config) is None


def test_a_loss_other_than_cross_entropy_needs_heights_in_its_units():
    config = default_config()
    config["training"]["loss"] = "mse"
    message = check(config) or ""
    assert "config training.loss: mse is measured in its own units" in message
    assert (
        "metrics.basin_levels: [0.01, 0.03, 0.1, 0.3, 1.0], metrics.region_height: 1.0, "
        "training.target_loss: 0.1" in message
    )
    config["metrics"]["basin_levels"] = [0.003, 0.01, 0.03]
    config["metrics"]["region_height"] = 0.1
    assert (
        "found heights at their defaults for cross-entropy in nats (training.target_loss: "
        "0.1)" in (check(config) or "")
    )
    config["training"]["target_loss"] = 0.05
    assert check(config) is None


def test_the_nats_heights_of_the_check_are_the_defaults():
    from losslandscape.settings import DEFAULTS, checks

    assert checks.NATS_HEIGHTS == {
        "metrics.basin_levels": DEFAULTS.metrics.basin_levels,
        "metrics.region_height": DEFAULTS.metrics.region_height,
        "training.target_loss": DEFAULTS.training.target_loss,
    }
