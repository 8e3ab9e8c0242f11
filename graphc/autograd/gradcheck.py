"""``gradcheck``: analytic gradients against float64 central differences, as in PyTorch.

For each input that requires grad and each of its elements, the function is
evaluated at ``x ± eps`` to build the numerical Jacobian; the analytic one
comes from ``autograd.grad`` with one-hot output gradients. They must agree
within ``atol + rtol * |numerical|``. Complex inputs and outputs are checked as
pairs of real numbers, with PyTorch's convention for complex gradients.
"""

from __future__ import annotations

import warnings

import numpy as np

from ir.errors import GradcheckError  # noqa: F401 - re-exported by graphc.autograd

from .._factories import _from_array, zeros_like
from .._grad_mode import enable_grad, no_grad
from .._tensor import Tensor
from .engine import grad


def _outputs(fn, inputs):
    out = fn(*inputs)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return [o for o in outs if isinstance(o, Tensor)]


def _reals(t: Tensor) -> np.ndarray:
    """A tensor's values as float64 real numbers: a complex element counts as (real, imaginary)."""
    a = np.asarray(t._host())
    if np.iscomplexobj(a):
        a = np.stack([a.real, a.imag], axis=-1)
    return np.asarray(a, dtype=np.float64).reshape(-1)


def _width(t: Tensor) -> int:
    return t.numel() * (2 if t.dtype.is_complex else 1)


def _jacobians(fn, inputs, eps):
    """Central differences in every real coordinate of every input that requires grad (a
    complex element has two: its real and its imaginary part)."""
    diff_inputs = [t for t in inputs if getattr(t, "requires_grad", False)]
    with no_grad():
        outs = _outputs(fn, inputs)
    n_out = sum(_width(o) for o in outs)

    def evaluate():
        with no_grad():
            return np.concatenate([_reals(o) for o in _outputs(fn, inputs)]) if n_out else np.zeros(0)

    numerical = []
    for t in diff_inputs:
        data = t._data
        steps = (eps, eps * 1j) if t.dtype.is_complex else (eps,)
        jac = np.zeros((_width(t), n_out))
        row = 0
        for i in range(t.numel()):
            idx = np.unravel_index(i, data.shape) if data.ndim else ()
            orig = data[idx].copy()
            for step in steps:
                data[idx] = orig + step
                plus = evaluate()
                data[idx] = orig - step
                minus = evaluate()
                data[idx] = orig
                jac[row] = (plus - minus) / (2 * eps)
                row += 1
        numerical.append(jac)
    return diff_inputs, n_out, numerical


def _analytic(fn, inputs, diff_inputs, n_out, create_graph=False):
    """Vector-Jacobian products with one-hot output gradients. In PyTorch's convention the
    gradient of a real function ``L`` is ``dL/dRe + i dL/dIm``: the seed of an output's real
    part is 1 and of its imaginary part ``1j``, and a complex input gradient's real and
    imaginary parts are the two rows of that element."""
    outs = _outputs(fn, inputs)
    jacs = [np.zeros((_width(t), n_out)) for t in diff_inputs]
    col = 0
    for o in outs:
        seeds = (1, 1j) if o.dtype.is_complex else (1,)
        for j in range(o.numel()):
            for value in seeds:
                if not o.requires_grad:
                    col += 1
                    continue
                seed = zeros_like(o)
                seed._data.reshape(-1)[j] = value
                grads = grad([o], diff_inputs, [seed], retain_graph=True, allow_unused=True)
                for k, g in enumerate(grads):
                    if g is not None:
                        jacs[k][:, col] = _reals(g)
                col += 1
    return jacs


def gradcheck(fn, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, **_ignored) -> bool:
    """Check ``fn``'s gradients at ``inputs`` (use float64 or complex128 tensors that require grad)."""
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    for t in inputs:
        if isinstance(t, Tensor) and t.requires_grad and t.dtype.name not in ("float64", "complex128"):
            warnings.warn(
                f"gradcheck: input of dtype {t.dtype} requires grad; use float64 for a reliable check",
                UserWarning,
                stacklevel=2,
            )
    diff_inputs, n_out, numerical = _jacobians(fn, inputs, eps)
    analytic = _analytic(fn, inputs, diff_inputs, n_out)
    for k, (num, ana) in enumerate(zip(numerical, analytic)):
        if not np.allclose(ana, num, atol=atol, rtol=rtol, equal_nan=False):
            if raise_exception:
                raise GradcheckError(
                    f"Jacobian mismatch for output 0 with respect to input {k},\n"
                    f"numerical:{num}\nanalytical:{ana}\n"
                )
            return False
    return True


def gradgradcheck(fn, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True) -> bool:
    """Check second derivatives: gradcheck of the function's vector-Jacobian product."""
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    outs = _outputs(fn, inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = [_from_array(rng.standard_normal(tuple(o.shape)).astype(o.dtype.numpy_dtype), o.dtype) for o in outs]
    def vjp(*args):
        # gradcheck evaluates its function under no_grad for the numerical
        # Jacobian; the vector-Jacobian product needs the forward graph anyway.
        with enable_grad():
            o = _outputs(fn, args)
            d = [a for a in args if getattr(a, "requires_grad", False)]
            grads = grad(o, d, grad_outputs, create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(vjp, inputs, eps=eps, atol=atol, rtol=rtol, raise_exception=raise_exception)
