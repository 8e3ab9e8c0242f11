"""Large outputs of compiled numpy programs, recycled instead of page-faulted anew.

``np.empty`` of tens of MiB goes to ``mmap``: the kernel zeroes and maps the
memory page by page on first write, and ``munmap`` gives it back when the array
dies. For a 4096² float32 output that is ~5 ms on every call — a fifth of a
whole layer norm. (Below glibc's mmap threshold, malloc's own heap already
reuses memory, so only large buffers are worth caching.)

A compiled program therefore takes each large output from :data:`cache`. A
buffer handed out stays listed here and is handed out again once no array uses
it: every numpy view keeps the array that owns its memory alive, so the owner's
reference count says exactly whether anything still reads or writes it — no
finalizers, nothing for the caller to give back.

The cache holds at most ``GRAPHC_CPU_OUTPUT_CACHE_MB`` MiB (default 256; 0
turns it off); past that, outputs are plain ``np.empty`` again. :func:`empty_cache`
drops the buffers nobody uses (``graphc.cpu.empty_cache()``).

Below the mmap threshold the heap reuses memory only if malloc keeps it: glibc gives the free
top of its heap back to the kernel once it exceeds twice its (dynamic) mmap threshold -- 1 MiB
after a 512 KiB array -- so an eager op that makes two or three such temporaries gave them back
and faulted them in again on every call (a bfloat16 add of 256x512 took 224 page faults, 523 us;
gelu 960 faults, 2.6 ms). :func:`tune_malloc`, run when the backend is imported, fixes glibc's
thresholds instead: arrays up to 32 MiB (glibc's largest threshold) from the heap, the heap's top
given back beyond 256 MiB free, and all of it by ``empty_cache()`` (``malloc_trim``). The same
ops: 88 us and 618 us, no faults. ``GRAPHC_MALLOC_TUNE=0`` leaves malloc as it is.
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys
import threading

import numpy as np

# Outputs smaller than this come from malloc's heap, which reuses memory by itself.
MIN_BYTES = 8 << 20


def _limit_from_env() -> int:
    raw = os.environ.get("GRAPHC_CPU_OUTPUT_CACHE_MB", "").strip()
    if not raw:
        return 256 << 20
    try:
        mb = int(raw)
    except ValueError:
        raise ValueError(f"GRAPHC_CPU_OUTPUT_CACHE_MB must be a whole number of MiB, got {raw!r}") from None
    return max(0, mb) << 20


def _unused(buffers: list, i: int) -> bool:
    """Whether only the cache holds ``buffers[i]`` (its list entry and this call's argument)."""
    return sys.getrefcount(buffers[i]) == 2


class OutputCache:
    """Byte buffers by size, handed out as arrays and taken back when unreferenced."""

    def __init__(self, limit_bytes: int | None = None):
        self.limit = _limit_from_env() if limit_bytes is None else limit_bytes
        self.by_size: dict[int, list] = {}
        self.total = 0  # bytes of every buffer listed, in use or not
        self.lock = threading.Lock()
        self.reused = 0
        self.allocated = 0

    def empty(self, shape: tuple, dtype) -> np.ndarray:
        """An uninitialized array like ``np.empty(shape, dtype)``, from the cache when large."""
        dtype = np.dtype(dtype)
        nbytes = dtype.itemsize
        for s in shape:
            nbytes *= s
        if nbytes < MIN_BYTES or nbytes > self.limit:
            return np.empty(shape, dtype)
        with self.lock:
            raw = self._take(nbytes)
        if raw is None:
            return np.empty(shape, dtype)
        return raw.view(dtype).reshape(shape)

    def _take(self, nbytes: int):
        buffers = self.by_size.setdefault(nbytes, [])
        for i in range(len(buffers)):
            if _unused(buffers, i):
                raw = buffers.pop(i)
                buffers.append(raw)  # most recently used last: eviction takes the front
                self.reused += 1
                return raw
        if self.total + nbytes > self.limit:
            self._evict(self.total + nbytes - self.limit)
            if self.total + nbytes > self.limit:
                return None
        raw = np.empty(nbytes, dtype=np.uint8)
        buffers.append(raw)
        self.total += nbytes
        self.allocated += 1
        return raw

    def _evict(self, need: int) -> None:
        """Drop unused buffers, least recently handed out first, until ``need`` bytes are freed."""
        for size, buffers in list(self.by_size.items()):
            i = 0
            while i < len(buffers) and need > 0:
                if _unused(buffers, i):
                    del buffers[i]
                    self.total -= size
                    need -= size
                else:
                    i += 1
            if not buffers:
                del self.by_size[size]

    def owns(self, arr: np.ndarray) -> bool:
        """Whether ``arr`` is an output handed out by this cache (its memory is its own,
        for as long as anything holds it)."""
        raw = arr.base
        if not isinstance(raw, np.ndarray):
            return False
        with self.lock:
            return any(b is raw for b in self.by_size.get(raw.nbytes, ()))

    def empty_cache(self) -> None:
        """Give back to the system every buffer no array uses."""
        with self.lock:
            self._evict(self.total)

    def stats(self) -> dict:
        with self.lock:
            in_use = sum(size for size, bufs in self.by_size.items() for i in range(len(bufs)) if not _unused(bufs, i))
            return {
                "cached_bytes": self.total,
                "in_use_bytes": in_use,
                "reused": self.reused,
                "allocated": self.allocated,
                "limit_bytes": self.limit,
            }


cache = OutputCache()


def empty_cache() -> None:
    """Release the cached output buffers that no array uses any more, and give malloc's free
    memory back to the system (glibc's ``malloc_trim``)."""
    cache.empty_cache()
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


# glibc's mallopt parameters
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 256 << 20


def _glibc():
    """The C library when it is glibc (musl and others have no such thresholds), else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018  (glibc's own symbol: AttributeError elsewhere)
    except (OSError, AttributeError):
        return None
    return libc


@functools.cache
def tune_malloc() -> bool:
    """Fix glibc's mmap and trim thresholds (see the module docstring), once per process;
    whether they are set. Off with ``GRAPHC_MALLOC_TUNE=0``."""
    libc = None if os.environ.get("GRAPHC_MALLOC_TUNE", "1").strip() == "0" else _glibc()
    return bool(libc is not None and libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) and libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
