"""numpy's own BLAS, called directly for three forms numpy's API has no call for: ``y += alpha * x``
(axpy), ``c = a @ b + beta * c`` (gemm's ``beta``: a linear layer's bias added by the product) and
a blocked transposing copy (OpenBLAS's ``omatcopy``: ``x.t().contiguous()`` of a 256x512 float32
matrix in 26 us, where numpy's strided copy takes 280 us).

An SGD update ``p - lr * g`` is two numpy passes (``g * lr`` into a temporary, then the
subtraction) on one thread; BLAS's ``axpy`` is one fused pass, run by BLAS's own threads -- which
are still awake when the update follows the gradient's product, as it does in a compiled training
step. On the 784-512-512-10 MLP step the two weight updates took 0.2-0.6 ms less this way.

The library is the one numpy itself loaded: the OpenBLAS of numpy's wheels (``numpy.libs`` or
``numpy/.dylibs``), else an OpenBLAS found among the process's mapped libraries (Linux). Only
libraries whose integer width is known are used: symbols suffixed ``64_`` take 64-bit integers;
an unsuffixed OpenBLAS says in its config string whether it was built with 64-bit integers.
Each routine is checked against numpy on first use; any surprise -- a missing symbol, a wrong
value -- leaves it unused, and callers take their numpy path. ``GRAPHC_CPU_BLAS=0`` turns it off.

``axpy`` uses no temporary and rounds once (a fused multiply-add in OpenBLAS's kernels), so its
results may differ from numpy's two-step ``a - x * s`` in the last bit; both are correctly
rounded to within one unit.
"""

from __future__ import annotations

import ctypes
import glob
import os
import threading

import numpy as np

__all__ = ["available", "axpy", "gemm", "library", "transpose_copy"]

# below this many elements a call through ctypes costs more than numpy's two passes
AXPY_MIN_ELEMS = 1 << 13
_INT_MAX = (1 << 31) - 1

_lock = threading.Lock()
_state: dict = {}  # "lib": (path, {(routine, dtype char): function}) once looked for


def _candidate_paths() -> list:
    """Shared libraries that may hold numpy's BLAS, the wheel's own first."""
    root = os.path.dirname(np.__file__)
    paths = []
    for folder in (os.path.join(root, os.pardir, "numpy.libs"), os.path.join(root, ".dylibs")):
        paths += sorted(glob.glob(os.path.join(folder, "*openblas*")))
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.rsplit(" ", 1)[-1].strip()
                if "openblas" in os.path.basename(path).lower() and path not in paths:
                    paths.append(path)
    except OSError:
        pass
    return paths


def _integer_type(lib, prefix: str, suffix: str):
    """ctypes type of the library's BLAS integers, or None when it cannot be told."""
    if suffix == "64_":
        return ctypes.c_int64
    config = getattr(lib, f"{prefix}openblas_get_config{suffix}", None)
    if config is None:
        return None
    config.restype = ctypes.c_char_p
    text = (config() or b"").decode("ascii", "replace")
    return ctypes.c_int64 if "USE64BITINT" in text else ctypes.c_int32


_ROUTINES = {"axpy": ("saxpy", "daxpy"), "gemm": ("sgemm", "dgemm")}
_OPTIONAL = {"omatcopy": ("somatcopy", "domatcopy")}  # OpenBLAS's extension: used where exported


def _lookup(lib, routines: dict, prefix: str, suffix: str) -> dict:
    """``{(routine, 'f' or 'd'): lib's function or None}`` under one naming scheme."""
    return {(r, c): getattr(lib, f"{prefix}cblas_{name}{suffix}", None) for r, pair in routines.items() for c, name in zip("fd", pair)}


def _bind(lib) -> dict:
    """``{('axpy', 'f'): saxpy, ...}`` from ``lib`` under the first naming scheme it exports."""
    for prefix, suffix in (("scipy_", "64_"), ("", "64_"), ("scipy_", ""), ("", "")):
        fns = _lookup(lib, _ROUTINES, prefix, suffix)
        if None in fns.values():
            continue
        int_t = _integer_type(lib, prefix, suffix)
        if int_t is None:
            continue
        fns.update((key, fn) for key, fn in _lookup(lib, _OPTIONAL, prefix, suffix).items() if fn is not None)
        ptr, enum = ctypes.c_void_p, ctypes.c_int
        for (routine, char), fn in fns.items():
            real = ctypes.c_float if char == "f" else ctypes.c_double
            if routine == "axpy":  # (n, alpha, x, incx, y, incy)
                fn.argtypes = [int_t, real, ptr, int_t, ptr, int_t]
            elif routine == "gemm":  # (order, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
                fn.argtypes = [enum, enum, enum, int_t, int_t, int_t, real, ptr, int_t, ptr, int_t, real, ptr, int_t]
            else:  # omatcopy: (order, trans, rows, cols, alpha, a, lda, b, ldb)
                fn.argtypes = [enum, enum, int_t, int_t, real, ptr, int_t, ptr, int_t]
            fn.restype = None
        return fns
    return {}


def _self_test(fns: dict) -> dict:
    """Keep the routines that compute what numpy computes on small cases (every layout of gemm)."""
    good = {}
    for (routine, char), fn in fns.items():
        dtype = np.dtype(char)
        try:
            if routine == "omatcopy":
                a = np.arange(35, dtype=dtype).reshape(5, 7) - 17.5
                b = np.empty((7, 5), dtype=dtype)
                fn(_ROW_MAJOR, _TRANS, 5, 7, 1.0, a.ctypes.data, 7, b.ctypes.data, 5)
                ok = np.array_equal(b, a.T)
            elif routine == "axpy":
                x = np.linspace(-3, 5, 37, dtype=dtype)
                y = np.linspace(2, -7, 37, dtype=dtype)
                want = y.astype(np.float64) - 0.25 * x.astype(np.float64)
                _call_axpy(fn, -0.25, x, y)
                ok = np.allclose(y, want, rtol=1e-6, atol=1e-6)
            else:
                rng = np.random.default_rng(0)
                ok = True
                for a in (rng.standard_normal((5, 3)), rng.standard_normal((3, 5)).T):
                    for b in (rng.standard_normal((3, 4)), rng.standard_normal((4, 3)).T):
                        c = rng.standard_normal((5, 4))
                        want = a @ b + 0.5 * c
                        c = c.astype(dtype)
                        ok = ok and _call_gemm(fn, a.astype(dtype, order="K"), b.astype(dtype, order="K"), c, 0.5)
                        ok = ok and np.allclose(c, want, rtol=1e-5, atol=1e-5)
        except Exception:  # a wrong signature, an unusable library
            continue
        if ok:
            good[(routine, char)] = fn
    return good


def library():
    """``(path, routines)`` of the BLAS in use: ``(None, {})`` when there is none."""
    found = _state.get("lib")
    if found is not None:
        return found
    with _lock:
        found = _state.get("lib")
        if found is None:
            found = (None, {})
            if os.environ.get("GRAPHC_CPU_BLAS", "1") != "0":
                for path in _candidate_paths():
                    try:
                        fns = _self_test(_bind(ctypes.CDLL(path)))
                    except OSError:
                        continue
                    if fns:
                        found = (path, fns)
                        break
            _state["lib"] = found
    return found


def available(routine: str = "axpy") -> bool:
    return any(key[0] == routine for key in library()[1])


def axpy(alpha: float, x: np.ndarray, y: np.ndarray, a: np.ndarray | None = None) -> bool:
    """``y = a + alpha * x`` through BLAS (``a`` defaults to ``y``: ``y += alpha * x``);
    ``False``, with nothing written, where BLAS does not apply.

    Applies to equal-shape, C-contiguous, aligned float32/float64 arrays of
    :data:`AXPY_MIN_ELEMS` elements or more (up to 2^31 - 1), ``y`` writable and overlapping
    neither ``x`` nor ``a`` unless it is that very array, and a finite, non-zero ``alpha``:
    OpenBLAS skips the whole call when ``alpha`` is 0, where numpy's ``y + 0 * x`` turns
    ``inf`` into NaN.
    """
    fn = library()[1].get(("axpy", y.dtype.char))
    if a is None:
        a = y
    if (
        fn is None
        or not AXPY_MIN_ELEMS <= y.size <= _INT_MAX
        or not (alpha != 0 and abs(alpha) != float("inf") and alpha == alpha)
        or not (y.flags.c_contiguous and y.flags.aligned and y.flags.writeable)
        or not _same_layout(x, y)
        or not _same_layout(a, y)
        or (x is not y and np.may_share_memory(x, y))
        or (a is not y and np.may_share_memory(a, y))
    ):
        return False
    if a is not y:
        np.copyto(y, a)
    _call_axpy(fn, alpha, x, y)
    return True


def _call_axpy(fn, alpha, x, y) -> None:
    fn(y.size, alpha, x.ctypes.data, 1, y.ctypes.data, 1)


_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


def _operand(m: np.ndarray):
    """``(transpose flag, leading dimension)`` of a 2-D operand BLAS can read in place, else None."""
    if m.dtype.itemsize == 0 or not m.flags.aligned or m.ndim != 2:
        return None
    rows, cols = m.shape
    s0, s1 = m.strides
    item = m.itemsize
    if (s1 == item or cols == 1) and s0 % item == 0 and s0 // item >= max(1, cols):
        return _NO_TRANS, max(1, s0 // item, cols)
    if (s0 == item or rows == 1) and s1 % item == 0 and s1 // item >= max(1, rows):
        return _TRANS, max(1, s1 // item, rows)
    return None


def gemm(a: np.ndarray, b: np.ndarray, c: np.ndarray, beta: float = 1.0) -> bool:
    """``c = a @ b + beta * c`` in place through BLAS; ``False``, with nothing written, where
    BLAS does not apply: 2-D float32/float64 operands of one dtype that BLAS reads where they
    lie (rows or columns contiguous), ``c`` C-contiguous, writable and overlapping neither,
    sizes below 2^31 and a non-empty product (``k`` = 0 would leave ``beta * c``)."""
    fn = library()[1].get(("gemm", c.dtype.char))
    if (
        fn is None
        or a.ndim != 2
        or b.ndim != 2
        or c.ndim != 2
        or a.dtype != c.dtype
        or b.dtype != c.dtype
        or a.shape[1] != b.shape[0]
        or c.shape != (a.shape[0], b.shape[1])
        or not (c.flags.c_contiguous and c.flags.aligned and c.flags.writeable)
        or min(a.shape + b.shape) == 0
        or max(a.size, b.size, c.size) > _INT_MAX
        or np.may_share_memory(a, c)
        or np.may_share_memory(b, c)
    ):
        return False
    return _call_gemm(fn, a, b, c, beta)


def _call_gemm(fn, a, b, c, beta) -> bool:
    la, lb = _operand(a), _operand(b)
    if la is None or lb is None:
        return False
    m, k = a.shape
    n = b.shape[1]
    fn(_ROW_MAJOR, la[0], lb[0], m, n, k, 1.0, a.ctypes.data, la[1], b.ctypes.data, lb[1], beta, c.ctypes.data, max(1, n))
    return True


def _same_layout(x, y) -> bool:
    return x.dtype == y.dtype and x.shape == y.shape and x.flags.c_contiguous and x.flags.aligned


# Below this many elements per matrix numpy's strided copy is as fast (96x256 float32: 8.2 us
# against 9.9 us through the ctypes call; 256x512: 115 against 32 us).
TRANSPOSE_MIN_ELEMS = 1 << 15


def transpose_copy(src: np.ndarray, dst: np.ndarray) -> bool:
    """``dst[...] = src`` where ``src``'s last two axes are a transposed row-major matrix (each
    matrix's columns contiguous, as ``x.mT`` of a contiguous ``x``), through ``omatcopy`` one
    matrix at a time; ``False``, with nothing written, where it does not apply (float32/float64,
    ``dst`` C-contiguous and apart from ``src``, non-negative strides, 16K+ elements a matrix).

    The copy multiplies by 1, which keeps every value and bit pattern except a signaling NaN's
    (it comes out quiet, as from any float arithmetic)."""
    if np.ndim(src) < 2 or src.size < TRANSPOSE_MIN_ELEMS:  # (the common small case first; scalars too)
        return False
    fn = library()[1].get(("omatcopy", dst.dtype.char))
    if fn is None or src.dtype != dst.dtype or src.shape != dst.shape:
        return False
    rows, cols = src.shape[-2:]
    item = src.itemsize
    s_row, s_col = src.strides[-2:]
    if (
        rows * cols < TRANSPOSE_MIN_ELEMS
        or s_row != item
        or s_col % item
        or s_col // item < rows
        or any(s < 0 for s in src.strides)
        or not (dst.flags.c_contiguous and dst.flags.aligned and dst.flags.writeable)
        or not src.flags.aligned
        or max(src.size, s_col // item * cols) > _INT_MAX
        or np.may_share_memory(src, dst)
    ):
        return False
    lda = s_col // item
    base, out = src.ctypes.data, dst.ctypes.data
    batch_strides = src.strides[:-2]
    step = rows * cols * item
    for n, index in enumerate(np.ndindex(*src.shape[:-2])):
        offset = sum(i * s for i, s in zip(index, batch_strides))
        # src's matrix is A^T for A (cols x rows, row-major, leading dimension lda)
        fn(_ROW_MAJOR, _TRANS, cols, rows, 1.0, base + offset, lda, out + n * step, cols)
    return True
