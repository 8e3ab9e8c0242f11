"""Adafactor, with PyTorch 2.13's update rule (``torch.optim.Adafactor``)."""

from __future__ import annotations

import numpy as np

from .. import _factories
from ..autograd.grad_mode import no_grad
from .optimizer import Optimizer, new_step_count

__all__ = ["Adafactor"]


class Adafactor(Optimizer):
    """Adafactor (Shazeer and Stern, 2018) as PyTorch implements it: Adam-like steps whose second
    moment, for a matrix, is kept as a row and a column factor (O(n + m) memory instead of
    O(nm)); no first moment; a step size relative to the parameter's RMS. At step ``t``::

        b = t ** beta2_decay;  rho = min(lr, 1 / sqrt(t));  alpha = max(eps2, rms(p)) * rho
        p *= 1 - lr * weight_decay
        matrix:  R = lerp(R, mean(g^2, -1), b);  C = lerp(C, mean(g^2, -2), b);  v = R @ C / max(mean(R), eps1)
        vector:  v = lerp(v, g^2, b)
        u = g / sqrt(max(v, eps1^2));  p -= alpha / max(1, rms(u) / d) * u

    ``eps1`` defaults to the machine epsilon of the parameter's dtype. The step reads Python
    floats from the tensors (as PyTorch's single-tensor path does), so it runs eagerly.

    >>> opt = optim.Adafactor(net.parameters(), lr=1e-2)
    """

    def __init__(
        self,
        params,
        lr=1e-2,
        beta2_decay: float = -0.8,
        eps=(None, 1e-3),
        d: float = 1.0,
        weight_decay: float = 0.0,
        *,
        foreach=None,
        maximize: bool = False,
    ):
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure(closure)
        with no_grad():
            for group in self.param_groups:
                lr, wd, d = float(group["lr"]), group["weight_decay"], group["d"]
                eps1, eps2 = group["eps"]
                for p, grad, state in self._updates(group, self._new_state):
                    if eps1 is None:  # (as PyTorch: the first parameter's dtype then holds for the group)
                        eps1 = float(np.finfo(np.dtype(p.dtype.numpy_dtype)).eps)
                    t = float(state["step"])
                    one_minus_beta2 = t ** group["beta2_decay"]
                    rho = min(lr, 1 / t**0.5)
                    alpha = max(eps2, float(p.norm(2)) / p.numel() ** 0.5) * rho
                    if wd != 0:
                        p.mul_(1 - lr * wd)
                    if grad.dim() > 1:
                        row_var, col_var = state["row_var"], state["col_var"]
                        row_var.lerp_(grad.norm(dim=-1, keepdim=True).square_().div_(grad.size(-1)), one_minus_beta2)
                        col_var.lerp_(grad.norm(dim=-2, keepdim=True).square_().div_(grad.size(-2)), one_minus_beta2)
                        var_estimate = row_var @ col_var
                        var_estimate.div_(row_var.mean(dim=-2, keepdim=True).clamp_(min=eps1))
                    else:
                        var_estimate = state["variance"].lerp_(grad * grad, one_minus_beta2).clone()
                    update = var_estimate.clamp_(min=eps1 * eps1).rsqrt_().mul_(grad)
                    denom = max(1.0, float(update.norm(2)) / (update.numel() ** 0.5 * d))
                    p.add_(update, alpha=-alpha / denom)
        return loss

    @staticmethod
    def _new_state(p, group) -> dict:
        """A step count and, for a matrix (or batch of matrices), the row and column factors of
        the second moment; for a vector, the full second moment."""
        if p.dim() > 1:
            shape = list(p.shape)
            rows, cols = shape[:-1] + [1], shape[:-2] + [1, shape[-1]]
            return {
                "step": new_step_count(p),
                "row_var": _factories.zeros(rows, dtype=p.dtype, device=p.device),
                "col_var": _factories.zeros(cols, dtype=p.dtype, device=p.device),
            }
        return {"step": new_step_count(p), "variance": _factories.zeros_like(p)}
