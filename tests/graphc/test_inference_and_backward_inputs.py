"""inference_mode as PyTorch's (it wins over enable_grad; inference tensors may not be saved for
backward nor written in place outside it) and backward(inputs=)/autograd.grad argument rules."""

import numpy as np
import pytest

import graphc


def test_enable_grad_inside_inference_mode_does_not_record():
    x = graphc.ones(3, requires_grad=True)
    with graphc.inference_mode():
        assert graphc.is_inference_mode_enabled()
        with graphc.enable_grad():
            y = x * 2
            assert graphc.is_grad_enabled()  # the flag is on, as PyTorch's; recording is not
        assert not y.requires_grad and y.grad_fn is None and y.is_inference()
        with graphc.inference_mode(False):
            assert not graphc.is_inference_mode_enabled() and not graphc.ones(1).is_inference()
    assert not graphc.is_inference_mode_enabled() and not x.is_inference()
    assert (x * 2).requires_grad


def test_inference_tensors():
    x = graphc.ones(3, requires_grad=True)
    with graphc.inference_mode():
        z = graphc.ones(3)
        v = x.view(3)  # a view of a normal tensor stays normal
        z.add_(1)  # in place inside the mode is allowed
    assert z.is_inference() and not v.is_inference()
    with pytest.raises(RuntimeError, match="cannot be saved for backward"):
        x * z
    with pytest.raises(RuntimeError, match="cannot be saved for backward"):
        x[:2] * z[:2]
    for write in (lambda: z.add_(1), lambda: z.__setitem__(0, 3.0), lambda: z.zero_()):
        with pytest.raises(RuntimeError, match="Inplace update to inference tensor outside InferenceMode"):
            write()
    with graphc.no_grad(), pytest.raises(RuntimeError, match="Inplace update to inference tensor"):
        z.mul_(2)
    c = z.clone()  # the documented way out
    assert not c.is_inference()
    (x * c).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0, 2.0])


def test_backward_inputs_fills_non_leaf_grad():
    x = graphc.ones(3, requires_grad=True)
    h = x * 2
    (h**2).sum().backward(inputs=[h])
    np.testing.assert_array_equal(h.grad.numpy(), [4.0, 4.0, 4.0])  # 2 * h
    assert x.grad is None
    h2 = graphc.nn.functional.linear(x[None], graphc.eye(3), graphc.ones(3))  # a composite's result
    (h2**2).sum().backward(inputs=[h2])
    np.testing.assert_array_equal(h2.grad.numpy(), [[4.0, 4.0, 4.0]])


def test_backward_and_grad_argument_errors():
    x = graphc.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="cannot be empty"):
        (x * 2).sum().backward(inputs=[])
    with pytest.raises(RuntimeError, match="all inputs have to be Tensors"):
        graphc.autograd.grad((x * 2).sum(), [x, 3])
    with pytest.raises(ValueError, match="allow_unused"):
        graphc.autograd.grad((x * 2).sum(), [x], allow_unused=False, materialize_grads=True)
    (g,) = graphc.autograd.grad((x * 2).sum(), [x], materialize_grads=True)
    np.testing.assert_array_equal(g.numpy(), [2.0, 2.0, 2.0])
