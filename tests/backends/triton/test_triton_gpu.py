"""The Triton backend on a real GPU: eager ops on cuda tensors, moves between devices,
compiled functions on cuda, device memory. Skipped where ``graphc.cuda.is_available()``
is False (no GPU, or TRITON_INTERPRET=1)."""

from __future__ import annotations

import numpy as np
import pytest

import graphc
import graphc.nn as nn
import graphc.nn.functional as F

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not graphc.cuda.is_available(), reason="needs a CUDA GPU (graphc.cuda.is_available() is False)"),
]

TOL = dict(rtol=1e-5, atol=1e-5)


def _cpu(t):
    return t.detach().cpu().numpy()


def test_to_cuda_and_back_keeps_values_for_every_dtype():
    from backends.triton.memory import DeviceArray

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
        assert g.device.type == "cuda" and g.dtype == dtype and isinstance(g._data, DeviceArray)
        np.testing.assert_array_equal(g.cpu().numpy(), x.numpy())
    assert graphc.randn(3, 3).cuda().is_cuda


def test_eager_ops_on_cuda_tensors():
    a, b = graphc.randn(33, 17), graphc.randn(17)
    ga, gb = a.cuda(), b.cuda()
    np.testing.assert_allclose(_cpu((ga * gb + 1).relu()), ((a * b + 1).relu()).numpy(), **TOL)
    np.testing.assert_allclose(_cpu(ga.softmax(-1)), a.softmax(-1).numpy(), **TOL)
    np.testing.assert_allclose(_cpu(ga.sum(0)), a.sum(0).numpy(), rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(_cpu(ga @ ga.t()), (a @ a.t()).numpy(), rtol=1e-4, atol=1e-4)
    idx = graphc.tensor([3, 0, 7])
    np.testing.assert_array_equal(_cpu(ga.index_select(1, idx.cuda())), a.index_select(1, idx).numpy())
    assert (ga > 0).dtype == graphc.bool


def test_views_of_cuda_tensors_share_memory():
    g = graphc.randn(8, 6).cuda()
    t = g.t()
    assert t.data_ptr() == g.data_ptr() and t.stride() == (1, 6)
    s = g[2:5, ::2]
    assert s.storage_offset() == 12 and not s.is_contiguous()
    np.testing.assert_array_equal(_cpu(s.contiguous()), g.cpu().numpy()[2:5, ::2])
    g.add_(1.0)  # in-place writes are seen through views
    np.testing.assert_array_equal(_cpu(t), g.cpu().numpy().T)


def test_autograd_on_cuda():
    x = graphc.randn(4, 5).cuda().requires_grad_()
    w = graphc.randn(5, 3).cuda().requires_grad_()
    (x @ w).tanh().sum().backward()
    xc, wc = x.detach().cpu().requires_grad_(), w.detach().cpu().requires_grad_()
    (xc @ wc).tanh().sum().backward()
    np.testing.assert_allclose(_cpu(x.grad), xc.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(_cpu(w.grad), wc.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_compiled_function_on_cuda_runs_triton_kernels():
    x = graphc.randn(64, 100)
    w, b = graphc.randn(100), graphc.randn(100)
    f = lambda x, w, b: F.layer_norm(x, (100,), w, b).softmax(-1)  # noqa: E731
    compiled = graphc.compile(f)
    gx, gw, gb = x.cuda(), w.cuda(), b.cuda()
    for _ in range(3):
        out = compiled(gx, gw, gb)
    assert out.device.type == "cuda"
    np.testing.assert_allclose(_cpu(out), f(x, w, b).numpy(), rtol=1e-4, atol=1e-6)
    report = compiled.explain(gx, gw, gb)
    assert report.backend == "triton"


def test_compiled_cpu_tensors_with_the_triton_backend_on_a_gpu_machine():
    x = graphc.randn(16, 16)
    compiled = graphc.compile(lambda x: (x @ x).relu(), backend="triton")
    for _ in range(3):
        out = compiled(x)
    assert out.device.type == "cpu"
    np.testing.assert_allclose(out.numpy(), (x @ x).relu().numpy(), rtol=1e-4, atol=1e-4)


def test_compiled_mlp_training_step_on_cuda():
    def make(device):
        graphc.manual_seed(0)
        model = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 10)).to(device)
        return model, graphc.optim.SGD(model.parameters(), lr=0.05)

    x, y = graphc.randn(16, 32), graphc.randint(0, 10, (16,))
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
        lc = cpu_step(x, y)
        lg = gpu_step(gx, gy)
        np.testing.assert_allclose(lg.item(), lc.item(), rtol=1e-4)
    for pc, pg in zip(mc.parameters(), mg.parameters()):
        assert pg.device.type == "cuda"
        np.testing.assert_allclose(_cpu(pg), pc.detach().numpy(), rtol=1e-4, atol=1e-5)


def test_caching_allocator_reuses_blocks():
    from backends.triton import driver, memory

    a = memory.DeviceArray.empty((1024, 1024), "float32")
    ptr = a.block.ptr
    before = driver.allocator.stats()["driver_allocs"]
    del a
    b = memory.DeviceArray.empty((1024, 1024), "float32")
    assert b.block.ptr == ptr and driver.allocator.stats()["driver_allocs"] == before
    graphc.cuda.synchronize()


def test_matmul_bf16_and_large_softmax_on_cuda():
    a, b = graphc.randn(256, 128).to(graphc.bfloat16), graphc.randn(128, 64).to(graphc.bfloat16)
    ref = a.float() @ b.float()
    out = (a.cuda() @ b.cuda()).float().cpu()
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=2e-2, atol=2e-1)
    x = graphc.randn(4, 20000)  # a long row: the looped reduction form
    np.testing.assert_allclose(_cpu(x.cuda().softmax(-1)), x.softmax(-1).numpy(), rtol=1e-4, atol=1e-8)
