"""Valid input gives PyTorch's answer and invalid input a clear error naming the user's op,
never a crash from inside graphc (issue 11). Expected values are PyTorch 2.13's."""

import numpy as np
import pytest

import graphc
import graphc.nn as nn
import graphc.nn.functional as F

INF, NAN = float("inf"), float("nan")


def _compiled(fn):
    return graphc.compile(fn, warmup=False)


@pytest.mark.parametrize(
    "fn, args, expected",
    [
        (lambda t: t * INF, (graphc.ones(3),), [INF] * 3),
        (lambda t: t + NAN, (graphc.ones(3),), [NAN] * 3),
        (lambda t: (t - INF).exp(), (graphc.ones(3),), [0.0] * 3),
        (lambda t: t.var(dim=-1), (graphc.ones(2, 1),), [NAN, NAN]),
        (lambda t: t.clamp(min=-INF, max=INF) * -0.0, (graphc.ones(2),), [-0.0, -0.0]),
    ],
)
def test_generated_code_takes_non_finite_constants(fn, args, expected):
    out = _compiled(fn)(*args).numpy()
    want = np.array(expected, dtype=np.float32)
    np.testing.assert_array_equal(out, want)
    signed = ~np.isnan(want)  # the sign of zeros and infinities, not of NaN (0/0's is the CPU's)
    assert np.signbit(out)[signed].tolist() == np.signbit(want)[signed].tolist()


def test_compiled_causal_attention_mask():
    t = graphc.randn(2, 4, 4)
    mask = graphc.ones(4, 4).triu(1).bool()
    f = _compiled(lambda t, m: t.masked_fill(m, -INF).softmax(-1))
    a = t.numpy().astype(np.float64)
    a[:, np.triu(np.ones((4, 4), bool), 1)] = -np.inf
    e = np.exp(a - a.max(-1, keepdims=True))
    np.testing.assert_allclose(f(t, mask).numpy(), e / e.sum(-1, keepdims=True), rtol=1e-5, atol=1e-7)


def test_zero_dim_inputs():
    assert graphc.nonzero(graphc.tensor(3.0)).shape == (1, 0)
    assert graphc.nonzero(graphc.tensor(0.0)).shape == (0, 0)
    assert graphc.argwhere(graphc.tensor(3.0)).shape == (1, 0)
    values, indices = graphc.topk(graphc.tensor(3.0), 1)
    assert values.shape == () and indices.shape == () and values.item() == 3.0 and indices.item() == 0
    assert graphc.topk(graphc.tensor(3.0), 0).values.shape == ()
    with pytest.raises(RuntimeError, match="out of range"):
        graphc.topk(graphc.tensor(3.0), 2)
    assert graphc.flip(graphc.tensor(3.0), 0).item() == 3.0
    assert [p.tolist() for p in graphc.tensor_split(graphc.arange(6.0), graphc.tensor(2))] == [[0, 1, 2], [3, 4, 5]]


def test_sort_descending_keeps_ties_stable_and_puts_nan_first_for_every_dtype():
    v, i = graphc.sort(graphc.tensor([1.0, NAN, 3.0, 3.0, -1.0]), descending=True, stable=True)
    assert np.isnan(v.numpy()[0]) and v.tolist()[1:] == [3.0, 3.0, 1.0, -1.0] and i.tolist() == [1, 2, 3, 0, 4]
    # -x would wrap: unsigned 0 -> 0 and 1 -> 255, int64's minimum -> itself
    v, i = graphc.sort(graphc.tensor([0, 1, 255, 3], dtype=graphc.uint8), descending=True)
    assert v.tolist() == [255, 3, 1, 0] and i.tolist() == [2, 3, 1, 0]
    v, i = graphc.sort(graphc.tensor([-(2**63), 5, -(2**63), 0]), descending=True, stable=True)
    assert v.tolist() == [5, 0, -(2**63), -(2**63)] and i.tolist() == [1, 3, 0, 2]
    assert graphc.topk(graphc.tensor([1.0, NAN, 3.0]), 2).indices.tolist() == [1, 2]


def test_topk_beyond_the_size_names_topk():
    with pytest.raises(RuntimeError, match="topk: selected index k"):
        graphc.topk(graphc.arange(3.0), 4)


def test_integer_powers():
    assert (2 ** graphc.tensor([-1, 2])).tolist() == [0, 4]
    base = graphc.tensor([0, 1, -1, -1, 2, -2, 3])
    assert (base ** graphc.tensor([-1, -5, -3, -2, -1, -1, -2])).tolist() == [0, 1, -1, 1, 0, 0, 0]
    assert ((-2) ** graphc.tensor([-1, 3])).tolist() == [0, -8]
    with pytest.raises(RuntimeError, match="negative integer powers"):
        graphc.tensor([2]) ** -1  # a Python exponent: PyTorch refuses
    f = _compiled(lambda a, b: a**b + 1)
    assert f(graphc.tensor([2, -1, 3]), graphc.tensor([-1, -3, 2])).tolist() == [1, 0, 10]
    np.testing.assert_allclose(f(graphc.tensor([2.0, 4.0]), graphc.tensor([-1.0, 0.5])).numpy(), [1.5, 3.0])


def test_nan_to_num_of_integers_and_bools_is_a_copy():
    x = graphc.tensor([1, 2])
    y = graphc.nan_to_num(x)
    assert y.tolist() == [1, 2] and y.dtype is graphc.int64 and not np.shares_memory(x.numpy(), y.numpy())
    assert graphc.nan_to_num(graphc.tensor([True])).tolist() == [True]


def test_broadcast_shapes_takes_ints():
    assert graphc.broadcast_shapes((5, 1), 5) == (5, 5)
    assert graphc.broadcast_shapes(3, (1,)) == (3,)
    with pytest.raises(RuntimeError):
        graphc.broadcast_shapes((2,), 3)


def test_isclose_on_bools_and_unsigned_integers():
    assert graphc.isclose(graphc.tensor([True, False]), graphc.tensor([True, True])).tolist() == [True, False]
    assert graphc.allclose(graphc.tensor([True, False]), graphc.tensor([True, False]))
    u = graphc.tensor([0], dtype=graphc.uint8)
    assert graphc.isclose(u, graphc.tensor([1], dtype=graphc.uint8), atol=2).tolist() == [True]  # 0 - 1 must not wrap


def test_norm_with_string_p():
    m = graphc.tensor([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_allclose(graphc.norm(m, p="fro").item(), np.sqrt(30.0), rtol=1e-6)
    s = np.linalg.svd(np.array([[1.0, 2.0], [3.0, 4.0]]), compute_uv=False)
    np.testing.assert_allclose(graphc.norm(m, p="nuc").item(), s.sum(), rtol=1e-6)  # sum of singular values
    np.testing.assert_allclose(m.norm(p="nuc", dim=(0, 1)).item(), s.sum(), rtol=1e-6)
    with pytest.raises(RuntimeError, match="nuc"):
        graphc.norm(graphc.ones(3), p="nuc")  # a vector has no nuclear norm
    with pytest.raises(ValueError):
        graphc.norm(m, p="abc")


@pytest.mark.parametrize("value", [2**70, 2**63, -(2**63) - 1])
def test_tensor_of_an_int_beyond_int64_is_a_clear_error(value):
    with pytest.raises(RuntimeError, match="does not fit"):
        graphc.tensor([value])
    assert graphc.tensor([-(2**63), 2**63 - 1]).tolist() == [-(2**63), 2**63 - 1]


@pytest.mark.parametrize("text", ["cuda:abc", "cuda:-1", "cuda:0:1", "cpu:x"])
def test_device_strings_are_validated(text):
    with pytest.raises(RuntimeError, match="Invalid device string"):
        graphc.device(text)


def test_device_index_is_validated():
    with pytest.raises(RuntimeError, match="negative"):
        graphc.device("cuda", -2)
    with pytest.raises(RuntimeError, match="explicitly"):
        graphc.device("cuda:0", 1)
    assert graphc.device("cuda", np.int64(1)).index == 1
    assert graphc.device("cuda:1") == graphc.device("cuda", 1)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda x: F.conv2d(x, graphc.ones(1, 1, 3, 3), stride=0), "stride"),
        (lambda x: F.conv2d(x, graphc.ones(1, 1, 3, 3), dilation=0), "dilation"),
        (lambda x: F.conv2d(x, graphc.ones(1, 1, 3, 3), groups=0), "groups"),
        (lambda x: nn.Conv2d(1, 1, 3, stride=0)(x), "stride"),
        (lambda x: F.max_pool2d(x, 2, stride=0), "stride"),
        (lambda x: F.avg_pool2d(x, 2, stride=0), "stride"),
        (lambda x: F.max_pool2d(x, 0), "kernel_size"),
        (lambda x: F.unfold(x, 2, stride=0), "stride"),
    ],
)
def test_non_positive_conv_and_pool_geometry_is_refused(call, match):
    with pytest.raises(RuntimeError, match=f"non-positive {match}"):
        call(graphc.ones(1, 1, 4, 4))


def test_diag_of_a_3d_tensor_names_diag():
    with pytest.raises(RuntimeError, match=r"diag\(\): Supports 1D or 2D tensors. Got 3D"):
        graphc.diag(graphc.ones(2, 2, 2))
    assert graphc.diag(graphc.tensor([1.0, 2.0]), 1).tolist() == [[0, 1, 0], [0, 0, 2], [0, 0, 0]]


def test_matmul_with_a_one_element_constant_operand_compiles():
    # fusion inlines one-element constants as literals; np.matmul needs the array (was KeyError)
    def prog(x0, x1):
        v = x0.reshape(1).clone()
        v.fill_(0.25)
        return (-v) @ x1

    f = _compiled(prog)
    for _ in range(2):
        assert f(graphc.tensor(1.0), graphc.ones(1, 3)).tolist() == [-0.25] * 3
    g = _compiled(lambda x: graphc.tensor([2.0]) @ x + 1)
    assert g(graphc.ones(1, 2)).tolist() == [3.0, 3.0]


def test_a_compiled_call_returning_its_input_leaves_the_input_a_leaf():
    # autograd through the compiled call used to give the returned input a grad_fn
    def prog(x0, x1):
        v = (-x0).clone()
        v.add_(x1)
        return [x1]

    f = graphc.compile(prog)
    for _ in range(3):
        a, b = graphc.tensor(1.0, requires_grad=True), graphc.tensor(2.0, requires_grad=True)
        out = f(a, b)
        assert out[0] is b and b.is_leaf and b.grad_fn is None
        (out[0] * 3).backward()
        assert b.grad.item() == 3.0 and a.grad is None


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: graphc.diagonal(graphc.ones(3)), "diagonal"),
        (lambda: graphc.outer(graphc.ones(2, 2), graphc.ones(2)), "outer: Expected 1-D"),
        (lambda: graphc.ones(3, 4).masked_fill(graphc.tensor([True, False]), 0.0), "masked_fill"),
        (lambda: graphc.ones(3, 4).lerp(graphc.ones(5), 0.5), "lerp"),
        (lambda: graphc.ones(3, 4).unflatten(1, (3, 3)), "unflatten: Provided sizes"),
        (lambda: F.mse_loss(graphc.ones(3, 4), graphc.ones(3)), "mse_loss"),
        (lambda: F.l1_loss(graphc.ones(3, 4), graphc.ones(3)), "l1_loss"),
    ],
)
def test_errors_name_the_users_op(call, match):
    with pytest.raises(RuntimeError, match=match):
        call()


def test_matmul_epilogue_reading_a_reshaped_product_in_small_blocks(monkeypatch):
    # flat blocks reshaped a block of the product to the whole view's shape (ValueError)
    from backends.numpy import runtime as RT

    mask = graphc.tensor([[False, True, False, False]])
    f = _compiled(lambda a, b: graphc.where(mask, b, a @ b))
    a, b = graphc.randn(1), graphc.randn(1, 4)
    want = np.where(mask.numpy(), b.numpy(), a.numpy()[:, None] * b.numpy())
    monkeypatch.setattr(RT, "BLOCK_ELEMS", 2)
    monkeypatch.setattr(RT, "PARALLEL_MIN_ELEMS", 0)
    for _ in range(2):
        np.testing.assert_allclose(f(a, b).numpy(), want, rtol=1e-6)


@pytest.mark.parametrize("n", [3, 300])
def test_row_reduced_value_broadcast_along_columns_in_one_kernel(n, monkeypatch):
    # x0.sum(1) has shape (n,); added to an (n, n) tensor it runs along the columns. The fused
    # row-blocked kernel used each block's own rows of it (wrong values at small blocks,
    # a broadcasting error at n = 300).
    from backends.numpy import runtime as RT

    f = _compiled(lambda x0, x1: x1 + (-x0.sum(dim=1)))
    x0, x1 = graphc.randn(n, n), graphc.randn(n, n)
    want = x1.numpy().astype(np.float64) - x0.numpy().astype(np.float64).sum(1)[None, :]
    np.testing.assert_allclose(f(x0, x1).numpy(), want, rtol=1e-4, atol=1e-4)
    monkeypatch.setattr(RT, "BLOCK_ELEMS", 2)
    monkeypatch.setattr(RT, "PARALLEL_MIN_ELEMS", 0)
    np.testing.assert_allclose(f(x0, x1).numpy(), want, rtol=1e-4, atol=1e-4)
