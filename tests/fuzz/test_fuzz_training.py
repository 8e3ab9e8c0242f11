"""Differential fuzzing of whole training steps: a random MLP, loss and optimizer, trained for
four steps eagerly, under ``@graphc.compile`` (forward, backward and the optimizer's in-place
updates in one graph: warm-up, compile, replay, replay with tiny blocks) and in float64 numpy
(finite-difference gradients and the optimizers' update rules written from PyTorch's
documentation). Losses are compared at every step, parameters after the last.

Activations are smooth (tanh, sigmoid, gelu, silu, softplus), so central differences are
derivatives everywhere. Count: ``N_TRAIN`` (see tests/fuzz/test_fuzz_programs.py for the
environment variables that lengthen the run).
"""

from __future__ import annotations

import contextlib
import os

import numpy as np
from hypothesis import given, note, settings
from hypothesis import strategies as st

import graphc
import graphc.nn as nn
import graphc.nn.functional as F

from . import reference as R
from .test_fuzz_programs import LONG, SETTINGS, tiny_blocks

N_TRAIN = int(os.environ.get("GRAPHC_FUZZ_EXAMPLES", 0) or 100 * max(LONG, 1))
STEPS = 4

ACTS = {
    "tanh": (nn.Tanh, np.tanh),
    "sigmoid": (nn.Sigmoid, R.sigmoid),
    "gelu": (nn.GELU, R.gelu),
    "silu": (nn.SiLU, lambda x: x * R.sigmoid(x)),
    "softplus": (nn.Softplus, R.softplus),
}


class Case:
    """One drawn training setup and its numpy reference."""

    def __init__(self, data):
        draw = data.draw
        self.seed = draw(st.integers(0, 2**31), label="seed")
        rng = np.random.default_rng(self.seed)
        self.sizes = [draw(st.integers(2, 5), label="inputs")]
        self.layers = []  # ("linear", i) / ("act", name) / ("norm", width)
        for _ in range(draw(st.integers(0, 2), label="hidden layers")):
            width = draw(st.integers(2, 5), label="width")
            self.layers.append(("linear", len(self.sizes) - 1, width))
            self.sizes.append(width)
            self.layers.append(("act", draw(st.sampled_from(sorted(ACTS)), label="activation")))
            # (a layer norm of 2 values is ±1 with a slope of 1/sqrt(eps) between: too ill-conditioned
            # for a float64 reference to follow over several steps)
            if width > 2 and draw(st.booleans(), label="layer norm"):
                self.layers.append(("norm", width))
        self.loss = draw(st.sampled_from(["mse", "cross_entropy"]), label="loss")
        out = draw(st.integers(2 if self.loss == "cross_entropy" else 1, 4), label="outputs")
        self.layers.append(("linear", len(self.sizes) - 1, out))
        self.sizes.append(out)
        self.opt = draw(st.sampled_from(["sgd", "momentum", "nesterov", "adam", "adamw"]), label="optimizer")
        self.lr = draw(st.sampled_from([0.01, 0.05, 0.1]), label="lr")
        self.wd = draw(st.sampled_from([0.0, 0.01]), label="weight decay")
        self.batch = draw(st.integers(1, 6), label="batch")
        self.dtype = draw(st.sampled_from(["float32", "float32", "float64"]), label="dtype")
        np_dtype = np.dtype(self.dtype)
        # initial parameters, rounded to the dtype so that every replica starts from the same numbers
        self.init = []
        for layer in self.layers:
            if layer[0] == "linear":
                fan_in, fan_out = self.sizes[layer[1]], layer[2]
                self.init.append(rng.uniform(-1, 1, (fan_out, fan_in)) / np.sqrt(fan_in))
                self.init.append(rng.uniform(-1, 1, (fan_out,)) / np.sqrt(fan_in))
            elif layer[0] == "norm":
                self.init.append(1 + 0.1 * rng.standard_normal(layer[1]))
                self.init.append(0.1 * rng.standard_normal(layer[1]))
        self.init = [p.astype(np_dtype).astype(np.float64) for p in self.init]
        self.batches = []
        for _ in range(STEPS):
            x = rng.standard_normal((self.batch, self.sizes[0])).astype(np_dtype).astype(np.float64)
            if self.loss == "mse":
                y = rng.standard_normal((self.batch, out)).astype(np_dtype).astype(np.float64)
            else:
                y = rng.integers(0, out, self.batch)
            self.batches.append((x, y))

    def __repr__(self):
        return (
            f"layers {self.layers}, sizes {self.sizes}, loss {self.loss}, optimizer {self.opt} lr {self.lr} "
            f"weight decay {self.wd}, batch {self.batch}, {self.dtype}, seed {self.seed}"
        )

    # -- graphc ----------------------------------------------------------------------
    def model(self):
        mods = []
        for layer in self.layers:
            if layer[0] == "linear":
                mods.append(nn.Linear(self.sizes[layer[1]], layer[2]))
            elif layer[0] == "act":
                mods.append(ACTS[layer[1]][0]())
            else:
                mods.append(nn.LayerNorm(layer[1]))
        model = nn.Sequential(*mods).to(getattr(graphc, self.dtype))
        with graphc.no_grad():
            for p, v in zip(model.parameters(), self.init):
                p.copy_(graphc.tensor(v))
        return model

    def optimizer(self, params):
        if self.opt in ("sgd", "momentum", "nesterov"):
            momentum = 0.0 if self.opt == "sgd" else 0.9
            return graphc.optim.SGD(params, lr=self.lr, momentum=momentum, weight_decay=self.wd,
                                    nesterov=self.opt == "nesterov")
        cls = graphc.optim.Adam if self.opt == "adam" else graphc.optim.AdamW
        return cls(params, lr=self.lr, weight_decay=self.wd, eps=1e-3)

    def loss_fn(self, out, y):
        return F.mse_loss(out, y) if self.loss == "mse" else F.cross_entropy(out, y)

    def tensors(self, x, y):
        xt = graphc.tensor(x, dtype=getattr(graphc, self.dtype))
        yt = graphc.tensor(y, dtype=getattr(graphc, self.dtype)) if self.loss == "mse" else graphc.tensor(y)
        return xt, yt

    # -- numpy float64 -----------------------------------------------------------------
    def forward(self, params, x):
        it = iter(params)
        for layer in self.layers:
            if layer[0] == "linear":
                w, b = next(it), next(it)
                x = x @ w.T + b
            elif layer[0] == "act":
                x = ACTS[layer[1]][1](x)
            else:
                g, b = next(it), next(it)
                x = R.layer_norm(x) * g + b
        return x

    def ref_loss(self, params, x, y):
        out = self.forward(params, x)
        return R.mse(out, y) if self.loss == "mse" else R.cross_entropy(out, y)

    def reference(self):
        """Losses at each step and the final parameters, in float64."""
        params = [p.copy() for p in self.init]
        state = [dict(step=0, m=np.zeros_like(p), v=np.zeros_like(p), buf=None) for p in params]
        losses = []
        for x, y in self.batches:
            losses.append(self.ref_loss(params, x, y))
            grads, _ = R.fd_gradients(lambda ps: self.ref_loss(ps, x, y), params)
            for p, g, s in zip(params, grads, state):
                self._update(p, g, s)
        return losses, params

    def _update(self, p, g, s):
        """One step of PyTorch's update rule for this optimizer (its documentation's pseudocode)."""
        s["step"] += 1
        if self.opt in ("sgd", "momentum", "nesterov"):
            g = g + self.wd * p
            if self.opt != "sgd":
                s["buf"] = g.copy() if s["buf"] is None else 0.9 * s["buf"] + g
                g = g + 0.9 * s["buf"] if self.opt == "nesterov" else s["buf"]
            p -= self.lr * g
            return
        b1, b2, eps, t = 0.9, 0.999, 1e-3, s["step"]
        if self.opt == "adamw":
            p *= 1 - self.lr * self.wd
        else:
            g = g + self.wd * p
        s["m"] = b1 * s["m"] + (1 - b1) * g
        s["v"] = b2 * s["v"] + (1 - b2) * g * g
        m_hat, v_hat = s["m"] / (1 - b1**t), s["v"] / (1 - b2**t)
        p -= self.lr * m_hat / (np.sqrt(v_hat) + eps)


def _train(case, compiled: bool):
    model = case.model()
    opt = case.optimizer(model.parameters())

    def step(x, y):
        opt.zero_grad()
        loss = case.loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    run = graphc.compile(step) if compiled else step
    losses = []
    for i, (x, y) in enumerate(case.batches):
        with tiny_blocks() if compiled and i == STEPS - 1 else contextlib.nullcontext():
            losses.append(float(run(*case.tensors(x, y)).item()))
    params = [p.detach().numpy().astype(np.float64) for p in model.parameters()]
    return losses, params, (run.cache_info() if compiled else None)


TOL = {"float32": (2e-3, 2e-4), "float64": (1e-5, 1e-7)}
# compiled vs eager: the same arithmetic up to the order of sums and fused multiply-adds (the
# learning rate reaches both at full precision: graphc._tracing.dynamic_scalar)
PAIR = {"float32": (1e-4, 1e-5), "float64": (1e-10, 1e-12)}


@settings(SETTINGS, max_examples=N_TRAIN)
@given(data=st.data())
def test_fuzz_training_steps(data, monkeypatch):
    case = Case(data)
    note(repr(case))
    monkeypatch.setenv("GRAPHC_FUSED_BACKWARD", "strict")
    e_losses, e_params, _ = _train(case, compiled=False)
    c_losses, c_params, info = _train(case, compiled=True)
    r_losses, r_params = case.reference()
    # one trace, plus one retrace for an optimizer whose state (momentum buffer, Adam moments) the
    # first step creates: its state dict changes shape once, as under torch.compile
    assert info.traces <= (1 if case.opt == "sgd" else 2), f"{info}\n{case!r}"
    rt, at = TOL[case.dtype]
    pr, pa = PAIR[case.dtype]
    np.testing.assert_allclose(c_losses, e_losses, rtol=pr, atol=pa, err_msg=f"compiled vs eager losses\n{case!r}")
    np.testing.assert_allclose(e_losses, r_losses, rtol=rt, atol=at, err_msg=f"eager vs float64 losses\n{case!r}")
    for i, (e, c, r) in enumerate(zip(e_params, c_params, r_params)):
        np.testing.assert_allclose(c, e, rtol=pr * 10, atol=pa * 10, err_msg=f"param {i}: compiled vs eager\n{case!r}")
        np.testing.assert_allclose(e, r, rtol=rt, atol=at, err_msg=f"param {i}: eager vs float64\n{case!r}")
