"""Choosing the torch device a stage computes on.

``auto`` takes CUDA when present, then Apple's MPS, then an XLA device (TPU) when
``torch_xla`` is installed, else the CPU. Naming a device that is not there is an error
that says what was found, not a silent fall-back to the CPU.
"""

import importlib.util

import torch

DEVICES = ("auto", "cpu", "cuda", "mps", "xla")


def _xla_device() -> torch.device:
    import torch_xla.core.xla_model as xm  # optional: only on TPU machines

    return xm.xla_device()


def available_devices() -> list[str]:
    """Names of the devices this machine offers, best first."""
    found = []
    if torch.cuda.is_available():
        found.append("cuda")
    if torch.backends.mps.is_available():
        found.append("mps")
    if importlib.util.find_spec("torch_xla") is not None:
        found.append("xla")
    return [*found, "cpu"]


def resolve_device(name: str) -> torch.device:
    """The ``torch.device`` for a configured name (one of :data:`DEVICES`)."""
    if name not in DEVICES:
        raise ValueError(f"device {name!r} is unknown; choose one of {', '.join(DEVICES)}")
    found = available_devices()
    chosen = found[0] if name == "auto" else name
    if chosen not in found:
        raise RuntimeError(
            f"device {name!r} was configured but this machine offers only {', '.join(found)}"
        )
    return _xla_device() if chosen == "xla" else torch.device(chosen)
