"""Adadelta, Adamax, NAdam, RAdam, ASGD and LBFGS against their update rules written here in
numpy float64 (from PyTorch's documented algorithms), eagerly and as a compiled training
step; state-dict round trips and ``add_param_group``; and, where PyTorch is installed, the
same runs through ``torch.optim`` on float64."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest

import graphc
import graphc.optim as optim

RNG = np.random.default_rng(11)
P0 = [RNG.standard_normal((3, 2)), RNG.standard_normal(4)]
C = [RNG.standard_normal((3, 2)), RNG.standard_normal(4)]


def grad_np(i, p):
    """Gradient of sum(c p) + sum(p^4) / 4 + sum(p^2)."""
    return C[i] + p**3 + 2 * p


def make_params():
    return [graphc.tensor(p.copy(), dtype=graphc.float64, requires_grad=True) for p in P0]


def loss_of(params):
    return sum((p * graphc.tensor(c)).sum() + (p**4).sum() / 4 + (p * p).sum() for p, c in zip(params, C))


def run(cls, steps=5, params=None, **kw):
    params = params or make_params()
    opt = cls(params, **kw)
    for _ in range(steps):
        opt.zero_grad()
        loss_of(params).backward()
        opt.step()
    return [p.detach().numpy().copy() for p in params], opt, params


# -- references (numpy float64) ---------------------------------------------------------------


def ref(rule, steps=5, **kw):
    out = []
    for i, p0 in enumerate(P0):
        p, st = p0.copy(), {}
        for t in range(1, steps + 1):
            g = grad_np(i, p)
            if kw.get("maximize"):
                g = -g
            p = rule(p, g, t, st, **{k: v for k, v in kw.items() if k != "maximize"})
        out.append(p)
    return out


def adadelta(p, g, t, st, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0):
    g = g + weight_decay * p
    v = st["v"] = rho * st.get("v", 0) + (1 - rho) * g * g
    d = np.sqrt(st.get("u", 0) + eps) / np.sqrt(v + eps) * g
    st["u"] = rho * st.get("u", 0) + (1 - rho) * d * d
    return p - lr * d


def adamax(p, g, t, st, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    g = g + weight_decay * p
    m = st["m"] = betas[0] * st.get("m", 0) + (1 - betas[0]) * g
    u = st["u"] = np.maximum(betas[1] * st.get("u", np.zeros_like(p)), np.abs(g) + eps)
    return p - lr / (1 - betas[0] ** t) * m / u


def nadam(p, g, t, st, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
          decoupled_weight_decay=False):
    b1, b2 = betas
    if decoupled_weight_decay:
        p = p * (1 - lr * weight_decay)
    else:
        g = g + weight_decay * p
    mu = b1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
    mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
    st["prod"] = float(np.float32(st.get("prod", 1.0)) * np.float32(mu))  # PyTorch keeps it in float32
    m = st["m"] = b1 * st.get("m", 0) + (1 - b1) * g
    v = st["v"] = b2 * st.get("v", 0) + (1 - b2) * g * g
    denom = np.sqrt(v / (1 - b2**t)) + eps
    p = p - lr * (1 - mu) / (1 - st["prod"]) * g / denom
    return p - lr * mu_next / (1 - st["prod"] * mu_next) * m / denom


def radam(p, g, t, st, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled_weight_decay=False):
    b1, b2 = betas
    if decoupled_weight_decay:
        p = p * (1 - lr * weight_decay)
    else:
        g = g + weight_decay * p
    m = st["m"] = b1 * st.get("m", 0) + (1 - b1) * g
    v = st["v"] = b2 * st.get("v", 0) + (1 - b2) * g * g
    m_hat = m / (1 - b1**t)
    rho_inf = 2 / (1 - b2) - 1
    rho_t = rho_inf - 2 * t * b2**t / (1 - b2**t)
    if rho_t > 5:
        r = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        return p - lr * m_hat * r * math.sqrt(1 - b2**t) / (np.sqrt(v) + eps)
    return p - lr * m_hat


def asgd(p, g, t, st, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0.0):
    g = g + weight_decay * p
    eta, mu = st.get("eta", np.float32(lr)), st.get("mu", 1.0)
    p = p * (1 - lambd * float(eta)) - float(eta) * g
    st["ax"] = p.copy() if mu == 1 else st["ax"] + (p - st["ax"]) * mu
    st["eta"] = np.float32(lr / (1 + lambd * lr * t) ** alpha)  # float32 state, as PyTorch's
    st["mu"] = float(np.float32(1 / max(1, t - t0)))
    return p


CASES = [
    (optim.Adadelta, adadelta, {}),
    (optim.Adadelta, adadelta, dict(lr=0.5, rho=0.8, weight_decay=0.1)),
    (optim.Adadelta, adadelta, dict(maximize=True, lr=0.1)),
    (optim.Adamax, adamax, {}),
    (optim.Adamax, adamax, dict(lr=0.01, betas=(0.8, 0.95), weight_decay=0.05)),
    (optim.NAdam, nadam, {}),
    (optim.NAdam, nadam, dict(lr=0.01, weight_decay=0.1, momentum_decay=0.01)),
    (optim.NAdam, nadam, dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    (optim.RAdam, radam, dict(lr=0.01)),  # rho_t <= 5 for all 5 steps: the un-rectified branch
    (optim.RAdam, radam, dict(lr=0.01, betas=(0.5, 0.6), weight_decay=0.1)),  # rectified from step 2
    (optim.RAdam, radam, dict(lr=0.01, betas=(0.5, 0.6), weight_decay=0.1, decoupled_weight_decay=True)),
    (optim.ASGD, asgd, dict(lr=0.05)),
    (optim.ASGD, asgd, dict(lr=0.05, t0=2, lambd=0.1, alpha=0.5, weight_decay=0.01)),
]
IDS = [f"{c.__name__}-{i}" for i, (c, _, _) in enumerate(CASES)]


@pytest.mark.parametrize("cls, rule, kw", CASES, ids=IDS)
def test_update_rule_matches_reference(cls, rule, kw):
    got, _, _ = run(cls, **kw)
    for a, b in zip(got, ref(rule, **kw)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cls, rule, kw", CASES[::2], ids=IDS[::2])
def test_compiled_step_matches_eager(cls, rule, kw):
    params = make_params()
    opt = cls(params, **kw)

    @graphc.compile
    def train_step():
        opt.zero_grad()
        loss = loss_of(params)
        loss.backward()
        opt.step()
        return loss

    for _ in range(5):
        train_step()
    assert train_step.cache_info().traces == 2  # the first call creates the optimizer's state: one retrace
    # A compiled step reads lr as a per-call scalar input of the default float dtype (float32), so an
    # lr like 0.1 that float32 cannot hold exactly moves float64 parameters by ~1e-9 relative.
    for a, b in zip(params, ref(rule, **kw)):
        np.testing.assert_allclose(a.detach().numpy(), b, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("cls, rule, kw", CASES[::3], ids=IDS[::3])
def test_state_dict_round_trip_continues_the_run(cls, rule, kw):
    params = make_params()
    _, opt, _ = run(cls, steps=2, params=params, **kw)
    buf = io.BytesIO()
    graphc.save(opt.state_dict(), buf)
    buf.seek(0)
    fresh = cls(params, **kw)
    fresh.load_state_dict(graphc.load(buf))
    for _ in range(3):
        fresh.zero_grad()
        loss_of(params).backward()
        fresh.step()
    # Loading casts floating state to the parameter's dtype, as PyTorch does: NAdam's mu_product
    # and ASGD's eta/mu continue in float64 instead of float32, a ~1e-9 relative difference.
    tol = 1e-7 if cls in (optim.NAdam, optim.ASGD) else 1e-12
    for a, b in zip(params, ref(rule, **kw)):
        np.testing.assert_allclose(a.detach().numpy(), b, rtol=tol, atol=tol * 1e-2)


def test_add_param_group_uses_its_own_hyper_parameters():
    p, q = make_params()
    opt = optim.Adamax([p], lr=0.01)
    opt.add_param_group({"params": [q], "lr": 0.002, "betas": (0.8, 0.9)})
    assert opt.param_groups[1]["eps"] == 1e-8  # defaults fill the rest
    for _ in range(5):
        opt.zero_grad()
        loss_of([p, q]).backward()
        opt.step()
    np.testing.assert_allclose(p.detach().numpy(), ref(adamax, lr=0.01)[0], rtol=1e-12)
    np.testing.assert_allclose(q.detach().numpy(), ref(adamax, lr=0.002, betas=(0.8, 0.9))[1], rtol=1e-12)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [p]})


def test_invalid_hyper_parameters():
    with pytest.raises(ValueError, match="Invalid rho"):
        optim.Adadelta(make_params(), rho=1.5)
    with pytest.raises(ValueError, match="beta parameter at index 1"):
        optim.NAdam(make_params(), betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="momentum_decay"):
        optim.NAdam(make_params(), momentum_decay=-1)


# -- LBFGS ------------------------------------------------------------------------------------


def _rosenbrock(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


@pytest.mark.parametrize("line_search", [None, "strong_wolfe"])
def test_lbfgs_solves_a_quadratic(line_search):
    rng = np.random.default_rng(0)
    m = rng.standard_normal((6, 6))
    a, b = m @ m.T + 6 * np.eye(6), rng.standard_normal(6)
    x = graphc.zeros(6, dtype=graphc.float64, requires_grad=True)
    opt = optim.LBFGS([x], lr=1 if line_search else 0.1, max_iter=200, line_search_fn=line_search,
                      tolerance_grad=1e-12, tolerance_change=1e-30)
    A, B = graphc.tensor(a), graphc.tensor(b)

    def closure():
        opt.zero_grad()
        loss = 0.5 * (x @ (A @ x)) - B @ x
        loss.backward()
        return loss

    for _ in range(20):  # each call stops when the loss no longer changes by tolerance_change
        opt.step(closure)
    np.testing.assert_allclose(x.detach().numpy(), np.linalg.solve(a, b), rtol=1e-7, atol=1e-9)
    assert opt.state[x]["func_evals"] >= opt.state[x]["n_iter"]


def test_lbfgs_strong_wolfe_minimizes_rosenbrock():
    x = graphc.tensor([-1.5, 2.0], dtype=graphc.float64, requires_grad=True)
    opt = optim.LBFGS([x], lr=1, max_iter=100, line_search_fn="strong_wolfe", history_size=10,
                      tolerance_grad=1e-12, tolerance_change=1e-20)

    def closure():
        opt.zero_grad()
        loss = _rosenbrock(x)
        loss.backward()
        return loss

    first = opt.step(closure)
    assert first.item() == pytest.approx(_rosenbrock(np.array([-1.5, 2.0])))
    for _ in range(3):
        opt.step(closure)
    np.testing.assert_allclose(x.detach().numpy(), [1.0, 1.0], atol=1e-6)


def test_lbfgs_errors_and_state_dict():
    x = graphc.zeros(2, dtype=graphc.float64, requires_grad=True)
    with pytest.raises(ValueError, match="parameter groups"):
        optim.LBFGS([{"params": [x]}, {"params": [graphc.zeros(1, requires_grad=True)]}])
    opt = optim.LBFGS([x], max_iter=3)
    with pytest.raises(RuntimeError, match="closure"):
        opt.step(None)
    with pytest.raises(RuntimeError, match="strong_wolfe"):
        optim.LBFGS([x], line_search_fn="backtracking").step(lambda: (x * x).sum())

    def closure():
        opt.zero_grad()
        loss = ((x - 3) ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    buf = io.BytesIO()
    graphc.save(opt.state_dict(), buf)
    buf.seek(0)
    again = optim.LBFGS([x], max_iter=3)
    again.load_state_dict(graphc.load(buf))
    assert isinstance(again.state[x]["d"], np.ndarray)
    np.testing.assert_array_equal(again.state[x]["d"], opt.state[x]["d"])
    assert again.state[x]["n_iter"] == opt.state[x]["n_iter"] > 0


# -- PyTorch, where installed -------------------------------------------------------------------


@pytest.mark.parametrize("cls, rule, kw", CASES, ids=IDS)
def test_against_pytorch(cls, rule, kw):
    torch = pytest.importorskip("torch")
    params = [torch.tensor(p.copy(), dtype=torch.float64, requires_grad=True) for p in P0]
    topt = getattr(torch.optim, cls.__name__)(params, **kw)
    for _ in range(5):
        topt.zero_grad()
        sum((p * torch.tensor(c)).sum() + (p**4).sum() / 4 + (p * p).sum() for p, c in zip(params, C)).backward()
        topt.step()
    got, _, _ = run(cls, **kw)
    for a, b in zip(got, params):
        np.testing.assert_allclose(a, b.detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kw", [dict(lr=1), dict(lr=0.5, line_search_fn="strong_wolfe"),
                                dict(lr=1, line_search_fn="strong_wolfe", history_size=2, max_iter=7)])
def test_lbfgs_against_pytorch(kw):
    torch = pytest.importorskip("torch")
    results = []
    for lib in (torch, graphc):
        params = [lib.tensor(p.copy(), dtype=lib.float64, requires_grad=True) for p in P0]
        opt = lib.optim.LBFGS(params, **kw)

        def closure():
            opt.zero_grad()
            loss = sum((p * lib.tensor(c)).sum() + (p**4).sum() / 4 + (p * p).sum() for p, c in zip(params, C))
            loss.backward()
            return loss

        for _ in range(3):
            opt.step(closure)
        results.append([p.detach().numpy().copy() for p in params])
    for a, b in zip(*results):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)
