"""The C kernels of the batch-innermost convolution stack, compiled on first use (CPU).

``batch_last_kernel.c`` is compiled with the system's C compiler (``$CC``, else ``cc``)
for this machine's instruction set (``-march=native``) into a cache directory
(``$LOSSLANDSCAPE_CACHE``, else ``$XDG_CACHE_HOME/losslandscape``, else
``~/.cache/losslandscape``), under a name that hashes the source, the compiler, the flags
and the CPU, and is loaded with ``ctypes``. Where there is no compiler, the compile fails
or the cache cannot be written, :func:`batch_last_kernels` returns ``None`` (logged once)
and :mod:`losslandscape.engine.cpu.batch_last` uses torch's batched GEMM instead; so does
``LOSSLANDSCAPE_NATIVE=0``. A shared library of plain C functions rather than a torch
extension, because it compiles in a fraction of a second with no Python or torch headers.
"""

import ctypes
import functools
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

SOURCE = Path(__file__).with_name("batch_last_kernel.c")
FLAGS = ("-O3", "-march=native", "-shared", "-fPIC")
LIBRARIES = ("-lm",)  # logf
# the C ``kind`` argument of conv_batch_last
IDENTITY, RELU, LEAKY_RELU, SIGMOID = 0, 1, 2, 3
LANES = 16  # the kernel's vector width in floats: every pitch is a multiple of it


def cache_directory() -> Path:
    """Where compiled kernels are kept."""
    if "LOSSLANDSCAPE_CACHE" in os.environ:
        return Path(os.environ["LOSSLANDSCAPE_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "losslandscape"


def _cpu_signature() -> str:
    """What ``-march=native`` compiles for: the CPU's model name and feature flags."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    lines = [line for line in text.splitlines() if line.startswith(("model name", "flags"))]
    return "\n".join(dict.fromkeys(lines))  # every core repeats them


def _compile(compiler: str, library: Path) -> None:
    """Compile :data:`SOURCE` into ``library`` atomically (parallel workers may race)."""
    library.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=library.parent, suffix=".so.partial")
    os.close(descriptor)
    try:
        subprocess.run(
            [compiler, *FLAGS, "-o", temporary, str(SOURCE), *LIBRARIES],
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        )
        os.replace(temporary, library)
    finally:
        Path(temporary).unlink(missing_ok=True)


@dataclass(frozen=True)
class Kernels:
    """The library's functions, as ctypes functions; the C comments give the arguments."""

    conv: Callable  # conv_batch_last: one layer's products, bias and activation
    cross_entropy_sums: Callable  # a head's output reduced to the loss sums and correct


@functools.cache
def batch_last_kernels() -> Kernels | None:
    """The compiled :class:`Kernels`, or ``None`` where they cannot be built here (the
    reason is logged)."""
    if os.environ.get("LOSSLANDSCAPE_NATIVE", "1") == "0":
        log.info("native kernel off (LOSSLANDSCAPE_NATIVE=0): torch's GEMM instead")
        return None
    compiler = shutil.which(os.environ.get("CC", "cc"))
    if compiler is None:
        log.info("no C compiler (%s) for the native kernel: torch's GEMM instead", "$CC or cc")
        return None
    try:
        version = subprocess.run(
            [compiler, "--version"], check=True, capture_output=True, text=True, timeout=30
        ).stdout
        key = hashlib.sha256(
            "\0".join(
                [SOURCE.read_text(), compiler, version, *FLAGS, *LIBRARIES, _cpu_signature()]
            ).encode()
        ).hexdigest()[:16]
        library = cache_directory() / f"batch_last_kernel-{key}.so"
        if not library.exists():
            _compile(compiler, library)
            log.info("native kernel compiled: %s", library)
        loaded = ctypes.CDLL(str(library))
    except (OSError, subprocess.SubprocessError) as error:
        detail = getattr(error, "stderr", None) or error
        log.warning("native kernel not built (%s): torch's GEMM instead", detail)
        return None
    conv, cross_entropy = loaded.conv_batch_last, loaded.cross_entropy_sums
    conv.restype = None
    conv.argtypes = [ctypes.c_void_p] * 4 + [ctypes.c_long] * 7 + [ctypes.c_int, ctypes.c_float]
    cross_entropy.restype = ctypes.c_long
    cross_entropy.argtypes = (
        [ctypes.c_void_p] * 2
        + [ctypes.c_long] * 3
        + [
            ctypes.c_void_p,
            ctypes.c_long,
        ]
    )
    return Kernels(conv, cross_entropy)
