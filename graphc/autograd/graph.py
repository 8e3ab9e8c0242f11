"""``graphc.autograd.graph``: the ``grad_fn`` node classes (PyTorch's ``torch.autograd.graph``).

They are defined in :mod:`graphc._autograd_graph`, below the Tensor and the
dispatcher that create them; this module is their public address.
"""

from __future__ import annotations

from .._autograd_graph import AccumulateGrad, CompositeNode, GradNode, Node, current_seq, resolve

__all__ = ["AccumulateGrad", "CompositeNode", "GradNode", "Node", "current_seq", "resolve"]
