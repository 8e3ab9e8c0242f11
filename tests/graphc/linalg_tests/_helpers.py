"""Shared helpers of the graphc.linalg tests: random inputs and conversions."""

from __future__ import annotations

import numpy as np

import graphc

F64, C128 = graphc.float64, graphc.complex128


def mats(shape, complex_=False, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    if complex_:
        a = a + 1j * rng.standard_normal(shape)
    return a


def T(a):
    return graphc.tensor(a, dtype=C128 if np.iscomplexobj(a) else F64)


def N(t):
    return np.asarray(t.detach().numpy())


def herm(x):
    return np.conj(np.swapaxes(x, -1, -2))


def spd(shape, complex_=False, seed=0):
    a = mats(shape, complex_, seed)
    return a @ herm(a) + shape[-1] * np.eye(shape[-1])
