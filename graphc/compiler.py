"""``graphc.compiler``: the compiler's tools that are not ``graphc.compile`` itself (PyTorch's
``torch.compiler`` namespace).

``trace(fn, *args)`` records ``fn`` on these arguments into an ``ir.Graph`` without compiling
or running it (``graphc.trace`` is PyTorch's matrix trace); ``is_compiling()`` says whether
this thread is tracing a function right now.
"""

from __future__ import annotations

from . import _state
from ._compiler import trace
from ._optimized_module import compile

__all__ = ["trace", "compile", "is_compiling"]


def is_compiling() -> bool:
    """True while this thread traces a ``@graphc.compile`` function (or ``compiler.trace``)."""
    return _state.active_tracer() is not None
