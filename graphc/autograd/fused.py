"""Eager ``backward()`` through the compiler: one backward graph, fused and cached.

The plain engine runs each gradient op as it goes. When nothing needs to see
the gradients one by one — no hooks, no retained grads, no ``create_graph``,
no ``autograd.grad(inputs=...)``, CPU tensors — the same :func:`backprop`
loop and the same rules can instead *record* the backward pass into an
``ir.Graph`` whose inputs are the saved tensors and the seed. That graph goes
through simplify, fusion and numpy code generation like any compiled graph.

**Per graph signature.** A backward's *signature* is its recorded graph's
structure: per vertex (outputs first) the op, attributes, shapes, dtypes and
which vertices its gradient flows to, and the seeds' shapes and dtypes. The
backward graph is a function of the signature alone, so a training loop's
second step finds a :class:`Plan` — the program and which saved tensor feeds
each of its inputs — and runs it without rebuilding or hashing any graph.

**Only when it pays.** A fused program has a fixed cost per call (gathering
inputs, the program's buffers and thread pool) and saves the per-op cost of
the engine, so it wins on large graphs and loses on small ones. Rather than
guess, each signature is measured: its first backward calls alternate between
the op-by-op engine and the fused program (its compiling call not counted),
and once both have :data:`SAMPLES` timings the faster is used from then on.
A graph of fewer than :data:`SMALL_GRAPH` recorded ops runs op by op for its
signature's first :data:`WARM_CALLS` backwards before the measuring starts: even
a two-op backward runs faster as a program (``(w * a).sum().backward()``: 47 ->
35 us), but compiling one costs ~1 ms, which only a loop repays.

``GRAPHC_FUSED_BACKWARD=0`` runs every backward op by op; ``always`` fuses every
eligible backward without measuring; ``strict`` is ``always`` and raises instead
of falling back to op by op when the fused path fails (for tests).
"""

from __future__ import annotations

import logging
import os

import numpy as np

from ir.graph import Graph
from ir.passes.autodiff import GraphBuilder, backprop

from .. import _pipeline
from .._autograd_graph import AccumulateGrad, CompositeNode, GradNode, resolve

log = logging.getLogger("graphc.autograd")

# A graph of fewer recorded ops than this fuses only once its signature is warm: the program
# wins per call even for two ops, but its ~1 ms compile pays off only over many calls.
SMALL_GRAPH = 8
# Op-by-op backwards of a small graph's signature before its fused program is tried.
WARM_CALLS = 64
# Timed calls of each mode a signature gets before the faster one is kept.
SAMPLES = 3
# Signatures remembered (a training loop has a handful; a script with ever-new shapes must
# not grow memory without bound).
MAX_SIGNATURES = 512


def mode() -> str:
    """``"0"`` (off), ``"1"`` (measured, the default), ``"always"`` or ``"strict"``."""
    return os.environ.get("GRAPHC_FUSED_BACKWARD", "1")


def enabled() -> bool:
    return mode() != "0"


def eligible(order, outputs) -> int:
    """How many recorded ops this backward has when it can run as one compiled graph, else 0."""
    n_nodes = 0
    for v in order:
        if type(v) is GradNode:
            if v._hooks or v._retained is not None:
                return 0
            n_nodes += 1
        elif isinstance(v, AccumulateGrad):
            t = v.variable
            if t is None or t._hooks or t._device.type != "cpu":
                return 0
        else:
            return 0  # a compiled call's node, or anything with its own rule
    return n_nodes if all(o._device.type == "cpu" for o in outputs) else 0


def signature(order, seeds) -> tuple:
    """The structure the backward graph is a function of (see the module docstring).

    Raises TypeError when an attribute is not hashable (such a backward is not cached)."""
    pos = {v: i for i, v in enumerate(order)}
    items = []
    append = items.append
    for v in order:
        if type(v) is GradNode:
            parents = tuple([-1 if e is None else pos[e if type(e) is not CompositeNode else resolve(e)] for e in v._next])
            append((v.op, v.shape, v.dtype, tuple(v.in_shapes), tuple(v.in_dtypes), parents, *v.attrs.items()))
        else:
            append(None)  # a leaf: where the gradient lands, by position
    for v, g in seeds.items():
        items.append((pos[v], tuple(g.shape), g.dtype))
    key = tuple(items)
    hash(key)
    return key


class Plan:
    """A fused backward ready to run: the program, what feeds each of its inputs, and which
    leaf (by position in the order) each of its outputs belongs to.

    ``inputs`` entries: ``(0, k, 0)`` the k-th seed, ``(1, pos, i)`` input ``i`` saved by the
    vertex at ``pos``, ``(2, pos, 0)`` its saved output."""

    __slots__ = ("program", "inputs", "leaves")

    def __init__(self, program, inputs, leaves):
        self.program, self.inputs, self.leaves = program, inputs, leaves

    def run(self, order, seeds) -> dict:
        """{AccumulateGrad: numpy gradient} for this backward (same signature as the plan's)."""
        seed_list = list(seeds.values())
        arrays = []
        for kind, a, b in self.inputs:
            if kind == 1:
                t = order[a].input(b)  # the saved-value checks happen here, as eagerly
            elif kind == 2:
                t = order[a].output()
            else:
                t = seed_list[a]
            arrays.append(t._data)
        results = self.program(arrays)
        return {order[p]: np.asarray(r) for p, r in zip(self.leaves, results)}


class Choice:
    """What one signature runs: op by op for its first ``warm`` calls (small graphs), then
    measured until both modes have :data:`SAMPLES` timings."""

    __slots__ = ("plan", "eager", "fused", "use_fused", "warm", "calls")

    def __init__(self, warm: int = 0):
        self.plan = None
        self.eager: list = []
        self.fused: list = []
        self.use_fused = None  # None while measuring
        self.warm = warm
        self.calls = 0

    def wants_fused(self) -> bool:
        if self.calls < self.warm:  # still warming up: not worth a compile yet
            self.calls += 1
            return False
        if self.use_fused is not None:
            return self.use_fused
        return len(self.fused) < len(self.eager)  # alternate, starting op by op

    def record(self, fused: bool, seconds: float) -> None:
        if self.use_fused is not None or (not fused and self.calls < self.warm):
            return
        (self.fused if fused else self.eager).append(seconds)
        if len(self.eager) >= SAMPLES and len(self.fused) >= SAMPLES:
            self.use_fused = min(self.fused) < min(self.eager)
            log.debug(
                "graphc: fused backward %s for a graph of this signature (best fused %.3g ms, op by op %.3g ms)",
                "kept" if self.use_fused else "dropped", min(self.fused) * 1e3, min(self.eager) * 1e3,
            )


_CHOICES: dict = {}


def choose(order, seeds, outputs):
    """The :class:`Choice` of this backward's signature, or None when it cannot fuse."""
    if not enabled():
        return None
    n_ops = eligible(order, outputs)
    if not n_ops:
        return None
    try:
        key = signature(order, seeds)
    except TypeError:
        return None
    choice = _CHOICES.get(key)
    if choice is None:
        if len(_CHOICES) >= MAX_SIGNATURES:
            _CHOICES.clear()
        choice = _CHOICES[key] = Choice(WARM_CALLS if n_ops < SMALL_GRAPH else 0)
        if mode() in ("always", "strict"):
            choice.use_fused = True
    return choice


class _Ctx:
    """A recorded node seen by the rules, with saved tensors bound as graph inputs."""

    __slots__ = ("v", "pos", "binder", "op", "attrs", "shape", "dtype", "in_shapes", "in_dtypes")

    def __init__(self, v, pos, binder):
        self.v, self.pos, self.binder = v, pos, binder
        self.op, self.attrs, self.shape, self.dtype = v.op, v.attrs, v.shape, v.dtype
        self.in_shapes, self.in_dtypes = v.in_shapes, v.in_dtypes

    def needs(self, i):
        return self.v.needs(i)

    def input(self, i):
        return self.binder(self.v.input(i), (1, self.pos, i))  # the version check happens here, as eagerly

    def output(self):
        return self.binder(self.v.output(), (2, self.pos, 0))


def plan(order, seeds, parents_of) -> Plan:
    """Record this backward as one graph and compile it (cached by the graph's structure)."""
    graph = Graph("backward")
    sources: list = []
    bound: dict = {}

    def bind(t, source):
        # One graph input per saved slot (not per tensor): the graph then does not depend on
        # which saved tensors happen to be the same object, so it fits every call of the signature.
        node = bound.get(source)
        if node is None:
            node = graph.add_input(tuple(t.shape), t.dtype, f"saved{len(sources)}")
            sources.append(source)
            bound[source] = node
        return node

    seed_nodes = {v: bind(g, (0, k, 0)) for k, (v, g) in enumerate(seeds.items())}
    pos = {v: i for i, v in enumerate(order)}
    contexts = {}

    def ctx_of(v):
        if type(v) is not GradNode:
            return None
        ctx = contexts.get(id(v))
        if ctx is None:
            ctx = contexts[id(v)] = _Ctx(v, pos[v], bind)
        return ctx

    leaves = backprop(order, seed_nodes, GraphBuilder(graph), ctx_of, parents_of)
    reached = [v for v in order if type(v) is not GradNode and v in leaves]
    graph.outputs = [leaves[v] for v in reached]
    report = _pipeline.build(graph, "backward")
    return Plan(report._program, tuple(sources), tuple(pos[v] for v in reached))


def run(order, seeds, parents_of, choice=None) -> dict:
    """Run the backward as one program; returns {AccumulateGrad: numpy gradient}."""
    p = choice.plan if choice is not None else None
    if p is None:
        p = plan(order, seeds, parents_of)
        if choice is not None:
            choice.plan = p
    return p.run(order, seeds)
