"""Data-dependent Python on a tracer raises ``graphc.TracingError`` naming the op,
pointing at the user's line and saying what to do instead.

``graphc.compiler.trace`` traces at once, so it raises at once; so does a compiled
function, whose first call traces (as torch.compile's and jax.jit's do). Both
paths are checked.
"""

from __future__ import annotations

import inspect
import os
import warnings

import numpy as np
import pytest

import graphc

ADVICE = ("graphc.where", "non-tensor argument", "out of the compiled function")


def branch_on_sum(x):
    if x.sum() > 0:  # BAD
        return x * 2
    return x


def uses_item(x):
    return x * x.sum().item()  # BAD


def uses_tolist(x):
    return graphc.tensor(x.tolist())  # BAD


def uses_numpy(x):
    return graphc.from_numpy(x.numpy() * 2)  # BAD


def uses_bool(x):
    return x + 1 if bool((x > 0).all()) else x  # BAD


def uses_float(x):
    return x / float(x.max())  # BAD


def uses_int_index(x):
    return x[int(x.argmax())]  # BAD


def helper(t):
    return t.mean().item()  # BAD (in a helper)


def calls_helper(x):
    return x - helper(x)


CASES = {
    "if": (branch_on_sum, "bool()"),
    "item": (uses_item, "item()"),
    "tolist": (uses_tolist, "tolist()"),
    "numpy": (uses_numpy, "numpy()"),
    "bool": (uses_bool, "bool()"),
    "float": (uses_float, "float()"),
    "int": (uses_int_index, "int()"),
    "helper": (calls_helper, "item()"),
}


def bad_line(fn) -> int:
    """The line number of the line marked ``# BAD`` in ``fn`` (or in the helper it calls)."""
    target = helper if fn is calls_helper else fn
    lines, first = inspect.getsourcelines(target)
    for i, line in enumerate(lines):
        if "# BAD" in line:
            return first + i
    raise AssertionError(f"no # BAD line in {target.__name__}")


def check_message(err: graphc.TracingError, fn, op: str):
    msg = str(err)
    assert op in msg, msg
    assert f"{os.path.basename(__file__)}:{bad_line(fn)}" in msg, msg
    assert any(a in msg for a in ADVICE), msg
    assert "tracer" in msg


@pytest.mark.parametrize("case", sorted(CASES))
def test_graphc_trace_raises_at_once(case):
    fn, op = CASES[case]
    with pytest.raises(graphc.TracingError) as info:
        graphc.compiler.trace(fn, graphc.randn(4).abs() + 0.1)
    check_message(info.value, fn, op)
    assert isinstance(info.value, RuntimeError)  # as PyTorch's errors are


@pytest.mark.parametrize("case", sorted(CASES))
def test_compiled_function_raises_when_it_traces(case):
    fn, op = CASES[case]
    cf = graphc.compile(fn)
    x = graphc.randn(4).abs() + 0.1
    for _ in range(2):  # the first call traces, and so does the next (nothing half-compiled is cached)
        with pytest.raises(graphc.TracingError) as info:
            cf(x)
        check_message(info.value, fn, op)
    assert cf.cache_info().traces == 0 and cf.cache_info().entries == 0


@pytest.mark.parametrize("case", ["if", "item"])
def test_opt_in_warmup_runs_the_first_call_eagerly(case):
    fn, op = CASES[case]
    cf = graphc.compile(fn, warmup=True)
    x = graphc.randn(4).abs() + 0.1
    np.testing.assert_allclose(cf(x).numpy(), fn(x).numpy())  # eager: no error yet
    with pytest.raises(graphc.TracingError) as info:
        cf(x)
    check_message(info.value, fn, op)


def test_if_on_a_tensor_says_what_calls_bool():
    with pytest.raises(graphc.TracingError, match="if, while"):
        graphc.compiler.trace(branch_on_sum, graphc.ones(3))


def test_where_instead_of_if_compiles():
    def fixed(x):
        return graphc.where(x.sum() > 0, x * 2, x)

    cf = graphc.compile(fixed)
    for sign in (1.0, -1.0, 1.0):
        x = graphc.ones(3) * sign
        np.testing.assert_allclose(cf(x).numpy(), branch_on_sum(x).numpy())
    assert cf.cache_info().traces == 1


def test_values_of_lifted_tensors_read_while_tracing_are_guarded():
    """``.item()`` on a real (closure) tensor works while tracing; the value is baked
    into the graph, so a replay checks it is unchanged and retraces if not."""
    scale = graphc.tensor(2.0)
    mask = graphc.tensor([True, False, True])

    @graphc.compile
    def f(x):
        return x[mask] * scale.item()

    x = graphc.ones(3)
    for _ in range(3):
        np.testing.assert_allclose(f(x).numpy(), [2.0, 2.0])
    scale.fill_(3.0)
    np.testing.assert_allclose(f(x).numpy(), [3.0, 3.0])
    mask[1] = True
    np.testing.assert_allclose(f(x).numpy(), [3.0, 3.0, 3.0])
    assert f.cache_info().traces == 3


def test_a_tensor_kept_from_inside_holds_eager_values_and_repeated_keeping_runs_eagerly():
    """A tensor the function keeps in Python state is made real with the value eager
    computes (never a leftover tracer); a function that keeps one on every call cannot
    be replayed (the replay would not append), so it runs eagerly, with a warning."""
    kept = []

    @graphc.compile
    def f(x):
        y = x * 2
        kept.append(y)  # a tracer escapes while tracing
        return y + 1

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for i in range(4):
            x = graphc.full((3,), float(i))
            np.testing.assert_allclose(f(x).numpy(), [2.0 * i + 1] * 3)
    assert len(kept) == 4
    for i, t in enumerate(kept):
        np.testing.assert_allclose((t + 1).numpy(), [2.0 * i + 1] * 3)  # real tensors with eager's values
    messages = [str(w.message) for w in caught if issubclass(w.category, graphc.CompileWarning)]
    assert len(messages) == 1 and "on every call" in messages[0] and "kept" in messages[0], messages
    assert f.cache_info().eager_calls == 2 and f.cache_info().entries == 0


def test_a_failed_trace_leaves_no_tracer_behind():
    kept = []

    @graphc.compile
    def f(x):
        kept.append(x * 2)  # a tracer escapes, then the trace fails
        if x.sum() > 0:
            return x
        return -x

    with pytest.raises(graphc.TracingError):
        f(graphc.ones(3))
    assert kept == []  # the failed trace's Python state is undone (graphc._compiler._abandon)
    f.__wrapped__(graphc.ones(3))  # the user's eager call starts from eager's state
    assert kept[-1].tolist() == [2.0, 2.0, 2.0]


def test_a_tracer_kept_where_the_undo_cannot_reach_is_a_clear_error():
    kept = set()

    @graphc.compile
    def f(x):
        kept.add(x * 2)  # a set: neither journaled nor scrubbed
        if x.sum() > 0:
            return x
        return -x

    with pytest.raises(graphc.TracingError):
        f(graphc.ones(3))
    with pytest.raises(graphc.TracingError, match="escaped") as info:
        next(iter(kept)) + 1
    assert os.path.basename(__file__) in str(info.value)


def test_fullgraph_raises_on_the_first_call():
    @graphc.compile(fullgraph=True)
    def f(x):
        if x.sum() > 0:  # data-dependent control flow
            return x * 2
        return x

    with pytest.raises(graphc.TracingError, match="bool"):
        f(graphc.ones(3))
