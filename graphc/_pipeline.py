"""The compile pipeline shared by ``@graphc.compile`` and the fused eager backward:
an ``ir.Graph`` in, a :class:`~graphc._report.Report` with a runnable program out.

:func:`build` runs the passes (simplify, fusion), the backend's code generation
and caches the generated program by the graph's structural hash; it also writes
``GRAPHC_DUMP`` folders and ``GRAPHC_DEBUG`` lines. Tracing, guards and replay
are :mod:`graphc._compiler`'s; this module only turns graphs into programs, so
:mod:`graphc.autograd.fused` can use it without depending on the compiler.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections import OrderedDict

from backends import backend_named
from ir.passes.fusion import fuse
from ir.passes.simplify import simplify

from . import viz
from ._report import Report
from .backends._precision import tf32_matmul

log = logging.getLogger("graphc.compile")


# Generated programs by the graph's structural hash (ops, attributes, shapes, dtypes,
# wiring; not node ids): a retrace after a guard miss that yields the same graph, or
# another function with the same structure, reuses the code instead of regenerating it.
_PROGRAMS: OrderedDict = OrderedDict()
PROGRAM_CACHE_SIZE = 256
_PROGRAMS_LOCK = threading.Lock()


def build(graph, name: str, signature: str = "", backend=None, timings=None) -> Report:
    """Optimize ``graph`` and generate code for it; returns a :class:`Report`."""
    timings = dict(timings or {})
    backend = backend or "numpy"
    t0 = time.perf_counter()
    # TF32 changes the Triton matmul's code (graphc.backends.cuda.matmul.allow_tf32), so it keys the program too
    key = (graph.structural_hash(), backend) + ((tf32_matmul(),) if backend == "triton" else ())
    with _PROGRAMS_LOCK:  # threads compile at once: an LRU move must not race an eviction
        hit = _PROGRAMS.get(key)
        if hit is not None:
            _PROGRAMS.move_to_end(key)
    if hit is not None:
        optimized, schedule, program, kernels, source = hit
        timings["program cache hit"] = time.perf_counter() - t0
        log.debug("graphc.compile: %s reuses the program of an identical graph (%s)", name, key[0][:12])
        report = Report(name, signature, graph, optimized, kernels, source, backend, timings, schedule)
        report._program = program
        _dump(report)
        return report
    report = _build_new(graph, name, signature, backend, timings, t0)
    with _PROGRAMS_LOCK:
        _PROGRAMS[key] = (report.optimized, report.schedule, report._program, report.kernels, report.program_source)
        if len(_PROGRAMS) > PROGRAM_CACHE_SIZE:
            _PROGRAMS.popitem(last=False)
    _dump(report)
    return report


def _build_new(graph, name, signature, backend, timings, t0) -> Report:
    chosen = backend_named(backend)  # raises for an unknown name
    optimized = simplify(graph)
    t1 = time.perf_counter()
    schedule = fuse(optimized, policy=chosen.fusion_policy())  # the backend says what may fuse
    t2 = time.perf_counter()
    if backend == "triton":  # TF32 matmuls: the user's setting (graphc.backends), read at codegen
        chosen.configure(allow_tf32=tf32_matmul())
    program = chosen.compile(schedule, name)
    kernels = program.kernel_infos()
    source = program.source
    t3 = time.perf_counter()
    timings.update({"simplify": t1 - t0, "fusion": t2 - t1, "codegen": t3 - t2})
    report = Report(name, signature, graph, optimized, kernels, source, backend, timings, schedule)
    report._program = program
    return report


def _debug_log(report: Report) -> None:
    level = int(os.environ.get("GRAPHC_DEBUG", "0") or 0)
    if level <= 0:
        return
    total = sum(report.timings.values())
    msg = (
        f"[graphc] compiled {report.function}{report.signature}: {len(report.traced)} nodes -> "
        f"{len(report.optimized)} after simplify, {len(report.kernels)} kernels, {total * 1e3:.1f} ms"
    )
    if level >= 2:
        msg += "\n" + str(report.traced) + "\n" + str(report.optimized)
    if level >= 3:
        msg += "\n" + "\n\n".join(k.source for k in report.kernels)
    print(msg, file=sys.stderr)


def _dump(report: Report) -> None:
    target = os.environ.get("GRAPHC_DUMP")
    if not target:
        return
    try:
        viz.dump_report(report, target)
    except Exception as e:  # a dump must never break a compile
        log.warning("graphc: writing the dump to %s failed: %s", target, e)
