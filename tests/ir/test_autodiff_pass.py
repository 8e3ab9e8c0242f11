"""The autodiff graph pass ``ir.passes.autodiff.grad_graph`` on hand-built graphs.

Every graph here is built node by node with ``ir.Graph``, differentiated with
``grad_graph`` and run with the numpy interpreter; gradients are compared with
float64 central differences of the same forward graph (an independent
reference: it only evaluates the forward ops). The table ``CASES`` holds one
small graph per differentiable primitive of ``ir.ops.OPS``, and a test checks
that the table and the rule table cover every such primitive.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from backends.numpy import interpret
from ir import Graph
from ir import dtypes as dt
from ir.errors import AutogradError
from ir.ops import OPS
from ir.passes import autodiff
from ir.passes.autodiff import grad_graph

F64 = dt.float64
EPS = 1e-6


# ----------------------------------------------------------------------------
# helpers


def _weighted_loss(g: Graph, out, rng, mask=None):
    """sum(out * W) with a fixed random W, so every output element matters (the real part of
    it, with a complex W, for complex outputs); ``mask`` zeroes the weights of outputs a case
    leaves out."""
    w = rng.standard_normal(out.shape)
    if out.dtype.is_complex:
        w = w + 1j * rng.standard_normal(out.shape)
    if mask is not None:
        w = w * mask
    prod = g.add("mul", [out, g.add_constant(w, out.dtype)])
    if out.dtype.is_complex:
        prod = g.add("real", [prod])
    return g.add("sum", [prod], axes=tuple(range(len(out.shape))), keepdim=False)


def _run(g: Graph, outputs, values):
    g.outputs = list(outputs)
    return interpret(g, values)


def _fd_grad(g: Graph, loss, values, k):
    """Central differences of scalar ``loss`` in the entries of input ``k``."""
    base = [np.array(v, dtype=np.float64, copy=True) for v in values]
    grad = np.zeros_like(base[k])
    flat = grad.reshape(-1)
    for i in range(base[k].size):
        idx = np.unravel_index(i, base[k].shape) if base[k].ndim else ()
        orig = base[k][idx]
        base[k][idx] = orig + EPS
        plus = float(_run(g, [loss], base)[0])
        base[k][idx] = orig - EPS
        minus = float(_run(g, [loss], base)[0])
        base[k][idx] = orig
        flat[i] = (plus - minus) / (2 * EPS)
    return grad


def _check_graph(g: Graph, loss, values, wrt_idx=None, atol=1e-6, rtol=1e-5):
    """grad_graph's gradients of ``loss`` equal finite differences, input by input."""
    wrt_idx = list(range(len(values))) if wrt_idx is None else wrt_idx
    wrt = [g.inputs[k] for k in wrt_idx]
    grads = grad_graph(g, [loss], wrt)
    for w, gn in zip(wrt, grads):
        assert tuple(gn.shape) == tuple(w.shape), f"gradient of {w} has shape {gn.shape}"
        assert gn.dtype is w.dtype
    analytic = _run(g, grads, values)
    for k, a in zip(wrt_idx, analytic):
        numeric = _fd_grad(g, loss, values, k)
        np.testing.assert_allclose(a, numeric, atol=atol, rtol=rtol, err_msg=f"input {k}")
    return analytic


# ----------------------------------------------------------------------------
# one small graph per differentiable primitive
#
# Each builder takes (g, rng) and returns (out, values): the op's node (inputs
# already added as graph inputs) and the numpy values of those inputs. Values
# stay away from kinks (abs/relu at 0, ties of max/min, remainder's jumps).


def _inputs(g, rng, *specs):
    nodes, values = [], []
    for shape, lo, hi in specs:
        v = rng.uniform(lo, hi, size=shape)
        nodes.append(g.add_input(shape, F64))
        values.append(v)
    return nodes, values


def _away_from_zero(rng, shape, lo=0.3, hi=1.5):
    return rng.uniform(lo, hi, size=shape) * rng.choice([-1.0, 1.0], size=shape)


UNARY_DOMAIN = {
    "log": (0.2, 2.0),
    "log2": (0.2, 2.0),
    "sqrt": (0.2, 2.0),
    "rsqrt": (0.2, 2.0),
    "asin": (-0.8, 0.8),
    "acos": (-0.8, 0.8),
    "atanh": (-0.8, 0.8),
    "log1p": (-0.5, 2.0),
    "tan": (-1.0, 1.0),
    "acosh": (1.2, 3.0),
    "entr": (0.2, 2.0),
    "erfinv": (-0.8, 0.8),
    "ndtri": (0.1, 0.9),
    "lgamma": (0.3, 3.0),
    "digamma": (0.3, 3.0),
    "frexp_mantissa": (0.55, 0.95),
}


def _unary_case(name):
    def build(g, rng):
        if name in ("abs", "relu", "reciprocal", "sign", "floor", "ceil", "round", "trunc"):
            # Away from 0 (the kink of abs/relu) and from integers and halves (the jumps).
            x = g.add_input((2, 3), F64)
            return g.add(name, [x]), [np.array([[0.3, -0.7, 1.2], [-1.4, 2.2, -2.6]])]
        lo, hi = UNARY_DOMAIN.get(name, (-1.5, 1.5))
        (x,), vals = _inputs(g, rng, ((2, 3), lo, hi))
        return g.add(name, [x]), vals

    return build


def _binary_case(name, lo_a=-1.5, hi_a=1.5, lo_b=-1.5, hi_b=1.5):
    def build(g, rng):
        # (2, 3) with (3,) broadcasts the second input: its gradient is summed back.
        (a, b), vals = _inputs(g, rng, ((2, 3), lo_a, hi_a), ((3,), lo_b, hi_b))
        return g.add(name, [a, b]), vals

    return build


def _binary_both_broadcast(name):
    def build(g, rng):
        (a, b), vals = _inputs(g, rng, ((2, 1), -1.5, 1.5), ((1, 3), -1.5, 1.5))
        return g.add(name, [a, b]), vals

    return build


def _case_div(g, rng):
    a = g.add_input((2, 3), F64)
    b = g.add_input((3,), F64)
    return g.add("div", [a, b]), [rng.uniform(-1, 1, (2, 3)), _away_from_zero(rng, (3,))]


def _case_floor_divide(g, rng):
    # away from the jumps (multiples of y): a zero gradient, as PyTorch's div(rounding_mode='floor')
    a = g.add_input((2, 3), F64)
    b = g.add_input((3,), F64)
    va = np.array([[0.4, 4.2, -0.7], [-1.3, 1.1, 3.3]])
    vb = np.array([2.5, 3.5, -2.5])
    return g.add("floor_divide", [a, b]), [va, vb]


def _case_fmod(g, rng):
    # x far from the jumps of fmod (nonzero multiples of y), both signs.
    a = g.add_input((2, 3), F64)
    b = g.add_input((3,), F64)
    va = np.array([[0.4, 4.2, -0.7], [-1.3, 1.1, -3.3]])
    vb = np.array([2.5, 3.5, -2.5])
    return g.add("fmod", [a, b]), [va, vb]


def _case_remainder(g, rng):
    # x far from the jumps of remainder (multiples of y).
    a = g.add_input((2, 3), F64)
    b = g.add_input((3,), F64)
    va = np.array([[0.4, 4.2, -0.7], [-1.3, 1.1, 3.3]])
    vb = np.array([2.5, 3.5, -2.5])
    return g.add("remainder", [a, b]), [va, vb]


def _case_minmax(name):
    def build(g, rng):
        a = g.add_input((2, 3), F64)
        b = g.add_input((3,), F64)
        va = np.array([[0.1, 0.9, -0.4], [0.7, -0.8, 0.3]])
        vb = np.array([0.5, 0.2, -0.1])  # no ties
        return g.add(name, [a, b]), [va, vb]

    return build


def _case_where(g, rng):
    c = g.add_constant(np.array([[True, False, True], [False, False, True]]), dt.bool_)
    (a, b), vals = _inputs(g, rng, ((2, 3), -1, 1), ((3,), -1, 1))
    return g.add("where", [c, a, b]), vals


def _case_clamp(name):
    def build(g, rng):
        x = g.add_input((2, 4), F64)
        vx = np.array([[-1.3, -0.2, 0.15, 0.9], [1.7, -0.6, 0.45, 2.2]])  # below, inside, above; no ties
        return g.add(name, [x, g.add_constant(-0.5, F64), g.add_constant(1.0, F64)]), [vx]

    return build


def _case_leaky_relu(g, rng):
    x = g.add_input((2, 4), F64)
    vx = np.array([[-1.3, -0.2, 0.15, 0.9], [1.7, -0.6, 0.45, -2.2]])  # both sides, away from the kink
    return g.add("leaky_relu", [x, g.add_constant(0.1, F64)]), [vx]


def _case_fma(g, rng):
    (a, b, c), vals = _inputs(g, rng, ((2, 3), -1, 1), ((3,), -1, 1), ((2, 1), -1, 1))  # all three broadcast
    return g.add("fma", [a, b, c]), vals


def _case_cast(g, rng):
    # f64 -> f64 here (finite differences through float32 would be too coarse);
    # test_cast_gradient_returns_in_the_source_dtype covers f64 <-> f32.
    (x,), vals = _inputs(g, rng, ((2, 3), -1, 1))
    return g.add("cast", [x], dtype=F64), vals


def _case_reduce(name, axes, keepdim):
    def build(g, rng):
        x = g.add_input((2, 3, 2), F64)
        v = rng.permutation(np.linspace(0.3, 1.7, 12)).reshape(2, 3, 2)  # distinct: no ties
        return g.add(name, [x], axes=axes, keepdim=keepdim), [v]

    return build


def _case_cumsum(g, rng):
    (x,), vals = _inputs(g, rng, ((2, 4), -1, 1))
    return g.add("cumsum", [x], axis=1), vals


def _case_scan(name, lo=-1, hi=1):
    def build(g, rng):
        (x,), vals = _inputs(g, rng, ((2, 4), lo, hi))
        return g.add(name, [x], axis=1), vals

    return build


def _case_cumprod_zeros(g, rng):
    x = g.add_input((2, 5), F64)
    v = np.array([[0.5, 0.0, 1.3, -0.7, 0.0], [1.1, -0.4, 0.8, 0.0, 2.0]])  # zeros: first, second and last
    return g.add("cumprod", [x], axis=1), [v]


def _case_scatter_reduce(reduce):
    def build(g, rng):
        idx = g.add_constant(np.array([[0, 2, 0], [1, 1, 3]]), dt.int64)
        (x, src), _ = _inputs(g, rng, ((2, 4), -1, 1), ((2, 3), -1, 1))
        vx = np.array([[0.3, -0.8, 1.2, 0.5], [0.0, 0.9, -0.6, 1.4]])  # distinct; one zero (prod)
        vs = np.array([[1.1, -0.2, 0.7], [-1.3, 0.45, 0.0]])
        return g.add("scatter_reduce", [x, idx, src], axis=1, reduce=reduce), [vx, vs]

    return build


def _case_unfold(g, rng):
    (x,), vals = _inputs(g, rng, ((3, 7), -1, 1))
    return g.add("unfold", [x], dim=1, size=3, step=2), vals


def _case_as_strided(g, rng):
    (x,), vals = _inputs(g, rng, ((3, 4), -1, 1))
    return g.add("as_strided", [x], size=(3, 3), stride=(3, 1), offset=1, in_offset=0), vals  # overlapping windows


def _case_diagonal(g, rng):
    (x,), vals = _inputs(g, rng, ((3, 2, 4), -1, 1))
    return g.add("diagonal", [x], offset=1, dim1=2, dim2=0), vals


def _case_reshape(g, rng):
    (x,), vals = _inputs(g, rng, ((2, 6), -1, 1))
    return g.add("reshape", [x], shape=(3, 2, 2)), vals


def _case_permute(g, rng):
    (x,), vals = _inputs(g, rng, ((2, 3, 4), -1, 1))
    return g.add("permute", [x], dims=(2, 0, 1)), vals


def _case_expand(g, rng):
    (x,), vals = _inputs(g, rng, ((3, 1), -1, 1))
    return g.add("expand", [x], shape=(2, 3, 4)), vals


def _case_slice(g, rng):
    (x,), vals = _inputs(g, rng, ((5, 7), -1, 1))
    # rows 1..4 with step 2, columns reversed from 5 down to 0 with step -2.
    return g.add("slice", [x], starts=(1, 5), stops=(5, -1), steps=(2, -2)), vals


def _case_pad(g, rng):
    (x,), vals = _inputs(g, rng, ((3, 4), -1, 1))
    # pad dim 0 by (1, 2), crop dim 1 by (-1, 0): negative pads crop.
    return g.add("pad", [x], pads=((1, 2), (-1, 0)), value=0.5), vals


def _case_matmul(g, rng):
    # batched (2, 3, 4) @ (4, 5): the second operand's gradient sums over the batch.
    (a, b), vals = _inputs(g, rng, ((2, 3, 4), -1, 1), ((4, 5), -1, 1))
    return g.add("matmul", [a, b]), vals


def _index_const(g, value):
    return g.add_constant(np.array(value, dtype=np.int64), dt.int64)


def _case_gather(g, rng):
    (x,), vals = _inputs(g, rng, ((3, 4), -1, 1))
    idx = _index_const(g, [[0, 3, 3], [1, 1, 0]])  # repeats: scatter_add must accumulate
    return g.add("gather", [x, idx], axis=1), vals


def _case_scatter_add(g, rng):
    (x, src), vals = _inputs(g, rng, ((3, 4), -1, 1), ((2, 4), -1, 1))
    idx = _index_const(g, [[0, 2, 2, 1], [2, 2, 0, 0]])
    return g.add("scatter_add", [x, idx, src], axis=0), vals


def _case_index_select(g, rng):
    (x,), vals = _inputs(g, rng, ((4, 3), -1, 1))
    idx = _index_const(g, [[3, 0], [3, 2]])  # 2-d index with repeats (rows refuse negative indices)
    return g.add("index_select", [x, idx], axis=0), vals


def _case_index_add(g, rng):
    (x, src), vals = _inputs(g, rng, ((3, 4), -1, 1), ((3, 3), -1, 1))
    idx = _index_const(g, [1, 1, 3])
    return g.add("index_add", [x, idx, src], axis=1), vals


def _case_index_copy(g, rng):
    (x, src), vals = _inputs(g, rng, ((4, 3), -1, 1), ((2, 3), -1, 1))
    idx = _index_const(g, [2, 0])
    return g.add("index_copy", [x, idx, src], axis=0), vals


def _case_concat(g, rng):
    (a, b, c), vals = _inputs(g, rng, ((2, 1), -1, 1), ((2, 3), -1, 1), ((2, 2), -1, 1))
    return g.add("concat", [a, b, c], axis=1), vals


def _case_all_reduce_start(g, rng):
    # Over the one-process group "self" the reduction is the identity, so finite differences apply.
    (a,), vals = _inputs(g, rng, ((2, 3), -1, 1))
    return g.add("all_reduce_start", [a], reduce_op="sum", group="self"), vals


def _case_all_reduce_wait(g, rng):
    (a,), vals = _inputs(g, rng, ((4,), -1, 1))
    s = g.add("all_reduce_start", [a], reduce_op="avg", group="self")
    return g.add("all_reduce_wait", [s], reduce_op="avg", group="self"), vals


def _case_order_first(name, order, lo, hi):
    """Rows whose first input is an order (polygamma's n, zeta's s, igamma's a): a constant, as the
    frontend passes it; the gradient is checked in the second input."""

    def build(g, rng):
        first = g.add_constant(np.asarray(order, dtype=np.float64), F64)
        (x,), vals = _inputs(g, rng, ((2, 3), lo, hi))
        return g.add(name, [first, x]), vals

    return build


def _square_input(g, rng, shape=(2, 3, 3), spd=False):
    """A well-conditioned batch of matrices as a graph input (symmetric positive-definite when
    ``spd``; the rule then sees a symmetric perturbation through A + A^T)."""
    m = rng.uniform(-1, 1, shape) + 2.5 * np.eye(shape[-1])
    a = g.add_input(shape, F64)
    if not spd:
        return a, [m]
    sym = g.add("add", [a, g.add("permute", [a], dims=tuple(range(len(shape) - 2)) + (len(shape) - 1, len(shape) - 2))])
    return sym, [m @ m.swapaxes(-1, -2)]


def _linalg_case(name, **attrs):
    def build(g, rng):
        if name in ("linalg_qr", "linalg_svd"):  # rectangular: tall, or a wide batch
            shape = (2, 3, 5) if attrs.get("wide") else (4, 3)
            a = g.add_input(shape, F64)
            vals = [rng.uniform(-1, 1, shape) + np.eye(*shape[-2:]) * 2]
        else:
            a, vals = _square_input(g, rng, spd=name in ("linalg_cholesky", "linalg_eigh"))
        if name in ("linalg_solve", "linalg_solve_triangular"):
            b = g.add_input((3, 2), F64)
            vals = vals + [rng.uniform(-1, 1, (3, 2))]
            return g.add(name, [a, b], **{k: v for k, v in attrs.items() if k != "wide"}), vals
        return g.add(name, [a], **{k: v for k, v in attrs.items() if k != "wide"}), vals

    return build


def _case_eig(g, rng):
    """Eigenvalues only: eigenvectors of a real matrix carry LAPACK's phase convention, which a
    weighted sum of them is not invariant to (graphc's tests check them with invariant losses)."""
    a, vals = _square_input(g, rng)
    out = g.add("linalg_eig", [a])
    mask = np.zeros(out.shape)
    mask[..., 0, :] = 1
    return out, vals, mask


def _fft_case(name, **attrs):
    """Transforms on complex(x, y) (or a real x for r2c), so finite differences in real inputs see
    the adjoint rules; c2r ignores the imaginary parts of its self-conjugate bins, as numpy does."""

    def build(g, rng):
        (x, y), vals = _inputs(g, rng, ((2, 3), -1, 1), ((2, 3), -1, 1))
        if name == "fft_r2c":
            return g.add(name, [x], **attrs), vals
        return g.add(name, [g.add("complex", [x, y])], **attrs), vals

    return build


def _complex_case(name):
    """Complex rows on z = complex(x, y) of real graph inputs (away from 0, angle's kink): finite
    differences in x and y check PyTorch's convention of the row's rule through complex's."""

    def build(g, rng):
        (x, y), vals = _inputs(g, rng, ((2, 3), 0.3, 1.5), ((2, 3), -1.5, 1.5))
        z = g.add("complex", [x, y])
        return (z if name == "complex" else g.add(name, [z])), vals

    return build


def _case_check_range(g, rng):
    """A value check passes its input (and its gradient) through unchanged."""
    (x,), vals = _inputs(g, rng, ((2, 3), 0.1, 0.9))
    return g.add("check_range", [x], low=0.0, high=1.0, message="m"), vals


def _case_windows(name):
    """im2col on a (1, 2, 5, 6) image, col2im on its (1, 2, 6, 2, 5) windows: 2x3 taps, stride
    (2, 1), dilation (1, 2) (overlapping windows, so col2im sums)."""
    geometry = {"kernel": (2, 3), "stride": (2, 1), "dilation": (1, 2)}

    def build(g, rng):
        if name == "im2col":
            (x,), vals = _inputs(g, rng, ((1, 2, 5, 6), -1, 1))
            return g.add("im2col", [x], **geometry), vals
        (x,), vals = _inputs(g, rng, ((1, 2, 6, 2, 2), -1, 1))
        return g.add("col2im", [x], size=(5, 6), **geometry), vals

    return build


CASES = {
    "check_range": _case_check_range,
    "im2col": _case_windows("im2col"),
    "col2im": _case_windows("col2im"),
    **{n: _complex_case(n) for n in ["real", "imag", "conj", "angle", "complex"]},
    "fft_c2c": _fft_case("fft_c2c", axis=1, inverse=True, scale="sqrt"),
    "fft_r2c": _fft_case("fft_r2c", axis=1, onesided=True, scale="n"),
    "fft_c2r": _fft_case("fft_c2r", axis=1, n=4, scale="none"),
    "linalg_cholesky": _linalg_case("linalg_cholesky", check=True),
    "linalg_solve_triangular": _linalg_case("linalg_solve_triangular", upper=False, left=True, unitriangular=False),
    "linalg_solve": _linalg_case("linalg_solve", check=True),
    "linalg_inv": _linalg_case("linalg_inv", check=True),
    "linalg_det": _linalg_case("linalg_det"),
    "linalg_slogdet": _linalg_case("linalg_slogdet"),
    "linalg_qr": _linalg_case("linalg_qr", mode="reduced"),
    "linalg_eigh": _linalg_case("linalg_eigh", upper=False),
    "linalg_eig": _case_eig,
    "linalg_svd": _linalg_case("linalg_svd", full_matrices=False, wide=True),
    "linalg_lu_factor": _linalg_case("linalg_lu_factor", check=True),
    "linalg_matrix_exp": _linalg_case("linalg_matrix_exp"),
    **{n: _unary_case(n) for n in ["neg", "abs", "relu", "copy", "sign", "floor", "ceil", "round", "trunc"]},
    **{
        n: _unary_case(n)
        for n in (
            "exp exp2 log log2 sqrt rsqrt sin cos tan tanh sigmoid erf log1p expm1 reciprocal asin acos atan sinh cosh atanh"
        ).split()
    },
    "add": _binary_both_broadcast("add"),
    "sub": _binary_both_broadcast("sub"),
    "mul": _binary_both_broadcast("mul"),
    "div": _case_div,
    "pow": _binary_case("pow", 0.3, 2.0, -1.5, 2.0),
    "atan2": _binary_case("atan2", -1, 1, 0.3, 1.5),
    "logaddexp": _binary_case("logaddexp", -2, 2, -2, 2),
    "hypot": _binary_case("hypot", 0.3, 1.5, -1.5, -0.3),
    "maximum": _case_minmax("maximum"),
    **{n: _unary_case(n) for n in (
        "asinh acosh sinc entr erfc erfcx erfinv ndtr ndtri log_ndtr lgamma digamma i0 i0e i1 i1e frexp_mantissa"
    ).split()},
    "xlogy": _binary_case("xlogy", -1.5, 1.5, 0.3, 2.0),
    "xlog1py": _binary_case("xlog1py", -1.5, 1.5, -0.5, 2.0),
    "logaddexp2": _binary_case("logaddexp2", -2, 2, -2, 2),
    "copysign": _binary_case("copysign", 0.3, 1.5, -1.5, -0.3),
    "nextafter": _binary_case("nextafter"),  # one ulp from x: the identity in x, as PyTorch
    "polygamma": _case_order_first("polygamma", 2.0, 0.3, 3.0),
    "zeta": _case_order_first("zeta", 3.0, 0.5, 2.0),
    "igamma": _case_order_first("igamma", [0.7, 1.5, 3.0], 0.3, 3.0),
    "igammac": _case_order_first("igammac", [0.7, 1.5, 3.0], 0.3, 3.0),
    "minimum": _case_minmax("minimum"),
    "remainder": _case_remainder,
    "fmod": _case_fmod,
    "floor_divide": _case_floor_divide,
    "where": _case_where,
    "clamp": _case_clamp("clamp"),
    "leaky_relu": _case_leaky_relu,
    "hardtanh": _case_clamp("hardtanh"),
    "fma": _case_fma,
    "cast": _case_cast,
    "sum": _case_reduce("sum", (0, 2), False),
    "nansum": _case_reduce("nansum", (1,), True),
    "prod": _case_reduce("prod", (1,), True),
    "amax": _case_reduce("amax", (1,), False),
    "amin": _case_reduce("amin", (0, 2), True),
    "cumsum": _case_cumsum,
    "cumprod": _case_cumprod_zeros,
    "logcumsumexp": _case_scan("logcumsumexp", -3, 3),
    "scatter_reduce": _case_scatter_reduce("prod"),
    "unfold": _case_unfold,
    "as_strided": _case_as_strided,
    "diagonal": _case_diagonal,
    "reshape": _case_reshape,
    "permute": _case_permute,
    "expand": _case_expand,
    "slice": _case_slice,
    "pad": _case_pad,
    "matmul": _case_matmul,
    "gather": _case_gather,
    "scatter_add": _case_scatter_add,
    "index_select": _case_index_select,
    "index_add": _case_index_add,
    "index_copy": _case_index_copy,
    "concat": _case_concat,
    "all_reduce_start": _case_all_reduce_start,
    "all_reduce_wait": _case_all_reduce_wait,
}

DIFFERENTIABLE = sorted(n for n, op in OPS.items() if op.differentiable and op.kind != "source")


def test_every_differentiable_op_has_a_rule_and_a_case():
    missing_rules = [n for n in DIFFERENTIABLE if OPS[n].grad is None]
    assert missing_rules == [], f"differentiable ops without a gradient rule: {missing_rules}"
    missing_cases = [n for n in DIFFERENTIABLE if n not in CASES]
    assert missing_cases == [], f"differentiable ops without a test case here: {missing_cases}"


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_rule_matches_finite_differences(name):
    rng = np.random.default_rng(sum(map(ord, name)))
    g = Graph(name)
    out, values, *mask = CASES[name](g, rng)
    assert out.op == name
    loss = _weighted_loss(g, out, rng, *mask)
    _check_graph(g, loss, values)


def test_missing_rule_raises_naming_the_op(monkeypatch):
    g = Graph()
    x = g.add_input((3,), F64)
    y = g.add("tanh", [x])
    loss = g.add("sum", [y], axes=(0,), keepdim=False)
    monkeypatch.setitem(OPS, "tanh", dataclasses.replace(OPS["tanh"], grad=None))
    with pytest.raises(AutogradError, match="'tanh'"):
        grad_graph(g, [loss], [x])


def test_missing_rule_error_mentions_the_rule_file():
    err = autodiff.missing_rule("frobnicate")
    assert isinstance(err, RuntimeError)
    assert "frobnicate" in str(err) and "autodiff" in str(err)


# ----------------------------------------------------------------------------
# the pass's contract


def test_max_ties_share_the_gradient_evenly():
    g = Graph()
    x = g.add_input((2, 3), F64)
    m = g.add("amax", [x], axes=(1,), keepdim=False)
    loss = g.add("sum", [m], axes=(0,), keepdim=False)
    (gx,) = grad_graph(g, [loss], [x])
    (val,) = _run(g, [gx], [np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])])
    np.testing.assert_allclose(val, [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])


def test_maximum_tie_splits_half_half():
    g = Graph()
    a = g.add_input((3,), F64)
    b = g.add_input((3,), F64)
    m = g.add("maximum", [a, b])
    loss = g.add("sum", [m], axes=(0,), keepdim=False)
    ga, gb = grad_graph(g, [loss], [a, b])
    va, vb = _run(g, [ga, gb], [np.array([1.0, 2.0, 5.0]), np.array([1.0, 3.0, 4.0])])
    np.testing.assert_allclose(va, [0.5, 0, 1])
    np.testing.assert_allclose(vb, [0.5, 1, 0])


def test_prod_with_zeros():
    # d/dx_i prod(x) = prod of the others: with one zero only that entry has a gradient,
    # with two zeros every gradient is 0.
    g = Graph()
    x = g.add_input((2, 3), F64)
    p = g.add("prod", [x], axes=(1,), keepdim=False)
    loss = g.add("sum", [p], axes=(0,), keepdim=False)
    (gx,) = grad_graph(g, [loss], [x])
    (val,) = _run(g, [gx], [np.array([[2.0, 0.0, 3.0], [0.0, 4.0, 0.0]])])
    np.testing.assert_allclose(val, [[0, 6, 0], [0, 0, 0]])


def test_gradient_of_non_scalar_output_with_grad_outputs():
    g = Graph()
    x = g.add_input((2, 3), F64)
    y = g.add("mul", [x, x])
    v = g.add_input((2, 3), F64)
    (gx,) = grad_graph(g, [y], [x], grad_outputs=[v])
    xv = np.arange(6.0).reshape(2, 3)
    vv = np.full((2, 3), 0.5) + np.arange(6).reshape(2, 3)
    (val,) = _run(g, [gx], [xv, vv])
    np.testing.assert_allclose(val, 2 * xv * vv)


def test_non_scalar_output_without_grad_outputs_raises():
    g = Graph()
    x = g.add_input((2, 3), F64)
    y = g.add("exp", [x])
    with pytest.raises(AutogradError, match="scalar"):
        grad_graph(g, [y], [x])


def test_several_outputs_add_their_gradients():
    g = Graph()
    x = g.add_input((3,), F64)
    s1 = g.add("sum", [g.add("exp", [x])], axes=(0,), keepdim=False)
    s2 = g.add("sum", [g.add("mul", [x, x])], axes=(0,), keepdim=False)
    (gx,) = grad_graph(g, [s1, s2], [x])
    xv = np.array([0.1, -0.5, 1.2])
    (val,) = _run(g, [gx], [xv])
    np.testing.assert_allclose(val, np.exp(xv) + 2 * xv)


def test_unused_input_gets_zeros_and_intermediate_wrt():
    g = Graph()
    x = g.add_input((2,), F64)
    unused = g.add_input((3,), F64)
    h = g.add("sin", [x])
    loss = g.add("sum", [g.add("mul", [h, h])], axes=(0,), keepdim=False)
    gx, gu, gh = grad_graph(g, [loss], [x, unused, h])
    xv = np.array([0.3, -1.1])
    vx, vu, vh = _run(g, [gx, gu, gh], [xv, np.ones(3)])
    np.testing.assert_allclose(vu, np.zeros(3))
    np.testing.assert_allclose(vh, 2 * np.sin(xv))
    np.testing.assert_allclose(vx, 2 * np.sin(xv) * np.cos(xv))


def test_integer_and_bool_paths_carry_no_gradient():
    # loss = sum(x * cast(cast(x, int64), f64)) + sum(where(x > 0, x, 0)):
    # the round trip through int64 is a constant for autodiff (as in PyTorch).
    g = Graph()
    x = g.add_input((4,), F64)
    xi = g.add("cast", [x], dtype=dt.int64)
    xf = g.add("cast", [xi], dtype=F64)
    t1 = g.add("mul", [x, xf])
    pos = g.add("gt", [x, g.add_constant(0.0, F64)])
    t2 = g.add("where", [pos, x, g.add_constant(0.0, F64)])
    loss = g.add("sum", [g.add("add", [t1, t2])], axes=(0,), keepdim=False)
    (gx,) = grad_graph(g, [loss], [x])
    xv = np.array([1.5, -2.5, 3.25, 0.5])
    (val,) = _run(g, [gx], [xv])
    np.testing.assert_allclose(val, np.trunc(xv) + (xv > 0))


def test_cast_gradient_returns_in_the_source_dtype():
    g = Graph()
    x = g.add_input((3,), F64)
    y = g.add("cast", [x], dtype=dt.float32)
    w = g.add_constant(np.array([0.5, -2.0, 3.0]), dt.float32)
    loss = g.add("sum", [g.add("mul", [y, w])], axes=(0,), keepdim=False)
    (gx,) = grad_graph(g, [loss], [x])
    assert gx.dtype is F64
    (val,) = _run(g, [gx], [np.array([1.0, 2.0, 3.0])])
    assert val.dtype == np.float64
    np.testing.assert_array_equal(val, [0.5, -2.0, 3.0])


def test_loss_in_float32_gradient_in_float32():
    g = Graph()
    x = g.add_input((3,), dt.float32)
    loss = g.add("sum", [g.add("mul", [x, x])], axes=(0,), keepdim=False)
    (gx,) = grad_graph(g, [loss], [x])
    assert gx.dtype is dt.float32
    (val,) = _run(g, [gx], [np.array([1.0, 2.0, -3.0], dtype=np.float32)])
    assert val.dtype == np.float32
    np.testing.assert_allclose(val, [2.0, 4.0, -6.0])


def test_backward_nodes_are_ordinary_primitives_and_hash_is_stable():
    def build():
        g = Graph()
        x = g.add_input((2, 3), F64)
        w = g.add_input((3, 4), F64)
        h = g.add("tanh", [g.add("matmul", [x, w])])
        loss = g.add("sum", [h], axes=(0, 1), keepdim=False)
        n_fwd = len(g.nodes)
        grads = grad_graph(g, [loss], [x, w])
        g.outputs = [loss, *grads]
        return g, n_fwd

    g1, n_fwd = build()
    g2, _ = build()
    assert len(g1.nodes) > n_fwd
    assert all(n.op in OPS for n in g1.nodes)
    assert g1.structural_hash() == g2.structural_hash()
    # The forward part is untouched: the pass only appends.
    assert [n.op for n in g1.nodes[:n_fwd]] == ["input", "input", "matmul", "tanh", "sum"]


def test_composite_graph_softmax_cross_entropy():
    # A two-layer MLP with a log-softmax cross-entropy, written with primitives only.
    rng = np.random.default_rng(0)
    g = Graph("mlp")
    x = g.add_input((4, 3), F64)
    w1 = g.add_input((3, 5), F64)
    b1 = g.add_input((5,), F64)
    w2 = g.add_input((5, 3), F64)
    h = g.add("relu", [g.add("add", [g.add("matmul", [x, w1]), b1])])
    logits = g.add("matmul", [h, w2])
    m = g.add("amax", [logits], axes=(1,), keepdim=True)
    shifted = g.add("sub", [logits, m])
    lse = g.add("log", [g.add("sum", [g.add("exp", [shifted])], axes=(1,), keepdim=True)])
    logp = g.add("sub", [shifted, lse])
    target = g.add_constant(np.array([[0], [2], [1], [2]]), dt.int64)
    picked = g.add("gather", [logp, target], axis=1)
    loss = g.add("mul", [g.add("sum", [picked], axes=(0, 1), keepdim=False), g.add_constant(-0.25, F64)])
    values = [rng.standard_normal(s) for s in [(4, 3), (3, 5), (5,), (5, 3)]]
    _check_graph(g, loss, values)


# ----------------------------------------------------------------------------
# second order: differentiate the backward graph again


SECOND_ORDER = ["tanh", "sigmoid", "exp", "log", "sqrt", "mul", "div", "pow", "matmul", "amax", "prod", "sin", "atan2",
                "lgamma", "digamma", "polygamma", "erfinv", "sinc", "i0e", "xlogy"]


@pytest.mark.parametrize("name", SECOND_ORDER)
def test_hessian_vector_product_of_the_backward_graph(name):
    rng = np.random.default_rng(sum(map(ord, name)) + 7)
    g = Graph(name)
    out, values = CASES[name](g, rng)
    loss = _weighted_loss(g, out, rng)
    # Square the loss so second derivatives are non-zero even for bilinear ops.
    loss = g.add("mul", [loss, loss])
    wrt = list(g.inputs)
    grads = grad_graph(g, [loss], wrt)
    vs = [rng.standard_normal(w.shape) for w in wrt]
    # hvp = d/dx <grad(x), v>
    dot = None
    for gn, v in zip(grads, vs):
        term = g.add(
            "sum", [g.add("mul", [gn, g.add_constant(v, F64)])], axes=tuple(range(len(v.shape))), keepdim=False
        )
        dot = term if dot is None else g.add("add", [dot, term])
    hvps = grad_graph(g, [dot], wrt)
    analytic = _run(g, hvps, values)
    # Reference: central differences of the (first-order) gradient along v.
    eps = 1e-5
    plus = _run(g, grads, [x + eps * v for x, v in zip(values, vs)])
    minus = _run(g, grads, [x - eps * v for x, v in zip(values, vs)])
    for a, p, m in zip(analytic, plus, minus):
        np.testing.assert_allclose(a, (p - m) / (2 * eps), rtol=1e-4, atol=1e-6)
