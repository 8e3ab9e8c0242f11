"""``graphc.utils``: data loading (``graphc.utils.data``)."""

from . import data  # noqa: F401

__all__ = ["data"]
