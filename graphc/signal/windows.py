"""``graphc.signal.windows``: the 11 window functions of ``torch.signal.windows``, and the older
``graphc.hann_window``-style spellings.

Windows depend on no tensor, so their values are computed in float64 with numpy from the
textbook formulas (PyTorch's definitions: ``sym=False`` gives the periodic window, one sample
of a window of length M + 1 dropped) and made a tensor of ``dtype`` (default: the default
float). ``M == 0`` gives an empty tensor and ``M == 1`` a single 1.
"""

from __future__ import annotations

import math

import numpy as np

from ir import dtypes as dt

from .. import _factories

__all__ = [
    "bartlett", "blackman", "cosine", "exponential", "gaussian", "general_cosine", "general_hamming", "hamming", "hann",
    "kaiser", "nuttall",
]


def _make(name, M, values_fn, dtype, layout, device, requires_grad, one_is_one=True):
    if not isinstance(M, int) or isinstance(M, bool):
        raise TypeError(f"{name}: M must be an int, got {type(M).__name__}")
    if M < 0:
        raise ValueError(f"{name} requires non-negative window length, got M={M}")
    d = _factories._dtype_arg(dtype) or dt.default_float()
    if not d.is_floating_point:
        raise ValueError(f"{name} expects float32 or float64 dtypes, got: {d}")
    values = np.ones(M) if (M == 1 and one_is_one) else values_fn() if M else np.zeros(0)
    return _factories.tensor(values, dtype=d, device=device, requires_grad=requires_grad)


def _span(M: int, sym: bool) -> int:
    """The denominator of a window's sample spacing: M - 1, or M for a periodic window."""
    return M - 1 if sym else M


def general_cosine(M, *, a, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    """``sum_i (-1)^i a[i] cos(2 pi i k / (M - 1))``."""
    if not isinstance(a, (list, tuple)):
        raise TypeError(f"Coefficients must be a list/tuple, got {type(a).__name__}")
    if not a:
        raise ValueError("Coefficients cannot be empty")

    def values():
        k = 2 * math.pi * np.arange(M) / _span(M, sym)
        return sum(((-1) ** i) * c * np.cos(i * k) for i, c in enumerate(a))

    return _make("general_cosine", M, values, dtype, layout, device, requires_grad)


def general_hamming(M, *, alpha=0.54, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    return general_cosine(M, a=[alpha, 1.0 - alpha], sym=sym, dtype=dtype, device=device, requires_grad=requires_grad)


def hamming(M, *, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    return general_hamming(M, sym=sym, dtype=dtype, device=device, requires_grad=requires_grad)


def hann(M, *, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    return general_hamming(M, alpha=0.5, sym=sym, dtype=dtype, device=device, requires_grad=requires_grad)


def blackman(M, *, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    return general_cosine(M, a=[0.42, 0.5, 0.08], sym=sym, dtype=dtype, device=device, requires_grad=requires_grad)


def nuttall(M, *, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    """The minimum 4-term Blackman-Harris window (Nuttall 1981)."""
    return general_cosine(M, a=[0.3635819, 0.4891775, 0.1365995, 0.0106411], sym=sym, dtype=dtype, device=device,
                          requires_grad=requires_grad)


def bartlett(M, *, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    """The triangular window ``1 - |2k / (M - 1) - 1|``."""
    return _make("bartlett", M, lambda: 1 - np.abs(2 * np.arange(M) / _span(M, sym) - 1), dtype, layout, device,
                 requires_grad)


def cosine(M, *, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    """The sine window ``sin(pi (k + 0.5) / M)``."""
    return _make("cosine", M, lambda: np.sin(math.pi * (np.arange(M) + 0.5) / (M if sym else M + 1)), dtype, layout,
                 device, requires_grad)


def gaussian(M, *, std=1.0, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    """``exp(-((k - (M - 1) / 2) / std)^2 / 2)``."""
    if std <= 0:
        raise ValueError(f"Standard deviation must be positive, got: {std} instead.")
    return _make("gaussian", M, lambda: np.exp(-0.5 * ((np.arange(M) - _span(M, sym) / 2.0) / std) ** 2), dtype, layout,
                 device, requires_grad)


def exponential(M, *, center=None, tau=1.0, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    """``exp(-|k - center| / tau)``, centered by default."""
    if tau <= 0:
        raise ValueError(f"Tau must be positive, got: {tau} instead.")
    if sym and center is not None:
        raise ValueError("Center must be None for symmetric windows")
    c = _span(M, sym) / 2.0 if center is None else center
    return _make("exponential", M, lambda: np.exp(-np.abs(np.arange(M) - c) / tau), dtype, layout, device, requires_grad,
                 one_is_one=center is None)  # PyTorch evaluates a one-sample window at its given center


def kaiser(M, *, beta=12.0, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    """``I0(beta sqrt(1 - (2k / (M - 1) - 1)^2)) / I0(beta)``."""
    if beta < 0:
        raise ValueError(f"beta must be non-negative, got: {beta} instead.")

    def values():
        r = 2 * np.arange(M) / _span(M, sym) - 1
        return np.i0(beta * np.sqrt(np.clip(1 - r * r, 0, None))) / np.i0(beta)

    return _make("kaiser", M, values, dtype, layout, device, requires_grad)


# -- torch.*_window: the periodic flag is the opposite of sym -----------------------------------


def hann_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, requires_grad=False):
    return hann(window_length, sym=not periodic, dtype=dtype, device=device, requires_grad=requires_grad)


def hamming_window(window_length, periodic=True, alpha=0.54, beta=0.46, *, dtype=None, layout=None, device=None,
                   requires_grad=False):
    def values():
        k = 2 * math.pi * np.arange(window_length) / _span(window_length, not periodic)
        return alpha - beta * np.cos(k)

    return _make("hamming_window", window_length, values, dtype, layout, device, requires_grad)


def blackman_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, requires_grad=False):
    return blackman(window_length, sym=not periodic, dtype=dtype, device=device, requires_grad=requires_grad)


def bartlett_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, requires_grad=False):
    return bartlett(window_length, sym=not periodic, dtype=dtype, device=device, requires_grad=requires_grad)


def kaiser_window(window_length, periodic=True, beta=12.0, *, dtype=None, layout=None, device=None,
                  requires_grad=False):
    return kaiser(window_length, beta=beta, sym=not periodic, dtype=dtype, device=device, requires_grad=requires_grad)
