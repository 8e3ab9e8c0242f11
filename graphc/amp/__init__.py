"""``graphc.amp``: automatic mixed precision, as ``torch.amp``.

* :class:`autocast` runs PyTorch's listed ops in lower precision (bfloat16 on the CPU,
  float16 or bfloat16 on cuda) and its float32-listed ops in float32 (``graphc.autocast``
  is the same class);
* :class:`GradScaler` scales the loss and skips steps whose gradients overflowed.

Both work eagerly and inside ``@graphc.compile``. ``graphc.cuda.amp`` holds the same names
with cuda defaults (PyTorch's older spelling).
"""

from . import cpu_amp, cuda_amp  # noqa: F401  (graphc.cpu.amp, graphc.cuda.amp)
from .autocast_mode import (
    autocast,
    custom_bwd,
    custom_fwd,
    get_autocast_dtype,
    is_autocast_available,
    is_autocast_enabled,
)
from .grad_scaler import GradScaler, OptState

__all__ = [
    "autocast", "GradScaler", "OptState", "custom_fwd", "custom_bwd", "is_autocast_available",
    "is_autocast_enabled", "get_autocast_dtype",
]
