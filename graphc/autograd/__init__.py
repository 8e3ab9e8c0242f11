"""``graphc.autograd``: reverse-mode gradients with PyTorch's eager semantics.

``backward`` and ``grad`` run the eager engine (:mod:`.engine`), which uses
the same rules and loop as the graph pass ``ir.passes.autodiff``.
``gradcheck`` compares them with float64 central differences.

Grad mode and the ``grad_fn`` node classes are defined below the Tensor
(:mod:`graphc._grad_mode`, :mod:`graphc._autograd_graph`), which reads them on
every op; :mod:`.grad_mode` and :mod:`.graph` are their public addresses.
"""

from __future__ import annotations

from . import anomaly_mode, function, functional  # noqa: F401  (graphc.autograd.function, as in PyTorch)
from .anomaly_mode import detect_anomaly, set_detect_anomaly
from .engine import backward, grad, run_backward  # noqa: F401
from .function import Function, FunctionCtx, once_differentiable
from .grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .graph import AccumulateGrad, CompositeNode, GradNode, Node

__all__ = [
    "backward",
    "detect_anomaly",
    "set_detect_anomaly",
    "Function",
    "FunctionCtx",
    "once_differentiable",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "GradcheckError",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "inference_mode",
    "is_grad_enabled",
    "is_inference_mode_enabled",
    "Node",
    "GradNode",
    "AccumulateGrad",
    "CompositeNode",
]
