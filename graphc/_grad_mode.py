"""Grad mode: ``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``inference_mode``.

Each is a context manager and a decorator, as in PyTorch. The state is
thread-local so a data-loader thread cannot switch grad off for the trainer.
Public as ``graphc.autograd.grad_mode``; it lives here, below the Tensor and
the dispatcher, which read it on every op.
"""

from __future__ import annotations

import functools
import threading

_state = threading.local()


# The thread's flags live in its ``_state.__dict__``: "enabled" (grad mode), "inference"
# (inside inference_mode) and "record", the two combined, kept current by the setters below
# because every op reads it (a getattr that misses a threading.local attribute costs ~0.4 us).


def is_grad_enabled() -> bool:
    """Whether ops on tensors that require grad record history now: grad mode is on and
    inference mode is off (inference mode wins over ``enable_grad``, as in PyTorch)."""
    return _state.__dict__.get("record", True)


def grad_mode_enabled() -> bool:
    """The grad mode flag alone (PyTorch's ``is_grad_enabled``, True under ``enable_grad``
    even inside ``inference_mode``); public as ``graphc.is_grad_enabled``."""
    return _state.__dict__.get("enabled", True)


def is_inference_mode_enabled() -> bool:
    """Whether an ``inference_mode()`` region is active in this thread."""
    return _state.__dict__.get("inference", False)


INFERENCE_TENSOR_MESSAGE = (
    "Inplace update to inference tensor outside InferenceMode is not allowed.You can make a clone to get a "
    "normal tensor before doing inplace update.See https://github.com/pytorch/rfcs/pull/17 for more details.")


def _set(enabled: bool) -> None:
    flags = _state.__dict__
    flags["enabled"] = on = bool(enabled)
    flags["record"] = on and not flags.get("inference", False)


def _set_inference(mode: bool) -> None:
    flags = _state.__dict__
    flags["inference"] = on = bool(mode)
    flags["record"] = flags.get("enabled", True) and not on


class _GradModeBase:
    _target: bool = True

    def __enter__(self):
        self._prev = grad_mode_enabled()
        _set(self._target)
        return self

    def __exit__(self, *exc):
        _set(self._prev)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class _NoParamDecorator(_GradModeBase):
    """Also usable as a bare decorator (``@graphc.no_grad``), as in PyTorch 2."""

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)


class no_grad(_NoParamDecorator):
    """Context manager and decorator that stops recording autograd history.

    >>> with graphc.no_grad():
    ...     y = x * 2          # y.requires_grad is False
    """

    _target = False


class enable_grad(_NoParamDecorator):
    """Context manager and decorator that turns recording back on inside ``no_grad``."""

    _target = True


class inference_mode(_GradModeBase):
    """``no_grad`` that ``enable_grad`` cannot turn back on, whose new tensors are inference
    tensors (``is_inference()``): they may not be saved for backward, nor written in place
    outside inference mode, as in PyTorch. ``inference_mode(False)`` turns it off inside."""

    def __init__(self, mode: bool = True):
        self._mode = bool(mode)
        self._target = not mode

    def __enter__(self):
        self._prev_inference = is_inference_mode_enabled()
        _set_inference(self._mode)
        return super().__enter__()

    def __exit__(self, *exc):
        _set_inference(self._prev_inference)
        return super().__exit__(*exc)

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with inference_mode(self._mode):
                return fn(*args, **kwargs)

        return wrapper


class set_grad_enabled(_GradModeBase):
    """Set grad mode to ``mode``: as a function call, a context manager or a decorator."""

    def __init__(self, mode: bool):
        self._prev = grad_mode_enabled()
        self._target = bool(mode)
        _set(mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _set(self._prev)
        return False

    def __call__(self, fn):
        _set(self._prev)
        mode = self._target

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper


def zero_grads(params, set_to_none: bool = True) -> None:
    """Reset ``.grad`` of ``params``: to None, or to zeros in place (``Module.zero_grad``
    and ``Optimizer.zero_grad`` share this). Goes through the ``.grad`` property so that
    inside ``@graphc.compile`` the trace sees the change."""
    for p in params:
        if set_to_none:  # without reading .grad: a compiled step then needs no guard on it
            p.grad = None
            continue
        g = p.grad
        if g is None:
            continue
        if g._grad_fn is not None:
            g.detach_()
        else:
            g.requires_grad_(False)
        with no_grad():
            g.zero_()
