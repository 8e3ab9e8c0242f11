"""The ``clamp``/``hardtanh`` rows: numpy's clip ufunc computes them in one pass, and these tests
pin what its documentation leaves open -- that a value tying a bound (``-0.0`` against a bound of
``+0.0``) and a NaN come out as the value itself, as in PyTorch's clamp -- against an element-by-
element Python reference; then the frontend (``clamp``, ``clamp_min``/``max``, ``clip``,
``hardtanh``, ``relu6``, ``nan_to_num``) eager and compiled, values to the bit and gradients; and
``leaky_relu``'s one-pass form against PyTorch's select."""

import math

import numpy as np
import pytest

import graphc
import graphc.nn.functional as F
from ir.ops import npmath

_SPECIAL = [-7.0, -6.0, -1.0, -0.5, -0.0, 0.0, 0.5, 1.0, 6.0, 7.0, math.nan, math.inf, -math.inf]


def _clamp_ref(v: float, lo: float, hi: float) -> float:
    """PyTorch's clamp for one value: min(max(v, lo), hi), v itself on a tie, NaN kept."""
    if v < lo:
        v = lo
    if v > hi:
        v = hi
    return v


def _bits(a):
    a = np.asarray(a)
    return a.view(np.dtype(f"u{a.itemsize}"))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("n", [13, 1000, 70001])
@pytest.mark.parametrize("lo, hi", [(0.0, 6.0), (-0.0, 1.0), (-1.0, -0.0), (-1.0, 0.0), (2.0, 1.0), (-math.inf, 0.5)])
def test_numpy_clip_keeps_the_value_on_ties_and_nan(dtype, n, lo, hi):
    rng = np.random.default_rng(n)
    x = rng.choice(np.array(_SPECIAL + list(rng.standard_normal(20) * 4)), n).astype(dtype)
    got = npmath.clamp(x, np.asarray(lo, dtype), np.asarray(hi, dtype))
    want = np.array([_clamp_ref(float(v), float(dtype(lo)), float(dtype(hi))) for v in x], dtype=dtype)
    assert got.dtype == x.dtype
    np.testing.assert_array_equal(_bits(got), _bits(want))


def test_integers_clamp_exactly():
    x = np.arange(-50, 50, dtype=np.int32)
    np.testing.assert_array_equal(npmath.clamp(x, np.int32(-3), np.int32(7)), np.minimum(np.maximum(x, -3), 7))


def _grad_ref(x, lo, hi, strict):
    """clamp_backward passes where lo <= x <= hi (never at NaN); hardtanh_backward strictly
    inside and at NaN."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        if strict:
            return np.where((x <= lo) | (x >= hi), 0.0, 1.0)
        return np.where((x >= lo) & (x <= hi), 1.0, 0.0)


_FRONTEND = [
    ("clamp", lambda t: t.clamp(0.0, 1.0), 0.0, 1.0, False, "ClampBackward1"),
    ("clamp_min", lambda t: t.clamp_min(-0.0), -0.0, math.inf, False, "ClampMinBackward0"),
    ("clamp_max", lambda t: graphc.clamp(t, max=0.0), -math.inf, 0.0, False, "ClampMaxBackward0"),
    ("clip", lambda t: graphc.clip(t, -1, 6), -1.0, 6.0, False, "ClampBackward1"),
    ("hardtanh", lambda t: F.hardtanh(t), -1.0, 1.0, True, "HardtanhBackward0"),
    ("relu6", lambda t: F.relu6(t), 0.0, 6.0, True, "HardtanhBackward0"),
    ("hardtanh -0", lambda t: F.hardtanh(t, -1.0, -0.0), -1.0, -0.0, True, "HardtanhBackward0"),
]


@pytest.mark.parametrize("name, fn, lo, hi, strict, grad_fn", _FRONTEND, ids=[c[0] for c in _FRONTEND])
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_frontend_values_gradients_and_names(name, fn, lo, hi, strict, grad_fn, dtype):
    x = graphc.tensor(_SPECIAL, dtype=getattr(graphc, dtype), requires_grad=True)
    y = fn(x)
    assert y.grad_fn.name() == grad_fn
    y.backward(graphc.ones_like(y))
    xs = x.detach().float().numpy()
    want = np.array([_clamp_ref(float(v), lo, hi) for v in xs], dtype=np.float32)
    np.testing.assert_array_equal(_bits(y.detach().float().numpy()), _bits(want))
    np.testing.assert_array_equal(x.grad.float().numpy(), _grad_ref(xs, lo, hi, strict))


@pytest.mark.parametrize("name, fn, lo, hi, strict, grad_fn", _FRONTEND, ids=[c[0] for c in _FRONTEND])
def test_compiled_matches_eager(name, fn, lo, hi, strict, grad_fn):
    rng = np.random.default_rng(1)
    data = np.concatenate([np.array(_SPECIAL, np.float32), rng.standard_normal(5000).astype(np.float32) * 3])

    def step(t):
        y = fn(t)
        y.backward(graphc.ones_like(y))
        return y.detach()

    eager_x = graphc.tensor(data, requires_grad=True)
    want = step(eager_x)
    compiled_x = graphc.tensor(data, requires_grad=True)
    got = graphc.compile(step)(compiled_x)
    np.testing.assert_array_equal(_bits(got.numpy()), _bits(want.numpy()))
    np.testing.assert_array_equal(compiled_x.grad.numpy(), eager_x.grad.numpy())


def test_bounds_the_row_does_not_take_keep_the_composite():
    x = graphc.tensor([-2.0, 0.5, 3.0, math.nan], requires_grad=True)
    lo = graphc.tensor(0.0, requires_grad=True)
    y = x.clamp(min=lo, max=1.0)  # a tensor bound: differentiable, the where composite
    assert y.grad_fn.name() == "ClampBackward0"
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0, 0.0, 0.0])
    assert lo.grad.item() == 1.0
    i = graphc.arange(-3, 4)
    np.testing.assert_array_equal(i.clamp(-1, 2).numpy(), np.clip(np.arange(-3, 4), -1, 2))
    assert i.clamp(-1, 2).dtype == graphc.int64
    with pytest.raises(RuntimeError, match="At least one of 'min' or 'max'"):
        x.clamp()


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
@pytest.mark.parametrize(
    "kw", [{}, {"nan": 1.5}, {"posinf": 2.0}, {"neginf": -1e300}, {"nan": math.inf}, {"nan": -2.0, "posinf": 1.0, "neginf": 3.0}]
)
def test_nan_to_num(dtype, kw):
    """NaN -> nan, +inf -> posinf (else the dtype's largest value), -inf -> neginf (else its
    lowest), each from the input itself (nan=inf gives inf); the gradient passes where x is
    finite (PyTorch's ``grad * isfinite(x)``)."""
    d = getattr(graphc, dtype)
    x = graphc.tensor(_SPECIAL + [1e5, -3e38], dtype=d, requires_grad=True)
    y = graphc.nan_to_num(x, **kw)
    y.backward(graphc.ones_like(y))
    xs = x.detach().float().numpy().astype(np.float64)
    big = float(graphc.finfo(d).max)

    def stored(v):  # a replacement value as the dtype stores it
        return float(graphc.tensor([v], dtype=d).float().numpy()[0])

    repl = {"nan": stored(kw.get("nan", 0.0)), "pos": stored(kw.get("posinf", big)), "neg": stored(kw.get("neginf", -big))}
    want = np.where(np.isnan(xs), repl["nan"], np.where(xs == math.inf, repl["pos"], np.where(xs == -math.inf, repl["neg"], xs)))
    np.testing.assert_array_equal(y.detach().float().numpy(), want.astype(np.float32))
    np.testing.assert_array_equal(x.grad.float().numpy(), np.isfinite(xs).astype(np.float32))
    assert y.grad_fn.name() == "NanToNumBackward0"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("slope", [0.01, 0.2, 0.999, 1.0, 1.5, 0.0, -0.3, math.nan])
def test_leaky_relu_row_is_the_select(dtype, slope):
    """``maximum(x, x * slope)`` (the one-pass form for a slope in (0, 1]) against PyTorch's
    ``where(x > 0, x, x * slope)`` bit for bit: signed zeros, subnormals, infinities, NaN."""
    rng = np.random.default_rng(7)
    tiny = np.finfo(dtype).smallest_subnormal
    x = rng.choice(np.array(_SPECIAL + [tiny, -tiny] + list(rng.standard_normal(50))), 20000).astype(dtype)
    s = np.asarray(slope, dtype=dtype)
    with np.errstate(invalid="ignore"):
        want = np.where(x > 0, x, x * s)
        got = npmath.leaky_relu(x, s)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    keep = ~np.isnan(want)
    np.testing.assert_array_equal(_bits(got[keep]), _bits(want[keep]))
