"""Stage import_checkpoints: one (activation, seed) run whose model was trained outside the
workflow (a state dict file) → checkpoints and history in the format of stage train_model
(:mod:`losslandscape.training.loop`), so every later stage reads it as a run whose only
saved epoch, 0, is the imported model.

Planes through a run's training trajectory (``pca``, ``interpolation``, ``three_point``,
narrow planes at earlier epochs) need several saved epochs: such a run has none to offer,
and their directions refuse it by name.
"""

import logging
import math
import time

import pandas as pd
import torch
from torch import nn

from losslandscape.data.datasets import load_dataset
from losslandscape.devices import resolve_device
from losslandscape.engine.loss import Loss, as_loss
from losslandscape.io.files import file_digest, write_csv
from losslandscape.models.registry import build_model
from losslandscape.stages.matching import tensor_differences
from losslandscape.training.checkpoints import FORMAT_VERSION, save_checkpoints
from losslandscape.training.epochs import history_row, measure
from losslandscape.training.loop import (
    HISTORY_COLUMNS,
    check_target_loss,
    constructor_kwargs,
    first_epoch_at_or_below,
)

log = logging.getLogger(__name__)

# Where checkpoint files of common training code keep the model's state dict, tried in this
# order when the file is not a state dict itself
WRAPPER_KEYS = ("state_dict", "model_state_dict", "model")
# Name prefixes of a wrapped model's state dict (DataParallel, torch.compile)
WRAPPED_PREFIXES = ("module.", "_orig_mod.")


def _is_state_dict(obj: object) -> bool:
    """A non-empty dict of tensors by string name."""
    return (
        isinstance(obj, dict)
        and len(obj) > 0
        and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())
    )


def _described(obj: object) -> str:
    """What a file held, for an error: its type, and a dict's first keys with their types."""
    if not isinstance(obj, dict):
        return f"a {type(obj).__name__}"
    entries = [f"{key!r}: {type(value).__name__}" for key, value in list(obj.items())[:6]]
    more = ", …" if len(obj) > 6 else ""
    return f"a dict of {len(obj)} entries {{{', '.join(entries)}{more}}}"


def read_state_dict(path: str) -> tuple[dict[str, torch.Tensor], str | None]:
    """The state dict in file ``path`` (``torch.load(weights_only=True)`` onto the CPU): the
    file's dict itself when it is one (tensors by name), else the first of
    :data:`WRAPPER_KEYS` that holds one; and that key (None: the file itself).

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: a file torch cannot read as plain data (a pickled model among them), or
            one that neither is nor holds a state dict (naming what it holds).
    """
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise FileNotFoundError(f"state dict {path}: no such file") from None
    except Exception as error:  # torch raises several types for corrupt or pickled files
        first = (str(error).strip().splitlines() or [""])[0]
        raise ValueError(
            f"state dict {path}: cannot be read with torch.load(weights_only=True) "
            f"({type(error).__name__}: {first}); save the model's state_dict() (tensors by "
            f"name), not the pickled model"
        ) from None
    if _is_state_dict(obj):
        return dict(obj), None
    for key in WRAPPER_KEYS:
        if isinstance(obj, dict) and _is_state_dict(obj.get(key)):
            return dict(obj[key]), key
    raise ValueError(
        f"state dict {path}: expected a state dict (tensors by parameter name) or a dict "
        f"holding one under {', '.join(map(repr, WRAPPER_KEYS))}; found {_described(obj)}"
    )


def _check_finite(state: dict[str, torch.Tensor], path: str) -> None:
    """Refuse weights with NaN or infinite entries, naming the first such tensor."""
    for name, tensor in state.items():
        if tensor.is_floating_point() or tensor.is_complex():
            bad = int((~torch.isfinite(tensor)).sum())
            if bad:
                raise ValueError(
                    f"state dict {path}: tensor {name!r} {list(tensor.shape)} has {bad} of "
                    f"{tensor.numel()} entries that are not finite (NaN or ±inf); import a "
                    f"model whose weights are all finite"
                )


def _load_into(
    model: nn.Module, state: dict[str, torch.Tensor], path: str, described: str
) -> list[str]:
    """Load ``state`` (read from ``path``) into ``model`` (``described`` for errors) strictly:
    the same names, the same shapes. Returns the tensors whose dtype was converted to the
    model's (``name dtype → dtype``).

    Raises:
        ValueError: naming ``path``, the model and the first missing, unexpected and
            reshaped tensors.
    """
    own = model.state_dict()
    found = tensor_differences({k: v.shape for k, v in own.items()}, state, "unexpected")
    if found:
        prefixes = {name.split(".", 1)[0] + "." for name in state}
        wrapped = prefixes & set(WRAPPED_PREFIXES) if len(prefixes) == 1 else set()
        hint = (
            f" (every name starts with {wrapped.pop()!r}: save the unwrapped model's state dict)"
            if wrapped
            else ""
        )
        raise ValueError(
            f"state dict {path} does not fit {described}: {found}{hint}; give the state dict "
            f"of this architecture, or configure the model it was trained as"
        )
    converted = [
        f"{name} {state[name].dtype} → {tensor.dtype}"
        for name, tensor in own.items()
        if state[name].dtype != tensor.dtype
    ]
    model.load_state_dict(state, strict=True)
    return converted


def _history(
    model: nn.Module, data: dict, target_loss: float | None, path: str, loss: Loss
) -> list:
    """The history row of epoch 0 (:func:`~losslandscape.training.epochs.history_row`) of
    ``model`` on its device, measured as training measures each epoch; ``learning_rate`` NaN
    (nothing was trained here), ``seconds`` the evaluation's wall time.

    Raises:
        ValueError: a training or test loss that is not finite (the model's outputs
            overflow: no landscape can be drawn around it).
    """
    device = next(model.parameters()).device
    splits = [data[key].to(device) for key in ("x_train", "y_train", "x_test", "y_test")]
    start = time.perf_counter()
    measured = measure(model, *splits, loss=loss)
    seconds = time.perf_counter() - start
    if not (math.isfinite(measured[0]) and math.isfinite(measured[2])):
        raise ValueError(
            f"state dict {path}: the model's training loss {measured[0]} and test loss "
            f"{measured[2]} ({loss.units}) on data set {data['name']!r} are not both finite; "
            "import a model whose outputs do not overflow"
        )
    return history_row(0, measured, float("nan"), seconds, target_loss, reached_before=False)


def _checked_device(
    batch_size: int, target_loss: float | None, device: str, threads: int
) -> torch.device:
    """Refuse a batch size or target that is none; set torch's threads and resolve the
    device as stage train_model does."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size {batch_size!r}: expected a positive number of samples")
    check_target_loss(target_loss)
    torch.set_num_threads(threads)
    chosen = resolve_device(device)
    if chosen.type == "cuda":  # reproducible kernels over speed, as training (config/README.md)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    return chosen


def run_import_checkpoints(
    dataset: str,
    state_dict: str,
    checkpoints: str,
    history: str,
    model_name: str,
    model_kwargs: dict,
    activation: str,
    seed: int,
    batch_size: int,
    target_loss: float | None,
    device: str = "auto",
    threads: int = 1,
    loss: str = "cross_entropy",
) -> None:
    """Import the model of (``activation``, ``seed``) from the state dict file
    ``state_dict`` as a run trained on ``dataset`` (a prepared data set file): the model is
    built as training builds it (``model_name``, the data set's shapes updated with
    ``model_kwargs``), the file's weights loaded into it strictly, and its loss and accuracy
    on both splits measured as training measures each epoch's, on ``device`` (eval mode, in
    :func:`~losslandscape.engine.evaluation.evaluate`'s batches, as training's: the result
    does not depend on them beyond float rounding).

    Writes ``checkpoints`` (:mod:`losslandscape.training.checkpoints`: ``epochs`` [0], one
    state dict in the model's names, order and dtypes, ``diverged_epoch`` −1, and
    ``external``: the file's ``path`` as given and the ``sha256`` of its bytes) and
    ``history`` (one row, epoch 0, in :data:`~losslandscape.training.loop.HISTORY_COLUMNS`).
    ``batch_size`` is recorded as the run's batch size (the batch of BatchNorm statistics
    recomputed later); ``loss`` is the loss measured and recorded (as training's ``loss``:
    every later stage measures it); ``target_loss`` (in its units, or None) marks the row
    and ``target_epoch`` as training does.

    Raises:
        FileNotFoundError: no file ``state_dict`` (or ``dataset``).
        ValueError: a file that is not a state dict, one that does not fit the model, weights
            or losses that are not finite, or a batch size or target that is none.
    """
    chosen = _checked_device(batch_size, target_loss, device, threads)
    data = load_dataset(dataset)
    kwargs = constructor_kwargs(data, model_name, model_kwargs)
    model = build_model(model_name, activation, **kwargs)
    state, wrapper = read_state_dict(state_dict)
    described = f"model {model_name!r} with activation {activation!r} and arguments {kwargs}"
    converted = _load_into(model, state, state_dict, described)
    _check_finite(state, state_dict)
    # as training keeps a checkpoint: the model's own names, order and dtypes, on the CPU
    weights = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
    row = _history(model.to(chosen), data, target_loss, state_dict, as_loss(loss))
    result = {
        "format_version": FORMAT_VERSION,
        "model_name": model_name,
        "model_kwargs": kwargs,
        "activation": activation,
        "seed": int(seed),
        "dataset": data["name"],
        "loss": as_loss(loss).name,
        "batch_size": int(batch_size),
        "epochs": [0],
        "state_dicts": [weights],
        "diverged_epoch": -1,
        "target_loss": None if target_loss is None else float(target_loss),
        "target_epoch": first_epoch_at_or_below([row], target_loss),
        "external": {"path": str(state_dict), "sha256": file_digest(state_dict)},
    }
    save_checkpoints(result, checkpoints)
    write_csv(pd.DataFrame([row], columns=HISTORY_COLUMNS), history)
    _log_import(result, wrapper, converted, row, chosen)


def _log_import(
    result: dict, wrapper: str | None, converted: list[str], row: list, device: torch.device
) -> None:
    """Log what was imported from where, and the model's epoch-0 measurements."""
    external = result["external"]
    log.info(
        "imported %s seed %d from %s (%s; sha256 %s): %d tensors into %s %s on %s",
        result["activation"],
        result["seed"],
        external["path"],
        "the file is the state dict" if wrapper is None else f"its entry {wrapper!r}",
        external["sha256"],
        len(result["state_dicts"][0]),
        result["model_name"],
        result["model_kwargs"],
        device,
    )
    if converted:
        log.warning("converted %d tensors to the model's dtypes: %s", len(converted), converted[:3])
    values = dict(zip(HISTORY_COLUMNS, row, strict=True))
    log.info(
        "epoch 0 (imported): train loss %.4f acc %.3f | test loss %.4f acc %.3f | %.2fs | "
        "target_epoch %d",
        values["train_loss"],
        values["train_accuracy"],
        values["test_loss"],
        values["test_accuracy"],
        values["seconds"],
        result["target_epoch"],
    )
