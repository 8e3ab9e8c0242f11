"""In-place semantics found different from PyTorch's by the round-10 differential hunt (second
round): copy_/setitem narrowing casts, memory-overlap errors, views that autograd forbids
writing (multi-output and no_grad views), out= under autograd, detach_ of a view, remainder's
signed zeros and boolean alpha. References are hand-computed."""

import warnings

import numpy as np
import pytest

import graphc

# ---------------------------------------------------------------------------------------------
# copy_ and setitem cast to the destination's dtype, narrowing included


@pytest.mark.parametrize(
    ("dtype", "src", "expected"),
    [
        ("int64", [1.9, -1.9, 0.5], [1, -1, 0]),  # truncation toward zero
        ("int32", [2.7, -2.7, 7.0], [2, -2, 7]),
        ("uint8", [1.9, 300.5, -1.0], [1, 44, 255]),  # out of range wraps like the integer part
        ("int8", [127.9, -128.9, 3.5], [127, -128, 3]),
        ("bool", [0.0, 0.1, -2.0], [False, True, True]),  # != 0
    ],
)
def test_copy_narrows_a_float_source(dtype, src, expected):
    x = graphc.zeros(3, dtype=getattr(graphc, dtype))
    assert x.copy_(graphc.tensor(src)) is x
    np.testing.assert_array_equal(x.numpy(), np.array(expected, dtype=np.dtype(dtype)))


def test_copy_narrows_int_to_bool_and_int_to_narrower_int():
    b = graphc.zeros(3, dtype=graphc.bool)
    b.copy_(graphc.tensor([0, 2, -1]))
    assert b.tolist() == [False, True, True]
    i = graphc.zeros(2, dtype=graphc.int8)
    i.copy_(graphc.tensor([300, -1]))
    assert i.tolist() == [44, -1]


def test_copy_of_complex_into_real_drops_the_imaginary_part_with_a_warning():
    x = graphc.zeros(2)
    with pytest.warns(UserWarning, match="Casting complex values to real discards the imaginary part"):
        x.copy_(graphc.tensor([1 + 2j, 3 - 4j]))
    assert x.tolist() == [1.0, 3.0]
    n = graphc.zeros(2, dtype=graphc.int32)
    with pytest.warns(UserWarning, match="discards the imaginary part"):
        n.copy_(graphc.tensor([1.5 + 2j, -3.7 - 4j]))
    assert n.tolist() == [1, -3]


def test_copy_into_an_integer_tensor_has_no_gradient_path():
    s = graphc.tensor([1.5, 2.5], requires_grad=True)
    x = graphc.zeros(2, dtype=graphc.int64)
    x.copy_(s)
    assert x.tolist() == [1, 2] and not x.requires_grad and x.grad_fn is None


def test_copy_of_complex_into_real_keeps_the_gradient_of_the_real_part():
    s = graphc.tensor([1.5 + 1j, 2.5 - 1j], requires_grad=True)
    x = graphc.zeros(2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x.copy_(s)
    (x * graphc.tensor([2.0, 3.0])).sum().backward()
    np.testing.assert_array_equal(s.grad.numpy(), np.array([2 + 0j, 3 + 0j], dtype=np.complex64))


def test_widening_copy_still_differentiates():
    s = graphc.tensor([1.5, 2.5], dtype=graphc.float64, requires_grad=True)
    x = graphc.zeros(2)
    x.copy_(s)
    x.sum().backward()
    assert s.grad.tolist() == [1.0, 1.0]


def test_setitem_casts_a_tensor_value_through_a_basic_key():
    x = graphc.zeros(3, dtype=graphc.int32)
    x[1] = graphc.tensor(-3.9)
    assert x.tolist() == [0, -3, 0]
    b = graphc.zeros(2, dtype=graphc.bool)
    b[:] = graphc.tensor([0, 2])
    assert b.tolist() == [False, True]
    f = graphc.zeros(2)
    with pytest.warns(UserWarning, match="discards the imaginary part"):
        f[0] = graphc.tensor(1 + 2j)
    assert f.tolist() == [1.0, 0.0]


def test_setitem_of_python_floats_into_an_int_tensor_truncates():
    x = graphc.zeros(3, dtype=graphc.int64)
    x[0] = 2.7
    x[1] = -2.7
    assert x.tolist() == [2, -2, 0]


def test_setitem_of_a_requires_grad_float_into_an_int_tensor():
    s = graphc.tensor([1.5, 2.5], requires_grad=True)
    x = graphc.zeros(2, dtype=graphc.int64)
    x[0] = s[0]
    assert x.tolist() == [1, 0] and not x.requires_grad


def test_setitem_mask_with_a_0d_value_casts_but_index_put_needs_a_kind_that_fits():
    x = graphc.zeros(3, dtype=graphc.int64)
    x[graphc.tensor([True, False, True])] = graphc.tensor(1.5)
    assert x.tolist() == [1, 0, 1]
    with pytest.raises(RuntimeError, match="Index put requires the source and destination dtypes match"):
        x[[0, 2]] = graphc.tensor([1.7, -2.7])
    s = graphc.tensor([1.5], requires_grad=True)  # the autograd path raises the same
    with pytest.raises(RuntimeError, match="Index put requires the source and destination dtypes match"):
        x[[0]] = s


# ---------------------------------------------------------------------------------------------
# partial memory overlap between the written-to tensor and an input raises


_PARTIAL = [
    lambda x: x.__setitem__(slice(1, None), x[:-1]),
    lambda x: x[1:].add_(x[:-1]),
    lambda x: x[1:].copy_(x[:-1]),
    lambda x: x[1:].addcmul_(x[:-1], x[:-1]),
    lambda x: x[1:].clamp_(min=x[:-1]),
    lambda x: x.add_(x[0]),  # a 0-d view inside x
    lambda x: x.view(2, 3).add_(x.view(3, 2).t()),  # a transpose: same memory, other order
    lambda x: x.__setitem__([1, 2, 3], x[:3]),
    lambda x: x.__setitem__([0, 1, 2, 3, 4, 5], x),  # index_put_ refuses even full overlap
    lambda x: x[1:].index_copy_(0, graphc.tensor([0, 1]), x[:2]),
    lambda x: x.__iadd__(x[0]),
]


@pytest.mark.parametrize("write", _PARTIAL)
def test_partial_overlap_raises(write):
    x = graphc.arange(6.0)
    with pytest.raises(RuntimeError, match="refer to a single memory location. Please clone"):
        write(x)
    assert x.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]


def test_partial_overlap_raises_with_autograd_too():
    y = graphc.arange(6.0, requires_grad=True) * 1
    with pytest.raises(RuntimeError, match="single memory location"):
        y[1:].add_(y[:-1])
    with pytest.raises(RuntimeError, match="single memory location"):
        y[1:] = y[:-1]


@pytest.mark.parametrize(
    ("write", "expected"),
    [
        (lambda x: x.add_(x), [0, 2, 4, 6, 8, 10]),  # the same memory, the same way
        (lambda x: x.view(2, 3).add_(x.view(2, 3)), [0, 2, 4, 6, 8, 10]),
        (lambda x: x.copy_(x), [0, 1, 2, 3, 4, 5]),
        (lambda x: x.__setitem__(slice(None), x), [0, 1, 2, 3, 4, 5]),
        (lambda x: x.__setitem__(slice(3, None), x[:3]), [0, 1, 2, 0, 1, 2]),  # disjoint
        (lambda x: x[:3].add_(x[3:]), [3, 5, 7, 3, 4, 5]),
        (lambda x: x[::2].mul_(x[1::2]), [0, 1, 6, 3, 20, 5]),  # strided: "too hard", allowed
        (lambda x: x.add_(x.flip(0)), [5, 5, 5, 5, 5, 5]),
        (lambda x: x.fill_(x[1]), [1, 1, 1, 1, 1, 1]),  # a 0-d value is read as a number
        (lambda x: x[1:].masked_fill_(x[1:] > 2, x[0]), [0, 1, 2, 0, 0, 0]),
    ],
)
def test_full_or_no_overlap_is_allowed(write, expected):
    x = graphc.arange(6.0)
    write(x)
    assert x.tolist() == expected


# ---------------------------------------------------------------------------------------------
# views autograd forbids writing in place: multi-output views, views made under no_grad


@pytest.mark.parametrize(
    "pieces",
    [lambda y: y.unbind(), lambda y: y.split(2), lambda y: y.chunk(2), lambda y: y.split([1, 3]),
     lambda y: y.split(4)],
)
def test_inplace_on_a_multi_output_view_raises_under_autograd(pieces):
    y = graphc.ones(4, requires_grad=True) * 1
    with pytest.raises(RuntimeError, match="output of a function that returns multiple views"):
        pieces(y)[0].mul_(3)
    with pytest.raises(RuntimeError, match="returns multiple views"):  # a view of such a view
        pieces(y)[0].view(-1)[:1].mul_(3)
    assert y.tolist() == [1.0, 1.0, 1.0, 1.0]


def test_multi_output_view_message_names_the_output_and_the_function():
    y = graphc.ones(2, 2, requires_grad=True) * 1
    with pytest.raises(RuntimeError, match="Output 1 of Unbind is a view"):
        y.unbind()[1][0] = 5.0


def test_multi_output_views_are_writable_without_autograd():
    y = graphc.ones(4)
    y.unbind()[1].mul_(3)
    y.chunk(2)[1].add_(1)
    assert y.tolist() == [1.0, 3.0, 2.0, 2.0]
    x = graphc.ones(4, requires_grad=True)
    y = x * 1
    with graphc.no_grad():
        y.unbind()[1].mul_(3)
    y.unbind()[2].detach().mul_(5)
    y.tensor_split(2)[1].mul_(7)  # tensor_split's pieces are ordinary views
    assert y.tolist() == [1.0, 3.0, 35.0, 7.0]
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 7.0, 7.0]  # (untracked writes scale no gradient)


def test_inplace_on_a_view_made_under_no_grad_raises_with_grad_mode_on():
    x = graphc.ones(3, requires_grad=True)
    y = x * 1
    with graphc.no_grad():
        v = y[:2]
        u = y.unbind()[1]  # (reported as a no_grad view, as PyTorch does)
    with pytest.raises(RuntimeError, match="A view was created in no_grad mode"):
        v.mul_(2)
    with pytest.raises(RuntimeError, match="A view of a view which was created in no_grad mode"):
        v[:1].mul_(2)
    with pytest.raises(RuntimeError, match="A view was created in no_grad mode"):
        u.mul_(2)
    with graphc.no_grad():
        w = x[:2]
    with pytest.raises(RuntimeError, match="A view was created in no_grad mode"):
        w.mul_(2)  # (before the leaf-view error, as in PyTorch)
    with graphc.no_grad():
        v.mul_(2)  # both under no_grad: fine
    assert y.tolist() == [2.0, 2.0, 1.0]


def test_detach_in_place_of_a_view_raises():
    x = graphc.ones(3, requires_grad=True)
    for v in ((x * 2)[:2], graphc.ones(3)[:2], x.detach()[:2], graphc.arange(3)[1:]):
        with pytest.raises(RuntimeError, match="Can't detach views in-place. Use detach"):
            v.detach_()
    y = x * 2
    y.detach_()  # not a view: fine
    assert not y.requires_grad and y.grad_fn is None
    d = x.detach()
    d.detach_()  # a detached alias is not a view either
    assert not d.requires_grad


# ---------------------------------------------------------------------------------------------
# out= while autograd records


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda x, o: graphc.add(x, 1, out=o), "add"),
        (lambda x, o: graphc.exp(x, out=o), "exp"),
        (lambda x, o: graphc.mul(x, x, out=o), "mul"),
    ],
)
def test_out_with_an_input_that_requires_grad_raises(call, name):
    x = graphc.ones(3, requires_grad=True)
    o = graphc.zeros(3)
    with pytest.raises(RuntimeError, match=rf"^{name}\(\): functions with out=\.\.\. arguments don't support"):
        call(x, o)
    assert o.tolist() == [0.0, 0.0, 0.0]
    with graphc.no_grad():
        call(x, o)
    assert o.tolist() == call(x.detach(), None).tolist()


def test_out_that_requires_grad_raises_and_comparisons_into_out_are_fine():
    with pytest.raises(RuntimeError, match="functions with out=... arguments don't support"):
        graphc.add(graphc.ones(3), 1, out=graphc.zeros(3, requires_grad=True))
    o = graphc.zeros(2, 2)
    with pytest.raises(RuntimeError, match=r"^mm\(\): functions with out="):
        graphc.mm(graphc.ones(2, 2, requires_grad=True), graphc.ones(2, 2), out=o)
    b = graphc.zeros(3, dtype=graphc.bool)
    graphc.gt(graphc.ones(3, requires_grad=True), 0, out=b)  # a bool result has no gradient
    assert b.tolist() == [True, True, True]


# ---------------------------------------------------------------------------------------------
# small ones


def test_remainder_zero_keeps_the_dividends_sign():
    # PyTorch's kernel: fmod, then + b where the signs differ; a zero keeps fmod's sign (a's)
    for dtype in (graphc.float32, graphc.float64, graphc.float16):
        r = graphc.remainder(graphc.tensor([5.0, -5.0, 0.0, 2.0], dtype=dtype), -2.5).numpy()
        np.testing.assert_array_equal(r, np.array([0.0, -0.0, 0.0, -0.5]))
        np.testing.assert_array_equal(np.signbit(r), [False, True, False, True])
        r = (graphc.tensor([-5.0, 5.0], dtype=dtype) % 2.5).numpy()
        np.testing.assert_array_equal(np.signbit(r), [True, False])
    r = graphc.remainder(graphc.tensor([2, 5, -5, 0]), -2.5).numpy()
    np.testing.assert_array_equal(np.signbit(r), [True, False, True, False])
    big = graphc.remainder(graphc.full((2048,), -5.0), 2.5).numpy()  # the fast float32 fmod path
    assert np.signbit(big).all() and not big.any()


@pytest.mark.parametrize("fn", [graphc.add, graphc.sub])
def test_boolean_alpha_needs_a_boolean_result(fn):
    for x in (graphc.tensor([3]), graphc.tensor([3.0])):
        for alpha in (True, False):
            with pytest.raises(RuntimeError, match="Boolean alpha only supported for Boolean results"):
                fn(x, 1, alpha=alpha)
    assert graphc.add(graphc.tensor([True]), graphc.tensor([False]), alpha=True).tolist() == [True]
    with pytest.raises(RuntimeError, match="alpha must not be a floating point number"):
        fn(graphc.tensor([3]), 1, alpha=1.0)
