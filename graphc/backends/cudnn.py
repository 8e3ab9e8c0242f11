"""``graphc.backends.cudnn``: PyTorch's cuDNN flags, accepted so scripts that set them run.

graphc has no cuDNN: ``is_available()`` is False, and the flags change nothing (its
convolutions are matmuls and follow ``graphc.backends.cuda.matmul.allow_tf32``).
"""

from __future__ import annotations

enabled = True
benchmark = False
deterministic = False
allow_tf32 = True


def is_available() -> bool:
    return False


def version():
    return None
