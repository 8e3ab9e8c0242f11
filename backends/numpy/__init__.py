"""The numpy backend: eager kernels per op kind, a graph interpreter, and codegen."""

from .interpreter import interpret
from .kernels import run_op

__all__ = ["run_op", "interpret"]
