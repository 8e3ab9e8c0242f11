"""Where the Triton releases graphc supports differ, decided once, on the installed version.

graphc supports Triton 3.4 through 3.9 (``pyproject.toml``). Each difference below names the
release that changed; code elsewhere asks these flags instead of comparing versions itself.
"""

from __future__ import annotations

import re
import warnings

import triton

VERSION: tuple = tuple(int(x) for x in re.match(r"(\d+)\.(\d+)", triton.__version__).groups())
OLDEST, NEWEST = (3, 4), (3, 9)  # the supported range, as pyproject.toml states it

if VERSION < OLDEST:
    raise ImportError(
        f"graphc's Triton backend needs Triton 3.4 to 3.9; Triton {triton.__version__} is installed "
        "(pip install 'graphc[triton]')"
    )
if VERSION > NEWEST:
    warnings.warn(
        f"graphc's Triton backend is tested with Triton 3.4 to 3.9; Triton {triton.__version__} may differ",
        RuntimeWarning,
        stacklevel=2,
    )

# float64 tiles in ``tl.dot``: Triton 3.5 accepts fp64 operands with an fp64 accumulator; 3.4
# asserts "Unsupported lhs dtype fp64". Where it is missing, a float64 matmul multiplies and
# sums its tiles explicitly (exact fp64, no tensor cores).
FP64_DOT: bool = VERSION >= (3, 5)

# ``tl.dot``'s ``out_dtype``: Triton 3.5-3.8 default it to float32 and assert that the
# accumulator has that type, so a float64 accumulator needs ``out_dtype=tl.float64`` spelled
# out (Triton 3.9 infers it from the accumulator). Spelling it out is right on every release.
DOT_FP64_ARGS: str = ", out_dtype=tl.float64"


# ``tl.load`` with a mask: Triton 3.4 broadcasts the mask to the pointer block only (3.5
# broadcasts both ways), so a [1, N] load with an [M, N] mask fails there. The generated code
# needs no flag for it: every load's mask has the load's own block shape (codegen/matmul.py).


def release_kernel(fn) -> None:
    """Drop the references Triton itself keeps to a loaded kernel that graphc no longer uses,
    so the kernel (and its source in ``linecache``) can be garbage-collected.

    Triton's interpreter (3.4-3.9) caches each kernel's rewritten function in the class-level
    dict ``InterpretedFunction.rewritten_fn``, never evicted; Triton 3.9 also registers each
    ``JITFunction`` under ``"module:qualname"`` in ``triton.runtime.jit._triton_jit_function_registry``
    (earlier releases have no such registry).
    """
    cache = getattr(type(fn), "rewritten_fn", None)
    if isinstance(cache, dict):
        cache.pop(getattr(fn, "fn", None), None)
    registry = getattr(triton.runtime.jit, "_triton_jit_function_registry", None)
    inner = getattr(fn, "fn", None)
    if isinstance(registry, dict) and inner is not None:
        key = f"{getattr(fn, 'module', '')}:{getattr(inner, '__qualname__', '')}"
        if registry.get(key) is fn:
            del registry[key]
