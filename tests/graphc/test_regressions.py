"""Regression tests for bugs found while reworking the op table (each names what broke)."""

from __future__ import annotations

import numpy as np

import graphc


def test_bfloat16_cast_keeps_a_0d_shape():
    # round_bf16 went through np.ascontiguousarray, which turns 0-d arrays into 1-d ones.
    x = graphc.tensor(2.0).bfloat16()
    assert tuple(x.shape) == ()
    assert x.dtype is graphc.bfloat16 and x.item() == 2.0


def test_bfloat16_rounding_of_a_0d_value():
    x = graphc.tensor(1.0 + 2.0**-9).to(graphc.bfloat16)  # halfway: ties to even -> 1.0
    assert tuple(x.shape) == () and x.float().item() == 1.0
    y = graphc.tensor(np.float32(1.0 + 3 * 2.0**-9)).to(graphc.bfloat16)  # rounds up to 1 + 2^-7
    assert y.float().item() == 1.0 + 2.0**-7
