"""Adadelta and ASGD (averaged SGD): PyTorch's update rules as in-place tensor ops.

ASGD's ``eta`` and ``mu`` are 0-d float32 state tensors updated from the step count with
tensor ops (PyTorch keeps them as float32 tensors too), so a compiled step stays right on
every replay.
"""

from __future__ import annotations

from ir import dtypes as dt

from .. import _factories
from .. import _functional as _F
from ..autograd.grad_mode import no_grad
from .optimizer import Optimizer, check_lr, decayed_grad, new_step_count, zeroed_state

__all__ = ["Adadelta", "ASGD"]


class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012)::

        v = rho v + (1 - rho) g^2;   d = sqrt(u + eps) / sqrt(v + eps) * g
        u = rho u + (1 - rho) d^2;   p -= lr d
    """

    def __init__(self, params, lr=1.0, rho: float = 0.9, eps: float = 1e-6, weight_decay: float = 0,
                 foreach=None, *, capturable: bool = False, maximize: bool = False, differentiable: bool = False):
        check_lr(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure(closure)
        with no_grad():
            for group in self.param_groups:
                lr, rho, eps, wd = self._lr(group), group["rho"], group["eps"], group["weight_decay"]
                for p, grad, state in self._updates(group, zeroed_state("square_avg", "acc_delta")):
                    grad = decayed_grad(p, grad, lr, wd)
                    square_avg, acc_delta = state["square_avg"], state["acc_delta"]
                    square_avg.mul_(rho).addcmul_(grad, grad, value=1 - rho)
                    std = _F.sqrt(_F.add(square_avg, eps))
                    delta = _F.mul(_F.div(_F.sqrt(_F.add(acc_delta, eps)), std), grad)
                    acc_delta.mul_(rho).addcmul_(delta, delta, value=1 - rho)
                    p.sub_(_F.mul(delta, lr))
        return loss


class ASGD(Optimizer):
    """Averaged SGD (Polyak and Juditsky, 1992)::

        p *= 1 - lambd eta;   p -= eta g;   ax += mu (p - ax)
        eta = lr / (1 + lambd lr t)^alpha;   mu = 1 / max(1, t - t0)

    ``state['ax']`` is the running average of the parameter.
    """

    def __init__(self, params, lr=1e-2, lambd: float = 1e-4, alpha: float = 0.75, t0: float = 1e6,
                 weight_decay: float = 0, foreach=None, maximize: bool = False, differentiable: bool = False,
                 capturable: bool = False):
        check_lr(lr)
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure(closure)
        with no_grad():
            for group in self.param_groups:
                lr, lambd, alpha, t0, wd = (self._lr(group), group["lambd"], group["alpha"], group["t0"],
                                            group["weight_decay"])
                for p, grad, state in self._updates(group, self._new_state):
                    step_t, eta, mu, ax = state["step"], state["eta"], state["mu"], state["ax"]
                    grad = decayed_grad(p, grad, lr, wd)
                    eta_p = _F._to(eta, p.dtype)
                    p.mul_(_F.rsub(_F.mul(eta_p, lambd), 1.0))
                    p.sub_(_F.mul(grad, eta_p))
                    mu_p = _F._to(mu, p.dtype)
                    ax.copy_(_F.where(_F.eq(mu_p, 1.0), p, _F.add(ax, _F.mul(_F.sub(p, ax), mu_p))))
                    t = _F._to(step_t, dt.float64)
                    lr64 = _F._to(lr, dt.float64) if not isinstance(lr, (int, float)) else float(lr)
                    eta.copy_(_F.div(lr64, _F.pow(_F.add(_F.mul(_F.mul(t, lr64), lambd), 1.0), alpha)))
                    mu.copy_(_F.reciprocal(_F.clamp(_F.sub(t, t0), min=1.0)))
        return loss

    @staticmethod
    def _new_state(p, group) -> dict:
        return {
            "step": new_step_count(p),
            "eta": _factories.full((), float(group["lr"]), dtype=dt.float32, device=p.device),
            "mu": _factories.ones((), dtype=dt.float32, device=p.device),
            "ax": _factories.zeros_like(p),
        }
