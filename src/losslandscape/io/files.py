"""Atomic file writes: a temporary name in the same folder, renamed when complete.

A killed job therefore never leaves a truncated file under the final name.
"""

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def atomic_path(path: str | Path) -> tuple[Path, Path]:
    """A temporary path in the folder of ``path`` (created if needed) and ``path`` itself."""
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(handle)
    return Path(temporary), final


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> None:
    """Call ``write(temporary_path)``, then rename the result to ``path`` with the usual
    permissions (``mkstemp`` makes files private, 0600; shared results must be readable)."""
    temporary, final = atomic_path(path)
    try:
        write(temporary)
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, final)
    finally:
        temporary.unlink(missing_ok=True)


def file_digest(path: str | Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes (``hashlib`` algorithm name), read in 1 MiB blocks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_csv(frame, path: str | Path, **options) -> None:
    """A pandas DataFrame → CSV at ``path`` (no index), atomically; ``options`` go to
    ``DataFrame.to_csv`` (e.g. ``float_format``)."""
    atomic_write(path, lambda temporary: frame.to_csv(temporary, index=False, **options))


def write_text(path: str | Path, text: str) -> None:
    """``text`` → ``path`` (UTF-8), atomically."""
    atomic_write(path, lambda temporary: temporary.write_text(text, encoding="utf-8"))


def save_figure(figure, path: str | Path, dpi: int) -> None:
    """A matplotlib figure → ``path`` atomically, in the format its suffix names."""
    suffix = Path(path).suffix.lstrip(".")
    atomic_write(path, lambda temporary: figure.savefig(temporary, format=suffix, dpi=dpi))
