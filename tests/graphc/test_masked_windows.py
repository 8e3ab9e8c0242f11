"""graphc.masked against numpy references computed on the unmasked elements (and PyTorch's
fully-masked results, written out as PyTorch 2.x returns them), gradients that never reach
masked-out elements; graphc.signal.windows against numpy's window functions and the
definitions."""

from __future__ import annotations

import math

import numpy as np
import pytest

import graphc
from graphc import masked as M
from graphc.autograd import gradcheck
from graphc.signal import windows as W

NAN, INF = math.nan, math.inf
XS = np.array([[1.0, -2, 3, 4], [5, 6, -7, 8], [0.5, 1, 2, 3]])
MS = np.array([[True, False, True, True], [False, False, False, False], [True, True, False, True]])


def x64(requires_grad=False):
    return graphc.tensor(XS, dtype=graphc.float64, requires_grad=requires_grad)


MASK = graphc.tensor(MS)


def rows(fn, empty):
    """``fn`` of each row's unmasked values, ``empty`` for a fully masked row."""
    return np.array([fn(r[m]) if m.any() else empty for r, m in zip(XS, MS)])


@pytest.mark.parametrize("name,ref", [
    ("sum", rows(np.sum, 0.0)), ("prod", rows(np.prod, 1.0)), ("amax", rows(np.max, -INF)), ("amin", rows(np.min, INF)),
    ("mean", rows(np.mean, NAN)), ("logsumexp", rows(lambda r: np.log(np.exp(r).sum()), -INF)),
    ("median", rows(lambda r: np.sort(r)[(len(r) - 1) // 2], NAN)),
])
def test_reductions_over_unmasked_elements(name, ref):
    np.testing.assert_allclose(getattr(M, name)(x64(), 1, mask=MASK).numpy(), ref, rtol=1e-12)


def test_reduction_details_match_pytorch():
    np.testing.assert_allclose(M.argmax(x64(), 1, mask=MASK).numpy(), [3.0, 0.0, 3.0])  # a float, as PyTorch returns it
    np.testing.assert_allclose(M.argmin(x64(), 1, mask=MASK).numpy(), [0.0, 0.0, 0.0])
    np.testing.assert_allclose(M.norm(x64(), 2.0, 1, mask=MASK).numpy(), rows(np.linalg.norm, 0.0), rtol=1e-12)
    np.testing.assert_allclose(M.norm(x64(), INF, 1, mask=MASK).numpy(), [4.0, 0.0, 3.0])
    np.testing.assert_allclose(M.var(x64(), 1, unbiased=False, mask=MASK).numpy(), rows(np.var, NAN), rtol=1e-12)
    np.testing.assert_allclose(M.std(x64(), 1, mask=MASK).numpy(), rows(lambda r: np.std(r, ddof=1), NAN), rtol=1e-12)
    assert M.sum(x64(), mask=MASK).item() == pytest.approx(XS[MS].sum())
    np.testing.assert_allclose(M.sum(x64(), 1, keepdim=True, mask=MASK[0]).numpy(), (XS * MS[0]).sum(1, keepdims=True))
    np.testing.assert_allclose(M.mean(x64(), (0, 1), mask=MASK).numpy(), XS[MS].mean())
    np.testing.assert_allclose(M.sum(x64(), 0).numpy(), XS.sum(0))


def test_scans_and_normalizations():
    filled0, filled1 = np.where(MS, XS, 0), np.where(MS, XS, 1)
    np.testing.assert_allclose(M.cumsum(x64(), 1, mask=MASK).numpy(), filled0.cumsum(1))
    np.testing.assert_allclose(M.cumprod(x64(), 1, mask=MASK).numpy(), filled1.cumprod(1))
    np.testing.assert_allclose(M.cumprod(x64(), 0).numpy(), XS.cumprod(0))
    e = np.where(MS, np.exp(XS - XS.max(1, keepdims=True)), 0)
    with np.errstate(invalid="ignore"):
        soft = e / e.sum(1, keepdims=True)
    np.testing.assert_allclose(M.softmax(x64(), 1, mask=MASK).numpy(), soft, rtol=1e-12)  # NaN row: fully masked
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(M.log_softmax(x64(), 1, mask=MASK).numpy(), np.log(soft), rtol=1e-12)
    e2 = np.where(MS, np.exp(-XS), 0)
    with np.errstate(invalid="ignore"):
        np.testing.assert_allclose(M.softmin(x64(), 1, mask=MASK).numpy(), e2 / e2.sum(1, keepdims=True), rtol=1e-12)
    nrm = np.sqrt((filled0 ** 2).sum(1, keepdims=True))
    np.testing.assert_allclose(M.normalize(x64(), 2.0, 1, mask=MASK).numpy(), filled0 / np.maximum(nrm, 1e-12))
    np.testing.assert_allclose(M.logaddexp(x64(), x64() * 2, input_mask=MASK, other_mask=~MASK).numpy(),
                               np.where(MS, XS, 2 * XS))


def test_gradients_skip_masked_elements():
    x = graphc.tensor(XS, dtype=graphc.float64, requires_grad=True)
    M.sum(x, 1, mask=MASK).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), MS.astype(float))
    x2 = graphc.tensor(XS[[0, 2]], dtype=graphc.float64, requires_grad=True)
    for fn in (lambda t: M.mean(t, 1, mask=MASK[[0, 2]]), lambda t: M.softmax(t, 1, mask=MASK[[0, 2]]),
               lambda t: M.cumprod(t, 1, mask=MASK[[0, 2]]), lambda t: M.norm(t, 2.0, 1, mask=MASK[[0, 2]]),
               lambda t: M.var(t, 1, mask=MASK[[0, 2]])):
        assert gradcheck(fn, [x2])


# ----------------------------------------------------------------------------
# windows


@pytest.mark.parametrize("M_", [0, 1, 2, 7, 10])
def test_windows_against_numpy(M_):
    f64 = graphc.float64
    np.testing.assert_allclose(W.hann(M_, dtype=f64).numpy(), np.hanning(M_), atol=1e-15)
    np.testing.assert_allclose(W.hamming(M_, dtype=f64).numpy(), np.hamming(M_), atol=1e-15)
    np.testing.assert_allclose(W.blackman(M_, dtype=f64).numpy(), np.blackman(M_), atol=1e-15)
    np.testing.assert_allclose(W.bartlett(M_, dtype=f64).numpy(), np.bartlett(M_), atol=1e-15)
    np.testing.assert_allclose(W.kaiser(M_, beta=5.0, dtype=f64).numpy(), np.kaiser(M_, 5.0), atol=1e-13)
    if M_ > 1:  # a periodic window is the symmetric one of length M + 1 without its last sample
        for fn in (W.hann, W.blackman, W.bartlett, W.nuttall, W.cosine, W.gaussian, W.exponential):
            np.testing.assert_allclose(fn(M_, sym=False, dtype=f64).numpy(), fn(M_ + 1, dtype=f64).numpy()[:-1], atol=1e-15)
        np.testing.assert_allclose(graphc.hann_window(M_, dtype=f64).numpy(), np.hanning(M_ + 1)[:-1], atol=1e-15)
        np.testing.assert_allclose(graphc.hamming_window(M_, False, dtype=f64).numpy(), np.hamming(M_), atol=1e-15)


def test_window_definitions():
    k = np.arange(7)
    f64 = graphc.float64
    np.testing.assert_allclose(W.cosine(7, dtype=f64).numpy(), np.sin(np.pi * (k + 0.5) / 7))
    np.testing.assert_allclose(W.gaussian(7, std=1.5, dtype=f64).numpy(), np.exp(-0.5 * ((k - 3) / 1.5) ** 2))
    np.testing.assert_allclose(W.exponential(7, tau=2.0, dtype=f64).numpy(), np.exp(-np.abs(k - 3) / 2.0))
    np.testing.assert_allclose(W.exponential(7, center=1.0, sym=False, dtype=f64).numpy(), np.exp(-np.abs(k - 1.0)))
    np.testing.assert_allclose(W.general_hamming(7, alpha=0.6, dtype=f64).numpy(), 0.6 - 0.4 * np.cos(2 * np.pi * k / 6))
    a = [0.3635819, 0.4891775, 0.1365995, 0.0106411]
    np.testing.assert_allclose(W.nuttall(7, dtype=f64).numpy(),
                               sum((-1) ** i * c * np.cos(2 * np.pi * i * k / 6) for i, c in enumerate(a)), atol=1e-15)
    assert W.hann(5).dtype is graphc.float32 and W.hann(3, requires_grad=True).requires_grad
    with pytest.raises(ValueError, match="Center must be None"):
        W.exponential(5, center=1.0)
    with pytest.raises(ValueError, match="non-negative"):
        W.hann(-1)
