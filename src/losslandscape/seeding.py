"""Determinism in one place: a seed per run, and a generator per (seed, purpose).

Everything that must be reproducible draws from a ``torch.Generator`` made by
:func:`generator_for`, never from the global RNG, so adding a random draw for one purpose
(say, data order) cannot shift the numbers of another (say, random directions).
"""

import hashlib
import random

import numpy as np
import torch


def derived_seed(seed: int, purpose: str) -> int:
    """A 63-bit seed derived from ``(seed, purpose)``, stable across Python runs.

    ``hash()`` is salted per process, so a SHA-256 of the text is used instead.
    """
    digest = hashlib.sha256(f"{int(seed)}:{purpose}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def generator_for(seed: int, purpose: str) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded from ``(seed, purpose)``."""
    gen = torch.Generator(device="cpu")
    gen.manual_seed(derived_seed(seed, purpose))
    return gen


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch global RNGs and ask torch for deterministic kernels.

    The global RNGs are seeded only as a safety net for library code we do not control;
    our own random draws use :func:`generator_for`.
    """
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def seeded_subset(n_total: int, size: int | None, seed: int, purpose: str) -> torch.Tensor:
    """Indices (sorted) of a fixed, seeded subset of ``size`` of ``n_total`` samples; all
    samples when ``size`` is None or not smaller than ``n_total``."""
    if size is None or size >= n_total:
        return torch.arange(n_total)
    order = torch.randperm(n_total, generator=generator_for(seed, purpose))
    return order[:size].sort().values
