"""graphc: a compiled graph-IR tensor framework with PyTorch's names.

>>> import graphc
>>> x = graphc.ones(2, 2, requires_grad=True)
>>> out = ((x + 2) * (x + 2) * 3).mean()
>>> out.backward()
>>> x.grad
tensor([[4.5000, 4.5000],
        [4.5000, 4.5000]])

Every op is an IR node (``ir``), executed at once by the backend of its device
(``backends``), or recorded into a graph under ``@graphc.compile``.
"""

from __future__ import annotations

import builtins as _builtins
import sys as _sys

from backends.numpy import runtime as _numpy_runtime
from ir import dtypes as _dt
from ir.dtypes import (
    DType as dtype,
    bfloat16,
    bool_ as bool,  # noqa: A001 - PyTorch's name
    complex64,
    complex128,
    float16,
    float32,
    float64,
    int8,
    int16,
    int32,
    int64,
    uint8,
)
from ir.errors import (
    AutogradError,
    DeviceError,
    DimError,
    DTypeError,
    DTypeNotImplementedError,
    EmptyReductionError,
    GradcheckError,
    GraphcError,
    InputDTypeMismatchError,
    SerializationError,
    ShapeError,
    TracingError,
    UnsupportedError,
)

# No module imported here imports this package back (tests/test_imports.py checks the DAG), so the
# order below is only the order of the public names. Importing _methods binds the Tensor's
# methods; importing cuda registers the Triton runtime as the backend of cuda devices.
from . import _legacy, _methods  # noqa: F401  (binds Tensor methods and the legacy constructors)
from . import _methods_ops  # noqa: F401  (binds the methods of the newer topic modules)
from . import _interop  # noqa: F401  (numpy functions take tensors: Tensor.__array_function__)
from . import accelerator, autograd, cpu, cuda, random
from ._factories import (
    arange,
    as_tensor,
    asarray,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    logspace,
    normal,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from ._functional import *  # noqa: F403 - the functional namespace is the public API
from ._functional import all, any, max, min, pow, sum  # noqa: A004 - PyTorch's names
from ._layout import (
    channels_last,
    channels_last_3d,
    contiguous_format,
    layout,
    memory_format,
    preserve_format,
    sparse_coo,
    sparse_csr,
    strided,
)
from ._printing import get_printoptions, set_printoptions
from ._tensor import Size, Tensor
from ._typeinfo import finfo, iinfo
from .autograd import enable_grad, inference_mode, is_grad_enabled, is_inference_mode_enabled, no_grad, set_grad_enabled
from .autograd.anomaly_mode import is_anomaly_check_nan_enabled, is_anomaly_enabled, set_anomaly_enabled
from .device import device, get_default_device, set_default_device
from .random import Generator, default_generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state

__version__ = "0.1.0"

half = float16
float = float32  # noqa: A001
double = float64
long = int64
int = int32  # noqa: A001
short = int16
cfloat = complex64
cdouble = complex128

FloatTensor = _legacy.LEGACY_TYPES["FloatTensor"]
DoubleTensor = _legacy.LEGACY_TYPES["DoubleTensor"]
HalfTensor = _legacy.LEGACY_TYPES["HalfTensor"]
BFloat16Tensor = _legacy.LEGACY_TYPES["BFloat16Tensor"]
LongTensor = _legacy.LEGACY_TYPES["LongTensor"]
IntTensor = _legacy.LEGACY_TYPES["IntTensor"]
ShortTensor = _legacy.LEGACY_TYPES["ShortTensor"]
CharTensor = _legacy.LEGACY_TYPES["CharTensor"]
ByteTensor = _legacy.LEGACY_TYPES["ByteTensor"]
BoolTensor = _legacy.LEGACY_TYPES["BoolTensor"]


def set_num_threads(n: int) -> None:
    """Threads graphc's CPU kernels use (the numpy backend's pool; GRAPHC_NUM_THREADS is the
    same setting from the environment). numpy's own BLAS threads are not changed."""
    if isinstance(n, _builtins.bool) or not isinstance(n, _builtins.int) or n <= 0:
        raise RuntimeError(f"set_num_threads expects a positive integer, got {n!r}")
    _numpy_runtime.set_num_threads(n)


def get_num_threads() -> int:
    """Threads graphc's CPU kernels use: GRAPHC_NUM_THREADS, else the usable cores."""
    return _numpy_runtime.num_threads()


_deterministic = {"enabled": False, "warn_only": False}


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Recorded only: graphc's CPU kernels are already deterministic (fixed reduction order, no
    atomics), so there is nothing to switch; the flag reads back as PyTorch's does."""
    _deterministic.update(enabled=_builtins.bool(mode), warn_only=_builtins.bool(warn_only))


def are_deterministic_algorithms_enabled() -> bool:
    return _deterministic["enabled"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    return _deterministic["warn_only"]


def set_default_dtype(d) -> None:
    """Make ``d`` the dtype of Python floats and float factories (float32 by default)."""
    _dt.set_default_float(d)


def get_default_dtype():
    return _dt.default_float()


def is_tensor(obj) -> "_builtins.bool":
    return isinstance(obj, Tensor)


def is_floating_point(t) -> "_builtins.bool":
    return t.dtype.is_floating_point


def is_complex(t) -> "_builtins.bool":
    return t.dtype.is_complex


def numel(t) -> "_builtins.int":
    return t.numel()


def promote_types(a, b):
    return _dt.promote_types(a, b)


def result_type(a, b):
    return _dt.result_type(a, b)


def can_cast(from_, to) -> "_builtins.bool":
    return from_.category <= to.category


# PyTorch exposes these as torch.* too.
from ._functional import (  # noqa: E402
    add,
    cat,
    chunk,
    clamp,
    matmul,
    mul,
    split,
    stack,
    where,
)

_sys.modules.setdefault("graphc.functional", _sys.modules[__name__ + "._functional"])

# linear algebra (and its torch.* spellings, which are Tensor methods too), Fourier transforms.
from . import fft, linalg  # noqa: E402
from .linalg.legacy import (  # noqa: E402
    cholesky,
    cholesky_inverse,
    cholesky_solve,
    det,
    geqrf,
    inverse,
    logdet,
    lu,
    lu_solve,
    lu_unpack,
    matrix_exp,
    matrix_power,
    orgqr,
    ormqr,
    pca_lowrank,
    pinverse,
    qr,
    slogdet,
    svd,
    svd_lowrank,
    triangular_solve,
)

# nn, optim, data loading and serialization.
from . import distributed, nn, optim, special, utils  # noqa: E402
from . import distributions  # noqa: E402
from .utils.dlpack import from_dlpack  # noqa: E402
from .nn.functional.sampling import grid_sampler_2d, grid_sampler_3d  # noqa: E402  (torch.* spellings)
from .serialization import load, save  # noqa: E402
from ._stft import istft, stft  # noqa: E402
from . import masked, signal  # noqa: E402
from .signal.windows import bartlett_window, blackman_window, hamming_window, hann_window, kaiser_window  # noqa: E402

Tensor.stft = stft
Tensor.istft = istft

from ._compiler import CompileWarning  # noqa: E402
from ._optimized_module import OptimizedModule, compile  # noqa: E402,A004 - PyTorch's name
from . import compiler  # noqa: E402  (graphc.compiler.trace(fn, *args): the tracer)
from ._functional import trace  # noqa: E402  (the matrix trace, as torch.trace)
from . import viz  # noqa: E402  (graph drawings and dumps: graphc.viz.save(obj, "x.svg"))
from . import func  # noqa: E402  (function transforms: grad, vjp, jacrev, functional_call, vmap)
from .func import vmap  # noqa: E402

# torch.* spellings of nn ops (aten argument orders), in-place function forms, constants and
# smaller names; the Tensor methods that need nn.functional; graphc.testing.
from ._aten_nn import *  # noqa: E402,F403
from ._torch_extras import *  # noqa: E402,F403
from . import _methods_extra  # noqa: E402,F401  (binds Tensor.where, fill_diagonal_, apply_, new, ...)
from . import testing  # noqa: E402

# Mixed precision and matmul precision: graphc.autocast / graphc.amp (GradScaler), graphc.backends.
from . import _autocast, amp, backends  # noqa: E402
from .amp import autocast  # noqa: E402
from .amp.autocast_mode import (  # noqa: E402
    autocast_decrement_nesting,
    autocast_increment_nesting,
    clear_autocast_cache,
    get_autocast_cpu_dtype,
    get_autocast_dtype,
    is_autocast_cache_enabled,
    is_autocast_cpu_enabled,
    is_autocast_enabled,
    set_autocast_cache_enabled,
    set_autocast_cpu_dtype,
    set_autocast_cpu_enabled,
    set_autocast_dtype,
    set_autocast_enabled,
)
from .backends import get_float32_matmul_precision, set_float32_matmul_precision  # noqa: E402

# The ops PyTorch's autocast lists get their autocast wrappers in every namespace that holds them.
_autocast.install(
    [
        ("", [m for n, m in list(_sys.modules.items())
              if n == __name__ or n.startswith(("graphc._functional", "graphc.nn.functional"))]),
        ("linalg.", [linalg]),
        ("fft.", [fft]),
    ],
    Tensor,
)
cuda.amp = amp.cuda_amp  # graphc.cuda.amp, PyTorch's older spelling (importable too:)
_sys.modules.setdefault("graphc.cuda.amp", amp.cuda_amp)
cpu.amp = amp.cpu_amp  # graphc.cpu.amp, deprecated in PyTorch too
_sys.modules.setdefault("graphc.cpu.amp", amp.cpu_amp)
