"""RMSprop and Adagrad."""

from __future__ import annotations

from ir import dtypes as dt

from .. import _factories
from .. import _functional as _F
from ..autograd.grad_mode import no_grad
from .optimizer import Optimizer, check_fused, check_lr, decayed_grad, new_step_count

__all__ = ["RMSprop", "Adagrad"]


class RMSprop(Optimizer):
    """``v = alpha v + (1 - alpha) g^2;  p -= lr * g / (sqrt(v) + eps)`` (centered / momentum optional)."""

    def __init__(
        self,
        params,
        lr=1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        capturable: bool = False,
        foreach=None,
        maximize: bool = False,
        differentiable: bool = False,
    ):
        check_lr(lr)
        for name, value in (("epsilon", eps), ("momentum", momentum), ("weight_decay", weight_decay), ("alpha", alpha)):
            if not 0.0 <= value:
                raise ValueError(f"Invalid {name} value: {value}")
        defaults = dict(
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
            capturable=capturable,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
        )
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure(closure)
        with no_grad():
            for group in self.param_groups:
                lr, alpha, eps, wd = self._lr(group), group["alpha"], group["eps"], group["weight_decay"]
                momentum, centered = group["momentum"], group["centered"]
                for p, grad, state in self._updates(group, self._new_state):
                    grad = decayed_grad(p, grad, lr, wd)
                    square_avg = state["square_avg"]
                    square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
                    if centered:
                        grad_avg = state["grad_avg"]
                        grad_avg.lerp_(grad, 1 - alpha)
                        avg = _F.add(_F.sqrt(_F.addcmul(square_avg, grad_avg, grad_avg, value=-1)), eps)
                    else:
                        avg = _F.add(_F.sqrt(square_avg), eps)
                    if momentum > 0:
                        buf = state["momentum_buffer"]
                        buf.mul_(self._hyper(group, "momentum")).addcdiv_(grad, avg)
                        p.sub_(_F.mul(buf, lr))
                    else:
                        p.sub_(_F.mul(_F.div(grad, avg), lr))
        return loss

    @staticmethod
    def _new_state(p, group) -> dict:
        state = {"step": new_step_count(p), "square_avg": _factories.zeros_like(p)}
        if group["momentum"] > 0:
            state["momentum_buffer"] = _factories.zeros_like(p)
        if group["centered"]:
            state["grad_avg"] = _factories.zeros_like(p)
        return state


class Adagrad(Optimizer):
    """``s += g^2;  p -= lr / (1 + (t - 1) lr_decay) * g / (sqrt(s) + eps)``."""

    def __init__(
        self,
        params,
        lr=1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        foreach=None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused=None,
    ):
        check_lr(lr)
        for name, value in (
            ("lr_decay", lr_decay),
            ("weight_decay", weight_decay),
            ("initial_accumulator_value", initial_accumulator_value),
            ("epsilon", eps),
        ):
            if not 0.0 <= value:
                raise ValueError(f"Invalid {name} value: {value}")
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            eps=eps,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
            fused=fused,
        )
        super().__init__(params, defaults)
        check_fused(fused, foreach, differentiable)
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p].update(self._new_state(p, group))

    def _new_state(self, p, group) -> dict:
        """A step count and ``sum`` filled with the optimizer's ``initial_accumulator_value``: made
        in the constructor for its parameters (they appear in ``state_dict`` before any step) and
        at the first step of those added later by ``add_param_group``. As in PyTorch, a group's
        own ``initial_accumulator_value`` is not used here, only the constructor's."""
        return {"step": new_step_count(p), "sum": _factories.full_like(p, self.defaults["initial_accumulator_value"])}

    def step(self, closure=None):
        loss = self._closure(closure)
        with no_grad():
            for group in self.param_groups:
                lr, lr_decay, wd, eps = self._lr(group), group["lr_decay"], group["weight_decay"], group["eps"]
                for p, grad, state in self._updates(group, self._new_state):
                    step_t = state["step"]
                    grad = decayed_grad(p, grad, lr, wd)
                    clr = _F._to(
                        _F.div(lr, _F.add(_F.mul(_F.sub(_F._to(step_t, dt.float64), 1), lr_decay), 1)), p.dtype
                    )
                    state["sum"].addcmul_(grad, grad, value=1)
                    std = _F.add(_F.sqrt(state["sum"]), eps)
                    p.sub_(_F.mul(_F.div(grad, std), clr))
        return loss
