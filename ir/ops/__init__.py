"""The op table: every primitive of the IR, declared once, as a row that carries its behaviour.

Rows live in one module per kind — :mod:`.elementwise` (maps and ``cast``), :mod:`.reduce`
(reductions and the scan), :mod:`.movement` (views, pad, concat), :mod:`.windows` (``unfold``, ``as_strided``), :mod:`.im2col` (convolution windows), :mod:`.index` (and :mod:`.scatter`: ``scatter_reduce``),
:mod:`.creation` (sources, ``full``, ``iota``, random), :mod:`.linalg` (matmul),
:mod:`.collective` (all-reduce start/wait), :mod:`.special` (special functions) and :mod:`.bits` (sign bits, frexp, gcd, shifts), :mod:`.checks` (run-time value checks) — and
:mod:`.core` says what a row holds. ``OPS`` maps names to rows. Backends implement kinds
generically and read rows; passes read properties and specs; nothing else lists op names.
"""

from . import (  # noqa: F401  (each registers its rows)
    bits,
    checks,
    collective,
    complex_parts,
    creation,
    elementwise,
    fft,
    im2col,
    index,
    linalg,
    linalg_lapack,
    movement,
    reduce,
    scatter,
    special,
    windows,
)
from .core import (
    CAST,
    COLLECTIVE,
    CONCAT,
    CREATION,
    ELEMENTWISE,
    INDEX,
    KINDS,
    LIBRARY,
    MATMUL,
    OPS,
    PAD,
    RANDOM,
    REDUCE,
    SCAN,
    SOURCE,
    VIEW,
    Binding,
    OpDef,
    Props,
    ReduceSpec,
    broadcast_shapes,
    check_axes,
    fmt_shape,
    get,
    register,
)

__all__ = [
    "CAST", "COLLECTIVE", "CONCAT", "CREATION", "ELEMENTWISE", "INDEX", "KINDS", "LIBRARY", "MATMUL", "OPS", "PAD", "RANDOM",
    "REDUCE", "SCAN", "SOURCE", "VIEW", "Binding", "OpDef", "Props", "ReduceSpec", "broadcast_shapes", "check_axes",
    "fmt_shape", "get", "register",
]
