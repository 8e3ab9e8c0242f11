"""The device-memory code paths (DeviceArray, the caching allocator, eager ``run_op`` on cuda
tensors, uploads and downloads, programs over device buffers) without a GPU.

A stand-in for the CUDA driver keeps "device" memory in host buffers, and the
kernels run under Triton's interpreter, which copies each argument's block in
and out through the same protocol it uses for real device memory. What this
cannot show: real launches, libdevice, and timing — ``test_triton_gpu.py``
covers those on a GPU.
"""

from __future__ import annotations

import ctypes
from collections import OrderedDict

import numpy as np
import pytest

import graphc
import graphc.nn as nn
import graphc.nn.functional as F
from backends.triton import _env, driver, eager, memory

pytestmark = pytest.mark.skipif(
    not _env.interpreting() or _env.GPU_PRESENT, reason="simulates a GPU only where there is none"
)


class HostMemoryDriver:
    """The driver calls the runtime makes, over host memory."""

    def __init__(self):
        self.blocks = {}
        self.allocs = 0

    def alloc(self, nbytes):
        buf = np.empty(nbytes, np.uint8)
        self.blocks[buf.ctypes.data] = buf
        self.allocs += 1
        return buf.ctypes.data

    def free(self, ptr):
        del self.blocks[ptr]

    def htod(self, dst, src):
        ctypes.memmove(dst, src.ctypes.data, src.nbytes)

    def dtoh(self, dst, src):
        ctypes.memmove(dst.ctypes.data, src, dst.nbytes)

    def dtod(self, dst, src, nbytes):
        ctypes.memmove(dst, src, nbytes)

    def memset(self, dst, value, nbytes):
        ctypes.memset(dst, value, nbytes)

    def synchronize(self):
        pass


@pytest.fixture
def gpu(monkeypatch):
    drv = HostMemoryDriver()
    monkeypatch.setattr(driver, "_driver", drv)
    monkeypatch.setattr(driver, "FORCE_DEVICE_MEMORY", True)
    monkeypatch.setattr(driver, "allocator", driver.CachingAllocator())
    monkeypatch.setattr(eager, "_op_cache", OrderedDict())
    monkeypatch.setattr(graphc.cuda, "_reason", [None])
    yield drv


def _c(t):
    return t.detach().cpu().numpy()


def test_moves_keep_values_and_dtypes(gpu):
    for dtype in (
        graphc.float32,
        graphc.float64,
        graphc.float16,
        graphc.bfloat16,
        graphc.int64,
        graphc.int32,
        graphc.bool,
    ):
        x = (graphc.randn(5, 7) * 4).to(dtype)
        g = x.to("cuda")
        assert g.is_cuda and g.dtype == dtype and isinstance(g._data, memory.DeviceArray)
        # (numpy has no bfloat16: .numpy() refuses it, as PyTorch's; compare its exact float32 values)
        back, want = (g.cpu(), x) if dtype is not graphc.bfloat16 else (g.cpu().float(), x.float())
        np.testing.assert_array_equal(back.numpy(), want.numpy())
    assert graphc.randn(3).cuda()._data.storage == "float32"
    assert graphc.randn(3).to(graphc.bfloat16).cuda()._data.itemsize == 2  # real bfloat16 storage


def test_caching_allocator_reuses_blocks(gpu):
    a = memory.DeviceArray.empty((256, 256), "float32")
    ptr, allocs = a.block.ptr, gpu.allocs
    del a
    b = memory.DeviceArray.empty((255, 257), "float32")  # 262140 bytes: the same 512-byte bucket
    assert b.block.ptr == ptr and gpu.allocs == allocs
    driver.empty_cache()
    assert driver.allocator.stats()["cached_bytes"] == 0


def test_eager_ops_on_cuda_tensors(gpu):
    graphc.manual_seed(0)
    a, b = graphc.randn(6, 9), graphc.randn(9)
    ga, gb = a.cuda(), b.cuda()
    np.testing.assert_allclose(_c((ga * gb + 1).relu()), (a * b + 1).relu().numpy(), rtol=1e-6)
    np.testing.assert_allclose(_c(ga.softmax(-1)), a.softmax(-1).numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(_c(ga.sum(0)), a.sum(0).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_c(ga @ ga.t()), (a @ a.t()).numpy(), rtol=1e-5, atol=1e-5)
    idx = graphc.tensor([3, 0, 7])
    np.testing.assert_array_equal(_c(ga.index_select(1, idx.cuda())), a.index_select(1, idx).numpy())
    assert (ga > 0).dtype == graphc.bool and (ga > 0).is_cuda


def test_views_share_device_memory(gpu):
    g = graphc.randn(8, 6).cuda()
    t = g.t()
    assert t.data_ptr() == g.data_ptr() and t.stride() == (1, 6)
    s = g[2:5, ::2]
    assert s.storage_offset() == 12 and not s.is_contiguous()
    np.testing.assert_array_equal(_c(s.contiguous()), g.cpu().numpy()[2:5, ::2])
    before = g.cpu().numpy()
    g.add_(1.0)
    np.testing.assert_allclose(_c(t), (before + 1).T)


def test_autograd_on_cuda(gpu):
    x = graphc.randn(4, 5)
    w = graphc.randn(5, 3)
    gx, gw = x.cuda().requires_grad_(), w.cuda().requires_grad_()
    (gx @ gw).tanh().sum().backward()
    cx, cw = x.clone().requires_grad_(), w.clone().requires_grad_()
    (cx @ cw).tanh().sum().backward()
    assert gx.grad.is_cuda
    np.testing.assert_allclose(_c(gx.grad), cx.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_c(gw.grad), cw.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_compiled_function_on_cuda_tensors(gpu):
    x, w, b = graphc.randn(6, 20), graphc.randn(20), graphc.randn(20)
    f = lambda x, w, b: F.layer_norm(x, (20,), w, b).softmax(-1)  # noqa: E731
    compiled = graphc.compile(f)  # the device picks the Triton backend
    gx, gw, gb = x.cuda(), w.cuda(), b.cuda()
    for _ in range(3):
        out = compiled(gx, gw, gb)
    assert out.is_cuda and isinstance(out._data, memory.DeviceArray)
    np.testing.assert_allclose(_c(out), f(x, w, b).numpy(), rtol=1e-5, atol=1e-7)
    assert compiled.explain(gx, gw, gb).backend == "triton"


def test_cpu_tensors_with_the_triton_backend_upload_and_download(gpu):
    x = graphc.randn(8, 8)
    compiled = graphc.compile(lambda x: (x @ x).relu(), backend="triton")
    for _ in range(3):
        out = compiled(x)
    assert out.device.type == "cpu" and isinstance(out._data, np.ndarray)
    np.testing.assert_allclose(out.numpy(), (x @ x).relu().numpy(), rtol=1e-5, atol=1e-5)


def test_compiled_mlp_training_step_on_cuda(gpu):
    def make(device):
        graphc.manual_seed(0)
        model = nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 5)).to(device)
        return model, graphc.optim.SGD(model.parameters(), lr=0.1)

    x, y = graphc.randn(8, 12), graphc.randint(0, 5, (8,))
    (mc, oc), (mg, og) = make("cpu"), make("cuda")

    def step_for(model, opt):
        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss

        return step

    cpu_step, gpu_step = step_for(mc, oc), graphc.compile(step_for(mg, og), warmup=False)
    gx, gy = x.cuda(), y.cuda()
    for _ in range(3):
        lc, lg = cpu_step(x, y), gpu_step(gx, gy)
        np.testing.assert_allclose(lg.item(), lc.item(), rtol=1e-5)
    for pc, pg in zip(mc.parameters(), mg.parameters()):
        assert pg.is_cuda
        np.testing.assert_allclose(_c(pg), pc.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_out_of_range_index_on_cuda_tensors_raises(gpu):
    """Eager index ops on device memory check their indices too (the host copy of the index
    under the interpreter; a device-side assert with GRAPHC_TRITON_DEBUG=1 on a GPU)."""
    g = graphc.randn(4, 6).cuda()
    with pytest.raises(IndexError, match="index_select: index 6 is out of bounds for dimension 1 with size 6"):
        g.index_select(1, graphc.tensor([0, 6]).cuda())
    with pytest.raises(IndexError, match="index_select: index -1 is out of bounds"):  # PyTorch refuses -1 too
        g.index_select(1, graphc.tensor([5, -1]).cuda())
    np.testing.assert_array_equal(_c(g.index_select(1, graphc.tensor([5, 0]).cuda())), _c(g)[:, [5, 0]])
