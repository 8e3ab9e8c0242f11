"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""

from __future__ import annotations

from .. import _functional as _F
from ..autograd.grad_mode import no_grad
from .optimizer import Optimizer, required

__all__ = ["SGD"]


class SGD(Optimizer):
    """PyTorch's SGD update, as in-place tensor ops::

        g = grad (+ weight_decay * p);  buf = momentum * buf + (1 - dampening) * g  (buf = g at first)
        g = g + momentum * buf  (nesterov)  or  g = buf;   p -= lr * g

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
        if lr is not required and not isinstance(lr, (int, float)) and not hasattr(lr, "dtype"):
            raise TypeError(f"Invalid learning rate type: {type(lr).__name__}")
        if lr is not required and isinstance(lr, (int, float)) and lr < 0.0:
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

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns ``closure()`` if given."""
        loss = self._closure(closure)
        with no_grad():
            for group in self.param_groups:
                lr, momentum, dampening = self._lr(group), group["momentum"], group["dampening"]
                weight_decay, nesterov, maximize = group["weight_decay"], group["nesterov"], group["maximize"]
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
                        d_p = _F.add(d_p, _F.mul(buf, m)) if nesterov else buf
                    p.sub_(_F.mul(d_p, lr))
        return loss
