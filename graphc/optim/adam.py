"""Adam and AdamW (decoupled weight decay), with AMSGrad.

The step count is a 0-d float32 tensor (``state['step']``, as in PyTorch), and
the bias corrections are computed from it with tensor ops: a traced step
stays valid on every replay.
"""

from __future__ import annotations

from ir import dtypes as dt

from .. import _factories
from .. import _functional as _F
from ..autograd.grad_mode import no_grad
from .optimizer import Optimizer, new_step_count

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """PyTorch's Adam::

        g = grad (+ weight_decay * p);  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
        p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)

    (``amsgrad`` uses the running maximum of ``v``; ``AdamW`` decays ``p *= 1 - lr * wd`` instead.)
    """

    _decoupled = False

    def __init__(
        self,
        params,
        lr=1e-3,
        betas=(0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        foreach=None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused=None,
        decoupled_weight_decay: bool = False,
    ):
        if isinstance(lr, (int, float)) and not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
            foreach=foreach,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            decoupled_weight_decay=decoupled_weight_decay or self._decoupled,
        )
        super().__init__(params, defaults)

    def _init_state(self, p, amsgrad: bool) -> dict:
        state = self.state[p]
        if len(state) == 0:
            state["step"] = new_step_count(p)
            state["exp_avg"] = _factories.zeros_like(p)
            state["exp_avg_sq"] = _factories.zeros_like(p)
            if amsgrad:
                state["max_exp_avg_sq"] = _factories.zeros_like(p)
        return state

    def step(self, closure=None):
        """One Adam update of every parameter that has a gradient; returns ``closure()`` if given."""
        loss = self._closure(closure)
        with no_grad():
            for group in self.param_groups:
                beta1, beta2 = group["betas"]
                lr, eps, wd = self._lr(group), group["eps"], group["weight_decay"]
                amsgrad, maximize = group["amsgrad"], group["maximize"]
                decoupled = group.get("decoupled_weight_decay", self._decoupled)
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    grad = p.grad if not maximize else _F.neg(p.grad)
                    state = self._init_state(p, amsgrad)
                    step_t = state["step"]
                    step_t.add_(1)
                    if wd != 0:
                        if decoupled:
                            p.mul_(1.0 - lr * wd if isinstance(lr, (int, float)) else _F.rsub(_F.mul(lr, wd), 1.0))
                        else:
                            grad = _F.add(grad, p, alpha=wd)
                    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                    beta1 = self._hyper(group, "betas", 0)  # cycled by CyclicLR/OneCycleLR
                    exp_avg.lerp_(grad, 1 - beta1 if isinstance(beta1, (int, float)) else _F.rsub(beta1, 1.0))
                    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                    # Bias corrections from the step tensor, in the parameter's dtype.
                    # (in float64, as PyTorch computes them from a Python number)
                    t64 = _F._to(step_t, dt.float64)
                    b1 = float(beta1) if isinstance(beta1, (int, float)) else _F._to(beta1, dt.float64)
                    bc1 = _F._to(_F.rsub(_F.pow(b1, t64), 1.0), p.dtype)
                    bc2_sqrt = _F._to(_F.sqrt(_F.rsub(_F.pow(float(beta2), t64), 1.0)), p.dtype)
                    if amsgrad:
                        max_sq = state["max_exp_avg_sq"]
                        max_sq.copy_(_F.maximum(max_sq, exp_avg_sq))
                        denom = _F.add(_F.div(_F.sqrt(max_sq), bc2_sqrt), eps)
                    else:
                        denom = _F.add(_F.div(_F.sqrt(exp_avg_sq), bc2_sqrt), eps)
                    step_size = _F.div(lr, bc1)
                    p.sub_(_F.mul(_F.div(exp_avg, denom), step_size))
        return loss


class AdamW(Adam):
    """Adam with decoupled weight decay (``p *= 1 - lr * weight_decay`` before the update); wd 0.01 by default."""

    _decoupled = True

    def __init__(
        self,
        params,
        lr=1e-3,
        betas=(0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach=None,
        capturable: bool = False,
        differentiable: bool = False,
        fused=None,
    ):
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            foreach=foreach,
            maximize=maximize,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            decoupled_weight_decay=True,
        )
