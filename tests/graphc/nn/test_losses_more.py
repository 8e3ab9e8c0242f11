"""The margin/embedding losses, Gaussian and Poisson NLL, CTC (against a brute-force sum over all
alignments) and linear_cross_entropy, against float64 numpy; gradients by finite differences."""

import itertools
import math

import numpy as np
import pytest

import graphc
import graphc.nn as nn
import graphc.nn.functional as F

from ._helpers import check_grad, close, compiled_matches, t64

RNG = np.random.default_rng(31)


def red(v, reduction):
    return {"mean": np.mean, "sum": np.sum, "none": lambda a: a}[reduction](v)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_pairwise_margin_losses(reduction):
    a, b = t64(RNG, 6, 4, requires_grad=True), t64(RNG, 6, 4, requires_grad=True)
    y = graphc.tensor(np.sign(RNG.standard_normal(6)), dtype=graphc.float64)
    an, bn, yn = a.detach().numpy(), b.detach().numpy(), y.numpy()
    close(F.margin_ranking_loss(a[:, 0], b[:, 0], y, 0.3, reduction=reduction),
          red(np.maximum(0, -yn * (an[:, 0] - bn[:, 0]) + 0.3), reduction))
    y4 = graphc.tensor(np.sign(RNG.standard_normal((6, 4))), dtype=graphc.float64)
    y4n = y4.numpy()
    close(F.hinge_embedding_loss(a, y4, 0.7, reduction=reduction),
          red(np.where(y4n == 1, an, np.maximum(0, 0.7 - an)), reduction))
    close(F.soft_margin_loss(a, y4, reduction=reduction), red(np.log1p(np.exp(-y4n * an)), reduction))
    cos = (an * bn).sum(1) / np.sqrt(((an**2).sum(1) + 1e-12) * ((bn**2).sum(1) + 1e-12))
    close(F.cosine_embedding_loss(a, b, y, 0.2, reduction=reduction),
          red(np.where(yn == 1, 1 - cos, np.maximum(0, cos - 0.2)), reduction))
    check_grad(lambda u, v: F.cosine_embedding_loss(u, v, y, 0.2, reduction=reduction), a, b)
    check_grad(lambda u: F.soft_margin_loss(u, y4, reduction=reduction), a)


@pytest.mark.parametrize("swap", [False, True])
def test_triplet_losses(swap):
    a, p, n = (t64(RNG, 5, 3, requires_grad=True) for _ in range(3))
    an, pn, nn_ = (t.detach().numpy() for t in (a, p, n))

    def dist(u, v, q=2):
        return (np.abs(u - v + 1e-6) ** q).sum(-1) ** (1 / q)

    dneg = np.minimum(dist(an, nn_, 3), dist(pn, nn_, 3)) if swap else dist(an, nn_, 3)
    close(F.triplet_margin_loss(a, p, n, 1.5, 3, swap=swap), np.maximum(dist(an, pn, 3) - dneg + 1.5, 0).mean())
    l1 = lambda u, v: (u - v).abs().sum(-1)  # noqa: E731
    d = lambda u, v: np.abs(u - v).sum(-1)  # noqa: E731
    dneg = np.minimum(d(an, nn_), d(pn, nn_)) if swap else d(an, nn_)
    close(F.triplet_margin_with_distance_loss(a, p, n, distance_function=l1, margin=2.0, swap=swap, reduction="sum"),
          np.maximum(d(an, pn) - dneg + 2.0, 0).sum())
    check_grad(lambda u, v, w: F.triplet_margin_loss(u, v, w, swap=swap), a, p, n)
    m = nn.TripletMarginWithDistanceLoss()
    assert repr(m) == "TripletMarginWithDistanceLoss(\n  (distance_function): PairwiseDistance()\n)"


@pytest.mark.parametrize("p", [1, 2])
def test_multi_margin_loss(p):
    x = t64(RNG, 4, 5, requires_grad=True)
    t = graphc.tensor([0, 3, 4, 3])
    w = graphc.tensor(RNG.random(5), dtype=graphc.float64)
    xn, tn, wn = x.detach().numpy(), t.numpy(), w.numpy()
    ref = np.zeros(4)
    for i in range(4):
        for j in range(5):
            if j != tn[i]:
                ref[i] += wn[tn[i]] * max(0, 0.8 - xn[i, tn[i]] + xn[i, j]) ** p
    ref /= 5
    close(F.multi_margin_loss(x, t, p, 0.8, w, reduction="none"), ref)
    close(F.multi_margin_loss(x[0], t[0], p, 0.8, w), ref[0])
    check_grad(lambda u: F.multi_margin_loss(u, t, p, 0.8, w), x)


def test_multilabel_losses():
    x = t64(RNG, 3, 4, requires_grad=True)
    t = graphc.tensor([[3, 0, -1, 1], [1, 1, 2, -1], [0, 1, 2, 3]])
    xn = x.detach().numpy()
    ref = []
    for i, row in enumerate(t.numpy()):
        ys = []
        for v in row:
            if v == -1:
                break
            ys.append(v)
        s = sum(max(0, 1 - (xn[i, j] - xn[i, k])) for j in ys for k in range(4) if k not in ys)
        ref.append(s / 4)
    close(F.multilabel_margin_loss(x, t, reduction="none"), np.array(ref))
    check_grad(lambda u: F.multilabel_margin_loss(u, t), x)
    y = graphc.tensor((RNG.random((3, 4)) > 0.5) * 1.0, dtype=graphc.float64)
    w = graphc.tensor(RNG.random(4), dtype=graphc.float64)
    sig = 1 / (1 + np.exp(-xn))
    per = -(y.numpy() * np.log(sig) + (1 - y.numpy()) * np.log(1 - sig)) * w.numpy()
    close(F.multilabel_soft_margin_loss(x, y, w, reduction="none"), per.mean(1))
    check_grad(lambda u: F.multilabel_soft_margin_loss(u, y), x)


@pytest.mark.parametrize("full", [False, True])
def test_gaussian_and_poisson_nll(full):
    x, t = t64(RNG, 4, 3, requires_grad=True), t64(RNG, 4, 3)
    var = graphc.tensor(RNG.random((4, 3)) + 0.1, dtype=graphc.float64, requires_grad=True)
    xn, tn, vn = x.detach().numpy(), t.numpy(), var.detach().numpy()
    ref = 0.5 * (np.log(vn) + (xn - tn) ** 2 / vn) + (0.5 * math.log(2 * math.pi) if full else 0)
    close(F.gaussian_nll_loss(x, t, var, full=full, reduction="none"), ref)
    v1 = var[:, :1]
    ref1 = 0.5 * (np.log(vn[:, :1]) + (xn - tn) ** 2 / vn[:, :1]) + (0.5 * math.log(2 * math.pi) if full else 0)
    close(F.gaussian_nll_loss(x, t, v1, full=full), ref1.mean())
    close(F.gaussian_nll_loss(x, t, var[:, 0], full=full), ref1.mean())  # (N,) var: one per sample
    tiny = graphc.full((4, 3), 1e-9, dtype=graphc.float64)
    close(F.gaussian_nll_loss(x, t, tiny, eps=1e-3), (0.5 * (np.log(1e-3) + (xn - tn) ** 2 / 1e-3)).mean())
    check_grad(lambda u, v: F.gaussian_nll_loss(u, t, v, full=full), x, var)
    with pytest.raises(ValueError, match="var is of incorrect size"):
        F.gaussian_nll_loss(x, t, var[:2])
    counts = graphc.tensor(RNG.poisson(2.0, (4, 3)).astype(float), dtype=graphc.float64)
    cn = counts.numpy()
    stirling = np.where(cn > 1, cn * np.log(np.maximum(cn, 1)) - cn + 0.5 * np.log(2 * math.pi * np.maximum(cn, 1)), 0)
    ref = np.exp(xn) - cn * xn + (stirling if full else 0)
    close(F.poisson_nll_loss(x, counts, full=full, reduction="none"), ref)
    pos = x.detach().abs()
    ref = pos.numpy() - cn * np.log(pos.numpy() + 1e-8) + (stirling if full else 0)
    close(F.poisson_nll_loss(pos, counts, log_input=False, full=full, reduction="sum"), ref.sum())



@pytest.mark.parametrize("dtype", [graphc.float32, graphc.float64])
def test_gaussian_nll_at_an_infinite_and_a_clamped_variance(dtype):
    # PyTorch: an infinite variance is an infinite loss with zero gradients; below eps the
    # variance is eps in value and the identity in gradient; NaN passes through
    x = graphc.tensor([0.5, 0.5, 1.0, 2.0], dtype=dtype, requires_grad=True)
    t = graphc.tensor([0.5, 0.0, 0.0, 1.0], dtype=dtype)
    var = graphc.tensor([math.inf, math.inf, 1e-9, float("nan")], dtype=dtype, requires_grad=True)
    loss = F.gaussian_nll_loss(x, t, var, eps=1e-3, reduction="none")
    loss.backward(graphc.ones(4, dtype=dtype))
    d = np.array([0.5, 0.5, 1.0, 2.0]) - np.array([0.5, 0.0, 0.0, 1.0])
    want = [math.inf, math.inf, 0.5 * (math.log(1e-3) + 1.0 / 1e-3), math.nan]
    np.testing.assert_allclose(loss.detach().numpy(), want, rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 0.0, d[2] / 1e-3, math.nan], rtol=1e-6)
    np.testing.assert_allclose(var.grad.numpy(), [0.0, 0.0, 0.5 * (1 / 1e-3 - 1 / 1e-6), math.nan], rtol=1e-5)
    compiled_matches(lambda u, v: F.gaussian_nll_loss(u, t, v, eps=1e-3, reduction="none"), x, var)


def test_gaussian_nll_rejects_a_negative_variance_tensor():
    x = graphc.zeros(3)
    with pytest.raises(ValueError, match="var has negative entry"):
        F.gaussian_nll_loss(x, x, graphc.tensor([1.0, -0.5, 2.0]))
    F.gaussian_nll_loss(x, x, graphc.tensor([1.0, float("nan"), 2.0]))  # NaN is not negative: no error

def ctc_brute_force(lp, target, T, blank=0):
    """-log of the sum over every length-T path that collapses to ``target`` (repeats merged, blanks dropped)."""
    c = lp.shape[-1]
    total = 0.0
    for path in itertools.product(range(c), repeat=T):
        collapsed = [k for k, _ in itertools.groupby(path) if k != blank]
        if collapsed == list(target):
            total += math.exp(sum(lp[t, path[t]] for t in range(T)))
    return -math.log(total) if total > 0 else math.inf


def test_ctc_loss_against_all_alignments():
    T, N, C = 5, 3, 3
    logits = t64(RNG, T, N, C, requires_grad=True)
    lp = F.log_softmax(logits, 2)
    targets = graphc.tensor([[1, 1, 0], [2, 1, 2], [1, 0, 0]])
    in_len, tg_len = graphc.tensor([5, 4, 3]), graphc.tensor([2, 3, 0])
    lpn = lp.detach().numpy()
    ref = np.array([ctc_brute_force(lpn[: int(in_len[b]), b], targets.numpy()[b, : int(tg_len[b])], int(in_len[b]))
                    for b in range(N)])
    close(F.ctc_loss(lp, targets, in_len, tg_len, reduction="none"), ref, atol=1e-8)
    close(F.ctc_loss(lp, targets, in_len, tg_len), (ref / np.maximum(tg_len.numpy(), 1)).mean(), atol=1e-8)
    flat = graphc.tensor([1, 1, 2, 1, 2])
    close(F.ctc_loss(lp, flat, (5, 4, 3), (2, 3, 0), reduction="sum"), ref.sum(), atol=1e-8)
    check_grad(lambda z: F.ctc_loss(F.log_softmax(z, 2), targets, in_len, tg_len), logits)
    # an impossible alignment (3 labels, 2 frames): inf, or 0 with zero_infinity
    short = graphc.tensor([2, 4, 3])
    out = F.ctc_loss(lp, targets, short, graphc.tensor([3, 3, 0]), reduction="none")
    assert math.isinf(float(out[0])) and np.isfinite(out.detach().numpy()[1:]).all()
    zi = F.ctc_loss(lp, targets, short, graphc.tensor([3, 3, 0]), reduction="none", zero_infinity=True)
    assert float(zi[0]) == 0.0
    assert repr(nn.CTCLoss()) == "CTCLoss()"


def test_linear_cross_entropy():
    x, w, b = t64(RNG, 7, 4, requires_grad=True), t64(RNG, 5, 4, requires_grad=True), t64(RNG, 5)
    t = graphc.tensor([0, 4, -100, 2, 2, 1, 3])
    ref = F.cross_entropy(F.linear(x, w, b), t, reduction="none")
    close(F.linear_cross_entropy(x, w, t, linear_bias=b, reduction="none"), ref)
    opts = nn.LinearCrossEntropyOptions(batch_chunk_size=3)
    for reduction in ("mean", "sum", "none"):
        close(F.linear_cross_entropy(x, w, t, linear_bias=b, reduction=reduction, options=opts),
              F.cross_entropy(F.linear(x, w, b), t, reduction=reduction), atol=1e-12)
    wk = t64(RNG, 5, 2, 4)
    tk = graphc.tensor(RNG.integers(0, 5, (7, 2)))
    logits = (x.detach().numpy() @ wk.numpy().reshape(10, 4).T).reshape(7, 5, 2)
    close(F.linear_cross_entropy(x, wk, tk), F.cross_entropy(graphc.tensor(logits), tk))
    check_grad(lambda u, v: F.linear_cross_entropy(u, v, t, options=opts), x, w)
    with pytest.raises(RuntimeError, match="in_features"):
        F.linear_cross_entropy(x, t64(RNG, 5, 3), t)


def test_compiled_losses():
    logits = t64(RNG, 4, 2, 3, requires_grad=True)
    targets, il, tl = graphc.tensor([[1, 2], [2, 2]]), graphc.tensor([4, 3]), graphc.tensor([2, 1])
    compiled_matches(lambda z: F.ctc_loss(F.log_softmax(z, 2), targets, il, tl), logits, atol=1e-8)
    a, b = t64(RNG, 3, 4, requires_grad=True), t64(RNG, 3, 4, requires_grad=True)
    compiled_matches(lambda u, v: F.triplet_margin_loss(u, v, v * 2), a, b)


@pytest.mark.parametrize("xshape, vshape", [
    ((2, 3, 4, 4), (2, 1, 4, 4)),  # one variance per pixel, shared across channels
    ((4, 5), (1, 5)),
    ((2, 3, 4), (1, 3, 4)),
    ((4, 5), (4,)),  # one fewer trailing dim: one variance per sample
    ((4, 5), (4, 1)),
    ((5,), ()),  # the 1-d input's shape less its last dim is ()
])
def test_gaussian_nll_accepts_pytorchs_var_shapes(xshape, vshape):
    x, t = RNG.standard_normal(xshape), RNG.standard_normal(xshape)
    v = RNG.random(vshape) + 0.1
    vb = v.reshape(vshape + (1,)) if vshape == xshape[:-1] else v
    want = (0.5 * (np.log(vb) + (x - t) ** 2 / vb)).mean()
    close(F.gaussian_nll_loss(graphc.tensor(x), graphc.tensor(t), graphc.tensor(v)), want)


@pytest.mark.parametrize("xshape, vshape", [
    ((4, 5), ()),  # a 0-d var tensor (a number is fine)
    ((4, 5), (5,)),
    ((2, 3, 4), (2, 1, 1)),  # two dims of size 1
    ((4, 5), (4, 5, 1)),
    ((4, 5), (2, 5)),
])
def test_gaussian_nll_rejects_other_var_shapes(xshape, vshape):
    x = graphc.zeros(*xshape)
    with pytest.raises(ValueError, match="var is of incorrect size"):
        F.gaussian_nll_loss(x, x, graphc.ones(*vshape))
    with pytest.raises(ValueError, match="bad is not valid"):
        F.gaussian_nll_loss(x, x, graphc.ones(*xshape), reduction="bad")


def test_pytorchs_argument_errors():
    """Arguments PyTorch refuses (its exception types and messages) instead of a number."""
    x = graphc.tensor(RNG.random((3, 4)))
    for delta in (0.0, -1.0):
        with pytest.raises(RuntimeError, match="huber_loss does not support non-positive values for delta"):
            F.huber_loss(x, x, delta=delta)
    with pytest.raises(RuntimeError, match="expected target dtype to be Long or Byte, but got Int"):
        F.cross_entropy(x, graphc.tensor([0, 1, 2], dtype=graphc.int32))
    with pytest.raises(RuntimeError, match="expected target dtype to be Long or Byte, but got Short"):
        F.nll_loss(x, graphc.tensor([0, 1, 2], dtype=graphc.int16))
    close(F.cross_entropy(x, graphc.tensor([0, 1, 2], dtype=graphc.uint8)),
          F.cross_entropy(x, graphc.tensor([0, 1, 2])))  # Byte is allowed
    with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
        F.cross_entropy(graphc.ones(3, 4, dtype=graphc.int64), graphc.tensor([0, 1, 2]))
    with pytest.raises(RuntimeError, match="Found dtype Long but expected Double"):
        F.binary_cross_entropy(x, graphc.ones(3, 4, dtype=graphc.int64))
    with pytest.raises(RuntimeError, match="Found dtype Float but expected Double"):
        F.binary_cross_entropy(x, graphc.ones(3, 4, dtype=graphc.float32))
    F.binary_cross_entropy(x, x, weight=graphc.ones(3, 4, dtype=graphc.float32))  # the weight may differ
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type Long"):
        F.binary_cross_entropy_with_logits(x, graphc.ones(3, 4, dtype=graphc.int64))
    F.binary_cross_entropy_with_logits(x, graphc.ones(3, 4, dtype=graphc.float32))  # another float is fine
    t = graphc.tensor(np.sign(RNG.standard_normal((3, 4))), requires_grad=True)
    with pytest.raises(RuntimeError, match="not differentiable with respect to argument 'target'"):
        F.soft_margin_loss(x, t)
    with graphc.no_grad():
        F.soft_margin_loss(x, t)


def test_ctc_loss_length_errors():
    lp = F.log_softmax(t64(RNG, 5, 2, 4), 2)
    tg = graphc.tensor([[1, 2], [3, 3]])
    where = r"\(while checking arguments for ctc_loss_allocate_outputs\)"
    with pytest.raises(RuntimeError, match="Expected input_lengths to have value at most 5, but got value 6 " + where):
        F.ctc_loss(lp, tg, [6, 5], [2, 2])
    with pytest.raises(RuntimeError, match="Expected input_lengths to have value at most 5"):
        F.ctc_loss(lp, tg, graphc.tensor([6, 5]), graphc.tensor([2, 2]))
    with pytest.raises(RuntimeError, match="Expected input_lengths to have value at least 0, but got value -1"):
        F.ctc_loss(lp, tg, [-1, 5], [2, 2])
    with pytest.raises(RuntimeError, match="Expected target_lengths to have value at least 0, but got value -1"):
        F.ctc_loss(lp, tg, [5, 5], [-1, 2])
    with pytest.raises(RuntimeError, match="Expected tensor to have size at least 3 at dimension 1, but got size 2"):
        F.ctc_loss(lp, tg, [5, 5], [3, 2])
