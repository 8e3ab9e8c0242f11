"""RNN, LSTM, GRU and their cells against float64 numpy written step by step from the equations;
multi-layer, bidirectional, batch_first, projections, initial states, packed sequences; gradients by
finite differences; the compiled loop over time equals eager."""

import re

import numpy as np
import pytest

import graphc
import graphc.nn as nn
from graphc.nn.utils import rnn as rnn_utils

from ._helpers import check_grad, close, compiled_matches

RNG = np.random.default_rng(11)


def sig(v):
    return 1 / (1 + np.exp(-v))


def np_cell(mode, x, h, c, p, sfx):
    """One step of ``mode`` with the parameters p[...{sfx}] (numpy float64)."""
    gi = x @ p["weight_ih" + sfx].T + p.get("bias_ih" + sfx, 0)
    gh = h @ p["weight_hh" + sfx].T + p.get("bias_hh" + sfx, 0)
    if mode == "RNN_TANH":
        return np.tanh(gi + gh), None
    if mode == "RNN_RELU":
        return np.maximum(gi + gh, 0), None
    if mode == "GRU":
        r = sig(gi[:, :H] + gh[:, :H])
        z = sig(gi[:, H : 2 * H] + gh[:, H : 2 * H])
        n = np.tanh(gi[:, 2 * H :] + r * gh[:, 2 * H :])
        return (1 - z) * n + z * h, None
    g = gi + gh
    i, f, gg, o = sig(g[:, :H]), sig(g[:, H : 2 * H]), np.tanh(g[:, 2 * H : 3 * H]), sig(g[:, 3 * H :])
    c2 = f * c + i * gg
    h2 = o * np.tanh(c2)
    if "weight_hr" + sfx in p:
        h2 = h2 @ p["weight_hr" + sfx].T
    return h2, c2


H = 5


def np_rnn(mode, x, params, num_layers, bidirectional, h0, c0, lengths=None):
    """Time-major (T, N, I) reference; sequences of ``lengths`` run (and reverse) within their length."""
    T, N = x.shape[:2]
    lengths = lengths if lengths is not None else [T] * N
    D = 2 if bidirectional else 1
    layer_in = x
    hn, cn = [], []
    for layer in range(num_layers):
        outs = []
        for d in range(D):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            k = layer * D + d
            out = np.zeros((T, N, h0.shape[-1]))
            hs, cs = [], []
            for b in range(N):
                h, c = h0[k, b : b + 1], (c0[k, b : b + 1] if c0 is not None else None)
                steps = range(lengths[b] - 1, -1, -1) if d else range(lengths[b])
                for t in steps:
                    h, c = np_cell(mode, layer_in[t, b : b + 1], h, c, params, sfx)
                    out[t, b] = h[0]
                hs.append(h[0])
                cs.append(c[0] if c is not None else None)
            outs.append(out)
            hn.append(np.stack(hs))
            if c0 is not None:
                cn.append(np.stack(cs))
        layer_in = np.concatenate(outs, 2)
    return layer_in, np.stack(hn), (np.stack(cn) if c0 is not None else None)


CASES = [
    ("RNN", {}), ("RNN", {"nonlinearity": "relu", "num_layers": 2}), ("GRU", {"bidirectional": True}),
    ("GRU", {"num_layers": 2, "bias": False}), ("LSTM", {}), ("LSTM", {"num_layers": 2, "bidirectional": True}),
    ("LSTM", {"proj_size": 3, "bidirectional": True}),
]


def _mode(cls, kw):
    return {"RNN": "RNN_RELU" if kw.get("nonlinearity") == "relu" else "RNN_TANH", "GRU": "GRU", "LSTM": "LSTM"}[cls]


@pytest.mark.parametrize("cls,kw", CASES)
@pytest.mark.parametrize("batch_first", [False, True])
def test_rnn_matches_numpy(cls, kw, batch_first):
    graphc.manual_seed(0)
    m = getattr(nn, cls)(4, H, batch_first=batch_first, **kw).double()
    p = {n: v.detach().numpy() for n, v in m.named_parameters()}
    D = 2 if kw.get("bidirectional") else 1
    L = kw.get("num_layers", 1)
    hout = kw.get("proj_size", H)
    x = RNG.standard_normal((6, 3, 4))
    h0 = RNG.standard_normal((L * D, 3, hout))
    c0 = RNG.standard_normal((L * D, 3, H)) if cls == "LSTM" else None
    ref_out, ref_h, ref_c = np_rnn(_mode(cls, kw), x, p, L, D == 2, h0, c0)
    xin = graphc.tensor(x.transpose(1, 0, 2) if batch_first else x)
    hx = (graphc.tensor(h0), graphc.tensor(c0)) if cls == "LSTM" else graphc.tensor(h0)
    out, hn = m(xin, hx)
    close(out, ref_out.transpose(1, 0, 2) if batch_first else ref_out)
    if cls == "LSTM":
        close(hn[0], ref_h)
        close(hn[1], ref_c)
    else:
        close(hn, ref_h)
    # zero initial state by default, and unbatched input
    out0, _ = m(xin)
    zero_h = np.zeros_like(h0)
    ref0 = np_rnn(_mode(cls, kw), x, p, L, D == 2, zero_h, np.zeros_like(c0) if c0 is not None else None)[0]
    close(out0, ref0.transpose(1, 0, 2) if batch_first else ref0)
    hx1 = (graphc.tensor(h0[:, 0]), graphc.tensor(c0[:, 0])) if cls == "LSTM" else graphc.tensor(h0[:, 0])
    out1, _ = m(graphc.tensor(x[:, 0]), hx1)
    close(out1, ref_out[:, 0])


@pytest.mark.parametrize("cls,kw", [("LSTM", {"bidirectional": True}), ("GRU", {"num_layers": 2}), ("RNN", {"bidirectional": True})])
def test_packed_sequences(cls, kw):
    m = getattr(nn, cls)(4, H, **kw).double()
    p = {n: v.detach().numpy() for n, v in m.named_parameters()}
    D = 2 if kw.get("bidirectional") else 1
    L = kw.get("num_layers", 1)
    lengths = [3, 6, 2, 5]
    x = RNG.standard_normal((6, 4, 4))
    h0 = RNG.standard_normal((L * D, 4, H))
    c0 = RNG.standard_normal((L * D, 4, H)) if cls == "LSTM" else None
    ref_out, ref_h, _ = np_rnn(_mode(cls, kw), x, p, L, D == 2, h0, c0, lengths)
    packed = rnn_utils.pack_padded_sequence(graphc.tensor(x), lengths, enforce_sorted=False)
    hx = (graphc.tensor(h0), graphc.tensor(c0)) if cls == "LSTM" else graphc.tensor(h0)
    out, hn = m(packed, hx)
    assert isinstance(out, rnn_utils.PackedSequence)
    padded, lens = rnn_utils.pad_packed_sequence(out)
    np.testing.assert_array_equal(lens.numpy(), lengths)
    for b, k in enumerate(lengths):
        close(padded[:k, b], ref_out[:k, b])
        close(padded[k:, b], np.zeros_like(ref_out[k:, b]))
    close(hn[0] if cls == "LSTM" else hn, ref_h)


def test_pack_utilities():
    seqs = [graphc.tensor(RNG.standard_normal((k, 2))) for k in (3, 5, 1)]
    padded = rnn_utils.pad_sequence(seqs, batch_first=True, padding_value=-1.0)
    assert tuple(padded.shape) == (3, 5, 2) and float(padded[2, 3, 0]) == -1.0
    left = rnn_utils.pad_sequence(seqs, padding_side="left")
    close(left[4, 2], seqs[2][0])
    packed = rnn_utils.pack_sequence(seqs, enforce_sorted=False)
    np.testing.assert_array_equal(packed.batch_sizes.numpy(), [3, 2, 2, 1, 1])
    np.testing.assert_array_equal(packed.sorted_indices.numpy(), [1, 0, 2])
    close(packed.data[:3], np.stack([seqs[1].numpy()[0], seqs[0].numpy()[0], seqs[2].numpy()[0]]))
    for a, b in zip(rnn_utils.unpack_sequence(packed), seqs):
        close(a, b)
    out, lens = rnn_utils.pad_packed_sequence(packed, batch_first=True, total_length=7)
    assert tuple(out.shape) == (3, 7, 2) and lens.tolist() == [3, 5, 1]
    with pytest.raises(RuntimeError, match="sorted in decreasing order"):
        rnn_utils.pack_padded_sequence(graphc.zeros(5, 3, 2), [2, 5, 1])


@pytest.mark.parametrize("cls", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells(cls):
    m = getattr(nn, cls)(4, H).double()
    p = {n + "_c": v.detach().numpy() for n, v in m.named_parameters()}
    x, h, c = RNG.standard_normal((3, 4)), RNG.standard_normal((3, H)), RNG.standard_normal((3, H))
    mode = {"RNNCell": "RNN_TANH", "LSTMCell": "LSTM", "GRUCell": "GRU"}[cls]
    h2, c2 = np_cell(mode, x, h, c, p, "_c")
    if cls == "LSTMCell":
        out = m(graphc.tensor(x), (graphc.tensor(h), graphc.tensor(c)))
        close(out[0], h2)
        close(out[1], c2)
        close(m(graphc.tensor(x[0]), (graphc.tensor(h[0]), graphc.tensor(c[0])))[0], h2[0])
    else:
        close(m(graphc.tensor(x), graphc.tensor(h)), h2)
        close(m(graphc.tensor(x[0]), graphc.tensor(h[0])), h2[0])
    assert list(m.state_dict()) == ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]


def test_surface():
    m = nn.LSTM(10, 20, num_layers=2, batch_first=True, dropout=0.5, bidirectional=True, proj_size=5)
    assert repr(m) == "LSTM(10, 20, proj_size=5, num_layers=2, batch_first=True, dropout=0.5, bidirectional=True)"
    names = [n for n, _ in m.named_parameters()]
    assert names[:5] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_hr_l0"]
    assert "weight_ih_l1_reverse" in names and tuple(m.weight_ih_l1.shape) == (80, 10)
    assert tuple(m.weight_hh_l0.shape) == (80, 5)
    bound = 1 / np.sqrt(20)
    assert all(np.abs(p.detach().numpy()).max() <= bound for p in m.parameters())
    assert repr(nn.GRUCell(3, 4, bias=False)) == "GRUCell(3, 4, bias=False)"
    with pytest.warns(UserWarning, match="dropout option adds dropout after all but last"):
        nn.GRU(3, 4, dropout=0.2)
    with pytest.raises(ValueError, match="proj_size has to be smaller"):
        nn.LSTM(3, 4, proj_size=4)
    with pytest.raises(RuntimeError, match="input.size\\(-1\\) must be equal to input_size"):
        nn.GRU(3, 4)(graphc.randn(2, 1, 5))
    with pytest.raises(RuntimeError, match="Expected hidden size"):
        nn.RNN(3, 4)(graphc.randn(2, 1, 3), graphc.randn(1, 2, 4))


def test_dropout_between_layers_only_in_training():
    m = nn.GRU(3, 4, num_layers=2, dropout=0.5).double()
    x = graphc.randn(5, 2, 3, dtype=graphc.float64)
    m.eval()
    a, _ = m(x)
    b, _ = m(x)
    close(a, b)
    m.train()
    graphc.manual_seed(1)
    c, _ = m(x)
    assert not np.allclose(c.detach().numpy(), a.detach().numpy())


def test_gradients_and_compiled_loop():
    m = nn.LSTM(2, 3, bidirectional=True).double()
    x = graphc.tensor(RNG.standard_normal((4, 2, 2)), requires_grad=True)
    check_grad(lambda v: m(v)[0], x)
    g = nn.GRU(2, 3, num_layers=2).double()
    check_grad(lambda v: g(v)[1], x)
    compiled_matches(lambda v: m(v)[0], x)
    compiled_matches(lambda v: g(v)[0] * 2, x)


def test_compiled_loop_fuses_each_step():
    """Traced over 10 steps, an LSTM becomes about two kernels per step (the hidden-state matmul and
    one fused kernel of all the gate arithmetic), not one per op."""
    m = nn.LSTM(8, 16)
    f = graphc.compile(lambda v: m(v)[0], warmup=False)
    x = graphc.randn(10, 4, 8)
    f(x)
    report = str(f.explain(x))
    nodes = int(re.search(r"traced: (\d+) nodes", report).group(1))
    kernels = int(re.search(r"kernels: (\d+)", report).group(1))
    assert nodes > 150 and kernels <= 3 * 10 + 4, report[:300]
