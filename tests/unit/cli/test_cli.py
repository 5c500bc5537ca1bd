"""`python -m losslandscape` works on files not made by the workflow, with the config's
defaults (losslandscape.settings)."""

import argparse
import subprocess
import sys

import pytest
import xarray as xr

from losslandscape.cli import arguments, parser
from losslandscape.io.datamodel import write_landscape
from losslandscape.settings import DEFAULTS, as_config, default_at
from tests.unit.io.test_datamodel import make_landscape


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
