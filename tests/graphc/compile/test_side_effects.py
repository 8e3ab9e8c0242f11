"""Python side effects inside a compiled function are never silently dropped.

Draws from ``random`` are replayed on every call (a discrete draw picks the trace, a
continuous one is a per-call graph input), so results and Python's generator follow
eager exactly. Side effects a replay cannot repeat (a clock, print, a file, numpy's
global generator, draws graphc cannot see) make the function run eagerly from the next
call on, with a warning naming the call and the user's line; ``fullgraph=True`` makes
that an error.
"""

from __future__ import annotations

import inspect
import logging
import os
import random
import time
import warnings
from random import random as unseen_random

import numpy as np
import pytest

import graphc


def _arr(t):
    return np.array(t.detach().numpy())


def _compile_warnings(caught):
    return [str(w.message) for w in caught if issubclass(w.category, graphc.CompileWarning)]


def _line_of(fn, marker: str) -> int:
    lines, first = inspect.getsourcelines(fn)
    return first + next(i for i, line in enumerate(lines) if marker in line)


def _run_both(fn, make_args, calls=5, seed=0):
    """Results of ``calls`` calls eagerly and compiled, from the same Python and graphc seeds."""
    out = []
    for compiled in (False, True):
        random.seed(seed)
        graphc.manual_seed(seed)
        f = graphc.compile(fn) if compiled else fn
        results = [_arr(f(*make_args())) for _ in range(calls)]
        out.append((results, random.random(), f))
    return out


# ----------------------------------------------------------------------------
# random: replayed


def scaled_by_a_draw(x):
    return x * random.uniform(0.5, 1.5) + random.random()


def test_continuous_draws_are_per_call_inputs():
    (eager, after_e, _), (compiled, after_c, f) = _run_both(scaled_by_a_draw, lambda: (graphc.ones(4),))
    for a, b in zip(compiled, eager):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert len({float(r[0]) for r in compiled}) == 5  # a fresh draw on every call
    assert after_c == after_e  # the generator advanced as in eager
    assert f.cache_info().traces == 1 and f.cache_info().hits == 4


def test_a_drawn_float_promotes_like_a_python_number():
    f = graphc.compile(lambda loss: loss * random.random())
    out = f(graphc.tensor(2.0))
    assert out.dtype == graphc.float32 and out.shape == ()
    out = f(graphc.tensor([1.0, 2.0], dtype=graphc.float64))
    assert out.dtype == graphc.float64


def pick_a_path(x):
    k = random.choice([1, 2, 3])
    for _ in range(k):
        x = x * 2
    return x + random.randint(0, 3)


def test_discrete_draws_pick_the_trace():
    (eager, after_e, _), (compiled, after_c, f) = _run_both(pick_a_path, lambda: (graphc.ones(2),), calls=20)
    for a, b in zip(compiled, eager):
        np.testing.assert_allclose(a, b)
    assert after_c == after_e
    info = f.cache_info()
    assert info.eager_calls == 0 and info.traces <= 8 and info.hits == 20 - info.traces


def branch_on_a_draw(x):
    if random.random() < 0.5:  # DRAW USED IN PYTHON
        return x * 2
    return x


def test_a_draw_used_in_python_falls_back_with_a_warning():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (eager, after_e, _), (compiled, after_c, f) = _run_both(branch_on_a_draw, lambda: (graphc.ones(2),))
    for a, b in zip(compiled, eager):
        np.testing.assert_allclose(a, b)
    assert after_c == after_e
    messages = _compile_warnings(caught)
    assert len(messages) == 1, messages
    assert f"{os.path.basename(__file__)}:{_line_of(branch_on_a_draw, 'DRAW USED')}" in messages[0]
    assert f.cache_info().eager_calls == 5 and f.cache_info().traces == 0


# ----------------------------------------------------------------------------
# side effects a replay cannot repeat


def reads_the_clock(x):
    t = time.perf_counter()  # CLOCK
    return x * 2 if t > 0 else x


def draws_unseen(x):
    return x * unseen_random()  # UNSEEN


def draws_numpy(x):
    return x * float(np.random.rand())  # NUMPY


def shuffles(x):
    order = [0, 1, 2]
    random.shuffle(order)  # SHUFFLE
    return x[order[0]]


_user_log = logging.getLogger("user.training")


def logs_a_line(x):
    _user_log.warning("step")  # LOG
    return x - 1


CASES = {
    "logging": (logs_a_line, "LOG", "logging (logger 'user.training')"),
    "clock": (reads_the_clock, "CLOCK", "time.perf_counter()"),
    "unseen": (draws_unseen, None, "could not see"),
    "numpy": (draws_numpy, None, "numpy's global random generator"),
    "shuffle": (shuffles, "SHUFFLE", "random.shuffle()"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_side_effects_run_eagerly_after_a_faithful_first_call(case):
    fn, marker, what = CASES[case]
    results = []
    for compiled in (False, True):
        random.seed(1)
        np.random.seed(1)
        f = graphc.compile(fn) if compiled else fn
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            results.append([_arr(f(graphc.arange(3.0))) for _ in range(4)])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b)
    messages = _compile_warnings(caught)
    assert len(messages) == 1 and what in messages[0], messages
    if marker:
        assert f"{os.path.basename(__file__)}:{_line_of(fn, marker)}" in messages[0]
    info = f.cache_info()
    assert info.traces == 1 and info.eager_calls == 3 and info.entries == 0
    assert any(what in r for r in info.eager_reasons)


def prints(x):
    y = x * 2
    print("y is", y, [y.sum()])  # PRINT
    return y


def test_print_shows_values_on_every_call(capsys):
    f = graphc.compile(prints)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for i in range(3):
            f(graphc.full((2,), float(i)))
    compiled_out = capsys.readouterr().out
    for i in range(3):
        prints(graphc.full((2,), float(i)))
    assert compiled_out == capsys.readouterr().out  # tensors printed with their values, each call
    assert "Tracer" not in compiled_out
    messages = _compile_warnings(caught)
    assert len(messages) == 1 and f"{os.path.basename(__file__)}:{_line_of(prints, 'PRINT')}" in messages[0]


def test_fullgraph_turns_a_fallback_into_an_error():
    f = graphc.compile(reads_the_clock, fullgraph=True)
    with pytest.raises(graphc.UnsupportedError, match="perf_counter"):
        f(graphc.ones(2))
    g = graphc.compile(branch_on_a_draw, fullgraph=True)
    with pytest.raises(graphc.UnsupportedError, match="random draw"):
        g(graphc.ones(2))


def test_opening_a_file_falls_back(tmp_path):
    path = tmp_path / "log.txt"

    def logs(x):
        with open(path, "a") as fh:
            fh.write("call\n")
        return x + 1

    f = graphc.compile(logs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            np.testing.assert_allclose(_arr(f(graphc.ones(2))), [2.0, 2.0])
    assert path.read_text() == "call\n" * 3  # once per call, as eagerly
    assert any("open()" in m for m in _compile_warnings(caught))


def test_side_effects_in_other_threads_are_not_recorded():
    """Only the tracing thread's calls count: another thread may print or draw meanwhile."""
    import threading

    stop = threading.Event()

    def noisy():
        while not stop.is_set():
            random.random()
            time.perf_counter()

    t = threading.Thread(target=noisy)
    t.start()
    try:
        f = graphc.compile(lambda x: x * 3)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for _ in range(3):
                f(graphc.ones(2))
    finally:
        stop.set()
        t.join()
    # the other thread moves Python's generator, which the trace cannot tell from its own
    # unseen draws; it must not have recorded the calls themselves
    assert not any("perf_counter" in m for m in _compile_warnings(caught))


def test_fullgraph_turns_every_kind_of_fallback_into_an_error():
    kept = []
    w64 = graphc.ones(2, dtype=graphc.float64, requires_grad=True)
    w32 = graphc.ones(2, requires_grad=True)

    def keeps(x):
        kept.append(x * 2)
        return x

    cases = {
        "state every call": (keeps, lambda i: (graphc.ones(2),), "on every call"),
        "autograd": (lambda x: (x * w32, x.double() * w64), lambda i: (graphc.ones(2),), "different dtypes"),
        "recompile limit": (lambda x, n: x * n, lambda i: (graphc.ones(2), i), "recompiled"),
        "dynamic dimension": (lambda x: x * 2, lambda i: (graphc.ones(i + 1),), "sizes of dimension 0"),
    }
    for name, (fn, make, message) in cases.items():
        f = graphc.compile(fn, fullgraph=True)
        with pytest.raises(graphc.UnsupportedError, match=message):
            for i in range(20):
                f(*make(i))
