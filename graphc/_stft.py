"""``stft`` and ``istft``: short-time Fourier transforms, as ``torch.stft``/``torch.istft``.

Frames are gathered with one ``index_select`` (a static index), windowed and transformed with
``graphc.fft``; ``istft`` overlap-adds the inverse frames with ``index_add`` and divides by the
summed squared window. Everything is graphc ops, so both trace and differentiate.
"""

from __future__ import annotations

import numpy as np

from ir import dtypes as dt
from ir.errors import DTypeError, ShapeError

from . import _factories
from . import _functional as F
from . import fft as _fft
from ._tensor import Tensor
from .nn.functional import pad as _pad

__all__ = ["stft", "istft"]


def _window(window, win_length, n_fft, like: Tensor, name):
    """The window padded (centered) to ``n_fft``; ones when None."""
    real = dt.to_real(like._dtype) if like._dtype.is_differentiable else dt.default_float()
    if window is None:
        w = _factories.ones(win_length, dtype=real, device=like._device)
    else:
        if not isinstance(window, Tensor) or window.ndim != 1 or window.shape[0] != win_length:
            shape = list(window.shape) if isinstance(window, Tensor) else type(window).__name__
            raise ShapeError(f"{name}: expected a 1D window tensor of size equal to win_length={win_length}, but got window with size {shape}")
        w = window
    if win_length < n_fft:
        left = (n_fft - win_length) // 2
        w = _pad(w, (left, n_fft - win_length - left))
    return w


def _check_lengths(n_fft, hop_length, win_length, length, name):
    if not 0 < n_fft <= length:
        raise ShapeError(f"{name}: expected 0 < n_fft <= {length}, but got n_fft={n_fft}")
    if hop_length <= 0:
        raise ShapeError(f"{name}: expected hop_length > 0, but got hop_length={hop_length}")
    if not 0 < win_length <= n_fft:
        raise ShapeError(f"{name}: expected 0 < win_length <= n_fft, but got win_length={win_length}")


def stft(input, n_fft, hop_length=None, win_length=None, window=None, center=True, pad_mode="reflect",
         normalized=False, onesided=None, return_complex=None):
    """The short-time Fourier transform of a signal (``(L,)`` or ``(B, L)``): a complex tensor
    ``(B?, n_freq, n_frames)``; ``center`` pads ``n_fft // 2`` on both sides with ``pad_mode``,
    ``normalized`` scales by ``n_fft ** -0.5``, ``onesided`` (default for real input and window)
    keeps ``n_fft // 2 + 1`` frequencies."""
    name = "stft"
    x = input
    if not isinstance(x, Tensor):
        raise TypeError(f"stft(): argument 'input' must be Tensor, not {type(x).__name__}")
    complex_in = x._dtype.is_complex or (isinstance(window, Tensor) and window._dtype.is_complex)
    if return_complex is None:
        if not complex_in:
            raise RuntimeError("stft requires the return_complex parameter be given for real inputs, and will further "
                               "require that return_complex=True in a future PyTorch release.")
        return_complex = True
    if x.ndim not in (1, 2):
        raise ShapeError(f"stft: expected a 1D or 2D tensor, but got {x.ndim}D")
    batched = x.ndim == 2
    if not batched:
        x = F.unsqueeze(x, 0)
    if not x._dtype.is_differentiable:
        x = F._to(x, dt.default_float())
    hop_length = n_fft // 4 if hop_length is None else int(hop_length)
    win_length = n_fft if win_length is None else int(win_length)
    if center:
        x = F.squeeze(_pad(F.unsqueeze(x, 1), (n_fft // 2, n_fft // 2), mode=pad_mode), 1)
    length = x.shape[-1]
    _check_lengths(n_fft, hop_length, win_length, length, name)
    w = _window(window, win_length, n_fft, x, name)
    frames = 1 + (length - n_fft) // hop_length
    idx = np.arange(frames)[:, None] * hop_length + np.arange(n_fft)[None, :]
    chunks = F.index_select(x, -1, _factories.tensor(idx.reshape(-1), dtype=dt.int64, device=x._device))
    chunks = F.mul(F.reshape(chunks, (x.shape[0], frames, n_fft)), w)
    onesided = (not complex_in) if onesided is None else onesided
    if onesided and complex_in:
        raise RuntimeError("Cannot have onesided output if window or input is complex")
    norm = "ortho" if normalized else "backward"
    spec = _fft.rfft(chunks, dim=-1, norm=norm) if onesided else _fft.fft(chunks, dim=-1, norm=norm)
    spec = F.transpose(spec, -1, -2)
    if not batched:
        spec = F.squeeze(spec, 0)
    return spec if return_complex else F.view_as_real(spec)


def istft(input, n_fft, hop_length=None, win_length=None, window=None, center=True, normalized=False, onesided=None,
          length=None, return_complex=False):
    """The inverse of :func:`stft` by overlap-add: frames are inverse transformed, windowed,
    summed, and divided by the summed squared window (which must not vanish)."""
    name = "istft"
    spec = input
    if not isinstance(spec, Tensor):
        raise TypeError(f"istft(): argument 'input' must be Tensor, not {type(spec).__name__}")
    if not spec._dtype.is_complex:
        raise DTypeError("istft requires a complex-valued input tensor")
    if spec.ndim not in (2, 3):
        raise ShapeError(f"istft: expected a tensor with 2 or 3 dimensions of complex dtype, but got {spec.ndim}D")
    batched = spec.ndim == 3
    if not batched:
        spec = F.unsqueeze(spec, 0)
    hop_length = n_fft // 4 if hop_length is None else int(hop_length)
    win_length = n_fft if win_length is None else int(win_length)
    n_freq, frames = spec.shape[-2:]
    onesided = (n_freq != n_fft) if onesided is None else onesided
    if onesided and n_freq != n_fft // 2 + 1:
        raise ShapeError(f"istft: expected the frequency dimension (3rd to the last) of the input tensor to match "
                         f"n_fft / 2 + 1 when onesided=True, but got {n_freq}")
    if not onesided and n_freq != n_fft:
        raise ShapeError(f"istft: expected the frequency dimension to match n_fft ({n_fft}) when onesided=False, but got {n_freq}")
    norm = "ortho" if normalized else "backward"
    cols = F.transpose(spec, -1, -2)  # (B, frames, n_freq)
    chunks = _fft.irfft(cols, n=n_fft, dim=-1, norm=norm) if onesided else _fft.ifft(cols, dim=-1, norm=norm)
    if not return_complex and chunks._dtype.is_complex:
        chunks = F.real(chunks)
    w = _window(window, win_length, n_fft, chunks, name)
    chunks = F.mul(chunks, w)
    total = n_fft + hop_length * (frames - 1)
    idx = (np.arange(frames)[:, None] * hop_length + np.arange(n_fft)[None, :]).reshape(-1)
    index = _factories.tensor(idx, dtype=dt.int64, device=spec._device)
    y = F.index_add(_factories.zeros((chunks.shape[0], total), dtype=chunks._dtype, device=spec._device), -1, index,
                    F.reshape(chunks, (chunks.shape[0], frames * n_fft)))
    wsq = F.mul(w, F.conj(w)) if w._dtype.is_complex else F.mul(w, w)
    env = F.index_add(_factories.zeros(total, dtype=wsq._dtype, device=spec._device), 0, index,
                      F.reshape(F.expand(F.real(wsq) if wsq._dtype.is_complex else wsq, (frames, n_fft)), (-1,)))
    start = n_fft // 2 if center else 0
    end = total - n_fft // 2 if (center and length is None) else total
    if length is not None:
        end = min(start + length, total)
    y, env = y[..., start:end], env[start:end]
    env_host = env.detach()
    if env_host._data is not None and bool(F.any(F.lt(F.abs(env_host), 1e-11))):
        raise RuntimeError("istft: window overlap add min: the sum of squared windows is (nearly) zero somewhere "
                           "(choose a window and hop_length with nonzero overlap-add)")
    y = F.div(y, env)
    if length is not None and y.shape[-1] < length:
        y = _pad(y, (0, length - y.shape[-1]))
    return y if batched else F.squeeze(y, 0)
