"""The ``train`` command: one (activation, seed) run; ``import-checkpoints``: one from a state
dict trained elsewhere."""

import argparse
import json

from losslandscape.cli.options import Command, config_option, key_type
from losslandscape.settings import DEFAULTS, Milestones, Model, Plateau, Settings, Training
from losslandscape.stages import imported, train


def _add_model(p: argparse.ArgumentParser) -> None:
    """The data set, the model, and the run's activation and seed."""
    p.add_argument("--dataset", required=True, help="the prepared data set (prepare-dataset)")
    p.add_argument(
        "--model",
        dest="model_name",
        required=True,
        help="a shipped model (config model.name: mnist1d_cnn, mlp, small_cnn2d, resnet20, "
        "…) or your own as an import path package.module:factory, looked up under the "
        "working directory (losslandscape/models/import_path.py gives the signature)",
    )
    config_option(
        p,
        "--model-kwargs",
        Model,
        "kwargs",
        type=json.loads,
        help="JSON object of extra constructor arguments (config model.kwargs)",
    )
    config_option(p, "--leaky-relu-slope", Model, "leaky_relu_slope")
    p.add_argument("--activation", required=True)
    p.add_argument("--seed", type=key_type(Settings, "seeds", int), required=True)


def _add_run(p: argparse.ArgumentParser) -> None:
    """The data set, the model and the optimizer of the run."""
    _add_model(p)
    p.add_argument("--epochs", type=key_type(Training, "epochs", int), required=True)
    p.add_argument(
        "--learning-rate", type=key_type(Training, "learning_rate", float), required=True
    )
    for key in ("batch_size", "optimizer", "momentum", "weight_decay", "checkpoint_every"):
        config_option(p, "--" + key.replace("_", "-"), Training, key)


def _add_schedule(p: argparse.ArgumentParser) -> None:
    """The learning-rate schedule: a plateau, milestones or cosine annealing."""
    p.add_argument(
        "--plateau-factor",
        type=key_type(Plateau, "factor", float),
        default=None,
        help="ReduceLROnPlateau: multiply the rate by this factor after --plateau-patience "
        "epochs without improvement (config training.plateau; default: off)",
    )
    config_option(p, "--plateau-patience", Plateau, "patience")
    p.add_argument(
        "--milestones",
        type=key_type(Milestones, "epochs", int),
        nargs="+",
        default=None,
        metavar="EPOCH",
        help="step schedule: multiply the rate by --milestone-factor after each of these "
        "epochs (config training.milestones; default: off)",
    )
    config_option(p, "--milestone-factor", Milestones, "factor")
    p.add_argument(
        "--cosine",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="cosine annealing of the rate to 0 over the epochs (config training.cosine); "
        f"default: {'on' if DEFAULTS.training.cosine else 'off'}, unless --plateau-factor or "
        "--milestones chooses another schedule",
    )


def add_train(p: argparse.ArgumentParser) -> None:
    """``train``'s options: the run, its schedule, then where it runs and what it writes."""
    _add_run(p)
    _add_schedule(p)
    config_option(p, "--target-loss", Training, "target_loss")
    config_option(p, "--loss", Training, "loss")
    config_option(p, "--augmentation", Training, "augmentation")
    config_option(p, "--device", Training, "device")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--checkpoints", required=True)
    p.add_argument("--history", required=True)


def add_import_checkpoints(p: argparse.ArgumentParser) -> None:
    """``import-checkpoints``' options: the state dict, the run it becomes, then where it is
    evaluated and what it writes."""
    p.add_argument(
        "--state-dict",
        required=True,
        help="the model's state dict file, trained elsewhere (or a dict holding it under "
        "state_dict, model_state_dict or model)",
    )
    _add_model(p)
    config_option(
        p,
        "--batch-size",
        Training,
        "batch_size",
        help="the run's batch size, recorded for BatchNorm statistics recomputed on its "
        "landscapes (config training.batch_size; default: %(default)s)",
    )
    config_option(
        p,
        "--target-loss",
        Training,
        "target_loss",
        help="training-loss target in the loss's units: whether the imported model is at "
        "or below it marks the run (config training.target_loss; default: %(default)s)",
    )
    config_option(p, "--loss", Training, "loss")
    config_option(
        p,
        "--device",
        Training,
        "device",
        help="where the model is evaluated (config training.device; default: %(default)s)",
    )
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--checkpoints", required=True)
    p.add_argument("--history", required=True)


def finish_model(args: dict) -> dict:
    """``--leaky-relu-slope`` joins the model's constructor arguments (as in the workflow)."""
    slope = args.pop("leaky_relu_slope")
    args["model_kwargs"] = {**args["model_kwargs"], "leaky_relu_slope": slope}
    return args


def finish_train(args: dict) -> dict:
    """``--leaky-relu-slope`` joins the model's constructor arguments (as in the workflow)
    and cosine annealing is on by default (the config's) unless another schedule is chosen."""
    args = finish_model(args)
    if args["cosine"] is None:
        other = args["plateau_factor"] is not None or bool(args["milestones"])
        args["cosine"] = DEFAULTS.training.cosine and not other
    return args


def run_train(args: dict) -> None:
    train.run_train_model(args.pop("dataset"), args.pop("checkpoints"), args.pop("history"), **args)


def run_import_checkpoints(args: dict) -> None:
    imported.run_import_checkpoints(**args)


COMMANDS = {
    "train": Command("train one (activation, seed) run", add_train, run_train, finish_train),
    "import-checkpoints": Command(
        "one (activation, seed) run from a state dict trained elsewhere (no training)",
        add_import_checkpoints,
        run_import_checkpoints,
        finish_model,
    ),
}
