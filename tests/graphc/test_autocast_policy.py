"""CPU autocast as PyTorch 2.13: its op lists (aten/src/ATen/autocast_mode.cpp, AutocastCPU),
applied where PyTorch dispatches (composites inherit the casts of the ops they are built
from), out= left alone, promote's rules, the linalg ops cast to float32, one rounding in
bf16 addmm/linear, and the autocast state functions.

Expected dtypes are PyTorch's documented CPU lists; values are checked against float64
numpy on the inputs with the documented casts applied (bf16 tolerance 2**-7 relative)."""

import warnings

import numpy as np
import pytest

import graphc
import graphc.nn.functional as F
from ir.errors import DTypeError

BF_TOL = dict(rtol=2**-7, atol=2**-7)
rs = np.random.RandomState(0)
A = rs.randn(4, 5).astype(np.float32)
B = rs.randn(5, 3).astype(np.float32)
V = rs.randn(5).astype(np.float32)
SPD = (A @ A.T + 4 * np.eye(4)).astype(np.float32)


def bf16_round(a) -> np.ndarray:
    """float32 -> bfloat16 (round to nearest even) -> float64, in numpy."""
    u = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) & 0xFFFF0000
    return u.astype(np.uint32).view(np.float32).astype(np.float64)


def t(a):
    return graphc.tensor(a)


def ac():
    return graphc.autocast("cpu")


def np64(x):
    return x.detach().to(graphc.float64).numpy()


# --- out= is not autocast (PyTorch has no autocast kernels for .out overloads) ----------------


@pytest.mark.parametrize("op", ["mm", "matmul", "addmm"])
def test_out_is_written_in_float32(op):
    a, out = t(A), graphc.full((4, 4), 7.0)
    with ac():
        if op == "addmm":
            r = graphc.addmm(graphc.ones(4, 4), a, a.T, out=out)
        else:
            r = getattr(graphc, op)(a, a.T, out=out)
    assert r is out and out.dtype == graphc.float32
    ref = A.astype(np.float64) @ A.T.astype(np.float64) + (op == "addmm")
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", ["bfloat16", "float64"])
def test_out_of_another_dtype_raises(dtype):
    out = graphc.zeros(4, 4, dtype=getattr(graphc, dtype))
    with ac(), pytest.raises(RuntimeError, match="out tensor to have dtype"):
        graphc.mm(t(A), t(A).T, out=out)


# --- composites run as the ops PyTorch builds them from ----------------------------------------


@pytest.mark.parametrize("name,fn,ref", [
    ("tensordot", lambda: graphc.tensordot(t(A), t(B), dims=1), lambda: bf16_round(A) @ bf16_round(B)),
    ("inner", lambda: graphc.inner(t(A), t(A)), lambda: bf16_round(A) @ bf16_round(A).T),
    ("linalg.matmul", lambda: graphc.linalg.matmul(t(A), t(B)), lambda: bf16_round(A) @ bf16_round(B)),
    ("linalg.vecdot", lambda: graphc.linalg.vecdot(t(A), t(A)), lambda: (bf16_round(A) ** 2).sum(-1)),
    ("einsum", lambda: graphc.einsum("ij,jk->ik", t(A), t(B)), lambda: bf16_round(A) @ bf16_round(B)),
    ("matmul 2d@1d", lambda: t(A).matmul(t(V)), lambda: bf16_round(A) @ bf16_round(V)),
])
def test_composites_of_listed_ops_run_in_bfloat16(name, fn, ref):
    with ac():
        r = fn()
    assert r.dtype == graphc.bfloat16, name
    np.testing.assert_allclose(np64(r), ref(), **BF_TOL)


@pytest.mark.parametrize("name,fn,ref", [
    ("mv", lambda: graphc.mv(t(A), t(V)), lambda: A.astype(np.float64) @ V),
    ("addmv", lambda: graphc.addmv(graphc.ones(4), t(A), t(V)), lambda: 1 + A.astype(np.float64) @ V),
    ("dot", lambda: graphc.dot(t(V), t(V)), lambda: V.astype(np.float64) @ V),
    ("inner 1-d", lambda: graphc.inner(t(V), t(V)), lambda: V.astype(np.float64) @ V),
])
def test_unlisted_products_stay_float32_with_float32_values(name, fn, ref):
    with ac():
        r = fn()
    assert r.dtype == graphc.float32, name
    np.testing.assert_allclose(r.numpy(), ref(), rtol=1e-5, atol=1e-5)


def test_lstm_runs_in_bfloat16_as_mkldnn_rnn_layer():
    graphc.manual_seed(0)
    m = graphc.nn.LSTM(5, 3, 2)
    with ac():
        out, (h, c) = m(t(A[:, None]))
    assert (out.dtype, h.dtype, c.dtype) == (graphc.bfloat16,) * 3
    ref, _ = m(t(A[:, None]))  # same weights in float32
    np.testing.assert_allclose(np64(out), ref.detach().numpy(), rtol=0.05, atol=0.05)


X4 = rs.randn(1, 2, 4, 4).astype(np.float32)
X5 = rs.randn(1, 2, 4, 4, 4).astype(np.float32)


def bf(a):
    return t(a).bfloat16()


@pytest.mark.parametrize("name,fn,dtype", [
    ("pad reflect 2d", lambda: F.pad(bf(X4), (1, 1, 1, 1), mode="reflect"), "float32"),
    ("pad replicate", lambda: F.pad(bf(X4), (1, 1, 1, 1), mode="replicate"), "float32"),
    ("pad reflect 3d", lambda: F.pad(bf(X5), (1, 1, 1, 1, 1, 1), mode="reflect"), "bfloat16"),
    ("pad circular", lambda: F.pad(bf(X4), (1, 1, 1, 1), mode="circular"), "bfloat16"),
    ("pad constant", lambda: F.pad(bf(X4), (1, 1, 1, 1)), "bfloat16"),
    ("grid_sample", lambda: F.grid_sample(bf(X4), graphc.zeros(1, 2, 2, 2), align_corners=False), "float32"),
    ("fractional_max_pool2d", lambda: F.fractional_max_pool2d(
        bf(X4), 2, output_size=2, _random_samples=graphc.full((1, 2, 2), 0.5)), "float32"),
    ("max_unpool2d", lambda: F.max_unpool2d(*F.max_pool2d(bf(X4), 2, return_indices=True), 2), "float32"),
    ("max_pool3d", lambda: F.max_pool3d(bf(X5), 2), "float32"),
    ("max_pool3d indices", lambda: F.max_pool3d(bf(X5), 2, return_indices=True)[0], "bfloat16"),
    ("adaptive_max_pool3d", lambda: F.adaptive_max_pool3d(bf(X5), 2)[0], "float32"),
    ("max_pool2d", lambda: F.max_pool2d(bf(X4), 2), "bfloat16"),
    ("ctc_loss", lambda: F.ctc_loss(F.log_softmax(bf(rs.randn(5, 1, 3).astype(np.float32)), 2),
                                    graphc.tensor([[1, 2]]), graphc.tensor([5]), graphc.tensor([2])), "float32"),
])
def test_cpu_fp32_and_unlisted_ops(name, fn, dtype):
    with ac():
        r = fn()
    assert r.dtype == getattr(graphc, dtype), name


def test_pad_reflect_values_are_the_float32_pad_of_the_input():
    with ac():
        r = F.pad(bf(X4), (1, 1, 1, 1), mode="reflect")
    ref = np.pad(bf16_round(X4), ((0, 0), (0, 0), (1, 1), (1, 1)), mode="reflect")
    np.testing.assert_array_equal(r.numpy(), ref)


# --- the linalg ops of the fp32 list take bf16 and half inputs --------------------------------


SPD64 = bf16_round(SPD)


@pytest.mark.parametrize("name,fn,ref", [
    ("inverse", lambda x: graphc.inverse(x), lambda: np.linalg.inv(SPD64)),
    ("linalg.inv", lambda x: graphc.linalg.inv(x), lambda: np.linalg.inv(SPD64)),
    ("linalg.cholesky", lambda x: graphc.linalg.cholesky(x), lambda: np.linalg.cholesky(SPD64)),
    ("cholesky", lambda x: graphc.cholesky(x), lambda: np.linalg.cholesky(SPD64)),
    ("pinverse", lambda x: graphc.pinverse(x), lambda: np.linalg.pinv(SPD64)),
    ("linalg.qr", lambda x: graphc.linalg.qr(x)[1].abs(), lambda: np.abs(np.linalg.qr(SPD64)[1])),
    ("linalg.svd", lambda x: graphc.linalg.svd(x)[1], lambda: np.linalg.svd(SPD64)[1]),
    ("svd", lambda x: graphc.svd(x)[1], lambda: np.linalg.svd(SPD64)[1]),
    ("linalg.solve", lambda x: graphc.linalg.solve(x, x[0]), lambda: np.linalg.solve(SPD64, SPD64[0])),
    ("linalg.eigvalsh", lambda x: graphc.linalg.eigvalsh(x), lambda: np.linalg.eigvalsh(SPD64)),
    ("geqrf", lambda x: graphc.geqrf(x)[0].diagonal().abs(), lambda: np.abs(np.diag(np.linalg.qr(SPD64)[1]))),
    ("fft.rfft", lambda x: graphc.fft.rfft(x[0]).abs(), lambda: np.abs(np.fft.rfft(SPD64[0]))),
])
@pytest.mark.parametrize("low", ["bfloat16", "float16"])
def test_fp32_linalg_ops_cast_low_precision_inputs(name, fn, ref, low):
    x = t(SPD).bfloat16()
    with graphc.autocast("cpu", dtype=getattr(graphc, low)):
        r = fn(x)
    assert r.dtype == graphc.float32, name
    np.testing.assert_allclose(r.numpy(), ref(), rtol=1e-4, atol=1e-4)


def test_view_as_complex_casts_to_float32():
    with ac():
        r = graphc.view_as_complex(bf(A[:, :2].copy()))
    assert r.dtype == graphc.complex64
    np.testing.assert_array_equal(r.numpy(), bf16_round(A[:, 0]) + 1j * bf16_round(A[:, 1]))


# --- promote: at::autocast::prioritize; and no promotion for ops PyTorch does not list ---------


def test_promote_rules():
    h, b, f = t(V).half(), t(V).bfloat16(), t(V)
    with ac():
        assert graphc.cat([f, b]).dtype == graphc.float32
        assert graphc.stack([b, b]).dtype == graphc.bfloat16
        assert graphc.cat([t(V).double(), b]).dtype == graphc.float64
        for pair in ([h, b], [h, h]):
            with pytest.raises(RuntimeError, match="prioritize"):
                graphc.cat(pair)


@pytest.mark.parametrize("enabled", [False, True])
@pytest.mark.parametrize("name,fn", [
    ("dot", lambda: graphc.dot(bf(V), t(V))),
    ("scatter_add", lambda: bf(A).scatter_add(0, graphc.zeros(1, 5, dtype=graphc.long), t(A[:1].copy()))),
    ("scatter_add_", lambda: bf(A).scatter_add_(0, graphc.zeros(1, 5, dtype=graphc.long), t(A[:1].copy()))),
    ("linalg.cross", lambda: graphc.linalg.cross(bf(A[:, :3].copy()), t(A[:, :3].copy()))),
    ("cross", lambda: graphc.cross(bf(A[:, :3].copy()), t(A[:, :3].copy()), dim=1)),
    ("index_copy_", lambda: bf(A).index_copy_(0, graphc.tensor([0]), t(A[:1].copy()))),
])
def test_mixed_dtypes_raise_where_pytorch_does_not_promote(name, fn, enabled):
    with graphc.autocast("cpu", enabled=enabled), pytest.raises(DTypeError):
        fn()


def test_index_copy_promotes_only_under_autocast():
    with ac():
        assert bf(A).index_copy(0, graphc.tensor([0]), t(A[:1].copy())).dtype == graphc.float32
    with pytest.raises(DTypeError):
        bf(A).index_copy(0, graphc.tensor([0]), t(A[:1].copy()))


# --- bf16 addmm / linear with bias: one rounding -----------------------------------------------


@pytest.mark.parametrize("shape", [(64, 32), (4, 16, 32)])
def test_linear_with_bias_rounds_once(shape):
    r = np.random.RandomState(1)
    x, w, b = r.randn(*shape).astype(np.float32), r.randn(16, 32).astype(np.float32), r.randn(16).astype(np.float32)
    with ac():
        y = F.linear(t(x), t(w), t(b))
    assert y.dtype == graphc.bfloat16
    ref = bf16_round((bf16_round(x) @ bf16_round(w).T + bf16_round(b)).astype(np.float32))
    np.testing.assert_array_equal(np64(y), ref)
    m = graphc.addmm(t(b).bfloat16(), t(x.reshape(-1, 32)).bfloat16(), t(w.T.copy()).bfloat16())
    np.testing.assert_array_equal(np64(m), ref.reshape(-1, 16))


def test_linear_grad_fn_names_as_pytorch():
    w, b = graphc.randn(3, 4, requires_grad=True), graphc.randn(3, requires_grad=True)
    assert F.linear(graphc.randn(2, 4), w, b).grad_fn.name() == "AddmmBackward0"
    assert F.linear(graphc.randn(2, 5, 4), w, b).grad_fn.name() == "ViewBackward0"


# --- the autocast state functions --------------------------------------------------------------


def test_autocast_state_functions():
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        with pytest.raises(DeprecationWarning):
            graphc.is_autocast_cpu_enabled()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert graphc.is_autocast_cpu_enabled() is False
        assert graphc.get_autocast_cpu_dtype() == graphc.bfloat16
        with pytest.warns(FutureWarning):
            ctx = graphc.cpu.amp.autocast()
        with ctx:
            assert graphc.is_autocast_cpu_enabled() is True
    try:
        graphc.set_autocast_enabled("cpu", True)
        graphc.set_autocast_dtype("cpu", graphc.float16)
        assert graphc.is_autocast_enabled("cpu") and graphc.get_autocast_dtype("cpu") == graphc.float16
        assert graphc.mm(t(A), t(B)).dtype == graphc.float16
    finally:
        graphc.set_autocast_enabled("cpu", False)
        graphc.set_autocast_dtype("cpu", graphc.bfloat16)
    assert graphc.mm(t(A), t(B)).dtype == graphc.float32
    assert graphc.autocast_increment_nesting() == 1 and graphc.autocast_decrement_nesting() == 0
    assert graphc.is_autocast_cache_enabled() is True
    graphc.clear_autocast_cache()
    import graphc.cpu.amp as cpu_amp

    assert cpu_amp.GradScaler is graphc.cpu.amp.GradScaler
