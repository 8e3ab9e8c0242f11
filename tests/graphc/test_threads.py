"""Frontend state is per thread, as in PyTorch: the trace stack, grad mode and the
backward depth. Each test makes two threads overlap at a barrier while one of them is
inside the state under test, so a process-wide state would leak into the other."""

import threading

import numpy as np

import graphc

TIMEOUT = 60  # seconds; a barrier that times out fails the test instead of hanging it


def _run_in_threads(*targets):
    """Run each target in its own thread; re-raise the first exception any of them raised."""
    errors = []

    def wrap(fn):
        def run():
            try:
                fn()
            except BaseException as e:  # noqa: BLE001 - reported in the main thread
                errors.append(e)

        return run

    threads = [threading.Thread(target=wrap(fn)) for fn in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
        assert not t.is_alive(), "a thread did not finish"
    if errors:
        raise errors[0]


def _ops(graph):
    return sorted({n.op for n in graph.nodes if n.op not in ("input", "constant")})


def test_two_threads_trace_two_functions_at_once():
    barrier = threading.Barrier(2, timeout=TIMEOUT)

    def f(x):
        y = (x * 2.0).exp()
        barrier.wait()  # both traces are active here
        return y.sin() + 1.0

    def g(x):
        y = (x - 1.0).abs().log()
        barrier.wait()
        return y.cos() * 3.0

    xf = graphc.tensor([0.1, 0.5, -0.3])
    xg = graphc.tensor([2.0, -4.0, 0.25])
    out = {}
    cf, cg = graphc.compile(f, warmup=False), graphc.compile(g, warmup=False)
    _run_in_threads(lambda: out.update(f=(cf(xf), cf.explain(xf))), lambda: out.update(g=(cg(xg), cg.explain(xg))))

    (rf, report_f), (rg, report_g) = out["f"], out["g"]
    assert _ops(report_f.traced) == ["add", "exp", "mul", "sin"]
    assert _ops(report_g.traced) == ["abs", "cos", "log", "mul", "sub"]
    a, b = xf.numpy().astype(np.float64), xg.numpy().astype(np.float64)
    np.testing.assert_allclose(rf.numpy(), np.sin(np.exp(a * 2.0)) + 1.0, rtol=1e-6)
    np.testing.assert_allclose(rg.numpy(), np.cos(np.log(np.abs(b - 1.0))) * 3.0, rtol=1e-6)
    assert cf.cache_info().traces == 1 and cg.cache_info().traces == 1


def test_eager_ops_in_one_thread_while_another_traces():
    """Ops another thread runs while a trace is active are eager: real values, not tracers."""
    tracing, eager_done = threading.Barrier(2, timeout=TIMEOUT), threading.Barrier(2, timeout=TIMEOUT)

    def f(x):
        tracing.wait()
        eager_done.wait()  # hold the trace open until the other thread has computed
        return x + 1.0

    graphs, eager = [], []

    def trace():
        graphs.append(graphc.compiler.trace(f, graphc.ones(4)))

    def compute():
        tracing.wait()
        a = graphc.tensor([1.0, 2.0, 3.0])
        eager.append((a * a).sum().item())
        eager_done.wait()

    _run_in_threads(trace, compute)
    assert eager == [14.0]
    assert _ops(graphs[0]) == ["add"]


def test_no_grad_in_one_thread_does_not_affect_another():
    barrier = threading.Barrier(2, timeout=TIMEOUT)
    x = graphc.tensor([1.0, 2.0], requires_grad=True)
    seen = {}

    def without_grad():
        with graphc.no_grad():
            barrier.wait()  # the other thread computes while this one is in no_grad
            barrier.wait()
            seen["no_grad"] = ((x * 2).requires_grad, graphc.is_grad_enabled())

    def with_grad():
        barrier.wait()
        y = x * 2
        seen["grad"] = (y.requires_grad, graphc.is_grad_enabled(), y.grad_fn is not None)
        barrier.wait()

    _run_in_threads(without_grad, with_grad)
    assert seen["no_grad"] == (False, False)
    assert seen["grad"] == (True, True, True)


def test_backward_in_one_thread_does_not_tag_another_threads_trace():
    """While a backward runs in one thread, nodes traced in another are forward nodes."""
    barrier = threading.Barrier(2, timeout=TIMEOUT)
    x = graphc.tensor([0.5, 1.5], requires_grad=True)
    graphs = []

    def hook(g):
        barrier.wait()  # inside the backward pass
        barrier.wait()
        return g

    def run_backward():
        y = x.exp()
        y.register_hook(hook)
        y.sum().backward()

    def trace():
        barrier.wait()
        graphs.append(graphc.compiler.trace(lambda t: (t * 3.0).tanh(), graphc.ones(2)))
        barrier.wait()

    _run_in_threads(run_backward, trace)
    assert _ops(graphs[0]) == ["mul", "tanh"]
    assert all("phase" not in n.meta for n in graphs[0].nodes)
    np.testing.assert_allclose(x.grad.numpy(), np.exp([0.5, 1.5]), rtol=1e-6)
