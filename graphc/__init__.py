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

from ir import dtypes as _dt
from ir.dtypes import (
    DType as dtype,
    bfloat16,
    bool_ as bool,  # noqa: A001 - PyTorch's name
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
    GradcheckError,
    GraphcError,
    SerializationError,
    ShapeError,
    TracingError,
    UnsupportedError,
)

# No module imported here imports this package back (tests/test_imports.py checks the DAG), so the
# order below is only the order of the public names. Importing _methods binds the Tensor's
# methods; importing cuda registers the Triton runtime as the backend of cuda devices.
from . import _methods  # noqa: F401  (binds Tensor methods)
from . import accelerator, autograd, cuda, random
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
from ._layout import channels_last, channels_last_3d, contiguous_format, memory_format, preserve_format
from ._printing import get_printoptions, set_printoptions
from ._tensor import Size, Tensor
from .autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .device import device, get_default_device, set_default_device
from .random import Generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state

__version__ = "0.1.0"

half = float16
float = float32  # noqa: A001
double = float64
long = int64
int = int32  # noqa: A001
short = int16
cfloat = None

FloatTensor = "graphc.FloatTensor"


def set_default_dtype(d) -> None:
    """Make ``d`` the dtype of Python floats and float factories (float32 by default)."""
    _dt.set_default_float(d)


def get_default_dtype():
    return _dt.default_float()


def is_tensor(obj) -> "_builtins.bool":
    return isinstance(obj, Tensor)


def is_floating_point(t) -> "_builtins.bool":
    return t.dtype.is_floating_point


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

# nn, optim, data loading and serialization.
from . import distributed, nn, optim, utils  # noqa: E402
from .serialization import load, save  # noqa: E402

from ._compiler import compile, trace  # noqa: E402,A004 - PyTorch's name
from . import viz  # noqa: E402  (graph drawings and dumps: graphc.viz.save(obj, "x.svg"))
