"""``graphc.backends``: PyTorch's switches for matmul precision on GPUs.

``graphc.backends.cuda.matmul.allow_tf32`` and ``graphc.set_float32_matmul_precision`` are one
setting, as in PyTorch: ``"highest"`` (the default) keeps float32 matmuls in IEEE float32;
``"high"``/``"medium"`` (``allow_tf32 = True``) let the Triton backend's float32 matmuls use
TF32 tensor cores (``tl.dot`` with TF32 input precision). The numpy backend (CPU) computes in
float32 either way. ``graphc.backends.cudnn`` exists so scripts that set its flags run;
graphc has no cuDNN (its convolutions are matmuls and follow the matmul setting).

:func:`tf32_matmul` is what code generation reads.
"""

from __future__ import annotations

from . import cuda, cudnn
from ._precision import get_float32_matmul_precision, set_float32_matmul_precision, tf32_matmul

__all__ = ["cuda", "cudnn", "tf32_matmul", "set_float32_matmul_precision", "get_float32_matmul_precision"]
