"""Generic tests over the op database (``opinfo.OPS``), plus the cases a table does not
express: type promotion, memory sharing of views, in-place and ``out=`` forms, and
the errors a user's mistake must raise.

Forward results are compared with float64 numpy references at per-dtype
tolerances (``opinfo.TOLERANCES``); integer and bool results exactly. Backward
is ``graphc.autograd.gradcheck`` (central differences) on float64 inputs.
"""

from __future__ import annotations

import math
import os
import sys
import warnings

import numpy as np
import pytest

import graphc
from graphc.autograd import gradcheck

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from opinfo import NC, OPS, S, b8, f16, f32, f64, i32, i64, layout, to_graphc, to_numpy, u8
from opinfo.core import as_list, replace_tensors, tensors_in

# ----------------------------------------------------------------------------
# helpers


def assert_matches(got, want, expected_dtype, spec):
    """Compare graphc output(s) with the reference: shape, dtype, values."""
    gots, wants = as_list(got), as_list(want) if isinstance(want, (list, tuple)) else [want]
    assert len(gots) == len(wants), f"{len(gots)} outputs, reference has {len(wants)}"
    dtypes = expected_dtype if isinstance(expected_dtype, tuple) else (expected_dtype,) * len(gots)
    for g, w, d in zip(gots, wants, dtypes):
        assert isinstance(g, graphc.Tensor), f"expected a Tensor, got {type(g).__name__}"
        w = np.asarray(w)
        a = g.detach().numpy()
        assert tuple(g.shape) == w.shape, f"shape {tuple(g.shape)}, reference {w.shape}"
        assert a.shape == w.shape
        assert g.dtype is d, f"dtype {g.dtype}, expected {d}"
        if g.dtype.is_floating_point:
            rtol, atol = spec.tolerance(g.dtype)
            np.testing.assert_allclose(a.astype(np.float64), w.astype(np.float64), rtol=rtol, atol=atol, equal_nan=True)
        else:
            np.testing.assert_array_equal(a, w)


def _cases():
    for spec in OPS:
        for dtype in spec.dtypes:
            for i, s in enumerate(spec.sample_list(dtype)):
                yield pytest.param(spec, dtype, s, id=f"{spec.name}-{dtype.name}-{i}-{s.desc}")


def _grad_cases():
    for spec in OPS:
        if not spec.differentiable or f64 not in spec.dtypes:
            continue
        for i, s in enumerate(spec.sample_list(f64)):
            if s.grad:
                yield pytest.param(spec, s, id=f"{spec.name}-{i}-{s.desc}")


FORWARD = list(_cases())
GRAD = list(_grad_cases())


def _call(spec, sample, requires_grad=False):
    args = to_graphc(sample.args, requires_grad)
    kwargs = to_graphc(sample.kwargs, requires_grad)
    return spec.op(*args, **kwargs), args, kwargs


def _reference(spec, sample):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy's mean/var of empty slices
        return spec.ref(*to_numpy(sample.args), **to_numpy(sample.kwargs))


# ----------------------------------------------------------------------------
# the generic tests


def test_database_covers_the_issue():
    names = {spec.name for spec in OPS}
    required = """neg abs sign exp exp2 log log2 log10 sqrt rsqrt sin cos tan tanh sigmoid relu erf log1p expm1
    reciprocal square floor ceil round trunc asin acos atan sinh cosh add sub mul div div_trunc div_floor
    floor_divide remainder fmod pow maximum minimum atan2 eq ne lt le gt ge logical_and logical_or logical_xor
    logical_not bitwise_and bitwise_or bitwise_xor bitwise_not where clamp masked_fill sum mean prod max min
    amax amin argmax argmin std var all any norm logsumexp softmax log_softmax cumsum matmul mm bmm mv dot
    view reshape flatten squeeze unsqueeze permute transpose t T expand contiguous narrow flip roll tril triu
    cat stack split chunk unbind gather scatter_add index_select getitem setitem""".split()
    assert not set(required) - names


@pytest.mark.parametrize("spec,dtype,sample", FORWARD)
def test_forward(spec, dtype, sample):
    out, _, _ = _call(spec, sample)
    want = _reference(spec, sample)
    assert_matches(out, want, sample.dtype or spec.out_dtype(dtype), spec)


@pytest.mark.parametrize("spec,sample", GRAD)
def test_forward_with_grad(spec, sample):
    """The same values when the inputs require grad (autograd paths, e.g. setitem's)."""
    out, args, kwargs = _call(spec, sample, requires_grad=True)
    assert_matches(out, _reference(spec, sample), sample.dtype or spec.out_dtype(f64), spec)
    if any(t.requires_grad for t in tensors_in((args, kwargs))):
        floats = [o for o in as_list(out) if o.dtype.is_floating_point]
        assert all(o.requires_grad for o in floats), "the result does not require grad"


@pytest.mark.parametrize("spec,sample", GRAD)
def test_gradcheck(spec, sample):
    tree = to_graphc((sample.args, sample.kwargs), requires_grad=True)
    inputs = tensors_in(tree)
    if not any(t.requires_grad for t in inputs):
        pytest.skip("no floating-point input")

    def fn(*ts):
        args, kwargs = replace_tensors(tree, iter(ts))
        return tuple(o for o in as_list(spec.op(*args, **kwargs)) if o.dtype.is_floating_point)

    assert gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3)


def _method_cases():
    for spec in OPS:
        if spec.method:
            dtype = spec.dtypes[0]
            for i, s in enumerate(spec.sample_list(dtype)[:3]):
                yield pytest.param(spec, dtype, s, id=f"{spec.name}-{dtype.name}-{i}")


@pytest.mark.parametrize("spec,dtype,sample", list(_method_cases()))
def test_method_matches_function(spec, dtype, sample):
    x, *rest = to_graphc(sample.args)
    got = getattr(x, spec.method)(*rest, **to_graphc(sample.kwargs))
    assert_matches(got, _reference(spec, sample), sample.dtype or spec.out_dtype(dtype), spec)


def _inplace_cases():
    for spec in OPS:
        if not spec.inplace:
            continue
        dtype = f32 if f32 in spec.dtypes else spec.dtypes[0]
        for i, s in enumerate(spec.sample_list(dtype)):
            first = s.args[0].arr if isinstance(s.args[0], NC) else s.args[0]
            if not isinstance(first, np.ndarray):
                continue
            want = np.asarray(as_list(_reference(spec, s))[0])
            out_dtype = s.dtype or spec.out_dtype(dtype)
            if want.shape != first.shape or out_dtype.category > dtype.category:
                continue  # the result does not fit the tensor written into
            yield pytest.param(spec, dtype, s, id=f"{spec.inplace}-{dtype.name}-{i}-{s.desc}")


@pytest.mark.parametrize("spec,dtype,sample", list(_inplace_cases()))
def test_inplace(spec, dtype, sample):
    expected, _, _ = _call(spec, sample)
    x, *rest = to_graphc(sample.args)
    kwargs = to_graphc(sample.kwargs)
    others = [(t, t.numpy().copy(), t._version.value) for t in tensors_in((rest, kwargs))]
    ptr, strides, version = x.data_ptr(), x.stride(), x._version.value
    r = getattr(x, spec.inplace)(*rest, **kwargs)
    assert r is x
    assert x.dtype is dtype and x.data_ptr() == ptr and x.stride() == strides
    assert x._version.value == version + 1
    np.testing.assert_array_equal(x.numpy(), expected.to(dtype).numpy())
    for t, before, v in others:  # the other operands are left alone
        np.testing.assert_array_equal(t.numpy(), before)
        assert t._version.value == v


# ----------------------------------------------------------------------------
# type promotion (PyTorch's result_type; values against numpy)


def T(values, dtype=None):
    return graphc.tensor(values, dtype=dtype)


PROMOTION = [
    ("int64 + 2.5 -> float32", lambda: T([1, 2]) + 2.5, f32, [3.5, 4.5]),
    ("int32 * 2.5 -> float32", lambda: T([1, 2], i32) * 2.5, f32, [2.5, 5.0]),
    ("int32 + int64 0-d -> int32", lambda: T([1, 2], i32) + T(3), i32, [4, 5]),
    ("int32 + int64 1-d -> int64", lambda: T([1, 2], i32) + T([3, 4]), i64, [4, 6]),
    ("int32 + 3 -> int32 (weak scalar)", lambda: T([1, 2], i32) + 3, i32, [4, 5]),
    ("uint8 + int8 -> int16", lambda: T([200], u8) + T([-1], graphc.int8), graphc.int16, [199]),
    ("uint8 + int64 0-d -> uint8", lambda: T([1, 2], u8) + T(3), u8, [4, 5]),
    ("bool + int64 -> int64", lambda: T([True, False]) + T([2, 3]), i64, [3, 3]),
    ("bool + 1 -> int64", lambda: T([True, False]) + 1, i64, [2, 1]),
    ("bool * 2.5 -> float32", lambda: T([True, False]) * 2.5, f32, [2.5, 0.0]),
    ("bool + True -> bool", lambda: T([True, False]) + True, b8, [True, True]),
    ("int64 + True -> int64", lambda: T([1, 2]) + True, i64, [2, 3]),
    ("float16 + float32 -> float32", lambda: T([1.5], f16) + T([0.25], f32), f32, [1.75]),
    ("float16 + float32 0-d -> float16", lambda: T([1.5], f16) + T(0.25, f32), f16, [1.75]),
    ("float16 + 2.5 -> float16", lambda: T([1.5], f16) + 2.5, f16, [4.0]),
    ("float32 + float64 0-d -> float32", lambda: T([1.5]) + T(0.25, f64), f32, [1.75]),
    ("int64 * float64 0-d -> float64", lambda: T([1, 2]) * T(2.5, f64), f64, [2.5, 5.0]),
    ("int64 + float32 -> float32", lambda: T([1, 2]) + T([0.5, 0.5]), f32, [1.5, 2.5]),
    ("int / int -> float32", lambda: T([1, 2, 3]) / T([2, 2, 2]), f32, [0.5, 1.0, 1.5]),
    ("int32 / int32 -> float32", lambda: graphc.div(T([7, -7], i32), T([2, 2], i32)), f32, [3.5, -3.5]),
    ("int / 2 -> float32", lambda: T([1, 3]) / 2, f32, [0.5, 1.5]),
    ("int // int -> int", lambda: T([7, -7]) // T([2, 2]), i64, [3, -4]),
    ("div trunc int -> int", lambda: graphc.div(T([7, -7]), 2, rounding_mode="trunc"), i64, [3, -3]),
    ("int ** 0.5 -> float32", lambda: T([4, 9]) ** 0.5, f32, [2.0, 3.0]),
    ("2 ** int -> int64", lambda: 2 ** T([1, 3]), i64, [2, 8]),
    ("2.0 ** int -> float32", lambda: 2.0 ** T([1, 3]), f32, [2.0, 8.0]),
    ("exp(int) -> float32", lambda: graphc.exp(T([0, 1])), f32, [1.0, math.e]),
    ("sqrt(bool) -> float32", lambda: graphc.sqrt(T([True, False])), f32, [1.0, 0.0]),
    ("int == 1.5 -> bool", lambda: T([1, 2]) == 1.5, b8, [False, False]),
    ("int32 & int64 0-d -> int32", lambda: T([6, 3], i32) & T(5), i32, [4, 1]),
    ("clamp(int, min=1.5) -> float32", lambda: graphc.clamp(T([1, 2, 3]), min=1.5), f32, [1.5, 2.0, 3.0]),
    ("clamp(int, min=2) -> int64", lambda: graphc.clamp(T([1, 2, 3]), min=2), i64, [2, 2, 3]),
    ("where(c, int, 2.5) -> float32", lambda: graphc.where(T([True, False]), T([1, 2]), 2.5), f32, [1.0, 2.5]),
    (
        "where(c, f16, f32) -> float32",
        lambda: graphc.where(T([True, False]), T([1, 2], f16), T([3, 4], f32)),
        f32,
        [1.0, 4.0],
    ),
    ("cat(float32, float64) -> float64", lambda: graphc.cat([T([1.0]), T([2.0], f64)]), f64, [1.0, 2.0]),
    ("cat(int64, float32) -> float32", lambda: graphc.cat([T([1]), T([2.5])]), f32, [1.0, 2.5]),
    ("sum(bool) -> int64", lambda: T([True, True, False]).sum(), i64, 2),
    ("sum(int32) -> int64", lambda: T([1, 2], i32).sum(), i64, 3),
    ("sum(int32, dtype=f64)", lambda: T([1, 2], i32).sum(dtype=f64), f64, 3.0),
    ("cumsum(bool) -> int64", lambda: T([True, True]).cumsum(0), i64, [1, 2]),
    ("maximum(int, float) -> float32", lambda: graphc.maximum(T([1, 4]), T([2.5, 0.5])), f32, [2.5, 4.0]),
    ("mean(int, dtype=f64)", lambda: T([1, 2]).mean(dtype=f64), f64, 1.5),
    ("masked_fill(int, 2.7) keeps int", lambda: T([1, 2]).masked_fill(T([True, False]), 2.7), i64, [2, 2]),
]


@pytest.mark.parametrize("case", PROMOTION, ids=[c[0] for c in PROMOTION])
def test_type_promotion(case):
    _, fn, dtype, values = case
    out = fn()
    assert out.dtype is dtype
    np.testing.assert_allclose(out.numpy().astype(np.float64), np.asarray(values, np.float64), rtol=1e-6)


def test_result_type_function():
    assert graphc.result_type(T([1], i32), 2.5) is f32
    assert graphc.result_type(T([1], i32), T(1, i64)) is i32
    assert graphc.promote_types(i32, f16) is f16
    assert graphc.promote_types(f16, graphc.bfloat16) is f32
    assert graphc.promote_types(u8, graphc.int8) is graphc.int16


# ----------------------------------------------------------------------------
# views share memory with their base


def _base():
    return graphc.tensor(np.arange(1.0, 13.0).reshape(3, 4))


VIEWS = [
    ("view", lambda x: x.view(12), lambda a: a.reshape(12)),
    ("view -1", lambda x: x.view(2, -1), lambda a: a.reshape(2, -1)),
    ("reshape (contiguous)", lambda x: x.reshape(4, 3), lambda a: a.reshape(4, 3)),
    ("flatten", lambda x: x.flatten(), lambda a: a.reshape(-1)),
    ("t", lambda x: x.t(), lambda a: a.T),
    ("T", lambda x: x.T, lambda a: a.T),
    ("transpose", lambda x: x.transpose(0, 1), lambda a: a.T),
    ("permute", lambda x: x.permute(1, 0), lambda a: a.T),
    ("int index", lambda x: x[1], lambda a: a[1]),
    ("slice with step", lambda x: x[:, ::2], lambda a: a[:, ::2]),
    ("slice and None", lambda x: x[None, 1:, 2], lambda a: a[None, 1:, 2]),
    ("ellipsis", lambda x: x[..., -1], lambda a: a[..., -1]),
    ("narrow", lambda x: x.narrow(1, 1, 2), lambda a: a[:, 1:3]),
    ("select", lambda x: x.select(1, 2), lambda a: a[:, 2]),
    ("unsqueeze", lambda x: x.unsqueeze(1), lambda a: a[:, None]),
    ("squeeze", lambda x: x[:1].squeeze(0), lambda a: a[0]),
    ("unbind", lambda x: x.unbind(1)[3], lambda a: a[:, 3]),
    ("split", lambda x: x.split(2)[1], lambda a: a[2:]),
    ("chunk", lambda x: x.chunk(2, dim=1)[0], lambda a: a[:, :2]),
    ("contiguous of contiguous", lambda x: x.contiguous(), lambda a: a),
    ("detach", lambda x: x.detach(), lambda a: a),
    ("view of a view", lambda x: x[1:].view(2, 2, 2)[:, 1], lambda a: a[1:].reshape(2, 2, 2)[:, 1]),
    ("mT", lambda x: x.mT, lambda a: a.T),
]


@pytest.mark.parametrize("name,view,np_view", VIEWS, ids=[v[0] for v in VIEWS])
def test_view_writes_through_both_ways(name, view, np_view):
    x = _base()
    mirror = np.arange(1.0, 13.0).reshape(3, 4)
    v = view(x)
    assert np.shares_memory(v.numpy(), x.numpy())
    v.mul_(-1)  # write through the view...
    np_view(mirror)[...] *= -1
    np.testing.assert_array_equal(x.numpy(), mirror)  # ...shows in the base
    x.add_(100)  # and a write to the base shows in the view
    mirror += 100
    np.testing.assert_array_equal(v.numpy(), np_view(mirror))
    assert v._version.value == x._version.value == 2


def test_setitem_through_view_writes_base():
    x = _base()
    row = x[1]
    row[2] = -5.0
    x.t()[0] = 0.0
    x[:, 1:][x[:, 1:] > 10] = 7.0
    want = np.arange(1.0, 13.0).reshape(3, 4)
    want[1, 2] = -5
    want[:, 0] = 0
    sub = want[:, 1:]
    sub[sub > 10] = 7
    np.testing.assert_array_equal(x.numpy(), want)


def test_t_of_contiguous_is_a_view():
    x = _base()
    y = x.t()
    assert x.is_contiguous() and not y.is_contiguous()
    assert y.data_ptr() == x.data_ptr()
    assert y.stride() == (1, 4) and x.stride() == (4, 1)
    assert y._base is x


def test_numpy_and_from_numpy_share_memory():
    x = _base()
    a = x.numpy()
    a[0, 0] = 42.0
    assert x[0, 0].item() == 42.0
    x.mul_(2)
    assert a[0, 0] == 84.0
    arr = np.zeros((2, 2))
    t = graphc.from_numpy(arr)
    t[1] = 3.0
    np.testing.assert_array_equal(arr, [[0, 0], [3, 3]])
    arr[0, 1] = 9.0
    assert t[0, 1].item() == 9.0


COPIES = [
    ("reshape of non-contiguous", lambda x: x.t().reshape(12)),
    ("flatten of non-contiguous", lambda x: x[:, :2].flatten()),
    ("contiguous of non-contiguous", lambda x: x.t().contiguous()),
    ("clone", lambda x: x.clone()),
    ("flip", lambda x: x.flip(0)),
    ("advanced index", lambda x: x[[0, 1]]),
    ("bool mask", lambda x: x[x > 3]),
]


@pytest.mark.parametrize("name,fn", COPIES, ids=[c[0] for c in COPIES])
def test_copies_do_not_alias(name, fn):
    x = _base()
    y = fn(x)
    assert not np.shares_memory(y.numpy(), x.numpy())
    y.fill_(0.0)
    np.testing.assert_array_equal(x.numpy(), np.arange(1.0, 13.0).reshape(3, 4))


def test_reshape_of_non_contiguous_values_and_contiguity():
    x = _base()
    y = x.t().reshape(2, 6)
    assert y.is_contiguous()
    np.testing.assert_array_equal(y.numpy(), np.arange(1.0, 13.0).reshape(3, 4).T.reshape(2, 6))


# ----------------------------------------------------------------------------
# in-place: versions and autograd


def test_inplace_on_view_bumps_base_version_only_once():
    x = _base()
    v = x[1:]
    y = x * 2  # out of place: no bump
    assert x._version.value == 0
    v.add_(1)
    assert x._version.value == v._version.value == 1
    assert y._version.value == 0
    v[0, 0] = 5.0
    assert x._version.value == 2


def test_inplace_after_save_raises_at_backward():
    x = graphc.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    z = y.exp()  # saves its output
    z.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_inplace_on_leaf_requiring_grad_raises():
    x = graphc.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.add_(1)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x[0] = 0.0


def test_inplace_through_view_of_nonleaf_gradcheck():
    def fn(x, w):
        y = x * 1
        y[:, 1].mul_(3)  # CopySlices: in place through a view of a non-leaf
        y.t()[0] = w  # setitem through a transposed view
        return y

    x = graphc.from_numpy(np.random.default_rng(0).standard_normal((3, 4))).requires_grad_()
    w = graphc.tensor([0.5, -1.0, 2.0], dtype=f64, requires_grad=True)
    assert gradcheck(fn, (x, w))
    y = fn(x, w)
    want = x.detach().numpy().copy()
    want[:, 1] *= 3
    want[:, 0] = [0.5, -1.0, 2.0]
    np.testing.assert_allclose(y.detach().numpy(), want)


def test_getitem_and_setitem_gradients_by_hand():
    x = graphc.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    v = graphc.tensor([10.0, 20.0], requires_grad=True)
    y = x * 2
    y[:, 1] = v  # overwritten positions get no gradient from y
    (y * graphc.tensor([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[2.0, 0.0, 6.0], [2.0, 0.0, 6.0]])
    np.testing.assert_array_equal(v.grad.numpy(), [2.0, 2.0])
    x.grad = None
    x[[0, 0, 1], [2, 2, 0]].sum().backward()  # repeated indices accumulate
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 0.0, 2.0], [1.0, 0.0, 0.0]])


AUGMENTED = [
    ("+=", lambda x: x.__iadd__(2), lambda a: a + 2),
    ("-=", lambda x: x.__isub__(T([1.0, 2.0, 3.0])), lambda a: a - [1.0, 2.0, 3.0]),
    ("*=", lambda x: x.__imul__(T(3.0)), lambda a: a * 3),
    ("/=", lambda x: x.__itruediv__(4), lambda a: a / 4),
    ("//=", lambda x: x.__ifloordiv__(2), lambda a: a // 2),
    ("%=", lambda x: x.__imod__(2.5), lambda a: np.mod(a, 2.5)),
    ("**=", lambda x: x.__ipow__(2), lambda a: a**2),
]


@pytest.mark.parametrize("name,op,ref", AUGMENTED, ids=[a[0] for a in AUGMENTED])
def test_augmented_assignment_is_in_place(name, op, ref):
    x = T([-1.5, 2.0, 7.0])
    alias, ptr = x, x.data_ptr()
    y = op(x)
    assert y is alias and y.data_ptr() == ptr and x._version.value == 1
    np.testing.assert_allclose(x.numpy(), ref(np.asarray([-1.5, 2.0, 7.0])), rtol=1e-6)


def test_augmented_assignment_int_and_bool():
    x = T([6, 3])
    x &= 5
    x |= 8
    x ^= 1
    np.testing.assert_array_equal(x.numpy(), [13, 8])
    assert x.dtype is i64
    m = T([True, False])
    m |= T([False, False])
    m &= True
    np.testing.assert_array_equal(m.numpy(), [True, False])
    with pytest.raises(RuntimeError, match="can't be cast"):
        x /= 2  # int64 can't hold a float result


def test_ops_on_expanded_inputs():
    a = graphc.tensor([[1.0], [2.0], [3.0]]).expand(3, 4)  # stride 0
    assert a.stride() == (1, 0)
    np.testing.assert_array_equal((a * 2).numpy(), np.repeat([[2.0], [4.0], [6.0]], 4, 1))
    np.testing.assert_array_equal(a.sum(1).numpy(), [4.0, 8.0, 12.0])
    np.testing.assert_array_equal((a @ graphc.ones(4, 2)).numpy(), [[4.0, 4.0], [8.0, 8.0], [12.0, 12.0]])
    c = a.contiguous()
    assert c.is_contiguous() and c.stride() == (4, 1)
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        a.add_(1)


def test_max_min_return_named_tuples():
    x = T([[1.0, 5.0], [7.0, 2.0]])
    r = x.max(dim=1)
    np.testing.assert_array_equal(r.values.numpy(), [5.0, 7.0])
    np.testing.assert_array_equal(r.indices.numpy(), [1, 0])
    values, indices = graphc.min(x, 0, keepdim=True)
    np.testing.assert_array_equal(values.numpy(), [[1.0, 2.0]])
    np.testing.assert_array_equal(indices.numpy(), [[0, 1]])


def test_infinities_in_stable_composites():
    inf = float("inf")
    np.testing.assert_array_equal(T([-inf, 0.0]).softmax(0).numpy(), [0.0, 1.0])
    assert T([-inf, -inf]).logsumexp(0).item() == -inf
    np.testing.assert_array_equal(T([[-inf, 0.0]]).log_softmax(1).numpy(), [[-inf, 0.0]])


def test_nan_propagation():
    nan = float("nan")
    np.testing.assert_array_equal(graphc.maximum(T([nan, 1.0]), T([0.0, nan])).numpy(), [nan, nan])
    assert math.isnan(T([1.0, nan, 3.0]).max().item())
    assert math.isnan(T([1.0, nan, 3.0]).amin(0).item())
    assert T([1.0, nan, 3.0]).argmax().item() == 1
    np.testing.assert_array_equal(T([nan, -1.0]).clamp(0.0, 1.0).numpy(), [nan, 0.0])
    np.testing.assert_array_equal(T([nan, -1.0]).relu().numpy(), [nan, 0.0])
    np.testing.assert_array_equal((T([nan]) == T([nan])).numpy(), [False])


def test_out_aliasing_an_input():
    a = T([[1.0, 2.0], [3.0, 4.0]])
    graphc.add(a, a, out=a)
    np.testing.assert_array_equal(a.numpy(), [[2.0, 4.0], [6.0, 8.0]])
    graphc.matmul(a, T([[0.0, 1.0], [1.0, 0.0]]), out=a)
    np.testing.assert_array_equal(a.numpy(), [[4.0, 2.0], [8.0, 6.0]])


def test_relu_inplace_flag():
    x = graphc.tensor([-1.0, 2.0])
    r = graphc.relu(x, inplace=True)
    assert r is x
    np.testing.assert_array_equal(x.numpy(), [0.0, 2.0])


# ----------------------------------------------------------------------------
# out=


OUT = [
    ("add", lambda a, b, out: graphc.add(a, b, out=out), lambda a, b: a + b),
    ("sub alpha", lambda a, b, out: graphc.sub(a, b, alpha=2, out=out), lambda a, b: a - 2 * b),
    ("mul", lambda a, b, out: graphc.mul(a, b, out=out), lambda a, b: a * b),
    ("div", lambda a, b, out: graphc.div(a, b, out=out), lambda a, b: a / b),
    ("maximum", lambda a, b, out: graphc.maximum(a, b, out=out), np.maximum),
    ("exp", lambda a, b, out: graphc.exp(a, out=out), lambda a, b: np.exp(a)),
    ("where", lambda a, b, out: graphc.where(a > 0, a, b, out=out), lambda a, b: np.where(a > 0, a, b)),
    ("clamp", lambda a, b, out: graphc.clamp(a, -0.5, 0.5, out=out), lambda a, b: np.clip(a, -0.5, 0.5)),
]


@pytest.mark.parametrize("name,fn,ref", OUT, ids=[o[0] for o in OUT])
def test_out_argument(name, fn, ref):
    rng = np.random.default_rng(1)
    a, b = rng.uniform(-1, 1, (2, 3)), rng.uniform(0.5, 1, (2, 3))
    r = graphc.empty(2, 3, dtype=f64)
    ptr = r.data_ptr()
    res = fn(graphc.tensor(a), graphc.tensor(b), r)
    assert res is r and r.data_ptr() == ptr
    np.testing.assert_allclose(r.numpy(), ref(a, b), rtol=1e-12)


def test_out_argument_other_ops():
    a = graphc.tensor([[1.0, 2.0], [3.0, 4.0]])
    r = graphc.empty(2)
    assert graphc.sum(a, 1, out=r) is r
    np.testing.assert_array_equal(r.numpy(), [3.0, 7.0])
    m = graphc.empty(2, 2)
    assert graphc.matmul(a, a, out=m) is m
    np.testing.assert_array_equal(m.numpy(), [[7.0, 10.0], [15.0, 22.0]])
    c = graphc.empty(4, 2)
    assert graphc.cat([a, a], out=c) is c
    np.testing.assert_array_equal(c.numpy(), np.concatenate([a.numpy(), a.numpy()]))


def test_out_non_contiguous_and_empty():
    base = graphc.zeros(3, 2)
    out = base.t()  # write into a transposed view
    graphc.add(graphc.ones(2, 3), 1, out=out)
    np.testing.assert_array_equal(base.numpy(), np.full((3, 2), 2.0))
    empty = graphc.empty(0)
    res = graphc.mul(graphc.ones(2, 2), 3, out=empty)  # an empty out is resized, as in PyTorch
    assert res is empty and tuple(empty.shape) == (2, 2)
    np.testing.assert_array_equal(empty.numpy(), np.full((2, 2), 3.0))


def test_out_dtype_cannot_hold_result():
    r = graphc.empty(2, dtype=i64)
    with pytest.raises(RuntimeError, match=r"(?i)float.*can't be cast.*int64"):
        graphc.add(T([1, 2]), 0.5, out=r)


# ----------------------------------------------------------------------------
# errors: class and message (the op and the shapes / dtypes / dims involved)


def ones(*s, dtype=f32):
    return graphc.ones(*s, dtype=dtype)


ERRORS = [
    # broadcasting
    (
        "add broadcast",
        lambda: graphc.add(ones(2, 3), ones(4)),
        graphc.ShapeError,
        r"add: shapes \[2, 3\] and \[4\] cannot be broadcast",
    ),
    (
        "mul operator broadcast",
        lambda: ones(2, 3) * ones(2, 2),
        graphc.ShapeError,
        r"mul: shapes \[2, 3\] and \[2, 2\]",
    ),
    (
        "where broadcast",
        lambda: graphc.where(ones(3) > 0, ones(2, 3), ones(2, 1, 2)),
        graphc.ShapeError,
        r"where: shapes \[3\] and \[2, 3\] and \[2, 1, 2\]",
    ),
    ("comparison broadcast", lambda: ones(3) < ones(4), graphc.ShapeError, r"lt: shapes \[3\] and \[4\]"),
    (
        "in-place broadcast to bigger",
        lambda: ones(3).add_(ones(2, 3)),
        graphc.ShapeError,
        r"add_: output with shape \[3\] doesn't match the broadcast shape \[2, 3\]",
    ),
    ("expand", lambda: ones(2, 3).expand(4, 3), graphc.ShapeError, r"expand.*\[4, 3\].*\[2, 3\]"),
    # matmul
    ("matmul 2d", lambda: ones(2, 3) @ ones(4, 5), graphc.ShapeError, r"matmul.*\[2, 3\].*\[4, 5\]"),
    ("matmul 2d @ 1d", lambda: graphc.matmul(ones(2, 3), ones(4)), graphc.ShapeError, r"matmul.*\[2, 3\].*\[4\]"),
    ("matmul 1d @ 1d", lambda: graphc.matmul(ones(3), ones(4)), graphc.ShapeError, r"(dot|matmul).*\[3\].*\[4\]"),
    (
        "matmul batch dims",
        lambda: ones(2, 2, 3) @ ones(3, 3, 2),
        graphc.ShapeError,
        r"matmul.*\[2, 2, 3\].*\[3, 3, 2\]",
    ),
    ("matmul 0-d", lambda: graphc.matmul(ones(), ones(3)), graphc.ShapeError, r"matmul.*0-d"),
    ("mm of a vector", lambda: graphc.mm(ones(3), ones(3, 2)), graphc.ShapeError, r"mm.*\[3\]"),
    ("mm inner", lambda: graphc.mm(ones(2, 3), ones(2, 3)), graphc.ShapeError, r"\[2, 3\].*\[2, 3\]"),
    (
        "bmm batch",
        lambda: graphc.bmm(ones(2, 2, 3), ones(3, 3, 2)),
        graphc.ShapeError,
        r"bmm.*\[2, 2, 3\].*\[3, 3, 2\]",
    ),
    ("mv", lambda: graphc.mv(ones(2, 3), ones(4)), graphc.ShapeError, r"\[2, 3\].*\[4\]"),
    ("dot 2d", lambda: graphc.dot(ones(2, 2), ones(2)), graphc.ShapeError, r"1D tensors expected.*2D"),
    # views
    ("view incompatible strides", lambda: ones(2, 3).t().view(6), graphc.ShapeError, r"view.*\[3, 2\].*\[6\].*reshape"),
    ("view wrong numel", lambda: ones(2, 3).view(4), graphc.ShapeError, r"view.*\[4\].*6.*\[2, 3\]"),
    ("view two -1", lambda: ones(2, 3).view(-1, -1), graphc.ShapeError, r"view: only one dimension can be inferred"),
    ("reshape wrong numel", lambda: ones(2, 3).reshape(5, -1), graphc.ShapeError, r"reshape.*\[5, -1\].*6.*\[2, 3\]"),
    (
        "permute wrong length",
        lambda: ones(2, 3).permute(0),
        RuntimeError,
        r"permute.*input.dim\(\) = 2.*len\(dims\) = 1",
    ),
    (
        "t of 3-d",
        lambda: ones(2, 3, 4).t(),
        RuntimeError,
        r"t\(\) expects a tensor with <= 2 dimensions, but self is 3D",
    ),
    # cat / stack / split
    (
        "cat sizes",
        lambda: graphc.cat([ones(2, 3), ones(2, 4)]),
        graphc.ShapeError,
        r"cat: sizes of tensors must match except in dimension 0.*\[2, 3\].*\[2, 4\]",
    ),
    (
        "cat ndim",
        lambda: graphc.cat([ones(2, 3), ones(3)]),
        graphc.ShapeError,
        r"cat.*same number of dimensions.*\[2, 3\].*\[3\]",
    ),
    ("cat 0-d", lambda: graphc.cat([ones(), ones()]), graphc.ShapeError, r"cat: zero-dimensional tensor"),
    ("stack sizes", lambda: graphc.stack([ones(2, 3), ones(3, 2)]), graphc.ShapeError, r"stack.*\[2, 3\].*\[3, 2\]"),
    ("split sections", lambda: ones(5).split([2, 2]), graphc.ShapeError, r"split_with_sizes.*5.*\[2, 2\]"),
    # dims
    (
        "sum dim",
        lambda: ones(2, 3).sum(2),
        graphc.DimError,
        r"sum: Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)",
    ),
    (
        "sum dim tuple",
        lambda: ones(2, 3).sum((0, -3)),
        graphc.DimError,
        r"sum: Dimension out of range .*\[-2, 1\], but got -3",
    ),
    ("sum dim of 0-d", lambda: ones().sum(1), graphc.DimError, r"sum: Dimension out of range .*\[-1, 0\], but got 1"),
    ("mean dim", lambda: ones(2, 3).mean(-3), graphc.DimError, r"mean: Dimension out of range"),
    ("max dim", lambda: ones(2, 3).max(2), graphc.DimError, r"max: Dimension out of range"),
    ("argmax dim", lambda: ones(2, 3).argmax(5), graphc.DimError, r"argmax: Dimension out of range"),
    ("softmax dim", lambda: graphc.softmax(ones(2, 3), dim=2), graphc.DimError, r"softmax: Dimension out of range"),
    ("cumsum dim", lambda: ones(2, 3).cumsum(-3), graphc.DimError, r"cumsum: Dimension out of range"),
    (
        "transpose dim",
        lambda: ones(2, 3).transpose(0, 2),
        graphc.DimError,
        r"transpose: Dimension out of range .*\[-2, 1\], but got 2",
    ),
    (
        "unsqueeze dim",
        lambda: ones(2, 3).unsqueeze(3),
        graphc.DimError,
        r"unsqueeze: Dimension out of range .*\[-3, 2\], but got 3",
    ),
    ("squeeze dim", lambda: ones(2, 3).squeeze(2), graphc.DimError, r"squeeze: Dimension out of range"),
    ("cat dim", lambda: graphc.cat([ones(2), ones(2)], 1), graphc.DimError, r"cat: Dimension out of range"),
    (
        "gather dim",
        lambda: graphc.gather(ones(2, 3), 2, graphc.zeros(2, 3, dtype=i64)),
        graphc.DimError,
        r"gather: Dimension out of range",
    ),
    ("flip dim", lambda: ones(2, 3).flip(3), graphc.DimError, r"flip: Dimension out of range"),
    ("bad dim is an IndexError", lambda: ones(2).sum(1), IndexError, r"Dimension out of range"),
    # dtypes
    (
        "bool subtraction",
        lambda: T([True]) - T([False]),
        graphc.DTypeError,
        r"Subtraction, the `-` operator, with two bool tensors is not supported",
    ),
    ("bool negation", lambda: -T([True]), graphc.DTypeError, r"neg: not defined for bool"),
    (
        "matmul int @ float",
        lambda: ones(2, 3) @ ones(3, 2, dtype=i64),
        graphc.DTypeError,
        r"matmul: expected both inputs to have the same dtype.*float32.*int64",
    ),
    (
        "mm float64 @ float32",
        lambda: graphc.mm(ones(2, 3, dtype=f64), ones(3, 2)),
        graphc.DTypeError,
        r"matmul.*float64.*float32",
    ),
    (
        "bitwise on float",
        lambda: graphc.bitwise_and(ones(2), ones(2)),
        graphc.DTypeError,
        r"bitwise_and: expected integer or bool inputs, got graphc.float32",
    ),
    ("mean of int", lambda: T([1, 2]).mean(), graphc.DTypeError, r"mean\(\).*Int64"),
    (
        "in-place float into int",
        lambda: T([1, 2]).add_(1.5),
        graphc.DTypeError,
        r"add_: result type Float32 can't be cast to the desired output type Int64",
    ),
    (
        "masked_fill int mask",
        lambda: ones(2).masked_fill(T([1, 0]), 0.0),
        graphc.DTypeError,
        r"masked_fill: expected a bool mask",
    ),
    ("index with float tensor", lambda: ones(3)[T([0.0, 1.0])], IndexError, r"tensors used as indices must be long"),
    (
        "requires_grad on int",
        lambda: T([1, 2]).requires_grad_(),
        RuntimeError,
        r"only Tensors of floating point and complex dtype can require gradients",
    ),
    # indexing and reductions of empty tensors
    ("index out of range", lambda: ones(3, 4)[3], IndexError, r"index 3 is out of bounds for dimension 0 with size 3"),
    (
        "list index out of range",
        lambda: ones(3, 4)[:, [0, 4]],
        IndexError,
        r"index 4 is out of bounds for dimension 1 with size 4",
    ),
    ("too many indices", lambda: ones(3)[0, 0], IndexError, r"too many indices for tensor of dimension 1"),
    ("index_select out of range", lambda: ones(3).index_select(0, T([3])), IndexError, r"index_select.*3.*size 3"),
    (
        "gather index rank",
        lambda: graphc.gather(ones(2, 3), 1, graphc.zeros(2, dtype=i64)),
        graphc.ShapeError,
        r"gather: index \[2\].*\[2, 3\]",
    ),
    ("amax over size-0 dim", lambda: graphc.amax(ones(0, 3), 0), graphc.ShapeError, r"amax.*size 0.*\[0, 3\]"),
    ("max() of empty", lambda: ones(0).max(), RuntimeError, r"max\(\).*numel\(\) == 0"),
    ("setitem value shape", lambda: ones(3, 4).__setitem__(0, ones(5)), graphc.ShapeError, r"\[5\]"),
    (
        "setitem with grad, value shape",
        lambda: (ones(3, 4, dtype=f64).requires_grad_() * 1).__setitem__([0, 1], ones(3, dtype=f64)),
        graphc.ShapeError,
        r"index_put_: shape mismatch: value tensor of shape \[3\] cannot be broadcast to indexing result of shape \[2, 4\]",
    ),
    ("narrow past the end", lambda: ones(3).narrow(0, 2, 2), IndexError, r"narrow.*exceeds dimension size \(3\)"),
]


@pytest.mark.parametrize("name,fn,exc,match", ERRORS, ids=[e[0] for e in ERRORS])
def test_error(name, fn, exc, match):
    with pytest.raises(exc, match=match):
        fn()


def test_error_classes_are_pytorchs_builtins():
    assert issubclass(graphc.ShapeError, RuntimeError)
    assert issubclass(graphc.DimError, IndexError)
    assert issubclass(graphc.DTypeError, (RuntimeError, TypeError))


# ----------------------------------------------------------------------------
# small hand-computed values (independent of numpy's own implementations)


def test_hand_computed_values():
    x = T([[1.0, -2.0, 3.0], [-4.0, 5.0, -6.0]])
    assert x.sum().item() == -3.0
    np.testing.assert_array_equal(x.abs().amax(1).numpy(), [3.0, 6.0])
    vals, idx = x.max(1)
    np.testing.assert_array_equal(vals.numpy(), [3.0, 5.0])
    np.testing.assert_array_equal(idx.numpy(), [2, 1])
    np.testing.assert_array_equal(graphc.remainder(T([-7, 7]), 3).numpy(), [2, 1])
    np.testing.assert_array_equal(graphc.fmod(T([-7, 7]), 3).numpy(), [-1, 1])
    np.testing.assert_array_equal(graphc.div(T([-7.0, 7.0]), 2, rounding_mode="floor").numpy(), [-4.0, 3.0])
    np.testing.assert_array_equal(graphc.div(T([-7.0, 7.0]), 2, rounding_mode="trunc").numpy(), [-3.0, 3.0])
    np.testing.assert_allclose(T([[0.0, 0.0]]).softmax(1).numpy(), [[0.5, 0.5]])
    np.testing.assert_allclose(T([1000.0, 1000.0]).logsumexp(0).item(), 1000.0 + math.log(2.0), rtol=1e-7)
    np.testing.assert_allclose(T([1.0, 2.0, 3.0, 4.0], f64).var().item(), 5.0 / 3.0, rtol=1e-15)
    assert T([3.0, 4.0]).norm().item() == 5.0
    np.testing.assert_array_equal(T([[1, 2], [3, 4]]).tril(-1).numpy(), [[0, 0], [3, 0]])
    np.testing.assert_array_equal(T([1, 2, 3]).roll(1).numpy(), [3, 1, 2])


@pytest.mark.parametrize("name", ["sign", "floor", "ceil", "round", "trunc"])
def test_piecewise_constant_ops_have_zero_gradient(name):
    """PyTorch gives sign/floor/ceil/round/trunc a zero gradient (not an error)."""
    x = graphc.tensor([0.3, -1.7], requires_grad=True)
    y = getattr(x, name)()
    assert y.requires_grad
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])


def test_layout_helper_makes_non_contiguous_tensors():
    a = np.arange(12.0).reshape(3, 4)
    for how in ("T", "step"):
        t = graphc.from_numpy(layout(a, how))
        assert not t.is_contiguous()
        np.testing.assert_array_equal(t.numpy(), a)
    assert isinstance(S(a, desc="x").args[0], np.ndarray)
