"""Tracers that outlive their trace: state a traced function created lazily.

The first call of a training step creates state as it goes: ``optimizer.step()`` makes
each parameter's momentum buffer (``state['momentum_buffer'] = grad.clone()``), a
model fills a cache attribute, a user keeps a tensor in a list. Under a trace those
objects are tracers — values the graph computes, with no data. Left as they are, the
next call would read a tracer of a finished trace ("a tracer of another trace was used
here") and the compiled function would stay broken.

After a trace, :func:`release` drops every reference graphc itself holds to the trace's
tracers (the trace's tables, and the autograd links between tracers); any tracer still
alive is then held by the user's objects: it *escaped*. The compiler makes each escaped
tracer's value an extra output of the graph, runs the program, and :func:`materialize`
turns the very same Python object into an ordinary tensor holding that value — so the
momentum buffer in ``optimizer.state`` is a real tensor with the value eager would have
given it. Such a trace is used for that one call only: the next call traces again, now
with the state in place (one bounded retrace when lazy state appears).
"""

from __future__ import annotations

import gc

import numpy as np

from ._tensor import Tensor, _Version


def release(trace) -> None:
    """Drop graphc's references to ``trace``'s tracers (its tables and the autograd and
    view links between tracers), so that only the user's references keep any alive."""
    for ref in trace.made:
        t = ref()
        if t is not None:
            t._grad_fn = None
            t._base = None
            t._view_ops = None
            t._accumulator = None
            t._hooks = None
            t._grad = None
    for name in ("proxies", "views", "grads", "grad_owner", "real_by_tracer"):
        getattr(trace, name).clear()
    trace.args = []
    trace.lifted = []
    trace.mutated = []
    trace.arg_lifted = []


def survivors(trace, exclude=()) -> list:
    """The tracers of ``trace`` still alive after :func:`release` (minus ``exclude``)."""
    skip = {id(t) for t in exclude}
    alive = [t for t in (r() for r in trace.made) if t is not None and id(t) not in skip]
    if alive:
        # Cycles through the user's own objects may hold the last references: collect them.
        del alive
        gc.collect()
        alive = [t for t in (r() for r in trace.made) if t is not None and id(t) not in skip]
    return [t for t in alive if t._node is not None]


def scrub(tracers) -> int:
    """Remove tracers of an abandoned trace from the dicts and lists still holding them
    (reached through a tuple too), after the journal put back what it had recorded
    (:meth:`graphc._guards.Snapshot.restore`): what is left is state the trace created
    where the journal did not look (a container past the walk's limits), so removing
    the entry gives back the state before the call. Frames (the exception that abandoned
    the trace keeps the function's locals) are left alone. Returns the entries removed."""
    if not tracers:
        return 0
    removed = 0
    targets = list(tracers)
    mine = {id(targets), id(tracers)}
    for _ in range(3):  # a tracer, a tuple holding it, a tuple holding that tuple
        ids = {id(t) for t in targets}
        climb = []
        holders = gc.get_referrers(*targets)
        mine.add(id(holders))
        for h in holders:
            if id(h) in mine:
                continue
            if type(h) is tuple:
                climb.append(h)
            elif isinstance(h, dict):
                for k in [k for k, v in h.items() if id(v) in ids]:
                    del h[k]
                    removed += 1
            elif isinstance(h, list):
                keep = [v for v in h if id(v) not in ids]
                if len(keep) != len(h):
                    removed += len(h) - len(keep)
                    h[:] = keep
        del holders
        if not climb:
            break
        targets = climb
        mine.add(id(targets))
    return removed


def materialize(t: Tensor, value) -> None:
    """Turn tracer ``t`` (the same Python object) into a tensor holding ``value``."""
    if isinstance(value, np.ndarray) or np.isscalar(value):
        value = np.asarray(value)
        if not value.flags.writeable:
            value = value.copy()
    t._data = value
    t._node = None
    t._trace = None
    t._grad_fn = None
    t._base = None
    t._view_ops = None
    t._view_version = None
    t._version = _Version()
    if type(t) is not Tensor and getattr(type(t), "weak_scalar", None) is not None:
        t.__class__ = Tensor  # a traced random draw: an ordinary 0-d tensor now


def describe(tracers, limit: int = 3) -> str:
    """'tensors created at f.py:12, f.py:14' for log and warning messages."""
    places = []
    for t in tracers:
        src = t._node.meta.get("source") if t._node is not None else None
        if src and src not in places:
            places.append(src)
    if not places:
        return f"{len(tracers)} tensor(s) computed inside the function"
    more = "" if len(places) <= limit else f" and {len(places) - limit} more"
    return "tensors created at " + ", ".join(places[:limit]) + more
