"""State a compiled function creates as it runs is created by the traced program itself:
real tensors holding eager's values (never a tracer left in a Python object), after which
the next call traces once more with the state in place."""

from __future__ import annotations

import numpy as np
import pytest

import graphc
import graphc.nn as nn


def _arr(t):
    return np.array(t.detach().numpy())


def _adam_run(compiled: bool, steps: int = 4):
    graphc.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 1))
    opt = graphc.optim.Adam(net.parameters(), lr=0.05)
    x, y = graphc.randn(7, 3), graphc.randn(7, 1)

    def step(x, y):
        opt.zero_grad()
        loss = ((net(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        return loss.detach()

    fn = graphc.compile(step) if compiled else step
    losses = [fn(x, y).item() for _ in range(steps)]
    return losses, opt, net, fn


def test_optimizer_state_created_inside_the_first_call_is_real_and_equal_to_eager():
    le, opt_e, net_e, _ = _adam_run(False)
    lc, opt_c, net_c, fn = _adam_run(True)
    np.testing.assert_allclose(lc, le, rtol=1e-6)
    assert len(opt_c.state) == len(opt_e.state) == 4
    for pc, pe in zip(net_c.parameters(), net_e.parameters()):
        sc, se = opt_c.state[pc], opt_e.state[pe]
        assert sc.keys() == se.keys()
        for key in se:
            assert sc[key]._node is None and sc[key]._data is not None  # a real tensor, not a tracer
            np.testing.assert_allclose(_arr(sc[key]), _arr(se[key]), rtol=1e-5, atol=1e-8)
    assert fn.cache_info().traces == 2 and fn.cache_info().entries == 1


def test_state_created_on_the_first_call_only_is_usable_after_a_single_call():
    _, opt, net, _ = _adam_run(True, steps=1)
    for p in net.parameters():
        state = opt.state[p]
        # eager code can use the state right away: no "tracer of another trace"
        assert float(state["step"]) == 1.0
        assert np.isfinite(_arr(state["exp_avg"] + 1)).all()


class LazyCenter(nn.Module):
    """Records the mean of the first batch it sees and subtracts it from then on."""

    def __init__(self):
        super().__init__()
        self.center = None

    def forward(self, x):
        if self.center is None:
            self.center = x.mean(0).detach()
        return x - self.center


def test_a_module_attribute_set_on_the_first_call():
    results = []
    for compiled in (False, True):
        m = LazyCenter()
        f = graphc.compile(m) if compiled else m
        xs = [graphc.full((2, 3), float(i)) for i in range(1, 5)]
        results.append(([_arr(f(x)) for x in xs], _arr(m.center)))
        if compiled:
            assert f.cache_info().traces == 2 and f.cache_info().hits == 2
    (oe, ce), (oc, cc) = results
    np.testing.assert_allclose(cc, ce)
    for a, b in zip(oc, oe):
        np.testing.assert_allclose(a, b)


def test_old_style_update_through_data():
    results = []
    for compiled in (False, True):
        w = graphc.ones(3, requires_grad=True)

        def step(x):
            loss = (x * w).sum()
            loss.backward()
            w.data = w.data - 0.1 * w.grad
            w.grad = None
            return loss.detach()

        f = graphc.compile(step) if compiled else step
        losses = [f(graphc.arange(3.0)).item() for _ in range(3)]
        results.append((losses, _arr(w)))
        if compiled:
            assert w._node is None and f.cache_info().traces == 1 and f.cache_info().hits == 2
    (le, we), (lc, wc) = results
    np.testing.assert_allclose(lc, le, rtol=1e-6)
    np.testing.assert_allclose(wc, we, rtol=1e-6)


def test_data_assignment_with_a_new_shape_is_a_clear_error():
    w = graphc.ones(3)

    @graphc.compile
    def f(x):
        w.data = x * 2
        return x

    with pytest.raises(graphc.TracingError, match="shape or dtype"):
        f(graphc.ones(4))
    assert w._node is None and w.shape == (3,)


def test_graphc_trace_warns_when_state_is_created_lazily():
    w = graphc.ones(3, requires_grad=True)
    opt = graphc.optim.SGD([w], lr=0.1, momentum=0.9)

    def step(x):
        opt.zero_grad()
        (x * w).sum().backward()
        opt.step()

    with pytest.warns(graphc.CompileWarning, match="tracers without values"):
        graph = graphc.compiler.trace(step, graphc.ones(3))
    assert graph.mutations
