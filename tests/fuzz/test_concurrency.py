"""Four threads at once: compiled calls (cache hits of one shared function), eager training
steps (the fused backward), compiled training steps, and tracing of fresh functions — every
result checked against the same work done alone beforehand (issue 11: a compiled function
called from 4 threads gave wrong values, eager training wrong gradients).

Kernels run in 64-element blocks over the thread pool, so concurrent callers also share the
pool. CI runs ``ROUNDS`` rounds per thread; ``GRAPHC_STRESS=N`` runs N times as many.
"""

from __future__ import annotations

import os
import threading

import numpy as np

import graphc
import graphc.nn as nn
import graphc.nn.functional as F
from backends.numpy import runtime as RT

THREADS = 4
ROUNDS = 12 * max(1, int(os.environ.get("GRAPHC_STRESS", "0") or 0))
TIMEOUT = 300


def _run_threads(target):
    errors, barrier = [], threading.Barrier(THREADS, timeout=TIMEOUT)

    def wrap(i):
        try:
            barrier.wait()
            target(i)
        except BaseException as e:  # noqa: BLE001 - re-raised in the main thread
            errors.append(e)

    threads = [threading.Thread(target=wrap, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
        assert not t.is_alive(), "a thread did not finish"
    if errors:
        raise errors[0]


def _mlp(seed):
    graphc.manual_seed(seed)
    return nn.Sequential(nn.Linear(12, 32), nn.Tanh(), nn.Linear(32, 32), nn.GELU(), nn.Linear(32, 3))


def _data(seed, n=16):
    rng = np.random.default_rng(seed)
    return graphc.tensor(rng.standard_normal((n, 12)).astype(np.float32)), graphc.tensor(rng.integers(0, 3, n))


def _train(model, steps, x, y, compiled):
    opt = graphc.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    run = graphc.compile(step) if compiled else step
    losses = [float(run(x, y).item()) for _ in range(steps)]
    return losses, [p.detach().numpy().copy() for p in model.parameters()]


def test_threads_share_compiled_functions_train_and_trace_at_once(monkeypatch):
    monkeypatch.setattr(RT, "BLOCK_ELEMS", 64)
    monkeypatch.setattr(RT, "PARALLEL_MIN_ELEMS", 0)

    @graphc.compile
    def shared(x, w):
        h = (x @ w).relu()
        return (h * h).sum(-1).sqrt() + h.softmax(-1).amax(-1)

    rng = np.random.default_rng(0)
    w = graphc.tensor(rng.standard_normal((12, 24)).astype(np.float32))
    xs = [graphc.tensor(rng.standard_normal((40, 12)).astype(np.float32)) for _ in range(THREADS)]

    def shared_ref(x):
        h = np.maximum(x.numpy().astype(np.float64) @ w.numpy().astype(np.float64), 0)
        e = np.exp(h - h.max(-1, keepdims=True))
        return np.sqrt((h * h).sum(-1)) + (e / e.sum(-1, keepdims=True)).max(-1)

    shared_refs = [shared_ref(x) for x in xs]
    for _ in range(2):  # warm-up and compile before the threads: their calls are cache hits
        shared(xs[0], w)

    # what each thread's training gives alone
    data = [_data(100 + i) for i in range(THREADS)]
    alone = {(i, c): _train(_mlp(i), 4, *data[i], compiled=c) for i in range(THREADS) for c in (False, True)}
    models = {(i, c): _mlp(i) for i in range(THREADS) for c in (False, True)}  # fresh copies for the threads

    def fresh_fn(i, r):
        scale = float(i * 100 + r + 1)  # a distinct constant: every call traces a new program
        return graphc.compile(lambda x: (x * scale).tanh().sum(0) - scale, warmup=False)

    @graphc.compile
    def racing(x):  # first called by all threads at once: warm-up and tracing race
        return (x.exp() - 1).mean(0) * 3

    racing_refs = [(np.exp(x.numpy().astype(np.float64)) - 1).mean(0) * 3 for x in xs]
    failures = []

    def work(i):
        for r in range(3):
            if not np.allclose(racing(xs[i]).numpy(), racing_refs[i], rtol=1e-5, atol=1e-6):
                failures.append(f"thread {i} call {r}: a function compiled by racing threads")
        for r in range(ROUNDS):
            out = shared(xs[i], w).numpy()
            if not np.allclose(out, shared_refs[i], rtol=1e-4, atol=1e-5):
                failures.append(f"thread {i} round {r}: shared compiled call")
            x = xs[i][: 8 + r % 4]
            scale = float(i * 100 + r + 1)
            got = fresh_fn(i, r)(x).numpy()
            want = np.tanh(x.numpy().astype(np.float64) * scale).sum(0) - scale
            if not np.allclose(got, want, rtol=1e-4, atol=1e-4):
                failures.append(f"thread {i} round {r}: freshly traced function")
        for compiled in (False, True):
            losses, params = _train(models[(i, compiled)], 4, *data[i], compiled=compiled)
            ref_losses, ref_params = alone[(i, compiled)]
            if not np.allclose(losses, ref_losses, rtol=1e-5, atol=1e-6) or not all(
                np.allclose(p, q, rtol=1e-5, atol=1e-6) for p, q in zip(params, ref_params)
            ):
                failures.append(f"thread {i}: {'compiled' if compiled else 'eager'} training differs from alone")

    _run_threads(work)
    assert not failures, "\n".join(failures[:20])
    assert racing.cache_info().entries == 1


def test_autograd_node_numbers_are_unique_across_threads():
    """GradNode._seq orders nodes for the in-place checks; threads recording ops at once must
    never share a number (``_SEQ[0] += 1`` could, under a thread switch between read and write)."""
    seqs = [[] for _ in range(THREADS)]

    def work(i):
        x = graphc.ones(4, requires_grad=True)
        for _ in range(2000):
            x = x * 1.0001
            seqs[i].append(x.grad_fn._seq)

    _run_threads(work)
    every = [s for per_thread in seqs for s in per_thread]
    assert len(set(every)) == len(every)
    assert all(a < b for per_thread in seqs for a, b in zip(per_thread, per_thread[1:]))
