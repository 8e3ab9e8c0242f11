"""Padding layers: ``ZeroPad``, ``ConstantPad``, ``ReflectionPad``, ``ReplicationPad`` and
``CircularPad`` in 1, 2 and 3 dims, over :func:`graphc.nn.functional.pad`."""

from __future__ import annotations

from .. import functional as F
from .module import Module

__all__ = [
    f"{kind}Pad{n}d" for kind in ("Zero", "Constant", "Reflection", "Replication", "Circular") for n in (1, 2, 3)
]


def _padding(padding, n: int) -> tuple:
    if isinstance(padding, int):
        return (padding,) * (2 * n)
    padding = tuple(int(p) for p in padding)
    if len(padding) != 2 * n:
        raise ValueError(f"Padding should have {2 * n} elements (got {len(padding)})")
    return padding


class _PadNd(Module):
    _n = 1
    _mode = "constant"

    def __init__(self, padding):
        super().__init__()
        self.padding = _padding(padding, self._n)

    def forward(self, input):
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value: float):
        super().__init__(padding)
        self.value = value

    def forward(self, input):
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


def _make(kind: str, base: type, mode: str, n: int, doc: str) -> type:
    return type(f"{kind}Pad{n}d", (base,), {"_n": n, "_mode": mode, "__doc__": doc, "__module__": __name__})


ZeroPad1d = _make("Zero", _ZeroPadNd, "constant", 1, "Pad the last dim with zeros: padding (left, right).")
ZeroPad2d = _make("Zero", _ZeroPadNd, "constant", 2, "Pad the last 2 dims with zeros: (left, right, top, bottom).")
ZeroPad3d = _make("Zero", _ZeroPadNd, "constant", 3, "Pad the last 3 dims with zeros.")
ConstantPad1d = _make("Constant", _ConstantPadNd, "constant", 1, "Pad the last dim with a constant value.")
ConstantPad2d = _make("Constant", _ConstantPadNd, "constant", 2, "Pad the last 2 dims with a constant value.")
ConstantPad3d = _make("Constant", _ConstantPadNd, "constant", 3, "Pad the last 3 dims with a constant value.")
ReflectionPad1d = _make("Reflection", _PadNd, "reflect", 1, "Pad the last dim with its reflection (edge excluded).")
ReflectionPad2d = _make("Reflection", _PadNd, "reflect", 2, "Pad the last 2 dims with their reflection.")
ReflectionPad3d = _make("Reflection", _PadNd, "reflect", 3, "Pad the last 3 dims with their reflection.")
ReplicationPad1d = _make("Replication", _PadNd, "replicate", 1, "Pad the last dim by repeating its edge values.")
ReplicationPad2d = _make("Replication", _PadNd, "replicate", 2, "Pad the last 2 dims by repeating edge values.")
ReplicationPad3d = _make("Replication", _PadNd, "replicate", 3, "Pad the last 3 dims by repeating edge values.")
CircularPad1d = _make("Circular", _PadNd, "circular", 1, "Pad the last dim by wrapping around.")
CircularPad2d = _make("Circular", _PadNd, "circular", 2, "Pad the last 2 dims by wrapping around.")
CircularPad3d = _make("Circular", _PadNd, "circular", 3, "Pad the last 3 dims by wrapping around.")
