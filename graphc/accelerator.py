"""``graphc.accelerator``: the PyTorch 2.6+ device-agnostic queries."""

from __future__ import annotations

from . import cuda
from .device import device


def is_available() -> bool:
    """Whether an accelerator (a CUDA GPU) can be used."""
    return cuda.is_available()


def current_accelerator(check_available: bool = False):
    """The accelerator device (``device(type='cuda')``) or None when there is none."""
    if cuda.is_available():
        return device("cuda")
    return None


def device_count() -> int:
    return cuda.device_count()
