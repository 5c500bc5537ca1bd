"""`python -m losslandscape` works on files not made by the workflow, with the config's
defaults (losslandscape.settings)."""

import argparse
import ast
import subprocess
import sys
from pathlib import Path

import pytest
import xarray as xr
import yaml

from losslandscape.cli import arguments, parser
from losslandscape.io.datamodel import write_landscape
from losslandscape.settings import DEFAULTS, as_config, default_at
from tests.unit.io.test_datamodel import make_landscape

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.workflow
def test_metrics_and_plot_commands_on_a_hand_built_landscape(tmp_path):
    write_landscape(make_landscape(21, 17), tmp_path / "bowl.nc")
    for args in (
        ["metrics", str(tmp_path / "bowl.nc"), "--out", str(tmp_path / "m.nc")],
        ["plot-landscape", str(tmp_path / "bowl.nc"), "--out", str(tmp_path / "bowl.png")],
    ):
        result = subprocess.run(
            [sys.executable, "-m", "losslandscape", *args], capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
    with xr.open_dataset(tmp_path / "m.nc") as metrics:
        assert int(metrics.n_local_minima) == 1
        assert metrics.attrs["rule"] == "python -m losslandscape metrics"  # not a rule's name
    assert (tmp_path / "bowl.png").stat().st_size > 10_000


@pytest.mark.workflow
def test_a_missing_input_is_named(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "losslandscape",
            "metrics",
            str(tmp_path / "nope.nc"),
            "--out",
            str(tmp_path / "m.nc"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "landscape file" in result.stderr and "nope.nc: no such file" in result.stderr


def _config_options():
    """(command, option, config key, default) of every option that stands for a config key."""
    top = parser()
    (commands,) = (a for a in top._actions if isinstance(a, argparse._SubParsersAction))
    for command, sub in commands.choices.items():
        for action in sub._actions:
            if hasattr(action, "config_key"):
                yield command, action.option_strings[0], action.config_key, action.default


def test_every_config_option_defaults_to_the_settings_value():
    options = list(_config_options())
    assert len(options) >= 40
    differing = [
        (command, flag, key, default)
        for command, flag, key, default in options
        if default != default_at(key)
    ]
    assert not differing, f"(command, option, config key, its default here): {differing}"
    keys = {key for _, _, key, _ in options}
    landscape = {f"landscape.{k}" for k in as_config(DEFAULTS.landscape)}
    assert landscape <= keys and {"training.momentum", "training.weight_decay"} <= keys


TRAIN = ["train", "--dataset", "d.pt", "--model", "mnist1d_cnn", "--activation", "relu"]
TRAIN += ["--seed", "1", "--epochs", "4", "--learning-rate", "0.01"]
TRAIN += ["--checkpoints", "c.pt", "--history", "h.csv"]


def test_train_defaults_are_the_configs_schedule_target_and_slope():
    args = arguments(TRAIN)
    training = DEFAULTS.training
    assert args["cosine"] is training.cosine is True
    assert args["plateau_factor"] is None and args["milestones"] is None
    assert args["target_loss"] == training.target_loss
    assert args["model_kwargs"] == {"leaky_relu_slope": DEFAULTS.model.leaky_relu_slope}
    for key in ("batch_size", "optimizer", "momentum", "weight_decay", "checkpoint_every"):
        assert args[key] == getattr(training, key), key
    assert (args["augmentation"], args["device"]) == (training.augmentation, training.device)


def test_choosing_another_schedule_turns_the_default_cosine_off():
    assert arguments([*TRAIN, "--plateau-factor", "0.5"])["cosine"] is False
    assert arguments([*TRAIN, "--milestones", "2", "3"])["cosine"] is False
    assert arguments([*TRAIN, "--no-cosine"])["cosine"] is False
    both = arguments([*TRAIN, "--plateau-factor", "0.5", "--cosine"])
    assert both["cosine"] is True and both["plateau_factor"] == 0.5  # train_run refuses it


def test_landscape_options_take_null_and_threads_stays_the_jobs():
    args = ["landscape", "--dataset", "d", "--checkpoints", "c", "--directions", "u", "--out", "o"]
    parsed = arguments([*args, "--subset-size", "null", "--threads", "2"])
    assert parsed["subset_size"] is None and parsed["threads"] == 2
    assert arguments(args)["subset_size"] == DEFAULTS.landscape.subset_size
    with pytest.raises(SystemExit):
        arguments([*args, "--strategy", "fastest"])  # the allowed names are the settings'


def _stage_functions(paths) -> set[str]:
    """The stage functions (``losslandscape.stages.<module>.run_*``) that the Python files
    ``paths`` import or reach through an imported stage module: a command's own function
    of the same name does not count."""
    names = set()
    for path in paths:
        tree = ast.parse(path.read_text())
        modules = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "losslandscape.stages"
            ):
                for alias in node.names:
                    if alias.name.startswith("run_"):
                        names.add(alias.name)
                    else:  # a stage module: from losslandscape.stages import figures
                        modules.add(alias.asname or alias.name)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in modules
                and node.attr.startswith("run_")
            ):
                names.add(node.attr)
    return names


def test_every_stage_the_workflow_runs_has_a_command():
    """Issue 19, item 4: the command line is the whole pipeline. Every stage function a
    rule's script calls is called by a command (tests/workflow/test_cli_study.py runs the
    commands across runs and the figures on the test study's files)."""
    workflow = _stage_functions(sorted((ROOT / "workflow" / "scripts").glob("*.py")))
    cli = _stage_functions(sorted((ROOT / "src" / "losslandscape" / "cli").glob("*.py")))
    assert len(workflow) >= 15
    assert not workflow - cli, f"stages without a command: {sorted(workflow - cli)}"


def _schema_bounds(path: str) -> dict:
    """The lower and upper bounds the config schema puts on key ``path`` (``a.b.c``), on
    its value, its non-null value or its items."""
    node = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
    for part in path.split("."):
        if "properties" not in node:  # a section that may be null: its object's keys
            (node,) = (c for c in node["oneOf"] if "properties" in c)
        node = node["properties"][part]
    candidates = [node, node.get("items", {}), *node.get("oneOf", [])]
    names = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
    return {name: c[name] for c in candidates for name in names if name in c}


def test_every_bounded_option_refuses_what_the_schema_refuses():
    """A value the config schema refuses (``--batchnorm-batch-size 1``, a negative basin
    level) is a usage error naming the key, not a failure inside the stage."""
    top = parser()
    (commands,) = (a for a in top._actions if isinstance(a, argparse._SubParsersAction))
    checked = 0
    for sub in commands.choices.values():
        for action in sub._actions:
            if not hasattr(action, "config_key") or action.type is None:
                continue
            bounds = _schema_bounds(action.config_key)
            outside = {
                "minimum": lambda b: b - 1,
                "exclusiveMinimum": lambda b: b,
                "maximum": lambda b: b + 1,
                "exclusiveMaximum": lambda b: b,
            }
            for name, bound in bounds.items():
                with pytest.raises(argparse.ArgumentTypeError, match=action.config_key):
                    action.type(str(outside[name](bound)))
                checked += 1
            default = action.default
            if bounds and default is not None:  # the default itself is in range
                action.type(str(default[0] if isinstance(default, list) else default))
    assert checked >= 20


@pytest.mark.parametrize(
    ("option", "value", "key"),
    [
        ("--epochs", "1", "training.epochs"),
        ("--learning-rate", "0", "training.learning_rate"),
        ("--seed", "-1", "seeds"),
        ("--plateau-factor", "2", "training.plateau.factor"),
        ("--milestones", "0", "training.milestones.epochs"),
    ],
)
def test_required_training_options_refuse_what_the_schema_refuses(option, value, key, capsys):
    """The options a command requires (no config default to take) still carry their key's
    bounds: a usage error naming the key, not a failure inside training."""
    with pytest.raises(SystemExit):
        arguments([*TRAIN, option, value])
    assert f"config {key} must be" in capsys.readouterr().err
