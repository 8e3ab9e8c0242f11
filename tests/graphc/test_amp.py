"""Mixed precision: ``graphc.autocast`` (PyTorch's op policy), ``graphc.amp.GradScaler`` and the
float32 matmul precision settings, eagerly and under ``@graphc.compile``.

References: float64 numpy on inputs rounded to bfloat16 here (round to nearest even on the
float32 bits), hand-derived GradScaler schedules (PyTorch's documented rules), and the
generated Triton source for the TF32 switch."""

from __future__ import annotations

import io

import numpy as np
import pytest

import graphc
import graphc.nn as nn
import graphc.nn.functional as F
from graphc.amp import GradScaler


def bf16(a):
    """Round float values to bfloat16 (nearest, ties to even), returned as float64."""
    bits = np.asarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16
    return rounded.astype(np.uint32).view(np.float32).astype(np.float64)


RNG = np.random.default_rng(0)
A, B = RNG.standard_normal((5, 7)).astype(np.float32), RNG.standard_normal((7, 3)).astype(np.float32)


def test_lower_precision_ops_run_in_bfloat16_on_cpu():
    a, b = graphc.tensor(A), graphc.tensor(B)
    with graphc.autocast("cpu"):
        for out in (a @ b, graphc.matmul(a, b), a.mm(b), graphc.mm(a, b)):
            assert out.dtype is graphc.bfloat16
            np.testing.assert_allclose(out.float().numpy(), bf16(bf16(A) @ bf16(B)), rtol=1e-2, atol=1e-2)
        lin = F.linear(a, graphc.tensor(B.T), graphc.ones(3))
        assert lin.dtype is graphc.bfloat16
        np.testing.assert_allclose(lin.float().numpy(), bf16(bf16(A) @ bf16(B) + 1), rtol=1e-2, atol=1e-2)
        conv = F.conv2d(graphc.randn(1, 2, 5, 5), graphc.randn(4, 2, 3, 3))
        assert conv.dtype is graphc.bfloat16
    assert (a @ b).dtype is graphc.float32  # outside the region


def test_float32_and_promote_policies_on_cpu():
    with graphc.autocast("cpu", dtype=graphc.bfloat16):
        h = graphc.tensor(A) @ graphc.tensor(B)  # bfloat16
        loss = F.mse_loss(h, graphc.zeros(5, 3))
        assert loss.dtype is graphc.float32  # mse_loss is on the CPU float32 list
        assert loss.item() == pytest.approx(float(np.mean(h.float().numpy() ** 2)), rel=1e-6)
        assert F.cross_entropy(h, graphc.tensor([0, 1, 2, 0, 1])).dtype is graphc.float32
        assert graphc.cat([h, graphc.zeros(1, 3)]).dtype is graphc.float32  # promote: the widest input
        assert h.softmax(-1).dtype is graphc.bfloat16  # not listed on the CPU: runs as given
        d = graphc.ones(3, 3, dtype=graphc.float64)
        assert (d @ d).dtype is graphc.float64  # float64 is never cast


def test_nested_disable_decorator_and_state_queries():
    a = graphc.tensor(A)
    with graphc.autocast("cpu"):
        assert graphc.is_autocast_enabled("cpu") and not graphc.is_autocast_enabled("cuda")
        assert graphc.get_autocast_dtype("cpu") is graphc.bfloat16
        with graphc.autocast("cpu", enabled=False):
            assert (a @ a.T).dtype is graphc.float32
        assert (a @ a.T).dtype is graphc.bfloat16

    @graphc.autocast("cpu", dtype=graphc.float16)
    def f(x):
        return x @ x.T

    assert f(a).dtype is graphc.float16
    assert not graphc.is_autocast_enabled("cpu")
    with pytest.raises(RuntimeError, match="unsupported autocast device_type"):
        graphc.autocast("tpu")
    with pytest.warns(UserWarning, match="Disabling autocast"):
        graphc.autocast("cpu", dtype=graphc.int32)


def test_gradients_reach_float32_parameters():
    graphc.manual_seed(0)
    lin = nn.Linear(7, 3)
    x = graphc.tensor(A)
    with graphc.autocast("cpu"):
        loss = lin(x).float().pow(2).sum()
    loss.backward()
    assert lin.weight.grad.dtype is graphc.float32
    # d/dW sum((x W^T + b)^2) = 2 (x W^T + b)^T x, in bfloat16-rounded operands
    y = bf16(bf16(A) @ bf16(lin.weight.detach().numpy().T) + bf16(lin.bias.detach().numpy()))
    ref = 2 * bf16(y).T @ bf16(A)
    np.testing.assert_allclose(lin.weight.grad.numpy(), ref, rtol=3e-2, atol=3e-2)


def test_compiled_function_follows_autocast_and_retraces_without_it():
    graphc.manual_seed(0)
    lin = nn.Linear(7, 3)
    f = graphc.compile(lambda x: F.relu(lin(x)))
    x = graphc.tensor(A)
    with graphc.autocast("cpu"):
        eager = F.relu(lin(x))
        for _ in range(3):
            out = f(x)
    assert out.dtype is graphc.bfloat16
    np.testing.assert_array_equal(out.detach().float().numpy(), eager.detach().float().numpy())
    for _ in range(2):
        plain = f(x)
    assert plain.dtype is graphc.float32  # a different cache entry, not the bfloat16 trace
    assert f.cache_info().traces == 2


def test_custom_fwd_casts_inputs_and_custom_bwd_restores_state():
    seen = {}

    class Square(graphc.autograd.Function):
        @staticmethod
        @graphc.amp.custom_fwd(device_type="cpu", cast_inputs=graphc.float32)
        def forward(ctx, x):
            seen["fwd"] = (x.dtype, graphc.is_autocast_enabled("cpu"))
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @graphc.amp.custom_bwd(device_type="cpu")
        def backward(ctx, g):
            seen["bwd"] = graphc.is_autocast_enabled("cpu")
            (x,) = ctx.saved_tensors
            return 2 * g * x

    x = graphc.tensor([1.0, 2.0], dtype=graphc.bfloat16, requires_grad=True)
    with graphc.autocast("cpu"):
        y = Square.apply(x)
    y.sum().backward()
    assert seen["fwd"] == (graphc.float32, False) and seen["bwd"] is False
    assert x.grad.tolist() == [2.0, 4.0]


# -- GradScaler ------------------------------------------------------------------------------


def _sgd_problem():
    w = graphc.tensor([1.0, -2.0, 0.5], requires_grad=True)
    return w, graphc.optim.SGD([w], lr=0.1)


def _scaled_step(w, opt, scaler, x):
    opt.zero_grad()
    loss = (w * x).sum()
    scaler.scale(loss).backward()
    scaler.step(opt)
    scaler.update()
    return loss


def test_grad_scaler_steps_skips_and_rescales():
    w, opt = _sgd_problem()
    scaler = GradScaler("cpu", init_scale=1024.0, growth_interval=2)
    x = graphc.tensor([1.0, 2.0, 3.0])
    ref = np.array([1.0, -2.0, 0.5])
    scales = []
    for inp in (x, x, graphc.tensor([1.0, float("inf"), 3.0]), x):
        _scaled_step(w, opt, scaler, inp)
        if np.isfinite(inp.numpy()).all():
            ref = ref - 0.1 * inp.numpy()
        scales.append(scaler.get_scale())
        np.testing.assert_allclose(w.detach().numpy(), ref, rtol=1e-6)
    # clean, clean (2 in a row: x2), overflow (x0.5, counter reset), clean
    assert scales == [1024.0, 2048.0, 1024.0, 1024.0]
    np.testing.assert_allclose(w.grad.numpy(), [1.0, 2.0, 3.0], rtol=1e-6)  # grads are unscaled


def test_grad_scaler_unscale_then_clip_and_errors():
    w, opt = _sgd_problem()
    scaler = GradScaler("cpu", init_scale=8.0)
    opt.zero_grad()
    scaler.scale((w * graphc.tensor([3.0, 4.0, 0.0])).sum()).backward()
    np.testing.assert_allclose(w.grad.numpy(), [24.0, 32.0, 0.0])
    scaler.unscale_(opt)
    np.testing.assert_allclose(w.grad.numpy(), [3.0, 4.0, 0.0])
    nn.utils.clip_grad_norm_([w], 1.0)
    with pytest.raises(RuntimeError, match="already been called"):
        scaler.unscale_(opt)
    scaler.step(opt)
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
        scaler.step(opt)
    scaler.update()
    np.testing.assert_allclose(w.detach().numpy(), [1.0 - 0.1 * 0.6, -2.0 - 0.1 * 0.8, 0.5], rtol=1e-6)


def test_grad_scaler_state_dict_and_disabled():
    scaler = GradScaler("cpu", init_scale=64.0, growth_factor=4.0, growth_interval=3)
    w, opt = _sgd_problem()
    _scaled_step(w, opt, scaler, graphc.ones(3))
    state = scaler.state_dict()
    assert state == {"scale": 64.0, "growth_factor": 4.0, "backoff_factor": 0.5, "growth_interval": 3,
                     "_growth_tracker": 1}
    buf = io.BytesIO()
    graphc.save(state, buf)
    buf.seek(0)
    other = GradScaler("cpu")
    other.load_state_dict(graphc.load(buf))
    assert other.get_scale() == 64.0 and other.state_dict() == state
    off = GradScaler("cpu", enabled=False)
    loss = graphc.ones(())
    assert off.scale(loss) is loss and off.get_scale() == 1.0 and off.state_dict() == {}
    assert graphc.cuda.amp.GradScaler().is_enabled()


# Adam on numpy; SGD with momentum on Triton (under Triton's interpreter a float64 pow, as in Adam's
# bias correction, fails today: graphc.pow(0.9, float64 tensor) compiled for Triton; see the report).
@pytest.mark.parametrize("backend, opt_cls, kw", [("numpy", "Adam", {}), ("numpy", "SGD", dict(momentum=0.9)),
                                                  ("triton", "SGD", dict(momentum=0.9))])
def test_compiled_scaled_training_step_matches_eager(backend, opt_cls, kw):
    inputs = [graphc.tensor([1.0, 2.0, 3.0]), graphc.tensor([0.5, -1.0, 2.0]),
              graphc.tensor([1.0, float("inf"), 3.0]), graphc.tensor([2.0, 1.0, -1.0]),
              graphc.tensor([1.0, 1.0, 1.0])]
    runs = []
    for compiled in (False, True):
        w = graphc.tensor([1.0, -2.0, 0.5], requires_grad=True)
        opt = getattr(graphc.optim, opt_cls)([w], lr=0.1, **kw)
        scaler = GradScaler("cpu", init_scale=2.0**10, growth_interval=2)

        def step(x):
            opt.zero_grad()
            loss = (w * w * x).sum()
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            return loss

        fn = graphc.compile(step, backend=backend) if compiled else step
        trace = []
        for x in inputs:
            fn(x)
            st = opt.state[w]
            trace.append((w.detach().numpy().copy(), scaler.get_scale(),
                          st["step"].item() if "step" in st else st["momentum_buffer"].numpy().copy()))
        if compiled:
            assert fn.cache_info().traces == 2  # the first call creates the optimizer's state: one retrace
        runs.append(trace)
    for (w0, s0, t0), (w1, s1, t1) in zip(*runs):
        np.testing.assert_allclose(w1, w0, rtol=1e-5)
        assert s1 == s0  # the overflow step is skipped: Adam's step count / SGD's momentum buffer too
        np.testing.assert_allclose(t1, t0, rtol=1e-5)


# -- matmul precision ------------------------------------------------------------------------


def test_float32_matmul_precision_and_allow_tf32_are_one_setting():
    try:
        assert graphc.get_float32_matmul_precision() == "highest"
        assert graphc.backends.cuda.matmul.allow_tf32 is False
        graphc.backends.cuda.matmul.allow_tf32 = True
        assert graphc.get_float32_matmul_precision() == "high" and graphc.backends.tf32_matmul()
        graphc.set_float32_matmul_precision("medium")
        assert graphc.backends.cuda.matmul.allow_tf32 is True
        with pytest.raises(RuntimeError, match="Invalid precision"):
            graphc.set_float32_matmul_precision("low")
        assert graphc.backends.cudnn.allow_tf32 is True and not graphc.backends.cudnn.is_available()
    finally:
        graphc.set_float32_matmul_precision("highest")


def test_triton_matmul_honours_tf32_and_cpu_ignores_it():
    x, y = graphc.tensor(A), graphc.tensor(B)
    sources = {}
    try:
        for precision in ("highest", "high"):
            graphc.set_float32_matmul_precision(precision)
            f = graphc.compile(lambda a, b: a @ b, backend="triton", warmup=False)
            sources[precision] = f.explain(x, y).program_source
            cpu = graphc.compile(lambda a, b: a @ b, warmup=False)
            np.testing.assert_array_equal(cpu(x, y).numpy(), (x @ y).numpy())
    finally:
        graphc.set_float32_matmul_precision("highest")
    assert 'input_precision="ieee"' in sources["highest"]
    assert 'input_precision="ieee"' not in sources["high"] and "tl.dot" in sources["high"]
