"""Gradients and results at degenerate points match PyTorch (issue 11).

Before, the std of a constant row, the norm of a zero vector, normalize at zero and
atan2(0, 0) gave nan gradients (inf * 0), which poison a training step on zero padding.
PyTorch's values (2.13) are written next to each case; the rest are checked against
float64 numpy or finite differences.
"""

import numpy as np
import pytest

import graphc
import graphc.nn.functional as F


def _grad(fn, *values, dtype=graphc.float64):
    xs = [graphc.tensor(v, dtype=dtype, requires_grad=True) for v in values]
    out = fn(*xs)
    (out.sum() if out.ndim else out).backward()
    return [x.grad.numpy() for x in xs]


SPREADS = {
    "std": lambda x: x.std(),
    "std_dim": lambda x: x.std(dim=0),
    "std_mean": lambda x: graphc.std_mean(x)[0],
    "var": lambda x: x.var(),
}
NORMS = {
    "norm": lambda x: x.norm(),
    "norm_dim": lambda x: x.norm(dim=0),
    "norm3": lambda x: graphc.norm(x, 3),
    "norm_half": lambda x: graphc.norm(x, 0.5),
    "norm1": lambda x: graphc.norm(x, 1),
    "norm_inf": lambda x: graphc.norm(x, float("inf")),
}


@pytest.mark.parametrize("name", sorted(SPREADS))
@pytest.mark.parametrize("value", [0.0, 1.5])
def test_std_and_var_of_a_constant_have_zero_gradient(name, value):
    (g,) = _grad(SPREADS[name], [value] * 3)
    np.testing.assert_array_equal(g, 0.0)  # PyTorch: zeros (the plain rule gives nan)


@pytest.mark.parametrize("name", sorted(NORMS))
@pytest.mark.parametrize("mode", ["eager", "compiled"])
def test_norms_at_the_zero_vector_have_zero_gradient(name, mode):
    fn = NORMS[name]
    if mode == "compiled":
        def step(x):
            fn(x).backward()
            return x.grad

        x = graphc.zeros(3, dtype=graphc.float64, requires_grad=True)
        g = graphc.compile(step, warmup=False)(x).numpy()
    else:
        (g,) = _grad(fn, [0.0] * 3)
    np.testing.assert_array_equal(g, 0.0)  # PyTorch: zeros


def test_std_and_norm_gradients_elsewhere_match_finite_differences():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4))
    for fn in (lambda t: t.std(dim=1), lambda t: t.norm(dim=0), lambda t: graphc.norm(t, 3), lambda t: graphc.norm(t, 0.5)):
        assert graphc.autograd.gradcheck(fn, (graphc.tensor(x, requires_grad=True),))


def test_normalize_at_zero_has_pytorchs_gradient():
    (g,) = _grad(lambda x: F.normalize(x, dim=1), np.zeros((2, 3)), dtype=graphc.float32)
    np.testing.assert_allclose(g, np.full((2, 3), 1e12), rtol=1e-6)  # 1 / eps, as PyTorch
    out = F.normalize(graphc.zeros(2, 3), dim=1)
    np.testing.assert_array_equal(out.numpy(), 0.0)


def test_atan2_at_the_origin_has_zero_gradient():
    ga, gb = _grad(graphc.atan2, [0.0, 0.0, 1.0], [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(ga[:2], 0.0)
    np.testing.assert_array_equal(gb[:2], 0.0)
    np.testing.assert_allclose([ga[2], gb[2]], [0.5, -0.5])  # d atan2(y, x) = (x, -y) / (x^2 + y^2)


def test_erf_keeps_the_sign_of_zero():
    for dtype in (graphc.float16, graphc.float32, graphc.float64):
        out = graphc.erf(graphc.tensor([-0.0, 0.0], dtype=dtype)).float().numpy()
        assert np.signbit(out).tolist() == [True, False]
    compiled = graphc.compile(lambda t: graphc.erf(t) * 1.0, warmup=False)
    assert np.signbit(compiled(graphc.tensor([-0.0, 0.0])).numpy()).tolist() == [True, False]


def test_bfloat16_of_a_0d_tensor_keeps_its_shape():
    assert graphc.tensor(2.0).bfloat16().shape == ()


def test_tensor_split_with_tensor_indices_splits_and_differentiates():
    x = graphc.arange(6.0, requires_grad=True)
    a, b = graphc.tensor_split(x, graphc.tensor([2]))
    (a * 1 + 0).sum().backward()
    (b * 2).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 2.0, 2.0, 2.0, 2.0]  # PyTorch
    y = graphc.arange(6.0)
    assert [p.tolist() for p in graphc.tensor_split(y, graphc.tensor(2))] == [[0, 1, 2], [3, 4, 5]]
    assert [p.tolist() for p in graphc.tensor_split(y, [2, -1])] == [[0, 1], [2, 3, 4], [5]]
    assert [p.tolist() for p in graphc.tensor_split(y, [4, 2])] == [[0, 1, 2, 3], [], [2, 3, 4, 5]]
    with pytest.raises(RuntimeError, match="1-dimensional"):
        graphc.tensor_split(graphc.tensor(2.0), 2)
    with pytest.raises(RuntimeError, match="larger than 0"):
        graphc.tensor_split(y, 0)


def test_flip_and_squeeze_with_empty_dims_change_nothing():
    x = graphc.arange(3.0)
    assert graphc.flip(x, dims=()).tolist() == [0.0, 1.0, 2.0]
    assert graphc.flip(x, []).tolist() == [0.0, 1.0, 2.0]
    assert graphc.squeeze(graphc.ones(1, 3, 1), ()).shape == (1, 3, 1)
    assert graphc.flip(graphc.tensor(3.0), (0,)).item() == 3.0  # 0-d: PyTorch returns it


def test_std_mean_and_var_mean_take_unbiased_positionally():
    x = graphc.tensor(np.random.default_rng(1).standard_normal((3, 4)))
    s, m = graphc.std_mean(x, True)  # unbiased, over everything
    assert s.shape == () and m.shape == ()
    np.testing.assert_allclose(s.item(), x.numpy().std(ddof=1), rtol=1e-6)
    v, m = graphc.var_mean(x, False)
    assert v.shape == () and m.shape == ()
    np.testing.assert_allclose(v.item(), x.numpy().var(ddof=0), rtol=1e-6)
    v, m = graphc.var_mean(x, 1, True, True)  # dim, unbiased, keepdim
    assert v.shape == (3, 1) and m.shape == (3, 1)
    np.testing.assert_allclose(v.numpy()[:, 0], x.numpy().var(axis=1, ddof=1), rtol=1e-6)


def test_square_of_bool_is_int64():
    r = graphc.square(graphc.tensor([True, False]))
    assert r.dtype is graphc.int64 and r.tolist() == [1, 0]


def test_integer_pooling_and_clamping_activations_keep_the_integer_dtype():
    x = graphc.tensor([[[[1, 2], [3, 5]]]])
    # PyTorch truncates the integer mean: 11 / 4 -> 2, -11 / 4 -> -2, 11 / 3 -> 3
    assert F.avg_pool2d(x, 2).tolist() == [[[[2]]]] and F.avg_pool2d(x, 2).dtype is graphc.int64
    assert F.avg_pool2d(-x, 2).tolist() == [[[[-2]]]]
    assert F.avg_pool2d(x, 2, divisor_override=3).tolist() == [[[[3]]]]
    assert F.avg_pool1d(graphc.tensor([[[1, 2, 4, -7]]]), 2).tolist() == [[[1, -1]]]
    padded = F.avg_pool2d(x, 2, stride=1, padding=1, count_include_pad=False)
    assert padded.tolist() == [[[[1, 1, 2], [2, 2, 3], [3, 4, 5]]]]
    h = F.hardtanh(graphc.tensor([-3, 0, 3]), -1.5, 1.5)
    assert h.dtype is graphc.int64 and h.tolist() == [-1, 0, 1]
    r6 = F.relu6(graphc.tensor([-3, 0, 8]))
    assert r6.dtype is graphc.int64 and r6.tolist() == [0, 0, 6]


def test_floor_division_and_zero_norm_have_a_grad_fn_with_zero_gradient():
    x = graphc.tensor([1.5, -2.0], requires_grad=True)
    y = graphc.div(x, 2, rounding_mode="floor")
    assert y.grad_fn.name() == "DivBackward2" and y.tolist() == [0.0, -1.0]
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]
    t = graphc.div(x, 2, rounding_mode="trunc")
    assert t.grad_fn.name() == "DivBackward2" and t.tolist() == [0.0, -1.0]
    n = graphc.norm(graphc.tensor([0.0, 2.0, -1.0, float("nan"), float("inf")], requires_grad=True), 0)
    assert n.grad_fn is not None and n.item() == 4.0


@pytest.mark.parametrize("p", [2, 3, 1, 0.5, float("inf")])
def test_norm_values_match_numpy(p):
    x = np.random.default_rng(2).standard_normal(7)
    expected = np.linalg.norm(x, p) if p != 0.5 else (np.abs(x) ** 0.5).sum() ** 2
    np.testing.assert_allclose(graphc.norm(graphc.tensor(x), p).item(), expected, rtol=1e-12)
    # negative p: |0| ** -1 is inf, so the "norm" of a vector with a zero entry is 0
    assert graphc.norm(graphc.tensor([0.0, 1.0]), -1).item() == 0.0
