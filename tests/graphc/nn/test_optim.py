"""graphc.optim against hand-computed update rules (numpy float64, 3 steps), state dicts, schedulers."""

import io
import math

import numpy as np
import pytest

import graphc
import graphc.nn as nn
import graphc.optim as optim

RNG = np.random.default_rng(7)
P0 = [RNG.standard_normal((3, 2)), RNG.standard_normal(4)]
C = [RNG.standard_normal((3, 2)), RNG.standard_normal(4)]


def make_params():
    return [nn.Parameter(graphc.tensor(p.copy(), dtype=graphc.float64)) for p in P0]


def loss_of(params):
    # grad_i = c_i + p_i^3 (differs from step to step, so momentum/Adam states matter)
    return sum(((p * graphc.tensor(c)).sum() + (p**4).sum() / 4) for p, c in zip(params, C))


def np_grad(i, p):
    return C[i] + p**3


def run(opt_cls, steps=3, **kw):
    params = make_params()
    opt = opt_cls(params, **kw)
    for _ in range(steps):
        opt.zero_grad()
        loss_of(params).backward()
        opt.step()
    return [p.detach().numpy() for p in params], opt, params


def ref_sgd(lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False, steps=3):
    out = []
    for i, p0 in enumerate(P0):
        p, buf = p0.copy(), None
        for _ in range(steps):
            g = np_grad(i, p)
            g = -g if maximize else g
            if weight_decay:
                g = g + weight_decay * p
            if momentum:
                buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
                g = g + momentum * buf if nesterov else buf
            p = p - lr * g
        out.append(p)
    return out


def ref_adam(lr, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.0, amsgrad=False, decoupled=False, maximize=False, steps=3):
    out = []
    for i, p0 in enumerate(P0):
        p = p0.copy()
        m, v, vmax = np.zeros_like(p), np.zeros_like(p), np.zeros_like(p)
        for t in range(1, steps + 1):
            g = np_grad(i, p)
            g = -g if maximize else g
            if weight_decay:
                if decoupled:
                    p = p * (1 - lr * weight_decay)
                else:
                    g = g + weight_decay * p
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            mhat = m / (1 - b1**t)
            if amsgrad:
                vmax = np.maximum(vmax, v)
                vv = vmax
            else:
                vv = v
            p = p - lr * mhat / (np.sqrt(vv) / math.sqrt(1 - b2**t) + eps)
        out.append(p)
    return out


@pytest.mark.parametrize(
    "kw",
    [
        dict(lr=0.1),
        dict(lr=0.05, momentum=0.9),
        dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01),
        dict(lr=0.05, momentum=0.8, nesterov=True),
        dict(lr=0.02, weight_decay=0.1, maximize=True),
    ],
)
@pytest.mark.parametrize("foreach", [None, False], ids=["arrays", "ops"])
def test_sgd_matches_hand_computed(kw, foreach):
    got, _, _ = run(optim.SGD, foreach=foreach, **kw)
    for g, r in zip(got, ref_sgd(**kw)):
        np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    "kw",
    [
        dict(lr=0.05, momentum=0.9),
        dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01, nesterov=False),
        dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=1e-3),
        dict(lr=0.02, weight_decay=0.1, maximize=True),
    ],
)
def test_sgd_on_arrays_equals_the_tensor_ops_bit_for_bit(kw):
    """Eager SGD updates the arrays directly (no dispatch per op); in float32, where every
    rounding shows, it must give exactly what the op-by-op loop gives, versions included."""
    results = {}
    for foreach in (None, False):
        rng = np.random.default_rng(3)
        params = [nn.Parameter(graphc.tensor(rng.standard_normal(s).astype(np.float32))) for s in [(5, 3), (7,)]]
        opt = optim.SGD(params, foreach=foreach, **kw)
        versions = []
        for step in range(4):
            for p in params:
                p.grad = graphc.tensor(rng.standard_normal(tuple(p.shape)).astype(np.float32))
            if step == 2:
                params[1].grad = None  # a parameter without a gradient is left alone
            opt.step()
            versions.append([p._version.value for p in params])
        bufs = [opt.state[p].get("momentum_buffer") for p in params]
        results[foreach] = ([p.detach().numpy().copy() for p in params], [None if b is None else b.numpy().copy() for b in bufs], versions)
    (p_fast, b_fast, v_fast), (p_ops, b_ops, v_ops) = results[None], results[False]
    for a, b in zip(p_fast + b_fast, p_ops + b_ops):
        if a is None or b is None:
            assert a is None and b is None
        else:
            np.testing.assert_array_equal(a, b)
    assert v_fast == v_ops


def test_sgd_with_a_tensor_learning_rate_takes_the_tensor_ops():
    params = make_params()
    opt = optim.SGD(params, lr=graphc.tensor(0.1, dtype=graphc.float64), momentum=0.9)
    for _ in range(3):
        opt.zero_grad()
        loss_of(params).backward()
        opt.step()
    for g, r in zip([p.detach().numpy() for p in params], ref_sgd(lr=0.1, momentum=0.9)):
        np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    "cls, kw, ref_kw",
    [
        (optim.Adam, dict(lr=0.01), dict(lr=0.01)),
        (
            optim.Adam,
            dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
            dict(lr=0.01, b1=0.8, b2=0.99, eps=1e-6, weight_decay=0.1),
        ),
        (optim.Adam, dict(lr=0.01, amsgrad=True, maximize=True), dict(lr=0.01, amsgrad=True, maximize=True)),
        (optim.AdamW, dict(lr=0.01), dict(lr=0.01, weight_decay=0.01, decoupled=True)),
        (
            optim.AdamW,
            dict(lr=0.05, weight_decay=0.5, amsgrad=True),
            dict(lr=0.05, weight_decay=0.5, decoupled=True, amsgrad=True),
        ),
    ],
)
@pytest.mark.parametrize("foreach", [None, False], ids=["arrays", "ops"])
def test_adam_matches_hand_computed(cls, kw, ref_kw, foreach):
    got, opt, params = run(cls, foreach=foreach, **kw)
    for g, r in zip(got, ref_adam(**ref_kw)):
        np.testing.assert_allclose(g, r, rtol=1e-10, atol=1e-13)
    state = opt.state[params[0]]
    assert isinstance(state["exp_avg"], graphc.Tensor) and isinstance(state["exp_avg_sq"], graphc.Tensor)
    assert state["step"].item() == 3


@pytest.mark.parametrize(
    "cls, kw",
    [
        (optim.Adam, dict(lr=0.01)),
        (optim.Adam, dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
        (optim.Adam, dict(lr=0.01, amsgrad=True, maximize=True)),
        (optim.AdamW, dict(lr=0.05, weight_decay=0.5, amsgrad=True)),
    ],
)
def test_adam_on_arrays_equals_the_tensor_ops_bit_for_bit(cls, kw):
    """As SGD's: float32, several steps, a parameter skipping one; state and versions equal too."""
    results = {}
    for foreach in (None, False):
        rng = np.random.default_rng(5)
        params = [nn.Parameter(graphc.tensor(rng.standard_normal(s).astype(np.float32))) for s in [(4, 3), (6,)]]
        opt = cls(params, foreach=foreach, **kw)
        versions = []
        for step in range(5):
            for p in params:
                p.grad = graphc.tensor(rng.standard_normal(tuple(p.shape)).astype(np.float32))
            if step == 1:
                params[0].grad = None
            opt.step()
            versions.append([p._version.value for p in params])
        state = [{k: v.numpy().copy() for k, v in sorted(opt.state[p].items())} for p in params]
        results[foreach] = ([p.detach().numpy().copy() for p in params], state, versions)
    (p_fast, s_fast, v_fast), (p_ops, s_ops, v_ops) = results[None], results[False]
    for a, b in zip(p_fast, p_ops):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(s_fast, s_ops):
        assert a.keys() == b.keys()
        for k in a:
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert v_fast == v_ops


def test_rmsprop_and_adagrad():
    got, _, _ = run(optim.RMSprop, lr=0.01, alpha=0.9)
    for i, p0 in enumerate(P0):
        p, v = p0.copy(), np.zeros_like(p0)
        for _ in range(3):
            g = np_grad(i, p)
            v = 0.9 * v + 0.1 * g * g
            p = p - 0.01 * g / (np.sqrt(v) + 1e-8)
        np.testing.assert_allclose(got[i], p, rtol=1e-10)
    got, _, _ = run(optim.Adagrad, lr=0.1, lr_decay=0.01)
    for i, p0 in enumerate(P0):
        p, s = p0.copy(), np.zeros_like(p0)
        for t in range(1, 4):
            g = np_grad(i, p)
            s = s + g * g
            p = p - 0.1 / (1 + (t - 1) * 0.01) * g / (np.sqrt(s) + 1e-10)
        np.testing.assert_allclose(got[i], p, rtol=1e-10)


def test_updates_are_in_place():
    params = make_params()
    ptrs = [p.data_ptr() for p in params]
    opt = optim.SGD(params, lr=0.1, momentum=0.9)
    loss_of(params).backward()
    opt.step()
    assert [p.data_ptr() for p in params] == ptrs
    assert all(p.is_leaf and p.requires_grad and p.grad_fn is None for p in params)
    buf = opt.state[params[0]]["momentum_buffer"]
    loss_of(params).backward()
    opt.step()
    assert opt.state[params[0]]["momentum_buffer"] is buf


def test_zero_grad_and_param_groups():
    params = make_params()
    opt = optim.SGD([{"params": [params[0]]}, {"params": [params[1]], "lr": 0.5}], lr=0.1, momentum=0.5)
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[1]["lr"] == 0.5
    assert opt.param_groups[1]["momentum"] == 0.5
    loss_of(params).backward()
    g = params[0].grad.numpy().copy()
    opt.step()
    np.testing.assert_allclose(params[0].detach().numpy(), P0[0] - 0.1 * g)
    opt.zero_grad(set_to_none=False)
    assert (params[0].grad.numpy() == 0).all()
    opt.zero_grad()
    assert params[0].grad is None
    extra = nn.Parameter(graphc.zeros(2))
    opt.add_param_group({"params": extra, "lr": 1.0})
    assert opt.param_groups[2]["momentum"] == 0.5 and opt.param_groups[2]["params"] == [extra]
    with pytest.raises(ValueError, match="more than one"):
        opt.add_param_group({"params": [extra]})
    with pytest.raises(ValueError):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD(make_params(), lr=0.1, nesterov=True)
    assert repr(optim.SGD(make_params(), lr=0.1)).startswith("SGD (\nParameter Group 0\n    dampening: 0\n")


def test_params_without_grad_are_skipped():
    params = make_params()
    opt = optim.Adam(params, lr=0.1)
    (params[0] ** 2).sum().backward()
    opt.step()
    np.testing.assert_array_equal(params[1].detach().numpy(), P0[1])
    assert params[1] not in opt.state


@pytest.mark.parametrize(
    "cls, kw",
    [(optim.SGD, dict(lr=0.05, momentum=0.9)), (optim.Adam, dict(lr=0.01, amsgrad=True)), (optim.AdamW, dict(lr=0.01))],
)
def test_optimizer_state_dict_round_trip(cls, kw):
    params = make_params()
    opt = cls(params, **kw)
    for _ in range(2):
        opt.zero_grad()
        loss_of(params).backward()
        opt.step()
    sd = opt.state_dict()
    assert sorted(sd) == ["param_groups", "state"]
    assert sd["param_groups"][0]["params"] == [0, 1] and set(sd["state"]) == {0, 1}
    # through graphc.save / graphc.load
    buf = io.BytesIO()
    graphc.save({"model": [p.detach() for p in params], "optim": sd}, buf)
    buf.seek(0)
    loaded = graphc.load(buf, weights_only=True)
    params2 = [nn.Parameter(t.clone()) for t in loaded["model"]]
    opt2 = cls(params2, **kw)
    opt2.load_state_dict(loaded["optim"])
    for o, ps in ((opt, params), (opt2, params2)):
        o.zero_grad()
        loss_of(ps).backward()
        o.step()
    for a, b in zip(params, params2):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12)
    # the loaded state is a copy
    k = next(iter(opt2.state[params2[0]]))
    assert opt2.state[params2[0]][k] is not opt.state[params[0]][k]


def test_lr_schedulers():
    def lrs(sched_fn, n=7, lr=1.0):
        opt = optim.SGD([nn.Parameter(graphc.zeros(1))], lr=lr)
        sched = sched_fn(opt)
        out = []
        for _ in range(n):
            out.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        assert sched.get_last_lr() == [opt.param_groups[0]["lr"]]
        return out

    np.testing.assert_allclose(
        lrs(lambda o: optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.1)), [1, 1, 1, 0.1, 0.1, 0.1, 0.01]
    )
    np.testing.assert_allclose(
        lrs(lambda o: optim.lr_scheduler.ExponentialLR(o, gamma=0.5)), [0.5**i for i in range(7)]
    )
    np.testing.assert_allclose(
        lrs(lambda o: optim.lr_scheduler.MultiStepLR(o, [2, 5], 0.1)), [1, 1, 0.1, 0.1, 0.1, 0.01, 0.01]
    )
    np.testing.assert_allclose(
        lrs(lambda o: optim.lr_scheduler.CosineAnnealingLR(o, T_max=6, eta_min=0.1)),
        [0.1 + 0.9 * (1 + math.cos(math.pi * t / 6)) / 2 for t in range(7)],
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        lrs(lambda o: optim.lr_scheduler.LambdaLR(o, lambda e: 1 / (e + 1))), [1 / (e + 1) for e in range(7)]
    )
    np.testing.assert_allclose(
        lrs(lambda o: optim.lr_scheduler.LinearLR(o, 0.5, 1.0, total_iters=4)), [0.5, 0.625, 0.75, 0.875, 1, 1, 1]
    )
    opt = optim.SGD([nn.Parameter(graphc.zeros(1))], lr=1.0)
    s = optim.lr_scheduler.StepLR(opt, 2)
    s.step()
    s.step()
    s2 = optim.lr_scheduler.StepLR(optim.SGD([nn.Parameter(graphc.zeros(1))], lr=1.0), 2)
    s2.load_state_dict(s.state_dict())
    assert s2.last_epoch == 2
    plateau_opt = optim.SGD([nn.Parameter(graphc.zeros(1))], lr=1.0)
    plateau = optim.lr_scheduler.ReduceLROnPlateau(plateau_opt, patience=1, factor=0.5)
    for m in [1.0, 1.0, 1.0, 1.0]:
        plateau.step(m)
    assert plateau_opt.param_groups[0]["lr"] == 0.5


def test_training_loop_reduces_loss():
    graphc.manual_seed(0)
    x = graphc.randn(64, 4)
    y = (x @ graphc.tensor([[1.0], [-2.0], [0.5], [3.0]]) + 0.1).squeeze(1)
    net = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1), nn.Flatten(0))
    opt = optim.Adam(net.parameters(), lr=0.05)
    first = None
    for _ in range(60):
        opt.zero_grad()
        loss = nn.MSELoss()(net(x), y)
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    assert loss.item() < 0.1 * first


@pytest.mark.parametrize("cls, kw", [(optim.SGD, dict(lr=0.1, momentum=0.9)), (optim.Adam, dict(lr=0.01))])
def test_compiled_training_step_matches_eager(cls, kw):
    """A whole step (forward, backward, optimizer update) under @graphc.compile equals eager."""
    import copy

    if not hasattr(graphc, "compile"):
        pytest.skip("graphc.compile is not available")
    graphc.manual_seed(0)
    net_e = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(12, 3))
    net_c = copy.deepcopy(net_e)
    opt_e, opt_c = cls(net_e.parameters(), **kw), cls(net_c.parameters(), **kw)
    crit = nn.CrossEntropyLoss()

    def step(net, opt, x, y):
        opt.zero_grad()
        loss = crit(net(x), y)
        loss.backward()
        opt.step()
        return loss

    cstep = graphc.compile(lambda x, y: step(net_c, opt_c, x, y))
    for _ in range(4):
        x, y = graphc.randn(4, 1, 4, 4), graphc.randint(0, 3, (4,))
        np.testing.assert_allclose(float(cstep(x, y)), float(step(net_e, opt_e, x, y)), rtol=1e-5)
    for a, b in zip(net_e.parameters(), net_c.parameters()):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert cstep.cache_info().hits >= 1
