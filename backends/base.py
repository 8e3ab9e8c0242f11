"""The backend protocol: what graphc asks of a backend, the program and kernel-info types both
backends return, and the registry of backends by device.

A backend serves one device type. It runs single ops eagerly (``run_op``), compiles a fused
schedule into a :class:`Program` (``compile``), tells fusion what it can fuse
(``fusion_policy``, asked while kernels are formed, see :mod:`ir.passes.fusion`) and moves
values between the host and its memory. ``graphc.device.backend_for`` and the compiler find
backends here, by device type or by name::

    from backends import backend_for_device
    b = backend_for_device("cpu")              # the numpy backend
    program = b.compile(fuse(graph, policy=b.fusion_policy()), "f")
    outputs = program(inputs)
    for k in program.kernel_infos(): print(k.name, k.kind, k.nodes)
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np

from ir.errors import UnsupportedError
from ir.passes.fusion import FusionPolicy

# ----------------------------------------------------------------------------
# what a compiled program shows of its kernels


@dataclass
class KernelInfo:
    """One generated kernel as ``explain()``, the dumps and the CLI show it.

    ``nodes`` are the ids of the IR nodes it implements (in the optimized graph) and
    ``node_text`` their printed form. ``kernel`` is the backend's own kernel object, when
    there is one (a Triton kernel, which can be compiled ahead of time for a GPU target).
    """

    name: str
    kind: str
    source: str
    nodes: list
    node_text: list = field(default_factory=list)
    kernel: object = field(default=None, repr=False, compare=False)

    def compile_ahead(self, target: str = "sm_90") -> str:
        """Compile this kernel for a GPU ``target`` (``"sm_90"``, ``"sm_80"``...) and return its PTX."""
        compile_ahead = getattr(self.kernel, "compile_ahead", None)
        if compile_ahead is None:
            raise UnsupportedError(
                f"kernel {self.name} is a {self.kind} kernel without a GPU form; ahead-of-time compilation "
                "applies to Triton kernels (compile with backend='triton')"
            )
        return compile_ahead(target)

    def info(self) -> "KernelInfo":
        return self


class Program:
    """A compiled program: ``program(inputs)`` returns the graph's outputs, then the values of
    its mutations, in order.

    ``source`` is the whole generated text (kernels and the host code that strings them
    together), ``kernels`` the backend's kernel objects, ``plan`` the memory plan where the
    backend has one. Subclasses say how a call runs (``__call__``).
    """

    def __init__(self, name: str, source: str, kernels: list, fn=None, plan=None):
        self.name = name
        self.source = source
        self.kernels = kernels
        self.fn = fn
        self.plan = plan

    def __call__(self, inputs) -> list:
        return self.fn(inputs)

    def kernel_infos(self) -> list:
        """One :class:`KernelInfo` per generated kernel, in execution order."""
        return [k.info() for k in self.kernels]

    def __repr__(self) -> str:
        return f"<graphc {type(self).__name__} {self.name}: {len(self.kernels)} kernels>"


# ----------------------------------------------------------------------------
# the backend protocol


class Backend(ABC):
    """One backend: the device type it serves and what graphc calls on it."""

    #: the backend's name (``backend=`` of ``graphc.compile``): "numpy", "triton"
    name: str = ""
    #: the device type whose tensors it holds: "cpu", "cuda"
    device_type: str = ""

    @abstractmethod
    def run_op(self, opdef, arrays, attrs, shape, dtype):
        """Run one primitive eagerly on this backend's arrays; returns the result array."""

    @abstractmethod
    def compile(self, schedule, name: str = "graph") -> Program:
        """Generate and load the program for a fused :class:`~ir.passes.fusion.Schedule`."""

    def fusion_policy(self) -> FusionPolicy:
        """What this backend can fuse (asked by fusion while it forms kernels)."""
        return FusionPolicy()

    def configure(self, **options) -> None:
        """Settings the frontend passes before code generation (``allow_tf32``: fp32 matmuls may
        use TF32 tensor cores). A backend ignores the ones that do not apply to it (the CPU
        computes float32 matmuls in float32 whatever the setting)."""

    def to_host(self, array) -> np.ndarray:
        """``array``'s values as a numpy array."""
        return np.asarray(array)

    def from_host(self, array, dtype):
        """A new array of this backend holding ``array``'s values (graphc dtype ``dtype``)."""
        return np.array(array, copy=True)

    def synchronize(self) -> None:
        """Wait until queued work is done (a no-op where work runs synchronously)."""

    def __repr__(self) -> str:
        return f"<graphc backend {self.name} ({self.device_type})>"


# ----------------------------------------------------------------------------
# the registry


@dataclass
class _Entry:
    name: str
    device_type: str
    factory: object  # () -> Backend; called once, on first use
    backend: Backend | None = None


_registry: dict[str, _Entry] = {}  # by name
_lock = threading.Lock()


def register_backend(name: str, device_type: str, factory) -> None:
    """Register backend ``name`` for tensors of ``device_type``.

    ``factory`` is called (once) the first time the backend is asked for, so an optional
    backend whose imports are heavy (Triton) costs nothing until it is used. A later
    registration of the same name or device type replaces the earlier one.
    """
    with _lock:
        for other in [e for e in _registry.values() if e.device_type == device_type and e.name != name]:
            del _registry[other.name]
        _registry[name] = _Entry(name, device_type, factory)


def _resolve(entry: _Entry) -> Backend:
    if entry.backend is None:
        backend = entry.factory()
        with _lock:
            if entry.backend is None:
                entry.backend = backend
    return entry.backend


def backend_named(name: str) -> Backend:
    """The backend called ``name`` ("numpy", "triton")."""
    entry = _registry.get(name)
    if entry is None:
        known = " or ".join(repr(n) for n in sorted(_registry))
        raise UnsupportedError(f"unknown backend {name!r}; expected {known}")
    return _resolve(entry)


def backend_for_device(device_type: str) -> Backend:
    """The backend that holds tensors on devices of type ``device_type`` ("cpu", "cuda")."""
    for entry in _registry.values():
        if entry.device_type == device_type:
            return _resolve(entry)
    known = ", ".join(repr(e.device_type) for e in _registry.values())
    raise UnsupportedError(f"no backend serves device type {device_type!r}; registered: {known}")


def registered_backends() -> dict:
    """``{name: device type}`` of every registered backend (loaded or not)."""
    return {e.name: e.device_type for e in _registry.values()}
