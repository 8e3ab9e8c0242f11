"""The eager backward engine: PyTorch's semantics over the shared autodiff loop.

It orders the recorded :class:`GradNode` s (outputs first), then runs
:func:`ir.passes.autodiff.backprop` — the same loop and the same gradient
rules as the graph pass — with a builder that executes each gradient op at
once (recording it too when ``create_graph=True``, which is what makes
gradients of gradients work). Hooks, ``retain_grad`` and ``.grad``
accumulation happen in ``on_grad``, when a vertex's gradient is complete.

When nothing needs to see gradients one by one, the whole backward runs as one
compiled program instead (:mod:`graphc.autograd.fused`). This module also holds
the public entry points ``graphc.autograd.backward``/``grad`` and attaches
``Tensor.backward``.
"""

from __future__ import annotations

import logging
import os
import time

import numpy as np

from backends.numpy import allocator
from ir.errors import AutogradError
from ir.ops import fmt_shape
from ir.passes.autodiff import backprop

from .. import _dispatch, _layout, _state
from .._autograd_graph import AccumulateGrad, CompositeNode, GradNode, resolve
from .._factories import ones_like, tensor, zeros_like
from .._functional import clone, stack
from .._grad_mode import enable_grad, no_grad
from .._layout import contiguous_format
from .._tensor import Tensor
from . import anomaly_mode, fused


class _EagerBuilder:
    """Runs gradient ops immediately on tensors."""

    def __init__(self, device):
        self.device = device

    def op(self, name, inputs, **attrs):
        if not inputs:
            attrs["_device"] = self.device
        return _dispatch.apply(name, inputs, **attrs)

    def scalar(self, value, dtype):
        return _dispatch.constant(value, dtype, self.device)


def _parents(v):
    if isinstance(v, GradNode):
        # resolve() only where an edge is a composite's face: most edges are primitives' nodes
        return [e if e is None or type(e) is not CompositeNode else resolve(e) for e in v._next]
    return []


def _topological(roots):
    """Vertices reachable from ``roots``, each after every vertex that consumes it.

    (Nodes hash by identity, so they go in the set themselves; each stack entry walks its
    parents by index: no iterator objects.)"""
    seen, post = set(), []
    for root in roots:
        if root in seen:
            continue
        seen.add(root)
        stack = [[root, _parents(root), 0]]
        while stack:
            top = stack[-1]
            ps, i = top[1], top[2]
            while i < len(ps):
                p = ps[i]
                i += 1
                if p is not None and p not in seen:
                    seen.add(p)
                    top[2] = i
                    stack.append([p, _parents(p), 0])
                    break
            else:
                stack.pop()
                post.append(top[0])
    return post[::-1]


def _ctx_of(v):
    return v if isinstance(v, GradNode) else None


def _seed(out, grad):
    if grad is None:
        if out.numel() != 1:
            raise AutogradError(
                f"grad can be implicitly created only for scalar outputs (the output has shape "
                f"{fmt_shape(out.shape)}); pass gradient= with a tensor of that shape"
            )
        if out.dtype.is_complex:
            raise AutogradError("grad can be implicitly created only for real scalar outputs")
        data = out._data
        if data.__class__ is np.ndarray:  # eager on the CPU: the ones directly, outside autograd
            return Tensor._wrap(np.ones(data.shape, data.dtype), out._dtype, out._device)
        with no_grad():
            return ones_like(out)
    if not isinstance(grad, Tensor):
        grad = tensor(grad, dtype=out.dtype)
    if tuple(grad.shape) != tuple(out.shape):
        if grad.numel() == out.numel() == 1:
            return _dispatch.apply("reshape", [grad], shape=tuple(out.shape))
        raise AutogradError(
            f"Mismatch in shape: grad_output[0] has a shape of {fmt_shape(grad.shape)} and output[0] "
            f"has a shape of {fmt_shape(out.shape)}."
        )
    if grad.dtype is not out.dtype:
        grad = _dispatch.apply("cast", [grad], dtype=out.dtype)
    return grad


def in_backward() -> bool:
    """True while the engine runs a backward pass in this thread (while it does, the tracer
    tags the nodes it records with meta['phase'] = 'backward': graph dumps draw them apart)."""
    return _state.in_backward()


def run_backward(
    outputs, grad_outputs, *, retain_graph, create_graph, inputs=None, accumulate=True, allow_unused=False
):
    """Backpropagate from ``outputs``; accumulate into leaves' ``.grad`` or return grads of ``inputs``."""
    _state.enter_backward()
    kinds = _state._STATE.backward_kinds
    kinds.append(inputs is None and accumulate)  # read by checkpoint(use_reentrant=True)
    try:
        return _run_backward(
            outputs,
            grad_outputs,
            retain_graph=retain_graph,
            create_graph=create_graph,
            inputs=inputs,
            accumulate=accumulate,
            allow_unused=allow_unused,
        )
    finally:
        kinds.pop()
        _state.exit_backward()


def _run_backward(
    outputs, grad_outputs, *, retain_graph, create_graph, inputs=None, accumulate=True, allow_unused=False
):
    roots, seeds = [], {}
    for i, (out, g) in enumerate(zip(outputs, grad_outputs)):
        edge = _dispatch.grad_edge(out)
        if edge is None:
            raise AutogradError(f"element {i} of tensors does not require grad and does not have a grad_fn")
        v = resolve(edge)
        g = _seed(out, g)
        roots.append(v)
        seeds[v] = g if v not in seeds else _dispatch.apply("add", [seeds[v], g])
    order = _topological(roots)

    targets = {}
    if inputs is not None:
        for t in inputs:
            if not isinstance(t, Tensor):
                raise RuntimeError(f"all inputs have to be Tensors or GradientEdges, but got {type(t).__name__}")
            edge = _dispatch.grad_edge(t)
            if edge is None:
                raise AutogradError("One of the differentiated Tensors does not require grad")
            targets[resolve(edge)] = t
    captured = {}

    def on_grad(v, g):
        if isinstance(v, GradNode):
            if v._hooks:
                for hook in list(v._hooks):
                    r = hook(g)
                    if r is not None:
                        g = r
            # retain_grad() tensors, and the non-leaf tensors listed in backward(inputs=...)
            t = v._retained() if v._retained is not None else targets.get(v) if inputs is not None else None
            if t is not None and accumulate:
                _accumulate(t, g, create_graph)
        elif isinstance(v, AccumulateGrad):
            t = v.variable
            if t is not None and t._hooks:
                for hook in list(t._hooks):
                    r = hook(g)
                    if r is not None:
                        g = r
            if t is not None and accumulate and (inputs is None or v in targets):
                _accumulate(t, g, create_graph)
                for hook in list(t._hooks or ()):  # register_post_accumulate_grad_hook
                    getattr(hook, "post", None) and hook.post(t)
        if v in targets:
            captured[v] = g
        return g

    choice = None
    anomaly = _state.ANOMALY["enabled"]
    if not create_graph and inputs is None and accumulate and not anomaly and _dispatch.active_tracer() is None:
        choice = fused.choose(order, seeds, outputs)
        if choice is not None and choice.wants_fused():
            had_plan = choice.plan is not None  # the call that builds the plan compiles: not timed
            t0 = time.perf_counter()
            if _fused_backward(order, seeds, choice):
                if had_plan:
                    choice.record(True, time.perf_counter() - t0)
                if not retain_graph:
                    for v in order:
                        if isinstance(v, GradNode):
                            v.release()
                return None
            choice = None

    device = outputs[0].device
    mode = enable_grad() if create_graph else no_grad()
    t0 = time.perf_counter()
    with mode:
        backprop(
            order, seeds, _EagerBuilder(device), anomaly_mode.checked_ctx if anomaly else _ctx_of, _parents, on_grad
        )
    if choice is not None:
        choice.record(False, time.perf_counter() - t0)
    if not retain_graph:
        for v in order:
            if isinstance(v, GradNode):
                v.release()
    if inputs is None:
        return None
    result = []
    for t in inputs:
        g = captured.get(resolve(_dispatch.grad_edge(t)))
        if g is None and not allow_unused:
            raise AutogradError(
                "One of the differentiated Tensors appears to not have been used in the graph. Set "
                "allow_unused=True if this is the desired behavior."
            )
        result.append(g)
    return tuple(result)


def _fused_backward(order, seeds, choice) -> bool:
    """Run this backward as one compiled graph (see graphc.autograd.fused); False if it failed."""
    try:
        grads = fused.run(order, seeds, _parents, choice)
    except AutogradError:
        raise
    except Exception as e:  # never worse than the op-by-op engine: fall back, and say so
        if os.environ.get("GRAPHC_FUSED_BACKWARD") == "strict":  # tests: surface the failure
            raise
        ops = [v.op for v in order if type(v) is GradNode]
        logging.getLogger("graphc.autograd").warning(
            "graphc: the fused backward failed (%s: %s) for a backward of %d ops (%s); this graph runs op by op "
            "from now on. Please report it with GRAPHC_FUSED_BACKWARD=strict's traceback.",
            type(e).__name__,
            e,
            len(ops),
            ", ".join(ops[:8]) + (", ..." if len(ops) > 8 else ""),
        )
        # This signature runs op by op from now on; the others still fuse. (One failing graph used
        # to switch the fused path off for the whole process, silently slowing every later backward.)
        choice.use_fused = False
        return False
    used = set()
    for v, arr in grads.items():
        t = v.variable
        if t is None:
            continue
        arr = arr.reshape(tuple(t.shape))
        # A gradient keeps the program's array only when that memory is its alone: an array
        # that owns it, or a large output whose cached buffer no other gradient claimed.
        owner = arr.base if arr.base is not None and allocator.cache.owns(arr) else arr
        if id(owner) in used or not arr.flags.writeable or owner.base is not None:
            arr = owner = arr.copy()
        used.add(id(owner))
        if t._grad is None:
            t._grad = Tensor._wrap(_layout.grad_layout(t._data, arr, copy=False), t.dtype, t.device)
        else:
            t._grad._data += arr
            t._grad._version.value += 1
    return True


def _accumulate(t, g, create_graph):
    tracer = _dispatch.active_tracer()
    if tracer is not None:
        real = tracer.real_of(t) if t._node is not None else t
        if real is None:  # a non-leaf tracer that retains its grad: the grad stays a tracer
            real = t
        if g.shape != t.shape:
            g = _dispatch.apply("reshape", [g], shape=tuple(t.shape))
        current = tracer.get_grad(real)
        if current is None:
            # a tensor of its own, as eager's copy: a later accumulation writes into it
            tracer.set_grad(real, g if create_graph else tracer.snapshot(g))
        elif create_graph:
            tracer.set_grad(real, _dispatch.apply("add", [current, g]))
        else:
            # eager adds into the same .grad tensor: `g = x.grad` taken between two
            # backward calls sees the second one (a traced in-place write)
            with no_grad():
                tracer.write(current, _dispatch.apply("add", [current, g]))
            tracer.set_grad(real, current)
        return

    if g.shape != t.shape:
        g = _dispatch.apply("reshape", [g], shape=tuple(t.shape))
    if not create_graph and g._data.__class__ is np.ndarray:  # eager on the CPU (grad mode is off here)
        if t._grad is None:
            t._grad = Tensor._wrap(_layout.grad_layout(t._data, g._data, copy=True), g._dtype, g._device)
        else:
            t._grad._data += g._data
            t._grad._version.value += 1
        return
    if t._grad is None:
        with enable_grad() if create_graph else no_grad():
            t._grad = clone(g, memory_format=contiguous_format)  # the layout contract, as above
        if isinstance(t._grad._data, np.ndarray):
            t._grad._data = _layout.grad_layout(t._data, t._grad._data, copy=False)
        if not create_graph:
            t._grad = t._grad.detach()
    elif create_graph:
        t._grad = _dispatch.apply("add", [t._grad, g])
    else:
        with no_grad():
            t._grad._data += g._data
            t._grad._version.value += 1


# -- the public entry points -------------------------------------------------------


def _as_list(x):
    if x is None:
        return None
    if isinstance(x, (list, tuple)):
        return list(x)
    return [x]


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None) -> None:
    """Accumulate the gradients of ``tensors`` into the ``.grad`` of the leaves.

    ``grad_tensors`` is required for non-scalar outputs. Without
    ``retain_graph`` the saved values are freed, and a second backward through
    the same graph raises. ``create_graph=True`` records the backward ops so
    the gradients can be differentiated again.
    """
    outs = _as_list(tensors)
    grads = _as_list(grad_tensors) or [None] * len(outs)
    if retain_graph is None:
        retain_graph = create_graph
    inputs = _as_list(inputs)
    if inputs == []:
        raise RuntimeError("`inputs` argument to `backward()` cannot be empty.")
    run_backward(outs, grads, retain_graph=retain_graph, create_graph=create_graph, inputs=inputs)


def grad(
    outputs,
    inputs,
    grad_outputs=None,
    retain_graph=None,
    create_graph=False,
    only_inputs=True,
    allow_unused=None,
    is_grads_batched=False,
    materialize_grads=False,
):
    """The gradients of ``outputs`` with respect to ``inputs``, returned (not accumulated).

    ``is_grads_batched=True``: the first dimension of each ``grad_outputs`` entry is a batch of
    vectors, and each result gets that batch dimension; graphc computes it by one backward per
    vector (a loop, where PyTorch vmaps the backward).

    >>> (gx,) = graphc.autograd.grad(y, [x], create_graph=True)
    """
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when materialize_grads=True, "
                         "but got: allow_unused=False.")
    outs = _as_list(outputs)
    ins = _as_list(inputs)
    grads = _as_list(grad_outputs) or [None] * len(outs)
    if retain_graph is None:
        retain_graph = create_graph
    if is_grads_batched:
        return _batched_grad(outs, ins, grads, retain_graph, create_graph, allow_unused, materialize_grads)
    result = run_backward(
        outs,
        grads,
        retain_graph=retain_graph,
        create_graph=create_graph,
        inputs=ins,
        accumulate=False,
        allow_unused=bool(allow_unused) or materialize_grads,
    )
    if materialize_grads:
        result = tuple(zeros_like(t) if g is None else g for t, g in zip(ins, result))
    return result


def _batched_grad(outs, ins, grads, retain_graph, create_graph, allow_unused, materialize_grads):
    if any(g is None for g in grads):
        raise RuntimeError("grad_outputs must be given (one batch of vectors per output) when is_grads_batched=True")
    n = grads[0].shape[0] if grads[0].dim() else 0
    rows = []
    for i in range(n):
        rows.append(
            grad(
                outs,
                ins,
                [g[i] for g in grads],
                retain_graph=retain_graph or i < n - 1,
                create_graph=create_graph,
                allow_unused=allow_unused,
                materialize_grads=materialize_grads,
            )
        )
    result = []
    for k, t in enumerate(ins):
        col = [r[k] for r in rows]
        if all(c is None for c in col):
            result.append(None)
        else:
            result.append(stack([zeros_like(t) if c is None else c for c in col]))
    return tuple(result)


def _tensor_backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None) -> None:
    """Accumulate d(self)/d(leaf) into each leaf's ``.grad`` (PyTorch's semantics)."""
    backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph, inputs=inputs)


_tensor_backward.__name__, _tensor_backward.__qualname__ = "backward", "Tensor.backward"
Tensor.backward = _tensor_backward
