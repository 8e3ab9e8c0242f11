"""Training scripts compiled as their authors write them must train exactly as eager does.

* PyTorch's ``dynamic_net.py`` tutorial: the forward draws ``random.randint`` to pick how
  many terms to use, and SGD with momentum creates each parameter's buffer the first time
  that parameter gets a gradient — inside a compiled step, on some call other than the
  first. Over several seeds the compiled losses and parameters equal eager's.
* A nanoGPT-style model returning ``(logits, loss)``, trained for several steps with
  AdamW, compiled as a model (autograd through a call with two differentiable outputs)
  and as a whole step (Adam's state created on the first call): losses and parameters
  equal eager's.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

import graphc
import graphc.nn as nn
import graphc.nn.functional as F


class DynamicNet(nn.Module):
    """The tutorial's model: a third-order polynomial plus 0 to 2 random extra terms."""

    def __init__(self):
        super().__init__()
        self.a = nn.Parameter(graphc.randn(()))
        self.b = nn.Parameter(graphc.randn(()))
        self.c = nn.Parameter(graphc.randn(()))
        self.d = nn.Parameter(graphc.randn(()))
        self.e = nn.Parameter(graphc.randn(()))

    def forward(self, x):
        y = self.a + self.b * x + self.c * x**2 + self.d * x**3
        for exp in range(4, random.randint(4, 6)):
            y = y + self.e * x**exp
        return y


def _dynamic_net(seed: int, compiled: bool, steps: int = 24):
    graphc.manual_seed(0)
    random.seed(seed)
    x = graphc.linspace(-math.pi, math.pi, 200)
    y = graphc.sin(x)
    model = DynamicNet()
    criterion = nn.MSELoss(reduction="sum")
    optimizer = graphc.optim.SGD(model.parameters(), lr=1e-8, momentum=0.9)

    def step(x, y):
        loss = criterion(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    fn = graphc.compile(step) if compiled else step
    losses = [fn(x, y).item() for _ in range(steps)]
    buffers = {k: v["momentum_buffer"].numpy().copy() for k, v in enumerate(optimizer.state.values())}
    return np.array(losses), [p.detach().numpy().copy() for p in model.parameters()], buffers, fn


@pytest.mark.parametrize("seed", range(5))
def test_dynamic_net_with_momentum_matches_eager(seed):
    losses, params, buffers, _ = _dynamic_net(seed, compiled=False)
    c_losses, c_params, c_buffers, fn = _dynamic_net(seed, compiled=True)
    np.testing.assert_allclose(c_losses, losses, rtol=1e-6)
    for a, b in zip(c_params, params):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert c_buffers.keys() == buffers.keys()
    for k in buffers:  # momentum buffers are real tensors with eager's values
        np.testing.assert_allclose(c_buffers[k], buffers[k], rtol=1e-6)
    info = fn.cache_info()
    assert info.eager_calls == 0 and info.entries <= 3  # one entry per path the draw picks
    assert info.hits >= 24 - info.traces and info.traces <= 7


def test_dynamic_net_replays_draw_python_numbers_as_eager_does():
    """After the compiled run, Python's generator is where eager leaves it."""
    _dynamic_net(3, compiled=False, steps=10)
    after_eager = random.random()
    _dynamic_net(3, compiled=True, steps=10)
    assert random.random() == after_eager


# ----------------------------------------------------------------------------
# a nanoGPT-style model


class CausalSelfAttention(nn.Module):
    def __init__(self, n_embd, n_head, block_size):
        super().__init__()
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)
        self.c_proj = nn.Linear(n_embd, n_embd)
        self.n_head, self.n_embd = n_head, n_embd
        mask = graphc.tril(graphc.ones(block_size, block_size)).view(1, 1, block_size, block_size)
        self.register_buffer("bias", mask)

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        return self.c_proj(y)


class Block(nn.Module):
    def __init__(self, n_embd, n_head, block_size):
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head, block_size)
        self.ln_2 = nn.LayerNorm(n_embd)
        self.mlp = nn.Sequential(nn.Linear(n_embd, 4 * n_embd), nn.GELU(), nn.Linear(4 * n_embd, n_embd))

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, vocab=17, block_size=8, n_embd=16, n_head=2):
        super().__init__()
        self.wte = nn.Embedding(vocab, n_embd)
        self.wpe = nn.Embedding(block_size, n_embd)
        self.drop = nn.Dropout(0.0)
        self.block = Block(n_embd, n_head, block_size)
        self.ln_f = nn.LayerNorm(n_embd)
        self.lm_head = nn.Linear(n_embd, vocab, bias=False)

    def forward(self, idx, targets=None):
        B, T = idx.size()
        pos = graphc.arange(0, T, dtype=graphc.long)
        x = self.drop(self.wte(idx) + self.wpe(pos))
        logits = self.lm_head(self.ln_f(self.block(x)))
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        return logits, loss


def _train_gpt(mode: str, steps: int = 8):
    graphc.manual_seed(0)
    model = GPT()
    opt = graphc.optim.AdamW(model.parameters(), lr=1e-2)
    rng = np.random.default_rng(0)
    data = [(graphc.tensor(rng.integers(0, 17, (4, 8))), graphc.tensor(rng.integers(0, 17, (4, 8)))) for _ in range(2)]
    batches = [data[i % 2] for i in range(steps)]
    m = graphc.compile(model) if mode == "model" else model

    def step(x, y):
        logits, loss = m(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return logits.detach(), loss.detach()

    fn = graphc.compile(step) if mode == "step" else step
    losses, logits = [], []
    for x, y in batches:
        lg, loss = fn(x, y)
        losses.append(loss.item())
        logits.append(lg.numpy().copy())
    params = [p.detach().numpy().copy() for p in model.parameters()]
    return np.array(losses), logits, params, (m if mode == "model" else fn)


@pytest.mark.parametrize("mode", ["model", "step"])
def test_gpt_returning_logits_and_loss_trains_compiled_like_eager(mode):
    # float64: AdamW divides by sqrt(v), so in float32 the last-bit differences between a fused
    # and an op-by-op gradient (summation order) grow to ~1e-3 in the logits after a few steps;
    # in float64 compiled and eager training agree to ~1e-12.
    previous = graphc.get_default_dtype()
    graphc.set_default_dtype(graphc.float64)
    try:
        losses, logits, params, _ = _train_gpt("eager")
        c_losses, c_logits, c_params, compiled = _train_gpt(mode)
    finally:
        graphc.set_default_dtype(previous)
    assert losses[-1] < losses[0]
    np.testing.assert_allclose(c_losses, losses, rtol=1e-10, atol=1e-12)
    for a, b in zip(c_logits, logits):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)
    for a, b in zip(c_params, params):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)
    info = compiled.cache_info()
    assert info.eager_calls == 0, info  # the training forward really ran compiled
    # the model: one trace; the step: AdamW creates its state on the first call, one retrace
    assert info.traces == (1 if mode == "model" else 2), info


def test_compiled_model_outputs_carry_the_compiled_backward():
    graphc.manual_seed(0)
    model = graphc.compile(GPT())
    x = graphc.randint(0, 17, (2, 8))
    logits, loss = model(x, x)
    assert logits.grad_fn.name() == "CompiledFunctionBackward"
    assert loss.grad_fn.name() == "CompiledFunctionBackward"


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("clear", ["zero_grad", "accumulate"])
def test_grad_tensor_identity_follows_eager(compiled, clear):
    """``.grad`` after a step: a new tensor when the step cleared it (``zero_grad()`` sets it to
    None, the backward makes a new one: a tensor the caller kept keeps the old values), the
    same tensor, updated, when the step accumulated into it. Compiled replays do what eager
    does, with values from float64 numpy."""
    rng = np.random.default_rng(4)
    w0 = rng.standard_normal((5, 3)).astype(np.float32)
    x = rng.standard_normal((7, 5)).astype(np.float32)
    w = graphc.tensor(w0.copy(), requires_grad=True)

    def step(x):
        if clear == "zero_grad":
            w.grad = None
        (x @ w).square().sum().backward()

    run = graphc.compile(step) if compiled else step
    grad_once = 2 * x.astype(np.float64).T @ (x.astype(np.float64) @ w0.astype(np.float64))
    run(graphc.tensor(x))
    for k in range(2, 5):
        kept = w.grad
        kept_values = kept.numpy().copy()
        run(graphc.tensor(x))
        want = grad_once if clear == "zero_grad" else k * grad_once
        np.testing.assert_allclose(w.grad.numpy(), want, rtol=1e-5, atol=1e-5)
        if clear == "zero_grad":
            assert w.grad is not kept
            np.testing.assert_array_equal(kept.numpy(), kept_values)
        else:
            assert w.grad is kept


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("opt_name", ["SGD", "SGD momentum", "Adam"])
def test_compiled_step_reads_the_learning_rate_at_its_precision(dtype, opt_name):
    """A learning rate is a Python float: a compiled step takes it at full precision and rounds it
    to the parameter's dtype where eager does, so a float64 step does not update with
    float32(0.05) -- the compiled parameters equal eager's bit for bit (small tensors: numpy's
    two-pass update on both paths), over two steps and a changed learning rate."""

    def make():
        p = graphc.tensor(np.linspace(-1, 1, 6, dtype=dtype), requires_grad=True)
        if opt_name == "Adam":
            opt = graphc.optim.Adam([p], lr=0.05)
        else:
            opt = graphc.optim.SGD([p], lr=0.05, momentum=0.9 if "momentum" in opt_name else 0.0)

        def step():
            opt.zero_grad()
            (p * p * 0.3).sum().backward()
            opt.step()

        return p, opt, step

    pe, opt_e, step_e = make()
    pc, opt_c, step_c = make()
    compiled = graphc.compile(step_c)
    for lr in (0.05, 0.0123, 0.0123):
        for group in (*opt_e.param_groups, *opt_c.param_groups):
            group["lr"] = lr
        step_e()
        compiled()
        assert pc.dtype == pe.dtype
        np.testing.assert_array_equal(pc.detach().numpy(), pe.detach().numpy())
    assert compiled.cache_info().traces <= 2


def _mixed_dtype_sgd_step(**sgd_kwargs):
    """``(params, optimizer, step)``: SGD over a float32 and a float64 parameter, one loss."""
    ps = [
        graphc.tensor(np.linspace(-1, 1, 6, dtype=np.float32), requires_grad=True),
        graphc.tensor(np.linspace(2, 3, 4, dtype=np.float64), requires_grad=True),
    ]
    opt = graphc.optim.SGD(ps, **sgd_kwargs)

    def step():
        opt.zero_grad()
        ((ps[0] * ps[0]).sum() + (ps[1] * ps[1] * 0.7).sum().float()).backward()
        opt.step()

    return ps, opt, step


def test_a_learning_rate_feeds_each_dtype_without_cast_kernels():
    """One optimizer over a float32 and a float64 parameter: the compiled step reads the learning
    rate and momentum once per dtype as 0-d inputs (no 0-d cast kernel per parameter) and
    updates both exactly as eager does."""

    pe, _, step_e = _mixed_dtype_sgd_step(lr=0.05, momentum=0.9)
    pc, _, step_c = _mixed_dtype_sgd_step(lr=0.05, momentum=0.9)
    compiled = graphc.compile(step_c)
    for _ in range(3):
        step_e()
        compiled()
        for a, b in zip(pc, pe):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    report = compiled.explain()
    graph_inputs = {n.id for n in report.optimized.inputs}
    scalar_casts = [
        n for n in report.optimized.nodes if n.op == "cast" and n.shape == () and n.inputs[0].id in graph_inputs
    ]
    assert not scalar_casts, scalar_casts


def test_a_learning_rate_schedule_is_read_on_every_call():
    """The replay converts a per-call number again only when the optimizer holds another object
    than last call: a schedule that sets a new float each step (and one equal in value but not
    the same object, and the same object again) updates exactly as eager, without retracing."""

    pe, opt_e, step_e = _mixed_dtype_sgd_step(lr=0.1)
    pc, opt_c, step_c = _mixed_dtype_sgd_step(lr=0.1)
    compiled = graphc.compile(step_c)
    same = 0.0375
    schedule = [0.1 * 0.5**k for k in range(4)] + [float(repr(0.0125)), same, same, float("0.0375")]
    for lr in schedule:
        opt_e.param_groups[0]["lr"] = lr
        opt_c.param_groups[0]["lr"] = lr
        step_e()
        compiled()
        for a, b in zip(pc, pe):
            np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    assert compiled.cache_info().traces == 1
