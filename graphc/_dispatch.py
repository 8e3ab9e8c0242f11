"""Applying one IR op to tensors: the single path every tensor op takes, eager or traced.

:func:`apply` looks the op up in the op table and produces its output in one
of two ways:

* **eager**: infer (and so validate) the output's shape and dtype, run the op
  on the backend of the inputs' device, and wrap the result in a Tensor;
* **traced** (a trace is active in this thread: ``@graphc.compile``): lift real
  inputs into the trace and record a node; the output is a tracer.

Everything else is the same in both modes and happens here, once: a view's
output shares its source's version counter and remembers its base and the view
ops from it (so an in-place write through a view can rebase autograd history,
PyTorch's CopySlices), and when autograd needs one the output gets its
:class:`~graphc._autograd_graph.GradNode`.

There is no per-op code here: op behaviour lives in ``ir/ops.py`` (rules),
``backends/*`` (kernels) and ``ir/passes/autodiff.py`` (gradients).
"""

from __future__ import annotations

import functools
import traceback
import weakref

import numpy as np

from backends.numpy.eager import eager_kernel
from ir import dtypes as dt
from ir import ops as ops_table
from ir.errors import DeviceError, TracingError, user_location
from ir.ops.evaluate import round_bf16

from . import _state
from ._autograd_graph import AccumulateGrad, CompositeNode, GradNode
from ._grad_mode import enable_grad, is_grad_enabled
from ._tensor import Tensor
from .device import backend_for, cpu_device

_wrap = Tensor._wrap

_VIEW = ops_table.VIEW
_OPS = ops_table.OPS
_THREAD = _state._STATE  # this thread's trace stack: read once per op
_CPU_TYPE = "cpu"

# Eager signatures seen on the CPU: (op, attrs, input shapes and dtypes) -> (shape, dtype, kernel).
# The op's rules validated the signature when it was added, so a hit skips them; errors are never
# cached (the rules raise before the entry exists). Bounded: cleared when it grows past the limit.
_SIGNATURES: dict = {}
_SIGNATURE_LIMIT = 1024  # ~1 KB an entry: bounded memory when shapes keep changing


def active_tracer():
    """The trace recording this thread's ops (inside ``@graphc.compile``), or None."""
    return _state.active_tracer()


def apply(name: str, inputs, **attrs):
    """Run (or trace) IR op ``name`` on ``inputs`` (tensors) with ``attrs``."""
    opdef = _OPS[name]
    if _THREAD.input_hook is not None:  # graphc.utils.checkpoint: see or replace the inputs
        inputs = _THREAD.input_hook(inputs)
    traces = _THREAD.traces
    if not traces:
        result = _run(opdef, inputs, attrs)
    else:
        tracer = traces[-1]
        attrs.pop("_device", None)
        inputs = [tracer.to_tracer(t) for t in inputs]
        result = tracer.add_node(opdef, inputs, attrs)
    if opdef.kind == _VIEW:
        _mark_view(result, inputs[0], (name, attrs))
    # Autograd records a node only when an input may need grad: cheap slot reads first. A view
    # whose base has a history may need its grad_fn re-derived (the base was written in place),
    # so it takes the full check; a view of a base without history has none to inherit.
    if opdef.differentiable:
        for t in inputs:
            base = t._base
            if t._requires_grad or t._grad_fn is not None or (base is not None and base._grad_fn is not None):
                # Integer and bool results never require grad (argmax, comparisons, .long()), as in PyTorch.
                if result._dtype.is_differentiable and is_grad_enabled():
                    edges = [grad_edge(t) for t in inputs]
                    if any(e is not None for e in edges):
                        node = result._grad_fn = GradNode(opdef, attrs, inputs, edges, result)
                        if _state.ANOMALY["enabled"]:
                            record_forward_stack(node)
                break
    return result


# Anomaly mode: the forward stack of each node recorded while it was on (weak keys: it goes
# with the node). PyTorch prints it when that node's backward fails or returns NaN.
FORWARD_STACKS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def record_forward_stack(node) -> None:
    """Remember where ``node``'s op was called (the user's frames, graphc's own left out)."""
    frames = [f for f in traceback.extract_stack()[:-1] if _GRAPHC_DIR not in f.filename]
    FORWARD_STACKS[node] = "".join(traceback.format_list(frames))


_GRAPHC_DIR = __file__.rsplit("/", 1)[0] + "/"


def _run(opdef, inputs, attrs) -> Tensor:
    """The eager half of :func:`apply`: the op's output, computed now on its device's backend.

    On the CPU the checked output shape and dtype and the kernel are cached per signature
    (op, attrs, input shapes and dtypes; see :mod:`backends.numpy.eager`)."""
    n = len(inputs)
    try:  # only the key can fail here (no data: an escaped tracer; unhashable attrs), not the kernel
        if n == 2:
            a, b = inputs
            da, db = a._data, b._data
            entry = _SIGNATURES.get(
                key := (opdef, da.shape, a._dtype, a._device.type, db.shape, b._dtype, b._device.type, *attrs.items())
            )
            arrays = [da, db]
        elif n == 1:
            a = inputs[0]
            da = a._data
            entry = _SIGNATURES.get(key := (opdef, da.shape, a._dtype, a._device.type, *attrs.items()))
            arrays = [da]
        else:
            key = (opdef, *[(t._data.shape, t._dtype, t._device.type) for t in inputs], *attrs.items())
            entry = _SIGNATURES.get(key)
            arrays = None
    except (AttributeError, TypeError):
        entry = key = None
    if entry is None:
        return _run_uncached(opdef, inputs, attrs, key)
    if arrays is None:
        arrays = [t._data for t in inputs]
    return _wrap(entry[2](arrays, attrs), entry[1], inputs[0]._device)


def _run_uncached(opdef, inputs, attrs, key) -> Tensor:
    """:func:`_run` for a signature not seen yet (or not cacheable): the rules check it."""
    shape, dtype = opdef.infer(inputs, attrs)
    device = inputs[0]._device if inputs else attrs.pop("_device", None)
    for t in inputs[1:]:
        if t._device != device:
            raise DeviceError(
                f"{opdef.name}: expected all tensors on the same device, found {device} and {t._device}"
            )
    arrays = [t._data for t in inputs]
    if any(a is None for a in arrays):
        _escaped_tracer(opdef.name)
    if key is not None and device.type == _CPU_TYPE and opdef.kind not in _UNCACHED_KINDS:
        kernel = eager_kernel(opdef, attrs, [a.shape for a in arrays], [t._dtype for t in inputs], shape, dtype)
        if len(_SIGNATURES) >= _SIGNATURE_LIMIT:
            _SIGNATURES.clear()
        _SIGNATURES[key] = (shape, dtype, kernel)
        return _wrap(kernel(arrays, attrs), dtype, device)
    out = backend_for(device).run_op(opdef, arrays, attrs, shape, dtype)
    return _wrap(out, dtype, device)


# Kinds whose eager result is not a function of the signature alone: sources and creations take
# their device from attrs (no inputs); collectives talk to other processes.
_UNCACHED_KINDS = frozenset((ops_table.SOURCE, ops_table.CREATION, ops_table.COLLECTIVE))


def _mark_view(out: Tensor, src: Tensor, view_op: tuple) -> None:
    """Make ``out`` a view of ``src``'s base: shared version counter, base, view ops from it."""
    data = src._data
    if data is not None:
        base = out._data.base
        # Eagerly, numpy may have had to copy (a reshape of a layout that cannot be viewed).
        if base is None or (base is not data and base is not data.base):
            if not np.may_share_memory(out._data, data):
                return
    version = src._ver if src._ver is not None else src._version  # (the property makes it)
    out._ver = version
    out._inference = src._inference  # a view of a normal tensor is normal, even in inference mode
    base = src._base
    out._base = base if base is not None else src
    ops = src._view_ops
    out._view_ops = ops + (view_op,) if ops else (view_op,)
    out._view_version = version.value
    if base is not None and ops is not None:  # a view of a view inherits how the first was made
        meta = src._view_meta
        if meta is not None:
            out._view_meta = (NO_GRAD_VIEW, True) if meta[0] == NO_GRAD_VIEW and is_grad_enabled() else meta
    if (src._requires_grad or src._grad_fn is not None) and not is_grad_enabled():
        out._view_meta = (NO_GRAD_VIEW, False)
    if out._trace is not None:  # traced views alias by bookkeeping, not memory: the trace keeps them
        out._trace.note_view(out)


# ``Tensor._view_meta``: PyTorch's CreationMeta of a view that must not be written in place
# while autograd records (graphc._inplace.check_view_write raises): (NO_GRAD_VIEW, of_a_view)
# for a view made under no_grad of a tensor that requires grad, (MULTI_OUTPUT_VIEW, "Output i
# of Fn") for the outputs of unbind/split/chunk (see mark_multi_output).
NO_GRAD_VIEW = "no_grad"
MULTI_OUTPUT_VIEW = "multi_output"


def mark_multi_output(views, fn: str) -> tuple:
    """Mark the views a multi-output view function (``unbind``, ``split``, ``chunk``) returns:
    PyTorch forbids writing them in place while autograd records, because one backward node
    gives all of them their gradient and cannot be rebased for one output. (Views made under
    no_grad keep that mark, which PyTorch reports first.) Returns ``views``."""
    for i, v in enumerate(views):
        if v._base is not None and v._view_ops is not None and v._view_meta is None:
            v._view_meta = (MULTI_OUTPUT_VIEW, f"Output {i} of {fn}")
    return views


def replay_view(base: Tensor, view_ops) -> Tensor:
    """``base`` seen through ``view_ops`` again, each applied as an op (so autograd records it)."""
    v = base
    for name, attrs in view_ops:
        v = apply(name, [v], **attrs)
    return v


def _sync_view_grad_fn(self: Tensor) -> None:
    """Re-derive a view's grad_fn from its base after the memory was written in place.

    ``v = y[0:2]; y[1].mul_(w)`` changes ``v``'s values through another view;
    CopySlices rebased ``y``'s history, and ``v`` must now differentiate through
    it (PyTorch regenerates a stale view's grad_fn the same way), or its
    gradient would silently miss the write.
    """
    if self._view_version == self._version.value or self._view_ops is None or self._data is None:
        return
    self._view_version = self._version.value
    base = self._base
    if base is None or base._grad_fn is None:
        return
    with enable_grad():
        self._take_grad_fn(replay_view(base, self._view_ops)._grad_fn)


Tensor._sync_view_grad_fn = _sync_view_grad_fn


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


def _escaped_tracer(name: str):
    raise TracingError(
        f"{name}: an input is a tracer that escaped a @graphc.compile function (kept in a list, a "
        "global or an attribute while the function was traced); it has no values outside the trace. "
        f"Return the tensor from the compiled function instead of storing it. (at {user_location()})"
    )


@functools.lru_cache(maxsize=None)
def _int_bounds(np_dtype) -> tuple[int, int]:
    info = np.iinfo(np_dtype)
    return int(info.min), int(info.max)


def constant(value, dtype: dt.DType, device=None):
    """A 0-d (or small) constant tensor for a Python scalar operand."""
    if type(value) is int and dtype.is_integer:
        lo, hi = _int_bounds(dtype.numpy_dtype)
        if not lo <= value <= hi:  # PyTorch wraps it modulo 2**bits (uint8 + -3 adds 253)
            value = (value - lo) % (hi - lo + 1) + lo
    tracer = _state.active_tracer()
    if tracer is not None:
        return tracer.constant(value, dtype)
    if type(value) is float and not -65504.0 <= value <= 65504.0:
        with np.errstate(over="ignore"):  # beyond the dtype's range: +-inf, silently as in PyTorch
            arr = np.asarray(value, dtype=dtype.numpy_dtype)
    else:
        arr = np.asarray(value, dtype=dtype.numpy_dtype)
    if dtype is dt.bfloat16:  # stored as float32: the value bfloat16 holds (0.1 is 0.10009766)
        arr = round_bf16(arr)
    return Tensor._wrap(arr, dtype, device or cpu_device())


def dynamic_scalar(getter):
    """``getter()`` now; inside ``@graphc.compile``, a 0-d graph input fed ``getter()`` on
    every replay (for Python numbers that change between calls, like a learning rate)."""
    tracer = _state.active_tracer()
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
