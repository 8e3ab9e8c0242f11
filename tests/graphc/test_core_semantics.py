"""Core tensor semantics found different from PyTorch's by the round-10 differential hunt:
promotion of out-of-range numbers in float-result ops, gradient layout, retain_grad across
in-place ops, and the rest below. References are hand-computed or float64 numpy."""

import numpy as np
import pytest

import graphc

# ---------------------------------------------------------------------------------------------
# true division (and the other float-result ops) of integer tensors by numbers they cannot hold


@pytest.mark.parametrize(
    ("dtype", "values", "other", "expected"),
    [
        ("uint8", [4], -2, [-2.0]),
        ("uint8", [4, 0], -1, [-4.0, -0.0]),
        ("uint8", [3], 300, [0.01]),
        ("int8", [100], 1000, [0.1]),
        ("int32", [7, 0], 2**40, [7 / 2**40, 0.0]),
        ("int16", [7], 2**40, [7 / 2**40]),
    ],
)
def test_true_division_by_a_number_the_integer_dtype_cannot_hold(dtype, values, other, expected):
    x = graphc.tensor(values, dtype=getattr(graphc, dtype))
    for r in (x / other, x.div(other), graphc.true_divide(x, other), x / graphc.tensor(other)):
        assert r.dtype == graphc.float32
        np.testing.assert_allclose(r.numpy(), np.float32(expected), rtol=1e-6)
        np.testing.assert_array_equal(np.signbit(r.numpy()), np.signbit(np.float32(expected)))


def test_zero_d_int_tensor_divided_by_uint8_tensor_keeps_its_sign():
    r = graphc.tensor(-2) / graphc.tensor([4, 1], dtype=graphc.uint8)
    assert r.dtype == graphc.float32
    np.testing.assert_array_equal(r.numpy(), np.float32([-0.5, -2.0]))
    r = graphc.tensor(2**40) / graphc.tensor([4], dtype=graphc.int8)
    np.testing.assert_array_equal(r.numpy(), np.float32([2**38]))


def test_float_result_binary_rows_convert_numbers_unwrapped():
    x = graphc.tensor([4, 1], dtype=graphc.uint8)
    np.testing.assert_array_equal(graphc.copysign(x, -1).numpy(), np.float32([-4, -1]))
    np.testing.assert_allclose(graphc.xlogy(x, 300).numpy(), np.float32([4 * np.log(300), np.log(300)]), rtol=1e-6)
    np.testing.assert_allclose(graphc.xlogy(graphc.tensor([2], dtype=graphc.int8), 2**40).numpy(),
                               np.float32([2 * 40 * np.log(2)]), rtol=1e-6)


@pytest.mark.parametrize("half", ["float16", "bfloat16"])
def test_zero_d_half_divided_by_zero_d_float_promotes_to_the_wider_float(half):
    h = graphc.tensor(3.0, dtype=getattr(graphc, half))
    f = graphc.tensor(2.0)
    assert (h / f).dtype == graphc.float32 and float(h / f) == 1.5
    assert (f / h).dtype == graphc.float32
    assert (h / graphc.tensor(2.0, dtype=graphc.float64)).dtype == graphc.float64
    assert (graphc.tensor([3.0], dtype=h.dtype) / f).dtype == h.dtype  # a tensor with dims wins


def test_half_times_zero_d_integer_outside_half_range_is_computed_unrounded():
    x = graphc.tensor([0.0, 2.0**-16], dtype=graphc.float16)
    r = x * graphc.tensor(2**20)  # 2**20 in half is inf: 0 * inf would be nan
    assert r.dtype == graphc.float16
    np.testing.assert_array_equal(r.numpy(), np.float16([0.0, 16.0]))
    np.testing.assert_array_equal((x // graphc.tensor(2**20)).numpy(), np.float16([0.0, 0.0]))


# ---------------------------------------------------------------------------------------------
# gradient layout contract: a new .grad has the parameter's dense strides (row-major for a
# contiguous parameter), whatever layout the incoming gradient had

_W = np.arange(6.0, dtype=np.float32).reshape(3, 2)


def _transposed_grad_step(x):
    return (x.t() * graphc.tensor(_W)).sum()


@pytest.mark.parametrize("create_graph", [False, True])
def test_leaf_grad_is_row_major_for_a_contiguous_leaf(create_graph):
    x = graphc.ones(2, 3, requires_grad=True)
    _transposed_grad_step(x).backward(create_graph=create_graph)
    assert x.grad.stride() == (3, 1) and x.grad.is_contiguous()
    np.testing.assert_array_equal(x.grad.view(-1).numpy(), _W.T.reshape(-1))


def test_linear_weight_grad_is_contiguous():
    w = graphc.ones(4, 3, requires_grad=True)
    b = graphc.ones(4, requires_grad=True)
    x = graphc.tensor(np.arange(15.0, dtype=np.float32).reshape(5, 3))
    graphc.nn.functional.linear(x, w, b).sum().backward()
    assert w.grad.is_contiguous()
    np.testing.assert_array_equal(w.grad.numpy(), np.tile(x.numpy().sum(0), (4, 1)))


def test_leaf_grad_of_a_permuted_dense_leaf_keeps_its_strides():
    p = graphc.ones(3, 2).t().detach().requires_grad_()
    assert p.stride() == (1, 2)
    (p * graphc.tensor(_W.T.copy())).sum().backward()
    assert p.grad.stride() == (1, 2)
    np.testing.assert_array_equal(p.grad.numpy(), _W.T)


def test_retained_grad_is_contiguous():
    x = graphc.ones(2, 3, requires_grad=True)
    y = x * 1
    y.retain_grad()
    _transposed_grad_step(y).backward()
    assert y.grad.is_contiguous()
    np.testing.assert_array_equal(y.grad.numpy(), _W.T)


def test_compiled_step_leaves_a_contiguous_grad():
    x = graphc.ones(2, 3, requires_grad=True)

    @graphc.compile
    def step(x):
        loss = _transposed_grad_step(x)
        loss.backward()
        return loss

    step(x)
    assert x.grad.is_contiguous()
    np.testing.assert_array_equal(x.grad.view(-1).numpy(), _W.T.reshape(-1))


# ---------------------------------------------------------------------------------------------
# retain_grad() then an in-place op: .grad is the gradient of the tensor's latest value


def test_retained_grad_follows_an_inplace_op():
    x = graphc.ones(3, requires_grad=True)
    y = x * 2
    y.retain_grad()
    y.mul_(3)
    y.add_(1)  # y = 7 after both writes; d(sum y^2)/dy = 2y
    (y * y).sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [14.0, 14.0, 14.0])
    np.testing.assert_array_equal(x.grad.numpy(), [84.0, 84.0, 84.0])  # 2y * 3 * 2


def test_retained_grad_follows_a_write_through_a_view():
    x = graphc.ones(3, requires_grad=True)
    y = x * 2
    y.retain_grad()
    y[0:1].mul_(5)
    (y * graphc.tensor([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(x.grad.numpy(), [10.0, 4.0, 6.0])


def test_retained_view_grad_follows_a_write_to_its_base():
    x = graphc.ones(3, requires_grad=True)
    y = x * 2
    v = y[1:]
    v.retain_grad()
    y.mul_(3)
    (v * graphc.tensor([2.0, 3.0])).sum().backward()
    np.testing.assert_array_equal(v.grad.numpy(), [2.0, 3.0])


def test_hook_registered_before_an_inplace_op_sees_the_old_version():
    x = graphc.ones(3, requires_grad=True)
    y = x * 2
    seen = []
    y.register_hook(seen.append)
    y.mul_(3)
    y.sum().backward()
    np.testing.assert_array_equal(seen[0].numpy(), [3.0, 3.0, 3.0])


# ---------------------------------------------------------------------------------------------
# diagonal() is a view (the ``diagonal`` row): writes through it reach its base and back


def test_diagonal_writes_reach_the_base_and_back():
    x = graphc.zeros(3, 3)
    d = x.diagonal()
    d.fill_(1)
    np.testing.assert_array_equal(x.numpy(), np.eye(3, dtype=np.float32))
    x.mul_(5)
    np.testing.assert_array_equal(d.numpy(), [5.0, 5.0, 5.0])
    assert d._base is x


@pytest.mark.parametrize(("offset", "dim1", "dim2"), [(0, 0, 1), (1, 0, 2), (-1, 2, 1), (2, -1, 0), (-2, 1, 2), (9, 0, 1)])
def test_diagonal_values_and_layout_as_numpy(offset, dim1, dim2):
    ref = np.arange(24.0).reshape(2, 3, 4)
    x = graphc.tensor(ref)
    d = x.diagonal(offset, dim1, dim2)
    want = np.diagonal(ref, offset, dim1, dim2)
    np.testing.assert_array_equal(d.numpy(), want)
    if want.size:  # strides and offset in elements, as numpy's read-only view has them
        assert d.stride() == tuple(s // 8 for s in want.strides)
        assert d.storage_offset() == int(want.reshape(-1)[0])  # (the value is its flat position)
    d.fill_(-1)
    expect = ref.copy()
    idx = np.arange(24).reshape(2, 3, 4)
    expect.reshape(-1)[np.diagonal(idx, offset, dim1, dim2).reshape(-1)] = -1
    np.testing.assert_array_equal(x.numpy(), expect)


def test_diagonal_of_a_non_contiguous_view():
    x = graphc.arange(12.0).view(3, 4)
    d = x[:, ::2].diagonal()  # elements (0,0) and (1,2)
    d.mul_(10)
    np.testing.assert_array_equal(x.numpy().reshape(-1)[[0, 6]], [0.0, 60.0])
    np.testing.assert_array_equal(x.t().diagonal(-1).numpy(), [1.0, 60.0, 11.0])


def test_diagonal_gradient_and_inplace_through_it():
    y = graphc.arange(12.0, requires_grad=True)
    (y.view(3, 4).diagonal(1) * graphc.tensor([1.0, 2.0, 3.0])).sum().backward()
    want = np.zeros(12)
    want[[1, 6, 11]] = [1, 2, 3]
    np.testing.assert_array_equal(y.grad.numpy(), want)

    w = graphc.tensor([1.0, 10.0, 100.0], requires_grad=True)
    x = w * 1
    x.view(1, 3).diagonal().fill_(9)  # overwrites x[0]: no gradient reaches w[0]
    x.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [0.0, 1.0, 1.0])


def test_diagonal_second_derivative():
    y = graphc.arange(24.0, requires_grad=True)
    (g,) = graphc.autograd.grad((y.view(2, 3, 4).diagonal(0, 1, 2) ** 2).sum(), y, create_graph=True)
    (h,) = graphc.autograd.grad(g.sum(), y)
    idx = np.diagonal(np.arange(24).reshape(2, 3, 4), 0, 1, 2).reshape(-1)
    want = np.zeros(24)
    want[idx] = 2.0
    np.testing.assert_array_equal(h.numpy(), want)


def test_compiled_write_through_diagonal():
    @graphc.compile
    def f(x):
        x.diagonal().add_(1)
        return x.diagonal(1) * 2

    x = graphc.zeros(3, 3)
    r = f(x)
    np.testing.assert_array_equal(x.numpy(), np.eye(3, dtype=np.float32))
    np.testing.assert_array_equal(r.numpy(), [0.0, 0.0])


# ---------------------------------------------------------------------------------------------
# second derivatives through in-place ops: the saved pre-write value keeps its history


def _mul_x(y, x):
    y.mul_(x)


def _view_mul(y, x):
    y[0:1].mul_(x[0:1])


@pytest.mark.parametrize(
    ("start", "write", "want"),  # want: d/dx sum(d/dx sum(y)) at x = [1, 2], by hand
    [
        (lambda x: x * 1, _mul_x, [2.0, 2.0]),  # y = x^2
        (lambda x: x * x, _mul_x, [6.0, 12.0]),  # y = x^3: 6x
        (lambda x: x * 1, lambda y, x: y.div_(x + 1), [-2 / 8, -2 / 27]),  # x/(x+1): -2/(x+1)^3
        (lambda x: x * 1, lambda y, x: y.pow_(3), [6.0, 12.0]),
        (lambda x: x * 1, _view_mul, [2.0, 0.0]),  # y = [x0^2, x1]
        (lambda x: x * 1, lambda y, x: y.mul_(x).mul_(x), [6.0, 12.0]),
    ],
)
def test_second_derivative_through_an_inplace_op(start, write, want):
    x = graphc.tensor([1.0, 2.0], dtype=graphc.float64, requires_grad=True)
    y = start(x)
    write(y, x)
    (g,) = graphc.autograd.grad(y.sum(), x, create_graph=True)
    assert g.requires_grad
    (h,) = graphc.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), want, rtol=1e-12)


def test_inplace_write_still_raises_for_a_use_recorded_before_it():
    x = graphc.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    z = y * y
    y.mul_(x)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


# ---------------------------------------------------------------------------------------------
# indexing: a list holding sequences, slices, tensors, None or ... is a tuple (PyTorch's rule);
# Python bools and 0-d False masks add a dim of size 1 / 0

_A = np.arange(10.0, dtype=np.float32).reshape(2, 5)


@pytest.mark.parametrize(
    ("key", "want"),
    [
        ([[0, 1]], _A[[0, 1]]),  # one index list inside the list: x[[0, 1]]
        ([[0, 1], [1, 2]], _A[[0, 1], [1, 2]]),
        ([slice(None), 1], _A[:, 1]),
        ([None, 0], _A[None, 0]),
        ([Ellipsis, 1], _A[..., 1]),
        ([0, [1, 2]], _A[0, [1, 2]]),
        ([0, 1], _A[[0, 1]]),  # plain integers: still one index list
    ],
)
def test_list_key_holding_sequences_reads_as_a_tuple(key, want):
    x = graphc.tensor(_A)
    np.testing.assert_array_equal(x[key].numpy(), want)
    x[key] = -1.0
    expect = _A.copy()
    expect[tuple(key) if key != [0, 1] else key] = -1.0
    np.testing.assert_array_equal(x.numpy(), expect)


def test_list_key_with_a_tensor_reads_as_a_tuple():
    x = graphc.tensor(_A)
    assert float(x[[graphc.tensor(1), graphc.tensor(2)]]) == 7.0


@pytest.mark.parametrize("mask", [True, False, np.bool_(True), "tensor_true", "tensor_false"])
def test_bool_scalar_keys_add_a_dim(mask):
    value = mask if not isinstance(mask, str) else graphc.tensor(mask == "tensor_true")
    n = 1 if bool(value) else 0
    x = graphc.tensor(_A, requires_grad=True)
    y = x[value]
    assert tuple(y.shape) == (n, 2, 5)
    assert tuple(x[0, value].shape) == (n, 5)
    (y * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 5), 2.0 * n))
    z = graphc.tensor(_A)
    z[value] = -1.0
    np.testing.assert_array_equal(z.numpy(), np.full((2, 5), -1.0) if n else _A)


# ---------------------------------------------------------------------------------------------
# errors that protect from silently wrong results


@pytest.mark.parametrize(("args", "dtype", "want"), [
    ((0, 3, 1.5), graphc.int64, [0, 1, 2]),  # bounds and step read as int64 first
    ((0, 3.7, 1), graphc.int64, [0, 1, 2]),
    ((-2.5, 2, 1.5), graphc.int64, [-2, -1, 0, 1]),
    ((0, 3, 0.3), graphc.int32, [0] * 10),  # other integer dtypes: counted from the floats, step 0
    ((1, 4, 0.9), graphc.uint8, [1, 1, 1, 1]),
    ((3, 3, -1), None, []),
])
def test_arange_with_float_arguments_and_an_integer_dtype(args, dtype, want):
    r = graphc.arange(*args, dtype=dtype)
    np.testing.assert_array_equal(r.numpy(), want)


@pytest.mark.parametrize(("args", "dtype", "error"), [
    ((0, 3, 0.5), graphc.int64, ValueError),  # a step of 0 as int64
    ((5, 0), None, RuntimeError),
    ((0, 5, -1), None, RuntimeError),
    ((0.0, 1.0, -0.1), None, RuntimeError),
])
def test_arange_refuses_a_zero_or_wrong_sign_step(args, dtype, error):
    with pytest.raises(error, match="step"):
        graphc.arange(*args, dtype=dtype)


@pytest.mark.parametrize("expr", [
    lambda b, i, f: b - 1, lambda b, i, f: 1 - b, lambda b, i, f: i - True, lambda b, i, f: f - True,
    lambda b, i, f: b - f, lambda b, i, f: f - b, lambda b, i, f: i.sub_(True), lambda b, i, f: graphc.tensor(True) - 1,
    lambda b, i, f: b - b,
])
def test_subtraction_with_a_bool_operand_raises(expr):
    b, i, f = graphc.tensor([True, False]), graphc.tensor([1, 2]), graphc.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match="Subtraction, the `-` operator, with"):
        expr(b, i, f)
