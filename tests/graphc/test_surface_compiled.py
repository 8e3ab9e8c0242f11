"""The operator surface of issue 14 under ``@graphc.compile``: every op of the surface OpInfo
modules that does not need values to decide its output (sorting, value-sized results) is
traced and compiled (numpy backend) on its samples and must match the float64 reference; the
order statistics raise a TracingError naming the op instead. A few composites run on the
Triton backend (under the interpreter without a GPU), and the user's mistakes raise PyTorch's
errors naming the op and the shapes."""

from __future__ import annotations

import os
import sys
import warnings

import numpy as np
import pytest

import backends.triton._env  # noqa: F401  (sets TRITON_INTERPRET before triton is imported)
import graphc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from opinfo import surface_data, surface_math, to_graphc, to_numpy  # noqa: E402
from opinfo.core import as_list, f64, replace_tensors, tensors_in  # noqa: E402

# Sorting reads the values (like graphc.sort); repeat_interleave without output_size sizes its
# result by them; mode and the order statistics are built on the sort.
EAGER_ONLY = {"median_dim", "nanmedian_dim", "kthvalue", "mode", "msort", "quantile", "nanquantile", "repeat_interleave"}


def _cases(eager_only: bool):
    for spec in surface_math.OPS + surface_data.OPS:
        if (spec.name in EAGER_ONLY) != eager_only:
            continue
        dtype = f64 if f64 in spec.dtypes else spec.dtypes[0]
        for i, s in enumerate(spec.sample_list(dtype)[:3]):
            yield pytest.param(spec, s, id=f"{spec.name}-{i}-{s.desc}")


@pytest.mark.parametrize("spec,sample", list(_cases(False)))
def test_compiled_matches_reference(spec, sample):
    tree = to_graphc((sample.args, sample.kwargs))
    inputs = tensors_in(tree)

    def fn(*ts):
        args, kwargs = replace_tensors(tree, iter(ts))
        return spec.op(*args, **kwargs)

    compiled = graphc.compile(fn, warmup=False)
    got = as_list(compiled(*inputs))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        want = as_list(spec.ref(*to_numpy(sample.args), **to_numpy(sample.kwargs)))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        w = np.asarray(w)
        assert tuple(g.shape) == w.shape
        if g.dtype.is_floating_point:
            np.testing.assert_allclose(g.numpy().astype(np.float64), w.astype(np.float64), rtol=1e-7, atol=1e-7,
                                       equal_nan=True)
        else:
            np.testing.assert_array_equal(g.numpy(), w)


@pytest.mark.parametrize("spec,sample", list(_cases(True))[::3])
def test_order_statistics_need_values(spec, sample):
    tree = to_graphc((sample.args, sample.kwargs))
    inputs = tensors_in(tree)

    def fn(*ts):
        args, kwargs = replace_tensors(tree, iter(ts))
        return spec.op(*args, **kwargs)

    compiled = graphc.compile(fn, warmup=False)
    if spec.name == "repeat_interleave" and not any(t.dtype is graphc.int64 for t in inputs[1:]):
        pytest.skip("int repeats: traced")
    with pytest.raises(graphc.TracingError):
        compiled(*inputs)


def test_repeat_interleave_with_output_size_compiles():
    f = graphc.compile(lambda x, r: graphc.repeat_interleave(x, r, dim=0, output_size=4), warmup=False)
    x = graphc.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    out = f(x, graphc.tensor([2, 0, 2]))
    np.testing.assert_array_equal(out.numpy(), [[1, 2], [1, 2], [5, 6], [5, 6]])


def test_einsum_and_scans_on_triton_interpreter():
    pytest.importorskip("triton")
    rng = np.random.default_rng(0)
    a, b, c = (graphc.tensor(rng.standard_normal(s).astype(np.float32)) for s in ((3, 4), (4, 5), (5, 2)))

    def fn(a, b, c):
        m = graphc.einsum("ij,jk,kl->il", a, b, c)
        return graphc.cumprod(m, 1), graphc.cummax(m, 0).values, graphc.logcumsumexp(m, 1)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = graphc.compile(fn, backend="triton", warmup=False)(a, b, c)
    m = np.einsum("ij,jk,kl->il", *(t.numpy().astype(np.float64) for t in (a, b, c)))
    want = (np.cumprod(m, 1), np.maximum.accumulate(m, 0), np.logaddexp.accumulate(m, 1))
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.numpy(), w, rtol=1e-4, atol=1e-5)


def test_einsum_contracts_the_cheap_pair_first():
    """(ij,jk),kl with a wide j costs more than ij,(jk,kl): the greedy path picks the latter;
    both give the same values, and the compiled graph holds matmuls, not a dense product."""
    rng = np.random.default_rng(1)
    a = graphc.tensor(rng.standard_normal((50, 2)))
    b = graphc.tensor(rng.standard_normal((2, 40)))
    c = graphc.tensor(rng.standard_normal((40, 1)))
    from graphc._functional.products import _greedy_path

    path = _greedy_path([[ord("i"), ord("j")], [ord("j"), ord("k")], [ord("k"), ord("l")]], [ord("i"), ord("l")],
                        {ord("i"): 50, ord("j"): 2, ord("k"): 40, ord("l"): 1})
    assert path[0] == (1, 2)
    out = graphc.einsum("ij,jk,kl->il", a, b, c)
    np.testing.assert_allclose(out.numpy(), a.numpy() @ b.numpy() @ c.numpy(), rtol=1e-12)
    graph = graphc.compiler.trace(lambda a, b, c: graphc.einsum("ij,jk,kl->il", a, b, c), a, b, c)
    assert sum(n.op == "matmul" for n in graph.nodes) == 2


ERRORS = [
    ("einsum operand count", lambda: graphc.einsum("ij,jk->ik", graphc.ones(2, 2)), ValueError, "fewer operands"),
    ("einsum subscripts", lambda: graphc.einsum("ijk->i", graphc.ones(2, 2)), graphc.ShapeError,
     r"number of subscripts.*\(3\).*\(2\)"),
    ("einsum sizes", lambda: graphc.einsum("ij,jk->ik", graphc.ones(2, 3), graphc.ones(4, 2)), graphc.ShapeError,
     "subscript j has size 4"),
    ("tensordot sizes", lambda: graphc.tensordot(graphc.ones(2, 3), graphc.ones(4, 2), 1), graphc.ShapeError,
     "contracted dimensions need to match"),
    ("cross size", lambda: graphc.cross(graphc.ones(2, 4), graphc.ones(2, 4), dim=1), graphc.ShapeError,
     "must have length 3"),
    ("cdist columns", lambda: graphc.cdist(graphc.ones(2, 3), graphc.ones(2, 4)), graphc.ShapeError, "same number of columns"),
    ("baddbmm shapes", lambda: graphc.baddbmm(graphc.ones(2, 3, 3), graphc.ones(2, 3, 4), graphc.ones(2, 3, 3)),
     graphc.ShapeError, r"baddbmm.*\[2, 3, 4\].*\[2, 3, 3\]"),
    ("quantile q range", lambda: graphc.quantile(graphc.ones(3), 1.5), ValueError, r"q values must be in the range \[0, 1\]"),
    ("quantile int input", lambda: graphc.quantile(graphc.tensor([1, 2]), 0.5), graphc.DTypeError, "float or double"),
    ("kthvalue k", lambda: graphc.kthvalue(graphc.ones(3), 4), RuntimeError, "k out of range"),
    ("scatter_reduce reduce", lambda: graphc.ones(3).scatter_reduce(0, graphc.tensor([0]), graphc.ones(1), "max"),
     RuntimeError, "reduce argument must be either sum, prod, mean, amax or amin"),
    ("index_fill value dims", lambda: graphc.ones(3).index_fill(0, graphc.tensor([0]), graphc.ones(2)), graphc.ShapeError,
     "0-dimensional value"),
    ("masked_scatter short source", lambda: graphc.ones(3).masked_scatter(graphc.tensor([True, True, True]), graphc.ones(2)),
     RuntimeError, "at least 3 elements"),
    ("put out of range", lambda: graphc.ones(2, 2).put(graphc.tensor([4]), graphc.ones(1)), IndexError, "got 4"),
    ("unfold size", lambda: graphc.ones(3, 4).unfold(1, 5, 1), graphc.ShapeError, "maximum size for tensor at dimension 1 is 4"),
    ("as_strided past the storage", lambda: graphc.as_strided(graphc.ones(4), (3,), (2,)), graphc.ShapeError,
     "storage of 5 elements, but the storage has 4"),
    ("hsplit indivisible", lambda: graphc.hsplit(graphc.ones(2, 5), 2), RuntimeError, "not divisible by the split_size 2"),
    ("frac of int", lambda: graphc.frac(graphc.tensor([1])), NotImplementedError, "frac expects a floating-point input"),
    ("positive of bool", lambda: graphc.positive(graphc.tensor([True])), graphc.DTypeError, "on a bool tensor"),
    ("histc bins", lambda: graphc.histc(graphc.ones(3), bins=0), RuntimeError, "bins must be > 0"),
    ("bincount negative", lambda: graphc.bincount(graphc.tensor([1, -1])), ValueError, "non-negative"),
    ("take_along_dim dims", lambda: graphc.take_along_dim(graphc.ones(2, 3), graphc.tensor([0]), 1), graphc.ShapeError,
     "same number of dimensions"),
    ("slice_scatter src", lambda: graphc.slice_scatter(graphc.ones(4), graphc.ones(3), 0, 0, 2), graphc.ShapeError,
     r"src size = \[3\], slice size = \[2\]"),
    ("searchsorted side", lambda: graphc.searchsorted(graphc.ones(3), graphc.ones(2), side="middle"), RuntimeError,
     "side can only be 'left' or 'right'"),
    ("diff 0-d", lambda: graphc.diff(graphc.tensor(1.0)), RuntimeError, "at least one-dimensional"),
    ("gradient too short", lambda: graphc.gradient(graphc.ones(2), edge_order=2), RuntimeError, "edge_order\\+1"),
    ("renorm 1-d", lambda: graphc.renorm(graphc.ones(3), 2, 0, 1.0), RuntimeError, "at least 2 dimensions"),
    ("resize_ with grad", lambda: graphc.ones(2, requires_grad=True).resize_(3), RuntimeError,
     "cannot resize variables that require grad"),
]


@pytest.mark.parametrize("name,fn,exc,match", ERRORS, ids=[e[0] for e in ERRORS])
def test_error(name, fn, exc, match):
    with pytest.raises(exc, match=match):
        fn()


def test_hand_computed_semantics():
    """Small cases checked against values worked out by hand (and PyTorch 2.13's outputs)."""
    nan = float("nan")
    r = graphc.cummax(graphc.tensor([1.0, nan, 3.0, nan, 0.0]), 0)
    assert r.indices.tolist() == [0, 1, 1, 3, 3]  # the latest NaN is the running maximum's source
    assert graphc.cummax(graphc.tensor([1, 1, 2, 2, 1]), 0).indices.tolist() == [0, 1, 2, 3, 3]
    assert graphc.median(graphc.tensor([[3.0, nan, 1.0, nan]]), 1).indices.tolist() == [1]
    assert graphc.mode(graphc.tensor([[3.0, 1.0, 1.0, 3.0, 2.0]]), 1).indices.tolist() == [2]
    assert graphc.quantile(graphc.tensor([1.0, 2.0, 3.0, 4.0]), 0.5, interpolation="nearest").item() == 3.0
    assert graphc.tensor([-3, 4]).scatter_reduce(0, graphc.tensor([0, 0]), graphc.tensor([-4, 0]), "mean").tolist() == [-3, 4]
    assert graphc.bincount(graphc.tensor([0, 2, 2]), weights=graphc.tensor([1.0, 2.0, 3.0])).tolist() == [1.0, 0.0, 5.0]
    assert graphc.round(graphc.tensor([15.0, 25.0]), decimals=-1).tolist() == [20.0, 20.0]  # half to even
    assert graphc.fmax(graphc.tensor([nan, 1.0]), graphc.tensor([2.0, nan])).tolist() == [2.0, 1.0]
    b = graphc.tensor([[True, False], [False, False]])
    assert b.amax(1).tolist() == [True, False] and b.min().item() is False and b.sign().dtype is graphc.bool
    x = graphc.arange(10.0)
    v = graphc.as_strided(x, (2, 2), (1, 1))
    v.mul_(10)  # a view: the write shows in the base
    assert x[:3].tolist() == [0.0, 10.0, 20.0]
    t = graphc.arange(6.0)
    t.resize_(2, 2)
    assert t.tolist() == [[0.0, 1.0], [2.0, 3.0]]
    t.resize_(5)
    assert t.tolist() == [0.0, 1.0, 2.0, 3.0, 0.0]
    assert graphc.cosine_similarity(graphc.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]), graphc.tensor([[1.0, 0.0, 0.0]]),
                                    dim=0).tolist()[0] == pytest.approx(2**-0.5)


def test_cumprod_gradient_with_zeros_by_hand():
    x = graphc.tensor([2.0, 0.0, 3.0, 0.0, 5.0], dtype=graphc.float64, requires_grad=True)
    graphc.cumprod(x, 0).sum().backward()
    # out = [2, 0, 0, 0, 0]; d/dx0 = 1; d/dx1 = 2 + 2*3 = 8 (the first zero); after it every output holds that zero
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 8.0, 0.0, 0.0, 0.0])


def test_native_batch_norm_updates_running_stats():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 3))
    rm, rv = graphc.zeros(3, dtype=graphc.float64), graphc.ones(3, dtype=graphc.float64)
    graphc.native_batch_norm(graphc.tensor(x), None, None, rm, rv, True, 0.1, 1e-5)
    np.testing.assert_allclose(rm.numpy(), 0.1 * x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(rv.numpy(), 0.9 + 0.1 * x.var(0, ddof=1), rtol=1e-12)


def test_max_pool2d_with_indices_backward_by_hand():
    x = graphc.zeros(1, 1, 2, 3)
    g = graphc.tensor([[[[1.0, 2.0]]]])
    idx = graphc.tensor([[[[4, 4]]]])  # both windows picked input (1, 1)
    out = graphc.max_pool2d_with_indices_backward(g, x, (2, 2), (1, 1), 0, 1, False, idx)
    np.testing.assert_array_equal(out.numpy()[0, 0], [[0.0, 0.0, 0.0], [0.0, 3.0, 0.0]])
