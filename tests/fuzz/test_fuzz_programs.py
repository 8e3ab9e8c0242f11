"""Differential fuzzing: random programs eager, compiled and against a float64 numpy reference.

Every program (:mod:`tests.fuzz.programs`) runs

* eagerly in graphc (float32, or float64 for some), with the fused eager backward in
  ``strict`` mode (a failure of the fused path raises instead of quietly falling back) and
  again op by op;
* under ``@graphc.compile``, three calls with fresh data (the eager warm-up, the call that
  traces and compiles, a replay with tiny blocks over the thread pool), the backward inside
  the compiled function or outside it (through the compiled call's autograd node);
* as numpy float64 (the reference): outputs, the final values of inputs it writes, and
  central-difference gradients of a weighted sum of the outputs.

CI runs a fixed (derandomized) set: 600 gradient programs, 300 mutation programs and 100
training steps (tests/fuzz/test_fuzz_training.py), 1,000 in all. For a longer hunt with new
programs every run: ``GRAPHC_FUZZ=20 pytest tests/fuzz`` (20 times as many, random seeds).
"""

from __future__ import annotations

import contextlib
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

import graphc
import graphc.nn.functional as F
from backends.numpy import runtime as RT

from . import reference as R
from .programs import Gen

LONG = int(os.environ.get("GRAPHC_FUZZ", "0") or 0)
SETTINGS = settings(
    deadline=None,
    derandomize=not LONG,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture
    ],
)
N_GRAD = int(os.environ.get("GRAPHC_FUZZ_EXAMPLES", 0) or 600 * max(LONG, 1))
N_MUTATE = int(os.environ.get("GRAPHC_FUZZ_EXAMPLES", 0) or 300 * max(LONG, 1))

# graphc (float32 or float64) against the float64 reference: relative, and absolute scaled
# by the largest reference value of that output; eager against compiled: fusion reorders.
REF_TOL = {"float32": (2e-3, 2e-4), "float64": (1e-7, 1e-9)}
GRAD_TOL = {"float32": (5e-3, 5e-4), "float64": (1e-5, 1e-7)}
PAIR_TOL = {"float32": (2e-4, 2e-5), "float64": (1e-9, 1e-11)}


def _close(got, want, tol, what, program):
    rtol, atol = tol
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, expected {want.shape}\n{program!r}"
    finite = want[np.isfinite(want)]
    scale = max(1.0, float(np.abs(finite).max())) if finite.size else 1.0
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol * scale, equal_nan=True, err_msg=f"{what}\n{program!r}")


@contextlib.contextmanager
def tiny_blocks():
    """Blocks of 2 elements spread over the thread pool: the blocked code paths run at small sizes."""
    saved = RT.BLOCK_ELEMS, RT.PARALLEL_MIN_ELEMS
    RT.BLOCK_ELEMS, RT.PARALLEL_MIN_ELEMS = 2, 0
    try:
        yield
    finally:
        RT.BLOCK_ELEMS, RT.PARALLEL_MIN_ELEMS = saved


class Runner:
    """Builds a program's graphc function, its numpy reference and its data."""

    def __init__(self, program):
        self.program = program
        self.dtype = getattr(graphc, program.dtype)
        ns = {"graphc": graphc, "F": F, "C": [graphc.tensor(c) for c in program.consts]}
        exec(compile(program.graphc_source(), "<fuzz program>", "exec"), ns)
        self.fn = ns["prog"]
        rns = {"np": np, "R": R, "C": program.consts}
        exec(compile(program.numpy_source(), "<fuzz reference>", "exec"), rns)
        self.ref = rns["ref"]

    def arrays(self, seed):
        """Input values, rounded to the program's dtype (the reference reads the same numbers)."""
        rng = np.random.default_rng(seed)
        np_dtype = np.dtype(self.program.dtype)
        return [rng.standard_normal(shape).astype(np_dtype).astype(np.float64) for _, shape in self.program.inputs]

    def tensors(self, arrays):
        grad = self.program.mode == "grad"
        return [graphc.tensor(a, dtype=self.dtype, requires_grad=grad) for a in arrays]

    def reference(self, arrays):
        with np.errstate(all="ignore"):
            return self.ref(*[a.copy() for a in arrays])


def _loss(outs, weights):
    total = None
    for o, w in zip(outs, weights):
        term = (o * w).sum()
        total = term if total is None else total + term
    return total


def _numpy(ts):
    return [None if t is None else t.detach().numpy().astype(np.float64) for t in ts]


def check_grad_program(program, inside: bool, monkeypatch):
    run = Runner(program)
    p = program
    base = run.arrays(0)
    ref_outs = run.reference(base)
    wrng = np.random.default_rng(1)
    w_arrays = [wrng.standard_normal(np.shape(o)) for o in ref_outs]
    weights = [graphc.tensor(w, dtype=run.dtype) for w in w_arrays]

    # eager, fused backward in strict mode, then op by op
    monkeypatch.setenv("GRAPHC_FUSED_BACKWARD", "strict")
    xs = run.tensors(base)
    outs = run.fn(*xs)
    _loss(outs, weights).backward()
    eager_outs, eager_grads = _numpy(outs), _numpy([x.grad for x in xs])
    monkeypatch.setenv("GRAPHC_FUSED_BACKWARD", "0")
    xs2 = run.tensors(base)
    _loss(run.fn(*xs2), weights).backward()
    for i, (a, b) in enumerate(zip(eager_grads, _numpy([x.grad for x in xs2]))):
        assert (a is None) == (b is None), f"grad {i}: fused {a}, op by op {b}\n{p!r}"
        if a is not None:
            _close(a, b, PAIR_TOL[p.dtype], f"grad {i}: fused backward vs op by op", p)
    monkeypatch.setenv("GRAPHC_FUSED_BACKWARD", "strict")

    # against the float64 reference: outputs, then gradients where differences are derivatives
    for i, (o, r) in enumerate(zip(eager_outs, ref_outs)):
        _close(o, r, REF_TOL[p.dtype], f"output {i} vs float64 reference", p)
    fd, stable = R.fd_gradients(
        lambda arrs: sum(float((o * w).sum()) for o, w in zip(run.reference(arrs), w_arrays)), [a.copy() for a in base]
    )
    for i, (g, f, ok) in enumerate(zip(eager_grads, fd, stable)):
        g = np.zeros_like(f) if g is None else g
        _close(np.where(ok, g, 0), np.where(ok, f, 0), GRAD_TOL[p.dtype], f"grad {i} vs finite differences", p)

    # compiled: warm-up, compile, replay (tiny blocks)
    if inside:
        def step(*xs):
            outs = run.fn(*xs)
            _loss(outs, weights).backward()
            return [o.detach() for o in outs], [x.grad for x in xs]
        compiled = graphc.compile(step)
    else:
        compiled = graphc.compile(run.fn)
    for call, seed in enumerate((0, 2, 3)):
        arrays = run.arrays(seed)
        xs_e, xs_c = run.tensors(arrays), run.tensors(arrays)
        outs_e = run.fn(*xs_e)
        _loss(outs_e, weights).backward()
        with tiny_blocks() if call == 2 else contextlib.nullcontext():
            if inside:
                outs_c, _ = compiled(*xs_c)
            else:
                outs_c = compiled(*xs_c)
                _loss(outs_c, weights).backward()
        for i, (a, b) in enumerate(zip(_numpy(outs_e), _numpy(outs_c))):
            _close(b, a, PAIR_TOL[p.dtype], f"call {call}: compiled output {i} vs eager", p)
        for i, (a, b) in enumerate(zip(_numpy([x.grad for x in xs_e]), _numpy([x.grad for x in xs_c]))):
            assert (a is None) == (b is None), f"call {call}: grad {i} is {b}, eager {a}\n{p!r}"
            if a is not None:
                _close(b, a, PAIR_TOL[p.dtype], f"call {call}: compiled grad {i} vs eager", p)
        assert all(x.is_leaf for x in xs_c), f"call {call}: an input stopped being a leaf\n{p!r}"
    info = compiled.cache_info()
    assert info.traces == 1, f"{info}\n{p!r}"


def check_mutate_program(program):
    run = Runner(program)
    p = program
    for call, seed in enumerate((0, 2, 3)):
        arrays = run.arrays(seed)
        if call == 0:
            ref_inputs = [a.copy() for a in arrays]
            with np.errstate(all="ignore"):
                ref_outs = run.ref(*ref_inputs)
            xs = run.tensors(arrays)
            outs = run.fn(*xs)
            for i, (o, r) in enumerate(zip(_numpy(outs), ref_outs)):
                _close(o, r, REF_TOL[p.dtype], f"output {i} vs float64 reference", p)
            for i, (x, r) in enumerate(zip(_numpy(xs), ref_inputs)):
                _close(x, r, REF_TOL[p.dtype], f"input {i} after the program vs float64 reference", p)
            compiled = graphc.compile(run.fn)
        xs_e, xs_c = run.tensors(arrays), run.tensors(arrays)
        outs_e = run.fn(*xs_e)
        with tiny_blocks() if call == 2 else contextlib.nullcontext():
            outs_c = compiled(*xs_c)
        for i, (a, b) in enumerate(zip(_numpy(outs_e), _numpy(outs_c))):
            _close(b, a, PAIR_TOL[p.dtype], f"call {call}: compiled output {i} vs eager", p)
        for i, (a, b) in enumerate(zip(_numpy(xs_e), _numpy(xs_c))):
            _close(b, a, PAIR_TOL[p.dtype], f"call {call}: input {i} after the compiled call vs eager", p)
    assert compiled.cache_info().traces == 1, f"{compiled.cache_info()}\n{p!r}"


def _dtype(data):
    return data.draw(st.sampled_from(["float32", "float32", "float32", "float64"]), label="dtype")


@pytest.mark.filterwarnings("error::UserWarning")
@settings(SETTINGS, max_examples=N_GRAD)
@given(data=st.data())
def test_fuzz_forward_and_gradients(data, monkeypatch):
    inside = data.draw(st.booleans(), label="backward inside the compiled function")
    # autograd through a compiled call takes one differentiable output (else the call runs eagerly)
    program = Gen(data, "grad", _dtype(data)).program(max_outputs=2 if inside else 1)
    note(f"backward inside: {inside}; program:{program!r}")
    check_grad_program(program, inside, monkeypatch)


@pytest.mark.filterwarnings("error::UserWarning")
@settings(SETTINGS, max_examples=N_MUTATE)
@given(data=st.data())
def test_fuzz_views_and_mutations(data):
    program = Gen(data, "mutate", _dtype(data)).program()
    note(f"program:{program!r}")
    check_mutate_program(program)
