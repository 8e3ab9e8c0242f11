"""Adam and AdamW (decoupled weight decay), with AMSGrad.

The step count is a 0-d float32 tensor (``state['step']``, as in PyTorch), and
the bias corrections are computed from it with tensor ops: a traced step
stays valid on every replay.
"""

from __future__ import annotations

import numpy as np

from ir import dtypes as dt
from ir.ops import npmath

from .. import _factories
from .. import _functional as _F
from .._inplace import note_writes
from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from .optimizer import Optimizer, axpy_array, check_fused, check_lr, decayed_grad, new_step_count, numpy_ready

__all__ = ["Adam", "AdamW"]


def check_args(lr, eps, betas, weight_decay) -> None:
    """The argument checks of Adam and its relatives, with PyTorch's messages."""
    check_lr(lr)
    if not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")


def update_moments(state, grad, beta1, beta2):
    """Adam's running moments, in place: ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g^2``
    (``beta1`` may be a per-call scalar under compile: schedulers cycle it)."""
    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
    # m + (1 - b1) (g - m) and v b2 + (1 - b2) g g, each product and sum rounded apart. PyTorch's
    # lerp_ and addcmul_ fuse them (a last-bit difference); fused here they would go through
    # double, twice the step's time on large parameters, and with a per-call beta1 (compiled
    # steps) lerp's two sides would both be computed.
    exp_avg.add_(_F.mul(_F.sub(grad, exp_avg), 1 - beta1 if isinstance(beta1, (int, float)) else _F.rsub(beta1, 1.0)))
    exp_avg_sq.mul_(beta2).add_(_F.mul(_F.mul(grad, grad), 1 - beta2))
    return exp_avg, exp_avg_sq


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
        check_args(lr, eps, betas, weight_decay)
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
        check_fused(fused, foreach, differentiable)

    @staticmethod
    def _new_state(p, group) -> dict:
        state = {"step": new_step_count(p), "exp_avg": _factories.zeros_like(p), "exp_avg_sq": _factories.zeros_like(p)}
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = _factories.zeros_like(p)
        return state

    def step(self, closure=None):
        """One Adam update of every parameter that has a gradient; returns ``closure()`` if given."""
        loss = self._closure(closure)
        with no_grad():
            for group in self.param_groups:
                beta1, beta2 = group["betas"]
                lr, eps, wd = self._lr(group), group["eps"], group["weight_decay"]
                amsgrad = group["amsgrad"]
                decoupled = group.get("decoupled_weight_decay", self._decoupled)
                if self._numpy_update(group, lr):
                    continue
                for p, grad, state in self._updates(group, self._new_state):
                    step_t = state["step"]
                    grad = decayed_grad(p, grad, lr, wd, decoupled)
                    beta1 = self._hyper(group, "betas", 0)  # cycled by CyclicLR/OneCycleLR
                    exp_avg, exp_avg_sq = update_moments(state, grad, beta1, beta2)
                    # Bias corrections from the step tensor, in the parameter's dtype.
                    # (in float64, as PyTorch computes them from a Python number)
                    t64 = _F._to(step_t, dt.float64)
                    b1 = float(beta1) if isinstance(beta1, (int, float)) else _F._to(beta1, dt.float64)
                    bc2_sqrt = _F._to(_F.sqrt(_F.rsub(_F.pow(float(beta2), t64), 1.0)), p.dtype)
                    if amsgrad:
                        max_sq = state["max_exp_avg_sq"]
                        max_sq.copy_(_F.maximum(max_sq, exp_avg_sq))
                        denom = _F.add(_F.div(_F.sqrt(max_sq), bc2_sqrt), eps)
                    else:
                        denom = _F.add(_F.div(_F.sqrt(exp_avg_sq), bc2_sqrt), eps)
                    # PyTorch's param.addcdiv_(exp_avg, denom, value=-lr / bc1): the step size in
                    # float64, rounded to the parameter's dtype as the value multiplies exp_avg
                    step_size = _F.div(lr, _F.rsub(_F.pow(b1, t64), 1.0))
                    p.addcdiv_(exp_avg, denom, value=_F._to(_F.neg(step_size), p.dtype))
        return loss

    def _numpy_update(self, group, lr) -> bool:
        """The group's update on the arrays, when it may (as SGD's: see ``numpy_ready``): True if done.

        Every operation is the tensor ops' own, in their order and dtypes, which are PyTorch's
        single-tensor Adam's but for the moments' rounding (see :func:`update_moments`): the
        moments in the parameter's dtype with Python numbers rounded to it, the bias corrections and the
        step size in float64 from the float32 step count, rounded where they meet a tensor.
        ``foreach=False`` keeps the op-by-op loop.
        """
        if group["foreach"] is False or group["differentiable"] or group["capturable"]:
            return False
        beta1, beta2 = self._hyper(group, "betas", 0), group["betas"][1]
        eps, wd, amsgrad = group["eps"], group["weight_decay"], group["amsgrad"]
        params = [p for p in group["params"] if p.grad is not None]
        states = [self.state[p] for p in params if p in self.state]
        kept = [t for st in states for t in st.values() if isinstance(t, Tensor)]
        if not numpy_ready(params, lr, beta1, beta2, eps, wd, state=kept):
            return False
        if any(len(st) and st["step"]._dtype is not dt.float32 for st in states):
            return False
        decoupled = group.get("decoupled_weight_decay", self._decoupled)
        for p in params:
            data = p._data
            ftype = data.dtype.type
            grad = np.negative(p.grad._data) if group["maximize"] else p.grad._data
            state = self._state_of(p, group, self._new_state)
            step = state["step"]
            np.add(step._data, np.float32(1), out=step._data)
            note_writes(step, 1)
            if wd != 0:
                if decoupled:
                    np.multiply(data, 1.0 - lr * wd, out=data)
                    note_writes(p, 1)
                else:
                    grad = axpy_array(grad, data, wd)
            m, v = state["exp_avg"], state["exp_avg_sq"]
            np.add(m._data, (1 - beta1) * (grad - m._data), out=m._data)  # update_moments' arithmetic
            np.multiply(v._data, beta2, out=v._data)
            np.add(v._data, (grad * grad) * (1 - beta2), out=v._data)
            note_writes(m, 1)
            note_writes(v, 2)
            t64 = step._data.astype(np.float64)
            step_size = lr / (1.0 - npmath.power(np.asarray(float(beta1)), t64))
            bc2_sqrt = ftype(np.sqrt(1.0 - npmath.power(np.asarray(float(beta2)), t64)))
            if amsgrad:
                top = state["max_exp_avg_sq"]
                np.maximum(top._data, v._data, out=top._data)
                note_writes(top, 1)
                second = top._data
            else:
                second = v._data
            denom = np.sqrt(second) / bc2_sqrt + ftype(eps)
            np.add(data, (ftype(-step_size) * m._data) / denom, out=data)  # param.addcdiv_(m, denom, value=-step_size)
            note_writes(p, 1)
        return True


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
