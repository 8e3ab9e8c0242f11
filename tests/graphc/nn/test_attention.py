"""multi_head_attention_forward, MultiheadAttention and the Transformer family against float64 numpy
written from the equations; masks (bool and float, key padding), need_weights, bias_kv, zero attention;
gradients and compile."""

from math import erf, sqrt

import numpy as np
import pytest

import graphc
import graphc.nn as nn
import graphc.nn.functional as F

from ._helpers import check_grad, close, compiled_matches

RNG = np.random.default_rng(21)
E, NH = 8, 2


def softmax(a):
    a = a - a.max(-1, keepdims=True)
    e = np.exp(a)
    return e / e.sum(-1, keepdims=True)


def np_mha(q, k, v, w_in, b_in, w_out, b_out, attn_mask=None, kpm=None, bias_k=None, bias_v=None, zero_attn=False):
    """q (L, N, E), k/v (S, N, E); bool masks are True where masked. Returns (out, per-head weights)."""
    L, N, _ = q.shape
    hd = E // NH
    wq, wk, wv = w_in[:E], w_in[E : 2 * E], w_in[2 * E :]
    bq, bk, bv = b_in[:E], b_in[E : 2 * E], b_in[2 * E :]
    Q, K, V = q @ wq.T + bq, k @ wk.T + bk, v @ wv.T + bv
    add = np.zeros((N, L, k.shape[0]))
    if attn_mask is not None:
        add = add + (np.where(attn_mask, -np.inf, 0.0) if attn_mask.dtype == bool else attn_mask)
    if kpm is not None:
        add = add + np.where(kpm, -np.inf, 0.0)[:, None, :]
    if bias_k is not None:
        K = np.concatenate([K, np.broadcast_to(bias_k, (1, N, E))], 0)
        V = np.concatenate([V, np.broadcast_to(bias_v, (1, N, E))], 0)
        add = np.concatenate([add, np.zeros((N, L, 1))], 2)
    if zero_attn:
        K = np.concatenate([K, np.zeros((1, N, E))], 0)
        V = np.concatenate([V, np.zeros((1, N, E))], 0)
        add = np.concatenate([add, np.zeros((N, L, 1))], 2)
    out = np.zeros((L, N, E))
    weights = np.zeros((N, NH, L, K.shape[0]))
    for n in range(N):
        for h in range(NH):
            sl = slice(h * hd, (h + 1) * hd)
            s = Q[:, n, sl] @ K[:, n, sl].T / np.sqrt(hd) + add[n]
            a = softmax(s)
            weights[n, h] = a
            out[:, n, sl] = a @ V[:, n, sl]
    return out @ w_out.T + b_out, weights


def params():
    return (RNG.standard_normal((3 * E, E)) * 0.4, RNG.standard_normal(3 * E) * 0.1,
            RNG.standard_normal((E, E)) * 0.4, RNG.standard_normal(E) * 0.1)


T = graphc.tensor


@pytest.mark.parametrize("case", ["plain", "bool_mask", "float_mask", "kpm", "both", "bias_kv", "zero_attn"])
def test_mha_forward(case):
    q, k, v = RNG.standard_normal((4, 3, E)), RNG.standard_normal((5, 3, E)), RNG.standard_normal((5, 3, E))
    w_in, b_in, w_out, b_out = params()
    bm = RNG.random((4, 5)) > 0.6
    bm[:, 0] = False
    fm = RNG.standard_normal((4, 5))
    kpm = RNG.random((3, 5)) > 0.7
    kpm[:, 1] = False
    bk, bv = RNG.standard_normal((1, 1, E)), RNG.standard_normal((1, 1, E))
    kw, ref_kw = {}, {}
    if case in ("bool_mask", "both"):
        kw["attn_mask"], ref_kw["attn_mask"] = T(bm), bm
    if case == "float_mask":
        kw["attn_mask"], ref_kw["attn_mask"] = T(fm), fm
    if case in ("kpm", "both", "bias_kv", "zero_attn"):
        kw["key_padding_mask"], ref_kw["kpm"] = T(kpm), kpm
    bias_k = bias_v = None
    if case == "bias_kv":
        bias_k, bias_v = T(bk), T(bv)
        ref_kw.update(bias_k=bk, bias_v=bv)
    zero = case == "zero_attn"
    ref_out, ref_w = np_mha(q, k, v, w_in, b_in, w_out, b_out, zero_attn=zero, **ref_kw)
    out, w = F.multi_head_attention_forward(T(q), T(k), T(v), E, NH, T(w_in), T(b_in), bias_k, bias_v, zero, 0.0,
                                            T(w_out), T(b_out), **kw)
    close(out, ref_out)
    close(w, ref_w.mean(1))
    _, wh = F.multi_head_attention_forward(T(q), T(k), T(v), E, NH, T(w_in), T(b_in), bias_k, bias_v, zero, 0.0,
                                           T(w_out), T(b_out), average_attn_weights=False, **kw)
    close(wh, ref_w)
    out2, none = F.multi_head_attention_forward(T(q), T(k), T(v), E, NH, T(w_in), T(b_in), bias_k, bias_v, zero, 0.0,
                                                T(w_out), T(b_out), need_weights=False, **kw)
    assert none is None
    close(out2, ref_out)


def test_mha_module_batch_first_kdim_unbatched():
    m = nn.MultiheadAttention(E, NH, batch_first=True, kdim=3, vdim=5).double()
    assert m.in_proj_weight is None and tuple(m.k_proj_weight.shape) == (E, 3)
    assert list(m.state_dict()) == ["q_proj_weight", "k_proj_weight", "v_proj_weight", "in_proj_bias",
                                    "out_proj.weight", "out_proj.bias"]
    q, k, v = RNG.standard_normal((2, 4, E)), RNG.standard_normal((2, 6, 3)), RNG.standard_normal((2, 6, 5))
    out, w = m(T(q), T(k), T(v))
    p = {n: t.detach().numpy() for n, t in m.named_parameters()}
    Q = q @ p["q_proj_weight"].T + p["in_proj_bias"][:E]
    K = k @ p["k_proj_weight"].T + p["in_proj_bias"][E : 2 * E]
    V = v @ p["v_proj_weight"].T + p["in_proj_bias"][2 * E :]
    hd = E // NH
    ref = np.zeros((2, 4, E))
    for n in range(2):
        for h in range(NH):
            sl = slice(h * hd, (h + 1) * hd)
            ref[n, :, sl] = softmax(Q[n, :, sl] @ K[n, :, sl].T / np.sqrt(hd)) @ V[n, :, sl]
    close(out, ref @ p["out_proj.weight"].T + p["out_proj.bias"])
    assert tuple(w.shape) == (2, 4, 6)
    s = nn.MultiheadAttention(E, NH).double()
    x = T(RNG.standard_normal((4, E)))
    o1, w1 = s(x, x, x)
    o3, w3 = s(x.unsqueeze(1), x.unsqueeze(1), x.unsqueeze(1))
    close(o1, o3[:, 0])
    close(w1, w3[0])
    assert repr(s) == (
        "MultiheadAttention(\n  (out_proj): NonDynamicallyQuantizableLinear(in_features=8, out_features=8, bias=True)\n)"
    )


def test_mha_errors():
    m = nn.MultiheadAttention(E, NH)
    x = graphc.randn(3, 2, E)
    with pytest.raises(RuntimeError, match="The shape of the 2D attn_mask"):
        m(x, x, x, attn_mask=graphc.zeros(3, 4))
    with pytest.raises(RuntimeError, match="Need attn_mask if specifying the is_causal hint"):
        m(x, x, x, is_causal=True)
    with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads"):
        nn.MultiheadAttention(7, 2)


def np_layer_norm(x, w, b, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(x.var(-1, keepdims=True) + eps) * w + b


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_matches_numpy(norm_first):
    layer = nn.TransformerEncoderLayer(E, NH, 16, dropout=0.0, activation="gelu", norm_first=norm_first).double()
    p = {n: t.detach().numpy() for n, t in layer.named_parameters()}
    x = RNG.standard_normal((5, 2, E))
    mask = np.triu(np.full((5, 5), -np.inf), 1)

    def sa(h):
        return np_mha(h, h, h, p["self_attn.in_proj_weight"], p["self_attn.in_proj_bias"],
                      p["self_attn.out_proj.weight"], p["self_attn.out_proj.bias"], attn_mask=mask)[0]

    def ff(h):
        a = h @ p["linear1.weight"].T + p["linear1.bias"]
        g = a * 0.5 * (1 + np.vectorize(erf)(a / sqrt(2)))
        return g @ p["linear2.weight"].T + p["linear2.bias"]

    def ln(h, i):
        return np_layer_norm(h, p[f"norm{i}.weight"], p[f"norm{i}.bias"])

    if norm_first:
        h = x + sa(ln(x, 1))
        ref = h + ff(ln(h, 2))
    else:
        h = ln(x + sa(x), 1)
        ref = ln(h + ff(h), 2)
    close(layer(T(x), src_mask=T(mask)), ref)
    causal = nn.Transformer.generate_square_subsequent_mask(5, dtype=graphc.float64)
    close(causal, mask)
    close(layer(T(x), src_mask=causal, is_causal=True), ref)


def test_transformer_structure_and_gradients():
    model = nn.Transformer(d_model=E, nhead=NH, num_encoder_layers=2, num_decoder_layers=1, dim_feedforward=16,
                           dropout=0.0, batch_first=True).double()
    keys = list(model.state_dict())
    assert "encoder.layers.1.self_attn.in_proj_weight" in keys and "decoder.layers.0.multihead_attn.out_proj.bias" in keys
    assert "encoder.norm.weight" in keys and "decoder.norm.bias" in keys
    # independent copies of the layer
    assert model.encoder.layers[0].linear1.weight is not model.encoder.layers[1].linear1.weight
    src = T(RNG.standard_normal((2, 5, E)), requires_grad=True)
    tgt = T(RNG.standard_normal((2, 3, E)))
    tmask = nn.Transformer.generate_square_subsequent_mask(3, dtype=graphc.float64)
    kpm = T(np.array([[False] * 5, [False, False, False, True, True]]))
    out = model(src, tgt, tgt_mask=tmask, src_key_padding_mask=kpm, memory_key_padding_mask=kpm)
    assert tuple(out.shape) == (2, 3, E)
    # the causal mask: changing a later target position leaves earlier outputs unchanged
    tgt2 = tgt.detach().clone()
    tgt2[:, 2] = 5.0
    out2 = model(src, tgt2, tgt_mask=tmask, src_key_padding_mask=kpm, memory_key_padding_mask=kpm)
    close(out2[:, :2], out[:, :2])
    # padded source positions do not matter
    src3 = src.detach().clone()
    src3[1, 3:] = 9.0
    out3 = model(src3, tgt, tgt_mask=tmask, src_key_padding_mask=kpm, memory_key_padding_mask=kpm)
    close(out3, out)
    small = nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0).double()
    check_grad(lambda v: small(v), T(RNG.standard_normal((3, 1, 4)), requires_grad=True))
    compiled_matches(lambda v: model(v, tgt, tgt_mask=tmask), src, atol=1e-8)


def test_mha_fully_masked_row_without_weights_is_zero_attention():
    """A query row whose keys are all masked: with need_weights=False (PyTorch's SDPA path, every
    Transformer layer's) it attends to nothing, so its output is the out-projection's bias and
    every gradient stays finite; with need_weights=True it is NaN, as in PyTorch."""
    q = RNG.standard_normal((3, 2, E))
    w_in, b_in, w_out, b_out = params()
    am = np.array([[False, True, True], [True, True, True], [False, False, True]])  # row 1: every key masked
    live = am.copy()
    live[1] = False  # the reference's other rows: the mask without the dead row
    ref, _ = np_mha(q, q, q, w_in, b_in, w_out, b_out, attn_mask=live)
    ref[1] = b_out
    args = (E, NH, T(w_in), T(b_in), None, None, False, 0.0, T(w_out), T(b_out))
    x = T(q, requires_grad=True)
    out, none = F.multi_head_attention_forward(x, x, x, *args, attn_mask=T(am), need_weights=False)
    assert none is None
    close(out, ref)
    out.sum().backward()
    assert np.isfinite(x.grad.numpy()).all()
    check_grad(lambda v: F.multi_head_attention_forward(v, v, v, *args, attn_mask=T(am), need_weights=False)[0], x)
    with_w, w = F.multi_head_attention_forward(T(q), T(q), T(q), *args, attn_mask=T(am))
    assert np.isnan(with_w.numpy()[1]).all() and np.isnan(w.numpy()[:, 1]).all()
    close(with_w.numpy()[[0, 2]], ref[[0, 2]])


def test_encoder_layer_fully_padded_sequence_trains():
    """One sequence of the batch entirely padding: its outputs and every gradient stay finite, and
    the other sequence's output is the one it has alone."""
    layer = nn.TransformerEncoderLayer(E, NH, 12, dropout=0.0).double()
    x = T(RNG.standard_normal((3, 2, E)), requires_grad=True)
    kpm = T(np.array([[False, False, True], [True, True, True]]))
    out = layer(x, src_key_padding_mask=kpm)
    out.sum().backward()
    assert np.isfinite(out.detach().numpy()).all() and np.isfinite(x.grad.numpy()).all()
    assert all(np.isfinite(p.grad.numpy()).all() for p in layer.parameters())
    alone = layer(x.detach()[:2, :1])
    close(out[:2, :1], alone)


def np_sdpa(q, k, v, bool_mask=None):
    """softmax(q k^T / sqrt(d), over the kept keys) v; a row that keeps no key is zero."""
    s = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if bool_mask is not None:
        s = np.where(bool_mask, s, -np.inf)
    m = s.max(-1, keepdims=True)
    e = np.exp(s - np.where(np.isfinite(m), m, 0.0))
    tot = e.sum(-1, keepdims=True)
    return np.where(tot > 0, e / np.where(tot > 0, tot, 1.0), 0.0) @ v


def test_sdpa_grouped_query_attention():
    q = RNG.standard_normal((2, 6, 3, 4))
    k, v = RNG.standard_normal((2, 2, 5, 4)), RNG.standard_normal((2, 2, 5, 3))
    ref = np_sdpa(q, np.repeat(k, 3, axis=1), np.repeat(v, 3, axis=1))  # heads 0,0,0,1,1,1
    close(F.scaled_dot_product_attention(T(q), T(k), T(v), enable_gqa=True), ref)
    mask = RNG.random((3, 5)) > 0.3
    close(F.scaled_dot_product_attention(T(q), T(k), T(v), T(mask), enable_gqa=True),
          np_sdpa(q, np.repeat(k, 3, axis=1), np.repeat(v, 3, axis=1), mask))
    check_grad(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, enable_gqa=True),
               T(q, requires_grad=True), T(k, requires_grad=True), T(v, requires_grad=True))
    # key and value may group differently; equal heads are left alone
    v6 = RNG.standard_normal((2, 6, 5, 3))
    close(F.scaled_dot_product_attention(T(q), T(k), T(v6), enable_gqa=True), np_sdpa(q, np.repeat(k, 3, axis=1), v6))
    with pytest.raises(RuntimeError, match="must divide the number of heads"):
        F.scaled_dot_product_attention(T(q), T(k[:, :1].repeat(4, 1)), T(v), enable_gqa=True)
    with pytest.raises(RuntimeError, match="must divide the number of heads"):
        F.scaled_dot_product_attention(T(q), T(RNG.standard_normal((2, 4, 5, 4))), T(v), enable_gqa=True)


def test_sdpa_argument_errors():
    q = T(RNG.standard_normal((2, 3, 4)))
    with pytest.raises(RuntimeError, match="Explicit attn_mask should not be set when is_causal=True"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=T(np.ones((3, 3), bool)), is_causal=True)
    with pytest.raises(RuntimeError, match="Expected attn_mask dtype to be bool or float"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=graphc.zeros(3, 3, dtype=graphc.int64))
    with pytest.raises(RuntimeError, match="at least 2 dimensional"):
        v = T(RNG.standard_normal(4))
        F.scaled_dot_product_attention(v, v, v)
    with pytest.raises(RuntimeError, match="to have the same dtype"):
        F.scaled_dot_product_attention(q, q.float(), q)
    # a float32 mask with float64 inputs is allowed, and a 1-d mask broadcasts over the queries
    fm = RNG.standard_normal(3)
    out = F.scaled_dot_product_attention(q, q, q, attn_mask=T(fm, dtype=graphc.float32))
    qn = q.numpy()
    s = qn @ np.swapaxes(qn, -1, -2) / 2.0 + fm.astype(np.float32)
    close(out, softmax(s) @ qn, atol=1e-6)


def np_encoder_layer(h, p):
    """Post-norm ReLU encoder layer on one sequence h (n, E), no mask."""
    a = np_mha(h[:, None], h[:, None], h[:, None], p["self_attn.in_proj_weight"], p["self_attn.in_proj_bias"],
               p["self_attn.out_proj.weight"], p["self_attn.out_proj.bias"])[0][:, 0]
    h = np_layer_norm(h + a, p["norm1.weight"], p["norm1.bias"])
    f = np.maximum(h @ p["linear1.weight"].T + p["linear1.bias"], 0) @ p["linear2.weight"].T + p["linear2.bias"]
    return np_layer_norm(h + f, p["norm2.weight"], p["norm2.bias"])


def test_encoder_nested_tensor_fast_path_zeroes_padding():
    """PyTorch's enable_nested_tensor path (eval, no grad, batch_first, a key padding mask, no
    mask): each sequence is its first n positions, the padding reads 0 (norm(0) with a norm)."""
    layer = nn.TransformerEncoderLayer(E, NH, 16, dropout=0.0, batch_first=True).double()
    enc = nn.TransformerEncoder(layer, 2).eval()
    assert enc.use_nested_tensor
    p = {n: t.detach().numpy() for n, t in enc.layers[0].named_parameters()}  # both layers: the same copies
    x = RNG.standard_normal((3, 4, E))
    kpm = np.array([[False] * 4, [False, False, True, True], [False, True, True, True]])
    ref = np.zeros_like(x)
    for b, n in enumerate((~kpm).sum(1)):
        ref[b, :n] = np_encoder_layer(np_encoder_layer(x[b, :n], p), p)
    with graphc.no_grad():
        close(enc(T(x), src_key_padding_mask=T(kpm)), ref)
        # a float mask: its zeros are the kept positions
        close(enc(T(x), src_key_padding_mask=T(np.where(kpm, -1e9, 0.0))), ref)
    plain = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False).eval()
    plain.load_state_dict(enc.state_dict())
    with graphc.no_grad():
        ordinary = plain(T(x), src_key_padding_mask=T(kpm))
    assert np.abs(ordinary.numpy()[1, 2:]).min() > 0
    # with grad on and weights that require it, or in training, it is the ordinary path
    close(enc(T(x), src_key_padding_mask=T(kpm)), ordinary)
    with graphc.no_grad():
        close(enc.train()(T(x), src_key_padding_mask=T(kpm)), ordinary)
        enc.eval()
        # not left-aligned: the ordinary path with mask_check; without it, the first n positions
        gap = np.array([[False] * 4, [False, True, False, True], [True, False, False, False]])
        close(enc(T(x), src_key_padding_mask=T(gap)), plain(T(x), src_key_padding_mask=T(gap)))
        enc.mask_check = False
        first = np.arange(4)[None] >= (~gap).sum(1)[:, None]
        close(enc(T(x), src_key_padding_mask=T(gap)), enc(T(x), src_key_padding_mask=T(first)))
        with pytest.raises(RuntimeError, match="at least one constituent tensor"):
            enc(T(x), src_key_padding_mask=T(np.ones((3, 4), bool)))
        normed = nn.TransformerEncoder(layer, 1, norm=nn.LayerNorm(E).double()).eval()
        nb = np.linspace(-1, 1, E)
        normed.norm.bias.copy_(T(nb))
        out = normed(T(x), src_key_padding_mask=T(kpm)).numpy()
        close(out[2, 1:], np.broadcast_to(nb, (3, E)))  # norm(0) is its bias
    for kw in ({"batch_first": False}, {"norm_first": True}, {"nhead": 1}, {"bias": False}, {"activation": np.tanh}):
        args = {"d_model": E, "nhead": NH, "dim_feedforward": 16, "batch_first": True, **kw}
        assert not nn.TransformerEncoder(nn.TransformerEncoderLayer(**args), 1).use_nested_tensor, kw
