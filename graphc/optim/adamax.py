"""Adam's relatives: Adamax (infinity norm), NAdam (Nesterov momentum) and RAdam (rectified).

As in :mod:`.adam`, the step count is a 0-d tensor and every quantity that depends on it
(bias corrections, NAdam's momentum schedule, RAdam's rectification and its ``rho_t > 5``
switch) is computed from it with tensor ops in float64, so a traced step stays right on
every replay. The update rules are PyTorch's (its documentation's algorithms, in the order
its implementation applies them).
"""

from __future__ import annotations

from ir import dtypes as dt

from .. import _factories
from .. import _functional as _F
from ..autograd.grad_mode import no_grad
from .adam import check_args, update_moments
from .optimizer import Optimizer, decayed_grad, new_step_count, zeroed_state

__all__ = ["Adamax", "NAdam", "RAdam"]


def _scalar(x, p):
    """A float64 step-dependent quantity in the parameter's dtype."""
    return _F._to(x, p.dtype)


class Adamax(Optimizer):
    """Adamax: Adam with the infinity norm::

        m = b1 m + (1 - b1) g;   u = max(b2 u, |g| + eps);   p -= lr / (1 - b1^t) * m / u
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0,
                 foreach=None, *, maximize: bool = False, differentiable: bool = False, capturable: bool = False):
        check_args(lr, eps, betas, weight_decay)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure(closure)
        with no_grad():
            for group in self.param_groups:
                beta1, beta2 = group["betas"]
                lr, eps, wd = self._lr(group), group["eps"], group["weight_decay"]
                for p, grad, state in self._updates(group, zeroed_state("exp_avg", "exp_inf")):
                    grad = decayed_grad(p, grad, lr, wd)
                    exp_avg, exp_inf = state["exp_avg"], state["exp_inf"]
                    exp_avg.lerp_(grad, 1 - beta1)
                    exp_inf.copy_(_F.maximum(_F.mul(exp_inf, beta2), _F.add(_F.abs(grad), eps)))
                    t = _F._to(state["step"], dt.float64)
                    clr = _scalar(_F.div(lr, _F.rsub(_F.pow(float(beta1), t), 1.0)), p)
                    p.sub_(_F.mul(_F.div(exp_avg, exp_inf), clr))
        return loss


class NAdam(Optimizer):
    """NAdam: Adam with Nesterov momentum and the momentum schedule of Dozat (2016)::

        mu_t = b1 (1 - 0.96^(t psi) / 2);   mu_prod *= mu_t
        m = b1 m + (1 - b1) g;   v = b2 v + (1 - b2) g^2;   d = sqrt(v / (1 - b2^t)) + eps
        p -= lr (1 - mu_t) / (1 - mu_prod) g / d  +  lr mu_{t+1} / (1 - mu_prod mu_{t+1}) m / d

    (``psi`` is ``momentum_decay``; ``mu_prod`` is kept in float32, as PyTorch keeps it.)
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0,
                 momentum_decay: float = 4e-3, decoupled_weight_decay: bool = False, *, foreach=None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False):
        check_args(lr, eps, betas, weight_decay)
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, foreach=foreach, maximize=maximize,
                        capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure(closure)
        with no_grad():
            for group in self.param_groups:
                beta1, beta2 = group["betas"]
                lr, eps, wd = self._lr(group), group["eps"], group["weight_decay"]
                psi = group["momentum_decay"]
                for p, grad, state in self._updates(group, self._new_state):
                    t = _F._to(state["step"], dt.float64)
                    grad = decayed_grad(p, grad, lr, wd, group["decoupled_weight_decay"])
                    mu = _F.mul(_F.rsub(_F.mul(_F.pow(0.96, _F.mul(t, psi)), 0.5), 1.0), beta1)
                    mu_next = _F.mul(_F.rsub(_F.mul(_F.pow(0.96, _F.mul(_F.add(t, 1.0), psi)), 0.5), 1.0), beta1)
                    mu_product = state["mu_product"]
                    mu_product.mul_(_F._to(mu, mu_product.dtype))  # rounded first, as PyTorch multiplies a float32 tensor
                    exp_avg, exp_avg_sq = update_moments(state, grad, beta1, beta2)
                    bc2 = _scalar(_F.rsub(_F.pow(float(beta2), t), 1.0), p)
                    denom = _F.add(_F.sqrt(_F.div(exp_avg_sq, bc2)), eps)
                    prod = _F._to(mu_product, dt.float64)
                    c_grad = _scalar(_F.div(_F.mul(lr, _F.rsub(mu, 1.0)), _F.rsub(prod, 1.0)), p)
                    c_avg = _scalar(_F.div(_F.mul(lr, mu_next), _F.rsub(_F.mul(prod, mu_next), 1.0)), p)
                    p.sub_(_F.mul(_F.div(grad, denom), c_grad))
                    p.sub_(_F.mul(_F.div(exp_avg, denom), c_avg))
        return loss

    @staticmethod
    def _new_state(p, group) -> dict:
        return {
            "step": new_step_count(p),
            "mu_product": _factories.ones((), dtype=dt.float32, device=p.device),
            "exp_avg": _factories.zeros_like(p),
            "exp_avg_sq": _factories.zeros_like(p),
        }


class RAdam(Optimizer):
    """RAdam: Adam whose adaptive step is switched on (and rectified) once the variance of the
    adaptive learning rate is tractable::

        rho_inf = 2 / (1 - b2) - 1;   rho_t = rho_inf - 2 t b2^t / (1 - b2^t)
        m_hat = m / (1 - b1^t)
        rho_t > 5:  p -= lr m_hat r_t sqrt(1 - b2^t) / (sqrt(v) + eps),
                    r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
        otherwise:  p -= lr m_hat
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0,
                 decoupled_weight_decay: bool = False, *, foreach=None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False):
        check_args(lr, eps, betas, weight_decay)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        decoupled_weight_decay=decoupled_weight_decay, foreach=foreach, maximize=maximize,
                        capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure(closure)
        with no_grad():
            for group in self.param_groups:
                beta1, beta2 = group["betas"]
                lr, eps, wd = self._lr(group), group["eps"], group["weight_decay"]
                rho_inf = 2.0 / (1.0 - beta2) - 1.0
                for p, grad, state in self._updates(group, zeroed_state("exp_avg", "exp_avg_sq")):
                    t = _F._to(state["step"], dt.float64)
                    grad = decayed_grad(p, grad, lr, wd, group["decoupled_weight_decay"])
                    exp_avg, exp_avg_sq = update_moments(state, grad, beta1, beta2)
                    b2t = _F.pow(float(beta2), t)
                    bc1 = _F.rsub(_F.pow(float(beta1), t), 1.0)
                    bc2 = _F.rsub(b2t, 1.0)
                    rho_t = _F.rsub(_F.div(_F.mul(_F.mul(t, b2t), 2.0), bc2), rho_inf)
                    safe = _F.clamp(rho_t, min=5.0 + 1e-3)  # the rectifier is only read where rho_t > 5
                    rect = _F.sqrt(_F.div(_F.mul(_F.mul(_F.sub(safe, 4.0), _F.sub(safe, 2.0)), rho_inf),
                                          _F.mul(safe, (rho_inf - 4.0) * (rho_inf - 2.0))))
                    adaptive = _F.mul(rect, _F.sqrt(bc2))
                    use = _F.gt(rho_t, 5.0)
                    m_hat_lr = _F.mul(exp_avg, _scalar(_F.div(lr, bc1), p))
                    denom = _F.add(_F.sqrt(exp_avg_sq), eps)
                    rectified = _F.mul(_F.div(m_hat_lr, denom), _scalar(adaptive, p))
                    p.sub_(_F.where(use, rectified, m_hat_lr))
        return loss

