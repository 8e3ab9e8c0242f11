"""Autocast: per-thread mixed-precision state and PyTorch's per-op casting policy.

``graphc.autocast(device_type, dtype)`` makes the ops PyTorch lists run in the lower
precision (matmuls, linear, convolutions: ``dtype``, by default bfloat16 on the CPU and
float16 on cuda), the ops it lists as needing float32 (reductions, exp/log, softmax,
losses, normalizations on cuda; losses and a few others on the CPU) run in float32, and
the "promote" ops run in the widest floating type of their inputs. Every other op runs
in the dtypes it is given.

The policy is applied by wrapping the listed *frontend* functions (each wrapper reads this
thread's state, casts the floating tensors among its arguments, then calls the original
with autocast paused, as PyTorch's autocast dispatch key does). The casts are ordinary
``cast`` ops: eagerly they run, under ``@graphc.compile`` they are traced (the compile
cache key includes :func:`state_key`), and autodiff casts gradients back, so parameters
keep float32 gradients. Float64 tensors are never cast (as in PyTorch).
"""

from __future__ import annotations

import functools
import threading

from ir import dtypes as dt

from ._dispatch import apply
from ._tensor import Tensor

LOWER, FP32, PROMOTE = "lower", "fp32", "promote"

_MATMULS = ("matmul", "mm", "bmm", "mv", "addmm", "addbmm", "baddbmm", "addmv", "addr", "linear", "chain_matmul",
            "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "prelu",
            "scaled_dot_product_attention", "__matmul__", "__rmatmul__")
_LOSSES = ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "nll_loss", "cross_entropy", "kl_div",
           "binary_cross_entropy_with_logits", "cosine_embedding_loss", "hinge_embedding_loss", "poisson_nll_loss",
           "margin_ranking_loss", "soft_margin_loss", "triplet_margin_loss", "multi_margin_loss",
           "multilabel_margin_loss")
_PROMOTE = ("addcdiv", "addcmul", "atan2", "bilinear", "cross", "dot", "grid_sample", "scatter_add", "tensordot")

# PyTorch's autocast op lists (its "Autocast Op Reference"), restricted to names graphc has.
POLICIES = {
    "cuda": {
        **{n: LOWER for n in _MATMULS},
        **{n: FP32 for n in (
            "acos", "asin", "cosh", "erfinv", "exp", "expm1", "log", "log10", "log2", "log1p", "reciprocal",
            "rsqrt", "sinh", "tan", "pow", "__pow__", "__rpow__", "__rtruediv__", "softplus", "layer_norm",
            "group_norm", "norm", "cosine_similarity", "dist", "pdist", "cdist", "renorm", "logsumexp", "cumprod",
            "cumsum", "prod", "sum", "softmax", "log_softmax", "softmin", "normalize", *_LOSSES)},
        **{n: PROMOTE for n in _PROMOTE},
    },
    "cpu": {
        **{n: LOWER for n in _MATMULS if n not in ("mv", "addmv", "addr", "chain_matmul")},
        **{n: FP32 for n in (
            "prod", "cdist", "trace", "avg_pool3d", "max_pool3d", "adaptive_avg_pool3d", "quantile",
            "nanquantile", "binary_cross_entropy", *_LOSSES)},
        **{n: PROMOTE for n in (*_PROMOTE, "stack", "cat", "index_copy")},
    },
}
DEFAULT_DTYPE = {"cuda": dt.float16, "cpu": dt.bfloat16}
SUPPORTED_DTYPES = {"cuda": (dt.float16, dt.bfloat16), "cpu": (dt.bfloat16, dt.float16)}


class _State(threading.local):
    def __init__(self):
        self.regions: dict = {}  # device type -> (enabled, dtype) of the innermost autocast region
        self.paused = 0  # > 0 while a wrapped op runs its original (nested ops are not cast again)


_STATE = _State()


def region(device_type: str):
    """``(enabled, dtype)`` for ``device_type`` in this thread."""
    return _STATE.regions.get(device_type, (False, DEFAULT_DTYPE.get(device_type, dt.bfloat16)))


def set_region(device_type: str, enabled: bool, dtype) -> tuple:
    """Enter a region; returns the previous one (to restore on exit)."""
    prev = _STATE.regions.get(device_type)
    _STATE.regions[device_type] = (bool(enabled), dtype)
    return prev


def restore_region(device_type: str, prev) -> None:
    if prev is None:
        _STATE.regions.pop(device_type, None)
    else:
        _STATE.regions[device_type] = prev


def state_key() -> tuple:
    """What autocast state a trace depends on (part of ``@graphc.compile``'s cache key)."""
    regions = _STATE.regions
    if not regions:
        return ()
    return tuple(sorted((k, v[1].name) for k, v in regions.items() if v[0]))


def _eligible(t) -> bool:
    return isinstance(t, Tensor) and t._dtype.is_floating_point and t._dtype is not dt.float64


def _first_device(args, kwargs):
    for a in (*args, *kwargs.values()):
        if isinstance(a, Tensor):
            return a._device.type
        if isinstance(a, (list, tuple)):
            for b in a:
                if isinstance(b, Tensor):
                    return b._device.type
    return None


def _cast_tree(obj, fn):
    if isinstance(obj, Tensor):
        return fn(obj)
    if isinstance(obj, (list, tuple)) and any(isinstance(o, Tensor) for o in obj):
        return type(obj)(_cast_tree(o, fn) for o in obj) if not hasattr(obj, "_fields") else obj
    return obj


def _widest(args, kwargs):
    widest = None
    for a in (*args, *kwargs.values()):
        for t in (a if isinstance(a, (list, tuple)) else (a,)):
            if isinstance(t, Tensor) and t._dtype.is_floating_point:
                widest = t._dtype if widest is None else dt.promote_types(widest, t._dtype)
    return widest


def _to(t: Tensor, dtype):
    return t if t._dtype is dtype else apply("cast", [t], dtype=dtype)


def wrap(fn, kind: str, name: str):
    """``fn`` with autocast policy ``kind``; a no-op wrapper outside autocast regions."""

    @functools.wraps(fn)
    def autocast_wrapper(*args, **kwargs):
        regions = _STATE.regions
        if not regions or _STATE.paused:
            return fn(*args, **kwargs)
        device = _first_device(args, kwargs)
        enabled, low = regions.get(device, (False, None))
        if not enabled or POLICIES.get(device, {}).get(name) != kind:
            return fn(*args, **kwargs)
        if kind == LOWER:
            target = low
        elif kind == FP32:
            target = dt.float32
        else:
            target = _widest(args, kwargs)
        if target is not None:
            cast = (lambda t: _to(t, target) if _eligible(t) else t) if kind != PROMOTE else (
                lambda t: _to(t, target) if t._dtype.is_floating_point else t)
            args = tuple(_cast_tree(a, cast) for a in args)
            kwargs = {k: _cast_tree(v, cast) for k, v in kwargs.items()}
        _STATE.paused += 1
        try:
            return fn(*args, **kwargs)
        finally:
            _STATE.paused -= 1

    autocast_wrapper.__wrapped__ = fn
    autocast_wrapper._autocast_kind = kind
    return autocast_wrapper


def install(modules, tensor_cls) -> None:
    """Replace every listed function in ``modules`` (and the matching Tensor methods) by its
    wrapper: one wrapper per original function, so identities between namespaces hold."""
    names = {}
    for policy in POLICIES.values():
        for name, kind in policy.items():
            names.setdefault(name, set()).add(kind)
    wrappers: dict[int, object] = {}
    for name, kinds in names.items():
        (kind,) = kinds  # a name has one kind on every device it is listed for
        for holder in (*modules, tensor_cls):
            fn = holder.__dict__.get(name) if isinstance(holder, type) else getattr(holder, name, None)
            if fn is None or not callable(fn) or getattr(fn, "_autocast_kind", None):
                continue
            w = wrappers.get(id(fn))
            if w is None:
                w = wrappers[id(fn)] = wrap(fn, kind, name)
            setattr(holder, name, w)
