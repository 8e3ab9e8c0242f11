"""``graphc.testing``: :func:`assert_close` and :func:`make_tensor`, as ``torch.testing``
(and the deprecated :func:`assert_allclose`)."""

from ._comparison import assert_allclose, assert_close
from ._creation import make_tensor

__all__ = ["assert_close", "assert_allclose", "make_tensor"]
