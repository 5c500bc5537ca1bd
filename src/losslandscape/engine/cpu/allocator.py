"""Keep freed memory in the process instead of returning it to the OS after every batch.

Measured on this project's 2-core Linux machines: glibc's *dynamic* mmap/trim thresholds
make some processes (chosen by allocation order, so at random) unmap and re-fault the
forward pass's large temporaries on every batch, which halved grid throughput (25 instead
of 60 points/s, a third of the time in the kernel). Fixed thresholds remove that mode. The
env vars MALLOC_MMAP_THRESHOLD_/MALLOC_TRIM_THRESHOLD_ do the same but must be set before
the process starts, which Snakemake script jobs do not let us do.
"""

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD = -1  # from glibc's malloc.h
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 256 * 2**20  # above every temporary of the models we run on CPU
TRIM_THRESHOLD_BYTES = 512 * 2**20


def keep_freed_memory() -> bool:
    """Fix glibc's mmap and trim thresholds; return False (and change nothing) elsewhere."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to tune
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    ok = mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1
    ok &= mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES) == 1
    log.debug("glibc mallopt thresholds fixed: %s", ok)
    return bool(ok)
