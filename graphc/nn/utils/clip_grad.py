"""Gradient clipping, written with tensor ops under ``no_grad`` (so it traces under compile)."""

from __future__ import annotations

import math

from ... import _functional as _F
from ..._factories import tensor as _tensor
from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm"]


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def get_total_norm(tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    """The ``norm_type``-norm of all ``tensors`` together (as if concatenated)."""
    if isinstance(tensors, Tensor):
        tensors = [tensors]
    tensors = list(tensors)
    if not tensors:
        return _tensor(0.0)
    norm_type = float(norm_type)
    with no_grad():
        norms = [_F.norm(g, norm_type) for g in tensors]
        if math.isinf(norm_type):
            total = _F.amax(_F.stack(norms)) if norm_type > 0 else _F.amin(_F.stack(norms))
        else:
            total = _F.norm(_F.stack(norms), norm_type)
    if error_if_nonfinite and not bool(_F.isfinite(total)):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so it cannot be "
            "clipped. To disable this error and scale the gradients by the non-finite norm anyway, set "
            "`error_if_nonfinite=False`"
        )
    return total


def clip_grad_norm_(
    parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False, foreach=None
) -> Tensor:
    """Scale the gradients in place so that their total norm is at most ``max_norm``; returns the norm before.

    >>> nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    """
    grads = _grads(parameters)
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    if not grads:
        return total
    with no_grad():
        coef = _F.clamp(_F.div(float(max_norm), _F.add(total, 1e-6)), max=1.0)
        for g in grads:
            g.mul_(_F._to(coef, g.dtype))
    return total


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Clamp every gradient element to [-clip_value, clip_value] in place."""
    clip_value = float(clip_value)
    with no_grad():
        for g in _grads(parameters):
            g.clamp_(-clip_value, clip_value)
