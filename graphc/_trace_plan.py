"""Turning one call into a trace and a trace into what its cache entry needs.

* :func:`tensor_key`: a tensor argument's part of the call signature;
* :func:`alias_plan`: how the arguments share memory (views, ``detach()``), so that they
  are traced as views of one input and guarded to share it the same way;
* :func:`trace_args`: the tracers standing for the arguments;
* :func:`plan`: a :class:`TracePlan` — per graph input where a replay takes its buffer,
  the mutations and ``.grad`` writes, outputs and aliases, guards — naming this call's
  arguments by position (``("leaf", i)``, or ``("root", i)`` for the tensor leaf ``i``
  views) and other tensors by identity, so the entry keeps no argument alive.
"""

from __future__ import annotations

from . import _sideeffects
from ._state import Unsupported  # noqa: F401 - raised by the tracer too; imported from here by the compiler
from ._tensor import Tensor


class TracePlan:
    """What an :class:`~graphc._entry.Entry` needs from a trace (filled by the compiler)."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


def tensor_key(t: Tensor):
    data = t._data
    shape = tuple(data.shape) if data is not None else tuple(t.shape)
    return (shape, t._dtype.name, str(t._device), bool(t._requires_grad or t._grad_fn is not None))


def _root(t: Tensor) -> Tensor:
    return t._base if t._base is not None else t


def alias_plan(leaves):
    """How the tensor arguments share memory (graphc's views and ``detach()`` share one
    version counter): per leaf None (its own memory) or a relation to another leaf ``j``
    of its group — ``("root", j)`` it is the memory ``j`` views (or a detached alias of
    it), ``("view", j, ops)`` a view of that memory through ``ops``, ``("data", j)`` the
    very array of leaf ``j`` (a detached alias). Also the leaves representing distinct
    memory, and each group's root tensor with the leaf it is reached from."""
    groups: dict = {}
    for i, t in enumerate(leaves):
        groups.setdefault(id(t._version), []).append(i)
    aliases, reps, roots = [None] * len(leaves), [], []
    for idxs in groups.values():
        first = idxs[0]
        reps.append(first)
        if len(idxs) == 1:
            continue
        root = _root(leaves[first])
        roots.append((first, root))
        for n, i in enumerate(idxs):
            t = leaves[i]
            if t._base is not None:
                if t._base._data is not root._data or t._view_ops is None:
                    raise Unsupported(
                        "two arguments share memory in a way graphc cannot trace (not views of one tensor)"
                    )
                aliases[i] = ("view", first, tuple(t._view_ops))
            elif t._data is root._data:
                if t is not leaves[first]:
                    aliases[i] = ("root", first)
            else:
                j = next((j for j in idxs[:n] if leaves[j]._data is t._data), None)
                if j is None:
                    raise Unsupported(
                        "two arguments share memory in a way graphc cannot trace (not views of one tensor)"
                    )
                aliases[i] = ("data", j)
    return aliases, reps, roots


def trace_args(trace, leaves, aliases, roots):
    """Tracers for the tensor arguments; arguments sharing memory become views of one input."""
    root_tracers = {first: trace.argument(root, f"arg{first}") for first, root in roots}
    traced = []
    for i, t in enumerate(leaves):
        a = aliases[i]
        if a is None:  # its own memory, or the root of its group
            traced.append(root_tracers[i] if i in root_tracers else trace.argument(t, f"arg{i}"))
        elif a[0] == "view":
            traced.append(trace.argument_view(t, root_tracers[a[1]], a[2]))
        elif a[0] == "root":
            base = root_tracers[a[1]]
            traced.append(base if t is _root(leaves[a[1]]) else trace.argument_view(t, base, ()))
        else:  # "data": the same array as an earlier argument
            traced.append(traced[a[1]] if t is leaves[a[1]] else trace.argument_view(t, traced[a[1]], ()))
    return traced


def plan(trace, sig, spec, leaves, aliases, reps, roots, out_spec, n_user, aot_plan, recorder, snapshot, backend):
    """What the entry for this trace needs (a :class:`TracePlan`), in terms of this call's
    arguments (``("leaf", i)``), the roots they view, or tensors reached by identity."""
    graph = trace.graph
    targets: dict = {}
    for i, t in enumerate(leaves):
        targets.setdefault(id(t), ("leaf", i))
    for first, root in roots:
        targets.setdefault(id(root), ("root", first))

    def tgt(real):
        return targets.get(id(real), real)

    for proxy in trace.lifted:
        if any(proxy.real._version is t._version for t in leaves):
            raise Unsupported("reads a tensor that shares memory with one of its arguments")
    input_pos = {n.id: k for k, n in enumerate(graph.inputs)}
    sources: list = [None] * len(graph.inputs)
    for proxy in trace.args:
        sources[input_pos[proxy.input_node.id]] = tgt(proxy.real)
    for proxy in trace.lifted:
        sources[input_pos[proxy.input_node.id]] = ("real", proxy.real)
    for real, node in trace.grad_inputs:
        sources[input_pos[node.id]] = ("grad", tgt(real))
    for node, gen in trace.seeds:
        sources[input_pos[node.id]] = ("seed", gen)
    for node, getter, dtype in trace.scalars:
        sources[input_pos[node.id]] = ("scalar", getter, dtype.numpy_dtype)
    for node, k, dtype in trace.draw_inputs:
        sources[input_pos[node.id]] = ("draw", k, dtype.numpy_dtype)
    fast = not sig[0][1][1][1] and all(s == ("T",) for s in sig[0][1][0][1])
    aot_targets = [tgt(r) for r in aot_plan.diff_reals] if aot_plan is not None else []
    if aot_plan is not None:
        aot_plan.diff_reals = None  # the entry keeps targets: this call's arguments may die
    return TracePlan(
        signature=sig,
        spec=spec,
        fast=fast,
        leaves=[(type(t), tuple(t.shape), t._dtype, t._device, k[3]) for t, k in zip(leaves, sig[1])],
        leaves_now=leaves if not fast else tuple(leaves),
        grad_mode=sig[2],
        autocast=sig[4],
        aliases=aliases,
        reps=reps,
        root_leaves=[first for first, root in roots if root is leaves[first]],
        arg_lifted=list({id(real): (tgt(real), real) for _, real in trace.arg_lifted}.values()),
        lifted=[
            (p.real, tuple(p.real.shape), p.real._dtype, p.real._device, p.real.requires_grad) for p in trace.lifted
        ],
        lifted_versions=frozenset(id(p.real._version) for p in trace.lifted),
        grad_guards=[(tgt(real), tuple(node.shape)) for real, node in trace.grad_inputs],
        grad_none=[tgt(real) for real in {id(r): r for r in trace.grad_none_reads}.values()],
        value_guards=[(tgt(real), values) for real, values in trace.value_guards],
        input_sources=sources,
        mutations=[tgt(p.real) for p in trace.mutated],
        grad_writes=[(tgt(real), where) for real, where in trace.grad_writes],
        outputs=[(k, graph.outputs[k].dtype) for k in range(n_user)],
        aliases_out=[None if a is None else (tgt(a[0]), *a[1:]) for a in trace.output_aliases],
        out_spec=out_spec,
        aot=aot_plan,
        aot_targets=aot_targets,
        snapshot=snapshot if snapshot.checks else None,
        draws=_sideeffects.DrawPlan(recorder.draws) if recorder.draws else None,
        device=trace.device,
        backend=backend,
    )
