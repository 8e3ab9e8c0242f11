"""graphc.nn losses against float64 numpy references and finite differences."""

import math

import numpy as np
import pytest

import graphc
import graphc.nn as nn
import graphc.nn.functional as F
from graphc.autograd import gradcheck

RNG = np.random.default_rng(99)


def t64(*shape, requires_grad=True):
    return graphc.tensor(RNG.standard_normal(shape), dtype=graphc.float64, requires_grad=requires_grad)


def reduce_np(loss, reduction):
    return {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction]


def np_log_softmax(x, axis=1):
    m = x.max(axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis, keepdims=True))


def np_nll(logp, target, weight=None, ignore_index=-100, reduction="mean"):
    """logp (N, C, ...) and integer target (N, ...)."""
    c = logp.shape[1]
    moved = np.moveaxis(logp, 1, -1).reshape(-1, c)
    t = target.reshape(-1)
    w = np.ones(c) if weight is None else weight
    valid = t != ignore_index
    safe = np.where(valid, t, 0)
    wi = np.where(valid, w[safe], 0.0)
    loss = -moved[np.arange(len(t)), safe] * wi
    if reduction == "mean":
        return loss.sum() / wi.sum()
    if reduction == "sum":
        return loss.sum()
    return loss.reshape(target.shape)


def np_cross_entropy(x, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    logp = np_log_softmax(x, 1)
    c = x.shape[1]
    if np.issubdtype(target.dtype, np.floating):
        t = target * (1 - label_smoothing) + label_smoothing / c
        w = np.ones(c) if weight is None else weight
        loss = -(logp * t * w.reshape((1, c) + (1,) * (x.ndim - 2))).sum(1)
        return loss.sum() / (x.size / c) if reduction == "mean" else reduce_np(loss, reduction)
    nll = np_nll(logp, target, weight, ignore_index, reduction)
    if label_smoothing == 0:
        return nll
    w = np.ones(c) if weight is None else weight
    valid = target != ignore_index
    smooth = -(logp * w.reshape((1, c) + (1,) * (x.ndim - 2))).sum(1)
    smooth = np.where(valid, smooth, 0.0)
    if reduction == "mean":
        safe = np.where(valid, target, 0)
        smooth = smooth.sum() / np.where(valid, w[safe], 0).sum()
    elif reduction == "sum":
        smooth = smooth.sum()
    return (1 - label_smoothing) * nll + label_smoothing / c * smooth


# ----------------------------------------------------------------------------
# regression losses


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_regression_losses(reduction):
    x, y = t64(3, 4), t64(3, 4, requires_grad=False)
    a, b = x.detach().numpy(), y.numpy()
    d = a - b
    ad = np.abs(d)
    cases = [
        (F.mse_loss(x, y, reduction=reduction), reduce_np(d**2, reduction)),
        (nn.MSELoss(reduction=reduction)(x, y), reduce_np(d**2, reduction)),
        (F.l1_loss(x, y, reduction=reduction), reduce_np(ad, reduction)),
        (nn.L1Loss(reduction=reduction)(x, y), reduce_np(ad, reduction)),
        (
            F.smooth_l1_loss(x, y, reduction=reduction, beta=0.5),
            reduce_np(np.where(ad < 0.5, 0.5 * d**2 / 0.5, ad - 0.25), reduction),
        ),
        (
            F.huber_loss(x, y, reduction=reduction, delta=0.7),
            reduce_np(np.where(ad < 0.7, 0.5 * d**2, 0.7 * (ad - 0.35)), reduction),
        ),
    ]
    for got, ref in cases:
        np.testing.assert_allclose(got.detach().numpy(), ref, rtol=1e-12)


def test_regression_gradients_and_grad_fn():
    x, y = t64(2, 3), t64(2, 3, requires_grad=False)
    for fn in (F.mse_loss, F.l1_loss, lambda a, b: F.smooth_l1_loss(a, b, beta=0.5), F.huber_loss):
        assert gradcheck(lambda a: fn(a, y), (x,))
    loss = F.mse_loss(x, y)
    assert loss.grad_fn.name() == "MseLossBackward0"
    assert repr(loss.grad_fn).startswith("<MseLossBackward0 object at 0x")
    assert len(loss.grad_fn.next_functions) == 2
    assert loss.grad_fn.next_functions[0][0].name() == "AccumulateGrad"
    assert loss.grad_fn.next_functions[1][0] is None
    with pytest.warns(UserWarning, match="target size"):
        F.mse_loss(x, t64(3, requires_grad=False))
    assert repr(nn.MSELoss()) == "MSELoss()"


# ----------------------------------------------------------------------------
# classification losses


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("use_weight", [False, True])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
def test_cross_entropy_class_indices(reduction, use_weight, label_smoothing):
    x = t64(6, 5, requires_grad=False)
    target = graphc.tensor([0, 4, 2, -100, 1, 4])
    w = graphc.tensor(RNG.uniform(0.5, 2, 5), dtype=graphc.float64) if use_weight else None
    got = F.cross_entropy(x, target, weight=w, reduction=reduction, label_smoothing=label_smoothing)
    ref = np_cross_entropy(
        x.numpy(), target.numpy(), None if w is None else w.numpy(), -100, reduction, label_smoothing
    )
    np.testing.assert_allclose(got.numpy(), ref, rtol=1e-10)
    mod = nn.CrossEntropyLoss(weight=w, reduction=reduction, label_smoothing=label_smoothing)
    np.testing.assert_allclose(mod(x, target).numpy(), ref, rtol=1e-10)


def test_cross_entropy_kdim_prob_targets_and_ignore_index():
    x = t64(2, 4, 3, 2, requires_grad=False)
    target = graphc.tensor(RNG.integers(0, 4, (2, 3, 2)))
    np.testing.assert_allclose(
        F.cross_entropy(x, target).numpy(), np_cross_entropy(x.numpy(), target.numpy()), rtol=1e-10
    )
    probs = graphc.tensor(RNG.dirichlet(np.ones(4), size=5), dtype=graphc.float64)
    x2 = t64(5, 4, requires_grad=False)
    for ls in (0.0, 0.1):
        np.testing.assert_allclose(
            F.cross_entropy(x2, probs, label_smoothing=ls).numpy(),
            np_cross_entropy(x2.numpy(), probs.numpy(), label_smoothing=ls),
            rtol=1e-10,
        )
    t = graphc.tensor([1, 7, 7, 0, 3])
    np.testing.assert_allclose(
        F.cross_entropy(x2, t, ignore_index=7).numpy(),
        np_cross_entropy(x2.numpy(), t.numpy(), ignore_index=7),
        rtol=1e-10,
    )
    # unbatched: (C,) logits and a 0-d target
    x1 = t64(4, requires_grad=False)
    np.testing.assert_allclose(
        F.cross_entropy(x1, graphc.tensor(2)).numpy(), -np_log_softmax(x1.numpy()[None], 1)[0, 2], rtol=1e-12
    )


def test_cross_entropy_gradients_and_grad_fn():
    x = t64(4, 3)
    t = graphc.tensor([0, 2, 1, 2])
    w = graphc.tensor([0.5, 1.0, 2.0], dtype=graphc.float64)
    assert gradcheck(lambda a: F.cross_entropy(a, t, weight=w), (x,))
    assert gradcheck(lambda a: F.cross_entropy(a, t, label_smoothing=0.3, reduction="sum"), (x,))
    probs = graphc.tensor(RNG.dirichlet(np.ones(3), size=4), dtype=graphc.float64)
    assert gradcheck(lambda a: F.cross_entropy(a, probs), (x,))
    loss = F.cross_entropy(x, t)
    assert loss.grad_fn.name() == "NllLossBackward0"
    assert loss.grad_fn.next_functions[0][0].name() == "LogSoftmaxBackward0"
    # the gradient is softmax - onehot, averaged
    loss.backward()
    a = x.detach().numpy()
    sm = np.exp(a) / np.exp(a).sum(1, keepdims=True)
    np.testing.assert_allclose(x.grad.numpy(), (sm - np.eye(3)[t.numpy()]) / 4, rtol=1e-10)


def test_nll_loss():
    logp = graphc.tensor(np_log_softmax(RNG.standard_normal((5, 4))), dtype=graphc.float64, requires_grad=True)
    t = graphc.tensor([3, 0, -100, 1, 1])
    w = graphc.tensor([1.0, 2.0, 0.5, 1.5], dtype=graphc.float64)
    for reduction in ("mean", "sum", "none"):
        np.testing.assert_allclose(
            F.nll_loss(logp, t, weight=w, reduction=reduction).detach().numpy(),
            np_nll(logp.detach().numpy(), t.numpy(), w.numpy(), reduction=reduction),
            rtol=1e-12,
        )
        np.testing.assert_allclose(
            nn.NLLLoss(reduction=reduction)(logp, t).detach().numpy(),
            np_nll(logp.detach().numpy(), t.numpy(), reduction=reduction),
            rtol=1e-12,
        )
    assert gradcheck(lambda a: F.nll_loss(a, t, weight=w), (logp,))
    with pytest.raises(RuntimeError, match="Long"):
        F.nll_loss(logp, graphc.tensor([1.0, 0.0, 1.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="batch_size"):
        F.nll_loss(logp, graphc.tensor([1, 0]))


@pytest.mark.parametrize("dtype", [graphc.float32, graphc.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", [(6, 5), (3, 4, 2, 3), (5,)])
def test_nll_loss_without_ignored_targets_equals_the_masked_form_bit_for_bit(shape, reduction, dtype):
    """Eagerly, targets that are all classes (none ignored, no weights) take the short form;
    targets that could be ignored take the masked one. Both must give the same values and
    gradients, bit for bit, and match float64 numpy."""
    c = shape[1] if len(shape) > 1 else shape[0]
    tshape = (shape[0],) + shape[2:] if len(shape) > 1 else ()
    logits = RNG.standard_normal(shape)
    target = graphc.tensor(RNG.integers(0, c - 1, tshape))  # class c-1 never occurs

    def run(ignore_index):
        x = graphc.tensor(logits, dtype=dtype, requires_grad=True)
        loss = F.nll_loss(F.log_softmax(x, 0 if len(shape) == 1 else 1), target, ignore_index=ignore_index,
                          reduction=reduction)
        loss.sum().backward()
        return loss.detach().numpy(), x.grad.numpy(), loss.grad_fn

    plain, plain_grad, fn = run(-100)
    masked, masked_grad, _ = run(c - 1)  # an ignore_index that is a class: the masked form
    assert fn.name() == "NllLossBackward0"
    np.testing.assert_array_equal(plain, masked)
    np.testing.assert_array_equal(plain_grad, masked_grad)
    logp = np_log_softmax(logits[None] if len(shape) == 1 else logits)
    want = np_nll(logp, target.numpy().reshape(logp.shape[:1] + logp.shape[2:]), reduction=reduction)
    tol = 1e-6 if dtype is graphc.float32 else 1e-12
    np.testing.assert_allclose(plain, want.reshape(plain.shape), rtol=tol, atol=tol)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy(reduction):
    p = graphc.tensor(RNG.uniform(0.05, 0.95, (3, 4)), dtype=graphc.float64, requires_grad=True)
    y = graphc.tensor(RNG.integers(0, 2, (3, 4)).astype(float), dtype=graphc.float64)
    w = graphc.tensor(RNG.uniform(0.5, 2, (3, 4)), dtype=graphc.float64)
    a, b = p.detach().numpy(), y.numpy()
    ref = -(b * np.log(a) + (1 - b) * np.log(1 - a))
    np.testing.assert_allclose(
        F.binary_cross_entropy(p, y, reduction=reduction).detach().numpy(), reduce_np(ref, reduction), rtol=1e-12
    )
    np.testing.assert_allclose(
        nn.BCELoss(weight=w, reduction=reduction)(p, y).detach().numpy(),
        reduce_np(ref * w.numpy(), reduction),
        rtol=1e-12,
    )
    assert gradcheck(lambda q: F.binary_cross_entropy(q, y, reduction=reduction), (p,))
    # log is clamped at -100
    assert F.binary_cross_entropy(graphc.tensor([0.0]), graphc.tensor([1.0])).item() == pytest.approx(100.0)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_with_logits(reduction):
    x = t64(4, 3)
    y = graphc.tensor(RNG.uniform(0, 1, (4, 3)), dtype=graphc.float64)
    pw = graphc.tensor([0.5, 2.0, 3.0], dtype=graphc.float64)
    w = graphc.tensor(RNG.uniform(0.5, 2, (4, 3)), dtype=graphc.float64)
    a, b = x.detach().numpy(), y.numpy()
    sig = 1 / (1 + np.exp(-a))
    ref = -(b * np.log(sig) + (1 - b) * np.log(1 - sig))
    np.testing.assert_allclose(
        F.binary_cross_entropy_with_logits(x, y, reduction=reduction).detach().numpy(),
        reduce_np(ref, reduction),
        rtol=1e-10,
    )
    ref_pw = -(pw.numpy() * b * np.log(sig) + (1 - b) * np.log(1 - sig)) * w.numpy()
    got = nn.BCEWithLogitsLoss(weight=w, pos_weight=pw, reduction=reduction)(x, y)
    np.testing.assert_allclose(got.detach().numpy(), reduce_np(ref_pw, reduction), rtol=1e-10)
    assert gradcheck(lambda q: F.binary_cross_entropy_with_logits(q, y, w, reduction=reduction, pos_weight=pw), (x,))
    # stable for large logits
    big = F.binary_cross_entropy_with_logits(
        graphc.tensor([1000.0, -1000.0]), graphc.tensor([0.0, 1.0]), reduction="none"
    )
    np.testing.assert_allclose(big.numpy(), [1000.0, 1000.0])


def test_kl_div():
    logq = graphc.tensor(np_log_softmax(RNG.standard_normal((3, 4))), dtype=graphc.float64)
    p = graphc.tensor(RNG.dirichlet(np.ones(4), size=3), dtype=graphc.float64)
    ref = (p.numpy() * (np.log(p.numpy()) - logq.numpy())).sum() / 3
    np.testing.assert_allclose(F.kl_div(logq, p, reduction="batchmean").numpy(), ref, rtol=1e-12)
    np.testing.assert_allclose(
        nn.KLDivLoss(reduction="batchmean", log_target=True)(logq, p.log()).numpy(), ref, rtol=1e-12
    )


def test_loss_modules_and_errors():
    with pytest.raises(ValueError, match="not a valid value"):
        F.mse_loss(graphc.ones(2), graphc.ones(2), reduction="avg")
    ce = nn.CrossEntropyLoss()
    assert ce.ignore_index == -100 and ce.weight is None
    assert "weight" not in ce.state_dict()
    x = graphc.randn(8, 10, requires_grad=True)
    loss = ce(x, graphc.randint(0, 10, (8,)))
    loss.backward()
    assert loss.dtype == graphc.float32 and x.grad is not None
    assert math.isfinite(loss.item())
