"""Autograd through a compiled call: a compiled forward, then ``loss.backward()`` outside.

When a compiled function returns tensors that require grad (a compiled
model's forward, or nanoGPT's ``logits, loss = model(x, y)``), tracing goes on
past the user's code: the eager engine runs backward on the tracers from new
inputs ``grad_out0, grad_out1, ...`` (one per differentiable output, so the same
gradient rules record the backward graph), and the graph is split in two —

* the forward graph returns the user's outputs plus the values the backward
  reads (*saved* values; inputs are not saved, they are read again);
* the backward graph takes the saved values and the output gradients and
  returns one gradient per input that requires grad (arguments, lifted
  parameters, and tensors with history computed before the call).

Both are optimized and compiled like any graph. On replay one
:class:`CompiledCallNode` runs the backward program. With one differentiable
output it is that output's ``grad_fn``. With several, the engine's nodes having
one output each, the call node stands for all outputs flattened into one vector,
and each output's ``grad_fn`` is an :class:`OutputSlot` that places its gradient
into that vector: the engine sums the slots' contributions (zeros for outputs
that got none) and calls the call node once. This is what PyTorch's
AOTAutograd does for ``torch.compile``.
"""

from __future__ import annotations

import numpy as np

from ir.errors import AutogradError, UnsupportedError
from ir.graph import Graph

from ._autograd_graph import GradNode
from ._dispatch import grad_edge
from ._grad_mode import is_grad_enabled
from ._tensor import Tensor
from .autograd.engine import run_backward

CALL_OP = "graphc.compiled_call"


class _CompiledCallOp:
    """What ``GradNode.__init__`` reads of an op row, for a compiled call (not an IR op)."""

    name = CALL_OP
    saves = ()
    grad_name = "CompiledFunctionBackward"


class AotPlan:
    """How the traced graph splits into a forward and a backward graph."""

    def __init__(self, backward: Graph, saved: list, diff_reals: list, output_indices: list):
        self.backward = backward
        self.saved = saved  # per backward input: ("input", pos) / ("output", pos) / ("grad_out", k)
        self.diff_reals = diff_reals  # real tensors that receive gradients
        self.output_indices = output_indices  # the user outputs that require grad
        self.unused: set = set()  # inputs the outputs do not depend on: their grad stays None


def plan_backward(trace, out_leaves):
    """Record the backward of the outputs that require grad; (None, why) if not supported."""
    req = [i for i, o in enumerate(out_leaves) if o._node is not None and o.requires_grad]
    outs = [out_leaves[i] for i in req]
    if len({o.dtype for o in outs}) > 1:
        kinds = ", ".join(str(o.dtype) for o in outs)
        return None, f"its outputs that require grad have different dtypes ({kinds})"
    if len({id(o) for o in outs}) != len(outs):
        return None, "it returns the same tensor that requires grad twice"
    diff = [p for p in trace.proxies.values() if p.input_node is not None and p.tracer.requires_grad and p.tracer.is_leaf]
    if not diff:
        if any(p.input_node is not None and p.tracer.requires_grad for p in trace.proxies.values()):
            return None, "it writes in place into a tensor it was given that requires grad"
        return None, "no input requires grad"
    g = trace.graph
    n_forward = len(g.nodes)
    grad_out_nodes = [g.add_input(tuple(o.shape), o.dtype, f"grad_out{k}") for k, o in enumerate(outs)]
    grads = run_backward(
        outs,
        [trace._tracer(n) for n in grad_out_nodes],
        retain_graph=True,
        create_graph=False,
        inputs=[p.tracer for p in diff],
        accumulate=False,
        allow_unused=True,
    )
    forward_ids = {n.id for n in g.nodes[:n_forward]}
    backward_nodes = g.nodes[n_forward:]
    g.nodes = g.nodes[:n_forward]
    grad_out_k = {n.id: k for k, n in enumerate(grad_out_nodes)}
    g.inputs = [n for n in g.inputs if n.id not in grad_out_k]

    bwd = Graph(g.name + "_backward")
    remap, saved = {}, []
    input_pos = {n.id: i for i, n in enumerate(g.inputs)}

    def bind(n):
        if n.id in remap:
            return remap[n.id]
        if n.id in grad_out_k:
            new = bwd.add_input(n.shape, n.dtype, f"grad_out{grad_out_k[n.id]}")
            saved.append(("grad_out", grad_out_k[n.id]))
        elif n.id in input_pos:
            new = bwd.add_input(n.shape, n.dtype, f"in{input_pos[n.id]}")
            saved.append(("input", input_pos[n.id]))
        elif n.op == "constant":
            new = bwd.add("constant", **n.attrs)
        else:
            new = bwd.add_input(n.shape, n.dtype, f"saved%{n.id}")
            saved.append(("output", n))
        remap[n.id] = new
        return new

    for n in backward_nodes:
        if n.id in grad_out_k:
            continue
        ins = [bind(i) if (i.id in forward_ids or i.id in grad_out_k) else remap[i.id] for i in n.inputs]
        new = bwd.add(n.op, ins, **n.attrs)
        new.meta.update(n.meta)
        remap[n.id] = new
    outs, unused = [], set()
    for i, (p, gr) in enumerate(zip(diff, grads)):
        if gr is None:
            unused.add(i)
            outs.append(bwd.add("full", [], shape=tuple(p.tracer.shape), dtype=p.tracer.dtype, value=0))
        else:
            outs.append(remap[gr._node.id] if gr._node.id in remap else bind(gr._node))
    bwd.outputs = outs
    plan = AotPlan(bwd, saved, [p.real for p in diff], req)
    plan.unused = unused
    return plan, None


class CompiledCallNode(GradNode):
    """Runs a compiled call's backward program; the ``grad_fn`` of its one differentiable
    output, or (several outputs) the node their :class:`OutputSlot` s lead to.

    Built through ``GradNode.__init__`` like every autograd node (its inputs are the
    real tensors that receive gradients; it saves nothing through ``saves``: the
    backward program's inputs are kept in ``_arrays``). With several outputs its
    gradient is the outputs' gradients flattened and concatenated (``_slots``:
    offset, size and shape of each)."""

    def __init__(self, program, saved_arrays, edges, reals, output, versions, unused=frozenset(), slots=None):
        super().__init__(_CompiledCallOp, {}, reals, edges, output)
        self._program = program
        self._arrays = saved_arrays
        self._reals = reals
        self._versions = versions
        self._unused = unused
        self._slots = slots

    def vjp(self, g):
        if self._freed:
            self._check(None, 0, "")
        if is_grad_enabled():
            raise UnsupportedError(
                "create_graph=True (double backward) through a @graphc.compile'd call is not supported; "
                "call the function eagerly for higher-order gradients"
            )
        if g._data is None:
            raise UnsupportedError("backward through a compiled call inside another compiled function")
        for real, version in zip(self._reals, self._versions):
            if real._version.value != version:
                raise AutogradError(
                    "one of the variables needed for gradient computation has been modified by an inplace "
                    f"operation: [graphc.{real.dtype.name} {list(real.shape)}] was changed after the compiled "
                    "call that used it"
                )
        if self._slots is None:
            grad_outs = [g._data]
        else:
            flat = np.asarray(g._data).reshape(-1)
            grad_outs = [flat[off : off + n].reshape(shape) for off, n, shape in self._slots]
        inputs = [grad_outs[a[1]] if type(a) is tuple else a for a in self._arrays]
        results = self._program(inputs)
        return [
            Tensor._wrap(np.asarray(r), dt_, g.device) if self.needs(i) and i not in self._unused else None
            for i, (r, dt_) in enumerate(zip(results, self.in_dtypes))
        ]

    def custom_vjp(self, builder, ctx, g):
        """The rule the shared backprop loop calls for this node (see ir.passes.autodiff)."""
        return self.vjp(g)

    def release(self):
        self._arrays = None
        self._freed = True


class _Flat:
    """The shape and dtype of a call node's flattened outputs (what GradNode reads, through the
    same slots a tensor has)."""

    __slots__ = ("shape", "dtype", "_version")
    _data = _node = None  # no values: GradNode takes the shape as it is

    def __init__(self, n, dtype):
        self.shape, self.dtype = (n,), dtype

    @property
    def _dtype(self):
        return self.dtype


class OutputSlot(GradNode):
    """The ``grad_fn`` of one of several differentiable outputs of a compiled call: puts
    its gradient at its place in the call node's flattened gradient."""

    def __init__(self, call, flat, offset, output):
        super().__init__(_CompiledCallOp, {}, [flat], [call], output)
        self._offset = offset
        self._size = flat.shape[0]

    def custom_vjp(self, builder, ctx, g):
        if self._freed:
            self._check(None, 0, "")
        if g._data is None:
            raise UnsupportedError("backward through a compiled call inside another compiled function")
        packed = np.zeros(self._size, dtype=g._dtype.numpy_dtype)
        a = np.asarray(g._data).reshape(-1)
        packed[self._offset : self._offset + a.size] = a
        return [Tensor._wrap(packed, g._dtype, g.device)]

    def release(self):
        self._freed = True


def attach(plan, backward_program, outputs, results, inputs, reals) -> None:
    """Give the differentiable outputs of one replay their ``grad_fn``."""
    if not is_grad_enabled():
        return
    if not any(r.requires_grad for r in reals):
        return
    arrays = []
    for kind, where in plan.saved:
        if kind == "grad_out":
            arrays.append(("grad_out", where))
        elif kind == "input":
            arrays.append(inputs[where])
        else:
            arrays.append(results[where])
    # an output that is an input itself keeps its own autograd identity (a grad_fn here would turn
    # the caller's leaf into a non-leaf); its gradient reaches that input directly
    outs = [outputs[i] for i in plan.output_indices]
    # so does an autograd view of an argument (its grad_fn leads to the argument, and an
    # in-place write through it rebases the argument's history, as eager)
    is_input = [any(o is r for r in reals) or o._grad_fn is not None for o in outs]
    if all(is_input):
        return
    edges = [grad_edge(r) for r in reals]
    versions = [r._version.value for r in reals]
    if len(outs) == 1:
        outs[0]._grad_fn = CompiledCallNode(backward_program, arrays, edges, reals, outs[0], versions, plan.unused)
        return
    slots, offset = [], 0
    for o in outs:
        n = o.numel()
        slots.append((offset, n, tuple(o.shape)))
        offset += n
    flat = _Flat(offset, outs[0].dtype)
    call = CompiledCallNode(backward_program, arrays, edges, reals, flat, versions, plan.unused, slots)
    for o, (off, _, _), skip in zip(outs, slots, is_input):
        if skip:
            continue
        o._grad_fn = OutputSlot(call, flat, off, o)
