"""Plain-data torch files (data sets, checkpoints, directions): atomic saves, checked loads."""

from pathlib import Path

import torch

from losslandscape.io.files import atomic_write


def atomic_torch_save(obj: object, path: str | Path) -> None:
    """``torch.save`` to a temporary name in the same folder, then rename to ``path``."""
    atomic_write(path, lambda temporary: torch.save(obj, temporary))


def load_torch_file(path: str | Path, what: str, required: tuple[str, ...]) -> dict:
    """Load a plain-data torch file (``weights_only=True``) and check its top-level keys.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file cannot be read as a torch file, or lacks a required key.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{what} {path}: no such file")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for truncated/corrupt files
        raise ValueError(
            f"{what} {path}: cannot be read ({type(error).__name__}: {error})"
        ) from None
    if not isinstance(obj, dict):
        raise ValueError(f"{what} {path}: expected a dict, found {type(obj).__name__}")
    missing = [key for key in required if key not in obj]
    if missing:
        raise ValueError(f"{what} {path}: missing keys {missing}; found {sorted(obj)}")
    return obj
