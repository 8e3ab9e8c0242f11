"""A compiled function never silently differs from eager graphc (hunt r10/hunt_compile).

Each test is one repro of that hunt turned into an assertion: the same function run
eagerly is the reference (with hand-computed values where they are short). Where a
replay cannot repeat what the function does (a scheduler step, reseeding, a host
shuffle), the traced call is faithful and later calls run eagerly with a
``CompileWarning`` naming the call and the user's line.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest

import graphc as G
import graphc.nn as nn
import graphc.optim as optim
from graphc import CompileWarning


def _run(fn, calls, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CompileWarning)
        return [fn(*args) for _ in range(calls)]


# -- r01: reading a lifted tensor's values after writing it in place -------------------------


def test_item_after_inplace_write_sees_the_write():
    T = G.zeros(())

    def f(x):
        T.add_(1)
        return x * T.item()

    cf = G.compile(f)
    with pytest.warns(CompileWarning, match=r"reads the values of a tensor it writes in place \(at .*test_eager_parity"):
        got = [cf(G.ones(1)).item() for _ in range(3)]
    assert got == [1.0, 2.0, 3.0]
    assert T.item() == 3.0
    assert cf.cache_info().traces == 1


def test_tolist_and_float_after_view_write():
    T = G.zeros(3)

    def f(x):
        T[1:].add_(2)
        return x * T.tolist()[2] + sum(T.tolist())

    T.zero_()
    eager = [f(G.ones(1)).item() for _ in range(2)]
    T.zero_()
    got = [v.item() for v in _run(G.compile(f), 2, G.ones(1))]
    assert got == eager == [6.0, 12.0]


def test_batchnorm_cumulative_average_compiles():
    G.manual_seed(0)
    x = G.randn(4, 3)
    ref = nn.BatchNorm1d(3, momentum=None)
    bn = nn.BatchNorm1d(3, momentum=None)
    cbn = G.compile(bn)
    for _ in range(3):
        want = ref(x)
        got = _run(cbn, 1, x)[0]
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(bn.running_mean.numpy(), ref.running_mean.numpy(), rtol=1e-6)
    assert bn.num_batches_tracked.item() == 3


# -- r02/r03: schedulers and optimizer hyper-parameters -------------------------------------


def _train(compiled, body, n=4):
    G.manual_seed(0)
    m = nn.Linear(2, 1).double()
    opt = optim.SGD(m.parameters(), lr=0.1)
    sch = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)

    def step(x):
        body(m, opt, sch, x)

    s = G.compile(step) if compiled else step
    for i in range(n):
        _run(s, 1, G.ones(1, 2, dtype=G.float64) * (i + 1))
    return opt.param_groups[0]["lr"], sch.last_epoch, m.weight.tolist()


def test_scheduler_stepped_inside_matches_eager():
    def body(m, opt, sch, x):
        m(x).sum().backward()
        opt.step()
        opt.zero_grad()
        sch.step()

    assert _train(True, body) == _train(False, body)
    lr, epoch, _ = _train(False, body)
    assert (lr, epoch) == (0.1 / 16, 4)


def test_scheduler_stepped_before_the_optimizer_inside():
    def body(m, opt, sch, x):
        m(x).sum().backward()
        sch.step()
        opt.step()  # uses the lr the scheduler just set, as eager
        opt.zero_grad()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert _train(True, body) == _train(False, body)


def test_scheduler_step_inside_warns_with_the_line():
    m = nn.Linear(2, 1)
    opt = optim.SGD(m.parameters(), lr=0.1)
    sch = optim.lr_scheduler.StepLR(opt, step_size=1)

    def step(x):
        m(x).sum().backward()
        opt.step()
        sch.step()

    with pytest.warns(CompileWarning, match=r"StepLR\.step\(\) at .*test_eager_parity\.py:\d+"):
        G.compile(step)(G.ones(1, 2))


@pytest.mark.parametrize(
    "make, key, values",
    [
        (lambda p: optim.SGD(p, lr=0.1, momentum=0.9), "momentum", [0.9, 0.9, 0.0, 0.0, 0.9, 0.5]),
        (lambda p: optim.RMSprop(p, lr=0.01, momentum=0.9), "momentum", [0.9, 0.0, 0.0, 0.9]),
        (lambda p: optim.SGD(p, lr=0.1, momentum=0.9), "nesterov", [False, True, True, False]),
        (lambda p: optim.SGD(p, lr=0.1), "weight_decay", [0.0, 0.1, 0.0, 0.2]),
        (lambda p: optim.Adam(p, lr=0.1, amsgrad=True), "amsgrad", [True, False, True]),
        (lambda p: optim.RMSprop(p, lr=0.01, centered=True), "centered", [True, False, True]),
    ],
)
def test_optimizer_hyperparameters_that_steer_the_step(make, key, values):
    def train(compiled):
        G.manual_seed(0)
        m = nn.Linear(2, 1).double()
        opt = make(m.parameters())

        def step(x):
            (m(x) ** 2).sum().backward()
            opt.step()
            opt.zero_grad()

        s = G.compile(step) if compiled else step
        for i, v in enumerate(values):
            opt.param_groups[0][key] = v
            _run(s, 1, G.ones(1, 2, dtype=G.float64) * (i + 1))
        return m.weight.tolist(), m.bias.tolist()

    assert train(True) == train(False)


def test_momentum_value_stays_a_per_call_input():
    m = nn.Linear(2, 1).double()
    opt = optim.SGD(m.parameters(), lr=0.1, momentum=0.9)

    def step(x):
        m(x).sum().backward()
        opt.step()
        opt.zero_grad()

    s = G.compile(step)
    for v in (0.9, 0.8, 0.7, 0.6):
        opt.param_groups[0]["momentum"] = v
        s(G.ones(1, 2, dtype=G.float64))
    assert s.cache_info().traces == 2  # the first call creates the momentum buffers


# -- r04/r05: graphc's random generator -------------------------------------------------------


def test_randperm_draws_afresh_and_keeps_the_stream():
    def f(x):
        a = G.rand(2)
        return G.randperm(6) + x, a

    def run(fn):
        G.manual_seed(0)
        outs = _run(fn, 3, 0)
        return [(p.tolist(), a.tolist()) for p, a in outs], G.rand(1).item()

    assert run(G.compile(f)) == run(f)


def test_rng_state_calls_inside():
    def f(x):
        s = G.get_rng_state()
        a = G.rand(2)
        G.set_rng_state(s)
        b = G.rand(2)
        return x + a - b

    def g(x):
        G.manual_seed(5)
        return x + G.rand(2)

    for fn in (f, g):
        G.manual_seed(1)
        want = [t.tolist() for t in _run(fn, 3, G.zeros(2))] + [G.rand(1).item()]
        G.manual_seed(1)
        got = [t.tolist() for t in _run(G.compile(fn), 3, G.zeros(2))] + [G.rand(1).item()]
        assert got == want
    assert want[0] == [0.0, 0.0] or fn is g


def test_random_ops_keep_eager_order_on_the_traced_call():
    def f(x):
        a = G.rand(3)
        b = G.randn(3)
        return x + a * b

    G.manual_seed(3)
    want = [f(G.zeros(3)).tolist() for _ in range(3)] + [G.rand(1).item()]
    G.manual_seed(3)
    cf = G.compile(f)
    got = [cf(G.zeros(3)).tolist() for _ in range(3)] + [G.rand(1).item()]
    assert got == want
    assert cf.cache_info().traces == 1


# -- r06/r09/r10/r11: in-place effects, exceptions, grad mode ---------------------------------


@pytest.mark.parametrize(
    "name, op",
    [
        ("unsqueeze_", lambda x: x.unsqueeze_(0)),
        ("squeeze_", lambda x: x.squeeze_(0)),
        ("t_", lambda x: x.t_()),
        ("transpose_", lambda x: x.transpose_(0, 1)),
        ("as_strided_", lambda x: x.as_strided_((2,), (1,))),
    ],
)
def test_metadata_inplace_on_an_argument_runs_eagerly(name, op):
    x0 = G.arange(3.0).reshape(1, 3)
    want = op(x0.clone())
    x = x0.clone()
    with pytest.warns(CompileWarning, match=rf"{name} at .*test_eager_parity\.py"):
        got = G.compile(op)(x)
    assert tuple(x.shape) == tuple(want.shape) and tuple(x.stride()) == tuple(want.stride())
    assert got is x and got.tolist() == want.tolist()


def test_metadata_inplace_on_an_intermediate_still_compiles():
    def f(x):
        y = x * 2
        y.unsqueeze_(0)
        return y + 1

    cf = G.compile(f)
    x = G.ones(3)
    assert cf(x).tolist() == f(x).tolist() == [[3.0, 3.0, 3.0]]
    assert cf.cache_info().eager_calls == 0


def test_inplace_on_a_nonleaf_argument_that_requires_grad():
    def f(h):
        h.mul_(3)
        return h.sum()

    a = G.ones(3, requires_grad=True)
    f(a * 1).backward()
    want = a.grad.tolist()
    b = G.ones(3, requires_grad=True)
    _run(G.compile(f), 1, b * 1)[0].backward()
    assert b.grad.tolist() == want == [3.0, 3.0, 3.0]


def test_exception_keeps_the_writes_made_before_it():
    class Box:
        pass

    def f(a, box):
        a.add_(1)
        box.k = a * 2
        raise KeyError("boom")

    cf = G.compile(f)
    for calls in (1, 2):
        a = G.zeros(2)
        for _ in range(calls):
            with pytest.raises(KeyError, match="boom"):
                cf(a, Box())
        assert a.tolist() == [float(calls)] * 2
    box = Box()
    with pytest.raises(KeyError):
        cf(G.zeros(2), box)
    assert box.k.tolist() == [2.0, 2.0]  # state created before the raise holds values


def test_grad_mode_left_changed_is_replayed():
    def f(x):
        G.set_grad_enabled(False)
        return x * 2

    cf = G.compile(f)
    try:
        for _ in range(3):
            G.set_grad_enabled(True)
            cf(G.ones(2))
            assert not G.is_grad_enabled()
    finally:
        G.set_grad_enabled(True)


# -- r12/r13/r15: guards and output identity ----------------------------------------------------


def test_defaults_and_partial_keywords_are_guarded():
    def f(x, s=2.0):
        return x * s

    def h(x, *, s=3.0):
        return x * s

    cf, ch, x = G.compile(f), G.compile(h), G.ones(1)
    cf(x), ch(x)
    f.__defaults__ = (10.0,)
    h.__kwdefaults__ = {"s": 7.0}
    assert cf(x).item() == f(x).item() == 10.0
    assert ch(x).item() == h(x).item() == 7.0
    p = functools.partial(lambda a, k: a * k, k=4.0)
    cp = G.compile(p)
    cp(x)
    p.keywords["k"] = 9.0
    assert cp(x).item() == p(x).item() == 9.0


def test_default_dtype_is_guarded():
    def f():
        return G.tensor([1.5, 2.5]) * 2

    def g(x):
        return x + G.ones(2)

    cf, cg, x = G.compile(f), G.compile(g), G.ones(2, dtype=G.float16)
    cf(), cg(x)
    try:
        G.set_default_dtype(G.float64)
        assert cf().dtype == f().dtype == G.float64
        assert cg(x).dtype == g(x).dtype == G.float64
    finally:
        G.set_default_dtype(G.float32)
    assert cf().dtype == G.float32 and cf.cache_info().traces == 2


def test_same_tensor_returned_twice_is_one_object():
    def f(x):
        y = x * 2
        return y, y

    cf = G.compile(f)
    for _ in range(2):
        a, b = cf(G.ones(2))
        assert a is b
        a.add_(1)
        assert b.tolist() == [3.0, 3.0]


# -- round 2: containers given as arguments, .grad aliases, views of outputs, freed graphs ----


def _arg_writer(x, d, lst, *, kw):
    d["y"] = x * 2
    d.pop("drop", None)
    lst.append(x + 1)
    lst[0] = x
    kw["n"] = kw.get("n", 0) + 1
    return x.sum()


def test_writes_into_a_dict_or_list_argument_reach_the_caller():
    def calls(fn):
        out = []
        for i in range(4):
            x, d, lst, kw = G.ones(2) * i, {"drop": 1}, [None], {}
            fn(x, d, lst, kw=kw)
            out.append((sorted(d), d["y"].tolist(), lst[0] is x, lst[1].tolist(), kw))
        return out

    cf = G.compile(_arg_writer)
    with pytest.warns(CompileWarning, match="changes Python state on every call"):
        got = calls(cf)
    assert got == calls(_arg_writer)
    assert cf.cache_info().eager_calls == 2  # calls 3 and 4: the first two traced


def test_nested_argument_list_write_reaches_the_caller():
    def f(batch):
        batch["outs"].append(batch["x"] * 3)
        return batch["x"] + 1

    want, got = {"x": G.ones(2), "outs": []}, {"x": G.ones(2), "outs": []}
    f(want)
    _run(G.compile(f), 1, got)
    assert [t.tolist() for t in got["outs"]] == [t.tolist() for t in want["outs"]] == [[3.0, 3.0]]


def test_grad_read_between_backwards_is_the_accumulating_tensor():
    def f(x):
        (x * x).sum().backward()
        g = x.grad  # eager: the very tensor the next backward adds into
        (x * 3).sum().backward()
        return g, x.grad

    cf = G.compile(f)
    for _ in range(3):
        x = G.tensor([1.0, 2.0], requires_grad=True)
        g, h = cf(x)
        assert g.tolist() == h.tolist() == [5.0, 7.0]
        assert g is x.grad and h is x.grad
    assert cf.cache_info().traces == 1


def test_grad_accumulates_in_place_into_an_existing_grad():
    def f(x):
        g = x.grad
        (x * 2).sum().backward()
        return g

    cf = G.compile(f)
    for _ in range(2):
        x = G.tensor([1.0, 2.0], requires_grad=True)
        x.grad = G.ones(2)
        before = x.grad
        g = cf(x)
        assert g is before and x.grad is before and before.tolist() == [3.0, 3.0]


def test_inplace_write_through_returned_view_of_nonleaf_input_rebases_its_history():
    def g(y):
        return y[0]

    cg = G.compile(g)
    for fn in (cg, cg, g):
        x = G.ones(2, 2, requires_grad=True)
        y = x * 1
        v = fn(y)
        assert v._base is y
        v.mul_(2)
        y.sum().backward()
        assert x.grad.tolist() == [[2.0, 2.0], [1.0, 1.0]]
        assert y.tolist() == [[2.0, 2.0], [1.0, 1.0]]


def test_returned_view_of_a_leaf_that_requires_grad_behaves_as_eager():
    def g(y):
        return y[1] * 1, y[0]

    cg = G.compile(g)
    for fn in (g, cg, cg):
        y = G.ones(2, 2, requires_grad=True)
        a, v = fn(y)
        with pytest.raises(Exception, match="leaf Variable that requires grad"):
            v.mul_(2)
        (a.sum() + 3 * v.sum()).backward()
        assert y.grad.tolist() == [[3.0, 3.0], [1.0, 1.0]]


def test_create_graph_gradient_returned_with_a_later_grad_runs_eagerly():
    def f(x):
        (g,) = G.autograd.grad((x**3).sum(), x, create_graph=True)
        (h,) = G.autograd.grad(g.sum(), x)
        return g, h

    x = G.ones(3, requires_grad=True)
    want = [t.tolist() for t in f(x)]
    cf = G.compile(f)
    with pytest.warns(CompileWarning, match="autograd graph the function freed"):
        got = [t.tolist() for t in cf(x)]
    assert got == want == [[3.0, 3.0, 3.0], [6.0, 6.0, 6.0]]
    g, _ = _run(cf, 1, x)[0]
    assert g.requires_grad and g.grad_fn is not None  # eager's g, as eager
