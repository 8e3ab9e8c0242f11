"""Anomaly detection (PyTorch's ``torch.autograd.detect_anomaly``): find the op behind a bad gradient.

While anomaly mode is on:

* every op recorded for autograd keeps the stack of its forward call
  (:func:`graphc._dispatch.record_forward_stack`);
* the eager backward runs node by node (never as one fused program) and checks
  each node's gradients: a NaN raises ``RuntimeError("Function 'LogBackward0'
  returned nan values in its 0th output.")``, and any error in a node's backward
  first warns ``Error detected in LogBackward0. Traceback of forward call that
  caused the error: ...`` with the recorded stack, as PyTorch does.

Both cost time (a stack per op, a NaN test per gradient): use it to debug only.
The mode is global (all threads), as in PyTorch.

>>> with graphc.autograd.detect_anomaly():
...     y = (x * 0).log() * 0
...     y.sum().backward()        # RuntimeError: Function 'MulBackward0' returned nan values ...
"""

from __future__ import annotations

import functools
import warnings

from ir.passes import autodiff

from .. import _dispatch, _state
from .._autograd_graph import GradNode

__all__ = [
    "detect_anomaly",
    "set_detect_anomaly",
    "set_anomaly_enabled",
    "is_anomaly_enabled",
    "is_anomaly_check_nan_enabled",
]


def is_anomaly_enabled() -> bool:
    """True while anomaly detection is on."""
    return _state.ANOMALY["enabled"]


def is_anomaly_check_nan_enabled() -> bool:
    """True when anomaly mode also tests gradients for NaN (``check_nan=True``, the default)."""
    return _state.ANOMALY["check_nan"]


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    """Switch anomaly detection on or off (``torch.set_anomaly_enabled``)."""
    _set(enabled, check_nan)


def _set(mode: bool, check_nan: bool) -> None:
    _state.ANOMALY["enabled"] = bool(mode)
    _state.ANOMALY["check_nan"] = bool(check_nan)


class _ContextDecorator:
    """A context manager that also decorates functions (each call runs inside it)."""

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__(*self._args):
                return fn(*args, **kwargs)

        return wrapper


class detect_anomaly(_ContextDecorator):
    """Turn anomaly detection on inside a ``with`` block (or a decorated function).

    It warns on creation, as PyTorch does: the mode slows every op down.
    """

    def __init__(self, check_nan: bool = True) -> None:
        self._args = (check_nan,)
        self.prev = is_anomaly_enabled()
        self.check_nan = check_nan
        self.prev_check_nan = is_anomaly_check_nan_enabled()
        warnings.warn(
            "Anomaly Detection has been enabled. This mode will increase the runtime and should only be "
            "enabled for debugging.",
            stacklevel=2,
        )

    def __enter__(self) -> None:
        _set(True, self.check_nan)

    def __exit__(self, *exc) -> None:
        _set(self.prev, self.prev_check_nan)


class set_detect_anomaly(_ContextDecorator):
    """Set anomaly detection on or off: at once, and back to the previous mode when used as a
    context manager (``graphc.autograd.set_detect_anomaly(True)`` alone switches it for good)."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self._args = (mode, check_nan)
        self.prev = is_anomaly_enabled()
        self.prev_check_nan = is_anomaly_check_nan_enabled()
        _set(mode, check_nan)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc) -> None:
        _set(self.prev, self.prev_check_nan)


def _warn_forward_stack(node) -> None:
    stack = _dispatch.FORWARD_STACKS.get(node)
    if stack is None:
        return
    warnings.warn(
        f"Error detected in {node.name()}. Traceback of forward call that caused the error:\n{stack}",
        stacklevel=2,
    )


class _Checked:
    """A node seen by the backward loop in anomaly mode: its rule runs, then its gradients are
    tested for NaN; on any error the node's forward stack is shown first."""

    __slots__ = ("node",)

    def __init__(self, node):
        self.node = node

    def __getattr__(self, name):
        return getattr(self.node, name)

    def custom_vjp(self, builder, ctx, g):
        node = self.node
        try:
            grads = autodiff.vjp(builder, node, g)
            if _state.ANOMALY["check_nan"]:
                for i, gi in enumerate(grads):
                    if gi is not None and gi.dtype.is_floating_point and bool(gi.isnan().any()):
                        raise RuntimeError(f"Function '{node.name()}' returned nan values in its {i}th output.")
        except Exception:
            _warn_forward_stack(node)
            raise
        return grads


def checked_ctx(v):
    """The engine's ``ctx_of`` in anomaly mode (see :mod:`graphc.autograd.engine`)."""
    return _Checked(v) if isinstance(v, GradNode) else None
