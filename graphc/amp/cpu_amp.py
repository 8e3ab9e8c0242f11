"""``graphc.cpu.amp``: PyTorch's older (deprecated) spelling of ``graphc.amp`` with CPU defaults.

``graphc.cpu.amp.autocast(dtype=...)`` is ``graphc.amp.autocast("cpu", dtype=...)`` and
``graphc.cpu.amp.GradScaler(...)`` is ``graphc.amp.GradScaler("cpu", ...)``; both warn
(FutureWarning), as in PyTorch.
"""

from __future__ import annotations

import warnings

from . import autocast_mode, grad_scaler

__all__ = ["autocast", "GradScaler"]


class autocast(autocast_mode.autocast):
    """``graphc.amp.autocast("cpu", ...)``."""

    def __init__(self, enabled: bool = True, dtype=None, cache_enabled: bool = True):
        warnings.warn("`graphc.cpu.amp.autocast(args...)` is deprecated. Please use "
                      "`graphc.amp.autocast('cpu', args...)` instead.", FutureWarning, stacklevel=2)
        super().__init__("cpu", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)


class GradScaler(grad_scaler.GradScaler):
    """``graphc.amp.GradScaler("cpu", ...)``."""

    def __init__(self, init_scale: float = 2.0**16, growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True):
        warnings.warn("`graphc.cpu.amp.GradScaler(args...)` is deprecated. Please use "
                      "`graphc.amp.GradScaler('cpu', args...)` instead.", FutureWarning, stacklevel=2)
        super().__init__("cpu", init_scale, growth_factor, backoff_factor, growth_interval, enabled)
