"""The input shape and sample counts of a data set file (``dataset.name: file``), read
without loading the data: what planning needs for the wall-time requests and the model check.

The formats are documented in :mod:`losslandscape.data.files`, which reads and checks the
data; this module only summarizes a file: ``.npz`` from the ``.npy`` headers of the archive's
members, ``.csv`` by streaming its rows, ``.pt`` by unpickling torch's ``data.pkl`` with every
tensor (and numpy array) stood in for by its shape, so no storage is read and no code of the
file's choosing runs.

Standard library only: the workflow loads this file by path while planning, before torch.
"""

import ast
import csv
import pickle
import struct
import zipfile
from pathlib import Path

FORMATS = (".pt", ".npz", ".csv")
SPLITS = ("train", "test")
SPLIT_KEYS = ("x_train", "y_train", "x_test", "y_test")
CSV_COLUMNS = ("label", "split")
WHAT = "data file"
NPY_MAGIC = b"\x93NUMPY"


def checked_path(path: str | Path) -> tuple[Path, str]:
    """``(path, its lower-case extension)`` of a data file, after checking both.

    Raises:
        ValueError: an extension not in :data:`FORMATS`.
        FileNotFoundError: no file at ``path``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(
            f"{WHAT} {path}: extension {path.suffix or '(none)'!r} is unknown; "
            f"expected one of {', '.join(FORMATS)}"
        )
    if not path.is_file():
        raise FileNotFoundError(f"{WHAT} {path}: no such file")
    return path, suffix


def file_summary(path: str | Path) -> tuple[tuple[int, ...], int, int]:
    """``(input_shape, n_train, n_test)`` of a data set file: the shape of one sample and
    the numbers of training and test samples.

    Checks what the summary reads (the keys or columns, the same per-sample shape in both
    splits, one label per sample where the labels' shapes are read); the contents are
    checked when the data are read (:func:`losslandscape.data.files.read_split_file`).

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: an unknown extension, a file that cannot be read in its format, a
            missing key or column, or shapes that do not fit together; the message names
            the file, what was expected and what was found.
    """
    path, suffix = checked_path(path)
    if suffix == ".csv":
        return _csv_summary(path)
    reader = _npz_shapes if suffix == ".npz" else _pt_shapes
    try:
        shapes = reader(path)
    except (zipfile.BadZipFile, EOFError, struct.error) as error:
        expected = " (expected torch.save's default zip format)" if suffix == ".pt" else ""
        raise ValueError(
            f"{WHAT} {path}: cannot be read as {suffix}{expected} ({type(error).__name__}: {error})"
        ) from None
    return _summary_of_shapes(shapes, path)


def _summary_of_shapes(
    shapes: dict[str, tuple[int, ...]], path: Path
) -> tuple[tuple[int, ...], int, int]:
    """The summary from the four arrays' shapes, checking that they fit together."""
    for name in SPLITS:
        x, y = shapes[f"x_{name}"], shapes[f"y_{name}"]
        if len(x) < 2:
            raise ValueError(
                f"{WHAT} {path}: x_{name} has shape {list(x)}; expected "
                f"(n_{name}, *input_shape), at least 2-D"
            )
        if y != x[:1]:
            raise ValueError(
                f"{WHAT} {path}: y_{name} has shape {list(y)} but x_{name} holds {x[0]} "
                f"samples; expected one label per sample, shape [{x[0]}]"
            )
    x_train, x_test = shapes["x_train"], shapes["x_test"]
    if x_train[1:] != x_test[1:]:
        raise ValueError(
            f"{WHAT} {path}: train inputs have shape {list(x_train[1:])} per sample, test "
            f"inputs {list(x_test[1:])}; expected the same shape"
        )
    return tuple(x_train[1:]), x_train[0], x_test[0]


def _npz_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """The shapes of the four arrays, from their ``.npy`` headers in the zip archive."""
    with zipfile.ZipFile(path) as archive:
        members = {
            name.removesuffix(".npy"): name for name in archive.namelist() if name.endswith(".npy")
        }
        missing = [key for key in SPLIT_KEYS if key not in members]
        if missing:
            raise ValueError(f"{WHAT} {path}: missing arrays {missing}; found {sorted(members)}")
        shapes = {}
        for key in SPLIT_KEYS:
            with archive.open(members[key]) as member:
                shapes[key] = _npy_shape(member, f"{WHAT} {path}: array {key}")
    return shapes


def _npy_shape(stream, source: str) -> tuple[int, ...]:
    """The shape in a ``.npy`` header (format versions 1.0, 2.0 and 3.0): the magic string,
    the version's two bytes, the header's length (a little-endian uint16 in 1.0, uint32
    after), then the header, a Python dict literal with ``descr``, ``fortran_order`` and
    ``shape``."""
    magic = stream.read(len(NPY_MAGIC) + 2)
    if len(magic) < len(NPY_MAGIC) + 2 or not magic.startswith(NPY_MAGIC):
        raise ValueError(f"{source}: not a .npy array (found {magic[:8]!r} at its start)")
    major = magic[-2]
    if major not in (1, 2, 3):
        raise ValueError(f"{source}: .npy format version {major} is unknown; expected 1, 2 or 3")
    length_format = "<H" if major == 1 else "<I"
    (length,) = struct.unpack(length_format, stream.read(struct.calcsize(length_format)))
    header_text = stream.read(length).decode("latin1" if major < 3 else "utf8")
    try:
        header = ast.literal_eval(header_text)
        shape = tuple(int(n) for n in header["shape"])
    except (ValueError, SyntaxError, KeyError, TypeError):
        raise ValueError(f"{source}: unreadable .npy header {header_text.strip()!r}") from None
    return shape


def _csv_summary(path: Path) -> tuple[tuple[int, ...], int, int]:
    """Count each split's rows and the feature columns, streaming the file."""
    counts = dict.fromkeys(SPLITS, 0)
    with open(path, newline="", encoding="utf-8-sig") as stream:
        rows = csv.reader(stream, skipinitialspace=True)
        header = [name.strip() for name in next(rows, [])]
        missing = [column for column in CSV_COLUMNS if column not in header]
        if missing:
            raise ValueError(
                f"{WHAT} {path}: missing columns {missing}; found {header} (expected a header "
                "row with `label`, `split` and one column per input feature)"
            )
        n_features = len(header) - len(CSV_COLUMNS)
        if n_features < 1:
            raise ValueError(
                f"{WHAT} {path}: no feature columns; found only {header} (every column "
                "besides `label` and `split` is one input feature)"
            )
        split_column = header.index("split")
        for row in rows:
            if not row:  # a blank line
                continue
            split = row[split_column].strip() if split_column < len(row) else ""
            if split not in counts:
                raise ValueError(
                    f"{WHAT} {path}: line {rows.line_num} has split {split!r}; expected "
                    f"{' or '.join(SPLITS)}"
                )
            counts[split] += 1
    return (n_features,), counts["train"], counts["test"]


def _pt_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """The shapes of the four arrays in a ``torch.save`` zip file (tensors or numpy arrays)."""
    with zipfile.ZipFile(path) as archive:
        pickles = [name for name in archive.namelist() if name.endswith("/data.pkl")]
        if not pickles:
            raise ValueError(
                f"{WHAT} {path}: no data.pkl inside; expected torch.save's zip format "
                f"(found members {archive.namelist()[:5]})"
            )
        with archive.open(min(pickles, key=len)) as stream:
            try:
                obj = _ShapeUnpickler(stream).load()
            except Exception as error:  # a corrupt pickle raises many types
                raise ValueError(
                    f"{WHAT} {path}: cannot be read as .pt ({type(error).__name__}: {error})"
                ) from None
    if not isinstance(obj, dict):
        raise ValueError(f"{WHAT} {path}: expected a dict, found {type(obj).__name__}")
    missing = [key for key in SPLIT_KEYS if key not in obj]
    if missing:
        raise ValueError(f"{WHAT} {path}: missing keys {missing}; found {sorted(map(str, obj))}")
    shapes = {}
    for key in SPLIT_KEYS:
        value = obj[key]
        if isinstance(value, _Array):
            value = value.shape
        if not (isinstance(value, tuple) and all(isinstance(n, int) for n in value)):
            raise ValueError(
                f"{WHAT} {path}: {key} is a {type(value).__name__}; expected a tensor (or a "
                "numpy array)"
            )
        shapes[key] = value
    return shapes


class _StandIn:
    """Anything of the file the summary does not need (storages, dtypes, devices): takes
    any arguments and any state, and calling it gives another."""

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        pass

    def __call__(self, *args, **kwargs):
        return _StandIn()


class _Array(_StandIn):
    """A numpy array: ``ndarray.__setstate__`` gets ``(version, shape, dtype, …)``."""

    shape = None

    def __setstate__(self, state):
        self.shape = tuple(state[1])


def _tensor_shape(storage, storage_offset, size, *args, **kwargs) -> tuple[int, ...]:
    """Stands in for torch's ``_rebuild_tensor*`` (arguments: storage, offset, size, …)."""
    return tuple(size)


def _parameter(data, *args, **kwargs):
    """Stands in for torch's ``_rebuild_parameter``: the tensor (here, its shape)."""
    return data


class _ShapeUnpickler(pickle.Unpickler):
    """Unpickles torch's ``data.pkl`` with a tensor's shape in place of the tensor; imports
    nothing, so no code of the file's choosing runs."""

    SAFE = {
        ("collections", "OrderedDict"): dict,
        ("builtins", "set"): set,
        ("builtins", "frozenset"): frozenset,
        ("builtins", "slice"): slice,
        ("torch", "Size"): tuple,
        ("torch._utils", "_rebuild_parameter"): _parameter,
    }

    def find_class(self, module: str, name: str):
        if (module, name) in self.SAFE:
            return self.SAFE[(module, name)]
        if module == "torch._utils" and name.startswith("_rebuild_tensor"):
            return _tensor_shape
        if module.startswith("numpy") and name == "_reconstruct":
            return lambda *args: _Array()
        # named for the message that refuses it where a tensor was expected
        return type(f"{module}.{name}", (_StandIn,), {})

    def persistent_load(self, pid):
        return _StandIn()
