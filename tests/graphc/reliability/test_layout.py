"""Ops that promise a layout give PyTorch's strides, not only its values (issue 11).

The expected strides were read from PyTorch 2.13 for the same calls (in elements).
"""

import numpy as np
import pytest

import graphc


def _x(*shape):
    return graphc.tensor(np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape))


def test_contiguous_of_a_transpose_is_row_major_and_views():
    x = _x(2, 3, 4)
    y = x.transpose(1, 2).contiguous()
    assert y.stride() == (12, 3, 1) and y.is_contiguous()
    np.testing.assert_array_equal(y.numpy(), x.numpy().transpose(0, 2, 1))
    # the GPT attention idiom: (B, nh, T, hs) -> (B, T, nh, hs) -> (B, T, C)
    q = _x(2, 3, 4, 5)
    merged = q.transpose(1, 2).contiguous().view(2, 4, 15)
    np.testing.assert_array_equal(merged.numpy(), q.numpy().transpose(0, 2, 1, 3).reshape(2, 4, 15))


def test_contiguous_of_a_contiguous_tensor_is_itself():
    x = _x(3, 4)
    assert x.contiguous() is x


@pytest.mark.parametrize(
    "make, strides",
    [
        (lambda: _x(2, 3, 4).transpose(1, 2), (12, 1, 4)),  # dense, permuted: kept
        (lambda: _x(2, 3, 4, 5).permute(0, 2, 3, 1), (60, 5, 1, 20)),
        (lambda: _x(4, 6).t()[:, ::2], (1, 6)),  # strided: compact, same order
        (lambda: _x(3, 4).expand(2, 3, 4), (12, 4, 1)),  # broadcast: row-major
        (lambda: _x(3, 4)[:, :1], (1, 1)),
        (lambda: _x(5, 1, 3).transpose(0, 2), (1, 3, 3)),
        (lambda: _x(3, 4).flip(0), (4, 1)),
    ],
)
def test_clone_preserves_the_layout_like_pytorch(make, strides):
    x = make()
    y = x.clone()
    assert y.stride() == strides
    np.testing.assert_array_equal(y.numpy(), x.numpy())
    assert not np.shares_memory(y.numpy(), x.numpy())


def test_clone_and_contiguous_with_memory_formats():
    z = _x(2, 3, 4, 5)
    assert z.clone(memory_format=graphc.contiguous_format).stride() == (60, 20, 5, 1)
    cl = z.clone(memory_format=graphc.channels_last)
    assert cl.stride() == (60, 1, 15, 3) and cl.is_contiguous(memory_format=graphc.channels_last)
    assert not cl.is_contiguous() and not z.is_contiguous(memory_format=graphc.channels_last)
    np.testing.assert_array_equal(cl.numpy(), z.numpy())
    assert z.contiguous(memory_format=graphc.channels_last).stride() == (60, 1, 15, 3)
    assert cl.contiguous(memory_format=graphc.channels_last) is cl
    assert cl.contiguous().stride() == (60, 20, 5, 1)
    assert z.transpose(1, 2).clone(memory_format=graphc.contiguous_format).stride() == (60, 15, 5, 1)
    v = _x(2, 3, 4, 5, 6)
    assert v.clone(memory_format=graphc.channels_last_3d).stride() == (360, 1, 90, 18, 3)
    with pytest.raises(RuntimeError, match="rank 4"):
        _x(3, 4).clone(memory_format=graphc.channels_last)
    with pytest.raises(RuntimeError, match="preserve"):
        z.contiguous(memory_format=graphc.preserve_format)
    with pytest.raises(TypeError, match="memory_format"):
        z.clone(memory_format="channels_last")


def test_reshape_that_must_copy_is_row_major():
    z = _x(2, 3, 4, 5)
    assert z.transpose(0, 1).reshape(6, 20).stride() == (20, 1)
    assert z.transpose(2, 3).reshape(2, 3, 20).stride() == (60, 20, 1)
    np.testing.assert_array_equal(z.transpose(2, 3).reshape(2, 3, 20).numpy(), z.numpy().transpose(0, 1, 3, 2).reshape(2, 3, 20))


def test_layout_copies_keep_gradients():
    x = graphc.randn(2, 3, 4, requires_grad=True)
    w = graphc.randn(2, 4, 3)
    y = x.transpose(1, 2).contiguous().view(2, 12) * w.reshape(2, 12)
    z = x.clone(memory_format=graphc.contiguous_format).sum() + x.transpose(1, 2).clone().mul(2).sum()
    (y.sum() + z).backward()
    np.testing.assert_allclose(x.grad.numpy(), w.numpy().transpose(0, 2, 1) + 3.0, rtol=1e-6)


def test_contiguous_under_compile_matches_eager():
    @graphc.compile
    def f(q):
        return q.transpose(1, 2).contiguous().view(2, 4, 15) * 2

    q = graphc.randn(2, 3, 4, 5)
    for _ in range(3):
        np.testing.assert_allclose(f(q).numpy(), q.numpy().transpose(0, 2, 1, 3).reshape(2, 4, 15) * 2, rtol=1e-6)
