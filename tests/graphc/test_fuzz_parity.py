"""Differences from PyTorch found by a differential fuzzer (shapes, dims, layouts, dtypes).

Each test states PyTorch's behaviour as a hand-computed value; no torch import.
"""

from __future__ import annotations

import numpy as np
import pytest

import graphc
import graphc.nn.functional as F


def _fresh(fn, x):
    """``fn(x)`` writes nothing back into ``x`` when the result is changed in place."""
    before = x.numpy().copy()
    out = fn(x)
    out.add_(100)
    np.testing.assert_array_equal(x.numpy(), before)
    return out


# 1. results that PyTorch returns as new tensors must not alias the input


@pytest.mark.parametrize(
    "fn, x",
    [
        (graphc.diag, graphc.ones(2, 2)),
        (lambda x: graphc.diff(x, n=0), graphc.ones(3)),
        (lambda x: F.pad(x, (0, 0)), graphc.ones(3)),
        (lambda x: F.pad(x, (0, 0, 0, 0)), graphc.ones(2, 2)),
        (lambda x: F.pad(x, (0, 0), mode="reflect"), graphc.ones(1, 2, 3)),
        (lambda x: F.pad(x, (0, 0), mode="replicate"), graphc.ones(1, 2, 3)),
        (lambda x: F.pad(x, (0, 0), mode="circular"), graphc.ones(1, 2, 3)),
        (lambda x: x.repeat(1), graphc.ones(3)),
        (lambda x: x.repeat(1, 1), graphc.ones(2, 2)),
        (lambda x: x.repeat(()), graphc.tensor(1.0)),
        (lambda x: graphc.tile(x, (1,)), graphc.ones(3)),
        (lambda x: graphc.repeat_interleave(x, 1), graphc.ones(3)),
        (lambda x: graphc.repeat_interleave(x, 1, dim=0), graphc.ones(2, 2)),
        (lambda x: graphc.masked_select(x, graphc.tensor(True)), graphc.tensor(1.0)),
        (lambda x: graphc.linalg.matrix_power(x, 1), graphc.ones(2, 2)),
    ],
)
def test_copying_ops_return_a_new_tensor(fn, x):
    _fresh(fn, x)


def test_repeat_of_an_expanded_input_is_not_overlapping():
    out = graphc.tensor([1.0]).expand(3).repeat(1)
    out[0] = 5.0
    assert out.tolist() == [5.0, 1.0, 1.0]


# 2. shapes


def test_vstack_hstack_dstack_make_inputs_at_least_nd():
    assert graphc.vstack([graphc.tensor(1.0), graphc.tensor(2.0)]).tolist() == [[1.0], [2.0]]
    assert tuple(graphc.vstack([graphc.tensor(1.0)]).shape) == (1, 1)
    assert tuple(graphc.vstack([graphc.zeros(0), graphc.zeros(1, 0)]).shape) == (2, 0)
    assert graphc.hstack([graphc.tensor([1.0, 2.0]), graphc.tensor(3.0)]).tolist() == [1.0, 2.0, 3.0]
    assert tuple(graphc.dstack([graphc.zeros(2, 3)]).shape) == (2, 3, 1)
    assert tuple(graphc.dstack([graphc.tensor(1.0)]).shape) == (1, 1, 1)


@pytest.mark.parametrize("shape, chunks, dim", [((0,), 4, 0), ((2, 0), 3, 1), ((0, 2), 1, 0)])
def test_chunk_of_an_empty_dim_gives_chunks_pieces(shape, chunks, dim):
    pieces = graphc.chunk(graphc.zeros(*shape), chunks, dim=dim)
    assert len(pieces) == chunks and all(tuple(p.shape) == shape for p in pieces)


def test_unique_consecutive_of_0d_and_empty_inputs():
    values, inverse, counts = graphc.unique_consecutive(graphc.tensor(1.5), return_inverse=True, return_counts=True)
    assert values.tolist() == [1.5] and tuple(inverse.shape) == () and inverse.item() == 0
    assert counts.tolist() == [1]
    values, inverse, counts = graphc.unique_consecutive(graphc.zeros(0), dim=0, return_inverse=True, return_counts=True)
    assert tuple(values.shape) == (0,) and inverse.tolist() == [] and counts.tolist() == []
    assert tuple(graphc.unique_consecutive(graphc.zeros(0, 3), dim=0).shape) == (0, 3)
    with pytest.raises(RuntimeError, match="0 sized dimensions"):
        graphc.unique_consecutive(graphc.zeros(2, 0), dim=0)


# 3. one result dtype over all operands


def test_addcmul_addcdiv_promote_all_operands_at_once():
    ints = graphc.tensor([1, 2])
    out = graphc.addcmul(ints, graphc.tensor([3, 4]), graphc.tensor([5, 6]), value=0.5)
    assert out.dtype is graphc.int64 and out.tolist() == [1, 2]  # value truncates to 0 in int64
    assert graphc.addcmul(ints, ints, ints, value=2.7).tolist() == [3, 10]
    f64 = graphc.addcdiv(graphc.tensor(1.0, dtype=graphc.float64), graphc.tensor(1.0), graphc.tensor([3]))
    assert f64.dtype is graphc.float64
    exact = graphc.addcmul(graphc.tensor(1.737, dtype=graphc.float64), graphc.tensor(-1.978), graphc.tensor(13), value=2)
    assert exact.item() == 1.737 + 2 * float(np.float32(-1.978)) * 13  # the product in float64
    with pytest.raises(RuntimeError, match="Integer division with addcdiv"):
        graphc.addcdiv(ints, ints, ints)
    with pytest.raises(NotImplementedError):
        graphc.addcmul(graphc.tensor([True]), graphc.tensor([True]), graphc.tensor([True]))


def test_clamp_with_tensor_bounds_promotes_over_all_three():
    x = graphc.tensor([23], dtype=graphc.int32)
    out = graphc.clamp(x, graphc.tensor(-1.5, dtype=graphc.float64), graphc.tensor([-3.25]))
    assert out.dtype is graphc.float32 and out.tolist() == [-3.25]
    assert graphc.clamp(graphc.tensor([1, 5], dtype=graphc.int32), min=graphc.tensor([2])).dtype is graphc.int64


def test_cat_promotes_with_legacy_empty_tensors_and_gives_them_grads():
    assert graphc.cat([graphc.tensor([1, 2]), graphc.zeros(0, dtype=graphc.float64)]).dtype is graphc.float64
    assert graphc.hstack([graphc.zeros(0, dtype=graphc.int64), graphc.tensor([[True]])]).dtype is graphc.int64
    assert tuple(graphc.cat([graphc.zeros(0)], dim=2).shape) == (0,)
    a, b = graphc.ones(2, 2, requires_grad=True), graphc.zeros(0, requires_grad=True)
    graphc.cat([b, a, b], 1).sum().backward()
    assert tuple(b.grad.shape) == (0,) and a.grad.tolist() == [[1.0, 1.0], [1.0, 1.0]]
    with pytest.raises(RuntimeError, match="position 1"):
        graphc.cat([graphc.zeros(0), graphc.tensor(1.0)])


def test_kron_treats_a_0d_operand_as_dimensioned():
    assert graphc.kron(graphc.tensor([1, 2], dtype=graphc.int32), graphc.tensor(3)).dtype is graphc.int64
    assert graphc.kron(graphc.tensor(3), graphc.tensor([1, 2], dtype=graphc.int32)).tolist() == [3, 6]


# 4. compiled reductions with an explicit dim over a 0-d input


@pytest.mark.parametrize(
    "fn, want",
    [
        (lambda x: graphc.max(x, dim=-1).values, 2.0),
        (lambda x: graphc.min(x, dim=0).indices, 0),
        (lambda x: graphc.argmax(x, 0), 0),
        (lambda x: graphc.argmin(x, -1), 0),
        (lambda x: graphc.nansum(x, dim=-1), 2.0),
        (lambda x: graphc.amax(x, 0), 2.0),
    ],
)
def test_compiled_reduction_over_dim_of_a_0d_tensor(fn, want):
    out = graphc.compile(fn)(graphc.tensor(2.0))
    assert tuple(out.shape) == () and out.item() == want


def test_compiled_nansum_of_a_0d_nan_is_zero():
    assert graphc.compile(lambda x: graphc.nansum(x, dim=0))(graphc.tensor(float("nan"))).item() == 0.0


# 5. gradients


def _grad(fn, x, *more):
    fn(x, *more).sum().backward()
    return x.grad


def test_logit_gradient_is_nan_outside_0_1():
    x = graphc.tensor([1.5, -0.5, 0.25], dtype=graphc.float64, requires_grad=True)
    g = _grad(graphc.logit, x).numpy()
    assert np.isnan(g[:2]).all() and g[2] == pytest.approx(1 / (0.25 * 0.75))


def test_rounded_division_gives_both_inputs_zero_grads():
    for mode in ("floor", "trunc"):
        a = graphc.tensor([1.3, 2.5], requires_grad=True)
        b = graphc.tensor([1.1, 0.7], requires_grad=True)
        graphc.div(a, b, rounding_mode=mode).sum().backward()
        assert a.grad.tolist() == [0.0, 0.0] and b.grad.tolist() == [0.0, 0.0]


@pytest.mark.parametrize(
    "fn, shape",
    [
        (lambda a: graphc.addmm(a, graphc.ones(2, 2), graphc.ones(2, 2), beta=0), (2, 2)),
        (lambda a: graphc.addmv(a, graphc.ones(2, 2), graphc.ones(2), beta=0), (2,)),
        (lambda a: graphc.addr(a, graphc.ones(2), graphc.ones(2), beta=0), (2, 2)),
        (lambda a: graphc.baddbmm(a, graphc.ones(1, 2, 2), graphc.ones(1, 2, 2), beta=0), (1, 2, 2)),
    ],
)
def test_blas_input_at_beta_0_gets_a_zero_grad_and_its_nan_is_ignored(fn, shape):
    a = graphc.full(shape, float("nan"), requires_grad=True)
    out = fn(a)
    assert out.requires_grad and not np.isnan(out.detach().numpy()).any()
    out.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), np.zeros(shape))


def test_var_gradient_without_degrees_of_freedom():
    row = [[1.0, 2.0]]
    x = graphc.tensor(row, dtype=graphc.float64, requires_grad=True)
    assert _grad(lambda t: graphc.var(t, dim=1, correction=2), x).tolist() == [[-np.inf, np.inf]]  # 2(x-m)/0
    x = graphc.tensor(row, dtype=graphc.float64, requires_grad=True)
    v = graphc.var(x, dim=1, correction=3)
    assert v.item() == np.inf
    v.sum().backward()
    assert x.grad.tolist() == [[1.0, -1.0]]  # 2 (x - mean) / -1
    x = graphc.tensor(row, dtype=graphc.float64, requires_grad=True)
    var, mean = graphc.var_mean(x, dim=0, correction=2)
    (var.sum() + mean.sum()).backward()
    assert x.grad.tolist() == [[1.0, 1.0]]  # the variance part is 2 * 0 / -1


def test_outputs_that_require_grad_as_pytorch():
    x = graphc.tensor([1.0, 0.0, 2.0], requires_grad=True)
    n = graphc.linalg.vector_norm(x, ord=0)
    assert n.item() == 2.0 and n.requires_grad
    n.backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]
    a, b = graphc.tensor([1.0, 3.0], requires_grad=True), graphc.tensor([2.0, 1.0], requires_grad=True)
    graphc.nextafter(a, b).sum().backward()
    assert a.grad.tolist() == [1.0, 1.0] and b.grad.tolist() == [0.0, 0.0]
    for fn in (graphc.median, graphc.nanmedian):
        e = graphc.zeros(0, requires_grad=True)
        m = fn(e)
        assert np.isnan(m.item()) and m.requires_grad
        m.backward()
        assert tuple(e.grad.shape) == (0,)


# 6. errors PyTorch does not raise


def test_leaky_relu_of_a_0d_tensor():
    assert F.leaky_relu(graphc.tensor(-3.0)).item() == pytest.approx(-0.03)
    assert F.leaky_relu(graphc.tensor(3.0)).item() == 3.0


def test_reflected_bitwise_ops_with_a_number_on_the_left():
    t = graphc.tensor([3, 4])
    assert (-1 & t).tolist() == [3, 4]
    assert (2 ^ t).tolist() == [1, 6]
    assert (1 | t).tolist() == [3, 5]
    assert (True | graphc.tensor([True, False])).tolist() == [True, True]


def test_movedim_of_a_0d_tensor_and_unflatten_of_an_empty_tensor():
    assert graphc.movedim(graphc.tensor(1.0), -1, 0).item() == 1.0
    assert tuple(graphc.zeros(4, 0).unflatten(0, (-1, 2)).shape) == (2, 2, 0)
    assert tuple(graphc.zeros(0, 3).unflatten(0, (2, -1)).shape) == (2, 0, 3)


def test_empty_index_skips_the_shape_checks():
    assert tuple(graphc.gather(graphc.ones(2, 2), 1, graphc.zeros(0, dtype=graphc.long)).shape) == (0,)
    x = graphc.ones(3, 1)
    empty = graphc.zeros(0, dtype=graphc.long)
    for out in (
        graphc.scatter_reduce(x, 0, graphc.zeros(0, 0, dtype=graphc.long), graphc.ones(0), "amin"),
        graphc.scatter(x, 0, empty, graphc.ones(0)),
        graphc.scatter(x, 0, empty, 2.0),
        graphc.scatter_add(x, 0, empty, graphc.ones(0)),
    ):
        assert out.tolist() == [[1.0], [1.0], [1.0]]
    out.add_(1)
    assert x.tolist() == [[1.0], [1.0], [1.0]]  # a copy


def test_integer_division_with_an_empty_result_checks_no_divisor():
    a, b = graphc.zeros(5, 0, dtype=graphc.long), graphc.tensor([[0], [1], [1], [1], [1]])
    for fn in (graphc.fmod, graphc.remainder, graphc.floor_divide, graphc.compile(graphc.fmod)):
        out = fn(a, b)
        assert tuple(out.shape) == (5, 0) and out.dtype is graphc.int64


def test_unflatten_and_permute_argument_errors():
    with pytest.raises(RuntimeError, match="sizes must be non-empty"):
        graphc.ones(1).unflatten(0, ())
    with pytest.raises(TypeError, match="dims"):
        graphc.tensor(1.0).permute()
    assert graphc.tensor(1.0).permute(()).item() == 1.0
