"""Eager ``backward()`` through the compiler: one backward graph, fused and cached.

The plain engine runs each gradient op as it goes. When nothing needs to see
the gradients one by one — no hooks, no retained grads, no ``create_graph``,
no ``autograd.grad(inputs=...)``, CPU tensors — the same :func:`backprop`
loop and the same rules instead *record* the backward pass into an
``ir.Graph`` whose inputs are the saved tensors and the seed. That graph goes
through simplify, fusion and numpy code generation like any compiled graph,
and the generated program is cached by the graph's structural hash, so a
training loop that calls ``loss.backward()`` every step generates code once
and then only rebuilds (cheaply) and hashes the graph.

This is DESIGN.md's "one pipeline serves both modes". Set
``GRAPHC_FUSED_BACKWARD=0`` to run every backward op by op (``strict``: raise
instead of falling back to op by op when the fused path fails — for tests).
"""

from __future__ import annotations

import logging
import os

import numpy as np

from ir.graph import Graph
from ir.passes.autodiff import GraphBuilder, backprop

from .. import _pipeline
from .._autograd_graph import AccumulateGrad, GradNode

log = logging.getLogger("graphc.autograd")

# Below this many recorded ops the op-by-op engine is as fast as building a graph.
MIN_NODES = 8


def enabled() -> bool:
    return os.environ.get("GRAPHC_FUSED_BACKWARD", "1") != "0"


def eligible(order, outputs) -> bool:
    """Whether this backward can run as one compiled graph."""
    n_nodes = 0
    for v in order:
        if type(v) is GradNode:
            if v._hooks or v._retained is not None:
                return False
            n_nodes += 1
        elif isinstance(v, AccumulateGrad):
            t = v.variable
            if t is None or t._hooks or t._device.type != "cpu":
                return False
        else:
            return False  # a compiled call's node, or anything with its own rule
    return n_nodes >= MIN_NODES and all(o._device.type == "cpu" for o in outputs)


class _Ctx:
    """A recorded node seen by the rules, with saved tensors bound as graph inputs."""

    __slots__ = ("v", "binder", "op", "attrs", "shape", "dtype", "in_shapes", "in_dtypes")

    def __init__(self, v, binder):
        self.v, self.binder = v, binder
        self.op, self.attrs, self.shape, self.dtype = v.op, v.attrs, v.shape, v.dtype
        self.in_shapes, self.in_dtypes = v.in_shapes, v.in_dtypes

    def needs(self, i):
        return self.v.needs(i)

    def input(self, i):
        return self.binder(self.v.input(i))  # the version check happens here, as eagerly

    def output(self):
        return self.binder(self.v.output())


def run(order, seeds, parents_of, leaf_order) -> dict:
    """Run the backward as one program; returns {AccumulateGrad: numpy gradient}."""
    graph = Graph("backward")
    arrays: list = []
    bound: dict[int, object] = {}

    def bind(t):
        node = bound.get(id(t))
        if node is None:
            node = graph.add_input(tuple(t.shape), t.dtype, f"saved{len(arrays)}")
            arrays.append(t._data)
            bound[id(t)] = node
        return node

    seed_nodes = {v: bind(g) for v, g in seeds.items()}
    contexts = {}

    def ctx_of(v):
        if type(v) is not GradNode:
            return None
        ctx = contexts.get(id(v))
        if ctx is None:
            ctx = contexts[id(v)] = _Ctx(v, bind)
        return ctx

    leaves = backprop(order, seed_nodes, GraphBuilder(graph), ctx_of, parents_of)
    reached = [v for v in leaf_order if v in leaves]
    graph.outputs = [leaves[v] for v in reached]
    report = _pipeline.build(graph, "backward")
    results = report._program(arrays)
    return {v: np.asarray(r) for v, r in zip(reached, results)}
