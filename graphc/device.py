"""Devices: ``graphc.device('cpu')``, ``'cuda'``, and which backend runs each.

The CPU runs on the numpy backend. ``cuda`` needs the Triton backend and a GPU;
asking for it without them raises :class:`~ir.errors.DeviceError` saying so.
:mod:`graphc.cuda` registers that backend here (:func:`register_backend`): it
probes the machine and imports Triton, which this module, read by the Tensor
itself, must not do.
"""

from __future__ import annotations

import operator
import os

from backends import backend_for_device
from ir.errors import DeviceError


class device:
    """A device, as in PyTorch: ``graphc.device('cuda:0')``, ``graphc.device('cpu')``."""

    __slots__ = ("type", "index")

    def __init__(self, type, index: int | None = None):
        if isinstance(type, device):
            type, index = type.type, type.index
        if not isinstance(type, str):
            raise TypeError(f"device: expected a string like 'cpu' or 'cuda:0', got {type!r}")
        if ":" in type:
            text = type
            type, _, idx = type.partition(":")
            if not idx.isdigit() or not idx.isascii():  # 'cuda:abc', 'cuda:-1', 'cuda:0:1'
                raise DeviceError(f"Invalid device string: {text!r} (expected 'cpu', 'cuda' or 'cuda:<index>')")
            if index is not None:
                raise DeviceError(
                    f"device: type (string) must not include an index because index was passed explicitly: {text!r}"
                )
            index = int(idx)
        if type not in ("cpu", "cuda"):
            raise DeviceError(f"device: unknown device type {type!r}; expected 'cpu' or 'cuda'")
        if index is not None:
            try:
                index = operator.index(index)
            except TypeError:
                raise TypeError(f"device: index must be an int, got {index!r}") from None
            if index < 0:
                raise DeviceError(f"Device index must not be negative, got {index}")
        self.type = type
        self.index = index

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and (self.index or 0) == (other.index or 0)

    def __hash__(self):
        return hash((self.type, self.index or 0))

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"


_CPU = device("cpu")


def cpu_device() -> device:
    return _CPU


_default: list = []


def default_device() -> device:
    """Where factories put tensors without ``device=``: ``set_default_device``, else the
    ``GRAPHC_DEVICE`` environment variable, else the CPU."""
    if not _default:
        _default.append(device(os.environ.get("GRAPHC_DEVICE") or "cpu"))
    return _default[0]


def set_default_device(d) -> None:
    """Make ``d`` (``'cpu'``, ``'cuda'``, a ``graphc.device`` or None for the CPU) the device
    of tensors that factories create without ``device=``, as ``torch.set_default_device``."""
    _default[:] = [as_device(d)]


def get_default_device() -> device:
    return default_device()


def as_device(d) -> device:
    if d is None:
        return _CPU
    if isinstance(d, device):
        return d
    if isinstance(d, int):
        return device("cuda", d)
    return device(d)


_CPU_BACKEND = backend_for_device("cpu")

# device type -> a function returning the backend (backends.Backend) that executes ops there; the
# frontend's getters first check the device is usable and raise DeviceError saying why not.
_BACKENDS: dict = {"cpu": lambda: _CPU_BACKEND}


def register_backend(device_type: str, getter) -> None:
    """Make ``getter()`` the backend for tensors on ``device_type`` devices (``graphc.cuda``
    registers the Triton backend). The getter may raise :class:`~ir.errors.DeviceError` when
    the device is unusable."""
    _BACKENDS[device_type] = getter


def backend_for(d: device):
    """The backend (:class:`backends.Backend`) that executes ops for tensors on ``d``."""
    if d.type == "cpu":  # every eager CPU op asks: keep it a comparison
        return _CPU_BACKEND
    getter = _BACKENDS.get(d.type)
    if getter is None:
        raise DeviceError(f"no backend is registered for device type {d.type!r} (import graphc first)")
    return getter()
