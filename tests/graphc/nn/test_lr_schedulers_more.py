"""PolynomialLR, CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR, SequentialLR and ChainedScheduler
against the closed forms in PyTorch's documentation (written here), their momentum cycling, a
compiled training step that follows the schedule without retracing, and, where PyTorch is
installed, the same schedules from ``torch.optim.lr_scheduler``."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import graphc
import graphc.optim as optim
from graphc.optim import lr_scheduler as L


def _opt(cls=optim.SGD, **kw):
    p = graphc.zeros(2, requires_grad=True)
    return cls([p], **({"lr": 0.1} | kw))


def _lrs(opt, sched, n, key=None):
    out = []
    for _ in range(n):
        g = opt.param_groups[0]
        out.append(g["lr"] if key is None else (g[key][0] if key == "betas" else g[key]))
        opt.step()
        sched.step()
    return np.array(out)


def test_polynomial():
    opt = _opt()
    got = _lrs(opt, L.PolynomialLR(opt, total_iters=6, power=2.0), 10)
    ref = [0.1 * (1 - min(t, 6) / 6) ** 2 for t in range(10)]
    np.testing.assert_allclose(got, ref, atol=1e-15)


@pytest.mark.parametrize("t_mult", [1, 2])
def test_cosine_warm_restarts(t_mult):
    opt = _opt()
    got = _lrs(opt, L.CosineAnnealingWarmRestarts(opt, T_0=4, T_mult=t_mult, eta_min=0.01), 30)
    ref, t_cur, t_i = [], 0, 4
    for _ in range(30):
        ref.append(0.01 + (0.1 - 0.01) * (1 + math.cos(math.pi * t_cur / t_i)) / 2)
        t_cur += 1
        if t_cur >= t_i:
            t_cur, t_i = t_cur - t_i, t_i * t_mult
    np.testing.assert_allclose(got, ref, rtol=1e-12)


def test_cosine_warm_restarts_fractional_epoch():
    opt = _opt()
    s = L.CosineAnnealingWarmRestarts(opt, T_0=4, T_mult=2)
    s.step(13.5)  # cycles of 4 and 8 done: 1.5 into the third (length 16)
    assert s.T_i == 16 and s.T_cur == pytest.approx(1.5)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 * (1 + math.cos(math.pi * 1.5 / 16)) / 2)
    with pytest.raises(ValueError, match="positive integer T_0"):
        L.CosineAnnealingWarmRestarts(opt, T_0=0)


def _triangle(t, up, down):
    total = up + down
    cycle = math.floor(1 + t / total)
    x = 1 + t / total - cycle
    return cycle, (x / (up / total) if x <= up / total else (x - 1) / (up / total - 1))


@pytest.mark.parametrize("mode", ["triangular", "triangular2", "exp_range"])
def test_cyclic_lr_and_momentum(mode):
    opt = _opt(momentum=0.9)
    s = L.CyclicLR(opt, 0.01, 0.1, step_size_up=4, step_size_down=6, mode=mode, gamma=0.95,
                   base_momentum=0.8, max_momentum=0.9)
    lr = _lrs(opt, s, 35)
    opt2 = _opt(momentum=0.9)
    mom = _lrs(opt2, L.CyclicLR(opt2, 0.01, 0.1, step_size_up=4, step_size_down=6, mode=mode, gamma=0.95), 35, "momentum")
    ref_lr, ref_m = [], []
    for t in range(35):
        cycle, f = _triangle(t, 4, 6)
        scale = {"triangular": 1.0, "triangular2": 1 / 2 ** (cycle - 1), "exp_range": 0.95**t}[mode]
        ref_lr.append(0.01 + (0.1 - 0.01) * f * scale)
        ref_m.append(0.9 - (0.9 - 0.8) * f * scale)
    np.testing.assert_allclose(lr, ref_lr, rtol=1e-12)
    np.testing.assert_allclose(mom, ref_m, rtol=1e-12)


def test_cyclic_drives_adam_beta1_and_requires_momentum():
    opt = _opt(optim.Adam)
    L.CyclicLR(opt, 0.01, 0.1, step_size_up=2)
    assert opt.param_groups[0]["betas"] == (0.9, 0.999)
    with pytest.raises(ValueError, match="momentum or beta1"):
        L.CyclicLR(_opt(optim.Adagrad), 0.01, 0.1)
    L.CyclicLR(_opt(optim.Adagrad), 0.01, 0.1, cycle_momentum=False)


@pytest.mark.parametrize("three_phase, anneal", [(False, "cos"), (True, "linear")])
def test_one_cycle(three_phase, anneal):
    total, max_lr, div, final = 40, 0.5, 25.0, 1e4
    opt = _opt(momentum=0.9)
    s = L.OneCycleLR(opt, max_lr=max_lr, total_steps=total, three_phase=three_phase, anneal_strategy=anneal)
    got = _lrs(opt, s, total)
    init, low = max_lr / div, max_lr / div / final

    def anneal_fn(a, b, pct):
        return b + (a - b) / 2 * (math.cos(math.pi * pct) + 1) if anneal == "cos" else (b - a) * pct + a

    if three_phase:
        phases = [(0.3 * total - 1, init, max_lr), (2 * 0.3 * total - 2, max_lr, init), (total - 1, init, low)]
    else:
        phases = [(0.3 * total - 1, init, max_lr), (total - 1, max_lr, low)]
    ref = []
    for t in range(total):
        start = 0.0
        for i, (end, a, b) in enumerate(phases):
            if t <= end or i == len(phases) - 1:
                ref.append(anneal_fn(a, b, (t - start) / (end - start)))
                break
            start = end
    np.testing.assert_allclose(got, ref, rtol=1e-12)
    assert got[-1] == pytest.approx(low)
    with pytest.raises(ValueError, match="Tried to step"):
        s.step()
        s.step()


def test_one_cycle_argument_errors():
    with pytest.raises(ValueError, match="total_steps OR"):
        L.OneCycleLR(_opt(momentum=0.9), max_lr=0.1)
    with pytest.raises(ValueError, match="anneal_strategy"):
        L.OneCycleLR(_opt(momentum=0.9), max_lr=0.1, total_steps=10, anneal_strategy="exp")


def test_sequential_warmup_then_cosine():
    opt = _opt()
    s = L.SequentialLR(opt, [L.LinearLR(opt, 0.01, 1.0, total_iters=5), L.CosineAnnealingLR(opt, T_max=10)],
                       milestones=[5])
    got = _lrs(opt, s, 16)
    ref = [0.1 * (0.01 + 0.99 * t / 5) for t in range(5)] + [
        0.1 * (1 + math.cos(math.pi * t / 10)) / 2 for t in range(11)
    ]
    np.testing.assert_allclose(got, ref, rtol=1e-10)
    with pytest.raises(ValueError, match="number of milestone"):
        L.SequentialLR(opt, [L.StepLR(opt, 2)], milestones=[3])


def test_chained_product_and_state_dict():
    opt = _opt()
    s = L.ChainedScheduler([L.ConstantLR(opt, 0.5, total_iters=3), L.ExponentialLR(opt, 0.9)])
    got = _lrs(opt, s, 6)
    ref = [0.1 * (0.5 if t < 3 else 1.0) * 0.9**t for t in range(6)]
    np.testing.assert_allclose(got, ref, rtol=1e-12)
    state = s.state_dict()
    assert len(state["_schedulers"]) == 2 and state["_schedulers"][1]["last_epoch"] == 6
    s.load_state_dict(state)


def test_compiled_step_follows_one_cycle_without_retracing():
    w = graphc.tensor([1.0, -2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1, momentum=0.9)
    sched = L.OneCycleLR(opt, max_lr=0.2, total_steps=12)

    @graphc.compile
    def step():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        opt.step()

    ref = np.array([1.0, -2.0])
    buf = np.zeros(2)
    for i in range(12):
        lr, m = opt.param_groups[0]["lr"], opt.param_groups[0]["momentum"]
        step()
        g = 2 * ref
        buf = g if i == 0 else m * buf + g
        ref = ref - lr * buf
        sched.step() if i < 11 else None
    np.testing.assert_allclose(w.detach().numpy(), ref, rtol=1e-5)
    # lr and momentum are per-call scalar inputs: no retrace as they change (one retrace once the
    # first call has created the momentum buffers, as for any lazily created optimizer state)
    assert step.cache_info().traces == 2


def test_compiled_adam_follows_cyclic_beta1():
    results = []
    for compiled in (False, True):
        w = graphc.tensor([1.0, -2.0, 0.5], requires_grad=True)
        opt = optim.Adam([w], lr=0.05)
        sched = L.CyclicLR(opt, 0.01, 0.1, step_size_up=3, base_momentum=0.5, max_momentum=0.95)

        def step():
            opt.zero_grad()
            loss = (w * w * w * w).sum()
            loss.backward()
            opt.step()

        fn = graphc.compile(step) if compiled else step
        for _ in range(10):
            fn()
            sched.step()
        results.append(w.detach().numpy().copy())
        if compiled:
            assert fn.cache_info().traces == 2  # the first call creates the optimizer's state: one retrace
    np.testing.assert_allclose(results[1], results[0], rtol=1e-5)


@pytest.mark.parametrize("name", ["poly", "warm", "cyclic", "onecycle", "sequential", "chained"])
def test_against_pytorch(name):
    torch = pytest.importorskip("torch")
    make = {
        "poly": lambda M, o: M.PolynomialLR(o, total_iters=7, power=2.0),
        "warm": lambda M, o: M.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2, eta_min=0.001),
        "cyclic": lambda M, o: M.CyclicLR(o, [0.01, 0.02], 0.1, step_size_up=3, mode="triangular2"),
        "onecycle": lambda M, o: M.OneCycleLR(o, max_lr=[0.5, 0.2], total_steps=41),
        "sequential": lambda M, o: M.SequentialLR(
            o, [M.LinearLR(o, 0.1, total_iters=5), M.ExponentialLR(o, 0.9), M.StepLR(o, 3, 0.5)], milestones=[5, 15]),
        "chained": lambda M, o: M.ChainedScheduler([M.ConstantLR(o, 0.1, total_iters=4), M.ExponentialLR(o, 0.9)]),
    }[name]
    runs = []
    for lib in (torch, graphc):
        p, q = lib.zeros(2, requires_grad=True), lib.zeros(3, requires_grad=True)
        opt = lib.optim.SGD([{"params": [p]}, {"params": [q], "lr": 0.05}], lr=0.1, momentum=0.9)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s = make(lib.optim.lr_scheduler, opt)
            rows = []
            for _ in range(40):
                rows.append([g["lr"] for g in opt.param_groups] + [g["momentum"] for g in opt.param_groups])
                opt.step()
                s.step()
        runs.append(np.array(rows))
    np.testing.assert_allclose(runs[1], runs[0], rtol=1e-13, atol=1e-16)
