"""A trace abandoned partway leaves no tracers behind (and no state twice changed).

When a trace stops before its program runs -- an in-place shape change that makes the
signature eager, a TracingError from ``.item()``, a fallback decided after the function
ran, a retrace for a random draw -- the function's Python has already run on tracers: an
optimizer created its buffers, a module attribute or buffer was set, a list got an entry.
The compiler puts that state back (graphc._compiler.CompiledFunction._abandon), so the
eager call that follows (or the user's next call after a TracingError) starts from the
state eager starts from. The reference is the same function run eagerly.
"""

from __future__ import annotations

import random
import warnings

import numpy as np
import pytest

import graphc as G
import graphc.nn as nn
import graphc.optim as optim
from graphc import CompileWarning, _guards
from ir.errors import TracingError

OPTIMIZERS = {
    "SGD": dict(lr=0.1, momentum=0.9),
    "SGD_nesterov": dict(lr=0.1, momentum=0.9, nesterov=True),
    "Adam": dict(lr=0.1),
    "AdamW": dict(lr=0.1, amsgrad=True),
    "RMSprop": dict(lr=0.01, momentum=0.5, centered=True),
    "Adagrad": dict(lr=0.1),
    "Adamax": dict(lr=0.1),
    "NAdam": dict(lr=0.1),
}


def _make(name):
    G.manual_seed(0)
    m = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    cls = getattr(optim, name.split("_")[0])
    return m, cls(m.parameters(), **OPTIMIZERS[name])


def _step(m, opt, x, y):
    opt.zero_grad()
    loss = ((m(x) - y) ** 2).mean()
    loss.backward()
    opt.step()
    return loss


def _unsupported(m, opt, x, y):
    loss = _step(m, opt, x, y)
    x.unsqueeze_(0)  # an in-place shape change of an argument: this signature runs eagerly
    return loss


def _item(m, opt, x, y):
    loss = _step(m, opt, x, y)
    if loss.item() > 1e9:  # data-dependent Python: TracingError
        return loss * 0
    return loss


def _state(m, opt):
    out = [p.detach().numpy().copy() for p in m.parameters()]
    for p in m.parameters():
        st = opt.state.get(p, {})
        for k in sorted(st):
            v = st[k]
            assert not (isinstance(v, G.Tensor) and v._data is None), f"state {k!r} is a tracer"
            out.append(v.numpy().copy() if isinstance(v, G.Tensor) else np.asarray(v))
    return out


def _drive(name, body, compiled, calls=3):
    m, opt = _make(name)
    fn = G.compile(lambda x, y: body(m, opt, x, y)) if compiled else (lambda x, y: body(m, opt, x, y))
    losses = []
    for i in range(calls):
        x, y = G.ones(5, 3) * (i + 1) * 0.3, G.zeros(5, 2)
        try:
            losses.append(fn(x, y).item())
        except TracingError:
            assert compiled
            losses.append(_item(m, opt, G.ones(5, 3) * (i + 1) * 0.3, y).item())  # the user runs it eagerly
    return losses, _state(m, opt)


def _same(a, b):
    assert len(a) == len(b)
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("body", [_unsupported, _item], ids=["unsupported", "tracing_error"])
def test_optimizer_state_after_abandoned_trace_is_eager(name, body):
    want = _drive(name, body, compiled=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CompileWarning)
        got = _drive(name, body, compiled=True)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-5)
    _same(got[1], want[1])


def test_abandoned_trace_outside_the_journal_is_scrubbed(monkeypatch):
    """State the journal did not record (past the walk's limits) is removed from its holder."""
    monkeypatch.setattr(_guards, "MAX_CHECKS", 3)
    want = _drive("Adam", _unsupported, compiled=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CompileWarning)
        got = _drive("Adam", _unsupported, compiled=True)
    _same(got[1], want[1])


class _Holder:
    def __init__(self):
        self.calls = 0
        self.history = []
        self.cache = {}


def _python_state(h, m, x):
    h.calls += 1
    y = x * 2
    h.history.append(y)
    h.cache["last"] = (y, y + 1)
    h.last = y.sum()
    m.register_buffer("seen", y.detach().clone())
    m.extra = y
    x.t_()  # in-place shape change: eager from here
    return y


def test_attributes_lists_dicts_and_buffers_after_abandoned_trace():
    def run(compiled):
        h, m = _Holder(), nn.Linear(2, 2)
        fn = G.compile(lambda x: _python_state(h, m, x)) if compiled else (lambda x: _python_state(h, m, x))
        for i in range(2):
            fn(G.ones(2, 3) * (i + 1))
        return h, m

    h0, m0 = run(False)
    with pytest.warns(CompileWarning, match="changes the shape or strides"):
        h1, m1 = run(True)
    assert h1.calls == h0.calls == 2  # the traced run's += 1 was put back, not counted twice
    assert len(h1.history) == len(h0.history) == 2
    for a, b in zip(h1.history, h0.history):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(h1.cache["last"][1].numpy(), h0.cache["last"][1].numpy())
    assert h1.last.item() == h0.last.item()
    np.testing.assert_array_equal(m1.seen.numpy(), m0.seen.numpy())
    np.testing.assert_array_equal(m1.extra.numpy(), m0.extra.numpy())


def test_retrace_for_a_random_draw_undoes_the_first_attempt():
    """An integer draw that steers Python makes the trace start over: the state the first
    attempt created must not be seen (as a foreign tracer) by the second."""
    state = {}

    def f(x):
        if "buf" not in state:
            state["buf"] = x * 0
        state["buf"].add_(x)
        k = random.randint(1, 3)
        return x * sum(range(k))

    def run(compiled):
        state.clear()
        random.seed(3)
        fn = G.compile(f) if compiled else f
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CompileWarning)
            outs = [fn(G.ones(2)).tolist() for _ in range(4)]
        return outs, state["buf"].tolist()

    assert run(True) == run(False)


STEP = None


def test_globals_and_closure_cells_after_abandoned_trace():
    box = None

    def f(x):
        global STEP
        nonlocal box
        STEP = x * 2  # a global created by the function
        box = x + 1  # a closure cell rebound
        if x.sum() > 100:  # TracingError
            return x
        return -x

    cf = G.compile(f)
    with pytest.raises(TracingError):
        cf(G.ones(2))
    assert STEP is None and box is None
    f(G.ones(2))
    assert STEP.tolist() == [2.0, 2.0] and box.tolist() == [2.0, 2.0]
