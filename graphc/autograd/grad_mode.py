"""``graphc.autograd.grad_mode``: where PyTorch keeps ``no_grad`` and friends.

They are defined in :mod:`graphc._grad_mode`, below the Tensor and the dispatcher
that read them; this module is their public address.
"""

from __future__ import annotations

from .._grad_mode import enable_grad, inference_mode, is_inference_mode_enabled, no_grad, set_grad_enabled, zero_grads
from .._grad_mode import grad_mode_enabled as is_grad_enabled

__all__ = ["enable_grad", "inference_mode", "is_grad_enabled", "is_inference_mode_enabled", "no_grad", "set_grad_enabled", "zero_grads"]
