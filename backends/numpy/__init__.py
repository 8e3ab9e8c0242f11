"""The numpy backend: eager kernels per op kind, a graph interpreter, and codegen."""

from . import collective  # noqa: F401  (registers the collective kind's kernel (all_reduce_start/wait))
from .interpreter import interpret
from .kernels import run_op

__all__ = ["run_op", "interpret"]
