"""Tests for graphc._printing: tensor reprs must match PyTorch 2.x exactly.

Every expected string below is what ``repr(torch_tensor)`` prints for the
corresponding PyTorch tensor (with ``torch.`` replaced by ``graphc.``).  The
PyTorch expression is given in each test's comment/id.

The module is loaded straight from its file so these tests do not depend on
the rest of the (concurrently edited) graphc package importing cleanly.
"""

import importlib.util
import math
import pathlib

import numpy as np
import pytest

_PATH = pathlib.Path(__file__).resolve().parents[2] / "graphc" / "_printing.py"
_spec = importlib.util.spec_from_file_location("_graphc_printing_under_test", _PATH)
P = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(P)


def fmt(values, dtype="float32", **kw):
    """Format like a tensor created with graphc's default dtype float32."""
    kw.setdefault("is_default_float", True)
    np_dtype = {"bfloat16": np.float32}.get(dtype, dtype)
    return P.format_tensor(np.asarray(values, dtype=np_dtype), dtype, **kw)


@pytest.fixture(autouse=True)
def _restore_printoptions():
    yield
    P.set_printoptions(profile="default")


NAN = float("nan")
INF = float("inf")

RANDN16 = [-0.5509, -1.7114, -0.7114, 0.7159, 1.0975, 0.8329, 0.6897, 1.1666,
           0.4866, -0.2413, 0.3091, -1.2238, 0.0573, 0.9870, -0.4351, 1.8025]


CASES = [
    # torch.ones(2, 2)
    ("ones_2x2", np.ones((2, 2)), "float32", {},
     "tensor([[1., 1.],\n        [1., 1.]])"),
    # torch.tensor([5.5, 3])
    ("fixed_point", [5.5, 3.0], "float32", {}, "tensor([5.5000, 3.0000])"),
    # torch.zeros(2, 3)
    ("zeros_2x3", np.zeros((2, 3)), "float32", {},
     "tensor([[0., 0., 0.],\n        [0., 0., 0.]])"),
    # torch.tensor([[1, 2], [3, 4]])
    ("int64_2x2", [[1, 2], [3, 4]], "int64", {},
     "tensor([[1, 2],\n        [3, 4]])"),
    # torch.tensor([True, False])  -- bools are right-aligned to len('False')
    ("bool", [True, False], "bool", {}, "tensor([ True, False])"),
    # torch.tensor([1, 2, 3]) > 2
    ("bool_3", [False, False, True], "bool", {},
     "tensor([False, False,  True])"),
    # torch.ones(5, dtype=torch.float64)
    ("float64_ones", np.ones(5), "float64", {},
     "tensor([1., 1., 1., 1., 1.], dtype=graphc.float64)"),
    # torch.arange(8.).reshape(2, 2, 2)
    ("3d", np.arange(8.0).reshape(2, 2, 2), "float32", {},
     "tensor([[[0., 1.],\n"
     "         [2., 3.]],\n"
     "\n"
     "        [[4., 5.],\n"
     "         [6., 7.]]])"),
    # torch.arange(2000)
    ("summarized_int", np.arange(2000), "int64", {},
     "tensor([   0,    1,    2,  ..., 1997, 1998, 1999])"),
    # torch.arange(2000.)  -- ratio 1999 > 1000 => sci; " ..." counts as an item
    ("summarized_float_sci", np.arange(2000.0), "float32", {},
     "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n"
     "        1.9990e+03])"),
    # torch.tensor([1e-5, 1.])
    ("sci_small_min", [1e-5, 1.0], "float32", {},
     "tensor([1.0000e-05, 1.0000e+00])"),
    # torch.tensor([1., 10000.])  -- integer valued but ratio > 1000
    ("sci_int_ratio", [1.0, 10000.0], "float32", {},
     "tensor([1.0000e+00, 1.0000e+04])"),
    # torch.tensor([1e9])  -- integer valued but > 1e8
    ("sci_int_large", [1e9], "float32", {}, "tensor([1.0000e+09])"),
    # denormal float32 (bit pattern 1184) next to a zero
    ("sci_denormal",
     np.array([1184, 0], dtype=np.int32).view(np.float32), "float32", {},
     "tensor([1.6591e-42, 0.0000e+00])"),
    # torch.tensor([-1e-5, 123.])  -- negative in sci mode widens everything
    ("sci_negative", [-1e-5, 123.0], "float32", {},
     "tensor([-1.0000e-05,  1.2300e+02])"),
    # torch.tensor([1., nan, inf, -inf])  -- int mode never pads non-finite
    ("nan_inf_int_mode", [1.0, NAN, INF, -INF], "float32", {},
     "tensor([1., nan, inf, -inf])"),
    # torch.tensor([0.5, nan, -inf])
    ("nan_inf_fixed", [0.5, NAN, -INF], "float32", {},
     "tensor([0.5000,    nan,   -inf])"),
    # torch.tensor([nan, nan])
    ("all_nan", [NAN, NAN], "float32", {}, "tensor([nan, nan])"),
    # torch.tensor([-1.5, 2.25, 10.])
    ("negative_alignment", [-1.5, 2.25, 10.0], "float32", {},
     "tensor([-1.5000,  2.2500, 10.0000])"),
    # torch.tensor([[1., -2.5], [3.25, 4.]])
    ("negative_2d", [[1.0, -2.5], [3.25, 4.0]], "float32", {},
     "tensor([[ 1.0000, -2.5000],\n        [ 3.2500,  4.0000]])"),
    # torch.tensor([-3, 10, 200])
    ("negative_int", [-3, 10, 200], "int64", {}, "tensor([ -3,  10, 200])"),
    # torch.tensor([-0., 1.])
    ("negative_zero", [-0.0, 1.0], "float32", {}, "tensor([-0., 1.])"),
    # torch.tensor(27.)
    ("scalar_float_int", np.array(27.0), "float32", {}, "tensor(27.)"),
    # torch.tensor(0.5)
    ("scalar_float", np.array(0.5), "float32", {}, "tensor(0.5000)"),
    # torch.tensor(3)
    ("scalar_int", np.array(3), "int64", {}, "tensor(3)"),
    # torch.tensor(1e-8)
    ("scalar_sci", np.array(1e-8), "float32", {}, "tensor(1.0000e-08)"),
    # torch.tensor(3, dtype=torch.int32)
    ("scalar_int32", np.array(3), "int32", {}, "tensor(3, dtype=graphc.int32)"),
    # torch.tensor(True)
    ("scalar_bool", np.array(True), "bool", {}, "tensor(True)"),
    # x.mean() with grad
    ("scalar_grad_fn", np.array(27.0), "float32",
     {"suffixes": ["grad_fn=<MeanBackward0>"]},
     "tensor(27., grad_fn=<MeanBackward0>)"),
    # torch.tensor([])
    ("empty", np.zeros((0,)), "float32", {}, "tensor([])"),
    # torch.zeros(0, 3)
    ("empty_2d", np.zeros((0, 3)), "float32", {}, "tensor([], size=(0, 3))"),
    # torch.zeros(2, 0, 4)
    ("empty_3d", np.zeros((2, 0, 4)), "float32", {},
     "tensor([], size=(2, 0, 4))"),
    # torch.tensor([], dtype=torch.float64)
    ("empty_float64", np.zeros((0,)), "float64", {},
     "tensor([], dtype=graphc.float64)"),
    # torch.tensor([], dtype=torch.long)  -- empty tensors show even int64
    ("empty_int64", np.zeros((0,)), "int64", {}, "tensor([], dtype=graphc.int64)"),
    # torch.zeros(0, 2, dtype=torch.bool, requires_grad=...) (size before dtype)
    ("empty_bool_2d", np.zeros((0, 2)), "bool", {},
     "tensor([], size=(0, 2), dtype=graphc.bool)"),
    # torch.tensor([1, 2, 3], dtype=torch.int32)
    ("int32", [1, 2, 3], "int32", {}, "tensor([1, 2, 3], dtype=graphc.int32)"),
    # torch.tensor([0, 255], dtype=torch.uint8)
    ("uint8", [0, 255], "uint8", {}, "tensor([  0, 255], dtype=graphc.uint8)"),
    # torch.tensor([-128, 127], dtype=torch.int8)
    ("int8", [-128, 127], "int8", {}, "tensor([-128,  127], dtype=graphc.int8)"),
    # torch.tensor([1.5, 2.], dtype=torch.float16)
    ("float16", [1.5, 2.0], "float16", {},
     "tensor([1.5000, 2.0000], dtype=graphc.float16)"),
    # torch.tensor([1., 2.], dtype=torch.bfloat16)
    ("bfloat16", [1.0, 2.0], "bfloat16", {},
     "tensor([1., 2.], dtype=graphc.bfloat16)"),
    # torch.tensor([0.1, 0.2], dtype=torch.float64)
    ("float64_fixed", [0.1, 0.2], "float64", {},
     "tensor([0.1000, 0.2000], dtype=graphc.float64)"),
    # torch.ones(2, 2, requires_grad=True)
    ("requires_grad_2d", np.ones((2, 2)), "float32",
     {"suffixes": ["requires_grad=True"]},
     "tensor([[1., 1.],\n        [1., 1.]], requires_grad=True)"),
    # torch.ones(2, dtype=torch.float64, requires_grad=True)
    ("dtype_then_requires_grad", np.ones(2), "float64",
     {"suffixes": ["requires_grad=True"]},
     "tensor([1., 1.], dtype=graphc.float64, requires_grad=True)"),
    # torch.tensor([1, 2], dtype=torch.int32, device='cuda:0')
    ("device_before_dtype", [1, 2], "int32",
     {"suffixes": ["device='cuda:0'"]},
     "tensor([1, 2], device='cuda:0', dtype=graphc.int32)"),
    # torch.tensor([1, 1000000000000])
    ("large_ints", [1, 10**12], "int64", {},
     "tensor([            1, 1000000000000])"),
    # 16 standard-normal samples: 8 per line, continuation indented by 8
    ("wrap_16_floats", RANDN16, "float32", {},
     "tensor([-0.5509, -1.7114, -0.7114,  0.7159,  1.0975,  0.8329,  0.6897,  1.1666,\n"
     "         0.4866, -0.2413,  0.3091, -1.2238,  0.0573,  0.9870, -0.4351,  1.8025])"),
    # 8 of them fill the line exactly, so the suffix wraps onto its own line
    ("suffix_wraps", RANDN16[:8], "float32", {"suffixes": ["requires_grad=True"]},
     "tensor([-0.5509, -1.7114, -0.7114,  0.7159,  1.0975,  0.8329,  0.6897,  1.1666],\n"
     "       requires_grad=True)"),
    # the wrapped suffix resets the line length, the next one fits after it
    ("suffix_wraps_then_fits", RANDN16[:8], "float64", {"suffixes": ["requires_grad=True"]},
     "tensor([-0.5509, -1.7114, -0.7114,  0.7159,  1.0975,  0.8329,  0.6897,  1.1666],\n"
     "       dtype=graphc.float64, requires_grad=True)"),
    # torch.arange(30)
    ("wrap_ints", np.arange(30), "int64", {},
     "tensor([ 0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14, 15, 16, 17,\n"
     "        18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29])"),
    # torch.ones(100, 100)
    ("summarized_2d", np.ones((100, 100)), "float32", {},
     "tensor([[1., 1., 1.,  ..., 1., 1., 1.],\n"
     "        [1., 1., 1.,  ..., 1., 1., 1.],\n"
     "        [1., 1., 1.,  ..., 1., 1., 1.],\n"
     "        ...,\n"
     "        [1., 1., 1.,  ..., 1., 1., 1.],\n"
     "        [1., 1., 1.,  ..., 1., 1., 1.],\n"
     "        [1., 1., 1.,  ..., 1., 1., 1.]])"),
    # torch.arange(1001).reshape(1001, 1) -- column vector, summarized rows
    ("summarized_column", np.arange(1001).reshape(1001, 1), "int64", {},
     "tensor([[   0],\n"
     "        [   1],\n"
     "        [   2],\n"
     "        ...,\n"
     "        [ 998],\n"
     "        [ 999],\n"
     "        [1000]])"),
]


@pytest.mark.parametrize(
    "values, dtype, kwargs, expected",
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_matches_pytorch(values, dtype, kwargs, expected):
    assert fmt(values, dtype, **kwargs) == expected


def test_summarized_3d():
    # torch.zeros(2, 20, 30): 1200 elements > 1000, blank line between slices
    row = "[0., 0., 0.,  ..., 0., 0., 0.]"
    block = (
        f"[{row},\n"
        f"         {row},\n"
        f"         {row},\n"
        "         ...,\n"
        f"         {row},\n"
        f"         {row},\n"
        f"         {row}]"
    )
    expected = f"tensor([{block},\n\n        {block}])"
    assert fmt(np.zeros((2, 20, 30))) == expected


def test_wrapped_rows_in_2d():
    # torch.ones(2, 30): rows are indented by 8, so (80 - 8) // 4 = 18 per line
    row = (", ".join(["1."] * 18) + ",\n" + " " * 9 + ", ".join(["1."] * 12))
    expected = f"tensor([[{row}],\n        [{row}]])"
    assert fmt(np.ones((2, 30))) == expected


def test_float32_not_default_shows_dtype():
    # after torch.set_default_dtype(torch.float64): torch.ones(2, dtype=torch.float32)
    assert fmt(np.ones(2), is_default_float=False) == "tensor([1., 1.], dtype=graphc.float32)"
    assert fmt(np.zeros(0), is_default_float=False) == "tensor([], dtype=graphc.float32)"


def test_set_printoptions_precision_and_state():
    P.set_printoptions(precision=2)
    assert P.get_printoptions()["precision"] == 2
    # torch.set_printoptions(precision=2); torch.tensor([1.12345])
    assert fmt([1.12345]) == "tensor([1.12])"
    P.set_printoptions(profile="default")
    assert fmt([1.12345]) == "tensor([1.1235])"
    assert P.get_printoptions() == {
        "precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80, "sci_mode": None,
    }


def test_set_printoptions_threshold():
    # torch.set_printoptions(threshold=5); torch.arange(10)
    P.set_printoptions(threshold=5)
    assert fmt(np.arange(10), "int64") == "tensor([0, 1, 2,  ..., 7, 8, 9])"


def test_profiles():
    P.set_printoptions(profile="short")
    assert P.get_printoptions()["edgeitems"] == 2
    # torch.set_printoptions(profile='short'); torch.arange(2000)
    assert fmt(np.arange(2000), "int64") == "tensor([   0,    1,  ..., 1998, 1999])"
    P.set_printoptions(profile="full")
    assert math.isinf(P.get_printoptions()["threshold"])
    assert fmt(np.arange(1200), "int64").count("...") == 0


def test_sci_mode_option():
    # torch.set_printoptions(sci_mode=True); torch.tensor([1.5, 2.])
    assert fmt([1.5, 2.0], printoptions={"sci_mode": True}) == \
        "tensor([1.5000e+00, 2.0000e+00])"
    # torch.set_printoptions(sci_mode=False); torch.tensor([1e-5, 1.]) in PyTorch 2.13, which
    # measures widths in the forced style (older PyTorch padded to the scientific width)
    assert fmt([1e-5, 1.0], printoptions={"sci_mode": False}) == \
        "tensor([0.0000, 1.0000])"
    # the per-call dict must not leak into the global state
    assert P.get_printoptions()["sci_mode"] is None


def test_printoptions_linewidth():
    # torch.set_printoptions(linewidth=40); torch.arange(30)
    assert fmt(np.arange(30), "int64", printoptions={"linewidth": 40}) == (
        "tensor([ 0,  1,  2,  3,  4,  5,  6,  7,\n"
        "         8,  9, 10, 11, 12, 13, 14, 15,\n"
        "        16, 17, 18, 19, 20, 21, 22, 23,\n"
        "        24, 25, 26, 27, 28, 29])"
    )


def test_formatter_ignores_hidden_values():
    # torch.cat([torch.ones(1000), torch.tensor([1e10]), torch.ones(1000)])
    # the 1e10 is hidden by summarization so it must not force sci mode
    values = np.concatenate([np.ones(1000), [1e10], np.ones(1000)])
    assert fmt(values) == "tensor([1., 1., 1.,  ..., 1., 1., 1.])"
