"""graphc.fft and stft/istft against numpy.fft in float64/complex128 (an independent
implementation of the same definitions), the round trips (``irfft(rfft(x)) == x``...),
PyTorch's ``n``/``s``/``dim``/``norm`` rules, gradchecks in Re and Im, and compiled == eager.
The stft reference is written here from its definition (frames, window, one-sided DFT)."""

from __future__ import annotations

import numpy as np
import pytest

import graphc
from graphc import fft as FFT
from graphc.autograd import gradcheck

RNG = np.random.default_rng(11)
X = RNG.standard_normal((3, 8))
Z = X + 1j * RNG.standard_normal((3, 8))
Y = RNG.standard_normal((4, 5, 6))


def T(a, requires_grad=False):
    return graphc.tensor(a, dtype=graphc.complex128 if np.iscomplexobj(a) else graphc.float64, requires_grad=requires_grad)


def N(t):
    return np.asarray(t.detach().numpy())


ONE_D = [
    ("fft", Z, dict(n=6)), ("fft", X, dict(norm="ortho")), ("ifft", Z, dict(n=10, norm="forward")),
    ("rfft", X, dict(n=7)), ("irfft", Z[:, :5], {}), ("irfft", Z, dict(n=9, norm="ortho")),
    ("hfft", Z[:, :5], {}), ("hfft", Z, dict(n=7, norm="forward")), ("ihfft", X, dict(norm="ortho")),
    ("fft", Z, dict(dim=0)), ("rfft", X, dict(dim=0, norm="forward")),
]
N_D = [
    ("fft2", Y, {}), ("fftn", Y, dict(s=(3, 4), norm="ortho")), ("ifftn", Y, dict(dim=(0, 2))), ("rfftn", Y, {}),
    ("rfft2", Y, dict(s=(4, 4))), ("irfftn", np.fft.rfftn(Y), dict(s=(4, 5, 6))), ("irfft2", np.fft.rfft2(Y), {}),
    ("ifft2", Y, dict(norm="forward")),
]


@pytest.mark.parametrize("name,a,kw", ONE_D + N_D, ids=[f"{c[0]}-{i}" for i, c in enumerate(ONE_D + N_D)])
def test_matches_numpy(name, a, kw):
    np_kw = dict(kw)
    if "dim" in np_kw:  # numpy spells PyTorch's dim as axis (1-d) or axes (n-d)
        np_kw["axis" if isinstance(kw["dim"], int) else "axes"] = np_kw.pop("dim")
    np.testing.assert_allclose(N(getattr(FFT, name)(T(a), **kw)), getattr(np.fft, name)(a, **np_kw), atol=1e-12)


def test_hfftn_ihfftn_match_pytorch_definitions():
    """n-d hfft/ihfft (numpy has 1-d only): ihfftn is the conjugate rfftn scaled as an inverse, and
    hfftn inverts it; on one axis they agree with numpy's hfft/ihfft."""
    np.testing.assert_allclose(N(FFT.ihfftn(T(Y))), np.conj(np.fft.rfftn(Y)) / Y.size, atol=1e-14)
    np.testing.assert_allclose(N(FFT.hfftn(FFT.ihfftn(T(Y)), s=Y.shape)), Y, atol=1e-12)
    np.testing.assert_allclose(N(FFT.hfft2(FFT.ihfft2(T(Y)), s=Y.shape[-2:])), Y, atol=1e-12)
    np.testing.assert_allclose(N(FFT.ihfftn(T(X), dim=-1)), np.fft.ihfft(X), atol=1e-14)


def test_round_trips_and_dtypes():
    for n in (8, 7):
        x = X[:, :n]
        np.testing.assert_allclose(N(FFT.irfft(FFT.rfft(T(x)), n=n)), x, atol=1e-14)
        np.testing.assert_allclose(N(FFT.ifft(FFT.fft(T(Z[:, :n])))), Z[:, :n], atol=1e-14)
        np.testing.assert_allclose(N(FFT.hfft(FFT.ihfft(T(x)), n=n)), x, atol=1e-14)
    np.testing.assert_allclose(N(FFT.irfftn(FFT.rfftn(T(Y)), s=Y.shape)), Y, atol=1e-13)
    f32 = graphc.tensor(X, dtype=graphc.float32)
    assert FFT.rfft(f32).dtype is graphc.complex64 and FFT.irfft(FFT.rfft(f32)).dtype is graphc.float32
    assert FFT.fft(graphc.arange(4)).dtype is graphc.complex64  # integers become the default float first
    with pytest.raises(graphc.DTypeError, match="expects a real input"):
        FFT.rfft(T(Z))
    with pytest.raises(ValueError, match="Invalid normalization mode"):
        FFT.fft(T(Z), norm="bogus")


def test_freqs_and_shifts():
    np.testing.assert_allclose(FFT.fftfreq(7, 0.5).numpy(), np.fft.fftfreq(7, 0.5), rtol=1e-6)
    np.testing.assert_allclose(FFT.rfftfreq(8, dtype=graphc.float64).numpy(), np.fft.rfftfreq(8))
    np.testing.assert_allclose(N(FFT.fftshift(T(Y))), np.fft.fftshift(Y))
    np.testing.assert_allclose(N(FFT.ifftshift(T(Y), dim=(0, 2))), np.fft.ifftshift(Y, axes=(0, 2)))


GRADS = {
    "fft": (FFT.fft, Z, {}), "fft_of_real": (FFT.fft, X, dict(n=10)), "ifft_ortho": (FFT.ifft, Z, dict(norm="ortho")),
    "rfft": (FFT.rfft, X, {}), "rfft_odd_forward": (FFT.rfft, X, dict(n=5, norm="forward")),
    "irfft": (FFT.irfft, Z[:, :5], {}), "irfft_odd": (FFT.irfft, Z[:, :5], dict(n=7, norm="ortho")),
    "hfft": (FFT.hfft, Z[:, :5], {}), "ihfft": (FFT.ihfft, X, {}), "fft2": (FFT.fft2, Z, {}),
    "rfft2": (FFT.rfft2, X, {}), "irfft2": (FFT.irfft2, Z[:, :5], {}), "hfftn": (FFT.hfftn, Z[:, :5], {}),
    "fftshift": (FFT.fftshift, Z, {}),
}


@pytest.mark.parametrize("name", sorted(GRADS))
def test_gradcheck(name):
    fn, a, kw = GRADS[name]
    assert gradcheck(lambda t: fn(t, **kw), [T(a[:2, :6] if a.shape[-1] == 8 else a[:2], requires_grad=True)])


def _stft_reference(x, n_fft, hop, window, center):
    """Frames of the (reflect-)padded signal times the window, one-sided DFT, (freq, frame)."""
    if center:
        x = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(n_fft // 2, n_fft // 2)], mode="reflect")
    frames = 1 + (x.shape[-1] - n_fft) // hop
    cols = np.stack([x[..., i * hop:i * hop + n_fft] * window for i in range(frames)], -2)
    return np.swapaxes(np.fft.rfft(cols, axis=-1), -1, -2)


def test_stft_matches_its_definition_and_istft_inverts_it():
    x = RNG.standard_normal((2, 40))
    win = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(12) / 12)
    full_win = np.pad(win, (2, 2))  # win_length 12 centered in n_fft 16
    S = graphc.stft(T(x), 16, hop_length=4, win_length=12, window=T(win), return_complex=True)
    np.testing.assert_allclose(N(S), _stft_reference(x, 16, 4, full_win, True), atol=1e-12)
    back = graphc.istft(S, 16, hop_length=4, win_length=12, window=T(win))
    np.testing.assert_allclose(N(back), x, atol=1e-12)
    np.testing.assert_allclose(N(graphc.istft(S, 16, hop_length=4, win_length=12, window=T(win), length=37)), x[:, :37],
                               atol=1e-12)
    x1 = x[0, :33]
    S1 = graphc.stft(T(x1), 8, return_complex=True, normalized=True, center=False)
    np.testing.assert_allclose(N(S1), _stft_reference(x1, 8, 2, np.ones(8), False) / np.sqrt(8), atol=1e-12)
    with pytest.raises(RuntimeError, match="return_complex"):
        graphc.stft(T(x1), 8)
    assert gradcheck(lambda t: graphc.stft(t, 8, hop_length=2, window=graphc.hann_window(8, dtype=graphc.float64),
                                           return_complex=True), [T(x1[:14], requires_grad=True)])


def test_compiled_equals_eager():
    def f(x):
        y = FFT.irfft(FFT.rfft(x) * FFT.rfftfreq(x.shape[-1], dtype=graphc.float64), n=x.shape[-1])
        loss = (y * y).sum() + FFT.fft2(x).abs().sum()
        loss.backward()
        return loss

    x = T(X, requires_grad=True)
    eager = f(x).item()
    g = x.grad.numpy().copy()
    cf = graphc.compile(f)
    for _ in range(3):
        x.grad = None
        out = cf(x)
    assert out.item() == pytest.approx(eager, rel=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), g, rtol=1e-10)
