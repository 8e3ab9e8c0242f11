"""Every exception graphc raises on a user's mistake, in one place.

Each class subclasses the built-in exception PyTorch raises in the same
situation (``RuntimeError`` for shape mismatches, ``IndexError`` for a bad
dim, ...), so code that catches PyTorch's errors keeps working. Messages name
the op, the shapes or dtypes involved and what was expected; ``user_location``
adds the user's own source line, found by walking out of graphc's frames.
"""

from __future__ import annotations

import linecache
import os
import sys

_PACKAGE_ROOTS = tuple(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep + name + os.sep
    for name in ("ir", "graphc", "backends")
)


_INTERNAL: dict = {}  # code file name -> whether it is graphc's own (tracing asks once per op)


def _is_internal(filename: str) -> bool:
    internal = _INTERNAL.get(filename)
    if internal is None:
        if len(_INTERNAL) > 4096:  # generated programs have unique names: keep the memo bounded
            _INTERNAL.clear()
        internal = os.path.abspath(filename).startswith(_PACKAGE_ROOTS) or filename.startswith("<frozen")
        _INTERNAL[filename] = internal
    return internal


def user_frame():
    """The innermost stack frame that is not inside graphc's own packages."""
    frame = sys._getframe(1)
    while frame is not None:
        if not _is_internal(frame.f_code.co_filename):
            return frame
        frame = frame.f_back
    return None


def user_location() -> str:
    """``'file.py:12: code'`` for the user's line that led here, or ``''``."""
    frame = user_frame()
    if frame is None:
        return ""
    filename, lineno = frame.f_code.co_filename, frame.f_lineno
    code = linecache.getline(filename, lineno).strip()
    return f"{filename}:{lineno}" + (f": {code}" if code else "")


class GraphcError(Exception):
    """Base class of graphc's errors: catch this to catch any of them."""


class ShapeError(GraphcError, RuntimeError):
    """Shapes that do not fit the op: broadcasting, matmul, view, cat.

    Fix: check the shapes printed in the message; broadcasting aligns shapes
    from the right, and each pair of sizes must be equal or one of them 1.
    """


class EmptyReductionError(ShapeError, IndexError):
    """A reduction without an identity (``amax``, ``amin``, ``max``/``min``/``argmax``/``argmin``
    along a dim, ``aminmax``) over a dim of size 0: there is no element to return.

    An ``IndexError`` as in PyTorch ("Expected reduction dim 0 to have non-zero size"), and a
    :class:`ShapeError`. Fix: skip empty inputs, or use a reduction with an identity
    (``sum``, ``prod``) or ``torch.where`` over a non-empty default.
    """


class DimError(GraphcError, IndexError):
    """A dimension index outside ``[-ndim, ndim - 1]``.

    Fix: count dims from 0, or from -1 for the last.
    """


class DTypeError(GraphcError, RuntimeError, TypeError):
    """A dtype the op cannot take (a float op on booleans, matmul of mixed dtypes).

    Fix: convert with ``.to(dtype)`` or ``.float()`` before the op.
    """


class DTypeNotImplementedError(DTypeError, NotImplementedError):
    """The op has no kernel for this dtype: ``floor`` of a bool tensor, ``bitwise_and`` of floats,
    ``gelu`` of integers, ``nextafter`` of integers.

    A ``NotImplementedError`` as PyTorch raises it (``"floor_vml_cpu" not implemented for
    'Bool'``), and still a :class:`DTypeError`. Fix: convert with ``.to(dtype)`` or ``.float()``
    before the op.
    """


class InputDTypeMismatchError(DTypeError, ValueError):
    """A module's input has another dtype than its weights (an ``RNN``/``LSTM``/``GRU`` given
    float64 input with float32 weights), outside autocast.

    A ``ValueError`` as PyTorch raises it ("RNN input dtype ... does not match weight dtype"),
    and a :class:`DTypeError`. Fix: ``input.to(weight.dtype)`` or ``module.to(input.dtype)``.
    """


class AutogradError(GraphcError, RuntimeError):
    """Misuse of autograd: backward twice without ``retain_graph``, backward of a
    non-scalar without ``gradient``, an in-place change of a tensor saved for
    backward, an in-place op on a leaf that requires grad.
    """


class TracingError(GraphcError, RuntimeError):
    """Data-dependent Python code on a tracer inside ``@graphc.compile``.

    A tracer has a shape and dtype but no values, so ``if t.sum() > 0:``,
    ``t.item()``, ``t.tolist()`` or ``t.numpy()`` cannot be answered while
    tracing. Fix: pass the value in as a plain Python (non-tensor) argument,
    express the branch with ``graphc.where``, or move that code out of the
    compiled function.
    """


class IntegerDivisionError(GraphcError, RuntimeError, ZeroDivisionError):
    """Integer division or remainder by zero (``//``, ``%``, ``div(..., rounding_mode=...)``,
    ``fmod`` on integer tensors). PyTorch raises here too: an integer quotient by zero has
    no value (numpy would silently give 0). Fix: mask the zero divisors first, or divide in
    floating point (``a / b`` gives inf or nan).
    """


class ValueCheckError(GraphcError, RuntimeError):
    """An input's values break what the op requires (``binary_cross_entropy`` outside [0, 1]):
    raised eagerly, or by a compiled program when the values arrive (``ir.ops.checks``)."""


class DeviceError(GraphcError, RuntimeError):
    """A device that is not available (``cuda`` without a GPU or without Triton),
    or tensors of one op on different devices.
    """


class UnsupportedError(GraphcError, NotImplementedError):
    """Something graphc does not implement yet; the message says what instead."""


class LinAlgError(GraphcError, RuntimeError):
    """A linear-algebra routine could not produce its result: a singular matrix for ``inv`` or
    ``solve``, a matrix that is not positive-definite for ``cholesky`` (PyTorch's
    ``torch.linalg.LinAlgError``). The message names the function, the batch element and the
    failing pivot or minor; the ``_ex`` forms return an ``info`` tensor instead of raising."""


class GradcheckError(GraphcError, RuntimeError):
    """``gradcheck``: analytic and numerical gradients disagree.

    The message shows both Jacobians. Fix: check the gradient rule of the op
    (``ir/passes/autodiff.py``) or a custom function's backward; use float64
    inputs, since float32 finite differences are too coarse to compare.
    """


class SerializationError(GraphcError, RuntimeError):
    """A file could not be saved or loaded as a graphc archive.

    ``graphc.save`` stores tensors, numbers, strings, None, dtypes, devices and
    (nested) dicts, lists and tuples of them — never arbitrary objects or code.
    Save a model or optimizer through ``.state_dict()``. ``graphc.load`` reads
    only files written by ``graphc.save``; it refuses pickles (such as files
    written by ``torch.save``) rather than run code from them.
    """


class CudaError(DeviceError):
    """A CUDA driver call failed; the message names the call and the driver's error."""


class DistributedError(GraphcError, RuntimeError):
    """A collective or point-to-point call of ``graphc.distributed`` failed.

    The message names this rank, the call and what went wrong: a collective
    before ``init_process_group``, ranks that passed different shapes, dtypes
    or reduce ops to the same collective, or a rank that died. Fix: make every
    rank call the same collectives, in the same order, on tensors of the same
    shape and dtype.
    """


class DistributedTimeoutError(DistributedError, TimeoutError):
    """A collective did not complete within the process group's timeout.

    The message names the ranks that did not join the call (a rank that
    stopped participating, died, or waits in a different collective). Raise
    the timeout with ``init_process_group(timeout=...)`` or
    ``GRAPHC_DIST_TIMEOUT`` when a step is legitimately slow.
    """
