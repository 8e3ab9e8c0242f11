"""rms_norm, instance_norm, local_response_norm, distances, shrinks, rrelu, alpha dropout, pad with
negative amounts, embedding max_norm/scale_grad_by_freq and embedding_bag, against float64 numpy."""

import numpy as np
import pytest

import graphc
import graphc.nn as nn
import graphc.nn.functional as F

from ._helpers import check_grad, close, compiled_matches, t64

RNG = np.random.default_rng(77)


def test_rms_norm():
    x, w = t64(RNG, 3, 4, 5, requires_grad=True), t64(RNG, 4, 5, requires_grad=True)
    xs = x.detach().numpy()
    ref = xs / np.sqrt((xs**2).mean((1, 2), keepdims=True) + 1e-3) * w.detach().numpy()
    close(F.rms_norm(x, (4, 5), w, eps=1e-3), ref)
    x32 = x.detach().float()
    ref32 = xs / np.sqrt((xs**2).mean(-1, keepdims=True) + np.finfo(np.float32).eps)
    close(F.rms_norm(x32, 5), ref32, atol=1e-5, rtol=1e-5)  # eps defaults to the dtype's epsilon
    check_grad(lambda a, b: F.rms_norm(a, (4, 5), b), x, w)
    m = nn.RMSNorm(5)
    assert repr(m) == "RMSNorm((5,), eps=None, elementwise_affine=True)" and list(m.state_dict()) == ["weight"]


def test_instance_norm_and_running_stats():
    x = t64(RNG, 3, 4, 5, 6)
    rm, rv = graphc.zeros(4, dtype=graphc.float64), graphc.ones(4, dtype=graphc.float64)
    w, b = t64(RNG, 4), t64(RNG, 4)
    out = F.instance_norm(x, rm, rv, w, b, momentum=0.2, eps=1e-5)
    xs = x.numpy()
    mu, var = xs.mean((2, 3), keepdims=True), xs.var((2, 3), keepdims=True)
    close(out, (xs - mu) / np.sqrt(var + 1e-5) * w.numpy()[:, None, None] + b.numpy()[:, None, None])
    close(rm, 0.2 * mu.reshape(3, 4).mean(0))
    close(rv, 0.8 + 0.2 * (xs.var((2, 3), ddof=1)).mean(0))
    ev = F.instance_norm(x, rm, rv, use_input_stats=False)
    close(ev, (xs - rm.numpy()[:, None, None]) / np.sqrt(rv.numpy()[:, None, None] + 1e-5))
    m = nn.InstanceNorm2d(4, affine=True, track_running_stats=True)
    assert list(m.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert repr(nn.InstanceNorm1d(3)) == "InstanceNorm1d(3, eps=1e-05, momentum=0.1, affine=False, bias=False, track_running_stats=False)"
    close(nn.InstanceNorm1d(4)(x[0].reshape(4, 30)), F.instance_norm(x[0].reshape(1, 4, 30))[0])
    check_grad(lambda a: F.instance_norm(a), t64(RNG, 2, 2, 3, requires_grad=True))


@pytest.mark.parametrize("size", [1, 2, 3, 4])
def test_local_response_norm(size):
    x = t64(RNG, 2, 5, 3, 2)
    xs = x.numpy()
    sq = np.pad(xs**2, ((0, 0), (size // 2, (size - 1) // 2), (0, 0), (0, 0)))
    div = np.stack([sq[:, c : c + size].sum(1) for c in range(5)], 1) / size
    close(F.local_response_norm(x, size, 0.1, 0.6, 2.0), xs / (2.0 + 0.1 * div) ** 0.6)
    check_grad(lambda a: F.local_response_norm(a, size), t64(RNG, 1, 4, 2, requires_grad=True))


def test_distances():
    a, b = t64(RNG, 5, 4, requires_grad=True), t64(RNG, 5, 4, requires_grad=True)
    d = a.detach().numpy() - b.detach().numpy() + 1e-6
    for p in (1.0, 2.0, 3.5):
        close(F.pairwise_distance(a, b, p), (np.abs(d) ** p).sum(-1) ** (1 / p))
    close(F.pairwise_distance(a, b, float("inf")), np.abs(d).max(-1))
    xs = a.detach().numpy()
    i, j = np.triu_indices(5, 1)
    close(F.pdist(a), np.sqrt(((xs[i] - xs[j]) ** 2).sum(-1)))
    close(F.pdist(a, 1), np.abs(xs[i] - xs[j]).sum(-1))
    check_grad(lambda u, v: F.pairwise_distance(u, v, 3), a, b)
    check_grad(lambda u: F.pdist(u), a)
    dup = graphc.tensor([[1.0, 2.0], [1.0, 2.0], [0.0, 1.0]], dtype=graphc.float64, requires_grad=True)
    F.pdist(dup).sum().backward()
    assert np.isfinite(dup.grad.numpy()).all()  # equal rows: gradient 0, not NaN
    assert repr(nn.PairwiseDistance()) == "PairwiseDistance()"


def test_distances_p0_count_with_zero_gradient():
    """p = 0 counts the nonzero differences; the result stays in the graph with gradient 0, as
    PyTorch's (it had no grad_fn, so backward() raised)."""
    x = graphc.tensor([0.0, 1.0, 2.0, float("inf")], dtype=graphc.float64, requires_grad=True)
    y = F.pairwise_distance(x, x * 0.5, p=0.0, eps=0.0)
    assert y.requires_grad and y.grad_fn is not None
    close(y, 3.0)
    y.backward()
    close(x.grad, np.zeros(4))
    a = graphc.tensor([[0.0, 1.0], [0.0, 3.0], [2.0, 1.0]], dtype=graphc.float64, requires_grad=True)
    z = F.pdist(a, p=0)
    close(z, [1.0, 1.0, 2.0])
    z.sum().backward()
    close(a.grad, np.zeros((3, 2)))
    close(nn.PairwiseDistance(p=0.0, eps=0.0)(a, a * 2), [1.0, 1.0, 2.0])


def _pnorm_grad_ref(d, p):
    """d/dd of (sum_k |d_k|^p)^(1/p) over the last axis, float64, 0 where d_k = 0 (PyTorch's
    choice: |d|^p has an infinite slope there for p < 1) and where the whole sum is 0."""
    a = np.abs(d)
    s = (a**p).sum(-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(a == 0, 0.0, s ** (1 / p - 1) * np.where(a == 0, 1.0, a) ** (p - 1) * np.sign(d))
    return np.where(s == 0, 0.0, g)


@pytest.mark.parametrize("p", [0.5, 0.3])
def test_distances_below_p_1_have_zero_gradients_at_equal_coordinates(p):
    """cdist, pdist, pairwise_distance and dist with p < 1 gave NaN gradients where two points
    share a coordinate (0 * inf in |d|^p's derivative); PyTorch gives 0 there."""
    xs = np.array([[0.0, 1.0], [0.0, 2.0], [1.5, -1.0]])
    ys = np.array([[0.0, 1.0], [2.0, 1.0]])
    a = graphc.tensor(xs, dtype=graphc.float64, requires_grad=True)
    graphc.cdist(a, graphc.tensor(ys, dtype=graphc.float64), p=p).sum().backward()
    d = xs[:, None, :] - ys[None, :, :]
    close(a.grad, _pnorm_grad_ref(d, p).sum(1))
    a.grad = None
    F.pdist(a, p=p).sum().backward()
    i, j = np.triu_indices(3, 1)
    g = _pnorm_grad_ref(xs[i] - xs[j], p)
    want = np.zeros_like(xs)
    np.add.at(want, i, g)
    np.add.at(want, j, -g)
    close(a.grad, want)
    a.grad = None
    F.pairwise_distance(a[:2], graphc.tensor(ys, dtype=graphc.float64), p=p, eps=0.0).sum().backward()
    close(a.grad[:2], _pnorm_grad_ref(xs[:2] - ys, p))
    v = graphc.tensor([0.0, 1.0, -2.0], dtype=graphc.float64, requires_grad=True)
    graphc.dist(v, graphc.zeros(3, dtype=graphc.float64), p=p).backward()
    close(v.grad, _pnorm_grad_ref(np.array([0.0, 1.0, -2.0]), p))


def test_shrinks_and_rrelu():
    x = t64(RNG, 50)
    xs = x.numpy()
    close(F.hardshrink(x, 0.4), np.where(np.abs(xs) > 0.4, xs, 0))
    close(F.softshrink(x, 0.4), np.where(xs > 0.4, xs - 0.4, np.where(xs < -0.4, xs + 0.4, 0)))
    close(F.rrelu(x, 0.1, 0.3), np.where(xs >= 0, xs, xs * 0.2))
    y = F.rrelu(x, 0.1, 0.3, training=True).numpy()
    slope = y[xs < 0] / xs[xs < 0]
    assert (slope >= 0.1).all() and (slope <= 0.3).all() and len(np.unique(slope)) > 1
    np.testing.assert_array_equal(y[xs >= 0], xs[xs >= 0])
    assert repr(nn.Hardshrink()) == "Hardshrink(0.5)" and repr(nn.RReLU()) == "RReLU(lower=0.125, upper=0.3333333333333333)"
    with pytest.raises(RuntimeError, match="lambda must be greater or equal to 0"):
        F.softshrink(x, -1.0)


def test_alpha_dropout_keeps_selu_statistics():
    graphc.manual_seed(3)
    x = graphc.randn(200000)
    y = F.alpha_dropout(x, 0.2, training=True).numpy()
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1.0) < 0.02
    assert len(np.unique(np.round(y[np.isclose(y, y.min())], 5))) == 1  # every dropped unit takes one value
    close(F.alpha_dropout(x, 0.2, training=False), x)
    f = F.feature_alpha_dropout(graphc.ones(4, 30, 5), 0.5, training=True).numpy()
    assert (f.std(-1) < 1e-6).all()  # whole channels
    d3 = F.dropout3d(graphc.ones(2, 6, 2, 2, 2), 0.5, training=True).numpy()
    assert set(np.unique(d3)) <= {0.0, 2.0} and (d3.reshape(2, 6, -1).std(-1) == 0).all()
    assert repr(nn.AlphaDropout(0.2)) == "AlphaDropout(p=0.2, inplace=False)"


@pytest.mark.parametrize("mode", ["circular", "replicate", "reflect"])
def test_pad_negative_amounts_crop_first(mode):
    x = t64(RNG, 2, 3, 5, 6)
    np_mode = {"circular": "wrap", "replicate": "edge", "reflect": "reflect"}[mode]
    for pads in [(-1, 2, 2, -1), (2, -2, -1, 0), (-1, -1, 1, 1)]:
        (l, r, t, b) = pads
        xs = x.numpy()[:, :, max(-t, 0) : 5 - max(-b, 0), max(-l, 0) : 6 - max(-r, 0)]
        ref = np.pad(xs, ((0, 0), (0, 0), (max(t, 0), max(b, 0)), (max(l, 0), max(r, 0))), mode=np_mode)
        close(F.pad(x, pads, mode), ref)


def np_reflect_then_crop(x, pairs):
    """PyTorch's reflection padding with negative amounts: reflect the whole input by the positive
    amounts (each below the input's size), then crop the negative ones."""
    out = np.pad(x, [(max(lo, 0), max(hi, 0)) for lo, hi in pairs], mode="reflect")
    return out[tuple(slice(max(-lo, 0), out.shape[d] - max(-hi, 0)) for d, (lo, hi) in enumerate(pairs))]


def test_pad_reflect_mixed_signs_reflects_the_whole_input():
    x5 = graphc.tensor(np.arange(5.0).reshape(1, 1, 5), requires_grad=True)
    close(F.pad(x5, (-2, 3), mode="reflect"), [[[2, 3, 4, 3, 2, 1]]])
    close(F.pad(x5, (4, -3), mode="reflect"), [[[4, 3, 2, 1, 0, 1]]])
    close(F.pad(x5, (-6, 2), mode="replicate"), [[[4]]])
    (F.pad(x5, (-2, 3), mode="reflect") * graphc.tensor(np.arange(1.0, 7.0))).sum().backward()
    close(x5.grad, [[[0, 6, 6, 6, 3]]])  # hand-summed: outputs 1..6 read inputs 2, 3, 4, 3, 2, 1
    x = t64(RNG, 2, 3, 4, 5, 3, requires_grad=True)
    pads = (-1, 2, 1, -1, 0, 1)
    pairs = [(0, 0), (0, 0), (0, 1), (1, -1), (-1, 2)]
    close(nn.ReflectionPad3d(pads)(x), np_reflect_then_crop(x.detach().numpy(), pairs))
    check_grad(lambda v: F.pad(v, pads, mode="reflect"), x)
    with pytest.raises(RuntimeError, match=r"Argument #4: .* padding \(-2, 5\) at dimension 2 of input \[1, 1, 5\]"):
        F.pad(x5, (-2, 5), mode="reflect")
    with pytest.raises(RuntimeError, match=r"input \(W: 5\) is too small. Calculated output W: 0"):
        F.pad(x5, (-3, -2), mode="reflect")
    with pytest.raises(RuntimeError, match=r"input \(H: 4, W: 5\) is too small. Calculated output H: 0 W: 0"):
        F.pad(graphc.zeros(1, 4, 5), (-3, -2, -2, -2), mode="replicate")


def test_pad_errors_are_pytorchs():
    """Odd or too long pads and a circular pad wrapping more than once are RuntimeErrors; a
    non-constant pad of a rank its kernels do not take is NotImplementedError, as in PyTorch."""
    x4 = graphc.zeros(2, 3, 4, 5)
    with pytest.raises(RuntimeError, match="Padding length must be divisible by 2"):
        F.pad(graphc.zeros(2, 3), (1,))
    with pytest.raises(RuntimeError, match="padding length 6 and input of dimension 2"):
        F.pad(graphc.zeros(2, 3), (1,) * 6)
    for mode in ("reflect", "replicate", "circular"):
        with pytest.raises(NotImplementedError, match="Padding size 2 is not supported for 4D input tensor"):
            F.pad(x4, (1, 2), mode=mode)
    with pytest.raises(NotImplementedError, match="Padding size 2 is not supported for 1D input tensor"):
        F.pad(graphc.zeros(5), (1, 2), mode="reflect")
    with pytest.raises(NotImplementedError, match="Padding size 4 is not supported for 5D input tensor"):
        F.pad(graphc.zeros(1, 2, 3, 4, 5), (1, 2, 1, 1), mode="replicate")
    assert tuple(F.pad(graphc.zeros(3, 5), (1, 2), mode="reflect").shape) == (3, 8)
    assert tuple(F.pad(graphc.zeros(2, 4, 5), (1, 2, 1, 1), mode="circular").shape) == (2, 6, 8)
    with pytest.raises(RuntimeError, match="wrapping around more than once"):
        F.pad(graphc.zeros(1, 1, 3), (4, 4), mode="circular")
    with pytest.raises(RuntimeError, match="wrapping around more than once"):
        nn.CircularPad1d(4)(graphc.zeros(1, 1, 3))
    with pytest.raises(RuntimeError, match="wrapping around more than once"):
        nn.Conv2d(1, 1, 3, padding=6, padding_mode="circular")(graphc.zeros(1, 1, 5, 5))


def test_batch_norm_on_an_empty_1d_batch():
    e = graphc.zeros(0)
    assert tuple(F.batch_norm(e, graphc.zeros(0), graphc.ones(0), training=True).shape) == (0,)
    with pytest.raises(IndexError, match="Dimension out of range"):
        F.batch_norm(graphc.randn(5), graphc.zeros(5), graphc.ones(5))


def test_embedding_max_norm_and_scale_grad_by_freq():
    w = graphc.tensor(RNG.standard_normal((6, 3)) * 2, dtype=graphc.float64, requires_grad=True)
    idx = graphc.tensor([[0, 2, 2], [5, 2, 1]])
    before = w.detach().numpy().copy()
    out = F.embedding(idx, w, max_norm=1.5, scale_grad_by_freq=True)
    norms = np.linalg.norm(before, axis=1)
    expect = before.copy()
    for r in (0, 1, 2, 5):
        if norms[r] > 1.5:
            expect[r] = before[r] * 1.5 / (norms[r] + 1e-7)
    close(w.detach(), expect)  # looked-up rows renormalized in place
    close(out, expect[idx.numpy()])
    out.sum().backward()
    grad = np.zeros((6, 3))
    counts = {0: 1, 2: 3, 5: 1, 1: 1}
    for r, k in counts.items():
        grad[r] = k / k  # every lookup of row r adds 1/count: the sum is 1 per looked-up row
    close(w.grad, grad)
    assert "max_norm=1.5" in repr(nn.Embedding(4, 2, max_norm=1.5))


def np_bag(w, idx, offsets, mode, psw=None, padding_idx=None):
    bounds = list(offsets) + [len(idx)]
    out = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        rows = [(w[i] * (psw[k] if psw is not None else 1.0)) for k, i in enumerate(idx[a:b], a) if i != padding_idx]
        if not rows:
            out.append(np.zeros(w.shape[1]))
        elif mode == "sum":
            out.append(np.sum(rows, 0))
        elif mode == "mean":
            out.append(np.mean(rows, 0))
        else:
            out.append(np.max(rows, 0))
    return np.array(out)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag(mode):
    w = t64(RNG, 10, 3, requires_grad=True)
    idx = np.array([1, 2, 4, 5, 4, 3, 2, 9, 0, 0])
    offsets = np.array([0, 3, 3, 7])
    got = F.embedding_bag(graphc.tensor(idx), w, graphc.tensor(offsets), mode=mode)
    close(got, np_bag(w.detach().numpy(), idx, offsets, mode))
    got = F.embedding_bag(graphc.tensor(idx), w, graphc.tensor(offsets), mode=mode, padding_idx=2)
    close(got, np_bag(w.detach().numpy(), idx, offsets, mode, padding_idx=2))
    two_d = F.embedding_bag(graphc.tensor(idx.reshape(2, 5)), w, mode=mode)
    close(two_d, np_bag(w.detach().numpy(), idx, [0, 5], mode))
    last = F.embedding_bag(graphc.tensor(idx), w, graphc.tensor([0, 3, 10]), mode=mode, include_last_offset=True)
    close(last, np_bag(w.detach().numpy(), idx, [0, 3], mode))
    check_grad(lambda a: F.embedding_bag(graphc.tensor(idx), a, graphc.tensor(offsets), mode=mode), w)
    if mode == "sum":
        psw = RNG.random(10)
        got = F.embedding_bag(graphc.tensor(idx), w, graphc.tensor(offsets), mode="sum", per_sample_weights=graphc.tensor(psw))
        close(got, np_bag(w.detach().numpy(), idx, offsets, "sum", psw))


def test_embedding_bag_module_and_errors():
    bag = nn.EmbeddingBag(10, 3, mode="sum")
    assert repr(bag) == "EmbeddingBag(10, 3, mode='sum')" and list(bag.state_dict()) == ["weight"]
    with pytest.raises(NotImplementedError, match="per_sample_weights is only supported for mode='sum'"):
        F.embedding_bag(graphc.tensor([1, 2]), bag.weight, graphc.tensor([0]), mode="mean", per_sample_weights=graphc.ones(2))
    with pytest.raises(ValueError, match="offsets has to be None"):
        F.embedding_bag(graphc.tensor([[1, 2]]), bag.weight, graphc.tensor([0]))
    w = t64(RNG, 10, 3, requires_grad=True)
    compiled_matches(lambda a: F.embedding_bag(graphc.tensor([1, 2, 4, 5]), a, graphc.tensor([0, 1]), mode="mean"), w)


def test_embedding_bag_rejects_bad_offsets_and_indices():
    """PyTorch raises RuntimeError where the offsets would drop lookups (first offset not 0) or
    read past the input (last offset beyond its length), and for an index outside the table."""
    w = graphc.tensor(np.arange(30.0).reshape(10, 3))
    idx = graphc.tensor([1, 2, 4, 5, 4, 3, 2, 9, 2])
    with pytest.raises(RuntimeError, match=r"offsets\[0\] has to be 0, .* However, got 1"):
        F.embedding_bag(idx, w, graphc.tensor([1, 3]))
    with pytest.raises(RuntimeError, match=r"offsets\[0\] has to be 0"):
        F.embedding_bag(graphc.tensor([], dtype=graphc.int64), w, graphc.tensor([1]))
    for last in (True, False):
        with pytest.raises(RuntimeError, match=r"offsets\[-1\] can not be greater than input's length 9 but got offsets\[-1\] of 20"):
            F.embedding_bag(idx, w, graphc.tensor([0, 3, 20]), include_last_offset=last)
    # the last offset at the input's length is fine: an empty last bag, or the end of the last one
    close(F.embedding_bag(idx, w, graphc.tensor([0, 3, 9]))[2], np.zeros(3))
    close(F.embedding_bag(idx, w, graphc.tensor([0, 3, 9]), include_last_offset=True),
          np_bag(w.numpy(), idx.numpy(), [0, 3], "mean"))
    with pytest.raises(RuntimeError, match=r"Index 1 of input takes value 10 which is not in the valid range \[0, 10\)"):
        F.embedding_bag(graphc.tensor([1, 10]), w, graphc.tensor([0]))
    with pytest.raises(RuntimeError, match=r"Index 2 of input takes value -1"):
        F.embedding_bag(graphc.tensor([[1, 2], [-1, 0]]), w, mode="sum")
    with pytest.raises(RuntimeError, match="Expected idx >= 0 && idx < num_embeddings but found idx to be 10"):
        F.embedding_bag(graphc.tensor([1, 10]), w, graphc.tensor([0]), mode="max")


def test_padding_modules():
    x = t64(RNG, 1, 2, 3, 4)
    assert repr(nn.ZeroPad2d(1)) == "ZeroPad2d((1, 1, 1, 1))"
    assert repr(nn.ConstantPad1d(2, 3.0)) == "ConstantPad1d(padding=(2, 2), value=3.0)"
    close(nn.ReflectionPad2d((1, 2, 0, 1))(x), np.pad(x.numpy(), ((0, 0), (0, 0), (0, 1), (1, 2)), mode="reflect"))
    close(nn.CircularPad2d(1)(x), np.pad(x.numpy(), ((0, 0), (0, 0), (1, 1), (1, 1)), mode="wrap"))
    close(nn.ReplicationPad1d((2, 0))(x[0]), np.pad(x.numpy()[0], ((0, 0), (0, 0), (2, 0)), mode="edge"))
    close(nn.ConstantPad3d(1, 2.0)(x), np.pad(x.numpy(), ((0, 0), (1, 1), (1, 1), (1, 1)), constant_values=2.0))


def test_cosine_similarity_broadcasts():
    a, b = t64(RNG, 2, 3, 4), t64(RNG, 3, 1)
    an, bn = np.broadcast_arrays(a.numpy(), b.numpy())
    ref = (an * bn).sum(1) / (np.linalg.norm(an, axis=1) * np.linalg.norm(bn, axis=1))
    close(F.cosine_similarity(a, b, 1), ref)
    assert repr(nn.CosineSimilarity()) == "CosineSimilarity()"
