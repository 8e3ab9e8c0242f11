"""torch.* spellings added for ported scripts: constants, nn ops with aten argument orders, the
in-place function forms, smaller names and Tensor methods. References: nn.functional calls with
the rearranged arguments, float64 numpy and hand-computed values."""

import math
import warnings

import numpy as np
import pytest

import graphc
import graphc.nn.functional as F
from graphc._torch_extras import INPLACE_FUNCTIONS


def close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.asarray(a.detach().numpy(), dtype=np.float64), np.asarray(b, dtype=np.float64),
                               rtol=tol, atol=tol)


def test_constants():
    assert graphc.pi == math.pi and graphc.e == math.e and graphc.inf == math.inf
    assert math.isnan(graphc.nan) and graphc.newaxis is None
    assert graphc.ones(3)[graphc.newaxis].shape == (1, 3)


def test_aten_argument_orders():
    graphc.manual_seed(0)
    x = graphc.randn(2, 3, 5)
    w, b = graphc.randn(3), graphc.randn(3)
    rm, rv = graphc.zeros(3), graphc.ones(3)
    close(graphc.batch_norm(x, w, b, rm, rv, False, 0.1, 1e-5, False), F.batch_norm(x, rm, rv, w, b, False).numpy())
    close(graphc.instance_norm(x, w, b, None, None, True, 0.1, 1e-5, False), F.instance_norm(x, weight=w, bias=b).numpy())
    close(graphc.layer_norm(x, [5], None, None, 1e-5, True), F.layer_norm(x, [5]).numpy())
    close(graphc.group_norm(x, 3, w, b, 1e-5, True), F.group_norm(x, 3, w, b).numpy())
    table, idx = graphc.randn(6, 4), graphc.tensor([[0, 5], [2, 2]])
    close(graphc.embedding(table, idx), table.numpy()[idx.numpy()])
    assert graphc.dropout(x, 0.5, False) is x
    kept = graphc.dropout(graphc.ones(1000), 0.5, True).numpy()
    assert set(np.unique(kept)) <= {0.0, 2.0}
    assert graphc.conv2d is F.conv2d and graphc.pixel_shuffle is F.pixel_shuffle


def test_conv_tbc_matches_conv1d_reference():
    graphc.manual_seed(1)
    x, w, b = graphc.randn(7, 2, 3), graphc.randn(3, 3, 4), graphc.randn(4)
    out = graphc.conv_tbc(x, w, b, 1)
    xp = np.pad(x.numpy().astype(np.float64), ((1, 1), (0, 0), (0, 0)))
    ref = np.stack([np.einsum("kbc,kco->bo", xp[t:t + 3], w.numpy()) for t in range(7)]) + b.numpy()
    assert out.shape == (7, 2, 4)
    close(out, ref, 1e-4)


def test_losses_take_int_reduction_and_default_to_none():
    a, t = graphc.tensor([-1.0, -2.0]), graphc.tensor([0.5, 0.5])
    elem = t.numpy() * (np.log(t.numpy()) - a.numpy())  # KL pointwise, float64 reference
    close(graphc.kl_div(a, t), elem)  # PyTorch 2.13's bindings: unreduced by default
    close(graphc.kl_div(a, t, 1), elem.mean())
    close(graphc.kl_div(a, t, 2), elem.sum())
    close(graphc.hinge_embedding_loss(graphc.tensor([0.3, 2.0]), graphc.tensor([1.0, -1.0]), 1.0, 0), [0.3, 0.0])
    y = graphc.tensor([1.0, -1.0])
    close(graphc.margin_ranking_loss(a, t, y, 0.0, 1), F.margin_ranking_loss(a, t, y).numpy())
    close(graphc.binary_cross_entropy_with_logits(a, t, None, None, 2),
          F.binary_cross_entropy_with_logits(a, t, reduction="sum").numpy())
    close(graphc.poisson_nll_loss(a, t, True, False, 1e-8, 1), F.poisson_nll_loss(a, t).numpy())
    with pytest.raises(ValueError):
        graphc.kl_div(a, t, 3)


def test_activation_and_pool_spellings():
    x = graphc.tensor([-2.0, -0.2, 0.3, 1.5])
    close(graphc.threshold(x, 0.25, -1.0), [-1.0, -1.0, 0.3, 1.5])
    close(graphc.hardshrink(x, 0.5), [-2.0, 0.0, 0.0, 1.5])
    close(graphc.celu(x, 2.0), np.where(x.numpy() > 0, x.numpy(), 2.0 * np.expm1(x.numpy() / 2.0)))
    y = x.clone()
    assert graphc.selu_(y) is y and graphc.relu_(graphc.tensor([-1.0]))[0].item() == 0.0
    values, indices = graphc.max_pool1d_with_indices(graphc.arange(6.0).reshape(1, 1, 6), 2)
    assert values.tolist() == [[[1.0, 3.0, 5.0]]] and indices.tolist() == [[[1, 3, 5]]]
    assert graphc.max_pool1d(graphc.arange(6.0).reshape(1, 1, 6), 3).tolist() == [[[2.0, 5.0]]]
    out, idx = graphc.adaptive_max_pool1d(graphc.arange(4.0).reshape(1, 1, 4), 2)
    assert out.tolist() == [[[1.0, 3.0]]] and idx.tolist() == [[[1, 3]]]


def test_embedding_bag_bookkeeping():
    w = graphc.arange(12.0).reshape(4, 3)
    idx, off = graphc.tensor([0, 2, 1, 3, 2]), graphc.tensor([0, 2])
    out, offset2bag, bag_size, max_idx = graphc.embedding_bag(w, idx, off, False, 2)
    assert out.tolist() == [[6.0, 7.0, 8.0], [9.0, 10.0, 11.0]]
    assert offset2bag.tolist() == [0, 0, 1, 1, 1] and bag_size.tolist() == [2, 3]
    assert max_idx.tolist() == [[2, 2, 2], [3, 3, 3]]
    assert graphc.embedding_bag(w, idx, off, False, 1)[0].tolist() == [[3.0, 4.0, 5.0], [6.0, 7.0, 8.0]]


def test_feature_and_native_dropout():
    graphc.manual_seed(2)
    out = graphc.feature_dropout(graphc.ones(4, 6, 3), 0.5, True).numpy()
    assert np.all(out.min(axis=2) == out.max(axis=2))  # whole channels dropped or kept
    assert set(np.unique(out)) <= {0.0, 2.0}
    res, mask = graphc.native_dropout(graphc.ones(8), 0.5, True)
    np.testing.assert_array_equal(res.numpy(), 2.0 * mask.numpy())
    assert graphc.native_dropout(graphc.ones(3), 0.5, False)[1].tolist() == [True] * 3


def test_grid_sampler_int_modes():
    graphc.manual_seed(3)
    inp, theta = graphc.randn(1, 2, 4, 4), graphc.tensor([[[0.9, 0.1, 0.0], [0.0, 1.1, 0.1]]])
    grid = graphc.affine_grid_generator(theta, (1, 2, 4, 4), False)
    close(grid, F.affine_grid(theta, [1, 2, 4, 4], align_corners=False).numpy())
    close(graphc.grid_sampler(inp, grid, 1, 1, False), F.grid_sample(inp, grid, "nearest", "border", False).numpy())


@pytest.mark.parametrize("name", INPLACE_FUNCTIONS)
def test_inplace_function_forms_exist(name):
    assert callable(getattr(graphc, name)) and hasattr(graphc.Tensor, name)


def test_inplace_function_forms_write_into_input():
    x = graphc.tensor([0.25, 1.0])
    assert graphc.exp_(x) is x
    close(x, np.exp([0.25, 1.0]))
    y = graphc.tensor([-3.0, 3.0])
    graphc.clamp_(y, -1.0, 2.0)
    assert y.tolist() == [-1.0, 2.0]
    z = graphc.tensor([1.0, 2.0])
    graphc.xlogy_(z, graphc.tensor([math.e, 1.0]))
    close(z, [1.0, 0.0])


def test_small_names():
    assert graphc.is_nonzero(graphc.tensor([2.0])) and not graphc.is_nonzero(graphc.tensor(0))
    for bad, what in ((graphc.ones(2), "more than one value"), (graphc.ones(0), "no values")):
        with pytest.raises(RuntimeError, match=what):
            graphc.is_nonzero(bad)
    assert graphc.is_same_size(graphc.ones(2, 3), graphc.zeros(2, 3)) and not graphc.is_same_size(graphc.ones(2), graphc.ones(3))
    assert graphc.is_signed(graphc.ones(1)) and not graphc.is_signed(graphc.ones(1, dtype=graphc.uint8))
    assert not graphc.is_signed(graphc.ones(1, dtype=graphc.bool)) and not graphc.is_storage(graphc.ones(1))
    assert graphc.typename(graphc.ones(1)) == "graphc.FloatTensor" and graphc.typename(3) == "int"
    assert graphc.typename(graphc.nn.Linear) == "graphc.nn.modules.linear.Linear"
    x = graphc.ones(2, requires_grad=True) * 2
    assert not graphc.detach(x).requires_grad and graphc.fill_(graphc.zeros(2), 4.0).tolist() == [4.0, 4.0]
    t = graphc.zeros(3)
    graphc.index_put_(t, (graphc.tensor([0, 2]),), graphc.tensor([1.0, 5.0]))
    assert t.tolist() == [1.0, 0.0, 5.0]
    with pytest.raises(RuntimeError, match="removed"):
        graphc.matrix_rank(graphc.eye(2))


def test_norms_products_vander():
    a = np.arange(6.0).reshape(2, 3)
    x = graphc.tensor(a, dtype=graphc.float64)
    close(graphc.frobenius_norm(x, (0, 1)), np.linalg.norm(a))
    close(graphc.frobenius_norm(x, 1, True), np.linalg.norm(a, axis=1, keepdims=True))
    close(graphc.nuclear_norm(x), np.linalg.norm(a, "nuc"))
    assert graphc.nuclear_norm(x, True).shape == (1, 1)
    close(graphc.nuclear_norm(graphc.stack([x, x]), (1, 2)), [np.linalg.norm(a, "nuc")] * 2)
    m = graphc.tensor(a)
    with pytest.warns(UserWarning, match="chain_matmul is deprecated"):
        close(graphc.chain_matmul(m, m.T, m), a @ a.T @ a)
    v = graphc.tensor([1, 2, 3])
    assert graphc.vander(v).tolist() == np.vander([1, 2, 3]).tolist() and graphc.vander(v).dtype == graphc.int64
    close(graphc.vander(graphc.tensor([1.0, 2.0, 3.0]), 2, True), np.vander([1.0, 2.0, 3.0], 2, increasing=True))
    assert graphc.vander(v, 0).shape == (3, 0)
    assert graphc.row_stack([graphc.ones(2), graphc.zeros(2)]).tolist() == [[1.0, 1.0], [0.0, 0.0]]


def test_frombuffer_shares_memory():
    buf = bytearray(np.array([1.0, 2.0], dtype=np.float32).tobytes())
    t = graphc.frombuffer(buf, dtype=graphc.float32)
    buf[0:4] = np.array([3.0], dtype=np.float32).tobytes()
    assert t.tolist() == [3.0, 2.0]
    assert graphc.frombuffer(buf, dtype=graphc.float32, count=1, offset=4).tolist() == [2.0]


def test_binomial_and_poisson_moments():
    graphc.manual_seed(4)
    draws = graphc.poisson(graphc.full((20000,), 3.0))
    assert draws.dtype == graphc.float32 and abs(draws.mean().item() - 3.0) < 0.1
    b = graphc.binomial(graphc.full((20000,), 10.0), graphc.full((20000,), 0.3))
    assert abs(b.mean().item() - 3.0) < 0.1 and b.max().item() <= 10
    g = graphc.Generator().manual_seed(5)
    first = graphc.poisson(graphc.full((5,), 2.0), g)
    assert graphc.equal(first, graphc.poisson(graphc.full((5,), 2.0), graphc.Generator().manual_seed(5)))


def test_process_switches():
    assert graphc.set_flush_denormal(True) is False
    assert graphc.get_num_interop_threads() >= 1
    graphc.set_num_interop_threads(3)
    assert graphc.get_num_interop_threads() == 3
    with pytest.raises(RuntimeError):
        graphc.set_num_interop_threads(0)
    graphc.set_warn_always(True)
    assert graphc.is_warn_always_enabled()
    graphc.set_warn_always(False)
    assert not graphc.is_warn_always_enabled()


def test_tensor_methods():
    x = graphc.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert x.where(x > 2, 0.0).tolist() == [[0.0, 0.0], [3.0, 4.0]]
    assert graphc.tensor([1.0, 2.0]).vdot(graphc.tensor([3.0, 4.0])).item() == 11.0
    a, b = np.array([1 + 2j, 3j]), np.array([2, 1 + 1j])  # the first argument is conjugated
    assert graphc.vdot(graphc.tensor(a), graphc.tensor(b)).item() == np.vdot(a, b) == 5 - 7j
    assert graphc.tensor(a).vdot(graphc.tensor(b)).item() == 5 - 7j
    m = x.clone()
    m.addmm_(x, x, beta=0.5)
    close(m, 0.5 * x.numpy() + x.numpy() @ x.numpy())
    assert x.clone().fill_diagonal_(9).tolist() == [[9.0, 2.0], [3.0, 9.0]]
    tall = graphc.zeros(7, 3).fill_diagonal_(5, wrap=True).numpy()
    assert list(zip(*np.nonzero(tall))) == [(0, 0), (1, 1), (2, 2), (4, 0), (5, 1), (6, 2)]
    assert np.count_nonzero(graphc.zeros(7, 3).fill_diagonal_(5).numpy()) == 3
    assert np.count_nonzero(graphc.zeros(3, 3, 3).fill_diagonal_(1).numpy()) == 3
    with pytest.raises(RuntimeError, match="equal length"):
        graphc.zeros(2, 3, 4).fill_diagonal_(1)
    with pytest.raises(RuntimeError, match="requires dtype Double"):
        x.clone().float_power_(2)
    d = x.double()
    d.float_power_(2)
    close(d, x.numpy().astype(np.float64) ** 2)
    s = x.clone()
    assert s.swapaxes_(0, 1) is s and s.tolist() == [[1.0, 3.0], [2.0, 4.0]]
    assert x.clone().swapdims_(0, 1).tolist() == [[1.0, 3.0], [2.0, 4.0]]
    close(x.hardshrink(2.5), [[0.0, 0.0], [3.0, 4.0]])
    close((-x).prelu(graphc.tensor([0.25])), -0.25 * x.numpy())
    assert graphc.tensor([1]).is_nonzero() and x.is_same_size(x) and x.is_signed()


def test_apply_map_new_resize():
    y = graphc.arange(4.0)
    assert y.apply_(lambda v: v * 2) is y and y.tolist() == [0.0, 2.0, 4.0, 6.0]
    y.map_(graphc.ones(1), lambda a, b: a + b)
    assert y.tolist() == [1.0, 3.0, 5.0, 7.0]
    y.map2_(graphc.ones(4), graphc.full((4,), 2.0), lambda a, b, c: a * c - b)
    assert y.tolist() == [1.0, 5.0, 9.0, 13.0]
    x = graphc.ones(2, dtype=graphc.float64)
    assert x.new(2, 3).shape == (2, 3) and x.new(2, 3).dtype == graphc.float64
    assert x.new([1, 2]).tolist() == [1.0, 2.0] and x.new([1, 2]).dtype == graphc.float64
    assert x.new().shape == (0,) and x.new((2, 3)).tolist() == [2.0, 3.0]
    with pytest.raises(TypeError):
        x.new(graphc.tensor([1, 2]))
    r = graphc.arange(4.0, requires_grad=True)
    with pytest.warns(UserWarning, match="non-inplace resize is deprecated"):
        out = r.resize(2, 2)
    assert out.shape == (2, 2)
    out.sum().backward()
    assert r.grad.tolist() == [1.0] * 4
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert r.resize_as(graphc.ones(4, 1)).shape == (4, 1)
        with pytest.raises(RuntimeError, match="autograd's resize can only change the shape"):
            r.resize(3)
