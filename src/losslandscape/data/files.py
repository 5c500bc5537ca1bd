"""A classification data set given by the user in one file (``dataset.name: file``, with
``dataset.path``): a fixed train/test split, read and checked by :func:`read_split_file`.

The extension (case-insensitive) sets the format:

``.pt``
    A dict saved with ``torch.save`` (its default zip format), read with
    ``torch.load(..., weights_only=True)``. Keys ``x_train``, ``y_train``, ``x_test``,
    ``y_test``: tensors or numpy arrays of numbers (numpy arrays are read only with numeric
    or string dtypes); optionally ``n_classes`` (an int). Other keys are ignored.
``.npz``
    The same four arrays and optional ``n_classes`` (a 0-d integer array), written with
    ``np.savez`` or ``np.savez_compressed`` and read with ``np.load(allow_pickle=False)``
    (so no object arrays). Other arrays are ignored.
``.csv``
    Comma-separated, UTF-8, a header row naming the columns. Column ``label``: the class
    index (an integer); column ``split``: ``train`` or ``test``; every other column is one
    input feature (a number), in the header's order, so a sample's input has shape
    ``(n_features,)``. Rows keep their order within each split; blank lines are skipped.
    There is no ``n_classes`` column.

In every format ``x_<split>`` has shape ``(n_<split>, *input_shape)`` with the same
``input_shape`` (at least one dimension) in both splits, and ``y_<split>`` has shape
``(n_<split>,)``: integer class indices ``0, 1, …``, stored as integers or as floats without
a fractional part. Both splits hold at least one sample, every input is finite, and
``n_classes``, where given, is at least the largest label + 1 (without it the study takes the
largest label + 1 over both splits). Images are ``(channels, height, width)`` per sample;
4-D inputs are standardized per channel (:func:`losslandscape.data.datasets.prepare_dataset`).

The workflow reads the shapes and sample counts while planning, without loading the data
(:func:`losslandscape.settings.datafile.file_summary`, standard library only).
"""

import zipfile
from pathlib import Path

import numpy as np
import torch

from losslandscape.io.torchfiles import load_torch_file
from losslandscape.settings.datafile import FORMATS, WHAT, checked_path  # noqa: F401 (public)

SPLITS = ("train", "test")
SPLIT_KEYS = ("x_train", "y_train", "x_test", "y_test")
CSV_COLUMNS = ("label", "split")
# the numpy pieces a .pt may hold beside tensors, allowed to torch's weights-only unpickler
_NUMPY_GLOBALS = [
    np.zeros(1).__reduce__()[0],  # numpy's _reconstruct (module path differs by version)
    np.float64(0).__reduce__()[0],  # numpy's scalar
    np.ndarray,
    np.dtype,
    *{type(np.dtype(code)) for code in "?bBhHiIlLqQefdUS"},
]


def read_split_file(path: str | Path) -> dict[str, np.ndarray | int]:
    """Read and check a data set file (formats: the module docstring).

    Returns:
        ``x_train`` float64 ``(n_train, *input_shape)``, ``y_train`` int64 ``(n_train,)``,
        ``x_test`` float64 ``(n_test, *input_shape)``, ``y_test`` int64 ``(n_test,)``, and
        ``n_classes`` (int) where the file states it.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: an unknown extension, a file that cannot be read, a missing key or
            column, or contents that break a rule of the module docstring; the message
            names the file, what was expected and what was found.
    """
    path, suffix = checked_path(path)
    raw = {".pt": _read_pt, ".npz": _read_npz, ".csv": _read_csv}[suffix](path)
    return _checked(raw, path)


def _read_pt(path: Path) -> dict:
    with torch.serialization.safe_globals(_NUMPY_GLOBALS):
        obj = load_torch_file(path, what=WHAT, required=SPLIT_KEYS)
    keys = [key for key in (*SPLIT_KEYS, "n_classes") if key in obj]
    return {key: _as_array(obj[key]) for key in keys}


def _as_array(value: object) -> np.ndarray | object:
    """Tensors (any device, bfloat16 too) as numpy arrays; anything else as it is."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        if value.dtype == torch.bfloat16:
            value = value.float()
        return value.numpy()
    return value


def _read_npz(path: Path) -> dict:
    try:
        with np.load(path, allow_pickle=False) as archive:
            found = sorted(archive.files)
            raw = {key: archive[key] for key in (*SPLIT_KEYS, "n_classes") if key in found}
    except (OSError, ValueError, zipfile.BadZipFile) as error:  # not a zip, object arrays
        raise ValueError(
            f"{WHAT} {path}: cannot be read as .npz ({type(error).__name__}: {error})"
        ) from None
    missing = [key for key in SPLIT_KEYS if key not in raw]
    if missing:
        raise ValueError(f"{WHAT} {path}: missing arrays {missing}; found {found}")
    return raw


def _read_csv(path: Path) -> dict:
    import pandas as pd

    try:
        table = pd.read_csv(path, skipinitialspace=True, encoding="utf-8")
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as error:
        raise ValueError(
            f"{WHAT} {path}: cannot be read as .csv ({type(error).__name__}: {error})"
        ) from None
    table.columns = [str(column).strip() for column in table.columns]
    missing = [column for column in CSV_COLUMNS if column not in table.columns]
    if missing:
        raise ValueError(
            f"{WHAT} {path}: missing columns {missing}; found {list(table.columns)} "
            "(expected a header row with `label`, `split` and one column per input feature)"
        )
    features = [column for column in table.columns if column not in CSV_COLUMNS]
    if not features:
        raise ValueError(
            f"{WHAT} {path}: no feature columns; found only {list(table.columns)} "
            "(every column besides `label` and `split` is one input feature)"
        )
    for column in (*features, "label"):
        table[column] = _csv_numbers(table[column], path)
    split = table["split"].astype(str).str.strip().to_numpy()
    unknown = sorted(set(split) - set(SPLITS))
    if unknown:
        raise ValueError(
            f"{WHAT} {path}: column `split` holds {unknown[:5]}; expected only "
            f"{' or '.join(SPLITS)}"
        )
    x = table[features].to_numpy(dtype=np.float64)
    labels = table["label"].to_numpy()
    return {
        key: value
        for name in SPLITS
        for key, value in ((f"x_{name}", x[split == name]), (f"y_{name}", labels[split == name]))
    }


def _csv_numbers(column, path: Path):
    """``column`` as numbers, refusing values that are not (naming one and its data row)."""
    import pandas as pd

    if pd.api.types.is_numeric_dtype(column):
        return column
    values = pd.to_numeric(column, errors="coerce")
    bad = column[values.isna() & column.notna()]
    if len(bad):
        kind = "labels" if column.name == "label" else "values"
        raise ValueError(
            f"{WHAT} {path}: column {column.name!r} holds {len(bad)} {kind} that are not "
            f"numbers (e.g. {bad.iloc[0]!r} in data row {bad.index[0] + 1}); expected "
            + ("integer class indices" if column.name == "label" else "a number in every row")
        )
    return values


def _checked(raw: dict, path: Path) -> dict[str, np.ndarray | int]:
    """The arrays in the documented dtypes, after every check of the module docstring."""
    source = f"{WHAT} {path}"
    arrays = {key: np.asarray(raw[key]) for key in SPLIT_KEYS}
    for name in SPLITS:
        x, y = arrays[f"x_{name}"], arrays[f"y_{name}"]
        if x.dtype.kind not in "biuf" or x.ndim < 2:
            raise ValueError(
                f"{source}: x_{name} is {x.dtype} of shape {list(x.shape)}; expected numbers "
                f"of shape (n_{name}, *input_shape), at least 2-D"
            )
        if len(x) == 0:
            raise ValueError(
                f"{source}: the {name} split has no samples (x_{name} has shape "
                f"{list(x.shape)}); expected at least one"
            )
        if y.ndim != 1 or len(y) != len(x):
            raise ValueError(
                f"{source}: y_{name} has shape {list(y.shape)} but x_{name} holds {len(x)} "
                f"samples; expected one label per sample, shape [{len(x)}]"
            )
        arrays[f"y_{name}"] = _class_indices(y, f"{source}: y_{name}")
        non_finite = int(np.count_nonzero(~np.isfinite(x)))
        if non_finite:
            raise ValueError(
                f"{source}: x_{name} holds {non_finite} non-finite values (NaN or ±inf) "
                f"among {x.size}; expected finite inputs"
            )
        arrays[f"x_{name}"] = x.astype(np.float64, copy=False)
    if arrays["x_train"].shape[1:] != arrays["x_test"].shape[1:]:
        raise ValueError(
            f"{source}: train inputs have shape {list(arrays['x_train'].shape[1:])} per sample, "
            f"test inputs {list(arrays['x_test'].shape[1:])}; expected the same shape"
        )
    if "n_classes" in raw:
        arrays["n_classes"] = _n_classes(raw["n_classes"], arrays, source)
    return arrays


def _class_indices(labels: np.ndarray, source: str) -> np.ndarray:
    """``labels`` as int64, refusing non-integers (strings, fractions) and negative ones."""
    if labels.dtype.kind in "f":
        fractional = ~np.isfinite(labels) | (labels != np.round(labels))
        if fractional.any():
            raise ValueError(
                f"{source}: {int(fractional.sum())} labels are not integers "
                f"(found {_examples(labels[fractional])}); expected class indices 0, 1, …"
            )
    elif labels.dtype.kind not in "iu":
        raise ValueError(
            f"{source}: labels are {labels.dtype} (found {_examples(labels)}); expected "
            "integer class indices 0, 1, …"
        )
    negative = labels < 0
    if negative.any():
        raise ValueError(
            f"{source}: {int(negative.sum())} labels are negative (found "
            f"{_examples(labels[negative])}); expected class indices 0, 1, …"
        )
    return labels.astype(np.int64)


def _n_classes(value: object, arrays: dict, source: str) -> int:
    """The file's ``n_classes`` as an int, at least the largest label + 1."""
    value = _as_array(value)
    number = np.asarray(value)
    if number.shape != () or number.dtype.kind not in "iu":
        raise ValueError(
            f"{source}: n_classes is {value!r}; expected one integer (the number of classes)"
        )
    needed = int(max(arrays["y_train"].max(), arrays["y_test"].max())) + 1
    if int(number) < needed:
        raise ValueError(
            f"{source}: n_classes is {int(number)} but the largest label is {needed - 1}; "
            f"expected n_classes ≥ {needed}"
        )
    return int(number)


def _examples(values: np.ndarray, limit: int = 5) -> str:
    """Up to ``limit`` distinct values, for a message."""
    unique = list(dict.fromkeys(np.ravel(values).tolist()))
    shown = ", ".join(repr(v) if isinstance(v, str) else str(v) for v in unique[:limit])
    return shown + (", …" if len(unique) > limit else "")
