"""Loading generated source: one function for every backend (numpy programs, Triton kernels and
Triton host programs).

Generated code is compiled under a made-up file name and its text registered in
:mod:`linecache`, so that tracebacks show the generated lines and Triton (which reads a
kernel's source through :mod:`inspect`, i.e. through ``linecache``) can parse it. The entry is
dropped again when the loaded object is garbage-collected: compiled programs come and go (the
compile cache evicts them, eager ops and closures make fresh ones), and an entry per program
kept forever would grow without bound (a few KB each).
"""

from __future__ import annotations

import hashlib
import itertools
import linecache
import weakref

_ids = itertools.count(1)


def _forget(filename: str) -> None:
    linecache.cache.pop(filename, None)


def load_source(source: str, tag: str, namespace: dict, name: str):
    """Run ``source`` in ``namespace`` and return ``namespace[name]``.

    ``tag`` names the file in tracebacks (``<graphc-TAG-HASH-N>``). The source stays readable
    through ``linecache`` for as long as the returned object lives.
    """
    digest = hashlib.sha1(source.encode()).hexdigest()[:10]
    filename = f"<graphc-{tag}-{digest}-{next(_ids)}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    try:
        exec(compile(source, filename, "exec"), namespace)
        obj = namespace[name]
    except BaseException:
        _forget(filename)
        raise
    try:
        weakref.finalize(obj, _forget, filename)
    except TypeError:  # a value without weak references (not a function or kernel): the entry stays
        pass
    return obj


def registered_sources() -> int:
    """How many generated sources ``linecache`` holds now (tests check that this stays bounded)."""
    return sum(1 for k in list(linecache.cache) if isinstance(k, str) and k.startswith("<graphc-"))
