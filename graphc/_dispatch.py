"""Running one IR op on tensors: the single path every tensor op goes through.

:func:`apply` looks the op up in the op table, infers (and so validates) the
output's shape and dtype, and then either

* runs it at once on the backend of the inputs' device (eager), keeping a
  :class:`~graphc.autograd.graph.GradNode` when autograd needs one, or
* records it as a node of the graph being traced (``@graphc.compile``), when
  any input is a tracer.

There is no per-op code here: op behaviour lives in ``ir/ops.py`` (rules),
``backends/*`` (kernels) and ``ir/passes/autodiff.py`` (gradients).
"""

from __future__ import annotations

import numpy as np

from ir import dtypes as dt
from ir import ops as ops_table
from ir.errors import DeviceError

from ._tensor import Tensor
from .autograd.grad_mode import is_grad_enabled
from .autograd.graph import AccumulateGrad, CompositeNode, GradNode
from .device import backend_for, cpu_device

# Set by graphc.compile while a function is traced: an object with
# ``record(opdef, inputs, attrs) -> Tensor`` and ``constant(value, dtype) -> Tensor``.
_tracer_stack: list = []


def active_tracer():
    return _tracer_stack[-1] if _tracer_stack else None


def grad_edge(t):
    """The autograd edge into tensor ``t``: its grad_fn, its AccumulateGrad, or None."""
    if t._base is not None:
        t._sync_view_grad_fn()
    if t._grad_fn is not None:
        return t._grad_fn
    if t._requires_grad:
        acc = t._accumulator
        if acc is None:
            acc = t._accumulator = AccumulateGrad(t)
        return acc
    return None


def apply(name: str, inputs, **attrs):
    """Run (or trace) IR op ``name`` on ``inputs`` (tensors) with ``attrs``."""
    opdef = ops_table.OPS[name]
    tracer = active_tracer()
    if tracer is not None:
        return tracer.record(opdef, inputs, attrs)
    shape, dtype = opdef.infer(inputs, attrs)
    device = inputs[0]._device if inputs else attrs.pop("_device", None)
    for t in inputs[1:]:
        if t._device != device:
            raise DeviceError(
                f"{name}: expected all tensors on the same device, found {device} and {t._device}"
            )
    backend = backend_for(device)
    arrays = [t._data for t in inputs]
    if any(a is None for a in arrays):
        _escaped_tracer(name)
    out = backend.run_op(opdef, arrays, attrs, shape, dtype)
    result = Tensor._wrap(out, dtype, device)
    if opdef.kind == ops_table.VIEW:
        result._make_view_of(inputs[0], (name, attrs))
    # Integer and bool results never require grad (argmax, comparisons, .long()), as in PyTorch.
    if opdef.differentiable and dtype.is_floating_point and is_grad_enabled():
        edges = [grad_edge(t) for t in inputs]
        if any(e is not None for e in edges):
            result._grad_fn = GradNode(opdef, attrs, inputs, edges, result)
    return result


def _escaped_tracer(name: str):
    from ir.errors import TracingError, user_location

    raise TracingError(
        f"{name}: an input is a tracer that escaped a @graphc.compile function (kept in a list, a "
        "global or an attribute while the function was traced); it has no values outside the trace. "
        f"Return the tensor from the compiled function instead of storing it. (at {user_location()})"
    )


def constant(value, dtype: dt.DType, device=None):
    """A 0-d (or small) constant tensor for a Python scalar operand."""
    tracer = active_tracer()
    if tracer is not None:
        return tracer.constant(value, dtype)
    arr = np.asarray(value, dtype=dtype.numpy_dtype)
    return Tensor._wrap(arr, dtype, device or cpu_device())


def dynamic_scalar(getter):
    """``getter()`` now; inside ``@graphc.compile``, a 0-d graph input fed ``getter()`` on
    every replay (for Python numbers that change between calls, like a learning rate)."""
    tracer = active_tracer()
    if tracer is None:
        return getter()
    return tracer.dynamic_scalar(getter)


class composite:
    """Give the grad_fn of a frontend function's result PyTorch's name and edges.

    >>> with composite("MeanBackward0", x) as c:
    ...     out = c.result(mul(sum(x), 1 / n))
    """

    def __init__(self, name: str, *inputs):
        self.name = name
        self.inputs = inputs

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def result(self, out):
        inner = out._grad_fn
        if inner is None or out._node is not None:
            return out
        edges = []
        for t in self.inputs:
            if hasattr(t, "_grad_fn"):
                if inner is t._grad_fn:
                    return out
                edges.append(grad_edge(t))
        out._grad_fn = CompositeNode(self.name, inner, edges)
        return out
