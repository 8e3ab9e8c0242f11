"""Interop: DLPack both ways (numpy always; PyTorch and JAX where installed; cuda on a GPU) and
numpy functions on tensors (``__array__``, ``__array_priority__``, ``__array_function__``).

Zero-copy is checked by writing through one side and reading the other, and by data pointers."""

from __future__ import annotations

import gc

import numpy as np
import pytest

import graphc
from graphc.utils import dlpack

DTYPES = ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"]


def _sample(name, shape=(3, 4)):
    a = np.arange(np.prod(shape)).reshape(shape) % 5
    return (a > 2) if name == "bool" else a.astype(name)


@pytest.mark.parametrize("name", DTYPES)
def test_numpy_to_graphc_shares_memory(name):
    a = _sample(name)
    t = graphc.from_dlpack(a)
    assert t.dtype.name == name and tuple(t.shape) == a.shape
    assert t.data_ptr() == a.__array_interface__["data"][0]
    np.testing.assert_array_equal(t.numpy(), a)
    a[0, 0] = 1
    assert t[0, 0].item() == a[0, 0]


@pytest.mark.parametrize("name", DTYPES)
def test_graphc_to_numpy_shares_memory(name):
    t = graphc.from_numpy(_sample(name).copy())
    b = np.from_dlpack(t)
    assert b.dtype.name == name and b.__array_interface__["data"][0] == t.data_ptr()
    b[1, 2] = 1
    assert t[1, 2].item() == b[1, 2]


def test_strided_views_and_0d_and_empty():
    a = np.arange(24.0).reshape(4, 6)
    v = a.T[::2, 1:]
    t = graphc.from_dlpack(v)
    assert t.stride() == tuple(s // 8 for s in v.strides)
    np.testing.assert_array_equal(t.numpy(), v)
    back = np.from_dlpack(graphc.tensor(np.arange(10.0))[2:8:3])
    np.testing.assert_array_equal(back, [2.0, 5.0])
    assert graphc.from_dlpack(np.array(3.5)).item() == 3.5
    assert tuple(graphc.from_dlpack(np.zeros((0, 3))).shape) == (0, 3)


def test_capsule_form_and_lifetime():
    a = np.arange(5.0)
    t = dlpack.from_dlpack(a.__dlpack__())  # a bare capsule, as torch.utils.dlpack.to_dlpack returns
    del a
    gc.collect()
    np.testing.assert_array_equal(t.numpy(), np.arange(5.0))  # the capsule keeps the memory alive
    with pytest.raises(BufferError, match="not an unconsumed"):
        cap = np.arange(2.0).__dlpack__()
        graphc.from_dlpack(cap)
        graphc.from_dlpack(cap)


def test_export_rules():
    assert graphc.ones(2).__dlpack_device__() == (1, 0)
    with pytest.raises(RuntimeError, match="require gradient"):
        graphc.ones(2, requires_grad=True).__dlpack__()
    with pytest.raises(BufferError, match="bfloat16"):
        np.from_dlpack(graphc.ones(2, dtype=graphc.bfloat16))
    with pytest.raises(TypeError, match="__dlpack__"):
        graphc.from_dlpack([1, 2])
    t = graphc.ones(2)
    assert graphc.from_dlpack(t) is t


def test_numpy_functions_take_tensors():
    a = np.random.default_rng(0).normal(size=(3, 4))
    t = graphc.tensor(a)
    assert np.sum(t) == pytest.approx(a.sum())
    np.testing.assert_allclose(np.mean(t, axis=0), a.mean(0))
    np.testing.assert_allclose(np.concatenate([t, t]), np.concatenate([a, a]))
    assert np.linalg.norm(t) == pytest.approx(np.linalg.norm(a))
    np.testing.assert_allclose(np.add(np.ones((3, 4)), t), a + 1)
    r = np.ones((3, 4)) + t  # numpy defers to the tensor's reflected operator
    assert isinstance(r, graphc.Tensor)
    np.testing.assert_allclose(r.numpy(), a + 1)
    np.testing.assert_allclose(np.asarray(t, dtype=np.float32), a.astype(np.float32))


def test_tracer_has_no_values_for_numpy():
    f = graphc.compile(lambda x: graphc.tensor(np.sum(x)), warmup=False)
    with pytest.raises(graphc.TracingError):
        f(graphc.ones(2))


# -- PyTorch and JAX, where installed -------------------------------------------------------


def test_pytorch_both_ways():
    torch = pytest.importorskip("torch")
    x = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    t = graphc.from_dlpack(x)
    assert t.data_ptr() == x.data_ptr()
    x[0, 0] = 42
    assert t[0, 0].item() == 42
    xt = torch.from_dlpack(graphc.arange(6, dtype=graphc.int64).reshape(2, 3).t())
    assert xt.stride() == (1, 3) and xt.tolist() == [[0, 3], [1, 4], [2, 5]]
    legacy = graphc.from_dlpack(torch.utils.dlpack.to_dlpack(torch.ones(3, dtype=torch.bool)))
    assert legacy.dtype is graphc.bool and legacy.tolist() == [True, True, True]
    bf = graphc.from_dlpack(torch.tensor([1.5, -2.25, 3e-3], dtype=torch.bfloat16))  # by copy: stored as f32
    assert bf.dtype is graphc.bfloat16
    np.testing.assert_array_equal(bf.float().numpy(), torch.tensor([1.5, -2.25, 3e-3], dtype=torch.bfloat16).float().numpy())
    del x
    gc.collect()
    assert t[0, 0].item() == 42  # the capsule keeps torch's storage alive


def test_jax_both_ways():
    jnp = pytest.importorskip("jax.numpy")
    j = jnp.arange(6.0, dtype=jnp.float32).reshape(2, 3)
    t = graphc.from_dlpack(j)
    np.testing.assert_array_equal(t.numpy(), np.arange(6.0).reshape(2, 3))
    back = jnp.from_dlpack(graphc.arange(4.0))
    np.testing.assert_array_equal(np.asarray(back), np.arange(4.0))


@pytest.mark.gpu
def test_cuda_round_trip_is_zero_copy():
    if not graphc.cuda.is_available():
        pytest.skip("no GPU")
    x = graphc.arange(12.0, device="cuda").reshape(3, 4)
    assert x.__dlpack_device__() == (2, 0)
    y = graphc.from_dlpack(dlpack.to_dlpack(x))
    assert y.device.type == "cuda" and y.data_ptr() == x.data_ptr()
    x.add_(1)
    np.testing.assert_array_equal(y.cpu().numpy(), np.arange(12.0).reshape(3, 4) + 1)
    v = graphc.from_dlpack(dlpack.to_dlpack(x.t()))
    assert v.stride() == (1, 4)
    np.testing.assert_array_equal(v.cpu().numpy(), (np.arange(12.0).reshape(3, 4) + 1).T)
