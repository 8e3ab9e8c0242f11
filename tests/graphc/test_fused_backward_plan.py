"""The fused backward's per-signature plans (graphc.autograd.fused): a plan recorded on one
call must give the op-by-op engine's gradients on every later call of the same signature,
whatever tensors are aliased, keep the in-place checks, and the measured choice between the
two engines must follow its samples."""

import numpy as np
import pytest

import graphc
from graphc.autograd import fused
from ir.errors import AutogradError


def _chain(a, b):
    """A backward of well over fused.SMALL_GRAPH recorded ops; b's gradient flows through a*b."""
    y = a * b
    for _ in range(6):
        y = (y * 0.5 + b).tanh()
    return (y * y).sum()


def _grads(mode, monkeypatch, pairs):
    monkeypatch.setenv("GRAPHC_FUSED_BACKWARD", mode)
    monkeypatch.setattr(fused, "_CHOICES", {})
    out = []
    for a_np, b_np, same in pairs:
        a = graphc.tensor(a_np, requires_grad=True)
        b = a if same else graphc.tensor(b_np, requires_grad=True)
        _chain(a, b).backward()
        out.append((a.grad.numpy().copy(), None if same else b.grad.numpy().copy()))
    return out


def _scaled(w, c, d):
    """Saved tensors that need no grad (c, d): whether they are one tensor does not change the
    signature, only which graph inputs would coincide."""
    y = w * c
    for _ in range(5):
        y = (y * 0.5).tanh() * d
    return (y * y).sum()


@pytest.mark.parametrize("aliased_first", [True, False])
def test_a_plan_fits_calls_with_other_aliasing(monkeypatch, aliased_first):
    rng = np.random.default_rng(0)
    calls = []
    for k in range(4):
        w, c, d = (rng.standard_normal(5).astype(np.float32) for _ in range(3))
        calls.append((w, c, d, (k % 2 == 0) == aliased_first))

    def grads(mode):
        monkeypatch.setenv("GRAPHC_FUSED_BACKWARD", mode)
        monkeypatch.setattr(fused, "_CHOICES", {})
        out = []
        for w_np, c_np, d_np, aliased in calls:
            w = graphc.tensor(w_np, requires_grad=True)
            c = graphc.tensor(c_np)
            d = c if aliased else graphc.tensor(d_np)
            _scaled(w, c, d).backward()
            out.append(w.grad.numpy().copy())
        return out, len(fused._CHOICES)

    reference, _ = grads("0")
    got, signatures = grads("strict")
    assert signatures == 1  # every call ran the first call's plan
    for g, r in zip(got, reference):
        np.testing.assert_allclose(g, r, rtol=1e-5, atol=1e-6)
    assert not np.allclose(reference[0], reference[1])  # the calls differ: a stale input would show


def test_a_plan_hit_checks_saved_versions(monkeypatch):
    monkeypatch.setenv("GRAPHC_FUSED_BACKWARD", "strict")
    monkeypatch.setattr(fused, "_CHOICES", {})
    for step in range(3):
        a = graphc.ones(4, requires_grad=True)
        b = graphc.full((4,), 2.0)
        loss = _chain(a, b)
        if step == 2:  # the plan exists now: the hit must still see the in-place write
            b.add_(1.0)
            with pytest.raises(AutogradError, match="modified by an inplace operation"):
                loss.backward()
        else:
            loss.backward()


def test_measured_mode_gives_op_by_op_gradients_through_the_switch(monkeypatch):
    rng = np.random.default_rng(1)
    pairs = [(rng.standard_normal(5).astype(np.float32), rng.standard_normal(5).astype(np.float32), False) for _ in range(9)]
    reference = _grads("0", monkeypatch, pairs)
    got = _grads("1", monkeypatch, pairs)  # op by op, fused (compiles), alternating, then the faster
    for (ga, gb), (ra, rb) in zip(got, reference):
        np.testing.assert_allclose(ga, ra, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(gb, rb, rtol=1e-5, atol=1e-6)
    (choice,) = fused._CHOICES.values()
    assert len(choice.eager) == fused.SAMPLES and len(choice.fused) == fused.SAMPLES
    assert choice.use_fused is not None and choice.plan is not None


def test_choice_alternates_then_keeps_the_faster():
    c = fused.Choice()
    modes = []
    for eager_s, fused_s in [(5.0, 1.0), (4.0, 2.0), (6.0, 3.0)]:
        modes.append(c.wants_fused())
        c.record(False, eager_s)
        modes.append(c.wants_fused())
        c.record(True, fused_s)
    assert modes == [False, True] * 3
    assert c.use_fused is True and c.wants_fused()
    slow = fused.Choice()
    for _ in range(fused.SAMPLES):
        slow.record(False, 1.0)
        slow.record(True, 2.0)
    assert slow.use_fused is False and not slow.wants_fused()


def test_small_graphs_fuse_only_once_their_signature_is_warm(monkeypatch):
    """A two-op backward runs op by op for its signature's first WARM_CALLS calls (no compile),
    then as a program; the gradients are the op-by-op engine's throughout."""
    monkeypatch.setenv("GRAPHC_FUSED_BACKWARD", "always")
    monkeypatch.setattr(fused, "_CHOICES", {})
    monkeypatch.setattr(fused, "WARM_CALLS", 3)
    rng = np.random.default_rng(2)
    plans = []
    for _ in range(5):
        a_np = rng.standard_normal(4).astype(np.float32)
        w = graphc.ones(4, requires_grad=True)
        (w * graphc.tensor(a_np)).sum().backward()
        np.testing.assert_array_equal(w.grad.numpy(), a_np)
        (choice,) = fused._CHOICES.values()
        plans.append(choice.plan is not None)
    assert plans == [False, False, False, True, True]


def test_small_graphs_are_measured_after_warming_up(monkeypatch):
    monkeypatch.setenv("GRAPHC_FUSED_BACKWARD", "1")
    monkeypatch.setattr(fused, "_CHOICES", {})
    monkeypatch.setattr(fused, "WARM_CALLS", 4)
    w = graphc.ones(3, requires_grad=True)
    for _ in range(4 + 1 + 2 * fused.SAMPLES):  # warm-up, the compiling call, then alternating samples
        w.grad = None
        (w * 2).sum().backward()
        assert w.grad.tolist() == [2.0, 2.0, 2.0]
    (choice,) = fused._CHOICES.values()
    assert len(choice.fused) == fused.SAMPLES and len(choice.eager) >= fused.SAMPLES
    assert choice.use_fused is not None and choice.plan is not None
