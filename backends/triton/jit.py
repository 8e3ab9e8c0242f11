"""Loading a generated ``@triton.jit`` kernel from its source text.

Kernels are exec'd through the shared loader (:func:`backends.loader.load_source`), which
keeps their text in ``linecache`` while they live: Triton reads a kernel's source through
``inspect`` to parse it, and tracebacks show the generated lines.
"""

from __future__ import annotations

import weakref

import triton
import triton.language as tl
from triton.language.extra import libdevice

from backends.loader import load_source

from . import _env, compat


def load_kernel(source: str, fn_name: str, tag: str, owner=None):
    """The ``@triton.jit`` function ``fn_name`` defined by ``source`` (an interpreted one
    under ``TRITON_INTERPRET=1``). When ``owner`` is garbage-collected, Triton's own references
    to the kernel are dropped too (:func:`.compat.release_kernel`), so it can go with it."""
    _env.check_usable()
    ns = {"triton": triton, "tl": tl, "libdevice": libdevice, "__name__": f"graphc_triton_{tag}"}
    fn = load_source(source, f"triton-{tag}", ns, fn_name)
    if owner is not None:
        weakref.finalize(owner, compat.release_kernel, fn)
    return fn
