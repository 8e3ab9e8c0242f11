"""The CPU cases: graphc's numpy backend against numpy, PyTorch eager and torch.compile.

Each case builds one :class:`~benchmarks.harness.Row`. The implementations
run the same ops on the same data in this one process:

* **graphc** -- the function under ``graphc.compile``, timed on replay
  (``explain()`` makes the first call, which traces, compiles and runs);
* **graphc eager** -- the same function called directly, op by op;
* **numpy eager** -- the same ops written by hand in numpy, op by op
  (allocating, no ``out=`` tricks: what a numpy user writes);
* **torch eager** / **torch.compile** -- the same function on torch tensors
  (default inductor backend, C++/OpenMP on the CPU);
* **JAX jit** / **tinygrad JIT** -- the same function compiled by XLA's CPU
  backend and by tinygrad's (see :mod:`benchmarks.peers`).

Each implementation is set up and checked first, then all are timed together
in interleaved blocks (:class:`Impls`, :func:`~benchmarks.harness.measure_interleaved`).
graphc's result is checked against a float64 numpy reference (column
``check``); a wrong result cannot meet a target. The kernels of graphc's
program are also timed one by one (``Row.extra['kernels']``, printed with
``--profile``), by wrapping the generated program's kernel functions.
"""

from __future__ import annotations

import math
import time
from contextlib import nullcontext

import numpy as np

from .common import (  # noqa: F401  (re-exported: the case modules use them)
    Impls,
    _compile_graphc,
    _note_compile_health,
    _note_mismatch,
    _np,
    _profile_kernels,
    _torch_impls,
    compare,
)
from .harness import PEERS as harness_peers
from .harness import Config, LoadMonitor, Measurement, Row, Target, guarded, wait_for_quiet
from .peers import Peers, add_jax, add_tinygrad

__all__ = ["CASES", "Peers", "run_cases", "case_names"]

def _standard(row: Row, cfg: Config, peers: Peers, *, graphc_fn, numpy_fn, torch_fn, inputs, ref, tol, jax_fn=None, tg_fn=None):
    """The implementations of a pure function of ``inputs`` (numpy arrays), timed interleaved."""
    import graphc

    check = lambda out: compare(out, ref, *tol)
    impls = Impls(row, cfg)

    def numpy_setup():
        _note_mismatch(row, "numpy eager", check(numpy_fn(*inputs)))
        return lambda: numpy_fn(*inputs)

    impls.add("numpy", numpy_setup)
    g_args = [graphc.from_numpy(a) for a in inputs]
    state = {}

    def graphc_setup():
        cf, report = _compile_graphc(row, graphc_fn, g_args)
        state["cf"], state["report"] = cf, report
        row.check = check(cf(*g_args))
        return lambda: cf(*g_args)

    if not impls.add("graphc", graphc_setup):
        row.check = "n/a (graphc failed)"

    def eager_setup():
        _note_mismatch(row, "graphc eager", check(graphc_fn(*g_args)))
        return lambda: graphc_fn(*g_args)

    impls.add("graphc eager", eager_setup)
    _torch_impls(impls, peers, torch_fn, lambda: [peers.torch.from_numpy(a) for a in inputs], check)
    add_jax(impls, peers, jax_fn, inputs, check)
    add_tinygrad(impls, peers, tg_fn, inputs, check)
    impls.run()
    if "cf" in state and row.graphc.ok:
        _note_compile_health(row, row.graphc, state["cf"])
        _profile_kernels(row, cfg, state["cf"], state["report"], g_args)


#: The compilers a user would pick instead of graphc for a CPU kernel: the best of them is the target.
COMPILERS = ("torch.compile", "jax", "tinygrad")


def _best_compiler_target() -> Target:
    return Target("≥1.0x best of torch.compile, JAX jit, tinygrad", COMPILERS, 1.0)


# ----------------------------------------------------------------------------
# cases


def case_gelu(cfg: Config, peers: Peers) -> Row:
    """GELU, tanh form, as a chain of elementwise ops: 0.5*x*(1+tanh(0.79788456*(x+0.044715*x^3)))."""
    import graphc

    n = cfg.pick(1 << 24, 1 << 22, 1 << 12)
    row = Row("gelu_tanh", f"2^{int(math.log2(n))} f32", bytes=2 * 4 * n)
    row.targets = [Target("≥2.0x numpy eager", "numpy", 2.0), _best_compiler_target()]
    x = np.random.default_rng(0).standard_normal(n, dtype=np.float32)

    def make(tanh):
        # x^3 as x*x*x in every implementation (numpy's x**3 goes through pow, far slower)
        def gelu(x):
            return 0.5 * x * (1.0 + tanh(0.79788456 * (x + 0.044715 * x * x * x)))

        return gelu

    x64 = x.astype(np.float64)
    ref = make(np.tanh)(x64)
    torch_fn = make(peers.torch.tanh) if peers.torch is not None else None
    jax_fn = make(peers.jax.numpy.tanh) if peers.jax is not None else None
    _standard(
        row,
        cfg,
        peers,
        graphc_fn=make(graphc.tanh),
        numpy_fn=make(np.tanh),
        torch_fn=torch_fn,
        inputs=[x],
        ref=ref,
        tol=(1e-5, 1e-6),
        jax_fn=jax_fn,
        tg_fn=make(lambda t: t.tanh()),
    )
    return row


def case_softmax(cfg: Config, peers: Peers) -> Row:
    """Row softmax (max-subtracted) over the last dim."""
    import graphc

    m, n = cfg.pick((4096, 4096), (2048, 2048), (64, 64))
    row = Row("softmax", f"{m}x{n} f32", bytes=2 * 4 * m * n)
    row.targets = [Target("≥1.5x numpy eager", "numpy", 1.5), _best_compiler_target()]
    x = np.random.default_rng(1).standard_normal((m, n), dtype=np.float32) * 3

    def np_softmax(x):
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    ref = np_softmax(x.astype(np.float64))
    torch_fn = (lambda x: peers.torch.softmax(x, -1)) if peers.torch is not None else None
    _standard(
        row,
        cfg,
        peers,
        graphc_fn=lambda x: graphc.softmax(x, -1),
        numpy_fn=np_softmax,
        torch_fn=torch_fn,
        inputs=[x],
        ref=ref,
        tol=(1e-4, 1e-7),
        jax_fn=(lambda x: peers.jax.nn.softmax(x, -1)) if peers.jax is not None else None,
        tg_fn=lambda x: x.softmax(-1),
    )
    return row


def case_layer_norm(cfg: Config, peers: Peers) -> Row:
    """Layer norm over the last dim with weight and bias (eps 1e-5, biased variance)."""
    import graphc.nn.functional as GF

    m, n = cfg.pick((4096, 4096), (2048, 2048), (64, 64))
    row = Row("layer_norm", f"{m}x{n} f32", bytes=2 * 4 * m * n + 2 * 4 * n)
    row.targets = [Target("≥1.5x numpy eager", "numpy", 1.5), _best_compiler_target()]
    rng = np.random.default_rng(2)
    x = rng.standard_normal((m, n), dtype=np.float32) * 2 + 0.5
    w = rng.standard_normal(n, dtype=np.float32)
    b = rng.standard_normal(n, dtype=np.float32)
    eps = 1e-5

    def np_ln(x, w, b):
        mu = x.mean(axis=-1, keepdims=True)
        d = x - mu
        var = (d * d).mean(axis=-1, keepdims=True)
        return d / np.sqrt(var + eps) * w + b

    ref = np_ln(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64))
    torch_fn = None
    if peers.torch is not None:
        TF = peers.torch.nn.functional
        torch_fn = lambda x, w, b: TF.layer_norm(x, (n,), w, b, eps)
    _standard(
        row,
        cfg,
        peers,
        graphc_fn=lambda x, w, b: GF.layer_norm(x, (n,), w, b, eps),
        numpy_fn=np_ln,
        torch_fn=torch_fn,
        inputs=[x, w, b],
        ref=ref,
        tol=(1e-4, 1e-4),
        jax_fn=_jax_layer_norm(peers, eps),
        tg_fn=lambda x, w, b: x.layernorm(eps=eps) * w + b,
    )
    return row


def _jax_layer_norm(peers, eps):
    """Layer norm as a JAX user writes it (two-pass mean and variance, rsqrt), or None without JAX."""
    if peers.jax is None:
        return None
    jnp, lax = peers.jax.numpy, peers.jax.lax

    def ln(x, w, b):
        mu = jnp.mean(x, axis=-1, keepdims=True)
        d = x - mu
        var = jnp.mean(d * d, axis=-1, keepdims=True)
        return d * lax.rsqrt(var + eps) * w + b

    return ln


# -- compile time -------------------------------------------------------------


def make_graph_fn(c: float, blocks: int = 10):
    """A function of ~200 IR nodes for graphc (and torch: it uses only shared method names).

    Each of ``blocks`` blocks: four tanh(h*c + x) steps, a matmul and a
    max-subtraction; the sum at the end. ``c`` is baked into the graph as a
    constant, so a new ``c`` is a new graph for any cache.
    """

    def fn(x, w):
        h = x
        for _ in range(blocks):
            for _ in range(4):
                h = (h * c + x).tanh()
            h = h @ w
            h = h - h.amax(1, keepdim=True)
        return h.sum()

    return fn


def case_compile_time(cfg: Config, peers: Peers) -> Row:
    """Trace + simplify + fusion + codegen of a fresh ~200-node function (Report timings)."""
    import graphc

    n = cfg.pick(64, 64, 8)
    reps = cfg.pick(5, 2, 1)
    row = Row("compile_200_nodes", "", unit="ms", what="compile time")
    row.targets = [Target("< 0.2 s", max_seconds=0.2)]
    rng = np.random.default_rng(5)
    x = rng.standard_normal((n, n), dtype=np.float32) * 0.1
    w = rng.standard_normal((n, n), dtype=np.float32) * 0.1
    gx, gw = graphc.from_numpy(x), graphc.from_numpy(w)
    cfg.log(f"{row.case}: graphc, {reps} fresh compiles")

    def graphc_compiles():
        totals, walls, parts, nodes = [], [], {}, None
        for i in range(reps):
            fn = make_graph_fn(0.5 + 0.01 * i + 1e-4 * rng.random())
            cf = graphc.compile(fn)
            with graphc.no_grad():
                t0 = time.perf_counter()
                cf(gx, gw)  # the first call traces, optimizes, generates code, runs once
                walls.append(time.perf_counter() - t0)
                report = cf.explain(gx, gw)
            if cf.cache_info().traces != 1:
                raise RuntimeError(f"expected one compile, got {cf.cache_info()}")
            totals.append(sum(report.timings.values()))
            for k, v in report.timings.items():
                parts.setdefault(k, []).append(v)
            nodes = (len(report.traced), len(report.optimized), len(report.kernels))
        row.size = f"{nodes[0]} traced nodes -> {nodes[1]} optimized, {nodes[2]} kernels"
        med = {k: float(np.median(v)) for k, v in parts.items()}
        row.notes.append(
            "graphc compile (median): "
            + ", ".join(f"{k} {v * 1e3:.1f} ms" for k, v in med.items())
            + f"; whole compiling call (incl. one run) {np.median(walls) * 1e3:.1f} ms"
        )
        row.extra["graphc_compile_parts_s"] = med
        row.extra["graphc_compiling_call_s"] = walls
        return Measurement.of(totals)

    row.graphc = guarded(graphc_compiles)
    row.check = "n/a"
    row.graphc_eager = Measurement.missing("no compile step")
    row.peers["numpy"] = Measurement.missing("no compile step")
    row.peers["torch"] = Measurement.missing("no compile step")
    missing = peers.compile_missing()
    if missing:
        row.peers["torch.compile"] = missing
        return row
    cfg.log(f"{row.case}: torch.compile, one fresh compile")

    def torch_compile_time():
        import torch._dynamo

        torch._dynamo.reset()
        fn = make_graph_fn(0.5 + rng.random() * 1e-3)
        tx, tw = torch.from_numpy(x), torch.from_numpy(w)
        with torch.no_grad():
            fn(tx, tw)
            c = torch.compile(fn)
            try:
                import torch._inductor.config as icfg

                ctx = icfg.patch(fx_graph_cache=False)
            except Exception:
                ctx = nullcontext()
            with ctx:
                t0 = time.perf_counter()
                c(tx, tw)
                t = time.perf_counter() - t0
        return Measurement.of([t], note="one fresh compile (first call, FX graph cache off)")

    row.peers["torch.compile"] = guarded(torch_compile_time)
    return row


# -- per-call overhead ------------------------------------------------------------


def case_overhead(cfg: Config, peers: Peers) -> Row:
    """Per-call time of a compiled 3-op function on 8-element tensors: (x*y + x).relu()."""
    import graphc

    row = Row("call_overhead_3ops", "8 f32, (x*y+x).relu()", unit="us", what="per-call time")
    row.targets = [Target("< 10 µs", max_seconds=10e-6)]  # issue 13: guards in one generated pass, lean replay
    rng = np.random.default_rng(6)
    x = rng.standard_normal(8, dtype=np.float32)
    y = rng.standard_normal(8, dtype=np.float32)
    ref = np.maximum(x.astype(np.float64) * y + x, 0)
    inner, reps = cfg.pick(200, 100, 20), cfg.pick(50, 20, 5)
    budget = cfg.pick(3.0, 1.0, 0.2)

    def fn(x, y):
        return (x * y + x).relu()

    check = lambda out: compare(out, ref, 1e-6, 1e-7)
    impls = Impls(row, cfg)
    impls.add("numpy", lambda: lambda: np.maximum(x * y + x, 0))
    gx, gy = graphc.from_numpy(x), graphc.from_numpy(y)
    state = {}

    def graphc_setup():
        cf, _ = _compile_graphc(row, fn, (gx, gy))
        state["cf"] = cf
        row.check = check(cf(gx, gy))
        return lambda: cf(gx, gy)

    if not impls.add("graphc", graphc_setup):
        row.check = "n/a (graphc failed)"
    impls.add("graphc eager", lambda: lambda: fn(gx, gy))
    _torch_impls(impls, peers, fn, lambda: [peers.torch.from_numpy(x), peers.torch.from_numpy(y)], check)
    impls.run(warmup=inner, repeats=reps, inner=inner, max_seconds=budget)
    if "cf" in state and row.graphc.ok:
        _note_compile_health(row, row.graphc, state["cf"])
    return row


# ----------------------------------------------------------------------------
# the suite

from .case_classifier import case_classifier  # noqa: E402  (its own module: examples/train_classifier.py's step)
from .case_ddp import case_ddp  # noqa: E402  (data-parallel: runs 1 and 2 ranks through mpiexec)
from .case_eager import case_eager_ops, case_eager_train_step  # noqa: E402  (eager per-op and step times)
from .case_mlp import case_mlp  # noqa: E402  (its own module: the MLP step, with a JAX jit peer)

#: name -> case function, in run order
CASES = {
    "gelu": case_gelu,
    "softmax": case_softmax,
    "layer_norm": case_layer_norm,
    "mlp": case_mlp,
    "classifier": case_classifier,
    "eager_ops": case_eager_ops,
    "eager_train_step": case_eager_train_step,
    "ddp": case_ddp,
    "compile": case_compile_time,
    "overhead": case_overhead,
}


def run_cases(cfg: Config, peers: Peers | None = None) -> list:
    """Run the selected cases; a case that raises becomes a row that says so (a case may return
    a list of rows)."""
    peers = peers or Peers(cfg)
    names = list(CASES) if not cfg.cases else list(cfg.cases)
    rows = []
    for name in names:
        if name not in CASES:
            raise KeyError(f"unknown case {name!r}; known: {', '.join(CASES)}")
        if cfg.quiet_wait > 0:
            share = wait_for_quiet(cfg.quiet_wait)
            if share is not None and share >= 0.10:
                cfg.log(f"{name}: other processes still use {100 * share:.0f}% of the CPUs; measuring anyway")
        t0 = time.perf_counter()
        mon = LoadMonitor()
        try:
            out = CASES[name](cfg, peers)
        except Exception as e:
            out = Row(name, "?", graphc=Measurement.failed(e))
            out.notes.append(f"the case failed before measuring: {type(e).__name__}: {e}")
        case_rows = out if isinstance(out, list) else [out]  # a case may measure several rows (eager_ops)
        for row in case_rows:  # every peer column says something: why a peer did not run here
            for key, missing in (("jax", peers.jax_missing()), ("tinygrad", peers.tinygrad_missing())):
                if key not in row.peers:
                    row.peers[key] = missing or Measurement.missing(f"no {harness_peers[key]} version of this case")
        wall = time.perf_counter() - t0
        share = mon.other_share()
        for row in case_rows:
            row.extra["case_wall_s"] = wall
            row.extra["other_processes_cpu_share"] = share
        if share is not None and share > 0.10:
            case_rows[-1].notes.append(
                f"other processes used {100 * share:.0f}% of the machine's CPU time while this case ran: its timings are noisy"
            )
        cfg.log(f"{name}: done in {wall:.1f} s")
        rows.extend(case_rows)
    return rows


def case_names() -> list:
    return list(CASES)
