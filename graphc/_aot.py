"""Autograd through a compiled call: a compiled forward, then ``loss.backward()`` outside.

When a compiled function returns a tensor that requires grad (a compiled
model's forward), tracing goes on past the user's code: the eager engine runs
backward on the tracers from a new input ``grad_out`` (so the same gradient
rules record the backward graph), and the graph is split in two —

* the forward graph returns the user's output plus the values the backward
  reads (*saved* values; inputs are not saved, they are read again);
* the backward graph takes the saved values and ``grad_out`` and returns one
  gradient per input that requires grad (arguments and lifted parameters).

Both are optimized and compiled like any graph. On replay the output gets a
:class:`CompiledCallNode` as its ``grad_fn``; the engine calls its rule,
which runs the backward program. This is what PyTorch's AOTAutograd does for
``torch.compile``.
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

    def __init__(self, backward: Graph, saved: list, diff_reals: list, output_index: int):
        self.backward = backward
        self.saved = saved  # per backward input: ("input", pos) / ("output", pos) / ("grad_out", None)
        self.diff_reals = diff_reals  # real tensors (or ("arg", i) markers) that receive gradients
        self.output_index = output_index  # which user output carries the grad_fn
        self.unused: set = set()  # inputs the output does not depend on: their grad stays None


def plan_backward(trace, out_leaves):
    """Record the backward of the one output that requires grad; None if not supported."""
    req = [i for i, o in enumerate(out_leaves) if o._node is not None and o.requires_grad]
    if len(req) != 1:
        return None, "autograd through a compiled call supports one output that requires grad"
    out = out_leaves[req[0]]
    diff = [p for p in trace.proxies.values() if p.tracer.requires_grad and p.tracer.is_leaf]
    if not diff:
        return None, "no input requires grad"
    g = trace.graph
    n_forward = len(g.nodes)
    grad_out_node = g.add_input(tuple(out.shape), out.dtype, "grad_out")
    grad_out = trace._tracer(grad_out_node)
    grads = run_backward(
        [out],
        [grad_out],
        retain_graph=True,
        create_graph=False,
        inputs=[p.tracer for p in diff],
        accumulate=False,
        allow_unused=True,
    )
    forward_ids = {n.id for n in g.nodes[:n_forward]}
    backward_nodes = g.nodes[n_forward:]
    g.nodes = g.nodes[:n_forward]
    g.inputs = [n for n in g.inputs if n is not grad_out_node]

    bwd = Graph(g.name + "_backward")
    remap, saved = {}, []
    input_pos = {n.id: i for i, n in enumerate(g.inputs)}

    def bind(n):
        if n.id in remap:
            return remap[n.id]
        if n is grad_out_node:
            new = bwd.add_input(n.shape, n.dtype, "grad_out")
            saved.append(("grad_out", None))
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
        if n is grad_out_node:
            continue
        ins = [bind(i) if (i.id in forward_ids or i is grad_out_node) else remap[i.id] for i in n.inputs]
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
    plan = AotPlan(bwd, saved, [p.real for p in diff], req[0])
    plan.unused = unused
    return plan, None


class CompiledCallNode(GradNode):
    """The ``grad_fn`` of a compiled call's output: runs the compiled backward program.

    Built through ``GradNode.__init__`` like every autograd node (its inputs are the
    real tensors that receive gradients; it saves nothing through ``saves``: the
    backward program's inputs are kept in ``_arrays``)."""

    def __init__(self, program, saved_arrays, edges, reals, output, versions, unused=frozenset()):
        super().__init__(_CompiledCallOp, {}, reals, edges, output)
        self._program = program
        self._arrays = saved_arrays
        self._reals = reals
        self._versions = versions
        self._unused = unused

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
        inputs = [g._data if a is None else a for a in self._arrays]
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


def attach(plan, backward_program, outputs, results, inputs, reals) -> None:
    """Give the differentiable output of one replay its :class:`CompiledCallNode`."""
    if not is_grad_enabled():
        return
    if not any(r.requires_grad for r in reals):
        return
    arrays = []
    for kind, where in plan.saved:
        if kind == "grad_out":
            arrays.append(None)
        elif kind == "input":
            arrays.append(inputs[where])
        else:
            arrays.append(results[where])
    out = outputs[plan.output_index]
    if any(out is r for r in reals):  # the output is an input itself: it keeps its own autograd identity
        return  # (a grad_fn here would turn the caller's leaf into a non-leaf)
    edges = [grad_edge(r) for r in reals]
    versions = [r._version.value for r in reals]
    out._grad_fn = CompiledCallNode(backward_program, arrays, edges, reals, out, versions, plan.unused)
