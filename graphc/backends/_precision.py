"""The float32 matmul precision setting (process-wide, as PyTorch's)."""

from __future__ import annotations

_PRECISIONS = ("highest", "high", "medium")
_SETTING = {"precision": "highest"}


def set_float32_matmul_precision(precision: str) -> None:
    """'highest': IEEE float32 matmuls; 'high' or 'medium': TF32 allowed on GPUs (the CPU ignores it)."""
    if precision not in _PRECISIONS:
        raise RuntimeError(f"Invalid precision {precision!r}: expected one of {', '.join(_PRECISIONS)}")
    _SETTING["precision"] = precision


def get_float32_matmul_precision() -> str:
    return _SETTING["precision"]


def tf32_matmul() -> bool:
    """Whether float32 matmuls may use TF32 (what the Triton matmul's code generation reads)."""
    return _SETTING["precision"] != "highest"
