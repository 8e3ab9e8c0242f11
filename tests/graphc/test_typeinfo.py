"""``graphc.finfo``/``graphc.iinfo`` against the formats themselves: eps is the gap above 1, max
the largest finite value, tiny the smallest normal (bfloat16 from its bit layout: 8 exponent
bits, 7 mantissa bits), and the integer limits from the bit widths."""

import math

import numpy as np
import pytest

import graphc


@pytest.mark.parametrize("name, np_dtype", [("float16", np.float16), ("float32", np.float32), ("float64", np.float64)])
def test_finfo_of_numpy_formats(name, np_dtype):
    f = graphc.finfo(getattr(graphc, name))
    one = np_dtype(1)
    assert f.eps == float(np.nextafter(one, np_dtype(2)) - one)
    assert f.max == float(np.nextafter(np_dtype(np.inf), np_dtype(0))) and f.min == -f.max
    assert f.tiny == f.smallest_normal and np_dtype(f.tiny) / np_dtype(2) != 0  # below it: subnormals
    assert f.bits == 8 * np.dtype(np_dtype).itemsize and f.dtype == name
    assert f.resolution == 10.0 ** -{"float16": 3, "float32": 6, "float64": 15}[name]


def test_finfo_of_bfloat16_from_its_bit_layout():
    f = graphc.finfo(graphc.bfloat16)
    assert (f.bits, f.eps, f.tiny, f.resolution) == (16, 2.0**-7, 2.0**-126, 0.01)
    assert f.max == (2 - 2.0**-7) * 2.0**127
    # graphc's own bfloat16 storage agrees: max survives the rounding, one ulp above it is inf
    t = graphc.tensor([f.max, f.max * (1 + 2.0**-8)], dtype=graphc.bfloat16).float().numpy()
    assert t[0] == f.max and math.isinf(t[1])


def test_finfo_defaults_and_complex():
    assert graphc.finfo().dtype == graphc.get_default_dtype().name
    assert graphc.finfo(graphc.complex128).eps == graphc.finfo(graphc.float64).eps


@pytest.mark.parametrize("name", ["uint8", "int8", "int16", "int32", "int64"])
def test_iinfo(name):
    i = graphc.iinfo(getattr(graphc, name))
    bits = {"uint8": 8, "int8": 8, "int16": 16, "int32": 32, "int64": 64}[name]
    signed = name != "uint8"
    assert i.bits == bits and i.dtype == name
    assert (i.min, i.max) == ((-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1))


def test_wrong_kind_is_a_type_error_naming_the_other():
    with pytest.raises(TypeError, match="graphc.iinfo"):
        graphc.finfo(graphc.int32)
    with pytest.raises(TypeError, match="graphc.finfo"):
        graphc.iinfo(graphc.float32)
    with pytest.raises(TypeError, match="integer"):
        graphc.iinfo(graphc.bool)
