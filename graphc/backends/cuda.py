"""``graphc.backends.cuda``: ``matmul.allow_tf32`` and friends (see :mod:`graphc.backends`)."""

from __future__ import annotations

from . import _precision

__all__ = ["matmul", "is_built"]


class _MatmulFlags:
    """``graphc.backends.cuda.matmul``: reading and setting ``allow_tf32`` is the float32 matmul precision."""

    def __init__(self):
        self.allow_fp16_reduced_precision_reduction = True
        self.allow_bf16_reduced_precision_reduction = True

    @property
    def allow_tf32(self) -> bool:
        return _precision.tf32_matmul()

    @allow_tf32.setter
    def allow_tf32(self, value: bool) -> None:
        _precision.set_float32_matmul_precision("high" if value else "highest")

    def __repr__(self) -> str:
        return f"<graphc.backends.cuda.matmul allow_tf32={self.allow_tf32}>"


matmul = _MatmulFlags()


def is_built() -> bool:
    """Whether graphc can drive CUDA at all (the Triton backend is importable)."""
    try:
        import triton  # noqa: F401  # optional heavy dependency, only probed here
    except ImportError:
        return False
    return True
