"""Per-thread frontend state: the stack of active traces and the backward depth.

Both are thread-local, as PyTorch's dispatch state is: ``@graphc.compile``
tracing a function in one thread must not record the ops another thread runs
eagerly at the same time (nor hand that thread its tracer), and a backward
pass in one thread must not tag the nodes another thread traces as backward.
Grad mode is thread-local too (:mod:`graphc._grad_mode`).

This module imports nothing from graphc: the Tensor, the dispatcher and the
tracer all read it.
"""

from __future__ import annotations

import threading

from ir.errors import user_location


class Unsupported(Exception):
    """This signature cannot be compiled (the message says why): it runs eagerly.

    Raised while tracing by graphc's own code when the user's function does something a
    compiled replay cannot reproduce (an in-place shape change of an argument, ...); the
    compiler catches it and runs the call eagerly with a warning (graphc._compiler)."""


class _ThreadState(threading.local):
    """One instance per thread (``threading.local`` runs ``__init__`` on first use in each)."""

    def __init__(self):
        self.traces: list = []  # graphc._tracing.Trace objects, innermost last
        self.backward_depth = 0  # run_backward calls in progress in this thread
        # A function that sees (and may replace) the inputs of every op this thread applies, or
        # None: activation checkpointing finds and substitutes the tensors a segment reads.
        self.input_hook = None
        # run_backward calls in progress: True for each that accumulates into .grad of all leaves
        # (backward() without inputs=), False for autograd.grad / backward(inputs=...).
        self.backward_kinds: list = []


# Anomaly detection (graphc.autograd.detect_anomaly): global, as PyTorch's. While ``enabled``,
# every recorded node keeps the stack of the op that made it, and the eager backward checks each
# node's gradients for NaN (when ``check_nan``).
ANOMALY = {"enabled": False, "check_nan": True}


_STATE = _ThreadState()


def active_tracer():
    """The innermost trace of this thread (``@graphc.compile`` tracing), or None."""
    traces = _STATE.traces
    return traces[-1] if traces else None


def push_tracer(trace) -> None:
    _STATE.traces.append(trace)


def pop_tracer(trace) -> None:
    popped = _STATE.traces.pop()
    assert popped is trace, "traces must be exited in the order they were entered"


def enter_backward() -> None:
    _STATE.backward_depth += 1


def exit_backward() -> None:
    _STATE.backward_depth -= 1


def in_backward() -> bool:
    """True while this thread runs a backward pass (traced nodes are tagged ``phase: backward``)."""
    return _STATE.backward_depth > 0


def note_effect(what: str) -> None:
    """A Python side effect that a compiled replay would not repeat (an LR scheduler's
    ``step()``, reseeding graphc's generator, ``randperm``'s host shuffle) happens while
    this thread traces: the traced call stays faithful, and the function runs eagerly from
    its next call on, with a warning naming ``what`` and the user's line (graphc._compiler)."""
    trace = active_tracer()
    if trace is not None:
        where = user_location().split(": ", 1)[0]
        trace.effects.append(f"{what} at {where}" if where else what)
