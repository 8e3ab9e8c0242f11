"""The numpy backend: eager kernels per op kind, a graph interpreter, and codegen."""

from . import allocator, collective  # noqa: F401  (collective registers the collective kind's kernel)
from .interpreter import interpret
from .kernels import run_op

__all__ = ["run_op", "interpret"]

allocator.tune_malloc()  # numpy's arrays come from malloc: keep freed ones for the next op
