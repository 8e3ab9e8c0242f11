"""Per-signature eager kernels: a row's numpy evaluation with the per-call decisions taken once.

:func:`ir.ops.evaluate.run_op` is the reference: for every call it picks the kind's
implementation, enters ``np.errstate``, and then checks the result's storage dtype.
For one *signature* (op, attributes, input shapes and dtypes) all of that is fixed,
so the eager dispatcher asks :func:`eager_kernel` once per signature and calls the
closure it returns on every later call. The closures compute exactly what
``run_op`` computes (the conformance tests run both); they only skip the work whose
answer cannot change:

* elementwise rows call the row's numpy callable directly, under a cheap switch of
  numpy's error state (numpy keeps it in a context variable; entering
  ``np.errstate`` costs a few times more than the ufunc on a small array);
* reductions whose result dtype is their input dtype call the combining row's
  ufunc ``reduce`` (``np.add.reduce`` is what ``np.sum`` calls, without the
  Python wrapper), with the accumulation dtype decided once;
* views call the row's numpy view directly (basic-indexing views index with the row's
  ``np_index`` tuple, built once).

Anything else (bfloat16 results, which need rounding; integer division, whose divisor is
checked for zeros; other kinds) runs ``run_op``.
The kernel is a function ``kernel(arrays, attrs) -> ndarray``.
"""

from __future__ import annotations

import numpy as np

from ir import dtypes as dt
from ir.ops import core as ops_table
from ir.ops import nphalf
from ir.ops.evaluate import finish, reduce_kwargs, run_op

from . import runtime

try:  # numpy >= 2: the error state is a context variable; setting it directly is cheap
    from numpy._core._ufunc_config import _extobj_contextvar as _EXTOBJ

    with np.errstate(all="ignore"):
        _IGNORE = _EXTOBJ.get()
except (ImportError, AttributeError):  # pragma: no cover - other numpy versions use np.errstate
    _EXTOBJ = _IGNORE = None

_ndarray = np.ndarray
empty = np.empty


def _runtime_helper(op):
    """The run-time helper a row's generated code writes into its output with
    (``np_out = "R.name({0}, ..., {out})"``) when the row asks eager to use it (``eager_out``:
    a BLAS axpy for a fused multiply-add by a scalar, a blocked transposing copy), else None."""
    if not op.extra.get("eager_out"):
        return None
    template = (op.np_out or ("",))[0]
    args = ", ".join(f"{{{i}}}" for i in range(op.arity))
    if not (template.startswith("R.") and template.endswith(f"({args}, {{out}})")):
        return None
    return getattr(runtime, template[2 : template.index("(")], None)


# numpy's float16 loops widen each element to float32, apply the float32 function and round
# back, one element at a time (256x512: add ~700 us, a comparison ~750, sqrt ~1500, where ~1100).
# For the rows below -- exact in float32 (comparisons, max/min, clip, floor, select) or correctly
# rounded there (add, sub, mul, div, sqrt, reciprocal) -- the same three steps as whole-array
# passes, with the casts of ir.ops.nphalf, give numpy's bits (a NaN's payload aside, when two
# NaNs meet) at a fraction of the time. Transcendental rows keep numpy's float16 loops: some
# of them are vectorized (exp, tanh), and a float32 library result may differ in its last bit.
_HALF_VIA_SINGLE = frozenset((
    "add", "sub", "mul", "div", "maximum", "minimum", "sqrt", "reciprocal", "floor", "ceil", "trunc",
    "relu", "clamp", "hardtanh", "leaky_relu", "sign", "where", "eq", "ne", "lt", "le", "gt", "ge",
    "isnan", "isinf", "isfinite",
))


def _half_via_single(op, in_dtypes, shape, dtype):
    """The float32 route for a float16 row on arrays worth the passes, else None."""
    size = 1
    for s in shape:
        size *= s
    if (op.name not in _HALF_VIA_SINGLE or size < nphalf.FAST_MIN_ELEMS or dt.float16 not in in_dtypes
            or any(d.is_floating_point and d is not dt.float16 for d in in_dtypes)):
        return None
    fn = op.numpy
    halves = tuple(i for i, d in enumerate(in_dtypes) if d is dt.float16)
    set_, reset, ignore = _EXTOBJ.set, _EXTOBJ.reset, _IGNORE
    single, half = np.dtype(np.float32), dtype is dt.float16

    def kernel(arrays, attrs):
        args = list(arrays)
        for i in halves:
            args[i] = nphalf.astype(args[i], single)
        token = set_(ignore)
        try:
            out = fn(*args)
        finally:
            reset(token)
        return nphalf.astype(out, np.float16) if half else finish(out, dtype)

    return kernel


def _elementwise(op, shape, dtype):
    fn = op.numpy
    want = dtype.numpy_dtype
    set_, reset, ignore = _EXTOBJ.set, _EXTOBJ.reset, _IGNORE
    helper = _runtime_helper(op)
    if helper is not None:

        def kernel(arrays, attrs):
            out = empty(shape, want)
            token = set_(ignore)
            try:
                helper(*arrays, out)
            finally:
                reset(token)
            return out

        return kernel
    if op.arity == 1:

        def kernel(arrays, attrs):
            token = set_(ignore)
            try:
                out = fn(arrays[0])
            finally:
                reset(token)
            if out.__class__ is not _ndarray or out.dtype != want:
                out = finish(out, dtype)
            return out

    elif op.arity == 2:

        def kernel(arrays, attrs):
            token = set_(ignore)
            try:
                out = fn(arrays[0], arrays[1])
            finally:
                reset(token)
            if out.__class__ is not _ndarray or out.dtype != want:
                out = finish(out, dtype)
            return out

    else:

        def kernel(arrays, attrs):
            token = set_(ignore)
            try:
                out = fn(*arrays)
            finally:
                reset(token)
            if out.__class__ is not _ndarray or out.dtype != want:
                out = finish(out, dtype)
            return out

    return kernel


def _reduce(op, attrs, in_dtypes, in_shapes, shape, dtype):
    """The combining ufunc's ``reduce`` when that is the row's reduction, else None."""
    spec = op.reduce
    (in_dtype,) = in_dtypes
    if in_dtype is dt.float16 and dtype is dt.float16 and spec.acc_dtype(in_dtype) is dt.float32:
        return _half_reduce(op, attrs, in_shapes, shape)
    if spec.index or spec.nan != "combine" or in_dtype is not dtype:
        return None
    ufunc = getattr(np, ops_table.OPS[spec.combine].np_ufunc or "", None)
    if not isinstance(ufunc, np.ufunc):
        return None
    reduce = ufunc.reduce
    axis = tuple(attrs["axes"]) if len(in_shapes[0]) else None
    keepdims = bool(attrs.get("keepdim", False))
    kwargs = reduce_kwargs(spec, in_dtype)
    acc = kwargs.get("dtype")
    want = dtype.numpy_dtype
    set_, reset, ignore = _EXTOBJ.set, _EXTOBJ.reset, _IGNORE
    matrix = runtime.sum_matrix(in_shapes[0], axis or (), in_dtype) if ufunc is np.add and acc is None else None
    if matrix is not None:  # a float sum over trailing axes: BLAS products with ones
        sum_blas = runtime.sum_blas

        def reduce(x, axis, acc, out, keepdims):
            return sum_blas(x, matrix, shape, axis, keepdims)

    elif shape == () and acc is None:  # a whole-tensor reduction: numpy would return a scalar

        def kernel(arrays, attrs):
            token = set_(ignore)
            try:  # into a fresh 0-d array: cheaper than wrapping numpy's scalar afterwards
                return reduce(arrays[0], axis, None, empty((), want), keepdims)
            finally:
                reset(token)

        return kernel

    def kernel(arrays, attrs):
        token = set_(ignore)
        try:
            out = reduce(arrays[0], axis, acc, None, keepdims)
        finally:
            reset(token)
        if out.__class__ is not _ndarray or out.dtype != want:
            out = finish(out, dtype)
        return out

    return kernel


def _half_reduce(op, attrs, in_shapes, shape):
    """A float16 sum or product, which accumulates in float32 (PyTorch's opmath): the input
    widened once through the vector casts (:mod:`ir.ops.nphalf`; numpy's reduce would convert
    element by element) and reduced by the float32 kernel, the result rounded to half once."""
    size = 1
    for s in in_shapes[0]:
        size *= s
    single = _reduce(op, attrs, (dt.float32,), in_shapes, shape, dt.float32) if size >= nphalf.FAST_MIN_ELEMS else None
    if single is None:
        return None
    f32, f16 = np.dtype(np.float32), np.dtype(np.float16)

    def kernel(arrays, attrs):
        return nphalf.astype(single([nphalf.astype(arrays[0], f32)], attrs), f16)

    return kernel


def _view(op, attrs, shape):
    index = op.extra.get("np_index")
    if index is not None:  # numpy basic indexing: the index tuple is fixed by the signature
        key = index(attrs)

        def kernel(arrays, attrs):
            return arrays[0][key]

        return kernel
    fn = op.numpy

    def kernel(arrays, attrs):
        return fn(arrays[0], attrs, shape)

    return kernel


def eager_kernel(op, attrs: dict, in_shapes, in_dtypes, shape, dtype):
    """``kernel(arrays, attrs)`` computing ``run_op(op, arrays, attrs, shape, dtype)`` for inputs of
    ``in_shapes``/``in_dtypes`` and these ``attrs`` (the signature it is cached under)."""
    kernel = None
    if op.kind == ops_table.VIEW:
        kernel = _view(op, attrs, shape)
    elif dtype is not dt.bfloat16 and _EXTOBJ is not None:  # bfloat16 rounds after every op: run_op does it
        checks_divisor = dtype.is_integer and op.extra.get("divisor") is not None  # run_op checks for zeros
        if op.kind == ops_table.ELEMENTWISE and op.numpy is not None and not checks_divisor:
            kernel = _half_via_single(op, in_dtypes, shape, dtype) or _elementwise(op, shape, dtype)
        elif op.kind == ops_table.REDUCE:
            kernel = _reduce(op, attrs, in_dtypes, in_shapes, shape, dtype)
    if kernel is None:

        def kernel(arrays, attrs):
            return run_op(op, arrays, attrs, shape, dtype)

    return kernel
