"""The CPU case of ``examples/train_classifier.py``: one training step of its small CNN.

The step is the example's: ``optimizer.zero_grad()``, the CNN forward
(conv 1->16 3x3 pad 1, ReLU, max-pool 2, conv 16->32 3x3 pad 1, ReLU,
max-pool 2, flatten, linear 128->64, ReLU, linear 64->10),
``CrossEntropyLoss``, ``loss.backward()``, ``SGD(lr, momentum=0.9).step()``,
on a 1x8x8 batch of 32 (the digits' shape; random data: the time does not
depend on the values). The implementations:

* **graphc** -- the step under ``graphc.compile`` (one program), replayed;
* **graphc eager** -- the same step op by op;
* **numpy eager** -- the step by hand in numpy (im2col convolutions, float32);
* **torch eager** / **torch.compile** -- the same step with ``torch.nn`` and
  ``torch.optim`` (the code is shared: graphc has PyTorch's API).

The check: two steps from the same weights against the hand-written step in
float64 numpy (updated parameters relative to the size of the update, and
the second step's loss). The momentum buffers are zeroed in place before the
checked steps, which makes the first checked step a first step again without
changing anything a compiled step's guards look at.

Registered in :data:`benchmarks.cases_cpu.CASES` as ``classifier``.
"""

from __future__ import annotations

import math
import time

import numpy as np

from .harness import Config, Measurement, Row, Target, guarded, measure

PARAM_NAMES = (
    "conv1.weight",
    "conv1.bias",
    "conv2.weight",
    "conv2.bias",
    "fc1.weight",
    "fc1.bias",
    "fc2.weight",
    "fc2.bias",
)
LR, MOMENTUM = 0.02, 0.9


# ----------------------------------------------------------------------------
# the network, for graphc or torch


def make_net(lib):
    """The example's ``Net`` built with ``lib.nn`` (``lib`` is ``graphc`` or ``torch``)."""
    nn, F = lib.nn, lib.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
            self.pool = nn.MaxPool2d(2, 2)
            self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
            self.fc1 = nn.Linear(32 * 2 * 2, 64)
            self.fc2 = nn.Linear(64, 10)

        def forward(self, x):
            x = self.pool(F.relu(self.conv1(x)))
            x = self.pool(F.relu(self.conv2(x)))
            x = lib.flatten(x, 1)
            x = F.relu(self.fc1(x))
            return self.fc2(x)

    return Net()


def init_params(seed: int = 7) -> dict:
    """Weights as PyTorch's default init would draw them (uniform, bound 1/sqrt(fan_in)), float32."""
    rng = np.random.default_rng(seed)
    shapes = {
        "conv1.weight": (16, 1, 3, 3),
        "conv1.bias": (16,),
        "conv2.weight": (32, 16, 3, 3),
        "conv2.bias": (32,),
        "fc1.weight": (64, 128),
        "fc1.bias": (64,),
        "fc2.weight": (10, 64),
        "fc2.bias": (10,),
    }
    fan_in = {"conv1": 9, "conv2": 144, "fc1": 128, "fc2": 64}
    out = {}
    for name in PARAM_NAMES:
        bound = 1 / math.sqrt(fan_in[name.split(".")[0]])
        out[name] = rng.uniform(-bound, bound, shapes[name]).astype(np.float32)
    return out


def make_step(lib, net, lr: float = LR):
    """The example's training step for ``lib``; returns ``(step, optimizer)``."""
    criterion = lib.nn.CrossEntropyLoss()
    optimizer = lib.optim.SGD(net.parameters(), lr=lr, momentum=MOMENTUM)

    def train_step(inputs, labels):
        optimizer.zero_grad()
        loss = criterion(net(inputs), labels)
        loss.backward()
        optimizer.step()
        return loss.detach()

    return train_step, optimizer


def build(lib, init: dict, lr: float = LR):
    """A fresh net with weights ``init`` and its step: ``(net, step, optimizer)``."""
    net = make_net(lib)
    net.load_state_dict({k: lib.from_numpy(v.copy()) for k, v in init.items()})
    step, opt = make_step(lib, net, lr)
    return net, step, opt


def reset(lib, net, opt, init: dict) -> None:
    """Weights back to ``init`` and momentum buffers to zero, in place (``.grad`` is left to ``zero_grad``)."""
    params = dict(net.named_parameters())
    with lib.no_grad():
        for name in PARAM_NAMES:
            params[name].copy_(lib.from_numpy(init[name]))
        for state in opt.state.values():
            buf = state.get("momentum_buffer")
            if buf is not None:
                buf.zero_()


# ----------------------------------------------------------------------------
# the step by hand in numpy (the float64 reference and the numpy peer)


def _im2col(x):
    """(B, C, H, W) -> (B, C*9, H*W): 3x3 windows, zero padding 1."""
    b, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    cols = np.empty((b, c, 3, 3, h, w), dtype=x.dtype)
    for i in range(3):
        for j in range(3):
            cols[:, :, i, j] = xp[:, :, i : i + h, j : j + w]
    return cols.reshape(b, c * 9, h * w)


def _col2im(cols, shape):
    b, c, h, w = shape
    cols = cols.reshape(b, c, 3, 3, h, w)
    xp = np.zeros((b, c, h + 2, w + 2), dtype=cols.dtype)
    for i in range(3):
        for j in range(3):
            xp[:, :, i : i + h, j : j + w] += cols[:, :, i, j]
    return xp[:, :, 1:-1, 1:-1]


def _pool(x):
    b, c, h, w = x.shape
    xr = x.reshape(b, c, h // 2, 2, w // 2, 2)
    out = xr.max(axis=(3, 5))
    mask = xr == out[:, :, :, None, :, None]
    return out, mask


def _pool_back(dout, mask):
    share = mask / mask.sum(axis=(3, 5), keepdims=True)  # ties share the gradient (they only occur at ReLU zeros)
    b, c, h2, _, w2, _ = mask.shape
    return (share * dout[:, :, :, None, :, None]).reshape(b, c, 2 * h2, 2 * w2).astype(dout.dtype, copy=False)


def numpy_step(params: dict, bufs: dict, x, y, lr: float = LR, momentum: float = MOMENTUM) -> float:
    """One SGD-with-momentum step of the CNN with mean cross-entropy, in the arrays' dtype.

    Updates ``params`` and ``bufs`` (momentum buffers; a missing one starts as the gradient) in place.
    """
    p = params
    bsz = x.shape[0]
    # forward
    cols1 = _im2col(x)
    a1 = (np.matmul(p["conv1.weight"].reshape(16, -1), cols1) + p["conv1.bias"][:, None]).reshape(bsz, 16, 8, 8)
    p1, m1 = _pool(np.maximum(a1, 0))
    cols2 = _im2col(p1)
    a2 = (np.matmul(p["conv2.weight"].reshape(32, -1), cols2) + p["conv2.bias"][:, None]).reshape(bsz, 32, 4, 4)
    p2, m2 = _pool(np.maximum(a2, 0))
    f = p2.reshape(bsz, 128)
    h = f @ p["fc1.weight"].T + p["fc1.bias"]
    r3 = np.maximum(h, 0)
    z = r3 @ p["fc2.weight"].T + p["fc2.bias"]
    zmax = z.max(axis=1, keepdims=True)
    e = np.exp(z - zmax)
    s = e.sum(axis=1, keepdims=True)
    rows = np.arange(bsz)
    loss = float(np.mean(np.log(s[:, 0]) + zmax[:, 0] - z[rows, y]))
    # backward
    dz = e / s
    dz[rows, y] -= 1
    dz /= bsz
    g = {"fc2.weight": dz.T @ r3, "fc2.bias": dz.sum(0)}
    dh = (dz @ p["fc2.weight"]) * (h > 0)
    g["fc1.weight"], g["fc1.bias"] = dh.T @ f, dh.sum(0)
    da2 = _pool_back((dh @ p["fc1.weight"]).reshape(p2.shape), m2) * (a2 > 0)
    d2 = da2.reshape(bsz, 32, 16)
    g["conv2.weight"] = np.matmul(d2, cols2.transpose(0, 2, 1)).sum(0).reshape(32, 16, 3, 3)
    g["conv2.bias"] = d2.sum(axis=(0, 2))
    dp1 = _col2im(np.matmul(p["conv2.weight"].reshape(32, -1).T, d2), p1.shape)
    d1 = (_pool_back(dp1, m1) * (a1 > 0)).reshape(bsz, 16, 64)
    g["conv1.weight"] = np.matmul(d1, cols1.transpose(0, 2, 1)).sum(0).reshape(16, 1, 3, 3)
    g["conv1.bias"] = d1.sum(axis=(0, 2))
    # SGD with momentum (dampening 0): buf = momentum * buf + g (buf = g at first); p -= lr * buf
    for name in PARAM_NAMES:
        buf = bufs.get(name)
        if buf is None:
            bufs[name] = buf = g[name].astype(p[name].dtype, copy=True)
        else:
            buf *= momentum
            buf += g[name]
        p[name] -= lr * buf
    return loss


def step_flops(batch: int) -> int:
    """Matmul FLOPs of one step: forward, weight gradients, input gradients (none for conv1's input)."""
    conv1 = 2 * batch * 16 * 9 * 64
    fwd = conv1 + 2 * batch * 32 * 144 * 16 + 2 * batch * 128 * 64 + 2 * batch * 64 * 10
    return 3 * fwd - conv1


# ----------------------------------------------------------------------------
# the case


def case_classifier(cfg: Config, peers) -> Row:
    """The CNN training step of examples/train_classifier.py (1x8x8 digits, batch 32, SGD momentum), one step."""
    import graphc

    from .cases_cpu import _note_mismatch, _np, _profile_kernels

    batch = cfg.pick(32, 32, 4)
    row = Row("classifier_train_step", f"CNN 1x8x8 b{batch}", flops=step_flops(batch))
    row.targets = [
        Target("≥1.5x graphc eager", peer="graphc eager", min_ratio=1.5),
        Target("≥1.0x torch eager", peer="torch", min_ratio=1.0),
    ]
    row.notes.append(
        "step = zero_grad, conv-relu-pool x2, linear-relu, linear, CrossEntropyLoss, backward, "
        "SGD(lr=0.02, momentum=0.9).step(); graphc compiles the whole step as one function"
    )
    rng = np.random.default_rng(8)
    x = rng.standard_normal((batch, 1, 8, 8), dtype=np.float32)
    y = rng.integers(0, 10, batch).astype(np.int64)
    init = init_params()

    # float64 reference: two steps from init (the second with momentum)
    ref = {k: v.astype(np.float64) for k, v in init.items()}
    ref_bufs: dict = {}
    numpy_step(ref, ref_bufs, x.astype(np.float64), y)
    ref_loss = numpy_step(ref, ref_bufs, x.astype(np.float64), y)
    deltas = {k: ref[k] - init[k] for k in PARAM_NAMES}

    def check(params: dict, loss) -> str:
        worst = 0.0
        for name in PARAM_NAMES:
            got = _np(params[name]).astype(np.float64) - init[name]
            scale = max(float(np.abs(deltas[name]).max()), 1e-12)
            worst = max(worst, float(np.abs(got - deltas[name]).max()) / scale)
        loss_err = abs(float(_np(loss)) - ref_loss)
        if not math.isfinite(worst) or worst > 2e-3 or loss_err > 1e-4 * max(1.0, abs(ref_loss)):
            return f"MISMATCH update rel err {worst:.2e}, loss err {loss_err:.2e}"
        return f"ok (update rel err {worst:.1e})"

    def two_steps(lib, net, step, opt, args) -> str:
        reset(lib, net, opt, init)
        step(*args)
        return check(dict(net.named_parameters()), step(*args))

    # numpy eager (float32)
    cfg.log(f"{row.case} {row.size}: numpy eager")

    def numpy_peer():
        ps = {k: v.copy() for k, v in init.items()}
        bufs: dict = {}
        numpy_step(ps, bufs, x, y)
        loss = numpy_step(ps, bufs, x, y)
        _note_mismatch(row, "numpy eager", check(ps, np.float64(loss)))
        return measure(lambda: numpy_step(ps, bufs, x, y), cfg)

    row.peers["numpy"] = guarded(numpy_peer)

    # graphc compiled
    cfg.log(f"{row.case}: graphc compiled")
    gx, gy = graphc.from_numpy(x), graphc.from_numpy(y)
    try:
        gnet, gstep, gopt = build(graphc, init)
        cf = graphc.compile(gstep)
        t0 = time.perf_counter()
        cf(gx, gy)  # the first call traces and compiles (and creates the momentum buffers)
        cf(gx, gy)  # so the second traces once more, with the buffers in place
        report = cf.explain(gx, gy)  # the program that replays from now on (the profile wraps its kernels)
        row.extra["graphc_report"] = {
            "traced_nodes": len(report.traced),
            "optimized_nodes": len(report.optimized),
            "kernels": len(report.kernels),
            "compile_timings_s": dict(report.timings),
            "warmup_and_compile_s": time.perf_counter() - t0,
        }
        hits, traces = cf.cache_info().hits, cf.cache_info().traces
        row.check = two_steps(graphc, gnet, cf, gopt, (gx, gy))
        if cf.cache_info().hits != hits + 2:
            row.check += " (the checked calls did not replay)"
        m = measure(lambda: cf(gx, gy), cfg)
        info = cf.cache_info()
        if info.eager_calls > 0 or info.traces != traces:
            m.note = "graphc.compile retraced or fell back to eager"
            row.notes.append(f"graphc.compile did not just replay the step ({info}); the 'graphc' time is not a replay")
        row.graphc = m
        _profile_kernels(row, cfg, cf, report, (gx, gy))
    except Exception as e:
        row.graphc = Measurement.failed(e)
        row.check = "n/a (graphc failed)"

    # graphc eager
    cfg.log(f"{row.case}: graphc eager")

    def graphc_eager():
        net, step, opt = build(graphc, init)
        _note_mismatch(row, "graphc eager", two_steps(graphc, net, step, opt, (gx, gy)))
        return measure(lambda: step(gx, gy), cfg)

    row.graphc_eager = guarded(graphc_eager)

    # torch
    torch = peers.torch
    if torch is None:
        row.peers["torch"] = peers.torch_missing()
        row.peers["torch.compile"] = peers.compile_missing()
        return row
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    cfg.log(f"{row.case}: torch eager")

    def torch_eager():
        net, step, opt = build(torch, init)
        _note_mismatch(row, "torch eager", two_steps(torch, net, step, opt, (tx, ty)))
        return measure(lambda: step(tx, ty), cfg)

    row.peers["torch"] = guarded(torch_eager)
    missing = peers.compile_missing()
    if missing:
        row.peers["torch.compile"] = missing
        return row
    cfg.log(f"{row.case}: torch.compile (the first call compiles)")

    def torch_compiled():
        net, step, opt = build(torch, init)
        c = torch.compile(step)
        t0 = time.perf_counter()
        c(tx, ty)
        compile_s = time.perf_counter() - t0
        c(tx, ty)  # the optimizer step (with its momentum buffers now) may compile on the second call
        _note_mismatch(row, "torch.compile", two_steps(torch, net, c, opt, (tx, ty)))
        m = measure(lambda: c(tx, ty), cfg)
        m.note = f"first call (compiles) {compile_s:.1f} s"
        row.extra["torch_compile_first_call_s"] = compile_s
        return m

    row.peers["torch.compile"] = guarded(torch_compiled)
    if not row.peers["torch.compile"].ok:
        row.notes.append(f"torch.compile {row.peers['torch.compile'].status}")
    return row
