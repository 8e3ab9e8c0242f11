"""Fused multiply-adds where PyTorch's CPU kernels fuse: add/sub with ``alpha`` and ``lerp``,
and SGD built on them (``addcmul`` rounds twice: see its docstring). Each result against float64 numpy: a single-precision
``a + s * b`` computed in double (the product is exact there) and rounded once is what one fused
multiply-add gives; two roundings differed in the last bit for one element in ten."""

from __future__ import annotations

import numpy as np
import pytest

import graphc

RNG = np.random.default_rng(21)
A, B, C = (RNG.standard_normal(3000).astype(np.float32) for _ in range(3))
W = (RNG.random(3000) * 1.6 - 0.3).astype(np.float32)  # lerp weights on both sides of 0.5, some negative
F32, F64 = np.float32, np.float64


def fma32(x, y, z):
    """x * y + z in float32, rounded once (through float64, where x * y is exact)."""
    return (np.asarray(x, F32).astype(F64) * np.asarray(y, F32).astype(F64) + np.asarray(z, F32).astype(F64)).astype(F32)


def t(v):
    return graphc.from_numpy(np.array(v, copy=True))


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_add_sub_addcdiv_and_lerp_round_as_pytorch_and_addcmul_as_documented(compiled):
    wants = {
        "add alpha": (lambda a, b, c, w: graphc.add(a, b, alpha=0.1), fma32(B, F32(0.1), A)),
        "sub alpha": (lambda a, b, c, w: graphc.sub(a, b, alpha=0.3), fma32(B, F32(-0.3), A)),
        "addcmul": (lambda a, b, c, w: graphc.addcmul(a, b, c, value=0.1), A + (F32(0.1) * B) * C),
        "addcmul 1": (lambda a, b, c, w: graphc.addcmul(a, b, c), A + B * C),
        "addcdiv": (lambda a, b, c, w: graphc.addcdiv(a, b, c, value=0.1), A + (F32(0.1) * B) / C),
        "lerp 0.3": (lambda a, b, c, w: graphc.lerp(a, b, 0.3), fma32(F32(0.3), B - A, A)),
        "lerp 0.7": (lambda a, b, c, w: graphc.lerp(a, b, 0.7), fma32(F32(0.7) - F32(1), B - A, B)),
        "lerp -0.7": (lambda a, b, c, w: graphc.lerp(a, b, -0.7), fma32(F32(-0.7) - F32(1), B - A, B)),
        "lerp tensor": (lambda a, b, c, w: graphc.lerp(a, b, w),
                        np.where(np.abs(W) < 0.5, fma32(W, B - A, A), fma32(W - F32(1), B - A, B))),
    }
    for name, (fn, want) in wants.items():
        f = graphc.compile(fn, warmup=False) if compiled else fn
        np.testing.assert_array_equal(f(t(A), t(B), t(C), t(W)).numpy(), want, err_msg=name)


def test_fused_gradients_and_names():
    a, b, c = (graphc.tensor(v[:5].astype(F64), requires_grad=True) for v in (A, B, C))
    y = graphc.add(a, b, alpha=0.25)
    assert y.grad_fn.name() == "AddBackward0"
    y.backward(graphc.ones(5, dtype=graphc.float64))
    np.testing.assert_array_equal(b.grad.numpy(), np.full(5, 0.25))
    assert graphc.addcmul(a, b, c, value=2.0).grad_fn.name() == "AddcmulBackward0"
    assert graphc.addcdiv(a, b, c).grad_fn.name() == "AddcdivBackward0"
    assert graphc.lerp(a, b, 0.3).grad_fn.name() == "LerpBackward0"
    assert graphc.lerp(a, b, c).grad_fn.name() == "LerpBackward1"
    assert graphc.autograd.gradcheck(lambda x, y, z: graphc.addcmul(x, y, z, value=0.3), (a, b, c))
    assert graphc.autograd.gradcheck(lambda x, y, z: graphc.lerp(x, y, z), (a, b, c))


def test_integer_alpha_rules_and_half_precision():
    with pytest.raises(RuntimeError, match="alpha must not be a floating point number"):
        graphc.add(graphc.tensor([1, 2]), graphc.tensor([1, 2]), alpha=0.5)
    np.testing.assert_array_equal(graphc.add(graphc.tensor([1, 2]), graphc.tensor([1, 2]), alpha=3).numpy(), [4, 8])
    # half: alpha rounded to half, the fma in float32 (PyTorch's opmath), rounded to half
    a16, b16 = A.astype(np.float16), B.astype(np.float16)
    want = fma32(b16.astype(F32), np.float16(0.1).astype(F32), a16.astype(F32)).astype(np.float16)
    np.testing.assert_array_equal(graphc.add(t(a16), t(b16), alpha=0.1).numpy(), want)


def test_a_bfloat16_number_is_the_bfloat16_value():
    """A Python number meeting a bfloat16 tensor is rounded to bfloat16 first (bf16 + 0.1 adds
    0.10009766), as PyTorch; it was added as float32's 0.1, and the sum rounded once."""
    x = graphc.from_numpy(A).to(graphc.bfloat16)
    one_tenth = graphc.tensor(0.1, dtype=graphc.bfloat16).float().item()
    assert one_tenth == 0.10009765625
    for fn in (lambda v: v + 0.1, graphc.compile(lambda v: v + 0.1, warmup=False)):
        np.testing.assert_array_equal(fn(x).float().numpy(), (x + graphc.tensor(0.1, dtype=graphc.bfloat16)).float().numpy())


# ---------------------------------------------------------------- optimizers


def sgd_reference(p, grads, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    """PyTorch's single-tensor SGD in float32 numpy, each add(..., alpha=) one rounding."""
    p, buf = p.copy(), None
    for g in grads:
        if weight_decay:
            g = fma32(p, F32(weight_decay), g)
        if momentum:
            if buf is None:
                buf = g.copy()
            else:
                buf = buf * F32(momentum)
                buf = buf + g if dampening == 0 else fma32(g, F32(1 - dampening), buf)
            g = fma32(buf, F32(momentum), g) if nesterov else buf
        p = fma32(g, F32(-lr), p)
    return p


def adam_reference(p, grads, lr, betas=(0.9, 0.999), eps=1e-8):
    """PyTorch's single-tensor Adam in float32 numpy, but for the moments, which graphc rounds
    product and sum apart (PyTorch fuses lerp_ and addcmul_; in numpy that costs twice the step):
    the bias corrections and step size in double, addcdiv_ op by op, sqrt correctly rounded."""
    p, m, v = p.copy(), np.zeros_like(p), np.zeros_like(p)
    b1, b2 = betas
    for step, g in enumerate(grads, 1):
        m = m + F32(1 - b1) * (g - m)
        v = v * F32(b2) + (g * g) * F32(1 - b2)
        step_size = lr / (1 - b1**step)
        denom = np.sqrt(v) / F32((1 - b2**step) ** 0.5) + F32(eps)
        p = p + (F32(-step_size) * m) / denom
    return p


@pytest.mark.parametrize("mode", ["numpy", "tensor ops", "compiled"])
@pytest.mark.parametrize("name,kw", [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.8, dampening=0.3)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.003, betas=(0.5, 0.99))),
], ids=["sgd", "sgd-nesterov-wd", "sgd-dampening", "adam", "adam-betas"])
def test_optimizer_steps_are_pytorchs_arithmetic(name, kw, mode):
    """Three steps with known gradients (the loss is sum(p * c), so the gradient is c exactly):
    every path -- the numpy fast path, the op-by-op tensor path, a compiled step -- gives the
    reference's parameters bit for bit (SGD's reference is PyTorch's arithmetic exactly)."""
    p0 = RNG.standard_normal((40, 33)).astype(F32)
    cs = [RNG.standard_normal((40, 33)).astype(F32) for _ in range(3)]
    p = graphc.from_numpy(p0.copy()).requires_grad_()
    opt = getattr(graphc.optim, name)([p], **kw, **({"foreach": False} if mode == "tensor ops" else {}))

    def step(c):
        opt.zero_grad()
        (p * c).sum().backward()
        opt.step()

    run = graphc.compile(step) if mode == "compiled" else step
    for c in cs:
        run(graphc.from_numpy(c))
    ref = sgd_reference(p0, cs, **kw) if name == "SGD" else adam_reference(p0, cs, **kw)
    np.testing.assert_array_equal(p.detach().numpy(), ref)


def test_fma_row_and_its_numpy_kernel():
    """The IR row: float32 rounded once, float64 and integers as their own arithmetic; broadcasts."""
    from fractions import Fraction

    from graphc._dispatch import apply

    got = apply("fma", [t(A), t(B), t(C)]).numpy()
    exact = [float(Fraction(float(x)) * Fraction(float(y)) + Fraction(float(z))) for x, y, z in zip(A, B, C)]
    np.testing.assert_array_equal(got, np.array(exact).astype(F32))  # the exact value, rounded
    ints = [graphc.tensor(v) for v in ([1, 2, 3], [4, 5, 6], [7, 8, 9])]
    np.testing.assert_array_equal(apply("fma", ints).numpy(), [11, 18, 27])
    row = apply("fma", [t(A[:4].reshape(4, 1)), t(B[:3].reshape(1, 3)), t(C[:3])])
    np.testing.assert_array_equal(row.numpy(), fma32(A[:4].reshape(4, 1), B[:3].reshape(1, 3), C[:3]))
