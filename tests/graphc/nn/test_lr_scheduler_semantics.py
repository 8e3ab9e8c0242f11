"""Scheduler semantics PyTorch 2.13 defines and the closed forms alone do not pin down: resuming
with ``last_epoch=k`` (the constructor's step keeps the checkpoint's lr), SequentialLR's restarts
(``_update_lr(0)`` at a milestone, nested ChainedScheduler, ``milestones=[0]``),
ReduceLROnPlateau's groups added later and its argument checks, the state of callable
``lr_lambda`` objects, CyclicLR's momentum bounds in the groups, argument checks, and the
warning for ``scheduler.step()`` before ``optimizer.step()``.

References are the documented closed forms and hand-computed values, written here.
"""

from __future__ import annotations

import math
import warnings

import pytest

import graphc
import graphc.optim as optim
from graphc.optim import lr_scheduler as L

BASE = 0.1


def _opt(lr=BASE, groups=1):
    params = [graphc.zeros(2, requires_grad=True) for _ in range(groups)]
    return optim.SGD([{"params": [p]} for p in params], lr=lr, momentum=0.9)


def _step(opt, sched, n):
    """``n`` rounds of optimizer step then scheduler step; the lr of group 0 after each."""
    out = []
    for _ in range(n):
        opt.step()
        sched.step()
        out.append(opt.param_groups[0]["lr"])
    return out


# Each scheduler with, at base lr BASE, its closed form at epoch e (PyTorch's documentation) and
# its chainable step: the lr at epoch e from the lr before it (PyTorch's get_lr), for e <= 10.
SCHEDULES = {
    "exponential": (
        lambda o, k: L.ExponentialLR(o, 0.5, last_epoch=k),
        lambda e: BASE * 0.5**e,
        lambda lr, e: lr * 0.5,
    ),
    "cosine": (
        lambda o, k: L.CosineAnnealingLR(o, T_max=10, eta_min=0.01, last_epoch=k),
        lambda e: 0.01 + (BASE - 0.01) * (1 + math.cos(math.pi * e / 10)) / 2,
        lambda lr, e: 0.01 + (1 + math.cos(math.pi * e / 10)) / (1 + math.cos(math.pi * (e - 1) / 10)) * (lr - 0.01),
    ),
    "polynomial": (
        lambda o, k: L.PolynomialLR(o, total_iters=10, power=2.0, last_epoch=k),
        lambda e: BASE * (1 - e / 10) ** 2,
        lambda lr, e: lr * ((1 - e / 10) / (1 - (e - 1) / 10)) ** 2,
    ),
    "linear": (
        lambda o, k: L.LinearLR(o, start_factor=0.2, end_factor=0.9, total_iters=10, last_epoch=k),
        lambda e: BASE * (0.2 + 0.7 * e / 10),
        lambda lr, e: lr * (1 + 0.7 / (10 * 0.2 + (e - 1) * 0.7)),
    ),
    "multiplicative": (
        lambda o, k: L.MultiplicativeLR(o, lambda e: 0.9, last_epoch=k),
        lambda e: BASE * 0.9**e,
        lambda lr, e: lr * 0.9,
    ),
}


@pytest.mark.parametrize("name", sorted(SCHEDULES))
@pytest.mark.parametrize("k", [0, 3, 5])
def test_resume_with_last_epoch_keeps_the_checkpoint_lr(name, k):
    """The documented resume: the groups hold ``initial_lr`` and the lr reached at epoch ``k``;
    constructing with ``last_epoch=k`` counts the constructor's step (``last_epoch`` k + 1) but
    leaves that lr, and each later step applies the chainable rule to it."""
    make, closed, chain = SCHEDULES[name]
    opt = _opt()
    opt.param_groups[0]["initial_lr"] = BASE
    opt.param_groups[0]["lr"] = closed(k)
    sched = make(opt, k)
    assert opt.param_groups[0]["lr"] == closed(k)
    assert sched.get_last_lr() == [closed(k)]
    assert sched.last_epoch == k + 1
    want, lr = [], closed(k)
    for e in range(k + 2, k + 6):
        lr = chain(lr, e)
        want.append(lr)
    assert _step(opt, sched, 4) == pytest.approx(want, rel=1e-12)


def test_resume_continues_an_uninterrupted_run():
    """Stop an ExponentialLR run at epoch 5, resume from (initial_lr, lr, last_epoch): the
    remaining lrs are the uninterrupted run's, not one decay ahead."""
    opt = _opt()
    sched = L.ExponentialLR(opt, 0.8)
    _step(opt, sched, 5)
    lr5 = opt.param_groups[0]["lr"]
    opt2 = _opt()
    opt2.param_groups[0].update(initial_lr=BASE, lr=lr5)
    sched2 = L.ExponentialLR(opt2, 0.8, last_epoch=5)
    assert _step(opt2, sched2, 4) == pytest.approx([BASE * 0.8**e for e in range(6, 10)], rel=1e-12)


def test_multiplicative_step_zero_multiplies():
    """``step(0)`` is not the constructor's step: MultiplicativeLR (no closed form) multiplies."""
    opt = _opt()
    sched = L.MultiplicativeLR(opt, lambda e: 0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sched.step(0)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.09, rel=1e-15)


def test_sequential_switches_into_multiplicative():
    """At the milestone the next scheduler takes a real step: ConstantLR(0.5, 2) for epochs
    0..2, then x0.9 from epoch 3."""
    opt = _opt()
    sched = L.SequentialLR(opt, [L.ConstantLR(opt, 0.5, 2), L.MultiplicativeLR(opt, lambda e: 0.9)], milestones=[3])
    assert opt.param_groups[0]["lr"] == pytest.approx(0.05)
    assert _step(opt, sched, 5) == pytest.approx([0.05, 0.1, 0.09, 0.081, 0.0729], rel=1e-12)


def test_sequential_containing_a_chained_scheduler():
    """SequentialLR takes back the constructor steps of the schedulers inside a ChainedScheduler.
    By hand: x0.9 every epoch and x0.5 every 2nd, then at 4 LinearLR(0.5 -> 1 over 3)."""
    opt = _opt()
    chained = L.ChainedScheduler([L.ExponentialLR(opt, 0.9), L.StepLR(opt, 2, 0.5)])
    with warnings.catch_warnings():  # the chained schedulers step before the optimizer here, as in PyTorch
        warnings.simplefilter("ignore")
        sched = L.SequentialLR(opt, [chained, L.LinearLR(opt, 0.5, 1.0, 3)], milestones=[4])
    assert opt.param_groups[0]["lr"] == pytest.approx(0.09, rel=1e-12)
    want = [0.1 * 0.9**2, 0.1 * 0.9**3 * 0.5, 0.1 * 0.9**4 * 0.5, 0.05, 0.1 * 2 / 3, 0.1 * 5 / 6, 0.1, 0.1]
    assert _step(opt, sched, 8) == pytest.approx(want, rel=1e-12)


def test_sequential_with_milestone_zero_starts_the_second_scheduler():
    opt = _opt()
    sched = L.SequentialLR(opt, [L.ConstantLR(opt, 0.5, 2), L.ExponentialLR(opt, 0.9)], milestones=[0])
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1, rel=1e-15)
    assert _step(opt, sched, 3) == pytest.approx([0.09, 0.081, 0.0729], rel=1e-12)


# -- ReduceLROnPlateau -----------------------------------------------------------------


def test_plateau_is_an_lr_scheduler():
    opt = _opt()
    sched = L.ReduceLROnPlateau(opt)
    assert isinstance(sched, L.LRScheduler)
    assert sched.get_last_lr() == [BASE]
    sd = sched.state_dict()
    assert sd["default_min_lr"] == 0 and sd["mode_worse"] == math.inf and "optimizer" not in sd
    assert L.ReduceLROnPlateau(opt, mode="max").mode_worse == -math.inf


def test_plateau_covers_groups_added_later():
    opt = _opt()
    sched = L.ReduceLROnPlateau(opt, patience=0, min_lr=0.02)
    opt.add_param_group({"params": [graphc.zeros(1, requires_grad=True)], "lr": 0.3})
    sched.step(1.0)
    sched.step(2.0)  # worse: both groups cut by 10x, the first floored at min_lr
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([0.02, 0.03], rel=1e-15)
    assert sched.min_lrs == [0.02, 0.02]


def test_plateau_per_group_min_lr_cannot_widen():
    opt = _opt()
    sched = L.ReduceLROnPlateau(opt, patience=0, min_lr=[0.0])
    opt.add_param_group({"params": [graphc.zeros(1, requires_grad=True)]})
    sched.step(1.0)
    with pytest.raises(RuntimeError, match=r"number of param groups in the `optimizer` \(2\) differs"):
        sched.step(2.0)


@pytest.mark.parametrize(
    "kw, exc, msg",
    [
        ({"mode": "mn"}, ValueError, "mode mn is unknown!"),
        ({"threshold_mode": "foo"}, ValueError, "threshold mode foo is unknown!"),
        ({"min_lr": [0.0, 0.0]}, ValueError, "expected 1 min_lrs, got 2"),
        ({"factor": 1.0}, ValueError, "Factor should be < 1.0."),
    ],
)
def test_plateau_argument_errors(kw, exc, msg):
    with pytest.raises(exc, match="^" + msg.replace("(", r"\(").replace(")", r"\)") + "$"):
        L.ReduceLROnPlateau(_opt(), **kw)


def test_plateau_needs_an_optimizer():
    with pytest.raises(TypeError, match="^str is not an Optimizer$"):
        L.ReduceLROnPlateau("sgd")


def test_plateau_load_state_dict_checks_the_mode():
    sched = L.ReduceLROnPlateau(_opt())
    sd = sched.state_dict()
    sd["mode"] = "up"
    with pytest.raises(ValueError, match="mode up is unknown!"):
        sched.load_state_dict(sd)


# -- lr_lambda state, argument checks, CyclicLR's groups ---------------------------------


class _Warmup:
    """A stateful lr_lambda: PyTorch saves a callable object's ``__dict__``."""

    def __init__(self, k):
        self.k = k

    def __call__(self, epoch):
        return 1.0 / self.k


@pytest.mark.parametrize("cls", [L.LambdaLR, L.MultiplicativeLR])
def test_lambda_state_dict_keeps_callable_objects_state(cls):
    opt = _opt(groups=2)
    w = _Warmup(2)
    sched = cls(opt, [w, lambda e: 1.0])
    w.k = 10
    sd = sched.state_dict()
    assert sd["lr_lambdas"] == [{"k": 10}, None]
    w2 = _Warmup(2)
    fresh = cls(_opt(groups=2), [w2, lambda e: 1.0])
    fresh.load_state_dict(sd)
    assert w2.k == 10
    assert callable(fresh.lr_lambdas[1]) and "lr_lambdas" in sd  # functions kept, the dict untouched


def test_lambda_lr_follows_a_restored_callable():
    opt = _opt()
    w = _Warmup(4)
    sched = L.LambdaLR(opt, w)
    sd = sched.state_dict()
    w2 = _Warmup(1)
    sched2 = L.LambdaLR(_opt(), w2)
    sched2.load_state_dict(sd)
    sched2.optimizer.step()
    sched2.step()
    assert sched2.optimizer.param_groups[0]["lr"] == pytest.approx(BASE / 4, rel=1e-15)


@pytest.mark.parametrize("end", [1.5, -0.1])
def test_linear_end_factor_range(end):
    with pytest.raises(ValueError, match="^Ending multiplicative factor expected to be between 0 and 1.$"):
        L.LinearLR(_opt(), end_factor=end)


def test_multiplicative_needs_callables():
    with pytest.raises(TypeError, match="^lr_lambda should be a function, but got float$"):
        L.MultiplicativeLR(_opt(), 0.9)


def test_chained_scheduler_argument_errors():
    opt = _opt()
    with pytest.raises(ValueError, match="ChainedScheduler does not support `ReduceLROnPlateau`"):
        L.ChainedScheduler([L.ReduceLROnPlateau(opt)])
    with pytest.raises(TypeError, match=r"^ChainedScheduler at index 1 should have `optimizer` as its attribute.$"):
        L.ChainedScheduler([L.StepLR(opt, 2), 5])


@pytest.mark.parametrize("cls", [optim.SGD, optim.Adam])
def test_cyclic_writes_momentum_bounds_into_the_groups(cls):
    p, q = graphc.zeros(2, requires_grad=True), graphc.zeros(2, requires_grad=True)
    opt = cls([{"params": [p]}, {"params": [q]}], lr=0.1, **({"momentum": 0.9} if cls is optim.SGD else {}))
    L.CyclicLR(opt, 0.01, 0.1, step_size_up=4, base_momentum=[0.7, 0.75], max_momentum=[0.95, 0.9])
    assert [(g["base_momentum"], g["max_momentum"]) for g in opt.param_groups] == [(0.7, 0.95), (0.75, 0.9)]


# -- the step-order warning ----------------------------------------------------------


def test_warns_when_the_scheduler_steps_before_the_optimizer():
    opt = _opt()
    sched = L.StepLR(opt, 2)
    with pytest.warns(UserWarning, match=r"Detected call of `lr_scheduler.step\(\)` before `optimizer.step\(\)`"):
        sched.step()


def test_no_warning_in_the_right_order():
    opt = _opt()
    sched = L.StepLR(opt, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _step(opt, sched, 3)
