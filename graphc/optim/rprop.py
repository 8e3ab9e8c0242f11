"""Rprop: resilient backpropagation, with PyTorch's update rule."""

from __future__ import annotations

from .. import _factories
from .. import _functional as _F
from ..autograd.grad_mode import no_grad
from .optimizer import Optimizer, check_lr, new_step_count

__all__ = ["Rprop"]


class Rprop(Optimizer):
    """Resilient backpropagation (Riedmiller and Braun, 1993): every weight has its own step size,
    which grows by ``etas[1]`` while its gradient keeps its sign and shrinks by ``etas[0]`` when
    the sign flips (that weight then skips the step and forgets its gradient), within
    ``step_sizes``. Only the gradient's sign moves the weight, so the rule suits full-batch
    training, where gradient magnitudes vary a lot::

        s = sign(g * prev);  size = clamp(size * (etas[1] if s > 0, etas[0] if s < 0, else 1), *step_sizes)
        g = 0 where s < 0;   p -= sign(g) * size;   prev = g

    ``size`` starts at ``lr``.

    >>> opt = optim.Rprop(net.parameters(), lr=0.01, etas=(0.5, 1.2), step_sizes=(1e-6, 50))
    """

    def __init__(
        self,
        params,
        lr=1e-2,
        etas=(0.5, 1.2),
        step_sizes=(1e-6, 50),
        *,
        capturable: bool = False,
        foreach=None,
        maximize: bool = False,
        differentiable: bool = False,
    ):
        check_lr(lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = dict(
            lr=lr,
            etas=etas,
            step_sizes=step_sizes,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
            capturable=capturable,
        )
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure(closure)
        with no_grad():
            for group in self.param_groups:
                (etaminus, etaplus), (size_min, size_max) = group["etas"], group["step_sizes"]
                for p, grad, state in self._updates(group, self._new_state):
                    prev, size = state["prev"], state["step_size"]
                    s = _F.sign(_F.mul(grad, prev))
                    flipped = _F.lt(s, 0)
                    # the factors in the parameter's dtype, as PyTorch writes them into its sign tensor
                    factor = _F.where(_F.gt(s, 0), etaplus, _F.where(flipped, etaminus, _factories.ones_like(s)))
                    size.mul_(factor).clamp_(size_min, size_max)
                    grad = _F.where(flipped, 0.0, grad)
                    p.addcmul_(_F.sign(grad), size, value=-1)
                    prev.copy_(grad)
        return loss

    @staticmethod
    def _new_state(p, group) -> dict:
        return {
            "step": new_step_count(p),
            "prev": _factories.zeros_like(p),
            "step_size": _factories.full_like(p, float(group["lr"])),
        }
