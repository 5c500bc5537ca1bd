"""Data sets as tensors with a fixed train/test split and the study's normalization.

A prepared data set is a plain dict (saved with ``torch.save``, loadable with
``weights_only=True``)::

    name: str              x_train: float32 (n_train, *input_shape)
    n_classes: int         y_train: int64   (n_train,)
    input_shape: list      x_test:  float32 (n_test, *input_shape)
    normalization: dict    y_test:  int64   (n_test,)
    sha256: str            (of the four tensors' bytes; checked on load)

Normalization is a standardization with the *training* set's mean and std (per channel for
colour images, CIFAR; one scalar otherwise), applied to both splits (the original study's
test images skipped it; ours never do). mnist1d and digits are built offline; CIFAR-10,
CIFAR-100, MNIST and Fashion-MNIST are read from their official archives
(:mod:`losslandscape.data.archives`), each checked against its md5 first; ``file`` is the
user's own data set in one file (``dataset.path``; formats: :mod:`losslandscape.data.files`),
whose prepared dict also records that ``path``.
"""

import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from losslandscape.data.archives import (
    ARCHIVES,
    CIFAR100_LABELS,
    read_cifar,
    read_idx_dataset,
    verify,
)
from losslandscape.data.files import read_split_file
from losslandscape.io.torchfiles import atomic_torch_save, load_torch_file

FORMAT_VERSION = 1
TENSOR_KEYS = ("x_train", "y_train", "x_test", "y_test")


def _mnist1d() -> dict[str, np.ndarray]:
    """mnist1d (Greydanus 2020): 4000/1000 signals of length 40, 10 classes, built offline.

    The generator reseeds NumPy's global RNG, so its state is saved and restored around it.
    """
    import mnist1d.data

    state = np.random.get_state()
    try:
        raw = mnist1d.data.make_dataset(mnist1d.data.get_dataset_args())
    finally:
        np.random.set_state(state)
    return {
        "x_train": raw["x"],
        "y_train": raw["y"],
        "x_test": raw["x_test"],
        "y_test": raw["y_test"],
    }


def _digits(test_fraction: float = 0.2, split_seed: int = 0) -> dict[str, np.ndarray]:
    """scikit-learn's 1797 8×8 digit images (shipped with the package), a seeded fixed split."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = bunch.images.astype(np.float64)
    order = np.random.default_rng(split_seed).permutation(len(images))
    n_test = int(round(test_fraction * len(images)))
    test, train = order[:n_test], order[n_test:]
    return {
        "x_train": images[train],
        "y_train": bunch.target[train],
        "x_test": images[test],
        "y_test": bunch.target[test],
    }


GENERATORS: dict[str, Callable[[], dict[str, np.ndarray]]] = {
    "mnist1d": _mnist1d,
    "digits": _digits,
}
# `file`: the user's own data set, read from dataset.path (losslandscape.data.files)
DATASETS = (*GENERATORS, *ARCHIVES, "file")


def _from_archives(
    name: str, folder: str | Path, labels: str, checksums: dict[str, str] | None
) -> dict[str, np.ndarray]:
    """Verify and read data set ``name``'s official archives in ``folder``.

    ``checksums`` (file name → md5) replaces the official md5s, for private mirrors and
    the tests' small archives in the official layout.
    """
    folder = Path(folder)
    for archive in ARCHIVES[name]:
        path = folder / archive.filename
        if not path.exists():
            raise FileNotFoundError(
                f"archive {path} of data set {name!r} is missing; the download rule fetches "
                f"it from {archive.base_url}{archive.filename}"
            )
        verify(path, (checksums or {}).get(archive.filename, archive.md5))
    if name.startswith("cifar"):
        return read_cifar(folder / ARCHIVES[name][0].filename, labels)
    return read_idx_dataset(folder)


def tensor_checksum(dataset: dict) -> str:
    """SHA-256 over the bytes of the four split tensors, in a fixed order."""
    digest = hashlib.sha256()
    for key in TENSOR_KEYS:
        digest.update(dataset[key].contiguous().numpy().tobytes())
    return digest.hexdigest()


def prepare_dataset(
    name: str,
    archive_folder: str | Path | None = None,
    labels: str = "fine",
    checksums: dict[str, str] | None = None,
    path: str | Path | None = None,
) -> dict:
    """Build data set ``name`` as standardized float32 tensors (see the module docstring).

    Args:
        archive_folder: where the official archives of CIFAR/MNIST-like data sets lie.
        labels: CIFAR-100 ``fine`` (100 classes) or ``coarse`` (20) labels.
        path: the data set file of ``name == "file"`` (:mod:`losslandscape.data.files`);
            its ``n_classes`` where it states one, else the largest label + 1.

    Raises:
        ValueError: ``name`` is not a known data set, an archive is corrupt, ``file``
            without a ``path``, or a data set file that breaks its format.
        FileNotFoundError: an archive or the data set file is missing.
    """
    if name not in DATASETS:
        raise ValueError(f"dataset {name!r} is unknown; choose one of {', '.join(DATASETS)}")
    if path is not None and name != "file":
        raise ValueError(
            f"a data set file ({path}) is read only for dataset 'file'; found dataset {name!r}"
        )
    if name in GENERATORS:
        arrays = GENERATORS[name]()
    elif name == "file":
        if path is None:
            raise ValueError(
                "dataset 'file' is read from dataset.path, which is not set; pass path "
                "(a .pt, .npz or .csv file)"
            )
        arrays = read_split_file(path)
    else:
        if archive_folder is None:
            raise ValueError(f"dataset {name!r} is read from archives: pass archive_folder")
        arrays = _from_archives(name, archive_folder, labels, checksums)
    x_train = arrays["x_train"].astype(np.float64, copy=False)
    x_test = arrays["x_test"].astype(np.float64, copy=False)
    if x_train.ndim == 4:  # colour images (n, c, h, w): per-channel statistics
        mean = x_train.mean(axis=(0, 2, 3), keepdims=True)
        std = x_train.std(axis=(0, 2, 3), keepdims=True)
    else:
        mean, std = x_train.mean(), x_train.std()
    std = np.where(std > 0, std, 1.0)
    dataset = {
        "format_version": FORMAT_VERSION,
        # a file's data set by its file name: runs and files of two files differ in name
        "name": f"file:{Path(path).name}" if name == "file" else name,
        "x_train": torch.from_numpy((x_train - mean) / std).float(),
        "y_train": torch.from_numpy(arrays["y_train"]).long(),
        "x_test": torch.from_numpy((x_test - mean) / std).float(),
        "y_test": torch.from_numpy(arrays["y_test"]).long(),
        "normalization": {
            "kind": "standardize",
            "mean": np.ravel(mean).tolist() if np.size(mean) > 1 else float(mean),
            "std": np.ravel(std).tolist() if np.size(std) > 1 else float(std),
        },
    }
    n_classes = {"cifar10": 10, "mnist": 10, "fashion_mnist": 10}
    if name == "cifar100":  # read_cifar has checked the label kind
        dataset["labels"] = labels
        n_classes["cifar100"] = CIFAR100_LABELS[labels]
    if name == "file":
        dataset["path"] = str(path)
        if "n_classes" in arrays:  # read_split_file has checked it covers the labels
            n_classes["file"] = arrays["n_classes"]
        else:  # classes counted from the labels: each of 0 … max must have samples
            seen = set(np.unique(arrays["y_train"]).tolist())
            absent = [c for c in range(int(max(seen)) + 1) if c not in seen]
            if absent:
                raise ValueError(
                    f"data file {path}: expected class indices 0 … n_classes − 1, each with "
                    f"training samples; found none of class(es) {absent[:5]} among labels "
                    f"{min(seen)} … {max(seen)}. Number the classes from 0, or give n_classes"
                )
    dataset["n_classes"] = n_classes.get(
        name, int(max(dataset["y_train"].max(), dataset["y_test"].max()) + 1)
    )
    dataset["input_shape"] = list(dataset["x_train"].shape[1:])
    where = f" from {path}" if name == "file" else f" in {archive_folder}" if archive_folder else ""
    check_labels(dataset, f"data set {name!r}{where}")
    dataset["sha256"] = tensor_checksum(dataset)
    return dataset


def check_labels(dataset: dict, source: str) -> None:
    """Refuse labels that are not class indices ``0 … n_classes − 1`` in either split.

    Raises:
        ValueError: naming ``source`` (a file or archive folder), the split, the labels
            found outside the range and how many samples carry them.
    """
    n_classes = int(dataset["n_classes"])
    for split in ("train", "test"):
        labels, inputs = dataset[f"y_{split}"], dataset[f"x_{split}"]
        if labels.dtype != torch.int64 or labels.dim() != 1 or len(labels) != len(inputs):
            raise ValueError(
                f"{source}: {split} labels are {labels.dtype} of shape {list(labels.shape)}; "
                f"expected int64 class indices of shape [{len(inputs)}], one per input"
            )
        outside = (labels < 0) | (labels >= n_classes)
        if bool(outside.any()):
            values = labels[outside].unique()
            found = ", ".join(str(int(v)) for v in values[:5]) + (", …" if len(values) > 5 else "")
            raise ValueError(
                f"{source}: {int(outside.sum())} {split} labels lie outside the "
                f"{n_classes} classes 0…{n_classes - 1} of data set {dataset['name']!r} "
                f"(found {found})"
            )


def save_dataset(dataset: dict, path: str | Path) -> None:
    """Write a prepared data set (atomically: a temporary name, then a rename)."""
    atomic_torch_save(dataset, path)


def load_dataset(path: str | Path) -> dict:
    """Read a prepared data set and verify its checksum.

    Raises:
        ValueError: the file is not a prepared data set, its tensors do not match the
            checksum stored with them, or a label is outside its classes
            (:func:`check_labels`).
    """
    dataset = load_torch_file(
        path, what="prepared data set", required=(*TENSOR_KEYS, "sha256", "n_classes", "name")
    )
    found = tensor_checksum(dataset)
    if found != dataset["sha256"]:
        raise ValueError(
            f"prepared data set {path}: checksum mismatch (expected {dataset['sha256'][:12]}…, "
            f"found {found[:12]}…); the file is corrupt, delete it and rerun prepare_dataset"
        )
    check_labels(dataset, f"prepared data set {path}")
    return dataset
