"""Float64 tensors and central differences for the autograd tests: references that do not
use graphc's autograd."""

from __future__ import annotations

import numpy as np

import graphc

F64 = graphc.float64


def t64(a, requires_grad=True):
    return graphc.tensor(np.asarray(a, dtype=np.float64), dtype=F64, requires_grad=requires_grad)


def rand64(*shape, seed=0, requires_grad=True, lo=-1.0, hi=1.0):
    rng = np.random.default_rng(seed)
    return t64(rng.uniform(lo, hi, size=shape), requires_grad=requires_grad)


def val(t):
    return np.asarray(t.detach().numpy())


def num_grad(f, arrays, k, eps=1e-6):
    """Central differences of scalar ``f(*arrays)`` (numpy float64) in ``arrays[k]``."""
    arrays = [np.array(a, dtype=np.float64, copy=True) for a in arrays]
    g = np.zeros_like(arrays[k])
    for i in range(arrays[k].size):
        idx = np.unravel_index(i, arrays[k].shape)
        orig = arrays[k][idx]
        arrays[k][idx] = orig + eps
        plus = f(*arrays)
        arrays[k][idx] = orig - eps
        minus = f(*arrays)
        arrays[k][idx] = orig
        g[idx] = (plus - minus) / (2 * eps)
    return g
