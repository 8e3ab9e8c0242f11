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

__all__ = ["autocast", "is_autocast_available", "custom_fwd", "custom_bwd"]


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
