"""Helpers every CPU case shares: checking results against float64 references, compiling
graphc through ``explain()``, profiling a program's kernels, and :class:`Impls`, which sets
up a case's implementations and then times them together, interleaved."""

from __future__ import annotations

import time

import numpy as np

from .harness import Config, Measurement, Row, measure_interleaved
from .peers import Peers


def _np(x) -> np.ndarray:
    """A numpy array from a graphc tensor, a torch tensor or an array."""
    if hasattr(x, "detach"):
        x = x.detach()
    if hasattr(x, "numpy"):
        return np.asarray(x.numpy())
    return np.asarray(x)


def compare(out, ref, rtol: float, atol: float) -> str:
    """``'ok (max err ...)'`` or ``'MISMATCH ...'`` of ``out`` against a float64 ``ref``."""
    try:
        a = _np(out).astype(np.float64)
    except Exception as e:
        return f"MISMATCH (no value: {type(e).__name__}: {e})"
    ref = np.asarray(ref, dtype=np.float64)
    if a.shape != ref.shape:
        return f"MISMATCH shape {list(a.shape)} vs {list(ref.shape)}"
    err = np.abs(a - ref)
    if not np.all(np.isfinite(a)) or np.any(err > atol + rtol * np.abs(ref)):
        return f"MISMATCH max abs err {float(np.nanmax(err)):.3g}"
    return f"ok (max err {float(err.max()) if err.size else 0.0:.1e})"


def _note_mismatch(row: Row, who: str, verdict: str) -> None:
    if verdict.startswith("MISMATCH"):
        row.notes.append(f"{who} result {verdict}")


def _compile_graphc(row: Row, fn, args):
    """``graphc.compile(fn)``, warmed up and compiled through ``explain()``; returns (compiled, report)."""
    import graphc

    cf = graphc.compile(fn)
    t0 = time.perf_counter()
    report = cf.explain(*args)  # the first call traces, compiles and runs
    row.extra["graphc_report"] = {
        "traced_nodes": len(report.traced),
        "optimized_nodes": len(report.optimized),
        "kernels": len(report.kernels),
        "compile_timings_s": dict(report.timings),
        "warmup_and_compile_s": time.perf_counter() - t0,
    }
    return cf, report


def _note_compile_health(row: Row, m: Measurement, cf) -> None:
    """Say so when the timed calls were not plain replays (eager fallback, retraces)."""
    info = cf.cache_info()
    if info.eager_calls > 0 or info.hits == 0:
        m.note = "graphc.compile fell back to eager"
        row.notes.append(f"graphc.compile ran the function eagerly ({info}); the 'graphc' time is not a compiled one")
    elif info.traces > 1:
        m.note = f"traced {info.traces} times"
        row.notes.append(f"graphc.compile traced the function {info.traces} times ({info}): some calls recompiled")


def time_kernels(cf, report, args, calls: int, warmup: int = 0):
    """``(seconds per call, {kernel name: seconds per call})``: ``cf(*args)`` run ``calls`` times
    with each generated kernel of ``report``'s program timed where it runs (its function
    wrapped for the calls, then restored); ``(None, {})`` when the program has no kernels to wrap."""
    program = getattr(report, "_program", None)
    glb = getattr(getattr(program, "fn", None), "__globals__", None)
    if glb is None:
        return None, {}
    names = [k.name for k in report.kernels if k.name in glb and callable(glb[k.name])]
    acc = dict.fromkeys(names, 0.0)
    saved = {n: glb[n] for n in names}

    def wrap(name, f):
        def timed(*a, **kw):
            t0 = time.perf_counter()
            try:
                return f(*a, **kw)
            finally:
                acc[name] += time.perf_counter() - t0

        return timed

    try:
        for n in names:
            glb[n] = wrap(n, saved[n])
        for _ in range(warmup):
            cf(*args)
        acc.update(dict.fromkeys(names, 0.0))
        t0 = time.perf_counter()
        for _ in range(calls):
            cf(*args)
        total = (time.perf_counter() - t0) / calls
    finally:
        for n in names:
            glb[n] = saved[n]
    return total, {n: t / calls for n, t in acc.items()}


def _profile_kernels(row: Row, cfg: Config, cf, report, args) -> None:
    """Time each generated kernel of ``report``'s program over a few calls (wrapping its functions)."""
    total, per_kernel = time_kernels(cf, report, args, cfg.pick(5, 2, 1))
    if total is None:
        return
    nodes = {k.name: len(k.nodes) for k in report.kernels}
    kinds = {k.name: k.kind for k in report.kernels}
    per = sorted(((t, n) for n, t in per_kernel.items()), reverse=True)
    in_kernels = sum(t for t, _ in per)
    row.extra["kernels"] = {
        "call_s": total,
        "in_kernels_s": in_kernels,
        "outside_kernels_s": total - in_kernels,
        "per_kernel_s": {n: t for t, n in per},
        "kinds": kinds,
        "nodes": nodes,
    }
    if cfg.profile:
        top = ", ".join(f"{n} ({kinds[n]}, {nodes[n]} nodes) {t * 1e3:.2f} ms" for t, n in per[:6])
        more = f" (+{len(per) - 6} more)" if len(per) > 6 else ""
        row.notes.append(
            f"profile: call {total * 1e3:.2f} ms = kernels {in_kernels * 1e3:.2f} ms + outside kernels "
            f"{(total - in_kernels) * 1e3:.2f} ms; {len(per)} kernels: {top}{more}"
        )


class Impls:
    """The implementations of one case: each is set up (compiled, checked) first, then all are timed
    together by :func:`~benchmarks.harness.measure_interleaved`.

    ``add(key, setup)``: ``setup()`` does the compiling and checking and returns the callable
    to time; if it raises, that implementation is reported failed. ``set(key, m)`` records one
    that does not run (a missing peer). Keys: ``"graphc"``, ``"graphc eager"`` and the keys of
    :data:`~benchmarks.harness.PEERS`.
    """

    def __init__(self, row: Row, cfg: Config):
        self.row, self.cfg = row, cfg
        self.runners: dict = {}
        self.notes: dict = {}

    def add(self, key: str, setup) -> bool:
        self.cfg.log(f"{self.row.case}: {key} (set up and check)")
        try:
            self.runners[key] = setup()
            return True
        except Exception as e:
            self.set(key, Measurement.failed(e))
            return False

    def set(self, key: str, m: Measurement) -> None:
        if key == "graphc":
            self.row.graphc = m
        elif key == "graphc eager":
            self.row.graphc_eager = m
        else:
            self.row.peers[key] = m

    def run(self, **kwargs) -> None:
        self.cfg.log(f"{self.row.case}: timing {', '.join(self.runners)} (interleaved)")
        for key, m in measure_interleaved(self.runners, self.cfg, **kwargs).items():
            if key in self.notes and not m.note:
                m.note = self.notes[key]
            self.set(key, m)
        for key in ("torch.compile", "jax", "tinygrad"):
            m = self.row.peers.get(key)
            if m is not None and m.status.startswith("failed"):
                self.row.notes.append(f"{key} {m.status}")


def _torch_impls(impls: Impls, peers: Peers, torch_fn, make_args, check=None) -> None:
    """torch eager and torch.compile of ``torch_fn(*make_args())``, or why they are missing."""
    row = impls.row
    if peers.torch is None:
        impls.set("torch", peers.torch_missing())
        impls.set("torch.compile", peers.compile_missing())
        return
    torch = peers.torch

    def eager():
        args = make_args()
        if check:
            _note_mismatch(row, "torch eager", check(torch_fn(*args)))
        return lambda: torch_fn(*args)

    impls.add("torch", eager)
    missing = peers.compile_missing()
    if missing:
        impls.set("torch.compile", missing)
        return

    def compiled():
        args = make_args()
        c = torch.compile(torch_fn)
        impls.cfg.log(f"{row.case}: torch.compile's first call compiles")
        t0 = time.perf_counter()
        out = c(*args)
        first = time.perf_counter() - t0
        row.extra["torch_compile_first_call_s"] = first
        impls.notes["torch.compile"] = f"first call (compiles) {first:.1f} s"
        if check:
            _note_mismatch(row, "torch.compile", check(out))
        return lambda: c(*args)

    impls.add("torch.compile", compiled)
