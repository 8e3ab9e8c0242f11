"""Conformance by construction: every row of the op table, on every backend, against float64.

The test walks ``ir.ops.OPS``. Each row gets samples — generated from its kind (elementwise
maps over every dtype they accept, with broadcasting, 0-d, size-0 and non-contiguous inputs;
reductions over several axis sets, NaNs included) or listed in ``SAMPLES`` below for the
kinds whose attributes need choosing — and each sample runs on

* the numpy backend's eager kernels,
* the numpy backend's generated code (a one-node graph through fusion and codegen),
* the Triton backend's generated kernels (under Triton's interpreter without a GPU),

and is compared with a float64 reference: the row's own scalar reference (``OpDef.ref``, e.g.
``math.atanh``) where it has one, else its numpy implementation evaluated in float64. A row
with no samples, or without an implementation on some backend, fails here by name. The view
rows' stride rules are checked against numpy's views, and every gradient rule is checked to
read exactly the values its row says it saves. (Gradients themselves are checked against
finite differences for every differentiable row in ``tests/ir/test_autodiff_pass.py``.)
"""

from __future__ import annotations

import numpy as np
import pytest

import backends.triton._env  # noqa: F401  (sets TRITON_INTERPRET before triton is imported)
from backends import backend_named
from backends.numpy import codegen as np_codegen
from backends.numpy.kernels import run_op
from ir import dtypes as dt
from ir.errors import UnsupportedError
from ir.graph import Graph
from ir.ops import OPS
from ir.ops import core as K
from ir.ops.evaluate import run_op as reference_run
from ir.ops.grad import RuleCtx, V
from ir.ops.movement import contiguous_strides
from ir.passes.fusion import fuse

f32, f64, i32, i64, b8 = dt.float32, dt.float64, dt.int32, dt.int64, dt.bool_
c64, c128 = dt.complex64, dt.complex128
TOL = {f32: (3e-5, 3e-6), f64: (1e-9, 1e-11), c64: (3e-5, 3e-6), c128: (1e-9, 1e-11)}


class Meta:
    def __init__(self, shape, dtype):
        self.shape, self.dtype = tuple(shape), dtype


def _accepts(row, dtypes, attrs=None) -> bool:
    try:
        row.infer([Meta((2,), d) for d in dtypes], attrs or {})
        return True
    except Exception:
        return False


def _values(rng, shape, d, positive=False, nonzero=False, small=False):
    if d.is_bool:
        return rng.random(shape) > 0.5
    if d.is_complex:  # both parts standard normal (the float recipe, twice)
        return (_values(rng, shape, dt.float64, positive) + 1j * _values(rng, shape, dt.float64)).astype(d.numpy_dtype)
    if d.is_integer:
        lo = 1 if positive else -6
        a = rng.integers(lo, 4 if small else 7, shape)
        if nonzero:
            a[a == 0] = 3
        return a.astype(d.numpy_dtype)
    a = rng.standard_normal(shape) * 1.5
    if positive:
        a = np.abs(a) + 0.1
    return a.astype(d.numpy_dtype)


def _noncontiguous(a):
    """The same values in a transposed (non-contiguous) layout."""
    if a.ndim < 2:
        return a
    return np.ascontiguousarray(a.swapaxes(-1, -2)).swapaxes(-1, -2)


# Elementwise inputs that keep ops on their domains (NaN results still compare equal).
DOMAIN = {
    "pow": {"int": dict(exponent_small=True)},
    "floor_divide": {"int": dict(nonzero=True)},
    "remainder": {"int": dict(nonzero=True)},
    "fmod": {"int": dict(nonzero=True)},
    # float inputs mapped into the rows' domains (one map per input; None keeps the normal samples),
    # so that the comparison is not of NaN with NaN
    "acosh": {"float": (lambda a: 1 + np.abs(a),)},
    "erfinv": {"float": (np.tanh,)},
    "ndtri": {"float": (lambda a: 1 / (1 + np.exp(-a)),)},
    "entr": {"float": (np.abs,)},
    "xlogy": {"float": (None, np.abs)},
    "polygamma": {"float": (lambda a: np.round(np.abs(a)), None)},
    "zeta": {"float": (lambda a: 1.5 + np.abs(a), lambda a: 0.2 + np.abs(a))},
    "igamma": {"float": (np.abs, np.abs)},
    "igammac": {"float": (np.abs, np.abs)},
    "bessel_y0": {"float": (lambda a: np.abs(a) * 3,)},
    "bessel_y1": {"float": (lambda a: np.abs(a) * 3,)},
    **{n: {"float": (lambda a: np.abs(a) * 3,)} for n in ("modified_bessel_k0", "modified_bessel_k1",
                                                          "scaled_modified_bessel_k0", "scaled_modified_bessel_k1")},
    **{n: {"float": (None, lambda a: np.round(np.abs(a) * 3))} for n in (
        "chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w",
        "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
        "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he", "laguerre_polynomial_l",
        "legendre_polynomial_p")},
}

ELEMENTWISE_SHAPES = [
    [(4, 5), (4, 5), (4, 5)],  # plain
    [(3, 4, 5), (5,), (4, 1)],  # broadcasting
    [(), (), ()],  # 0-d
    [(0, 3), (3,), (0, 1)],  # size 0
]


def _elementwise_samples(name, row):
    arity = row.arity
    out = []
    for d in (f32, f64, i32, i64, b8, c64, c128):
        ds = ([b8, d, d] if name == "where" else [d] * arity)
        if not _accepts(row, ds):
            continue
        for k, shapes in enumerate(ELEMENTWISE_SHAPES):
            rng = np.random.default_rng(k)
            arrays = []
            for i, (shape, di) in enumerate(zip(shapes, ds)):
                kw = {}
                if di.is_integer and i == 1 and DOMAIN.get(name, {}).get("int", {}).get("nonzero"):
                    kw["nonzero"] = True
                if di.is_integer and DOMAIN.get(name, {}).get("int", {}).get("exponent_small"):
                    kw.update(positive=i == 1, small=True)
                a = _values(rng, shape, di, **kw)
                maps = DOMAIN.get(name, {}).get("float", ())
                if di.is_floating_point and i < len(maps) and maps[i] is not None:
                    a = maps[i](a).astype(a.dtype)
                arrays.append(a)
            if k == 1:
                arrays[0] = _noncontiguous(arrays[0])
            out.append((f"{d.short}-{k}", arrays, ds, {}))
    return out


def _reduce_samples(name, row):
    out = []
    spec = row.reduce
    for d in (f32, f64, i32, b8, c128):
        if not _accepts(row, [d], {"axes": (0,), "keepdim": False}):
            continue
        rng = np.random.default_rng(1)
        x = _values(rng, (3, 4, 5), d)
        axes_list = [(1,), (2,)] if spec.index else [(1,), (0, 2), (0, 1, 2)]
        for axes in axes_list:
            for keep in (False, True):
                out.append((f"{d.short}-{axes}-{keep}", [_noncontiguous(x) if axes == (1,) else x], [d],
                            {"axes": axes, "keepdim": keep}))
        if d.is_floating_point:
            xn = x.copy()
            xn[0, 1, 2] = np.nan
            out.append((f"{d.short}-nan", [xn], [d], {"axes": (2,), "keepdim": False}))
        out.append((f"{d.short}-0d", [x[0, 0, 0].copy().reshape(())], [d], {"axes": (), "keepdim": False}))
        if spec.empty:
            out.append((f"{d.short}-size0", [x[:, :0]], [d], {"axes": (1,), "keepdim": False}))
    return out


def _sample(tag, arrays, attrs, dtypes=None):
    return (tag, arrays, dtypes or [dt.from_numpy(a.dtype) for a in arrays], attrs)


_R = np.random.default_rng(7)
_X = _R.standard_normal((3, 4, 5))
_I = np.array([[0, 2, 1, 1, 0]] * 4)

# Linear-algebra rows: well-conditioned matrices (batched, float32/float64/complex128), so float32
# results stay within TOL of the float64 reference. Factorizations whose signs or phases are a
# convention (eigenvectors, singular vectors, Q) run in float64 and complex128 only, where the
# reference makes the same LAPACK calls.
_M = _R.standard_normal((2, 3, 3)) + 3 * np.eye(3)  # diagonally dominant: far from singular
_SPD = _M @ _M.swapaxes(-1, -2) + np.eye(3)
_C = _M + 0.5j * _R.standard_normal((2, 3, 3))
_HPD = _C @ _C.conj().swapaxes(-1, -2) + np.eye(3)
_TALL, _WIDE = _R.standard_normal((4, 3)), _R.standard_normal((2, 3, 5))
LINALG_SAMPLES = {
    "linalg_cholesky": [_sample("f32", [_SPD.astype(np.float32)], {"check": True}), _sample("c", [_HPD], {"check": True})],
    "linalg_solve_triangular": [
        _sample("left", [_M, _R.standard_normal((3, 2))], {"upper": True, "left": True, "unitriangular": False}),
        _sample("right-unit", [_M.astype(np.float32), _R.standard_normal((2, 4, 3)).astype(np.float32)],
                {"upper": False, "left": False, "unitriangular": True})],
    "linalg_solve": [_sample("f32", [_M.astype(np.float32), _R.standard_normal((3, 2)).astype(np.float32)], {"check": True}),
                     _sample("c", [_C, _C[0]], {"check": True})],
    "linalg_inv": [_sample("f64", [_M], {"check": True}), _sample("c", [_C], {"check": False})],
    "linalg_det": [_sample("f32", [_M.astype(np.float32)], {}), _sample("c", [_C], {})],
    "linalg_slogdet": [_sample("f64", [_M], {}), _sample("c", [_C], {})],
    "linalg_qr": [_sample("tall", [_TALL], {"mode": "reduced"}), _sample("wide", [_WIDE], {"mode": "complete"}),
                  _sample("c", [_C], {"mode": "r"})],
    "linalg_eigh": [_sample("f64", [_SPD], {"upper": False}), _sample("c", [_HPD], {"upper": True})],
    "linalg_eig": [_sample("f64", [_M], {}), _sample("c", [_C], {})],
    "linalg_svd": [_sample("tall", [_TALL], {"full_matrices": False}), _sample("wide", [_WIDE], {"full_matrices": True}),
                   _sample("c", [_C], {"full_matrices": False})],
    "linalg_lu_factor": [_sample("sq", [_M.astype(np.float32)], {"check": True}), _sample("wide", [_WIDE], {"check": False}),
                         _sample("c", [_C], {"check": False})],
    "linalg_matrix_exp": [_sample("f32", [(_M / 4).astype(np.float32)], {}), _sample("c", [_C / 4], {})],
    "linalg_info": [_sample("chol", [_SPD - 5 * np.eye(3)], {"of": "cholesky"}), _sample("lu", [_M * [[1], [0], [1]]], {"of": "lu"})],
    "lu_pivots_to_perm": [_sample("p", [np.array([[3, 2, 3], [1, 3, 3]], dtype=np.int32)], {"m": 4})],
    "geqrf": [_sample("tall", [_TALL], {}), _sample("c", [_C], {})],
    "fft_c2c": [_sample("fwd", [_C], {"axis": 2, "inverse": False, "scale": "none"}),
                _sample("inv-c64", [_C.astype(np.complex64)], {"axis": 0, "inverse": True, "scale": "n"})],
    "fft_r2c": [_sample("half", [_X], {"axis": 2, "onesided": True, "scale": "sqrt"}),
                _sample("full-f32", [_X.astype(np.float32)], {"axis": 1, "onesided": False, "scale": "none"})],
    "fft_c2r": [_sample("even", [_C], {"axis": 2, "n": 4, "scale": "n"}), _sample("odd", [_C], {"axis": 1, "n": 5, "scale": "sqrt"})],
    "linalg_ldl_factor": [_sample("f64", [_SPD - 4 * np.eye(3)], {"hermitian": False}), _sample("c", [_HPD], {"hermitian": True})],
    "linalg_ldl_solve": [_sample("f64", [_M, np.array([[1, 2, 3], [-3, -3, 3]], dtype=np.int32), _R.standard_normal((3, 2))],
                                 {"hermitian": False})],
}

# Rows whose attributes must be chosen: hand-written samples (a new row of these kinds adds one).
SAMPLES = {
    "cast": [_sample("f2i", [_X * 4], {"dtype": i32}), _sample("i2f", [_I], {"dtype": f32}),
             _sample("f2b", [np.round(_X)], {"dtype": b8}), _sample("f64-f32", [_X], {"dtype": f32})],
    "cumsum": [_sample("ax1", [_X], {"axis": 1}), _sample("i", [_I], {"axis": 1}), _sample("0d", [_X[0, 0, 0].reshape(())], {"axis": 0})],
    "reshape": [_sample("merge", [_X], {"shape": (12, 5)}), _sample("split", [_X[0]], {"shape": (2, 2, 1, 5)})],
    "cumprod": [_sample("ax1", [_X], {"axis": 1}), _sample("i", [_I], {"axis": 1}), _sample("0d", [_X[0, 0, 0].reshape(())], {"axis": 0})],
    "logcumsumexp": [_sample("ax1", [_X], {"axis": 1}), _sample("ax2", [_X * 30], {"axis": 2})],
    "cummax": [_sample("ax2", [_X], {"axis": 2}), _sample("i", [_I], {"axis": 0}),
               _sample("nan", [np.where(_X > 1, np.nan, _X)], {"axis": 1})],
    "cummin": [_sample("ax2", [_X], {"axis": 2}), _sample("i", [_I], {"axis": 1})],
    "scatter_reduce": [_sample(r, [_X[0], _I[:3], _X[1, :3]], {"axis": 1, "reduce": r}) for r in ("prod", "sum", "amax", "amin")]
    + [_sample("i", [_I, _I[:2], _I[1:3] * 2], {"axis": 0, "reduce": "amax"})],
    "unfold": [_sample("d2", [_X], {"dim": 2, "size": 2, "step": 2}), _sample("d0", [_X], {"dim": 0, "size": 3, "step": 1})],
    "as_strided": [_sample("w", [_X], {"size": (4, 3), "stride": (5, 2), "offset": 1, "in_offset": 0})],
    "diagonal": [_sample("d", [_X], {"offset": 1, "dim1": 2, "dim2": 0}), _sample("n", [_X], {"offset": -1, "dim1": 1, "dim2": 2}),
                 _sample("m", [_X], {"offset": -2, "dim1": 0, "dim2": 1})],
    "permute": [_sample("p", [_X], {"dims": (2, 0, 1)})],
    "expand": [_sample("e", [_X[:, :1, :]], {"shape": (2, 3, 4, 5)})],
    "slice": [_sample("s", [_X], {"starts": (1, 0, 4), "stops": (3, 4, -1), "steps": (1, 2, -2)})],
    "pad": [_sample("p", [_X], {"pads": ((1, 0), (0, 2), (-1, 1)), "value": 0.5})],
    "concat": [_sample("c", [_X, _X[:, :1], _X[:, :2]], {"axis": 1})],
    "matmul": [_sample("mm", [_X[0], _X[0].T.copy()], {}), _sample("batch", [_X, _R.standard_normal((5, 2))], {}),
               _sample("bcast", [_X[0], _R.standard_normal((2, 5, 3))], {})],
    "gather": [_sample("g", [_X[0], _I[:3]], {"axis": 1})],
    "scatter_add": [_sample("s", [_X[0], _I[:3], _X[1, :3]], {"axis": 1})],
    "index_select": [_sample("i", [_X, np.array([2, 0, 2])], {"axis": 1})],
    "index_add": [_sample("i", [_X, np.array([2, 0, 2]), _X[:, :3]], {"axis": 1})],
    "index_copy": [_sample("i", [_X, np.array([3, 0]), _X[:, :2]], {"axis": 1})],
    "full": [_sample("f", [], {"shape": (3, 4), "dtype": f32, "value": 2.5})],
    "iota": [_sample("i", [], {"shape": (3, 4), "dtype": i64, "axis": 1})],
    "constant": [_sample("c", [], {"shape": (2, 2), "dtype": f32, "value": np.arange(4.0).reshape(2, 2)})],
    "im2col": [_sample("f64-s", [_R.standard_normal((2, 3, 6, 7))], {"kernel": (3, 2), "stride": (1, 1), "dilation": (1, 1)}),
               _sample("f64-sd", [_R.standard_normal((1, 2, 7, 8))], {"kernel": (2, 3), "stride": (2, 3), "dilation": (2, 1)}),
               _sample("f32-1x1", [_X[None]], {"kernel": (1, 1), "stride": (1, 2), "dilation": (1, 1)}),
               _sample("f64-pad", [_R.standard_normal((2, 3, 5, 6))],
                       {"kernel": (3, 3), "stride": (1, 1), "dilation": (1, 1), "padding": ((1, 1), (1, 1))}),
               _sample("f64-pad-sd", [_R.standard_normal((1, 2, 9, 10))],
                       {"kernel": (2, 3), "stride": (2, 1), "dilation": (1, 2), "padding": ((2, 0), (1, 3))})],
    "col2im": [_sample("f64-s", [_R.standard_normal((2, 3, 6, 4, 6))], {"kernel": (3, 2), "stride": (1, 1), "dilation": (1, 1), "size": (6, 7)}),
               _sample("f64-sd", [_R.standard_normal((1, 2, 6, 3, 2))], {"kernel": (2, 3), "stride": (2, 3), "dilation": (2, 1), "size": (7, 8)}),
               _sample("f32-over", [_R.standard_normal((1, 2, 9, 3, 3)).astype(np.float32)],
                       {"kernel": (3, 3), "stride": (2, 2), "dilation": (1, 1), "size": (8, 7)}),
               _sample("f64-pad", [_R.standard_normal((2, 3, 9, 5, 6))],
                       {"kernel": (3, 3), "stride": (1, 1), "dilation": (1, 1), "size": (5, 6), "padding": ((1, 1), (1, 1))}),
               _sample("f64-pad-sd", [_R.standard_normal((1, 2, 6, 5, 10))],
                       {"kernel": (2, 3), "stride": (2, 1), "dilation": (1, 2), "size": (9, 10), "padding": ((2, 0), (1, 3))}),
               _sample("f64-wide", [_R.standard_normal((1, 2, 4, 3, 17))], {"kernel": (2, 2), "stride": (1, 1), "dilation": (1, 1), "size": (4, 18)})],
    "check_range": [_sample("f64-in", [np.abs(np.tanh(_X))], {"low": 0.0, "high": 1.0, "message": "m"}),
                    _sample("edges", [np.array([0.0, 1.0, 0.5], dtype=np.float32)], {"low": 0.0, "high": 1.0, "message": "m"})],
    **LINALG_SAMPLES,
}
NO_VALUES = {"input"}  # a graph input has no implementation to compare
# Collectives need a process group; tests/distributed runs them on 1-3 ranks (in-graph NCCL collectives on
# the Triton backend do not exist yet: compiled steps on CUDA tensors raise UnsupportedError).
NO_VALUES |= {n for n, r in OPS.items() if r.kind == K.COLLECTIVE}
RANDOM = {n for n, r in OPS.items() if r.kind == K.RANDOM}  # numbers differ by backend: checked by shape and range


def samples_of(name):
    row = OPS[name]
    if name in SAMPLES:
        return SAMPLES[name]
    if row.kind == K.ELEMENTWISE:
        return _elementwise_samples(name, row)
    if row.kind == K.REDUCE:
        return _reduce_samples(name, row)
    if row.kind == K.RANDOM:
        seed = np.array(5, dtype=np.int64)
        return [_sample("r", [seed], {"shape": (64,), "dtype": f32}, [i64])]
    return []


CASES = [(name, s) for name in sorted(OPS) if name not in NO_VALUES for s in samples_of(name)]


def test_every_row_has_samples():
    missing = [n for n in sorted(OPS) if n not in NO_VALUES and not samples_of(n)]
    assert missing == [], f"rows without conformance samples (add them to SAMPLES): {missing}"


# ----------------------------------------------------------------------------
# the reference and the backends


def _reference(name, arrays, dtypes, attrs):
    row = OPS[name]
    shape, out_dtype = row.infer([Meta(np.shape(a), d) for a, d in zip(arrays, dtypes)], attrs)
    if row.ref is not None and all(d.is_floating_point for d in dtypes):
        fn = np.vectorize(row.ref, otypes=[np.float64])
        wide = np.broadcast_arrays(*[np.asarray(a, dtype=np.float64) for a in arrays])
        return fn(*wide) if wide[0].size else np.zeros(shape), shape, out_dtype
    wide = [np.asarray(a, dtype=np.float64) if d.is_floating_point else
            np.asarray(a, dtype=np.complex128) if d.is_complex else np.asarray(a) for a, d in zip(arrays, dtypes)]
    ref_dtype = f64 if out_dtype.is_floating_point else c128 if out_dtype.is_complex else out_dtype
    ref_attrs = dict(attrs, dtype=f64) if (row.kind in (K.CREATION, K.SOURCE) and out_dtype.is_floating_point) else attrs
    return np.asarray(reference_run(row, wide, ref_attrs, shape, ref_dtype)), shape, out_dtype


def _graph(name, arrays, dtypes, attrs):
    g = Graph(name)
    ins = [g.add_input(np.shape(a), d) for a, d in zip(arrays, dtypes)]
    g.outputs.append(g.add(name, ins, **attrs))
    return g


def _numpy_eager(name, arrays, dtypes, attrs, shape, out_dtype):
    return run_op(OPS[name], [np.asarray(a) for a in arrays], attrs, shape, out_dtype)


def _numpy_codegen(name, arrays, dtypes, attrs, shape, out_dtype):
    return np_codegen.compile_schedule(fuse(_graph(name, arrays, dtypes, attrs)), name)(list(arrays))[0]


def _triton(name, arrays, dtypes, attrs, shape, out_dtype):
    import backends.triton as BT  # optional dependency: the row still runs on the numpy backend without it

    policy = backend_named("triton").fusion_policy()
    with np.errstate(all="ignore"):
        return BT.compile_schedule(fuse(_graph(name, arrays, dtypes, attrs), policy), name, quiet=True)(list(arrays))[0]


BACKENDS = {"numpy-eager": _numpy_eager, "numpy-codegen": _numpy_codegen, "triton": _triton}


def _compare(got, ref, out_dtype, what):
    got = np.asarray(got)
    assert got.shape == ref.shape, f"{what}: shape {got.shape}, expected {ref.shape}"
    assert got.dtype == out_dtype.numpy_dtype, f"{what}: dtype {got.dtype}, expected {out_dtype.numpy_dtype}"
    if out_dtype.is_floating_point or out_dtype.is_complex:
        rtol, atol = TOL[out_dtype]
        np.testing.assert_allclose(got, ref, rtol=rtol, atol=atol, equal_nan=True, err_msg=what)
    else:
        np.testing.assert_array_equal(got, ref.astype(got.dtype), err_msg=what)


@pytest.mark.parametrize("backend", sorted(BACKENDS))
@pytest.mark.parametrize("name,sample", CASES, ids=[f"{n}-{s[0]}" for n, s in CASES])
def test_row_on_backend(name, sample, backend):
    if backend == "triton":
        pytest.importorskip("triton")
    tag, arrays, dtypes, attrs = sample
    if name in RANDOM:
        got = np.asarray(BACKENDS[backend](name, arrays, dtypes, attrs, attrs["shape"], attrs["dtype"]))
        assert got.shape == attrs["shape"] and got.dtype == attrs["dtype"].numpy_dtype
        assert np.all(np.isfinite(got)) and (name != "random_uniform" or (got.min() >= 0 and got.max() < 1))
        return
    ref, shape, out_dtype = _reference(name, arrays, dtypes, attrs)
    if backend == "triton" and (out_dtype.is_complex or any(d.is_complex for d in dtypes)):
        with pytest.raises(UnsupportedError, match=f"complex dtypes yet: %[0-9]+ = {name} "):
            BACKENDS[backend](name, arrays, dtypes, attrs, shape, out_dtype)
        return  # the Triton backend refuses complex values by op name (no lowering to real pairs yet)
    with np.errstate(all="ignore"):
        got = BACKENDS[backend](name, arrays, dtypes, attrs, shape, out_dtype)
    _compare(got, ref, out_dtype, f"{name} [{tag}] on {backend}")


# ----------------------------------------------------------------------------
# views: the stride rules against numpy's own views


VIEW_ROWS = sorted(n for n, r in OPS.items() if r.kind == K.VIEW)


@pytest.mark.parametrize("name", VIEW_ROWS)
def test_view_stride_rule_matches_numpy(name):
    for tag, arrays, dtypes, attrs in SAMPLES[name]:
        base = np.arange(2 * arrays[0].size, dtype=np.float64)
        for layout in ("contiguous", "strided"):
            x = base[: arrays[0].size].reshape(arrays[0].shape) if layout == "contiguous" else (
                base[::2].reshape(arrays[0].shape))
            row = OPS[name]
            shape, _ = row.infer([Meta(x.shape, f64)], attrs)
            view = row.numpy(x, attrs, shape)
            strides = tuple(s // x.itemsize for s in x.strides)
            offset = (x.__array_interface__["data"][0] - base.__array_interface__["data"][0]) // x.itemsize
            rule = row.strided(tuple(x.shape), strides, offset, attrs, shape)
            if not np.shares_memory(view, base):
                assert rule is None, f"{name} [{tag}, {layout}]: numpy copies but the rule gives a view"
                continue
            got_offset = (view.__array_interface__["data"][0] - base.__array_interface__["data"][0]) // x.itemsize
            want = (tuple(s // x.itemsize for s in view.strides), got_offset)
            nontrivial = [d for d, s in enumerate(shape) if s != 1]
            assert rule is not None, f"{name} [{tag}, {layout}]: numpy views but the rule says a copy"
            assert [rule[0][d] for d in nontrivial] == [want[0][d] for d in nontrivial] and rule[1] == want[1], (
                f"{name} [{tag}, {layout}]: rule {rule}, numpy {want}")


def test_reshape_rule_refuses_what_needs_a_copy():
    shape, strides = (4, 6), (1, 4)  # a transposed (6, 4) buffer
    assert OPS["reshape"].strided(shape, strides, 0, {"shape": (24,)}, (24,)) is None
    assert OPS["reshape"].strided(shape, strides, 0, {"shape": (8, 3)}, (8, 3)) is None
    assert OPS["reshape"].strided((4, 6), contiguous_strides((4, 6)), 0, {"shape": (2, 2, 6)}, (2, 2, 6)) == (
        (12, 6, 1), 0)


# ----------------------------------------------------------------------------
# saves: a rule reads exactly what its row keeps alive


class _Recorder:
    """A rule context that records which saved values the rule reads."""

    def __init__(self, row, ins, out):
        self.op, self.attrs = row.name, {}
        self.ins, self.out_node = ins, out
        self.shape, self.dtype = out.shape, out.dtype
        self.in_shapes = [i.shape for i in ins]
        self.in_dtypes = [i.dtype for i in ins]
        self.read = set()

    def input(self, i):
        self.read.add(i)
        return self.ins[i]

    def output(self):
        self.read.add("out")
        return self.out_node

    def needs(self, i):
        return self.in_dtypes[i].is_floating_point


class _Builder:
    def __init__(self, g):
        self.g = g

    def op(self, name, inputs, **attrs):
        return self.g.add(name, inputs, **attrs)

    def scalar(self, value, dtype):
        return self.g.add_constant(value, dtype)


DIFFERENTIABLE_SAMPLED = [(n, s) for n, s in CASES if OPS[n].grad is not None and s[0].startswith(("f64", "mm", "s", "g", "i", "c", "e", "p", "r", "merge", "ax"))]


@pytest.mark.parametrize("name", sorted({n for n, _ in DIFFERENTIABLE_SAMPLED}))
def test_rule_reads_exactly_what_the_row_saves(name):
    row = OPS[name]
    tag, arrays, dtypes, attrs = next(s for n, s in DIFFERENTIABLE_SAMPLED if n == name)
    if not any(d.is_floating_point for d in dtypes):
        pytest.skip("no float input to differentiate")
    g = Graph(name)
    ins = [g.add_input(np.shape(a), d) for a, d in zip(arrays, dtypes)]
    out = g.add(name, ins, **attrs)
    ctx = _Recorder(row, ins, out)
    ctx.attrs = attrs
    b = _Builder(g)
    row.grad(RuleCtx(ctx, b), V(b, g.add_constant(np.ones(out.shape), out.dtype)))
    assert ctx.read <= set(row.saves), f"{name}: the rule reads {sorted(map(str, ctx.read))} but saves {row.saves}"
    assert set(row.saves) <= ctx.read, f"{name}: saves {row.saves} but the rule reads only {sorted(map(str, ctx.read))}"
