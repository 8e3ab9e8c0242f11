"""``graphc.utils``: data loading (``graphc.utils.data``) and DLPack exchange (``graphc.utils.dlpack``)."""

from . import data, dlpack  # noqa: F401

__all__ = ["data", "dlpack"]
