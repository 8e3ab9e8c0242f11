"""``graphc.cpu``: the host device, PyTorch's ``torch.cpu`` names.

Besides the availability queries, it owns the one cache the CPU backend keeps
across calls: compiled programs take their large outputs (8 MiB and up) from
a cache of buffers and take them back once no array uses them, because a fresh
``np.empty`` of that size is page-faulted in on every call (~5 ms for 64 MiB).
``empty_cache()`` gives the idle buffers back to the system;
``GRAPHC_CPU_OUTPUT_CACHE_MB`` caps the cache (0 turns it off).
"""

from __future__ import annotations

from backends.numpy import allocator as _allocator


def is_available() -> bool:
    """Always True: graphc runs on the CPU everywhere."""
    return True


def device_count() -> int:
    return 1


def synchronize(device=None) -> None:
    """A no-op: CPU work is finished when the call that started it returns."""


def current_device() -> str:
    return "cpu"


def empty_cache() -> None:
    """Release the cached output buffers of compiled programs that no tensor uses."""
    _allocator.empty_cache()


def memory_stats() -> dict:
    """The output cache: bytes held (``cached_bytes``), of which in use (``in_use_bytes``),
    outputs served from it (``reused``), buffers allocated (``allocated``) and its cap."""
    return _allocator.cache.stats()
