"""``graphc.autograd``: reverse-mode gradients with PyTorch's eager semantics.

``backward`` and ``grad`` run the eager engine (:mod:`.engine`), which uses
the same rules and loop as the graph pass ``ir.passes.autodiff``.
``gradcheck`` compares them with float64 central differences.
"""

from __future__ import annotations

from .engine import run_backward
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .graph import AccumulateGrad, CompositeNode, GradNode, Node

__all__ = [
    "backward",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "GradcheckError",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "inference_mode",
    "is_grad_enabled",
    "Node",
    "GradNode",
    "AccumulateGrad",
    "CompositeNode",
]


def _as_list(x):
    if x is None:
        return None
    if isinstance(x, (list, tuple)):
        return list(x)
    return [x]


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None) -> None:
    """Accumulate the gradients of ``tensors`` into the ``.grad`` of the leaves.

    ``grad_tensors`` is required for non-scalar outputs. Without
    ``retain_graph`` the saved values are freed, and a second backward through
    the same graph raises. ``create_graph=True`` records the backward ops so
    the gradients can be differentiated again.
    """
    outs = _as_list(tensors)
    grads = _as_list(grad_tensors) or [None] * len(outs)
    if retain_graph is None:
        retain_graph = create_graph
    inputs = _as_list(inputs)
    run_backward(outs, grads, retain_graph=retain_graph, create_graph=create_graph, inputs=inputs)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=None, materialize_grads=False):
    """The gradients of ``outputs`` with respect to ``inputs``, returned (not accumulated).

    >>> (gx,) = graphc.autograd.grad(y, [x], create_graph=True)
    """
    outs = _as_list(outputs)
    ins = _as_list(inputs)
    grads = _as_list(grad_outputs) or [None] * len(outs)
    if retain_graph is None:
        retain_graph = create_graph
    result = run_backward(
        outs,
        grads,
        retain_graph=retain_graph,
        create_graph=create_graph,
        inputs=ins,
        accumulate=False,
        allow_unused=bool(allow_unused) or materialize_grads,
    )
    if materialize_grads:
        from .._factories import zeros_like

        result = tuple(zeros_like(t) if g is None else g for t, g in zip(ins, result))
    return result
