"""Official data set archives: where they are, how to fetch them, how to read them.

No torchvision (PyPI's torchvision 0.28 is a CUDA build that cannot be imported beside the
pinned CPU torch):
the CIFAR python pickles and the MNIST/Fashion-MNIST IDX files are read directly.

Downloads go to ``<file>.part`` and continue from its length with an HTTP Range request
when a transfer was cut; the finished file is checked against its md5 and only then
renamed into place. Without a network the error names the URL and where to put the file.
"""

import gzip
import logging
import os
import pickle
import tarfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from losslandscape.io.files import file_digest

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Archive:
    """One file of a data set: its name, official base URL and md5."""

    filename: str
    base_url: str
    md5: str


_CIFAR = "https://www.cs.toronto.edu/~kriz/"
_MNIST = "https://ossci-datasets.s3.amazonaws.com/mnist/"
_FASHION = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
_IDX_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
ARCHIVES: dict[str, tuple[Archive, ...]] = {
    "cifar10": (Archive("cifar-10-python.tar.gz", _CIFAR, "c58f30108f718f92721af3b95e74349a"),),
    "cifar100": (Archive("cifar-100-python.tar.gz", _CIFAR, "eb9058c3a382ffc7106e4002c42a8d85"),),
    "mnist": tuple(
        Archive(name, _MNIST, md5)
        for name, md5 in zip(
            _IDX_FILES,
            (
                "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                "d53e105ee54ea40749a09fcbcd1e9432",
                "9fb629c4189551a2d022fa330f9573f3",
                "ec29112dd5afa0611ce80d1b7f02629c",
            ),
            strict=True,
        )
    ),
    "fashion_mnist": tuple(
        Archive(name, _FASHION, md5)
        for name, md5 in zip(
            _IDX_FILES,
            (
                "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                "25c81989df183df01b3e8a0aad5dffbe",
                "bef4ecab320f06d8554ea6380940ec79",
                "bb300cfdad3c16e7a12a480ee83cd310",
            ),
            strict=True,
        )
    ),
}


def file_md5(path: str | Path) -> str:
    """The md5 the official mirrors publish for their archives."""
    return file_digest(path, "md5")


def archive_of(dataset: str, filename: str) -> Archive:
    for archive in ARCHIVES.get(dataset, ()):
        if archive.filename == filename:
            return archive
    raise ValueError(f"{filename!r} is not an archive of data set {dataset!r}")


def download(
    url: str, out: str | Path, md5: str, timeout: float = 60.0, chunk: int = 1 << 20
) -> None:
    """Fetch ``url`` to ``out``, resuming a previous ``out.part``, and check its md5.

    Raises:
        ConnectionError: the URL cannot be reached (offline); the message names the URL
            and where to place the file instead.
        ValueError: the finished file's md5 differs (the partial file is removed).
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(out.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            resumed = have and getattr(response, "status", 200) == 206
            if have and not resumed:
                log.info("%s does not resume; downloading from the start", url)
            with open(part, "ab" if resumed else "wb") as handle:
                while block := response.read(chunk):
                    handle.write(block)
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise ConnectionError(
            f"cannot download {url} ({reason}). Without network access, fetch it elsewhere "
            f"and place it at {out} (md5 {md5}), or set dataset.mirror to a reachable copy"
        ) from None
    found = file_md5(part)
    if found != md5:
        part.unlink()
        raise ValueError(
            f"download of {url}: md5 {found}, expected {md5}; the file was removed, run again"
        )
    os.replace(part, out)
    log.info("downloaded %s → %s (md5 verified)", url, out)


def verify(path: str | Path, md5: str) -> None:
    """Raise a ValueError naming ``path`` when its md5 is not ``md5``."""
    found = file_md5(path)
    if found != md5:
        raise ValueError(
            f"archive {path}: md5 {found}, expected {md5}; the file is corrupt or not the "
            f"official one: delete it and download again"
        )


# CIFAR-100 label kind → class count (config dataset.labels): the 100 fine classes or the
# 20 coarse superclasses
CIFAR100_LABELS = {"fine": 100, "coarse": 20}


def read_cifar(archive: str | Path, labels: str = "fine") -> dict[str, np.ndarray]:
    """Images and labels from ``cifar-10-python.tar.gz`` or ``cifar-100-python.tar.gz``.

    Returns ``x_train``/``x_test`` uint8 ``(n, 3, 32, 32)`` and ``y_train``/``y_test`` int64
    ``(n,)``; for CIFAR-100 the ``fine`` (100) or ``coarse`` (20) labels. The pickles'
    dict keys are bytes in the official files.
    """
    with tarfile.open(archive, "r:gz") as tar:
        members = {m.name: m for m in tar.getmembers() if m.isfile()}

        def load(name: str) -> dict:
            if name not in members:
                raise ValueError(
                    f"archive {archive}: {name} is missing; not an official CIFAR archive"
                )
            return pickle.load(tar.extractfile(members[name]), encoding="bytes")

        if any(name.startswith("cifar-10-batches-py/") for name in members):
            train = [load(f"cifar-10-batches-py/data_batch_{i}") for i in range(1, 6)]
            test = [load("cifar-10-batches-py/test_batch")]
            key = b"labels"
        else:
            train, test = [load("cifar-100-python/train")], [load("cifar-100-python/test")]
            if labels not in CIFAR100_LABELS:
                raise ValueError(
                    f"CIFAR-100 labels {labels!r}: choose {' or '.join(CIFAR100_LABELS)}"
                )
            key = f"{labels}_labels".encode()

    def stack(batches: list[dict]) -> tuple[np.ndarray, np.ndarray]:
        images = np.concatenate([np.asarray(b[b"data"], dtype=np.uint8) for b in batches])
        targets = np.concatenate([np.asarray(b[key], dtype=np.int64) for b in batches])
        return images.reshape(-1, 3, 32, 32), targets

    x_train, y_train = stack(train)
    x_test, y_test = stack(test)
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> np.ndarray:
    """An IDX array (MNIST's format: magic ``0 0 type ndim``, big-endian int32 sizes, data),
    gzip-compressed or not."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as handle:
        raw = handle.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(f"IDX file {path}: bad magic number {raw[:4].hex()}")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    data = raw[4 + 4 * ndim :]
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) != expected:
        raise ValueError(
            f"IDX file {path}: {len(data)} data bytes, expected {expected} for shape {shape}"
        )
    return np.frombuffer(data, dtype=dtype).reshape(shape)


def read_idx_dataset(folder: str | Path) -> dict[str, np.ndarray]:
    """MNIST or Fashion-MNIST from the four official ``*.gz`` IDX files in ``folder``:
    uint8 images ``(n, 28, 28)`` and int64 labels."""
    folder = Path(folder)
    arrays = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images = read_idx(folder / f"{prefix}-images-idx3-ubyte.gz")
        labels = read_idx(folder / f"{prefix}-labels-idx1-ubyte.gz").astype(np.int64)
        if len(images) != len(labels):
            raise ValueError(f"{folder}: {len(images)} {split} images but {len(labels)} labels")
        arrays[f"x_{split}"], arrays[f"y_{split}"] = images, labels
    return arrays
