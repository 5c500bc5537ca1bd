"""Small data set archives in exactly the official layouts, for the real reading code.

CIFAR: a gzipped tar of python pickles whose dict keys are bytes, as in
``cifar-10-python.tar.gz`` (``cifar-10-batches-py/data_batch_1..5``, ``test_batch``,
``batches.meta``) and ``cifar-100-python.tar.gz`` (``cifar-100-python/train``, ``test``,
``meta``; fine and coarse labels). MNIST and Fashion-MNIST: the four gzipped IDX files.
"""

import gzip
import io
import pickle
import struct
import tarfile
from pathlib import Path

import numpy as np


def _add_pickle(tar: tarfile.TarFile, name: str, obj: dict) -> None:
    payload = pickle.dumps(obj, protocol=2)
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    tar.addfile(info, io.BytesIO(payload))


def _images(rng: np.random.Generator, n: int) -> np.ndarray:
    """``(n, 3072)`` uint8 rows, channel-major like the official pickles."""
    return rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)


def make_cifar10(path: Path, per_batch: int = 20, n_test: int = 30, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    with tarfile.open(path, "w:gz") as tar:
        for index in range(1, 6):
            _add_pickle(
                tar,
                f"cifar-10-batches-py/data_batch_{index}",
                {
                    b"batch_label": f"training batch {index} of 5".encode(),
                    b"labels": rng.integers(0, 10, per_batch).tolist(),
                    b"data": _images(rng, per_batch),
                    b"filenames": [f"img_{index}_{i}.png".encode() for i in range(per_batch)],
                },
            )
        _add_pickle(
            tar,
            "cifar-10-batches-py/test_batch",
            {
                b"batch_label": b"testing batch 1 of 1",
                b"labels": rng.integers(0, 10, n_test).tolist(),
                b"data": _images(rng, n_test),
                b"filenames": [f"test_{i}.png".encode() for i in range(n_test)],
            },
        )
        _add_pickle(
            tar,
            "cifar-10-batches-py/batches.meta",
            {b"label_names": [f"class{i}".encode() for i in range(10)], b"num_vis": 3072},
        )
    return path


def make_cifar100(path: Path, n_train: int = 200, n_test: int = 50, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    with tarfile.open(path, "w:gz") as tar:
        for split, n in (("train", n_train), ("test", n_test)):
            fine = rng.integers(0, 100, n)
            _add_pickle(
                tar,
                f"cifar-100-python/{split}",
                {
                    b"filenames": [f"{split}_{i}.png".encode() for i in range(n)],
                    b"batch_label": f"{split} batch".encode(),
                    b"fine_labels": fine.tolist(),
                    b"coarse_labels": (fine // 5).tolist(),
                    b"data": _images(rng, n),
                },
            )
        _add_pickle(
            tar,
            "cifar-100-python/meta",
            {
                b"fine_label_names": [f"fine{i}".encode() for i in range(100)],
                b"coarse_label_names": [f"coarse{i}".encode() for i in range(20)],
            },
        )
    return path


def _idx(array: np.ndarray) -> bytes:
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim)
    header += b"".join(struct.pack(">I", size) for size in array.shape)
    return header + array.astype(np.uint8).tobytes()


def make_idx_dataset(
    folder: Path, n_train: int = 60, n_test: int = 20, seed: int = 0, classes: int = 10
) -> Path:
    """The four gzipped IDX files of MNIST/Fashion-MNIST with random 28×28 images and
    labels ``0 … classes − 1`` (more than 10: labels the data set does not have)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, classes, n).astype(np.uint8)
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            with gzip.open(folder / f"{prefix}-{kind}-ubyte.gz", "wb") as handle:
                handle.write(_idx(array))
    return folder
