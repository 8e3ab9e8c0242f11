"""``AdaptiveLogSoftmaxWithLoss`` (Grave et al., "Efficient softmax approximation for GPUs") and
the deprecated ``NLLLoss2d``.

The head scores the ``cutoffs[0]`` frequent classes plus one entry per tail cluster; cluster ``i``
scores its classes through a low-rank projection (``in_features // div_value**(i+1)``). A class in
cluster ``i`` has log-probability ``head[shortlist + i] + log_softmax(tail_i)[class - cutoff_i]``.
Every row goes through every cluster and the right term is picked with ``where``, so the shapes
never depend on the targets' values (one graph under ``@graphc.compile``).
"""

from __future__ import annotations

import warnings
from collections import namedtuple

from ... import _functional as _F
from ..._factories import zeros_like
from ..._state import active_tracer
from .. import functional as F
from .container import ModuleList, Sequential
from .linear import Linear
from .loss import NLLLoss
from .module import Module

__all__ = ["AdaptiveLogSoftmaxWithLoss", "NLLLoss2d"]

_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])


class AdaptiveLogSoftmaxWithLoss(Module):
    """Adaptive softmax: ``forward(input, target)`` returns ``(output, loss)``, the target
    log-probability of each row and their negated mean; :meth:`log_prob` gives the full
    ``(N, n_classes)`` log-probabilities and :meth:`predict` the most likely class."""

    def __init__(self, in_features: int, n_classes: int, cutoffs, div_value: float = 4.0, head_bias: bool = False,
                 device=None, dtype=None):
        super().__init__()
        cutoffs = list(cutoffs)
        if len(cutoffs) == 0:
            raise ValueError("cutoffs should be a sequence of length larger than 0")
        if (cutoffs != sorted(cutoffs) or min(cutoffs) <= 0 or max(cutoffs) > n_classes - 1
                or len(set(cutoffs)) != len(cutoffs) or any(int(c) != c for c in cutoffs)):
            raise ValueError(
                "cutoffs should be a sequence of unique, positive integers sorted in an increasing order, where each "
                "value is between 1 and n_classes-1"
            )
        kw = {"device": device, "dtype": dtype}
        self.in_features = in_features
        self.n_classes = n_classes
        self.cutoffs = cutoffs + [n_classes]
        self.div_value = div_value
        self.head_bias = head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        self.head = Linear(in_features, self.head_size, bias=head_bias, **kw)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            hsz = int(in_features // (div_value ** (i + 1)))
            osz = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(Sequential(Linear(in_features, hsz, bias=False, **kw), Linear(hsz, osz, bias=False, **kw)))

    def reset_parameters(self) -> None:
        self.head.reset_parameters()
        for i2h, h2o in self.tail:
            i2h.reset_parameters()
            h2o.reset_parameters()

    def forward(self, input_, target_):
        if target_.dim() == 1:
            if input_.size(0) != target_.size(0):
                raise RuntimeError("Input and target should have the same size in the batch dimension.")
            if input_.dim() != 2:
                raise RuntimeError(f"1D target tensor expects 2D input tensors, but found inputs with size {input_.size()}")
        elif target_.dim() == 0:
            if input_.dim() != 1:
                raise RuntimeError(f"0D target tensor expects 1D input tensors, but found inputs with size {input_.size()}")
        else:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        batched = target_.dim() > 0
        input = input_ if batched else input_.unsqueeze(0)
        target = target_ if batched else target_.unsqueeze(0)
        if active_tracer() is None and target.numel():
            lo, hi = int(target.min().item()), int(target.max().item())
            if lo < 0 or hi >= self.n_classes:
                raise RuntimeError(
                    f"Target values should be in [0, {self.n_classes - 1}], but values in range [{lo}, {hi}] were found. "
                )
        head_logprob = F.log_softmax(self.head(input), dim=1)
        # Column of the head to read: the class itself in the shortlist, else its cluster's entry.
        cluster = zeros_like(target)
        for c in self.cutoffs[:-1]:
            cluster = cluster + (target >= c).to(target.dtype)
        column = _F.where(cluster == 0, target, cluster + (self.shortlist_size - 1))
        output = head_logprob.gather(1, column.unsqueeze(1)).squeeze(1)
        for i in range(self.n_clusters):
            low = self.cutoffs[i]
            in_cluster = cluster == i + 1
            relative = _F.where(in_cluster, target - low, zeros_like(target))
            local = F.log_softmax(self.tail[i](input), dim=1).gather(1, relative.unsqueeze(1)).squeeze(1)
            output = output + _F.where(in_cluster, local, zeros_like(local))
        loss = (-output).mean()
        return _ASMoutput(output if batched else output.squeeze(0), loss)

    def _get_full_log_prob(self, input, head_output):
        head_logprob = F.log_softmax(head_output, dim=1)
        parts = [head_logprob[:, : self.shortlist_size]]
        for i in range(self.n_clusters):
            cluster_logprob = F.log_softmax(self.tail[i](input), dim=1)
            parts.append(cluster_logprob + head_logprob[:, self.shortlist_size + i].unsqueeze(1))
        return _F.cat(parts, dim=1)

    def log_prob(self, input):
        """Log-probabilities of every class: ``(N, n_classes)`` (or ``(n_classes,)`` for a 1-d input)."""
        batched = input.dim() > 1
        x = input if batched else input.unsqueeze(0)
        out = self._get_full_log_prob(x, self.head(x))
        return out if batched else out.squeeze(0)

    def predict(self, input):
        """The most likely class of each row: the head's argmax when it is a shortlist class, else
        the argmax of the full log-probabilities."""
        batched = input.dim() > 1
        x = input if batched else input.unsqueeze(0)
        head_output = self.head(x)
        output = _F.argmax(head_output, dim=1)
        not_in_shortlist = output >= self.shortlist_size
        if active_tracer() is not None or bool(not_in_shortlist.any()):
            full = _F.argmax(self._get_full_log_prob(x, head_output), dim=1)
            output = _F.where(not_in_shortlist, full, output)
        return output if batched else output.squeeze(0)


class NLLLoss2d(NLLLoss):
    """Deprecated alias of :class:`NLLLoss` (which handles (N, C, H, W) inputs), with PyTorch's warning."""

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None, reduction: str = "mean"):
        warnings.warn(
            "`NLLLoss2d` has been deprecated. Please use `NLLLoss` instead as a drop-in replacement and see "
            "https://pytorch.org/docs/main/nn.html#torch.nn.NLLLoss for more details.",
            FutureWarning,
            stacklevel=2,
        )
        super().__init__(weight, size_average, ignore_index, reduce, reduction)
