"""Changing shapes cost bounded time and memory, and a cache entry keeps nothing of the call
that traced it alive.

* A last batch that is smaller than the others costs one trace, not one per epoch.
* A dimension that takes a new size on every call is traced a few times, then calls with
  new sizes run eagerly (a log line and one warning say so) while traced sizes replay;
  memory stays flat over thousands of sizes (so does the opt-in warm-up's memory).
* The argument tensors of the traced call die with the caller's references (a 16 MiB
  argument used to survive ``del``).
"""

from __future__ import annotations

import gc
import logging
import tracemalloc
import warnings
import weakref

import numpy as np
import pytest

import graphc
from graphc import _compiler


def test_a_smaller_last_batch_costs_one_trace_not_one_per_epoch():
    graphc.manual_seed(0)
    model = graphc.nn.Linear(4, 3)
    opt = graphc.optim.SGD(model.parameters(), lr=0.1)

    @graphc.compile
    def step(x, y):
        opt.zero_grad()
        loss = graphc.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.detach()

    for _epoch in range(4):
        for b in (16, 16, 16, 5):
            step(graphc.randn(b, 4), graphc.randint(0, 3, (b,)))
    info = step.cache_info()
    assert info.traces == 2 and info.entries == 2 and info.eager_calls == 0 and info.hits == 14


def test_a_dimension_that_keeps_changing_stops_being_traced(caplog):
    caplog.set_level(logging.INFO, logger="graphc.compile")
    f = graphc.compile(lambda x: (x * 2).relu().sum(0))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for n in range(1, 60):
            x = graphc.randn(n, 3)
            np.testing.assert_allclose(f(x).numpy(), np.maximum(x.numpy() * 2, 0).sum(0), rtol=1e-5)
    info = f.cache_info()
    assert info.traces == _compiler.DYNAMIC_DIM_LIMIT
    assert info.entries <= _compiler.CACHE_SIZE_LIMIT
    assert info.eager_calls == 59 - info.traces
    assert any("dimension 0 of tensor argument 0" in r for r in info.eager_reasons)
    messages = [str(w.message) for w in caught if issubclass(w.category, graphc.CompileWarning)]
    assert len(messages) == 1 and "dimension 0 of tensor argument 0" in messages[0]
    assert any("dimension 0" in r.getMessage() for r in caplog.records)
    before = info.hits
    f(graphc.randn(2, 3))  # a size traced before the limit still replays
    assert f.cache_info().hits == before + 1


@pytest.mark.filterwarnings("ignore::graphc.CompileWarning")
@pytest.mark.parametrize("warmup", [False, True])
def test_memory_stays_flat_over_thousands_of_shapes(warmup):
    f = graphc.compile(lambda x: x + 1, warmup=warmup)
    for n in range(1, 200):
        f(graphc.ones(n))
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for n in range(200, 3200):
            f(graphc.ones(n))
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    growth = sum(s.size_diff for s in after.compare_to(before, "filename"))
    # Unbounded, this grows ~1 KiB a shape (3 MiB here); the eager dispatcher's per-signature
    # cache (graphc._dispatch, at most _SIGNATURE_LIMIT entries of ~1 KiB) is the bounded rest.
    assert growth < 1536 * 1024, f"{growth / 1024:.0f} KiB more after 3000 shapes"
    assert len(f._warm) <= _compiler.WARM_LIMIT


@pytest.mark.parametrize("requires_grad", [False, True])
def test_the_traced_calls_arguments_are_not_kept_alive(requires_grad):
    w = graphc.ones(4, requires_grad=True)
    f = graphc.compile(lambda x: (x * 2).sum() * w.sum())
    x = graphc.ones(4 << 20, requires_grad=requires_grad)  # 16 MiB
    ref = weakref.ref(x)
    for _ in range(2):
        out = f(x)
        if requires_grad:
            out.backward()
    del x, out
    gc.collect()
    assert ref() is None
    assert f.cache_info().entries == 1


def test_a_training_steps_batch_is_not_kept_alive():
    model = graphc.nn.Linear(8, 2)
    opt = graphc.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    @graphc.compile
    def step(x):
        opt.zero_grad()
        model(x).square().mean().backward()
        opt.step()

    refs = []
    for _ in range(4):
        x = graphc.randn(1 << 16, 8)
        refs.append(weakref.ref(x))
        step(x)
        del x
    gc.collect()
    assert all(r() is None for r in refs)
