"""Data sets as tensors with a fixed train/test split and the study's normalization.

A prepared data set is a plain dict (saved with ``torch.save``, loadable with
``weights_only=True``)::

    name: str              x_train: float32 (n_train, *input_shape)
    n_classes: int         y_train: int64   (n_train,)
    input_shape: list      x_test:  float32 (n_test, *input_shape)
    normalization: dict    y_test:  int64   (n_test,)
    sha256: str            (of the four tensors' bytes; checked on load)

Normalization is a scalar standardization with the *training* set's mean and std, applied to
both splits (the original study's test images skipped it; ours never do).
"""

import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from losslandscape.torchfiles import atomic_torch_save, load_torch_file

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


def tensor_checksum(dataset: dict) -> str:
    """SHA-256 over the bytes of the four split tensors, in a fixed order."""
    digest = hashlib.sha256()
    for key in TENSOR_KEYS:
        digest.update(dataset[key].contiguous().numpy().tobytes())
    return digest.hexdigest()


def prepare_dataset(name: str) -> dict:
    """Build data set ``name`` as standardized float32 tensors (see the module docstring).

    Raises:
        ValueError: ``name`` is not a known data set.
    """
    if name not in GENERATORS:
        known = ", ".join(GENERATORS)
        raise ValueError(f"dataset {name!r} is unknown; choose one of {known}")
    arrays = GENERATORS[name]()
    mean = float(arrays["x_train"].mean())
    std = float(arrays["x_train"].std())
    dataset = {
        "format_version": FORMAT_VERSION,
        "name": name,
        "x_train": torch.from_numpy((arrays["x_train"] - mean) / std).float(),
        "y_train": torch.from_numpy(arrays["y_train"]).long(),
        "x_test": torch.from_numpy((arrays["x_test"] - mean) / std).float(),
        "y_test": torch.from_numpy(arrays["y_test"]).long(),
        "normalization": {"kind": "standardize", "mean": mean, "std": std},
    }
    dataset["n_classes"] = int(max(dataset["y_train"].max(), dataset["y_test"].max()) + 1)
    dataset["input_shape"] = list(dataset["x_train"].shape[1:])
    dataset["sha256"] = tensor_checksum(dataset)
    return dataset


def save_dataset(dataset: dict, path: str | Path) -> None:
    """Write a prepared data set (atomically: a temporary name, then a rename)."""
    atomic_torch_save(dataset, path)


def load_dataset(path: str | Path) -> dict:
    """Read a prepared data set and verify its checksum.

    Raises:
        ValueError: the file is not a prepared data set or its tensors do not match the
            checksum stored with them.
    """
    dataset = load_torch_file(path, what="prepared data set", required=(*TENSOR_KEYS, "sha256"))
    found = tensor_checksum(dataset)
    if found != dataset["sha256"]:
        raise ValueError(
            f"prepared data set {path}: checksum mismatch (expected {dataset['sha256'][:12]}…, "
            f"found {found[:12]}…); the file is corrupt, delete it and rerun prepare_dataset"
        )
    return dataset
