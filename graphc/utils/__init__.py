"""``graphc.utils``: data loading (``graphc.utils.data``), DLPack exchange (``graphc.utils.dlpack``)
and activation checkpointing (``graphc.utils.checkpoint``)."""

from . import checkpoint, data, dlpack  # noqa: F401

__all__ = ["checkpoint", "data", "dlpack"]
