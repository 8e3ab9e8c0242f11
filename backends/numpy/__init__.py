"""The numpy backend: eager kernels per op kind, a graph interpreter, and codegen."""

from .kernels import ELEMENTWISE, EXPR, run_op
from .interpreter import interpret

__all__ = ["ELEMENTWISE", "EXPR", "run_op", "interpret"]
