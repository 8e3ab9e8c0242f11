"""Autocast: per-thread mixed-precision state and PyTorch's per-op casting policy.

``graphc.autocast(device_type, dtype)`` makes the ops PyTorch lists run in the lower
precision (matmuls, linear, convolutions: ``dtype``, by default bfloat16 on the CPU and
float16 on cuda), the ops it lists as needing float32 (reductions, exp/log, softmax,
losses, normalizations on cuda; losses, pooling, padding and linalg on the CPU) run in
float32, and the "promote" ops run in float32 if any input is float32. Every other op
runs in the dtypes it is given. ``out=`` calls are never cast (nor are PyTorch's).

The policy is applied by wrapping the listed *frontend* functions (each wrapper reads this
thread's state, casts the floating tensors among its arguments, then calls the original
with autocast paused, as PyTorch's autocast dispatch key does). An unlisted function built
from listed ones (``tensordot`` from ``matmul``) inherits their casts, as PyTorch's
composite ops do; the KERNEL entries are the unlisted ones PyTorch runs as one kernel
(``mv``), so nothing inside them is cast. The casts are ordinary
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

LOWER, FP32, PROMOTE, KERNEL = "lower", "fp32", "promote", "kernel"

_MATMULS = ("matmul", "mm", "bmm", "mv", "addmm", "addbmm", "baddbmm", "addmv", "addr", "linear", "chain_matmul",
            "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "prelu",
            "scaled_dot_product_attention", "__matmul__", "__rmatmul__", "linalg.matmul")
_LOSSES = ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "nll_loss", "cross_entropy", "kl_div",
           "binary_cross_entropy_with_logits", "cosine_embedding_loss", "hinge_embedding_loss", "poisson_nll_loss",
           "margin_ranking_loss", "soft_margin_loss", "triplet_margin_loss", "multi_margin_loss",
           "multilabel_margin_loss")


def _arg(args, kwargs, i, name, default=None):
    return args[i] if len(args) > i else kwargs.get(name, default)


def _pad_kind(args, kwargs):
    """``F.pad`` is PyTorch's reflection_pad1d/2d and replication_pad1d/2d/3d kernels (fp32 on
    the CPU) for those modes; reflect over three dims and constant/circular padding are not."""
    mode, pad = _arg(args, kwargs, 2, "mode", "constant"), _arg(args, kwargs, 1, "pad", ())
    return FP32 if mode == "replicate" or (mode == "reflect" and len(pad) in (2, 4)) else None


def _max_pool3d_kind(args, kwargs):
    """With ``return_indices`` ``F.max_pool3d`` is max_pool3d_with_indices, which is not listed."""
    return None if _arg(args, kwargs, 6, "return_indices", False) else FP32


# PyTorch 2.13's autocast op lists (aten/src/ATen/autocast_mode.cpp) under graphc's names: Tensor
# methods, ``graphc.*`` and ``graphc.nn.functional.*`` by their names, ``graphc.linalg.*`` and
# ``graphc.fft.*`` as "linalg.x" and "fft.x". A value is a kind or a function of the call's
# (args, kwargs) giving the kind (None: not cast). KERNEL marks ops PyTorch runs as one kernel that
# graphc builds from listed ops (``mv`` from ``matmul``): nothing inside them is cast.
_CPU_FP32 = (
    "avg_pool3d", "binary_cross_entropy", "grid_sample", "polar", "prod", "quantile", "nanquantile", "stft", "cdist",
    "trace", "view_as_complex", "cholesky", "cholesky_inverse", "cholesky_solve", "inverse", "lu_solve", "orgqr",
    "ormqr", "pinverse", "max_unpool2d", "max_unpool3d", "adaptive_avg_pool3d", "ctc_loss", *_LOSSES,
    *(f"fft.{n}" for n in ("fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2", "irfft2",
                           "rfftn", "irfftn", "hfft", "ihfft")),
    *(f"linalg.{n}" for n in ("cond", "matrix_rank", "solve", "cholesky", "svdvals", "eigvals", "eigvalsh", "inv",
                              "householder_product", "tensorinv", "tensorsolve", "qr", "cholesky_ex", "svd", "eig",
                              "eigh", "lstsq", "inv_ex")),
    "geqrf", "lu", "qr", "svd", "triangular_solve", "fractional_max_pool2d", "fractional_max_pool3d",
    "adaptive_max_pool3d")
POLICIES = {
    "cuda": {
        **{n: LOWER for n in _MATMULS},
        **{n: FP32 for n in (
            "acos", "asin", "cosh", "erfinv", "exp", "expm1", "log", "log10", "log2", "log1p", "reciprocal",
            "rsqrt", "sinh", "tan", "pow", "__pow__", "__rpow__", "__rtruediv__", "softplus", "layer_norm",
            "group_norm", "norm", "cosine_similarity", "dist", "pdist", "cdist", "renorm", "logsumexp", "cumprod",
            "cumsum", "prod", "sum", "softmax", "log_softmax", "softmin", "normalize", *_LOSSES)},
        **{n: PROMOTE for n in (
            "addcdiv", "addcmul", "atan2", "bilinear", "cross", "dot", "grid_sample", "scatter_add", "tensordot")},
    },
    "cpu": {
        **{n: LOWER for n in (
            "conv1d", "conv2d", "conv3d", "bmm", "mm", "linalg.vecdot", "baddbmm", "addmm", "addbmm", "linear",
            "matmul", "__matmul__", "__rmatmul__", "linalg.matmul", "mkldnn_rnn_layer", "conv_transpose1d",
            "conv_transpose2d", "conv_transpose3d", "prelu", "scaled_dot_product_attention")},
        **{n: FP32 for n in _CPU_FP32},
        "pad": _pad_kind,
        "max_pool3d": _max_pool3d_kind,
        **{n: PROMOTE for n in ("stack", "cat", "index_copy")},
        **{n: KERNEL for n in ("mv", "addmv", "dot", "interpolate", "embedding_bag")},
    },
}
DEFAULT_DTYPE = {"cuda": dt.float16, "cpu": dt.bfloat16}
SUPPORTED_DTYPES = {"cuda": (dt.float16, dt.bfloat16), "cpu": (dt.bfloat16, dt.float16)}


class _State(threading.local):
    def __init__(self):
        self.regions: dict = {}  # device type -> (enabled, dtype) of the innermost autocast region
        self.paused = 0  # > 0 while a wrapped op runs its original (nested ops are not cast again)
        self.cache_enabled = True  # is_autocast_cache_enabled (graphc keeps no cast cache)
        self.nesting = 0  # autocast_increment_nesting's counter


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


def _promote_type(args, kwargs, low):
    """PyTorch's ``at::autocast::prioritize``: float32 if any eligible input is float32, else
    ``low`` if all are ``low``; a mix of the two lower precisions is an error."""
    target = low
    for a in (*args, *kwargs.values()):
        for t in (a if isinstance(a, (list, tuple)) else (a,)):
            if not _eligible(t):
                continue
            if target is dt.float32 or t._dtype is dt.float32:
                target = dt.float32
            elif t._dtype is not low:
                raise RuntimeError("Unexpected floating ScalarType in at::autocast::prioritize")
    return target


def _to(t: Tensor, dtype):
    return t if t._dtype is dtype else apply("cast", [t], dtype=dtype)


def _call_paused(fn, args, kwargs):
    _STATE.paused += 1
    try:
        return fn(*args, **kwargs)
    finally:
        _STATE.paused -= 1


def wrap(fn, name: str):
    """``fn`` with the autocast policy listed for ``name`` on its inputs' device; a no-op wrapper
    outside autocast regions. Inside a wrapped op autocast is paused (nested ops are not cast)."""

    @functools.wraps(fn)
    def autocast_wrapper(*args, **kwargs):
        regions = _STATE.regions
        if not regions or _STATE.paused:
            return fn(*args, **kwargs)
        device = _first_device(args, kwargs)
        enabled, low = regions.get(device, (False, None))
        kind = POLICIES.get(device, {}).get(name) if enabled else None
        if callable(kind):
            kind = kind(args, kwargs)
        if kind is None:
            return fn(*args, **kwargs)
        if kind == KERNEL or kwargs.get("out") is not None:  # PyTorch does not autocast out= overloads
            return _call_paused(fn, args, kwargs)
        target = low if kind == LOWER else dt.float32 if kind == FP32 else _promote_type(args, kwargs, low)
        cast = lambda t: _to(t, target) if _eligible(t) else t  # noqa: E731
        args = tuple(_cast_tree(a, cast) for a in args)
        kwargs = {k: _cast_tree(v, cast) for k, v in kwargs.items()}
        return _call_paused(fn, args, kwargs)

    autocast_wrapper.__wrapped__ = fn
    autocast_wrapper._autocast_name = name
    return autocast_wrapper


def install(namespaces, tensor_cls) -> None:
    """Replace every listed function by its wrapper in ``namespaces`` (``(prefix, modules)`` pairs:
    the name "linalg.inv" is ``inv`` in the modules of prefix "linalg.") and the matching Tensor
    methods: one wrapper per original function, so identities between namespaces hold."""
    names = {name for policy in POLICIES.values() for name in policy}
    wrappers: dict[int, object] = {}
    for prefix, modules in namespaces:
        for name in names:
            if not name.startswith(prefix) or "." in name[len(prefix):]:
                continue
            attr = name[len(prefix):]
            for holder in (*modules, *((tensor_cls,) if not prefix else ())):
                fn = holder.__dict__.get(attr) if isinstance(holder, type) else getattr(holder, attr, None)
                if fn is None or not callable(fn) or isinstance(fn, type) or getattr(fn, "_autocast_name", None):
                    continue
                w = wrappers.get(id(fn))
                if w is None:
                    w = wrappers[id(fn)] = wrap(fn, name)
                setattr(holder, attr, w)
