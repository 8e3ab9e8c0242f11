"""Write-back on replay: in-place writes into arguments (directly and through
views), into lifted tensors (closures, globals, dicts of state), ``.grad``
results, whole training steps, and random ops drawing fresh numbers per call.

Every check compares the compiled function, over several calls (the first,
which traces, then replays), with the same function run eagerly on copies of the state.
"""

from __future__ import annotations

import numpy as np
import pytest

import graphc
import graphc.nn.functional as F


def _arr(t):
    return None if t is None else np.array(t.detach().numpy())


def _assert_same(a, b, rtol=1e-6, atol=1e-7):
    if isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b)
        for x, y in zip(a, b):
            _assert_same(x, y, rtol, atol)
        return
    if a is None or b is None:
        assert a is None and b is None, (a, b)
        return
    assert a.dtype == b.dtype and tuple(a.shape) == tuple(b.shape)
    np.testing.assert_allclose(_arr(a), _arr(b), rtol=rtol, atol=atol)


# ----------------------------------------------------------------------------
# mutated arguments


def add_one(x):
    x.add_(1)
    return x * 2


def set_first(x):
    x[0] = 5
    return x.sum()


def through_transpose(x):
    x.t()[0].mul_(-2)  # column 0 of x
    return x


def through_slice_then_read(x):
    v = x[:, 1:]
    v.zero_()
    return x.sum(1), v


def advanced_setitem(x, idx):
    x[idx] = -1.0
    x[:, 0] += x[:, 1]
    return x.clone()


def view_read_after_base_write(x):
    row = x[1]
    x.mul_(3)  # row sees it: it is a view of x
    return row + 0


def reshape_of_transposed_argument_is_a_copy(x):
    y = x.t().reshape(-1)  # strides do not allow a view: a copy
    y.add_(100)  # so x does not change
    return y


def same_tensor_twice(a, b):
    a.add_(b)  # a and b are the same tensor: both see the write
    return b * 1


MUTATORS = {
    "add_": (add_one, lambda: (graphc.randn(3, 4),)),
    "setitem": (set_first, lambda: (graphc.randn(3, 4),)),
    "through_transpose": (through_transpose, lambda: (graphc.randn(3, 4),)),
    "through_slice": (through_slice_then_read, lambda: (graphc.randn(3, 4),)),
    "advanced_setitem": (advanced_setitem, lambda: (graphc.randn(3, 4), graphc.tensor([0, 2]))),
    "view_read_after_write": (view_read_after_base_write, lambda: (graphc.randn(3, 4),)),
    "reshape_copy": (reshape_of_transposed_argument_is_a_copy, lambda: (graphc.randn(3, 4),)),
}


@pytest.mark.parametrize("name", sorted(MUTATORS))
def test_mutated_arguments_are_written_back(name):
    fn, make = MUTATORS[name]
    cf = graphc.compile(fn)
    graphc.manual_seed(1)
    for call in range(4):
        args = make()
        copies = [a.clone() for a in args]
        got = cf(*args)
        expected = fn(*copies)
        _assert_same(got, expected)
        _assert_same(list(args), copies)  # the arguments' values after the call
    assert cf.cache_info().traces == 1 and cf.cache_info().hits == 3


def test_the_same_tensor_passed_twice():
    cf = graphc.compile(same_tensor_twice)
    for _ in range(3):
        x = graphc.ones(3)
        out = cf(x, x)
        np.testing.assert_allclose(_arr(x), [2.0] * 3)
        np.testing.assert_allclose(_arr(out), [2.0] * 3)


def test_write_into_a_non_contiguous_argument():
    cf = graphc.compile(add_one)
    for _ in range(3):
        base = graphc.zeros(4, 3)
        cf(base.t())  # a strided view as the argument: written back through its strides
        np.testing.assert_allclose(_arr(base), np.ones((4, 3)))


def test_mutation_that_is_not_returned_still_happens():
    @graphc.compile
    def f(x, y):
        y.copy_(x.exp())
        x.zero_()

    for _ in range(3):
        x, y = graphc.randn(4), graphc.empty(4)
        x0 = _arr(x)
        assert f(x, y) is None
        np.testing.assert_allclose(_arr(y), np.exp(x0), rtol=1e-6)
        np.testing.assert_allclose(_arr(x), np.zeros(4))


# ----------------------------------------------------------------------------
# lifted tensors updated in place

COUNTER = graphc.zeros(())


def bump_global(x):
    COUNTER.add_(x.sum())
    return COUNTER * 1


def test_global_tensor_updated_in_place():
    cf = graphc.compile(bump_global)
    COUNTER.zero_()
    for i in range(1, 6):
        out = cf(graphc.ones(3))
        assert COUNTER.item() == 3.0 * i
        assert out.item() == 3.0 * i
    assert cf.cache_info().traces == 1


def test_closure_tensor_and_its_view_updated_in_place():
    state = graphc.zeros(2, 3)

    def accumulate(x):
        state[0].add_(x)  # through a view of a lifted tensor
        state[1] = state[0] * 2
        return state.sum()

    cf = graphc.compile(accumulate)
    ref = np.zeros((2, 3), np.float32)
    for i in range(5):
        x = graphc.full((3,), float(i))
        out = cf(x)
        ref[0] += i
        ref[1] = ref[0] * 2
        np.testing.assert_allclose(_arr(state), ref)
        assert out.item() == pytest.approx(ref.sum())


def test_running_statistics_in_a_dict_created_before_compile():
    stats = {"mean": graphc.zeros(4), "n": graphc.zeros(())}

    def update(x):
        with graphc.no_grad():
            stats["n"].add_(1)
            stats["mean"].mul_(0.9).add_(x.mean(0) * 0.1)
        return x - stats["mean"]

    cf = graphc.compile(update)
    ref_mean = np.zeros(4, np.float32)
    rng = np.random.default_rng(0)
    for i in range(6):
        x = graphc.tensor(rng.standard_normal((5, 4)).astype(np.float32))
        out = cf(x)
        ref_mean = ref_mean * np.float32(0.9) + _arr(x).mean(0) * np.float32(0.1)
        np.testing.assert_allclose(_arr(stats["mean"]), ref_mean, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(_arr(out), _arr(x) - ref_mean, rtol=1e-5, atol=1e-6)
    assert stats["n"].item() == 6


# ----------------------------------------------------------------------------
# .grad results


def _params(seed=0):
    rng = np.random.default_rng(seed)
    w = graphc.tensor(rng.standard_normal((3, 2)).astype(np.float32), requires_grad=True)
    b = graphc.tensor(rng.standard_normal(2).astype(np.float32), requires_grad=True)
    return w, b


def _clone_params(ps):
    out = []
    for p in ps:
        q = p.detach().clone().requires_grad_(True)
        if p.grad is not None:
            q.grad = p.grad.clone()
        out.append(q)
    return out


def test_grad_accumulates_across_calls_when_not_zeroed():
    def step(x, w, b):
        loss = ((x @ w + b) ** 2).sum()
        loss.backward()
        return loss.detach()

    cf = graphc.compile(step)
    w, b = _params()
    we, be = _clone_params([w, b])
    x = graphc.randn(4, 3)
    for _ in range(5):
        _assert_same(cf(x, w, b), step(x, we, be), rtol=1e-5)
        _assert_same([w.grad, b.grad], [we.grad, be.grad], rtol=1e-5)
    grad_obj = w.grad
    cf(x, w, b)
    step(x, we, be)
    assert w.grad is grad_obj  # accumulated in place, as eager does
    _assert_same([w.grad, b.grad], [we.grad, be.grad], rtol=1e-5)


@pytest.mark.parametrize("zeroing", ["set_to_none", "zero_", "none_outside"])
def test_grad_zeroing_inside_and_outside(zeroing):
    w, b = _params(1)

    def step(x):
        if zeroing == "set_to_none":
            w.grad = None
            b.grad = None
        elif zeroing == "zero_" and w.grad is not None:
            w.grad.zero_()
            b.grad.zero_()
        loss = (x @ w + b).tanh().sum()
        loss.backward()
        return loss.detach()

    cf = graphc.compile(step)
    x = graphc.randn(4, 3)
    for _ in range(5):
        if zeroing == "none_outside":
            w.grad = b.grad = None
        cf(x)
        gw, gb = _arr(w.grad), _arr(b.grad)
        saved = w.grad, b.grad
        w.grad = b.grad = None
        step(x)  # eager, from zero
        np.testing.assert_allclose(gw, _arr(w.grad), rtol=1e-5)
        np.testing.assert_allclose(gb, _arr(b.grad), rtol=1e-5)
        w.grad, b.grad = saved
    # "zero_" reads w.grad (None on the first call, then a tensor): one retrace when it appears
    assert cf.cache_info().traces == (2 if zeroing == "zero_" else 1), cf.cache_info()


def test_grad_of_an_argument_follows_the_argument():
    def step(w, x):
        (w * x).sum().backward()
        return w.grad

    cf = graphc.compile(step)
    x = graphc.tensor([1.0, 2.0, 3.0])
    w1 = graphc.ones(3, requires_grad=True)
    for i in range(1, 4):
        g = cf(w1, x)
        np.testing.assert_allclose(_arr(g), _arr(x) * i)
    w2 = graphc.ones(3, requires_grad=True)  # a fresh tensor: its grad starts from None
    for i in range(1, 3):
        g = cf(w2, x)
        np.testing.assert_allclose(_arr(w2.grad), _arr(x) * i)
        np.testing.assert_allclose(_arr(w1.grad), _arr(x) * 3)  # untouched


def test_grad_of_a_non_leaf_inside_is_not_written_out():
    def step(x, w):
        h = x * w
        h.retain_grad()
        (h * h).sum().backward()
        return h.grad, w.grad

    cf = graphc.compile(step)
    for _ in range(3):
        x, w = graphc.randn(3), graphc.randn(3, requires_grad=True)
        we = w.detach().clone().requires_grad_(True)
        _assert_same(cf(x, w), step(x, we), rtol=1e-6)
        _assert_same(w.grad, we.grad)


# ----------------------------------------------------------------------------
# a training step


class MLP:
    def __init__(self, seed, sizes=(6, 16, 3)):
        rng = np.random.default_rng(seed)
        self.params = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            w = graphc.tensor((rng.standard_normal((a, b)) / np.sqrt(a)).astype(np.float32), requires_grad=True)
            bias = graphc.tensor(np.zeros(b, np.float32), requires_grad=True)
            self.params += [w, bias]

    def __call__(self, x):
        h = x
        for i in range(0, len(self.params), 2):
            h = h @ self.params[i] + self.params[i + 1]
            if i + 2 < len(self.params):
                h = h.relu()
        return h


def make_step(model, lr, momentum=None):
    buffers = {id(p): graphc.zeros_like(p) for p in model.params} if momentum else None

    def step(x, y):
        for p in model.params:
            p.grad = None
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        with graphc.no_grad():
            for p in model.params:
                if momentum:
                    buf = buffers[id(p)]
                    buf.mul_(momentum).add_(p.grad)
                    p.sub_(lr * buf)
                else:
                    p.sub_(lr * p.grad)
        return loss.detach()

    return step, buffers


@pytest.mark.parametrize("momentum", [None, 0.9])
def test_training_step_matches_eager(momentum):
    rng = np.random.default_rng(3)
    x = graphc.tensor(rng.standard_normal((8, 6)).astype(np.float32))
    y = graphc.tensor(rng.integers(0, 3, 8))
    m_c, m_e = MLP(0), MLP(0)
    step_c, bufs_c = make_step(m_c, 0.1, momentum)
    step_e, bufs_e = make_step(m_e, 0.1, momentum)
    cstep = graphc.compile(step_c)
    losses_c, losses_e = [], []
    for _ in range(6):
        losses_c.append(cstep(x, y).item())
        losses_e.append(step_e(x, y).item())
    np.testing.assert_allclose(losses_c, losses_e, rtol=1e-5)
    assert losses_c[-1] < losses_c[0]
    for pc, pe in zip(m_c.params, m_e.params):
        np.testing.assert_allclose(_arr(pc), _arr(pe), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(_arr(pc.grad), _arr(pe.grad), rtol=1e-4, atol=1e-6)
    if momentum:
        for pc, pe in zip(m_c.params, m_e.params):
            np.testing.assert_allclose(_arr(bufs_c[id(pc)]), _arr(bufs_e[id(pe)]), rtol=1e-4, atol=1e-6)
    info = cstep.cache_info()
    assert info.traces == 1 and info.hits == 5
    report = cstep.explain(x, y)
    assert report.traced.mutations  # parameter (and buffer) updates are graph mutations


def test_training_step_with_graphc_optim_sgd():
    from graphc import optim

    rng = np.random.default_rng(4)
    x = graphc.tensor(rng.standard_normal((8, 6)).astype(np.float32))
    y = graphc.tensor(rng.integers(0, 3, 8))
    results = []
    for compiled in (True, False):
        model = MLP(1)
        opt = optim.SGD(model.params, lr=0.05, momentum=0.9)

        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss.detach()

        fn = graphc.compile(step) if compiled else step
        results.append(([fn(x, y).item() for _ in range(5)], [_arr(p) for p in model.params]))
    (lc, pc), (le, pe) = results
    np.testing.assert_allclose(lc, le, rtol=1e-5)
    for a, b in zip(pc, pe):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------
# random ops


def test_random_ops_draw_fresh_numbers_each_call_and_follow_manual_seed():
    f = graphc.compile(lambda: graphc.rand(3))
    draws = [_arr(f()) for _ in range(4)]
    for a, b in zip(draws, draws[1:]):
        assert not np.array_equal(a, b)
    graphc.manual_seed(123)
    first = [_arr(f()) for _ in range(4)]
    graphc.manual_seed(123)
    second = [_arr(f()) for _ in range(4)]
    graphc.manual_seed(123)
    eager = [_arr(graphc.rand(3)) for _ in range(4)]
    for a, b, c in zip(first, second, eager):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)  # compiled draws what eager draws
    assert f.cache_info().traces == 1


def test_dropout_masks_differ_per_call():
    f = graphc.compile(lambda x: F.dropout(x, 0.5, training=True))
    x = graphc.ones(64)
    masks = [_arr(f(x)) != 0 for _ in range(4)]
    assert not np.array_equal(masks[2], masks[3])
    for m, out in zip(masks, masks):
        assert 0 < m.sum() < 64


def test_training_step_with_parameters_passed_as_a_list_argument():
    def step(params, x, y, lr=0.1):
        w1, b1, w2 = params
        loss = F.cross_entropy((x @ w1 + b1).relu() @ w2, y)
        loss.backward()
        with graphc.no_grad():
            for p in params:
                p -= lr * p.grad  # in-place on the arguments: written back on replay
                p.grad.zero_()
        return loss.detach()

    def make():
        rng = np.random.default_rng(0)
        return [
            graphc.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True) for s in [(5, 8), (8,), (8, 3)]
        ]

    rng = np.random.default_rng(5)
    x = graphc.tensor(rng.standard_normal((6, 5)).astype(np.float32))
    y = graphc.tensor(rng.integers(0, 3, 6))
    pc, pe = make(), make()
    cstep = graphc.compile(step)
    losses_c = [cstep(pc, x, y).item() for _ in range(5)]
    losses_e = [step(pe, x, y).item() for _ in range(5)]
    np.testing.assert_allclose(losses_c, losses_e, rtol=1e-5)
    for a, b in zip(pc, pe):
        np.testing.assert_allclose(_arr(a), _arr(b), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(_arr(a.grad), _arr(b.grad))
    # .grad is None when the first call traces and a tensor after it: one retrace
    assert cstep.cache_info().traces == 2


def test_outputs_that_are_inputs_or_their_views_alias_them_as_in_eager():
    @graphc.compile
    def f(x):
        x.add_(1)
        return x, x[0], x.t(), x * 2

    for _ in range(3):
        x = graphc.zeros(2, 3)
        same, row, tr, fresh = f(x)
        assert same is x
        row.add_(10)  # a view of x, as eager returns
        tr[2, 1] = -5.0
        fresh.add_(100)  # a new tensor: x does not change
        np.testing.assert_allclose(_arr(x), [[11, 11, 11], [1, 1, -5]])
