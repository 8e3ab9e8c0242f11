"""graphc.testing: assert_close (tolerances, messages as PyTorch 2.13 formats them, nesting) and make_tensor."""

import numpy as np
import pytest

import graphc
from graphc.testing import assert_allclose, assert_close, make_tensor


def message(actual, expected, **kw):
    with pytest.raises(AssertionError) as err:
        assert_close(actual, expected, **kw)
    return str(err.value)


def test_passes_within_default_tolerances():
    assert_close(graphc.tensor([1.0, 2.0]), graphc.tensor([1.0, 2.0 + 1e-6]))
    assert_close(graphc.tensor([1.0], dtype=graphc.float16), graphc.tensor([1.0005], dtype=graphc.float16))
    assert_close(1.0, 1.0 + 1e-8)
    assert_close([graphc.ones(2), {"a": (1, 2.0)}], [graphc.ones(2), {"a": (1, 2.0)}])
    assert_close(graphc.tensor([float("nan")]), graphc.tensor([float("nan")]), equal_nan=True)
    assert_close(np.ones(2), np.ones(2))
    assert_close(graphc.tensor([1, 2]), graphc.tensor([1.0, 2.0]), check_dtype=False)


def test_tensor_mismatch_message():
    msg = message(graphc.tensor([1.0, 2.0, 3.0]), graphc.tensor([1.0, 2.5, 3.5]))
    assert msg == (
        "Tensor-likes are not close!\n\nMismatched elements: 2 / 3 (66.7%)\n"
        "Greatest absolute difference: 0.5 at index (1,) (up to 1e-05 allowed)\n"
        "Greatest relative difference: 0.20000000298023224 at index (1,) (up to 1.3e-06 allowed)"
    )
    msg = message(graphc.ones(2, 2), graphc.tensor([[1.0, 1.0], [1.0, 2.0]]))
    assert "Mismatched elements: 1 / 4 (25.0%)" in msg and "at index (1, 1)" in msg


def test_equality_messages_for_integers_and_scalars():
    assert message(graphc.tensor([1, 2, 3]), graphc.tensor([1, 3, 3])) == (
        "Tensor-likes are not equal!\n\nMismatched elements: 1 / 3 (33.3%)\n"
        "Greatest absolute difference: 1 at index (1,)\nGreatest relative difference: 0.3333333432674408 at index (1,)"
    )
    assert message(1.5, 1.0) == (
        "Scalars are not close!\n\nExpected 1.0 but got 1.5.\nAbsolute difference: 0.5 (up to 1e-07 allowed)\n"
        "Relative difference: 0.5 (up to 1e-07 allowed)"
    )
    assert message(1, 2) == "Scalars are not equal!\n\nExpected 2 but got 1.\nAbsolute difference: 1\nRelative difference: 0.5"
    assert message(1, 1.0) == "The (d)types do not match: <class 'int'> != <class 'float'>."
    assert "Expected 2.0 but got 1.0." in message(graphc.tensor(1.0), graphc.tensor(2.0))


def test_attribute_checks_and_nesting():
    assert message(graphc.ones(2), graphc.ones(3)).startswith("The values for attribute 'shape' do not match")
    assert message(graphc.ones(2), graphc.ones(2, dtype=graphc.float64)).startswith(
        "The values for attribute 'dtype' do not match"
    )
    assert message([graphc.ones(2), graphc.ones(2)], [graphc.ones(2), graphc.zeros(2)]).endswith(
        "The failure occurred for item [1]"
    )
    assert message({"a": graphc.ones(2)}, {"a": graphc.zeros(2)}).endswith("The failure occurred for item ['a']")
    assert message([[1.0, 2], [3, 4]], [[1.0, 2], [3, 5]]).endswith("item [1][1]")
    assert message([1, 2], [1, 2, 3]) == "The length of the sequences mismatch: 2 != 3"
    assert message({"a": 1, "b": 2}, {"a": 1, "c": 2}) == (
        "The keys of the mappings do not match:\nMissing keys in the actual mapping: ['c']\n"
        "Additional keys in the actual mapping: ['b']"
    )
    assert "Greatest absolute difference: nan" in message(graphc.tensor([float("nan")]), graphc.tensor([float("nan")]))
    with pytest.raises(AssertionError, match="stride"):
        assert_close(graphc.ones(2, 3).T, graphc.ones(3, 2), check_stride=True)
    assert_close(graphc.ones(2, 3).T, graphc.ones(3, 2))


def test_msg_and_argument_errors():
    assert message(graphc.ones(2), graphc.zeros(2), msg="custom") == "custom"
    assert message(graphc.ones(2), graphc.zeros(2), msg=lambda m: m + "!!").endswith("allowed)!!")
    with pytest.raises(ValueError, match="got no atol"):
        assert_close(graphc.ones(2), graphc.ones(2), rtol=0.1)
    with pytest.raises(TypeError, match="No comparison pair"):
        assert_close(graphc.ones(2), [1.0, 1.0])
    assert_close(graphc.ones(2), graphc.zeros(2) + 0.5, rtol=0.0, atol=0.5)


def test_assert_allclose_is_deprecated():
    with pytest.warns(FutureWarning, match="assert_allclose"):
        assert_allclose(graphc.ones(2), [1.0, 1.0])


def test_make_tensor():
    graphc.manual_seed(0)
    t = make_tensor((200,), dtype=graphc.float32, device="cpu", low=-1, high=1)
    assert t.dtype == graphc.float32 and t.shape == (200,) and -1 <= t.min().item() and t.max().item() < 1
    i = make_tensor(200, dtype=graphc.int64, device="cpu")
    assert -9 <= i.min().item() and i.max().item() <= 9
    u = make_tensor(2, 3, dtype=graphc.uint8, device="cpu", exclude_zero=True)
    assert u.shape == (2, 3) and u.min().item() >= 1
    assert make_tensor(5, dtype=graphc.bool, device="cpu").dtype == graphc.bool
    nc = make_tensor((3, 4), dtype=graphc.float32, device="cpu", noncontiguous=True)
    assert not nc.is_contiguous() and nc.shape == (3, 4)
    g = make_tensor(2, dtype=graphc.float64, device="cpu", requires_grad=True)
    assert g.requires_grad and g.is_leaf
    z = make_tensor(4, dtype=graphc.float16, device="cpu", low=0, high=0, exclude_zero=True)
    assert (z.numpy() > 0).all()
    assert make_tensor(2, dtype=graphc.complex64, device="cpu").dtype == graphc.complex64
    with pytest.raises(ValueError):
        make_tensor(2, dtype=graphc.float32, device="cpu", low=2, high=1)
