"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""

from __future__ import annotations

import numpy as np

from .. import _functional as _F
from .._inplace import note_writes
from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from .optimizer import Optimizer, axpy_array, check_fused, numpy_ready, required

__all__ = ["SGD"]


class SGD(Optimizer):
    """PyTorch's SGD update, as in-place tensor ops::

        g = grad (+ weight_decay * p);  buf = momentum * buf + (1 - dampening) * g  (buf = g at first)
        g = g + momentum * buf  (nesterov)  or  g = buf;   p -= lr * g

    each ``x + s * y`` rounded once, as PyTorch's ``add(..., alpha=s)`` on the CPU.

    >>> opt = optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    """

    def __init__(
        self,
        params,
        lr=1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach=None,
        differentiable: bool = False,
        fused=None,
    ):
        if lr is not required and not isinstance(lr, Tensor) and lr < 0.0:  # (lr='0.1': TypeError, as PyTorch)
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
            foreach=foreach,
            differentiable=differentiable,
            fused=fused,
        )
        super().__init__(params, defaults)
        check_fused(fused, foreach, differentiable)

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns ``closure()`` if given."""
        loss = self._closure(closure)
        with no_grad():
            for group in self.param_groups:
                lr, momentum, dampening = self._lr(group), group["momentum"], group["dampening"]
                weight_decay, nesterov, maximize = group["weight_decay"], group["nesterov"], group["maximize"]
                if self._numpy_update(group, lr):
                    continue
                neg_lr = self._neg_lr(group)
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    d_p = p.grad if not maximize else _F.neg(p.grad)
                    if weight_decay != 0:
                        d_p = _F.add(d_p, p, alpha=weight_decay)
                    if momentum != 0:
                        m = self._hyper(group, "momentum")  # cycled by CyclicLR/OneCycleLR
                        state = self.state[p]
                        buf = state.get("momentum_buffer")
                        if buf is None:
                            buf = _F.clone(d_p).detach()
                            state["momentum_buffer"] = buf
                        else:
                            buf.mul_(m).add_(d_p, alpha=1 - dampening)
                        d_p = _F.add(d_p, buf, alpha=m) if nesterov else buf
                    p.add_(d_p, alpha=neg_lr)  # PyTorch's update: one rounding (a fused multiply-add)
        return loss

    def _numpy_update(self, group, lr) -> bool:
        """The whole group's update straight on the arrays, when it may: True if done.

        The same arithmetic as the tensor ops of :meth:`step`, in the same order and
        dtype (Python numbers rounded to the parameter's dtype, as graphc's scalar operands
        are), without dispatching four ops per parameter: eager CPU float tensors with
        dense gradients of their dtype, a Python-number learning rate, nothing tracing.
        PyTorch's ``foreach`` implementations are the same idea; ``foreach=False`` keeps
        the op-by-op loop.
        """
        if group["foreach"] is False or group["differentiable"]:
            return False
        params = [p for p in group["params"] if p.grad is not None]
        momentum = self._hyper(group, "momentum")
        bufs = {p: self.state[p].get("momentum_buffer") for p in params if p in self.state}
        bufs = {p: b for p, b in bufs.items() if b is not None}
        if not numpy_ready(params, lr, momentum, group["dampening"], group["weight_decay"], state=bufs.values()):
            return False
        if any(b._data.shape != p._data.shape or b._data.dtype != p._data.dtype for p, b in bufs.items()):
            return False
        dampening, wd, nesterov = group["dampening"], group["weight_decay"], group["nesterov"]
        for p in params:
            data, grad = p._data, p.grad._data
            d_p = np.negative(grad) if group["maximize"] else grad
            if wd != 0:
                d_p = axpy_array(d_p, data, wd)
            if momentum != 0:
                state = self.state[p]
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = state["momentum_buffer"] = Tensor._wrap(np.array(d_p, copy=True), p._dtype, p._device)
                else:
                    b = buf._data
                    np.multiply(b, momentum, out=b)
                    if dampening == 0:
                        np.add(b, d_p, out=b)
                    else:
                        axpy_array(b, d_p, 1 - dampening, out=b)
                    note_writes(buf, 2)
                d_p = axpy_array(d_p, buf._data, momentum) if nesterov else buf._data
            axpy_array(data, d_p, -lr, out=data)
            note_writes(p, 1)
        return True
