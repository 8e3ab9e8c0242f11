"""Guards for everything a trace read: a compiled function must notice, between calls, a
rebound global or closure value, a replaced parameter, a ``requires_grad`` flip, a mode
switch (``train``/``eval``), a changed module attribute or optimizer hyper-parameter, a
new hook, and arguments that share memory — and retrace (saying why in the log), never
replay a stale trace. Every check runs the compiled function against the same function
run eagerly."""

from __future__ import annotations

import logging

import numpy as np
import pytest

import graphc
import graphc.nn as nn
from graphc import _epochs


def _arr(t):
    return np.array(t.detach().numpy())


def _recompile_messages(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "graphc.compile" and "recompiling" in r.getMessage()]


# ----------------------------------------------------------------------------
# globals and closures

W = graphc.full((3,), 2.0)
SCALE = 3.0


def scaled(x):
    return x * W * SCALE


def test_rebound_global_tensor_and_number_retrace(caplog):
    global W, SCALE
    caplog.set_level(logging.INFO, logger="graphc.compile")
    f = graphc.compile(scaled)
    x = graphc.ones(3)
    try:
        for _ in range(2):
            np.testing.assert_allclose(_arr(f(x)), [6.0] * 3)
        W = graphc.full((3,), 5.0)  # a new tensor object behind the name
        for _ in range(2):
            np.testing.assert_allclose(_arr(f(x)), [15.0] * 3)
        SCALE = 0.5
        for _ in range(2):
            np.testing.assert_allclose(_arr(f(x)), [2.5] * 3)
    finally:
        W, SCALE = graphc.full((3,), 2.0), 3.0
    assert f.cache_info().traces == 3 and f.cache_info().hits == 3
    messages = _recompile_messages(caplog)
    assert "global W" in messages[0] and "global SCALE" in messages[1], messages


def test_closure_number_and_dict_value_retrace():
    state = {"k": 2.0}
    scale = 1.0

    def f(x):
        return x * scale + state["k"]

    cf = graphc.compile(f)
    x = graphc.ones(2)
    np.testing.assert_allclose(_arr(cf(x)), [3.0, 3.0])
    scale = 4.0  # noqa: F841 - read by f through its closure cell
    np.testing.assert_allclose(_arr(cf(x)), [6.0, 6.0])
    state["k"] = -1.0
    np.testing.assert_allclose(_arr(cf(x)), [3.0, 3.0])
    np.testing.assert_allclose(_arr(cf(x)), [3.0, 3.0])
    assert cf.cache_info().traces == 3 and cf.cache_info().hits == 1


def test_unchanged_state_never_retraces():
    model = nn.Linear(3, 2)
    opt = graphc.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = graphc.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)

    @graphc.compile
    def step(x):
        opt.zero_grad()
        model(x).square().sum().backward()
        opt.step()

    x = graphc.randn(4, 3)
    for _ in range(6):
        step(x)
        model.train()  # the same mode: no change
        sched.step()  # lr is a per-call input, not a guard
    assert step.cache_info().traces == 2  # the first call creates the momentum buffers
    assert step.cache_info().hits == 4


# ----------------------------------------------------------------------------
# modules


def test_replaced_parameter_is_used_after_assignment(caplog):
    caplog.set_level(logging.INFO, logger="graphc.compile")
    graphc.manual_seed(0)
    lin = nn.Linear(3, 2)
    f = graphc.compile(lin)
    x = graphc.randn(4, 3)
    with graphc.no_grad():
        for _ in range(2):
            np.testing.assert_allclose(_arr(f(x)), _arr(lin(x)), rtol=1e-6)
        lin.weight = nn.Parameter(graphc.ones(2, 3))
        for _ in range(2):
            np.testing.assert_allclose(_arr(f(x)), _arr(x.sum(1, keepdim=True) + lin.bias), rtol=1e-6)
    assert f.cache_info().traces == 2
    assert any("weight" in m for m in _recompile_messages(caplog))


def test_requires_grad_flip_of_a_parameter():
    graphc.manual_seed(0)
    lin = nn.Linear(3, 2)
    f = graphc.compile(lin)
    x = graphc.randn(4, 3)
    assert f(x).requires_grad
    lin.weight.requires_grad_(False)
    lin.bias.requires_grad_(False)
    out = f(x)
    assert not out.requires_grad and out.grad_fn is None
    lin.weight.requires_grad_(True)
    out = f(x)
    out.sum().backward()
    np.testing.assert_allclose(_arr(lin.weight.grad), np.tile(_arr(x).sum(0), (2, 1)), rtol=1e-5)
    assert lin.bias.grad is None


def test_train_eval_switch_and_module_attribute_change():
    graphc.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.5))
    f = graphc.compile(model)
    x = graphc.randn(16, 8)
    with graphc.no_grad():
        ref = _arr(model[0](x))
        out = _arr(f(x))  # training: about half the values dropped, the rest doubled
        kept = out != 0
        assert 0 < kept.mean() < 1
        np.testing.assert_allclose(out[kept], 2 * ref[kept], rtol=1e-5)
        model.eval()
        for _ in range(2):
            np.testing.assert_allclose(_arr(f(x)), ref, rtol=1e-6)
        model.train()
        model[1].p = 0.0  # a rebound module attribute
        for _ in range(2):
            np.testing.assert_allclose(_arr(f(x)), ref, rtol=1e-6)
    assert f.cache_info().traces == 3


def test_forward_hook_added_after_compiling_runs():
    lin = nn.Linear(2, 2)
    f = graphc.compile(lin)
    x = graphc.ones(1, 2)
    with graphc.no_grad():
        base = _arr(f(x))
        handle = lin.register_forward_hook(lambda m, args, out: out * 10)
        np.testing.assert_allclose(_arr(f(x)), base * 10, rtol=1e-6)
        handle.remove()
        np.testing.assert_allclose(_arr(f(x)), base, rtol=1e-6)


def test_same_mode_train_does_not_touch_the_module_epoch():
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    before = _epochs.MODULES.value
    model.train()
    assert _epochs.MODULES.value == before
    model.eval()
    assert _epochs.MODULES.value > before


def test_optimizer_hyperparameter_change_retraces():
    graphc.manual_seed(0)
    results = []
    for compiled in (True, False):
        w = graphc.ones(3, requires_grad=True)
        opt = graphc.optim.SGD([w], lr=0.1, momentum=0.9)

        def step():
            opt.zero_grad()
            (w * w).sum().backward()
            opt.step()

        fn = graphc.compile(step) if compiled else step
        for i in range(6):
            if i == 3:
                opt.param_groups[0]["momentum"] = 0.1
            fn()
        results.append(_arr(w))
    np.testing.assert_allclose(results[0], results[1], rtol=1e-6)


# ----------------------------------------------------------------------------
# arguments that share memory


def add_then_sum(a, b):
    a.add_(1)
    return a + b


@pytest.mark.parametrize(
    "make",
    [
        lambda x: (x, x),  # the same tensor twice
        lambda x: (x[0], x),  # a view and its base
        lambda x: (x, x[1]),
        lambda x: (x[:, :2], x[:, 1:]),  # two overlapping views
        lambda x: (x, x.detach()),  # a detached alias
    ],
    ids=["same", "view-base", "base-view", "overlapping-views", "detached"],
)
def test_aliased_arguments_after_a_trace_with_distinct_ones(make):
    cf = graphc.compile(add_then_sum)
    for _ in range(2):  # traced and replayed with distinct tensors of the same shapes
        a, b = (t.clone() for t in make(graphc.arange(9.0).view(3, 3)))
        np.testing.assert_allclose(_arr(cf(a, b)), _arr(add_then_sum(*(t.clone() for t in make(graphc.arange(9.0).view(3, 3))))))
    for _ in range(3):  # then with arguments sharing memory
        x_c, x_e = graphc.arange(9.0).view(3, 3), graphc.arange(9.0).view(3, 3)
        got = cf(*make(x_c))
        expected = add_then_sum(*make(x_e))
        np.testing.assert_allclose(_arr(got), _arr(expected))
        np.testing.assert_allclose(_arr(x_c), _arr(x_e))
    a, b = (t.clone() for t in make(graphc.zeros(3, 3)))  # distinct ones again: the first entry serves them
    assert _arr(cf(a, b)).max() == 1.0
    assert cf.cache_info().traces == 2


def test_argument_that_is_also_read_through_a_closure():
    w = graphc.ones(3)

    def f(x):
        x.mul_(2)
        return x + w  # w may be x itself

    cf = graphc.compile(f)
    for _ in range(2):
        np.testing.assert_allclose(_arr(cf(graphc.ones(3))), [3.0] * 3)
    np.testing.assert_allclose(_arr(cf(w)), [4.0] * 3)  # eager: w doubled, then w + w
    np.testing.assert_allclose(_arr(w), [2.0] * 3)
    np.testing.assert_allclose(_arr(cf(graphc.ones(3))), [4.0] * 3)


def test_switching_modes_back_and_forth_reuses_both_entries():
    """nanoGPT's loop: train, eval for a while (same grad mode here), train again."""
    graphc.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    f = graphc.compile(model)
    x = graphc.randn(3, 4)
    with graphc.no_grad():
        for _ in range(3):
            model.train()
            f(x)
            model.eval()
            np.testing.assert_allclose(_arr(f(x)), _arr(model[0](x)), rtol=1e-6)
    assert f.cache_info().traces == 2 and f.cache_info().hits == 4


class Trainer:
    """A class holding its model, optimizer and a loss history, with a compiled method."""

    def __init__(self):
        graphc.manual_seed(0)
        self.model = nn.Linear(3, 1)
        self.opt = graphc.optim.SGD(self.model.parameters(), lr=0.1)
        self.history = []
        self.scale = 1.0

    @graphc.compile
    def step(self, x):
        self.opt.zero_grad()
        loss = self.model(x).square().mean() * self.scale
        loss.backward()
        self.opt.step()
        return loss.detach()

    def fit(self, x, steps):
        for _ in range(steps):
            self.history.append(self.step(x).item())


def test_state_changed_outside_the_function_that_it_does_not_read_never_retraces():
    t = Trainer()
    x = graphc.randn(4, 3)
    t.fit(x, 6)  # history grows between calls: the compiled step never reads it
    assert Trainer.step.cache_info().traces == 1 and Trainer.step.cache_info().hits == 5
    t.scale = 2.0  # but it reads scale
    before = t.history[-1]
    t.fit(x, 1)
    assert Trainer.step.cache_info().traces == 2
    eager = Trainer()
    for _ in range(6):
        eager.history.append(Trainer.step.__wrapped__(eager, x).item())
    eager.scale = 2.0
    np.testing.assert_allclose(t.history[:6], eager.history, rtol=1e-6)
    assert t.history[-1] != before


MASK = np.array([1.0, 0.0, 2.0], dtype=np.float32)


def test_a_small_numpy_array_read_by_the_function_is_guarded_by_value():
    f = graphc.compile(lambda x: x * graphc.tensor(MASK))  # a copy of its values at trace time
    x = graphc.ones(3)
    np.testing.assert_allclose(_arr(f(x)), [1.0, 0.0, 2.0])
    MASK[1] = 5.0  # changed in place
    try:
        np.testing.assert_allclose(_arr(f(x)), [1.0, 5.0, 2.0])
    finally:
        MASK[1] = 0.0
    np.testing.assert_allclose(_arr(f(x)), [1.0, 0.0, 2.0])
