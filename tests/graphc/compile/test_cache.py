"""The compile cache and its guards: one trace per signature (on the first call), a
retrace (with a log line naming the failed guard) when the signature changes, a bounded
number of recompiles, and the decorator's forms on functions, callable objects and
modules whose parameters are lifted by identity."""

from __future__ import annotations

import logging
import sys
import warnings

import numpy as np
import pytest

import graphc
import graphc.nn as nn
from graphc import _compiler


def _arr(t):
    return np.array(t.detach().numpy())


def f3(a, b):
    return ((a + b) * 2).relu()


# ----------------------------------------------------------------------------
# no retrace on a repeated signature


def test_repeated_signature_traces_once_and_replays():
    cf = graphc.compile(f3)
    rng = np.random.default_rng(0)
    for i in range(20):
        a, b = (graphc.tensor(rng.standard_normal((4, 3)).astype(np.float32)) for _ in range(2))
        np.testing.assert_allclose(_arr(cf(a, b)), _arr(f3(a, b)), rtol=1e-6)
    info = cf.cache_info()
    # call 1 traces, compiles and runs the program; 19 replays
    assert (info.traces, info.hits, info.eager_calls, info.entries, info.recompiles) == (1, 19, 0, 1, 0)


def test_three_op_function_on_8_elements_replays_through_the_cache():
    """Per-call overhead sanity (not timed): later calls never run the Python body."""
    body_runs = []

    def f(a, b):
        return ((a + b) * 2).relu()

    def profile(frame, event, arg):  # counts runs of f's body without f changing any state
        if event == "call" and frame.f_code is f.__code__:
            body_runs.append(1)

    cf = graphc.compile(f)
    a, b = graphc.randn(8), graphc.randn(8)
    sys.setprofile(profile)
    try:
        for _ in range(50):
            out = cf(a, b)
    finally:
        sys.setprofile(None)
    assert len(body_runs) == 1  # the trace, on the first call
    assert cf.cache_info().hits == 49 and cf.cache_info().traces == 1
    np.testing.assert_allclose(_arr(out), _arr(f3(a, b)))


def test_kwargs_and_nested_arguments_share_one_entry():
    @graphc.compile
    def f(xs, *, scale, extra=None):
        return xs[0] * scale + xs[1] + (extra["t"] if extra else 0)

    for _ in range(5):
        xs = [graphc.randn(3), graphc.randn(3)]
        t = graphc.randn(3)
        out = f(xs, scale=2.0, extra={"t": t})
        np.testing.assert_allclose(_arr(out), _arr(xs[0] * 2.0 + xs[1] + t), rtol=1e-6)
    assert f.cache_info().traces == 1 and f.cache_info().hits == 4


# ----------------------------------------------------------------------------
# retrace on a changed signature, with a log line naming the guard


def _no_grad_out(x, y):
    return (x * y).sum(0).detach()


CHANGES = {
    "shape": (lambda: (graphc.ones(2, 3), graphc.ones(3)), lambda: (graphc.ones(5, 3), graphc.ones(3)), "shape"),
    "dtype": (
        lambda: (graphc.ones(2, 3), graphc.ones(3)),
        lambda: (graphc.ones(2, 3, dtype=graphc.float64), graphc.ones(3, dtype=graphc.float64)),
        "dtype",
    ),
    "requires_grad": (
        lambda: (graphc.ones(2, 3), graphc.ones(3)),
        lambda: (graphc.ones(2, 3, requires_grad=True), graphc.ones(3)),
        "requires_grad",
    ),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_retrace_on_changed_tensor_signature_logs_the_guard(change, caplog):
    before, after, word = CHANGES[change]
    cf = graphc.compile(_no_grad_out)
    for _ in range(3):
        cf(*before())
    assert cf.cache_info().traces == 1
    caplog.set_level(logging.INFO, logger="graphc.compile")
    for _ in range(3):
        args = after()
        np.testing.assert_allclose(_arr(cf(*args)), _arr(_no_grad_out(*args)))
    assert cf.cache_info().traces == 2 and cf.cache_info().recompiles == 1
    records = [r for r in caplog.records if r.name == "graphc.compile" and "recompiling" in r.getMessage()]
    assert len(records) == 1 and records[0].levelno == logging.INFO
    assert word in records[0].getMessage() and "tensor argument 0" in records[0].getMessage()
    # the old signature is still cached
    cf(*before())
    assert cf.cache_info().traces == 2


def test_retrace_on_a_changed_python_value_names_it(caplog):
    @graphc.compile
    def f(x, n, opts):
        return x * n + opts["bias"]

    x = graphc.ones(3)
    for _ in range(3):
        f(x, 2, {"bias": 1.0})
    caplog.set_level(logging.INFO, logger="graphc.compile")
    for _ in range(2):
        out = f(x, 3, {"bias": 1.0})
    np.testing.assert_allclose(_arr(out), [4.0, 4.0, 4.0])
    for _ in range(2):
        out = f(x, 3, {"bias": 0.5})
    np.testing.assert_allclose(_arr(out), [3.5, 3.5, 3.5])
    messages = [r.getMessage() for r in caplog.records if "recompiling" in r.getMessage()]
    assert len(messages) == 2
    assert "args[1]" in messages[0] and "2 -> 3" in messages[0]
    assert "args[2]['bias']" in messages[1] and "1.0 -> 0.5" in messages[1]
    assert f.cache_info().traces == 3


def test_retrace_on_grad_mode(caplog):
    cf = graphc.compile(_no_grad_out)
    x, y = graphc.ones(2, 3), graphc.ones(3)
    for _ in range(2):
        cf(x, y)
    caplog.set_level(logging.INFO, logger="graphc.compile")
    with graphc.no_grad():
        for _ in range(2):
            cf(x, y)
    assert cf.cache_info().traces == 2
    assert any("grad mode" in r.getMessage() for r in caplog.records)


def test_retrace_when_a_lifted_tensor_changes_shape_or_requires_grad(caplog):
    w = graphc.ones(3)

    @graphc.compile
    def f(x):
        return (x * w).sum().detach()

    x = graphc.ones(3)
    for _ in range(3):
        assert f(x).item() == 3.0
    caplog.set_level(logging.INFO, logger="graphc.compile")
    w.data = graphc.ones(1) * 2  # a new shape behind the same tensor object
    assert f(x).item() == 6.0
    assert f.cache_info().traces == 2
    assert any("guard failed" in r.getMessage() and "shape" in r.getMessage() for r in caplog.records)
    w.requires_grad_(True)
    assert f(x).item() == 6.0
    assert f.cache_info().traces == 3
    assert any("requires_grad" in r.getMessage() for r in caplog.records)


# ----------------------------------------------------------------------------
# the recompile limit


def test_recompile_limit_warns_once_then_runs_eagerly():
    @graphc.compile
    def f(x, n):
        return x * n + 1

    x = graphc.arange(4, dtype=graphc.float32)
    limit = _compiler.RECOMPILE_LIMIT
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for n in range(limit + 1):  # the first trace and `limit` recompiles
            for _ in range(2):
                np.testing.assert_allclose(_arr(f(x, n)), _arr(x) * n + 1)
        assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]
        assert f.cache_info().recompiles == limit
        for n in range(limit + 1, limit + 6):
            for _ in range(3):
                np.testing.assert_allclose(_arr(f(x, n)), _arr(x) * n + 1)  # still correct
    runtime = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(runtime) == 1, [str(w.message) for w in runtime]
    assert issubclass(runtime[0].category, graphc.CompileWarning)
    assert "recompiled" in str(runtime[0].message) and "eagerly" in str(runtime[0].message)
    assert runtime[0].filename == __file__  # the warning points at the user's call
    assert f.cache_info().traces == limit + 1  # no more traces after the limit
    assert f.cache_info().recompiles == limit
    assert any("recompiled" in r for r in f.cache_info().eager_reasons)
    for _ in range(2):  # signatures traced before the limit still replay
        np.testing.assert_allclose(_arr(f(x, 3)), _arr(x) * 3 + 1)
    assert f.cache_info().traces == limit + 1


def test_a_signature_that_cannot_compile_runs_eagerly_without_disabling_others(caplog):
    w = graphc.ones(3, requires_grad=True)
    w64 = graphc.ones(3, dtype=graphc.float64, requires_grad=True)

    @graphc.compile
    def f(x):
        # outputs that require grad with different dtypes: autograd through the call refuses
        return x * w, x.double() * w64 * 2

    caplog.set_level(logging.INFO, logger="graphc.compile")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            out, out2 = f(graphc.ones(3))
            assert out.requires_grad and out2.requires_grad
    messages = [str(m.message) for m in caught if issubclass(m.category, graphc.CompileWarning)]
    assert len(messages) == 1 and "different dtypes" in messages[0], messages
    (out.double() + out2).sum().backward()
    np.testing.assert_allclose(_arr(w.grad), [1.0, 1.0, 1.0])
    np.testing.assert_allclose(_arr(w64.grad), [2.0, 2.0, 2.0])
    assert any("require grad" in r.getMessage() for r in caplog.records)
    assert f.cache_info().eager_calls == 3 and "different dtypes" in f.cache_info().eager_reasons[0]
    with pytest.raises(graphc.UnsupportedError, match="different dtypes"):
        f.explain(graphc.ones(3))
    with graphc.no_grad():  # another signature (grad mode) still compiles
        for _ in range(3):
            f(graphc.ones(3))
    assert f.cache_info().traces == 1 and f.cache_info().hits == 2


# ----------------------------------------------------------------------------
# the decorator's forms


def test_decorator_with_and_without_arguments():
    @graphc.compile
    def a(x):
        return x.exp() + 1

    @graphc.compile()
    def b(x):
        return x.exp() + 1

    @graphc.compile(backend="numpy")
    def c(x):
        return x.exp() + 1

    @graphc.compile(backend="numpy", fullgraph=True, dynamic=False, mode="default")
    def d(x):
        return x.exp() + 1

    @graphc.compile(backend="inductor", mode="reduce-overhead")  # PyTorch's names: the device decides
    def e(x):
        return x.exp() + 1

    x = graphc.randn(5)
    for f in (a, b, c, d, e):
        assert isinstance(f, _compiler.CompiledFunction)
        for _ in range(3):
            np.testing.assert_allclose(_arr(f(x)), np.exp(_arr(x)) + 1, rtol=1e-6)
        assert f.cache_info().traces == 1
        assert f.explain(x).backend == "numpy"
    assert a.__name__ == "a" and a.__wrapped__ is not None


def test_unknown_backend_is_a_clear_error():
    f = graphc.compile(lambda x: x + 1, backend="nope")
    x = graphc.ones(2)
    with pytest.raises(graphc.UnsupportedError, match="nope"):
        f(x)  # the first call compiles


class Scaler:
    """A callable object with tensor attributes (reached by identity, lifted)."""

    def __init__(self):
        self.w = graphc.tensor([1.0, 2.0, 3.0])
        self.b = graphc.tensor(0.5)

    def __call__(self, x):
        return x * self.w + self.b


def test_callable_object_lifts_its_tensors_and_sees_in_place_updates():
    obj = Scaler()
    cf = graphc.compile(obj)
    x = graphc.ones(3)
    for _ in range(3):
        np.testing.assert_allclose(_arr(cf(x)), [1.5, 2.5, 3.5])
    with graphc.no_grad():
        obj.w.mul_(10)
        obj.b.fill_(-1)
    np.testing.assert_allclose(_arr(cf(x)), [9.0, 19.0, 29.0])
    obj.w.data = graphc.tensor([0.0, 0.0, 1.0])  # new values, same shape: no retrace
    np.testing.assert_allclose(_arr(cf(x)), [-1.0, -1.0, 0.0])
    assert cf.cache_info().traces == 1 and cf.cache_info().hits == 4


def test_module_parameters_are_lifted_without_retrace():
    graphc.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    cm = graphc.compile(model)
    x = graphc.randn(5, 4)
    with graphc.no_grad():
        for _ in range(3):
            out = cm(x)
        np.testing.assert_allclose(_arr(out), _arr(model(x)), rtol=1e-5, atol=1e-6)
        for p in model.parameters():
            p.mul_(0.5)
        out = cm(x)
        np.testing.assert_allclose(_arr(out), _arr(model(x)), rtol=1e-5, atol=1e-6)
    assert cm.cache_info().traces == 1


def test_compiled_method_on_a_class():
    class Model:
        def __init__(self, k):
            self.w = graphc.full((3,), float(k))

        @graphc.compile
        def forward(self, x):
            return x * self.w

    m1, m2 = Model(2), Model(3)
    x = graphc.ones(3)
    for _ in range(3):
        np.testing.assert_allclose(_arr(m1.forward(x)), [2.0] * 3)
        np.testing.assert_allclose(_arr(m2.forward(x)), [3.0] * 3)


def test_identical_graphs_share_generated_code_by_structural_hash():
    from graphc._pipeline import _PROGRAMS

    def f(x):
        return (x * 3.5 + 1.25).tanh().sum(0)

    def g(x):  # another function, the same graph
        return (x * 3.5 + 1.25).tanh().sum(0)

    def h(x):  # a different constant: a different graph
        return (x * 3.25 + 1.25).tanh().sum(0)

    x = graphc.randn(5, 7)
    _PROGRAMS.clear()
    rf = graphc.compile(f).explain(x)
    rg = graphc.compile(g).explain(x)
    rh = graphc.compile(h).explain(x)
    assert "program cache hit" not in rf.timings
    assert "program cache hit" in rg.timings and rg._program is rf._program
    assert "program cache hit" not in rh.timings and rh._program is not rf._program
    np.testing.assert_allclose(graphc.compile(g)(x).numpy(), g(x).numpy(), rtol=1e-6)


def test_threads_calling_a_function_for_the_first_time_trace_it_once():
    import threading

    barrier = threading.Barrier(4, timeout=60)
    cf = graphc.compile(f3)
    a, b = graphc.randn(5, 3), graphc.randn(5, 3)
    expected = _arr(f3(a, b))
    results, errors = [], []

    def worker():
        try:
            barrier.wait()
            for _ in range(20):
                results.append(_arr(cf(a, b)))
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert len(results) == 80
    for r in results:
        np.testing.assert_allclose(r, expected, rtol=1e-6)
    info = cf.cache_info()
    assert info.traces == 1 and info.eager_calls == 0  # (hits are counted without a lock)
