"""``graphc.autocast`` / ``graphc.amp.autocast``: a context manager (and decorator) for mixed precision.

>>> with graphc.autocast("cpu", dtype=graphc.bfloat16):
...     out = model(x)            # matmuls and convolutions in bfloat16
>>> loss = criterion(out.float(), y)

See :mod:`graphc._autocast` for the policy and how it is applied.
"""

from __future__ import annotations

import functools
import warnings

from ir import dtypes as dt

from .. import _autocast

__all__ = [
    "autocast", "is_autocast_available", "custom_fwd", "custom_bwd", "is_autocast_enabled", "get_autocast_dtype",
    "set_autocast_enabled", "set_autocast_dtype", "is_autocast_cpu_enabled", "get_autocast_cpu_dtype",
    "set_autocast_cpu_enabled", "set_autocast_cpu_dtype", "clear_autocast_cache", "is_autocast_cache_enabled",
    "set_autocast_cache_enabled", "autocast_increment_nesting", "autocast_decrement_nesting",
]


def is_autocast_available(device_type: str) -> bool:
    """Whether ``autocast`` supports ``device_type`` ('cpu' and 'cuda')."""
    return device_type in _autocast.POLICIES


class autocast:
    """Run the ops in this region in mixed precision, with PyTorch's per-op policy.

    ``device_type``: 'cpu' or 'cuda'; ``dtype``: the lower precision (bfloat16 by default on
    the CPU, float16 on cuda); ``enabled=False`` turns autocast off inside the region (a nested
    ``autocast(enabled=False)`` region runs everything as given). Usable as a decorator.
    """

    def __init__(self, device_type: str, dtype=None, enabled: bool = True, cache_enabled=None):
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        device_type = device_type.split(":")[0]
        if not is_autocast_available(device_type):
            raise RuntimeError(
                f"User specified an unsupported autocast device_type '{device_type}' (graphc supports 'cpu' and 'cuda')"
            )
        self.device = device_type
        self.fast_dtype = _autocast.DEFAULT_DTYPE[device_type] if dtype is None else dtype
        self._enabled = bool(enabled)
        if self._enabled and self.fast_dtype not in _autocast.SUPPORTED_DTYPES[device_type]:
            names = ", ".join(d.name for d in _autocast.SUPPORTED_DTYPES[device_type])
            warnings.warn(
                f"In {device_type} autocast, but the target dtype is not supported ({self.fast_dtype}). Disabling "
                f"autocast. {device_type} Autocast only supports dtypes of {names} currently.",
                stacklevel=2,
            )
            self._enabled = False
        self._prev = []

    def __enter__(self):
        self._prev.append(_autocast.set_region(self.device, self._enabled, self.fast_dtype))
        return self

    def __exit__(self, *exc):
        _autocast.restore_region(self.device, self._prev.pop())
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def decorated(*args, **kwargs):
            with autocast(self.device, self.fast_dtype, self._enabled):
                return fn(*args, **kwargs)

        return decorated


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """Whether an autocast region is active for ``device_type`` (cuda by default, as PyTorch)."""
    return _autocast.region(device_type or "cuda")[0]


def get_autocast_dtype(device_type: str):
    """The lower-precision dtype of ``device_type``'s autocast region (or its default)."""
    return _autocast.region(device_type)[1]


def set_autocast_enabled(device_type, enabled=None) -> None:
    """Turn autocast on or off for ``device_type`` in this thread (``set_autocast_enabled(True)``
    is cuda's, as PyTorch's one-argument form); its dtype stays."""
    if enabled is None:
        device_type, enabled = "cuda", device_type
    _autocast.set_region(device_type, enabled, _autocast.region(device_type)[1])


def set_autocast_dtype(device_type: str, dtype) -> None:
    """Set the lower-precision dtype ``device_type``'s autocast uses in this thread."""
    _autocast.set_region(device_type, _autocast.region(device_type)[0], dtype)


def _deprecated(old: str, new: str) -> None:
    warnings.warn(f"graphc.{old}() is deprecated. Please use graphc.{new} instead.", DeprecationWarning, stacklevel=3)


def is_autocast_cpu_enabled() -> bool:
    """Deprecated: ``is_autocast_enabled('cpu')``."""
    _deprecated("is_autocast_cpu_enabled", "is_autocast_enabled('cpu')")
    return is_autocast_enabled("cpu")


def get_autocast_cpu_dtype():
    """Deprecated: ``get_autocast_dtype('cpu')``."""
    _deprecated("get_autocast_cpu_dtype", "get_autocast_dtype('cpu')")
    return get_autocast_dtype("cpu")


def set_autocast_cpu_enabled(enabled: bool) -> None:
    """Deprecated: ``set_autocast_enabled('cpu', enabled)``."""
    _deprecated("set_autocast_cpu_enabled", "set_autocast_enabled('cpu', enabled)")
    set_autocast_enabled("cpu", enabled)


def set_autocast_cpu_dtype(dtype) -> None:
    """Deprecated: ``set_autocast_dtype('cpu', dtype)``."""
    _deprecated("set_autocast_cpu_dtype", "set_autocast_dtype('cpu', dtype)")
    set_autocast_dtype("cpu", dtype)


def clear_autocast_cache() -> None:
    """A no-op: graphc keeps no cache of cast weights (each cast is an op, fused when compiled)."""


def is_autocast_cache_enabled() -> bool:
    """What ``set_autocast_cache_enabled`` last set (True by default); graphc caches nothing."""
    return _autocast._STATE.cache_enabled


def set_autocast_cache_enabled(enabled: bool) -> None:
    """Recorded for ``is_autocast_cache_enabled``; graphc has no cast cache to turn off."""
    _autocast._STATE.cache_enabled = bool(enabled)


def autocast_increment_nesting() -> int:
    """PyTorch's autocast nesting counter (for code that manages autocast by hand): the new depth."""
    _autocast._STATE.nesting += 1
    return _autocast._STATE.nesting


def autocast_decrement_nesting() -> int:
    """Decrement the nesting counter; returns the new depth."""
    _autocast._STATE.nesting -= 1
    return _autocast._STATE.nesting


def custom_fwd(fwd=None, *, device_type: str = "cuda", cast_inputs=None):
    """Decorate a custom Function's ``forward``: with ``cast_inputs``, run it with its floating
    inputs cast to that dtype and autocast off; else run it in the caller's autocast state and
    remember that state for :func:`custom_bwd`."""
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def decorate_fwd(*args, **kwargs):
        ctx = args[0]
        enabled, ctx._fwd_autocast_dtype = _autocast.region(device_type)
        # with cast_inputs the forward runs with autocast off, and so will the backward (as PyTorch)
        ctx._fwd_used_autocast = enabled and cast_inputs is None
        if cast_inputs is None or not enabled:
            return fwd(*args, **kwargs)
        cast = lambda t: t.to(cast_inputs) if t.dtype.is_floating_point and t.dtype is not dt.float64 else t  # noqa: E731
        args = tuple(_autocast._cast_tree(a, cast) for a in args)
        kwargs = {k: _autocast._cast_tree(v, cast) for k, v in kwargs.items()}
        with autocast(device_type, enabled=False):
            return fwd(*args, **kwargs)

    return decorate_fwd


def custom_bwd(bwd=None, *, device_type: str = "cuda"):
    """Decorate a custom Function's ``backward`` to run in the autocast state its forward ran in."""
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)

    @functools.wraps(bwd)
    def decorate_bwd(*args, **kwargs):
        ctx = args[0]
        enabled = getattr(ctx, "_fwd_used_autocast", False)
        dtype = getattr(ctx, "_fwd_autocast_dtype", None)
        with autocast(device_type, dtype=dtype, enabled=enabled):
            return bwd(*args, **kwargs)

    return decorate_bwd
