"""Run-time helpers that generated numpy programs call.

Blocks of a fused kernel are spread over a thread pool sized to the machine's
cores: numpy releases the GIL inside its loops, so two threads really run
two blocks at once. Small kernels skip the pool (its hand-off costs ~20 µs).
"""

from __future__ import annotations

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ir import dtypes as dt
from ir import ops as ops_table
from ir.ops import nphalf, npmath
from ir.ops.movement import expanded_strides

from . import blas
from . import kernels as K
from .allocator import cache as _output_cache

# Elements per block. Large on purpose: with two threads, every numpy call in a block body hands
# the GIL over, which costs microseconds, so blocks must carry enough work to hide it (a 4096²
# layer norm: 21.7 ms at 2^16 elements, 12 ms at 2^19). A few blocks per thread still fit in L3.
BLOCK_ELEMS = 1 << 19
# Below this many elements a kernel runs on the calling thread alone.
PARALLEL_MIN_ELEMS = 1 << 18
# Below this many outputs a matmul adds its bias with numpy: the pass gemm's beta saves costs
# less than the ctypes call (32x64: 19 us through gemm against 12.7 us for matmul and add).
BIAS_GEMM_MIN_ELEMS = 1 << 15

_pool = None
_pool_lock = threading.Lock()


_threads_cache: dict = {}


def num_threads() -> int:
    """Worker threads for blocked kernels: GRAPHC_NUM_THREADS, else the usable cores."""
    env = os.environ.get("GRAPHC_NUM_THREADS", "")
    cached = _threads_cache.get(env)
    if cached is not None:
        return cached
    if env:
        n = max(1, int(env))
    else:
        try:
            n = max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # pragma: no cover - macOS
            n = max(1, os.cpu_count() or 1)
    _threads_cache[env] = n
    return n


def set_num_threads(n: int) -> None:
    """Use ``n`` worker threads from now on (``graphc.set_num_threads``): sets
    GRAPHC_NUM_THREADS, which ``num_threads`` reads, and retires the pool so the next
    parallel kernel makes one of the new size (kernels already running finish on the old)."""
    global _pool
    os.environ["GRAPHC_NUM_THREADS"] = str(n)
    with _pool_lock:
        old, _pool = _pool, None
    if old is not None:
        old.shutdown(wait=False)


def pool():
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = ThreadPoolExecutor(
                    max_workers=num_threads(), thread_name_prefix="graphc", initializer=np.seterr, initargs=("ignore",)
                )
    return _pool


def output(shape: tuple, dtype) -> np.ndarray:
    """A large program output, recycled from the output cache (see ``allocator``)."""
    return _output_cache.empty(shape, dtype)


def rows_per_block(rows: int, row_elems: int) -> int:
    return max(1, BLOCK_ELEMS // max(1, row_elems))


def one_block(rows: int, row_elems: int) -> bool:
    """Whether :func:`run_blocks` would run these rows as one block on the calling thread (then
    generated code runs the block's statements inline)."""
    return rows <= BLOCK_ELEMS // max(1, row_elems) and rows * row_elems < PARALLEL_MIN_ELEMS


def run_blocks(rows: int, row_elems: int, body, scratch=(), threads: int = 0) -> None:
    """Call ``body(lo, hi, s)`` over row blocks, in parallel when it pays (``threads=1``: never).

    Each thread takes one contiguous range of rows and walks it in blocks of
    about :data:`BLOCK_ELEMS` elements. ``scratch`` lists ``(dtype, row_shape)``
    temporaries; each thread gets its own block-sized set ``s``, allocated once
    and reused for every block.
    """
    step = max(1, min(rows, rows_per_block(rows, row_elems)))  # rows may be 0 (size-0 tensors)
    # (the thread count reads the environment: only asked when the kernel is large enough)
    parallel = threads != 1 and rows >= 2 and rows * row_elems >= PARALLEL_MIN_ELEMS and num_threads() > 1
    workers = num_threads() if parallel else 1
    if parallel:
        step = min(step, -(-rows // workers))  # every thread gets at least one block
    if rows <= step:  # one block, on this thread: the common case of small tensors, kept cheap
        body(0, rows, [np.empty((step,) + tuple(rest), dtype=dtype) for dtype, rest in scratch])
        return

    def span(start, end):
        s = [np.empty((step,) + tuple(rest), dtype=dtype) for dtype, rest in scratch]
        for lo in range(start, end, step):
            body(lo, min(end, lo + step), s)

    if not parallel:
        span(0, rows)
        return
    chunk = -(-rows // workers)
    chunk = -(-chunk // step) * step  # whole blocks per thread

    futures = [pool().submit(span, s, min(rows, s + chunk)) for s in range(chunk, rows, chunk)]
    span(0, min(rows, chunk))
    for f in futures:
        f.result()


class Scratch(threading.local):
    """Per-thread temporaries for one kernel: a dict of arrays by slot."""

    def get(self, slot, shape, dtype):
        store = self.__dict__.setdefault("arrays", {})
        arr = store.get(slot)
        size = 1
        for s in shape:
            size *= s
        if arr is None or arr.size < size or arr.dtype != dtype:
            arr = np.empty(max(size, 1), dtype=dtype)
            store[slot] = arr
        return arr[:size].reshape(shape)


def run_op(name: str, arrays, attrs, shape, dtype, node: str = ""):
    """One primitive through the eager kernels (for ops that fuse with nothing).

    ``node`` is the IR node's text (with the user's source line): a bad value found at run
    time (an index out of range) is reported with it, since the traceback shows only
    generated code."""
    try:
        return K.run_op(ops_table.OPS[name], arrays, attrs, shape, dtype)
    except IndexError as e:
        if not node:
            raise
        raise IndexError(f"{e} (in a compiled program, at {node})") from None


def view_bases(arrays) -> set:
    """Ids of the arrays a program must not overwrite in place: those another input is a view
    of, and those passed more than once (see ``backends.numpy.inplace``)."""
    seen, shared = set(), set()
    for a in arrays:
        if type(a) is np.ndarray:
            if a.base is not None:
                shared.add(id(a.base))
            if id(a) in seen:
                shared.add(id(a))
            seen.add(id(a))
    return shared


def writable_in_place(a, shared) -> bool:
    """Whether a program may write a mutation's new value straight into input ``a``: an array
    that owns its contiguous, writable memory and that no other input sees."""
    return type(a) is np.ndarray and a.base is None and a.flags.c_contiguous and a.flags.writeable and id(a) not in shared


def expand(x, shape):
    """``np.broadcast_to(x, shape)``, a read-only view, made directly when ``x`` is a
    C-contiguous array: numpy's function builds an iterator to check the shapes (2.5 us
    against 1.1 us here), and a generated program expands a few arrays on every call."""
    if type(x) is np.ndarray and x.flags.c_contiguous and x.size:
        view = np.ndarray(shape, x.dtype, x, 0, expanded_strides(x.shape, x.itemsize, shape))
        view.flags.writeable = False
        return view
    return np.broadcast_to(x, shape)


def flat(a):
    """``a`` as a 1-d array (a view when ``a`` is contiguous)."""
    return a.reshape(-1)


_tls = threading.local()


def _mask_buffer(shape, it):
    """A per-thread scratch array (reused: blocks call this once per where)."""
    n = 1
    for s in shape:
        n *= s
    nbytes = n * np.dtype(it).itemsize
    buf = getattr(_tls, "mask", None)
    if buf is None or buf.size < nbytes:
        buf = _tls.mask = np.empty(max(nbytes, 64), dtype=np.uint8)
    return buf[:nbytes].view(it).reshape(shape)


def sigmoid_into(x, out) -> None:
    """``out = 1 / (1 + exp(-x))``; float16 through float32, as PyTorch's opmath (exp(12)
    overflows float16: sigmoid(-12) came out 0, not 6e-6)."""
    if out.dtype == np.float16:
        np.copyto(out, npmath.sigmoid(np.asarray(x, dtype=np.float32)), casting="unsafe")
        return
    np.negative(x, out=out)
    np.exp(out, out=out)
    np.add(out, 1, out=out)
    np.reciprocal(out, out=out)


def relu_into(x, out) -> None:
    """``out = max(x, 0)``, NaN kept (:func:`ir.ops.npmath.relu`: numpy's vector loop)."""
    npmath.relu(x, out=out)


def cast_into(x, out) -> None:
    """``out[...] = x`` converted to ``out``'s dtype (a cast node): float32 <-> float16 in vector
    passes (:func:`ir.ops.nphalf.cast_into`; numpy's own cast is one element at a time)."""
    nphalf.cast_into(x, out)


def astype(x, dtype) -> np.ndarray:
    """``x.astype(dtype)``, float32 <-> float16 in vector passes (:func:`ir.ops.nphalf.astype`)."""
    return nphalf.astype(x, dtype)


def copy_into(x, out) -> None:
    """``out[...] = x``: a transposed matrix (or a batch of them) through BLAS's blocked
    ``omatcopy`` (:func:`.blas.transpose_copy`), else numpy's copy."""
    if not blas.transpose_copy(x, out):
        np.copyto(out, x)


def fma_into(x, y, z, out) -> None:
    """``out = x * y + z`` rounded once (:func:`ir.ops.npmath.fma`): one BLAS ``axpy`` when a
    factor is a scalar (it fuses in every float dtype), else through double."""
    if np.ndim(y) != 0 and np.ndim(x) == 0:
        x, y = y, x
    scalar = np.ndim(y) == 0
    if scalar and out.size >= _FMA_BLAS_MIN and out.dtype.kind == "f" and np.shape(x) == out.shape == np.shape(z):
        if blas.axpy(float(y), x, out, z):
            return
    npmath.fma(x, y, z, out=out)


# Below this many elements numpy's four calls beat the ctypes call into BLAS, which is also
# the colder code inside a training step (a 64x128 update: 24 us through BLAS, 9 us in numpy).
_FMA_BLAS_MIN = 1 << 16


# Rows are summed this many elements at a time by BLAS (a matrix-vector product with ones), and
# the blocks' sums are summed again the same way. numpy's own float sum is pairwise but scalar
# (256x512 float32 rows: 25.9 us, against 7.1 us as one gemv); a gemv accumulates down the row
# in a few vector registers, so its rounding error grows with the row (max relative error over
# rows of 4096 normals+1: 3.0e-7 as one gemv, 1.3e-7 pairwise, 1.4e-7 in blocks of 512).
SUM_BLOCK = 512
# Sums of fewer elements per output go through numpy's reduce: a ones product costs more per call.
SUM_BLAS_MIN = 16
# Rows longer than this that SUM_BLOCK cannot cut evenly take blocks and a tail each: one dot
# product's error grows with its length (relative, rows of normals+1: 1.3e-7 at 4096 elements
# like the pairwise sum, 1.8e-7 at 2^16, 2.8e-7 at 2^20 against 4e-8).
VECDOT_MAX = 1 << 16
_ones_cache: dict = {}
_blocks_cache: dict = {}


def sum_matrix(shape, axes, dtype):
    """``(rows, cols)``: ``shape`` seen as the matrix whose rows a float32/float64 sum over the
    trailing ``axes`` adds up, each of at least :data:`SUM_BLAS_MIN` elements; None for any other
    sum (leading or scattered axes, other dtypes, short rows, no elements). The eager kernels
    and the generated code decide by it alike."""
    if dtype not in (dt.float32, dt.float64) or not axes:
        return None
    split = len(shape) - len(axes)
    if tuple(axes) != tuple(range(split, len(shape))):
        return None
    rows, cols = math.prod(shape[:split]), math.prod(shape[split:])
    if cols < SUM_BLAS_MIN or rows * cols == 0:
        return None
    return rows, cols


def _ones(length: int, dtype) -> np.ndarray:
    key = (length, dtype)
    ones = _ones_cache.get(key)
    if ones is None:
        ones = np.ones(length, dtype)
        ones.flags.writeable = False
        _ones_cache[key] = ones
    return ones


def _row_block(length: int) -> int:
    """The longest block of at most :data:`SUM_BLOCK` and at least a quarter of it that divides
    ``length`` (0 when none does)."""
    block = _blocks_cache.get(length)
    if block is None:
        block = next((b for b in range(SUM_BLOCK, SUM_BLOCK // 4 - 1, -1) if length % b == 0), 0)
        _blocks_cache[length] = block
    return block


def sum_rows(x, out=None):
    """``x.sum(-1)`` for float32/float64 ``x``, as BLAS products with a ones vector.

    Rows of at most :data:`SUM_BLOCK` elements are one gemv. Longer rows of a C-contiguous
    ``x`` are cut into equal blocks (a divisor of the length: one gemv over all blocks of all
    rows) whose sums are summed again the same way, a cascade with numpy's pairwise accuracy;
    rows that cannot be cut evenly are one dot product each up to :data:`VECDOT_MAX` elements
    (accurate to 1.8e-7 there), longer ones blocks and a tail per row. Every value keeps its
    IEEE meaning (``v * 1`` is ``v``). ``out`` has ``x.shape[:-1]``. The bits do not depend on
    the BLAS thread count: each output is one dot product computed by one thread."""
    length = x.shape[-1]
    if length <= SUM_BLOCK:
        return np.matmul(x, _ones(length, x.dtype), out=out)
    block = _row_block(length)
    if block and x.flags.c_contiguous:
        parts = np.matmul(x.reshape(-1, block), _ones(block, x.dtype))
        return sum_rows(parts.reshape(x.shape[:-1] + (length // block,)), out=out)
    if length <= VECDOT_MAX:
        return np.vecdot(x, _ones(length, x.dtype), out=out)
    if x.ndim == 1:  # (its block sums reduce to a numpy scalar, which takes no out=)
        return sum_rows(x.reshape(1, length), None if out is None else out.reshape(1)).reshape(())
    blocks, tail = divmod(length, SUM_BLOCK)
    head = x[..., : blocks * SUM_BLOCK].reshape(x.shape[:-1] + (blocks, SUM_BLOCK))
    total = sum_rows(np.matmul(head, _ones(SUM_BLOCK, x.dtype)), out=out)
    if tail:
        np.add(total, np.matmul(x[..., blocks * SUM_BLOCK :], _ones(tail, x.dtype)), out=total)
    return total


def sum_trailing(x, count, out):
    """``x`` (a block of rows of a generated kernel) summed over its last ``count`` axes into
    ``out`` (the leading shape) as one row each when those axes are one contiguous run: a dot
    product per row (see ``statements.rows_sum_reduce`` for why not :func:`sum_rows`' gemv),
    :func:`sum_rows` past :data:`VECDOT_MAX`; numpy's reduce otherwise."""
    lead = x.shape[: x.ndim - count]
    target = out.view()
    target.shape = lead  # (raises rather than reshaping into a copy that would drop the result)
    if x.flags.c_contiguous:
        rows = x.reshape(lead + (-1,))
        length = rows.shape[-1]
        if length > VECDOT_MAX:
            sum_rows(rows, out=target)
        else:
            np.vecdot(rows, _ones(length, x.dtype), out=target)
    else:
        np.add.reduce(x, axis=tuple(range(x.ndim - count, x.ndim)), out=target)


def sum_blas(x, matrix, shape, axes, keepdims):
    """A float sum over the trailing axes of ``x`` seen as the ``matrix`` (rows, cols) through
    :func:`sum_rows`, shaped ``shape``; numpy's reduce over ``axes`` when ``x`` is not
    C-contiguous (the matrix view would copy).

    Sums over leading axes stay numpy's: a ones vector times the matrix is a gemv down the
    columns, which OpenBLAS splits over threads with a tail path of its own, so its bits
    change with the thread count (a row's dot product does not: tested)."""
    if x.flags.c_contiguous:
        return sum_rows(x.reshape(matrix)).reshape(shape)
    return np.add.reduce(x, axis=axes, keepdims=keepdims)


def where_into(cond, a, b, out) -> None:
    """``out[...] = where(cond, a, b)`` as a bitwise blend (:func:`ir.ops.npmath.where_into`),
    its mask in this thread's scratch buffer."""
    npmath.where_into(cond, a, b, out, _mask_buffer)


def axpy_into(out, a, x, s, sign: float) -> None:
    """``out = a + sign * (x * s)`` for a scalar ``s``: an SGD-style update (``p - lr * g``).

    One fused BLAS ``axpy`` where it applies (see :mod:`.blas`; ``out`` is ``a`` itself when the
    program updates a parameter in place), else numpy's two passes, rounding ``x * s`` before
    the sum as the two ops do."""
    if blas.axpy(sign * float(s), x, out, a):
        return
    scaled = np.multiply(x, s, dtype=out.dtype)
    if sign < 0:
        np.subtract(a, scaled, out=out)
    else:
        np.add(a, scaled, out=out)


def matmul_bias_into(a, b, bias, out) -> None:
    """``out = a @ b + bias`` (a bias row broadcast down the rows), the way PyTorch's ``addmm``
    does it: the bias is copied into ``out`` and BLAS's gemm adds the product to it
    (``beta = 1``), saving the pass a separate add takes. numpy's matmul and add otherwise."""
    if out.size >= BIAS_GEMM_MIN_ELEMS:
        np.copyto(out, bias)
        if blas.gemm(a, b, out, 1.0):
            return
    np.matmul(a, b, out=out)
    np.add(bias, out, out=out)
