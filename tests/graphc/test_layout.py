"""Layout and memory-format names (``graphc.strided``, ``preserve_format``, ``contiguous_format``,
``channels_last``, ``channels_last_3d``) wherever PyTorch takes ``layout=``/``memory_format=``.

Strides are checked against PyTorch's documented ones (channels_last of N,C,H,W stores
N,H,W,C: strides (HWC, 1, WC, C)); values against the numpy source, unchanged by any format.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import graphc

N, C, H, W = 2, 3, 4, 5
CL = (H * W * C, 1, W * C, C)
ROW = (C * H * W, H * W, W, 1)


def _x(requires_grad=False):
    a = np.random.default_rng(0).normal(size=(N, C, H, W))
    return a, graphc.tensor(a, requires_grad=requires_grad)


def test_names_and_reprs():
    assert repr(graphc.channels_last) == "graphc.channels_last"
    assert repr(graphc.strided) == "graphc.strided"
    assert isinstance(graphc.preserve_format, graphc.memory_format)
    assert isinstance(graphc.strided, graphc.layout)
    assert pickle.loads(pickle.dumps(graphc.channels_last)) is graphc.channels_last
    assert graphc.zeros(2).layout is graphc.strided


def test_to_channels_last_strides_and_values():
    a, x = _x()
    y = x.to(memory_format=graphc.channels_last)
    assert y.stride() == CL
    assert y.is_contiguous(memory_format=graphc.channels_last) and not y.is_contiguous()
    np.testing.assert_array_equal(y.numpy(), a)
    assert y.to(memory_format=graphc.channels_last) is y  # already in that format
    back = y.contiguous()
    assert back.stride() == ROW and back.is_contiguous()
    np.testing.assert_array_equal(back.numpy(), a)
    assert y.contiguous(memory_format=graphc.channels_last) is y


def test_conversions_preserve_the_format():
    _, x = _x()
    y = x.to(memory_format=graphc.channels_last)
    assert y.double().stride() == CL and y.float().stride() == CL
    assert y.to(graphc.float32).stride() == CL
    assert y.float(memory_format=graphc.contiguous_format).stride() == ROW
    assert y.clone(memory_format=graphc.preserve_format).stride() == CL
    assert y.clone(memory_format=graphc.contiguous_format).stride() == ROW
    assert x.clone(memory_format=graphc.channels_last).stride() == CL


@pytest.mark.parametrize("fn", [graphc.empty_like, graphc.zeros_like, graphc.ones_like, graphc.rand_like, graphc.randn_like])
def test_like_factories(fn):
    _, x = _x()
    y = x.to(memory_format=graphc.channels_last)
    assert fn(y).stride() == CL  # preserve_format by default
    assert fn(y, memory_format=graphc.contiguous_format).stride() == ROW
    assert fn(x, memory_format=graphc.channels_last).stride() == CL
    assert fn(x, layout=graphc.strided).shape == x.shape


def test_full_like_and_empty_with_format():
    _, x = _x()
    f = graphc.full_like(x, 7.0, memory_format=graphc.channels_last)
    assert f.stride() == CL and np.all(f.numpy() == 7.0)
    e = graphc.empty(N, C, H, W, memory_format=graphc.channels_last, requires_grad=True)
    assert e.stride() == CL and e.is_leaf and e.requires_grad
    e3 = graphc.empty(2, 3, 4, 5, 6, memory_format=graphc.channels_last_3d)
    assert e3.stride() == (4 * 5 * 6 * 3, 1, 5 * 6 * 3, 6 * 3, 3)


def test_factories_take_layout_strided_and_refuse_sparse():
    for make in (
        lambda **k: graphc.zeros(2, 3, **k),
        lambda **k: graphc.ones(2, **k),
        lambda **k: graphc.full((2,), 1.0, **k),
        lambda **k: graphc.rand(2, **k),
        lambda **k: graphc.randn(2, **k),
        lambda **k: graphc.randint(0, 3, (2,), **k),
        lambda **k: graphc.arange(3, **k),
        lambda **k: graphc.linspace(0, 1, 3, **k),
        lambda **k: graphc.eye(2, **k),
        lambda **k: graphc.empty(2, **k),
    ):
        assert make(layout=graphc.strided, pin_memory=False).layout is graphc.strided
        with pytest.raises(NotImplementedError, match="strided layout"):
            make(layout=graphc.sparse_coo)


def test_errors():
    with pytest.raises(RuntimeError, match="required rank 4"):
        graphc.zeros(3, 4).to(memory_format=graphc.channels_last)
    with pytest.raises(TypeError, match="memory_format"):
        graphc.zeros(3).clone(memory_format="channels_last")
    with pytest.raises(RuntimeError, match="preserve memory format"):
        graphc.zeros(3).contiguous(memory_format=graphc.preserve_format)


def test_contiguous_of_a_transpose_is_row_major():
    """Regression: contiguous() of a transposed tensor must be row-major (view after it works)."""
    a = np.arange(12.0).reshape(3, 4)
    t = graphc.tensor(a).t().contiguous()
    assert t.stride() == (3, 1) and t.is_contiguous()
    np.testing.assert_array_equal(t.view(12).numpy(), a.T.reshape(12))


def test_gradient_flows_through_format_change():
    a, x = _x(requires_grad=True)
    y = x.to(memory_format=graphc.channels_last)
    (y * y).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * a)


def test_compiled_format_change_gives_eager_values():
    a, x = _x()
    f = graphc.compile(lambda t: (t.to(memory_format=graphc.channels_last) * 2).contiguous().sum(dim=1))
    for _ in range(3):
        out = f(x)
    np.testing.assert_allclose(out.numpy(), 2 * a.sum(1))
