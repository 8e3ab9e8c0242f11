"""Optimizer semantics from PyTorch 2.13 beyond the update rules: state for parameters added with
``add_param_group``, constructor argument checks (types and messages), and the step and
state-dict hooks. References are float64 numpy or hand-computed values, written here."""

from __future__ import annotations

import numpy as np
import pytest

import graphc
import graphc.optim as optim
from graphc.optim import optimizer as optimizer_module


def _param(values, dtype=np.float64):
    return graphc.nn.Parameter(graphc.from_numpy(np.array(values, dtype=dtype)))


def _grad(values, dtype=np.float64):
    return graphc.from_numpy(np.array(values, dtype=dtype))


# -- state of parameters added later ---------------------------------------------------------


def test_adagrad_steps_a_parameter_added_later():
    """float64 reference of Adagrad with lr_decay on the added parameter: its state is made at
    its first step, ``sum`` from the constructor's initial_accumulator_value (0.5), as PyTorch
    does, not from the group's own value."""
    a, b = _param([1.0, -2.0]), _param([0.5, 3.0])
    opt = optim.Adagrad([a], lr=0.1, lr_decay=0.01, initial_accumulator_value=0.5, eps=1e-10)
    opt.add_param_group({"params": [b], "initial_accumulator_value": 2.0})
    x, s = np.array([0.5, 3.0]), np.full(2, 0.5)
    grads = [np.array([1.0, -0.5]), np.array([0.25, 2.0]), np.array([-1.0, 0.75])]
    for t, g in enumerate(grads, 1):
        b.grad = _grad(g)
        opt.step()
        s = s + g * g
        x = x - 0.1 / (1 + (t - 1) * 0.01) * g / (np.sqrt(s) + 1e-10)
    np.testing.assert_allclose(b.detach().numpy(), x, rtol=1e-14)
    np.testing.assert_allclose(opt.state[b]["sum"].numpy(), s, rtol=1e-15)
    assert float(opt.state[b]["step"]) == 3.0
    assert float(opt.state[a]["step"]) == 0.0  # made in the constructor, never stepped


OPTIMIZERS = [
    (optim.SGD, {"lr": 0.1, "momentum": 0.9}),
    (optim.Adam, {"lr": 0.01, "amsgrad": True}),
    (optim.AdamW, {"lr": 0.01}),
    (optim.RMSprop, {"lr": 0.01, "momentum": 0.5, "centered": True}),
    (optim.Adagrad, {"lr": 0.1, "initial_accumulator_value": 0.1}),
    (optim.Adadelta, {"lr": 1.0}),
    (optim.Adamax, {"lr": 0.01}),
    (optim.NAdam, {"lr": 0.01}),
    (optim.RAdam, {"lr": 0.01}),
    (optim.ASGD, {"lr": 0.01, "t0": 1}),
    (optim.Rprop, {"lr": 0.01}),
    (optim.Adafactor, {"lr": 0.01}),
]


@pytest.mark.parametrize("cls, kw", OPTIMIZERS, ids=[c.__name__ for c, _ in OPTIMIZERS])
def test_a_parameter_added_later_follows_the_same_rule(cls, kw):
    """Two equal parameters with equal gradients, one given to the constructor and one added by
    ``add_param_group`` with the same options, end equal: no optimizer relies on state made in
    its constructor."""
    a, b = _param([1.0, -2.0, 0.5]), _param([1.0, -2.0, 0.5])
    opt = cls([a], **kw)
    opt.add_param_group({"params": [b]})
    for g in ([0.3, -1.0, 2.0], [0.1, 0.4, -0.2], [-0.5, 0.5, 1.5]):
        a.grad, b.grad = _grad(g), _grad(g)
        opt.step()
    np.testing.assert_array_equal(b.detach().numpy(), a.detach().numpy())
    assert not np.array_equal(a.detach().numpy(), [1.0, -2.0, 0.5])


# -- argument checks ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cls, kw, msg",
    [
        (optim.RMSprop, {"eps": -1}, "Invalid epsilon value: -1"),
        (optim.RMSprop, {"momentum": -1}, "Invalid momentum value: -1"),
        (optim.RMSprop, {"weight_decay": -1}, "Invalid weight_decay value: -1"),
        (optim.RMSprop, {"alpha": -1}, "Invalid alpha value: -1"),
        (optim.Adagrad, {"lr": -1}, "Invalid learning rate: -1"),
        (optim.Adagrad, {"lr_decay": -1}, "Invalid lr_decay value: -1"),
        (optim.Adagrad, {"weight_decay": -1}, "Invalid weight_decay value: -1"),
        (optim.Adagrad, {"initial_accumulator_value": -1}, "Invalid initial_accumulator_value value: -1"),
        (optim.Adagrad, {"eps": -1}, "Invalid epsilon value: -1"),
    ],
)
def test_negative_hyper_parameters(cls, kw, msg):
    with pytest.raises(ValueError, match="^" + msg + "$"):
        cls([_param([1.0])], **kw)


@pytest.mark.parametrize("cls", [optim.SGD, optim.Adam, optim.AdamW, optim.Adagrad])
def test_fused_conflicts(cls):
    with pytest.raises(RuntimeError, match="^`fused` and `foreach` cannot be `True` together.$"):
        cls([_param([1.0])], lr=0.1, foreach=True, fused=True)
    with pytest.raises(RuntimeError, match="^`fused` does not support `differentiable`$"):
        cls([_param([1.0])], lr=0.1, fused=True, differentiable=True)
    cls([_param([1.0])], lr=0.1, fused=False, foreach=True)  # only fused=True conflicts


@pytest.mark.parametrize(
    "cls, msg",
    [(optim.SGD, "'<' not supported between instances of 'str' and 'float'")]
    + [
        (c, "'<=' not supported between instances of 'float' and 'str'")
        for c in (optim.Adam, optim.AdamW, optim.RMSprop, optim.Adagrad, optim.Adadelta, optim.Adamax,
                  optim.NAdam, optim.RAdam, optim.ASGD, optim.LBFGS)
    ],
)
def test_string_learning_rate_is_a_type_error(cls, msg):
    """PyTorch compares the lr with 0 and lets Python's TypeError out."""
    with pytest.raises(TypeError, match="^" + msg + "$"):
        cls([_param([1.0])], lr="0.1")


# -- hooks -------------------------------------------------------------------------------------


def test_step_hooks_run_around_step_and_can_change_its_arguments():
    p = _param([1.0])
    opt = optim.SGD([p], lr=0.5)
    calls = []

    def pre(o, args, kwargs):
        calls.append(("pre", o is opt, args[0] is opt, len(args), dict(kwargs)))
        return args, {"closure": lambda: 7.0}

    h1 = opt.register_step_pre_hook(pre)
    h2 = opt.register_step_post_hook(lambda o, args, kwargs: calls.append(("post", float(p.detach().numpy()[0]))))
    p.grad = _grad([1.0])
    assert opt.step() == 7.0  # the pre-hook's closure ran
    assert calls == [("pre", True, True, 1, {}), ("post", 0.5)]
    h1.remove()
    h2.remove()
    opt.step()
    assert len(calls) == 2


def test_step_pre_hook_must_return_none_or_args_and_kwargs():
    opt = optim.Adam([_param([1.0])])
    opt.register_step_pre_hook(lambda o, args, kwargs: 3)
    with pytest.raises(RuntimeError, match="must return None or a tuple of"):
        opt.step()


def test_global_step_hooks_and_hooks_run_once_per_step():
    """Global hooks see every optimizer; a subclass whose step calls ``super().step()`` runs
    them once."""

    class Doubled(optim.SGD):
        def step(self, closure=None):
            return super().step(closure)

    seen = []
    h1 = optimizer_module.register_optimizer_step_pre_hook(lambda o, a, k: seen.append(("pre", type(o).__name__)))
    h2 = optimizer_module.register_optimizer_step_post_hook(lambda o, a, k: seen.append(("post", type(o).__name__)))
    try:
        Doubled([_param([1.0])], lr=0.1).step()
        optim.Adam([_param([1.0])]).step()
    finally:
        h1.remove()
        h2.remove()
    assert seen == [("pre", "Doubled"), ("post", "Doubled"), ("pre", "Adam"), ("post", "Adam")]


def test_state_dict_hooks():
    p = _param([1.0, 2.0])
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    order = []
    opt.register_state_dict_pre_hook(lambda o: order.append("pre"))
    opt.register_state_dict_pre_hook(lambda o: order.append("pre first"), prepend=True)

    def post(o, sd):
        order.append("post")
        sd["extra"] = 1
        return sd

    opt.register_state_dict_post_hook(post)
    sd = opt.state_dict()
    assert order == ["pre first", "pre", "post"] and sd["extra"] == 1

    fresh = optim.SGD([_param([1.0, 2.0])], lr=0.1, momentum=0.9)
    loaded = []

    def load_pre(o, sd):
        loaded.append(sorted(sd))
        return {**sd, "param_groups": [{**sd["param_groups"][0], "lr": 0.25}]}

    fresh.register_load_state_dict_pre_hook(load_pre)
    fresh.register_load_state_dict_post_hook(lambda o: loaded.append(o.param_groups[0]["lr"]))
    fresh.load_state_dict(sd)
    assert loaded == [["extra", "param_groups", "state"], 0.25]
    assert "extra" in sd  # the hook got a copy
