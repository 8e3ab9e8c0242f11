"""Timing, ceilings, rows, targets, the printed table and the JSON file.

Everything here is independent of graphc's internals, so the CPU cases
(:mod:`benchmarks.cases_cpu`) and the GPU cases (``benchmarks.bench_gpu``)
share one way of measuring and reporting:

* :func:`measure` -- warm-up calls, then timed repeats (garbage collection
  off, as ``timeit`` does), the **median** of the repeats.
* :func:`measure_ceilings` -- the machine's memory-bandwidth ceiling (a large
  ``np.copyto``, on one thread and split over all cores; bytes = read once +
  written once) and a float32 matmul (sgemm) FLOP/s ceiling, measured in the
  same run as the cases.
* :class:`Row` -- one case: graphc compiled, graphc eager, each peer, the
  bytes or FLOPs the case moves, its targets and notes.
* :func:`format_table`, :func:`to_json` -- the report.

A peer that cannot run is a :class:`Measurement` whose ``status`` says why
(``"n/a (torch not installed)"``, ``"failed: ..."``): it is printed, never
dropped.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

import numpy as np

#: Peer columns, in print order: key -> column title.
PEERS = {
    "numpy": "numpy eager",
    "torch": "torch eager",
    "torch.compile": "torch.compile",
    "jax": "JAX jit",
    "tinygrad": "tinygrad JIT",
}


# ----------------------------------------------------------------------------
# configuration


@dataclass
class Config:
    """How big and how long: ``full`` (the default), ``quick`` or ``tiny`` (smoke tests).

    ``torch`` off reports the PyTorch peers as disabled; ``torch_compile``
    ``None`` means on for full runs and off for quick and tiny ones (its
    first compile costs tens of seconds).
    """

    mode: str = "full"  # "full" | "quick" | "tiny"
    repeats: int | None = None
    warmup: int | None = None
    max_seconds: float | None = None  # per measurement, once min_repeats are done
    torch: bool = True
    torch_compile: bool | None = None
    jax: bool | None = None  # JAX jit peer; None: on unless tiny (smoke tests stay fast)
    tinygrad: bool | None = None  # tinygrad JIT peer; None: on unless tiny
    cases: tuple | None = None  # names to run; None = all
    profile: bool = False  # per-kernel graphc times in the notes
    wait_quiet_s: float | None = None  # before each case, wait this long at most for other processes to go idle
    progress: bool = True  # progress lines on stderr

    def pick(self, full, quick, tiny):
        """The value for this mode: ``cfg.pick(1 << 24, 1 << 22, 1 << 12)``."""
        return {"full": full, "quick": quick, "tiny": tiny}[self.mode]

    @property
    def n_repeats(self) -> int:
        return self.repeats if self.repeats is not None else self.pick(15, 5, 2)

    @property
    def n_warmup(self) -> int:
        return self.warmup if self.warmup is not None else self.pick(2, 1, 1)

    @property
    def budget_s(self) -> float:
        return self.max_seconds if self.max_seconds is not None else self.pick(2.5, 1.0, 0.2)

    @property
    def quiet_wait(self) -> float:
        return self.wait_quiet_s if self.wait_quiet_s is not None else self.pick(5.0, 0.0, 0.0)

    @property
    def use_jax(self) -> bool:
        return self.mode != "tiny" if self.jax is None else self.jax

    @property
    def use_tinygrad(self) -> bool:
        return self.mode != "tiny" if self.tinygrad is None else self.tinygrad

    @property
    def use_torch_compile(self) -> bool:
        if self.torch_compile is None:
            return self.mode == "full"
        return self.torch_compile

    def log(self, msg: str) -> None:
        if self.progress:
            print(f"[bench] {msg}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------
# measurements


@dataclass
class Measurement:
    """One implementation's time: ``seconds`` is the median of ``times``.

    ``status`` is ``"ok"`` or why there is no time: ``"n/a (...)"``,
    ``"skipped (...)"`` or ``"failed: ..."``.
    """

    seconds: float | None = None
    times: list = field(default_factory=list)
    status: str = "ok"
    note: str = ""
    cpu_seconds: float | None = None  # median process CPU time per call (all threads; spin-waits count)

    @property
    def ok(self) -> bool:
        return self.status == "ok" and self.seconds is not None

    @classmethod
    def missing(cls, reason: str) -> Measurement:
        """A peer that is not there: ``Measurement.missing("torch not installed")``."""
        return cls(status=f"n/a ({reason})")

    @classmethod
    def not_applicable(cls) -> Measurement:
        """A column that does not apply to this row (printed as ``-``)."""
        return cls(status="-")

    @classmethod
    def skipped(cls, reason: str) -> Measurement:
        return cls(status=f"skipped ({reason})")

    @classmethod
    def failed(cls, exc: BaseException | str) -> Measurement:
        if isinstance(exc, BaseException):
            text = f"{type(exc).__name__}: {exc}".strip()
        else:
            text = str(exc)
        first = text.splitlines()[0] if text else "unknown error"
        return cls(status=f"failed: {first[:160]}")

    @classmethod
    def of(cls, times, note: str = "") -> Measurement:
        """A measurement from raw times (seconds)."""
        times = [float(t) for t in times]
        return cls(statistics.median(times), times, "ok", note)


def measure(
    fn,
    cfg: Config,
    *,
    warmup: int | None = None,
    repeats: int | None = None,
    inner: int = 1,
    max_seconds: float | None = None,
    min_repeats: int = 3,
) -> Measurement:
    """Median wall time of ``fn()`` in seconds, after warm-up calls.

    ``inner`` calls are timed together and divided (for calls of a few
    microseconds). Repeats stop early once ``min_repeats`` are done and the
    time budget (``max_seconds``, by default the config's) is spent.
    """
    warmup = cfg.n_warmup if warmup is None else warmup
    repeats = cfg.n_repeats if repeats is None else repeats
    budget = cfg.budget_s if max_seconds is None else max_seconds
    for _ in range(warmup):
        fn()
    times, cpu = [], []
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        while len(times) < repeats:
            c0 = time.process_time()
            t0 = time.perf_counter_ns()
            for _ in range(inner):
                fn()
            times.append((time.perf_counter_ns() - t0) * 1e-9 / inner)
            cpu.append((time.process_time() - c0) / inner)
            if len(times) >= min(min_repeats, repeats) and time.perf_counter() - start > budget:
                break
    finally:
        if was_enabled:
            gc.enable()
    m = Measurement.of(times)
    m.cpu_seconds = statistics.median(cpu)
    return m


def measure_interleaved(
    fns: dict,
    cfg: Config,
    *,
    warmup: int | None = None,
    repeats: int | None = None,
    inner: int = 1,
    max_seconds: float | None = None,
    min_repeats: int = 3,
    rounds: int | None = None,
    settle_s: float | None = None,
    rewarm_s: float | None = None,
) -> dict:
    """Like :func:`measure` for several implementations at once, in interleaved blocks: ``{name: Measurement}``.

    The repeats of each implementation are split into ``rounds`` blocks, and
    each round runs one block of every implementation, in an order that
    rotates from round to round: on a shared or throttled host the speed
    drifts over seconds, and timing one implementation entirely after the
    other would turn that drift into false ratios. Before each block the
    machine settles (``settle_s`` of sleep): the worker threads of the
    previous runtime (OpenBLAS, OpenMP) spin for a while after their last
    call, and on a small machine they would slow the next implementation
    down -- an artifact of running peers in one process that no user of one
    framework sees. Then the implementation warms up again, untimed, for
    ``rewarm_s`` (at least one call): after a sleep the 2-core VM runs every
    runtime slowly for tens of milliseconds -- JAX's MLP step took 9-10 ms
    for its first five calls after a 0.2 s sleep and 5-6 ms after, a state a
    single untimed call did not get past. ``max_seconds`` (by default the
    config's) is each implementation's budget; an implementation that raises
    is reported failed and dropped.
    """
    warmup = cfg.n_warmup if warmup is None else warmup
    repeats = cfg.n_repeats if repeats is None else repeats
    budget = cfg.budget_s if max_seconds is None else max_seconds
    rounds = max(1, min(repeats, cfg.pick(3, 2, 1) if rounds is None else rounds))
    settle_s = cfg.pick(0.2, 0.1, 0.0) if settle_s is None else settle_s
    rewarm_s = cfg.pick(0.1, 0.05, 0.0) if rewarm_s is None else rewarm_s
    per_block = -(-repeats // rounds)
    min_block = max(1, -(-min_repeats // rounds))
    out: dict = {}
    live = {}
    for name, fn in fns.items():
        try:
            for _ in range(warmup):
                fn()
            live[name] = fn
        except Exception as e:
            out[name] = Measurement.failed(e)
    times = {name: [] for name in live}
    cpu = {name: [] for name in live}
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for r in range(rounds):
            names = list(live)
            k = r % max(1, len(names))
            for name in names[k:] + names[:k]:
                fn = live[name]
                try:
                    if settle_s > 0:
                        time.sleep(settle_s)
                    warm_until = time.perf_counter() + rewarm_s
                    while True:
                        for _ in range(inner):
                            fn()
                        if time.perf_counter() >= warm_until:
                            break
                    start = time.perf_counter()
                    for i in range(per_block):
                        c0 = time.process_time()
                        t0 = time.perf_counter_ns()
                        for _ in range(inner):
                            fn()
                        times[name].append((time.perf_counter_ns() - t0) * 1e-9 / inner)
                        cpu[name].append((time.process_time() - c0) / inner)
                        if i + 1 >= min_block and time.perf_counter() - start > budget / rounds:
                            break
                except Exception as e:
                    out[name] = Measurement.failed(e)
                    del live[name]
    finally:
        if was_enabled:
            gc.enable()
    for name in live:
        m = Measurement.of(times[name])
        m.cpu_seconds = statistics.median(cpu[name])
        out[name] = m
    return out


def guarded(fn, *args, **kwargs) -> Measurement:
    """``fn(*args, **kwargs)``, which returns a Measurement, with any exception turned into a failed one."""
    try:
        return fn(*args, **kwargs)
    except Exception as e:  # a broken peer or case must not stop the suite
        return Measurement.failed(e)


# ----------------------------------------------------------------------------
# ceilings


@dataclass
class Ceilings:
    """The machine's measured ceilings (same process, same run as the cases)."""

    copy_bytes: int = 0
    copy_gbs_1thread: float = 0.0
    copy_gbs_threads: float = 0.0
    threads: int = 1
    sgemm_n: int = 0
    sgemm_gflops: float = 0.0

    @property
    def bandwidth_gbs(self) -> float:
        """The memory ceiling: the better of the one-thread and all-thread copies."""
        return max(self.copy_gbs_1thread, self.copy_gbs_threads)

    def describe(self) -> str:
        mib = self.copy_bytes / 2**20
        return (
            f"memory ceiling {self.bandwidth_gbs:.1f} GB/s (np.copyto of {mib:.0f} MiB, read+write counted: "
            f"{self.copy_gbs_1thread:.1f} GB/s on 1 thread, {self.copy_gbs_threads:.1f} GB/s on {self.threads} threads); "
            f"sgemm ceiling {self.sgemm_gflops:.0f} GFLOP/s (np.matmul float32 {self.sgemm_n}^3)"
        )


def cpu_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS
        return max(1, os.cpu_count() or 1)


def measure_ceilings(cfg: Config) -> Ceilings:
    """Copy bandwidth (bytes = read + write) and float32 matmul FLOP/s, each the best of a few repeats."""
    nbytes = cfg.pick(256 << 20, 64 << 20, 4 << 20)
    n = nbytes // 4
    src = np.ones(n, dtype=np.float32)
    dst = np.zeros(n, dtype=np.float32)
    reps = cfg.pick(7, 4, 2)
    one = measure(lambda: np.copyto(dst, src), cfg, warmup=1, repeats=reps, max_seconds=2.0)
    threads = cpu_threads()
    bounds = np.linspace(0, n, threads + 1).astype(np.int64)
    chunks = [(dst[a:b], src[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
    with ThreadPoolExecutor(max_workers=threads) as ex:

        def par():
            for f in [ex.submit(np.copyto, d, s) for d, s in chunks]:
                f.result()

        many = measure(par, cfg, warmup=1, repeats=reps, max_seconds=2.0)
    m = cfg.pick(2048, 2048, 128)
    a = np.random.default_rng(0).standard_normal((m, m), dtype=np.float32)
    b = a.T.copy()
    c = np.empty_like(a)
    mm = measure(lambda: np.matmul(a, b, out=c), cfg, warmup=1, repeats=cfg.pick(5, 3, 2), max_seconds=2.0)
    # A ceiling is the best the machine did (the fastest repeat), not a typical run.
    return Ceilings(
        copy_bytes=nbytes,
        copy_gbs_1thread=2 * nbytes / min(one.times) / 1e9,
        copy_gbs_threads=2 * nbytes / min(many.times) / 1e9,
        threads=threads,
        sgemm_n=m,
        sgemm_gflops=2 * m**3 / min(mm.times) / 1e9,
    )


# ----------------------------------------------------------------------------
# background load


def _proc_stat_busy():
    """(busy, total) jiffies of all CPUs from /proc/stat, or None off Linux."""
    try:
        with open("/proc/stat") as f:
            parts = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
    total = sum(parts[:8])
    return total - idle, total


def _self_jiffies():
    try:
        with open("/proc/self/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime, all threads
    except (OSError, ValueError, IndexError):
        return None


class LoadMonitor:
    """How much CPU *other* processes used while we measured (0.25 = a quarter of all cores).

    Timings taken while another process keeps the cores busy are not worth
    much; the table says so instead of hiding it.

    >>> mon = LoadMonitor(); ...; share = mon.other_share()
    """

    def __init__(self):
        self.start = _proc_stat_busy()
        self.self_start = _self_jiffies()

    def other_share(self) -> float | None:
        end, self_end = _proc_stat_busy(), _self_jiffies()
        if None in (self.start, end, self.self_start, self_end):
            return None
        busy = end[0] - self.start[0]
        total = end[1] - self.start[1]
        mine = self_end - self.self_start
        if total <= 0:
            return None
        return max(0.0, (busy - mine) / total)


def wait_for_quiet(max_wait_s: float, threshold: float = 0.10, window_s: float = 0.5) -> float | None:
    """Wait (up to ``max_wait_s``) until other processes use less than ``threshold`` of the CPUs.

    Returns the last share seen (None where /proc is missing). On a shared
    machine this keeps a case from starting in the middle of someone's test run.
    """
    deadline = time.perf_counter() + max_wait_s
    share = None
    while True:
        mon = LoadMonitor()
        time.sleep(window_s)
        share = mon.other_share()
        if share is None or share < threshold or time.perf_counter() >= deadline:
            return share


# ----------------------------------------------------------------------------
# rows and targets


@dataclass
class Target:
    """A goal for one row.

    Either ``peer`` with ``min_ratio`` (peer time / graphc time must be at
    least that: ``Target("≥2.0x numpy eager", peer="numpy", min_ratio=2.0)``;
    a tuple of peers means the fastest of those that ran)
    or ``max_seconds`` on graphc's own value (``Target("< 0.2 s",
    max_seconds=0.2)``).
    """

    text: str
    peer: str | tuple | None = None
    min_ratio: float | None = None
    max_seconds: float | None = None

    def evaluate(self, row: Row) -> tuple:
        """``(verdict, measured)``: verdict is ``met``, ``NOT met`` or ``unknown (...)``."""
        if not row.graphc.ok:
            return f"unknown (graphc {row.graphc.status})", "-"
        wrong = row.check.startswith("MISMATCH")
        if self.peer is not None:
            keys = self.peer if isinstance(self.peer, tuple) else (self.peer,)
            ran = [(row.ratio(k), k) for k in keys if row.ratio(k) is not None]
            if not ran:
                why = ", ".join(f"{PEERS.get(k, k)} {row.peer(k).status}" for k in keys)
                return f"unknown ({why})", "-"
            r, best = min(ran)
            verdict = "met" if r >= self.min_ratio else "NOT met"
            measured = f"{r:.2f}x" + (f" ({PEERS.get(best, best)})" if len(keys) > 1 else "")
        else:
            verdict = "met" if row.graphc.seconds < self.max_seconds else "NOT met"
            measured = format_time(row.graphc.seconds, row.unit)
        if wrong:
            verdict = "NOT met (wrong result)"
        return verdict, measured


@dataclass
class Row:
    """One case's results. Times are in seconds; ``unit`` only chooses how they print."""

    case: str
    size: str
    graphc: Measurement = field(default_factory=lambda: Measurement.missing("not run"))
    graphc_eager: Measurement = field(default_factory=lambda: Measurement.missing("not run"))
    peers: dict = field(default_factory=dict)
    unit: str = "ms"  # "ms" | "us" | "s"
    what: str = "time"  # what graphc's value is: "time", "compile time", "per-call time"
    bytes: int | None = None  # memory-bound cases: inputs read once + outputs written once
    flops: int | None = None  # compute-bound cases
    targets: list = field(default_factory=list)
    check: str = "n/a"  # graphc compiled result against a float64 numpy reference
    notes: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)  # anything else for the JSON (kernel times, ...)

    def peer(self, key: str) -> Measurement:
        if key == "graphc eager":
            return self.graphc_eager
        return self.peers.get(key) or Measurement.missing("not measured")

    def ratio(self, key: str) -> float | None:
        """Peer time / graphc time (above 1: graphc is faster); None when either is missing."""
        p = self.peer(key)
        if not (p.ok and self.graphc.ok) or self.graphc.seconds <= 0:
            return None
        return p.seconds / self.graphc.seconds

    def gbs(self, m: Measurement | None = None) -> float | None:
        m = m or self.graphc
        if self.bytes is None or not m.ok:
            return None
        return self.bytes / m.seconds / 1e9

    def gflops(self, m: Measurement | None = None) -> float | None:
        m = m or self.graphc
        if self.flops is None or not m.ok:
            return None
        return self.flops / m.seconds / 1e9


# ----------------------------------------------------------------------------
# formatting


def format_time(seconds: float | None, unit: str = "ms") -> str:
    if seconds is None:
        return "-"
    if unit == "us":
        return f"{seconds * 1e6:.1f} µs"
    if unit == "s":
        return f"{seconds:.3f} s"
    v = seconds * 1e3
    return f"{v:.1f} ms" if v >= 10 else f"{v:.2f} ms"


def _cell(m: Measurement, unit: str, ratio: float | None) -> str:
    if not m.ok:
        return m.status
    text = format_time(m.seconds, unit)
    if ratio is not None:
        text += f" ({ratio:.2f}x)"
    return text


def _throughput(row: Row, ceilings: Ceilings | None) -> str:
    g = row.gbs()
    if g is not None:
        if ceilings and ceilings.bandwidth_gbs:
            return f"{g:.1f} GB/s ({100 * g / ceilings.bandwidth_gbs:.0f}%)"
        return f"{g:.1f} GB/s"
    f = row.gflops()
    if f is not None:
        if ceilings and ceilings.sgemm_gflops:
            return f"{f:.3g} GFLOP/s ({100 * f / ceilings.sgemm_gflops:.0f}%)"
        return f"{f:.3g} GFLOP/s"
    return "-"


def _verdicts(row: Row) -> str:
    if not row.targets:
        return "-"
    vs = [t.evaluate(row)[0] for t in row.targets]
    met = sum(v == "met" for v in vs)
    if met == len(vs):
        return "met" if len(vs) == 1 else f"met ({met}/{len(vs)})"
    if any(v.startswith("unknown") for v in vs) and met + sum(v.startswith("unknown") for v in vs) == len(vs):
        return f"unknown ({met}/{len(vs)} met)"
    return "NOT met" if len(vs) == 1 else f"NOT met ({met}/{len(vs)})"


def _grid(header: list, body: list) -> list:
    widths = [max(len(str(r[i])) for r in [header] + body) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()
    return [line(header), "  ".join("-" * w for w in widths)] + [line(r) for r in body]


def format_table(rows: list, ceilings: Ceilings | None = None, env: dict | None = None) -> str:
    """The report: environment, ceilings, one row per case, then the targets one per line."""
    out = []
    if env:
        out.append("environment: " + "; ".join(f"{k} {v}" for k, v in env.items() if k != "config"))
    if ceilings:
        out.append(ceilings.describe())
    out.append(
        "cells: median time (peer time / graphc time; above 1 = graphc faster); "
        "graphc = graphc.compile'd (replay), graphc eager = the same code op by op"
    )
    out.append("")
    header = (
        ["case", "size", "graphc", "graphc eager"]
        + list(PEERS.values())
        + ["GB/s | GFLOP/s (% ceiling)", "check", "target", "met?"]
    )
    body = []
    for r in rows:
        cells = [r.case, r.size, _cell(r.graphc, r.unit, None), _cell(r.graphc_eager, r.unit, r.ratio("graphc eager"))]
        for key in PEERS:
            cells.append(_cell(r.peer(key), r.unit, r.ratio(key)))
        cells += [_throughput(r, ceilings), r.check, "; ".join(t.text for t in r.targets) or "-", _verdicts(r)]
        body.append(cells)
    out += _grid(header, body)
    out.append("")
    out.append("targets")
    tbody = []
    for r in rows:
        for t in r.targets:
            verdict, measured = t.evaluate(r)
            tbody.append([r.case, t.text, measured, verdict])
    out += ["  " + s for s in _grid(["case", "target", "measured", "verdict"], tbody)]
    notes = [(r.case, n) for r in rows for n in r.notes]
    if notes:
        out.append("")
        out.append("notes")
        out += [f"  {case}: {n}" for case, n in notes]
    return "\n".join(out)


def environment(cfg: Config, extra: dict | None = None) -> dict:
    """Versions and thread counts printed above the table and stored in the JSON."""
    env = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cpu": _cpu_model(),
        "cores": cpu_threads(),
    }
    try:
        blas = np.__config__.CONFIG["Build Dependencies"]["blas"]
        env["blas"] = f"{blas.get('name')} {blas.get('version')}"
    except Exception:
        pass
    env.update(extra or {})
    env["config"] = {
        "mode": cfg.mode,
        "repeats": cfg.n_repeats,
        "warmup": cfg.n_warmup,
        "budget_s": cfg.budget_s,
        "torch_compile": cfg.use_torch_compile,
        "jax": cfg.use_jax,
        "tinygrad": cfg.use_tinygrad,
        "wait_quiet_s": cfg.quiet_wait,
    }
    return env


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _measurement_json(m: Measurement) -> dict:
    return {"seconds": m.seconds, "cpu_seconds": m.cpu_seconds, "status": m.status, "times": m.times, "note": m.note}


def to_json(rows: list, ceilings: Ceilings | None = None, env: dict | None = None) -> dict:
    """A JSON-ready dict of everything measured (raw repeat times included)."""
    out_rows = []
    for r in rows:
        d = {
            "case": r.case,
            "size": r.size,
            "what": r.what,
            "unit": r.unit,
            "graphc": _measurement_json(r.graphc),
            "graphc_eager": _measurement_json(r.graphc_eager),
            "peers": {k: _measurement_json(r.peer(k)) for k in PEERS},
            "ratios": {k: r.ratio(k) for k in ["graphc eager", *PEERS]},
            "bytes": r.bytes,
            "flops": r.flops,
            "gbs": {"graphc": r.gbs(), **{k: r.gbs(r.peer(k)) for k in PEERS}} if r.bytes else None,
            "gflops": {"graphc": r.gflops(), **{k: r.gflops(r.peer(k)) for k in PEERS}} if r.flops else None,
            "check": r.check,
            "targets": [dict(text=t.text, verdict=t.evaluate(r)[0], measured=t.evaluate(r)[1]) for t in r.targets],
            "notes": r.notes,
            "extra": r.extra,
        }
        out_rows.append(d)
    return {
        "env": env or {},
        "ceilings": (asdict(ceilings) | {"bandwidth_gbs": ceilings.bandwidth_gbs}) if ceilings else None,
        "rows": out_rows,
    }


def write_json(path: str, rows: list, ceilings: Ceilings | None = None, env: dict | None = None) -> None:
    with open(path, "w") as f:
        json.dump(to_json(rows, ceilings, env), f, indent=2, default=str)
        f.write("\n")
