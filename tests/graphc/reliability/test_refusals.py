"""Inputs PyTorch refuses are refused, eagerly and under ``@graphc.compile`` (issue 11).

Before, each of these returned a value: numpy wraps a negative index, reads a short bool
mask as indices, gives 0 for an integer divided by zero, and so on. Expected behaviour is
PyTorch 2.13's (it raises in every case below); where PyTorch wraps (``x[idx]``, ``take``)
graphc wraps too.
"""

import numpy as np
import pytest

import graphc
import graphc.nn.functional as F
from ir.errors import IntegerDivisionError


def _compiled(fn):
    return graphc.compile(fn, warmup=False)  # the first call traces and runs generated code


X = graphc.arange(10.0).reshape(2, 5)

INDEX_CASES = {
    "index_select": lambda x, i: graphc.index_select(x, 1, i),
    "gather": lambda x, i: graphc.gather(x, 1, i.reshape(1, -1).expand(2, -1)),
    "scatter": lambda x, i: x.scatter(1, i.reshape(1, -1), 1.0),
    "scatter_add": lambda x, i: x.scatter_add(1, i.reshape(1, -1), graphc.ones(1, i.numel())),
    "index_add": lambda x, i: x.index_add(1, i, graphc.ones(2, i.numel())),
    "index_copy": lambda x, i: x.index_copy(1, i, graphc.ones(2, i.numel())),
    "embedding": lambda x, i: F.embedding(i, x.t()),
}


@pytest.mark.parametrize("bad", [-1, 5, -6])
@pytest.mark.parametrize("op", sorted(INDEX_CASES))
@pytest.mark.parametrize("mode", ["eager", "compiled"])
def test_index_ops_refuse_out_of_range_and_negative_indices(op, bad, mode):
    fn = INDEX_CASES[op] if mode == "eager" else _compiled(INDEX_CASES[op])
    with pytest.raises(IndexError, match=f"index {bad} is out of bounds"):
        fn(X, graphc.tensor([0, bad]))


@pytest.mark.parametrize("op", sorted(INDEX_CASES))
def test_index_ops_accept_every_index_in_range(op):
    idx = graphc.tensor([4, 0, 2])
    eager = INDEX_CASES[op](X, idx)
    np.testing.assert_array_equal(_compiled(INDEX_CASES[op])(X, idx).numpy(), eager.numpy())


def test_scatter_index_wider_than_self_outside_dim_is_refused():
    # positions past a row's end would land on the next row of the flat layout
    with pytest.raises(RuntimeError, match="no larger than self"):
        graphc.zeros(2, 3).scatter(0, graphc.tensor([[0, 1, 0, 1]]), 1.0)


@pytest.mark.parametrize("mode", ["eager", "compiled"])
def test_advanced_indexing_wraps_negatives_and_refuses_out_of_range(mode):
    def get(x, i, j):
        return x[i, j]

    fn = get if mode == "eager" else _compiled(get)
    np.testing.assert_array_equal(fn(X, graphc.tensor([1, -1]), graphc.tensor([-1, 0])).numpy(), [9.0, 5.0])
    # x[0, 5] on a (2, 5) tensor would be x[1, 0] in the flat layout
    with pytest.raises(IndexError, match="index 5 is out of bounds"):
        fn(X, graphc.tensor([0]), graphc.tensor([5]))
    with pytest.raises(IndexError, match="out of bounds"):  # compiled code reports it after wrapping (-1)
        fn(X, graphc.tensor([-3]), graphc.tensor([0]))


def test_take_wraps_negative_indices_like_pytorch():
    np.testing.assert_array_equal(graphc.take(X, graphc.tensor([-1, 0, -10])).numpy(), [9.0, 0.0, 0.0])
    with pytest.raises(IndexError, match="take: index -11"):
        graphc.take(X, graphc.tensor([-11]))


@pytest.mark.parametrize("classes", [[0, 3], [-1, 0]])
@pytest.mark.parametrize("mode", ["eager", "compiled"])
def test_one_hot_refuses_classes_outside_num_classes(classes, mode):
    fn = (lambda t: F.one_hot(t, 3)) if mode == "eager" else _compiled(lambda t: F.one_hot(t, 3))
    with pytest.raises((RuntimeError, IndexError)):
        fn(graphc.tensor(classes))
    np.testing.assert_array_equal(fn(graphc.tensor([2, 0])).numpy(), [[0, 0, 1], [1, 0, 0]])


def test_nll_loss_refuses_targets_out_of_range_but_skips_ignore_index():
    logp = graphc.randn(2, 3).log_softmax(1)
    with pytest.raises(IndexError, match="Target 3 is out of bounds"):
        F.nll_loss(logp, graphc.tensor([3, 0]))
    with pytest.raises(IndexError, match="Target -1 is out of bounds"):
        F.nll_loss(logp, graphc.tensor([-1, 0]))
    loss = F.nll_loss(logp, graphc.tensor([-100, 2]))
    np.testing.assert_allclose(loss.item(), -logp.numpy()[1, 2], rtol=1e-6)


def test_embedding_padding_idx_out_of_range_is_refused():
    with pytest.raises(AssertionError, match="padding_idx"):
        F.embedding(graphc.tensor([0]), graphc.randn(3, 2), padding_idx=3)


@pytest.mark.parametrize(
    "mask, dim",
    [([True, False, True], 0), ([[True, False]], 0)],
)
def test_bool_mask_of_the_wrong_shape_is_refused(mask, dim):
    x = graphc.zeros(2, 3)
    with pytest.raises(IndexError, match="shape of the mask"):
        x[graphc.tensor(mask)]
    with pytest.raises(IndexError, match="shape of the mask"):
        x[graphc.tensor(mask)] = 1.0
    with pytest.raises(IndexError, match="shape of the mask"):
        x[:, graphc.tensor([True, False])]
    y = graphc.zeros(2, 3, requires_grad=True) * 1  # the autograd path of assignment
    with pytest.raises(IndexError, match="shape of the mask"):
        y[graphc.tensor(mask)] = 1.0


def test_bool_mask_of_the_right_shape_selects():
    x = graphc.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(x[:, graphc.tensor([True, False, True])].numpy(), [[0, 2], [3, 5]])
    np.testing.assert_array_equal(x[graphc.tensor([False, True])].numpy(), [[3, 4, 5]])


DIVISIONS = {
    "floordiv": lambda a, b: a // b,
    "mod": lambda a, b: a % b,
    "floor_divide": lambda a, b: graphc.floor_divide(a, b),
    "remainder": lambda a, b: graphc.remainder(a, b),
    "fmod": lambda a, b: graphc.fmod(a, b),
    "div_floor": lambda a, b: graphc.div(a, b, rounding_mode="floor"),
    "div_trunc": lambda a, b: graphc.div(a, b, rounding_mode="trunc"),
}


@pytest.mark.parametrize("op", sorted(DIVISIONS))
@pytest.mark.parametrize("mode", ["eager", "compiled"])
@pytest.mark.parametrize("divisor", ["tensor", "scalar"])
def test_integer_division_by_zero_raises_zero_division_error(op, mode, divisor):
    fn = DIVISIONS[op]
    a = graphc.tensor([7, -7, 3])
    if divisor == "scalar":
        call = (lambda a: fn(a, 0)) if mode == "eager" else _compiled(lambda a: fn(a, 0))
        args = (a,)
    else:
        call = fn if mode == "eager" else _compiled(fn)
        args = (a, graphc.tensor([2, 0, 1]))
    with pytest.raises(ZeroDivisionError):
        call(*args)
    with pytest.raises(IntegerDivisionError):  # also a RuntimeError, as PyTorch raises
        call(*args)


def test_integer_division_results_match_python():
    a_vals, b_vals = [7, -7, 7, -7, 2**62 + 1, -9, 0], [2, 2, -2, -2, 3, 3, 5]
    a, b = graphc.tensor(a_vals), graphc.tensor(b_vals)
    trunc = [abs(x) // abs(y) * (1 if (x < 0) == (y < 0) else -1) for x, y in zip(a_vals, b_vals)]
    assert graphc.div(a, b, rounding_mode="trunc").tolist() == trunc  # exact past 2**53
    assert graphc.div(a, b, rounding_mode="floor").tolist() == [x // y for x, y in zip(a_vals, b_vals)]
    assert (a % b).tolist() == [x % y for x, y in zip(a_vals, b_vals)]
    assert graphc.fmod(a, b).tolist() == [x - t * y for x, y, t in zip(a_vals, b_vals, trunc)]
    # floats divide by zero as IEEE says
    assert np.isinf(graphc.floor_divide(graphc.tensor([1.0]), 0).numpy()).all()


@pytest.mark.parametrize("dtype", [graphc.float32, graphc.int64])
def test_where_refuses_a_non_bool_condition(dtype):
    with pytest.raises(RuntimeError, match="boolean"):
        graphc.where(graphc.tensor([1, 0], dtype=dtype), graphc.ones(2), graphc.zeros(2))
    assert graphc.where(graphc.tensor([True, False]), graphc.ones(2), graphc.zeros(2)).tolist() == [1.0, 0.0]


def test_grad_assignment_must_match_dtype_shape_and_device():
    t = graphc.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="dtype"):
        t.grad = graphc.tensor([1, 2])
    with pytest.raises(RuntimeError, match="dtype"):
        t.grad = graphc.ones(2, dtype=graphc.float64)
    with pytest.raises(RuntimeError, match="size"):
        t.grad = graphc.ones(3)
    t.grad = graphc.full((2,), 3.0)
    assert t.grad.tolist() == [3.0, 3.0]


@pytest.mark.parametrize("value", [1.5, -0.5, float("nan")])
def test_binary_cross_entropy_refuses_inputs_outside_0_1(value):
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F.binary_cross_entropy(graphc.tensor([0.5, value]), graphc.tensor([1.0, 0.0]))
    loss = F.binary_cross_entropy(graphc.tensor([0.25, 1.0]), graphc.tensor([1.0, 1.0]))
    np.testing.assert_allclose(loss.item(), -np.log(0.25) / 2, rtol=1e-6)



def test_compiled_binary_cross_entropy_checks_its_input_when_it_runs():
    """A traced program has no values: the check is a row of the graph, which raises the eager
    error when the program runs (tests/backends/triton/test_triton_bounds.py: the same on Triton)."""
    step = graphc.compile(lambda x, y: F.binary_cross_entropy(x, y), warmup=False)
    y = graphc.tensor([1.0, 0.0])
    x = graphc.tensor([0.25, 0.75], requires_grad=True)
    loss = step(x, y)
    loss.backward()
    np.testing.assert_allclose(loss.item(), -np.log(0.25), rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), [-1 / 0.25 / 2, 1 / 0.25 / 2], rtol=1e-6)
    for bad in (1.5, float("nan")):
        with pytest.raises(RuntimeError, match="between 0 and 1"):
            step(graphc.tensor([0.5, bad]), y)
    assert step.cache_info().traces == 1  # the program raised; nothing retraced
