"""float64 numpy references for the fuzzer's programs, written from the definitions.

Nothing here calls graphc: these are the independent values a random program's graphc
result (eager and compiled) is checked against. Gradients are central finite differences
of the same numpy program (:func:`fd_gradients`).
"""

from __future__ import annotations

import math

import numpy as np

_erf = np.vectorize(math.erf, otypes=[np.float64])


def erf(x):
    return _erf(x) if np.size(x) else np.asarray(x, dtype=np.float64)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def gelu(x):
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def softplus(x):
    return np.logaddexp(0.0, x)


def softmax(x, d):
    e = np.exp(x - x.max(axis=d, keepdims=True))
    return e / e.sum(axis=d, keepdims=True)


def log_softmax(x, d):
    m = x.max(axis=d, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=d, keepdims=True))


def logsumexp(x, d, keepdim):
    m = x.max(axis=d, keepdims=True)
    r = np.log(np.exp(x - m).sum(axis=d, keepdims=True)) + m
    return r if keepdim else np.squeeze(r, axis=d)


def layer_norm(x, eps=1e-5):
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps)


def gather(x, d, idx):
    """out[i][j] = x[idx[i][j]][j] (d = 0): over idx's own shape (take_along_axis would broadcast)."""
    grid = list(np.indices(idx.shape, sparse=True))
    grid[d] = idx
    return x[tuple(grid)]


def scatter_add(x, d, idx, src):
    out = x.copy()
    grid = list(np.indices(idx.shape, sparse=True))
    grid[d] = idx
    np.add.at(out, tuple(grid), src)
    return out


def mse(a, b):
    return ((a - b) ** 2).mean()


def cross_entropy(logits, target):
    return -log_softmax(logits, 1)[np.arange(len(target)), target].mean()


def fd_gradients(loss_of, arrays, h=1e-6):
    """Central differences of scalar ``loss_of(arrays)`` with respect to each array in ``arrays``,
    and a mask of the entries where two step sizes agree (elsewhere a kink or a jump is within
    reach of the step and the difference quotient is not a derivative)."""
    grads, stable = [], []
    for a in arrays:
        g, g2 = np.zeros_like(a), np.zeros_like(a)
        flat, gf, g2f = a.reshape(-1), g.reshape(-1), g2.reshape(-1)
        for i in range(flat.size):
            keep = flat[i]
            for step, out in ((h, gf), (h * 8, g2f)):
                flat[i] = keep + step
                up = loss_of(arrays)
                flat[i] = keep - step
                down = loss_of(arrays)
                out[i] = (up - down) / (2 * step)
            flat[i] = keep
        grads.append(g)
        stable.append(np.isclose(g, g2, rtol=1e-4, atol=1e-6))
    return grads, stable
