"""The CPU cases: graphc's numpy backend against numpy, PyTorch eager and torch.compile.

Each case builds one :class:`~benchmarks.harness.Row`. The implementations
run the same ops on the same data in this one process:

* **graphc** -- the function under ``graphc.compile``, timed on replay
  (``explain()`` first does the eager warm-up call and the compiling call);
* **graphc eager** -- the same function called directly, op by op;
* **numpy eager** -- the same ops written by hand in numpy, op by op
  (allocating, no ``out=`` tricks: what a numpy user writes);
* **torch eager** / **torch.compile** -- the same function on torch tensors
  (default inductor backend, C++/OpenMP on the CPU).

Each implementation is set up and checked first, then all are timed together
in interleaved blocks (:class:`Impls`, :func:`~benchmarks.harness.measure_interleaved`).
graphc's result is checked against a float64 numpy reference (column
``check``); a wrong result cannot meet a target. The kernels of graphc's
program are also timed one by one (``Row.extra['kernels']``, printed with
``--profile``), by wrapping the generated program's kernel functions.
"""

from __future__ import annotations

import math
import shutil
import time
from contextlib import nullcontext

import numpy as np

from .harness import Config, LoadMonitor, Measurement, Row, Target, guarded, measure_interleaved, wait_for_quiet

# ----------------------------------------------------------------------------
# peers


class Peers:
    """Which peers can run here, and why not when they cannot."""

    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.torch = None
        self.torch_reason = ""
        if not cfg.torch:
            self.torch_reason = "disabled by --no-torch"
        else:
            try:
                import torch

                self.torch = torch
            except ModuleNotFoundError:
                self.torch_reason = "torch not installed"
            except Exception as e:  # a broken install is reported, not fatal
                self.torch_reason = f"torch import failed: {type(e).__name__}: {e}"
        self.compile_reason = ""
        if self.torch is None:
            self.compile_reason = self.torch_reason
        elif not cfg.use_torch_compile:
            self.compile_reason = (
                f"skipped: {cfg.mode} mode; --torch-compile adds it"
                if cfg.mode != "full"
                else "disabled by --no-torch-compile"
            )
        elif not any(shutil.which(c) for c in ("g++", "c++", "clang++", "gcc")):
            self.compile_reason = "no C++ compiler for torch.compile's CPU backend"

    def torch_missing(self) -> Measurement | None:
        return None if self.torch is not None else Measurement.missing(self.torch_reason)

    def compile_missing(self) -> Measurement | None:
        if not self.compile_reason:
            return None
        if self.compile_reason.startswith("skipped: "):
            return Measurement.skipped(self.compile_reason[len("skipped: ") :])
        return Measurement.missing(self.compile_reason)

    def env(self) -> dict:
        out = {}
        try:
            from backends.numpy import runtime

            out["graphc threads"] = runtime.num_threads()
        except Exception:
            pass
        if self.torch is not None:
            out["torch"] = self.torch.__version__
            out["torch threads"] = self.torch.get_num_threads()
        else:
            out["torch"] = self.torch_reason
        return out


# ----------------------------------------------------------------------------
# helpers


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


def _profile_kernels(row: Row, cfg: Config, cf, report, args) -> None:
    """Time each generated kernel of ``report``'s program over a few calls (wrapping its functions)."""
    program = getattr(report, "_program", None)
    fn = getattr(program, "fn", None)
    glb = getattr(fn, "__globals__", None)
    if glb is None:
        return
    names = [k.name for k in report.kernels if k.name in glb and callable(glb[k.name])]
    nodes = {k.name: len(k.nodes) for k in report.kernels}
    kinds = {k.name: k.kind for k in report.kernels}
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

    calls = cfg.pick(5, 2, 1)
    try:
        for n in names:
            glb[n] = wrap(n, saved[n])
        t0 = time.perf_counter()
        for _ in range(calls):
            cf(*args)
        total = (time.perf_counter() - t0) / calls
    finally:
        for n in names:
            glb[n] = saved[n]
    per = sorted(((acc[n] / calls, n) for n in names), reverse=True)
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
        tc = self.row.peers.get("torch.compile")
        if tc is not None and tc.status.startswith("failed"):
            self.row.notes.append(f"torch.compile {tc.status}")


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


def _standard(row: Row, cfg: Config, peers: Peers, *, graphc_fn, numpy_fn, torch_fn, inputs, ref, tol):
    """The five implementations of a pure function of ``inputs`` (numpy arrays), timed interleaved."""
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
    impls.run()
    if "cf" in state and row.graphc.ok:
        _note_compile_health(row, row.graphc, state["cf"])
        _profile_kernels(row, cfg, state["cf"], state["report"], g_args)


# ----------------------------------------------------------------------------
# cases


def case_gelu(cfg: Config, peers: Peers) -> Row:
    """GELU, tanh form, as a chain of elementwise ops: 0.5*x*(1+tanh(0.79788456*(x+0.044715*x^3)))."""
    import graphc

    n = cfg.pick(1 << 24, 1 << 22, 1 << 12)
    row = Row("gelu_tanh", f"2^{int(math.log2(n))} f32", bytes=2 * 4 * n)
    row.targets = [Target("≥2.0x numpy eager", "numpy", 2.0), Target("≥1.0x torch.compile", "torch.compile", 1.0)]
    x = np.random.default_rng(0).standard_normal(n, dtype=np.float32)

    def make(tanh):
        # x^3 as x*x*x in every implementation (numpy's x**3 goes through pow, far slower)
        def gelu(x):
            return 0.5 * x * (1.0 + tanh(0.79788456 * (x + 0.044715 * x * x * x)))

        return gelu

    x64 = x.astype(np.float64)
    ref = make(np.tanh)(x64)
    torch_fn = make(peers.torch.tanh) if peers.torch is not None else None
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
    )
    return row


def case_softmax(cfg: Config, peers: Peers) -> Row:
    """Row softmax (max-subtracted) over the last dim."""
    import graphc

    m, n = cfg.pick((4096, 4096), (2048, 2048), (64, 64))
    row = Row("softmax", f"{m}x{n} f32", bytes=2 * 4 * m * n)
    row.targets = [Target("≥1.5x numpy eager", "numpy", 1.5)]
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
    )
    return row


def case_layer_norm(cfg: Config, peers: Peers) -> Row:
    """Layer norm over the last dim with weight and bias (eps 1e-5, biased variance)."""
    import graphc.nn.functional as GF

    m, n = cfg.pick((4096, 4096), (2048, 2048), (64, 64))
    row = Row("layer_norm", f"{m}x{n} f32", bytes=2 * 4 * m * n + 2 * 4 * n)
    row.targets = [Target("≥1.5x numpy eager", "numpy", 1.5)]
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
    )
    return row


# -- MLP training step ---------------------------------------------------------


def _mlp_init(dims, seed=3):
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(dims[:-1], dims[1:]):
        bound = 1 / math.sqrt(fan_in)
        params.append(rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32))
        params.append(rng.uniform(-bound, bound, fan_out).astype(np.float32))
    return params


def numpy_mlp_step(params, x, y, lr):
    """One SGD step of the ReLU MLP with mean cross-entropy, by hand in numpy (updates ``params`` in place)."""
    n_layers = len(params) // 2
    batch = x.shape[0]
    acts, pre = [x], []
    h = x
    for i in range(n_layers):
        z = h @ params[2 * i].T + params[2 * i + 1]
        pre.append(z)
        h = np.maximum(z, 0) if i < n_layers - 1 else z
        acts.append(h)
    z = acts[-1]
    zmax = z.max(axis=1, keepdims=True)
    e = np.exp(z - zmax)
    s = e.sum(axis=1, keepdims=True)
    rows = np.arange(batch)
    loss = float(np.mean(np.log(s[:, 0]) + zmax[:, 0] - z[rows, y]))
    dz = e / s
    dz[rows, y] -= 1
    dz /= batch
    grads = [None] * len(params)
    for i in reversed(range(n_layers)):
        grads[2 * i] = dz.T @ acts[i]
        grads[2 * i + 1] = dz.sum(axis=0)
        if i > 0:
            dz = (dz @ params[2 * i]) * (pre[i - 1] > 0)
    for p, g in zip(params, grads):
        p -= lr * g
    return loss


def _make_mlp_step(lib, F, params, lr, use_optim):
    """The same training step for graphc or torch (they share PyTorch's API)."""
    opt = lib.optim.SGD(params, lr=lr) if use_optim else None
    n_layers = len(params) // 2

    def step(x, y):
        if opt is not None:
            opt.zero_grad()
        else:
            for p in params:
                p.grad = None
        h = x
        for i in range(n_layers):
            h = F.linear(h, params[2 * i], params[2 * i + 1])
            if i < n_layers - 1:
                h = F.relu(h)
        loss = F.cross_entropy(h, y)
        loss.backward()
        if opt is not None:
            opt.step()
        else:
            with lib.no_grad():
                for p in params:
                    p.sub_(p.grad * lr)
        return loss.detach()

    step._needs_grad = True
    return step


def _params_for(lib, init):
    return [lib.from_numpy(p.copy()).requires_grad_() for p in init]


def _reset(lib, params, init):
    """Parameter values back to ``init``; ``.grad`` is left alone (the step clears it itself, and a
    compiled step is specialized on whether ``.grad`` is set when it is called)."""
    with lib.no_grad():
        for p, v in zip(params, init):
            p.copy_(lib.from_numpy(v))


def _mlp_flops(batch, dims) -> int:
    fwd = sum(2 * batch * a * b for a, b in zip(dims[:-1], dims[1:]))
    dw = fwd
    dx = sum(2 * batch * a * b for a, b in list(zip(dims[:-1], dims[1:]))[1:])  # no input gradient for layer 1
    return fwd + dw + dx


def case_mlp(cfg: Config, peers: Peers) -> Row:
    """MLP 784-512-512-10 (ReLU), batch 256: forward, cross-entropy, backward, SGD update -- one step."""
    import graphc
    import graphc.nn.functional as GF

    dims = cfg.pick((784, 512, 512, 10), (784, 512, 512, 10), (32, 16, 16, 4))
    batch = cfg.pick(256, 256, 8)
    lr = 0.01
    row = Row("mlp_train_step", f"{'-'.join(map(str, dims))} b{batch}", flops=_mlp_flops(batch, dims))
    row.targets = [Target("≥1.0x torch eager", "torch", 1.0)]
    rng = np.random.default_rng(4)
    x = rng.standard_normal((batch, dims[0]), dtype=np.float32)
    y = rng.integers(0, dims[-1], batch).astype(np.int64)
    init = _mlp_init(dims)
    try:
        import graphc.optim as goptim

        use_optim = hasattr(goptim, "SGD")
    except Exception:
        use_optim = False
    row.notes.append(
        "step = zero grads, F.linear/F.relu x3, F.cross_entropy, backward, "
        + ("optim.SGD(lr=0.01).step()" if use_optim else "p.sub_(p.grad * lr) under no_grad (graphc.optim.SGD missing)")
        + "; graphc compiles the whole step as one function"
    )
    # float64 reference for one step from init: the updated parameters and the loss
    ref_params = [p.astype(np.float64) for p in init]
    ref_loss = numpy_mlp_step(ref_params, x.astype(np.float64), y, lr)
    deltas = [r - p for r, p in zip(ref_params, init)]

    def check_params(params, loss):
        got = [_np(p).astype(np.float64) - p0 for p, p0 in zip(params, init)]
        worst = 0.0
        for g, d in zip(got, deltas):
            scale = max(float(np.abs(d).max()), 1e-12)
            worst = max(worst, float(np.abs(g - d).max()) / scale)
        loss_err = abs(float(_np(loss)) - ref_loss)
        if worst > 2e-3 or loss_err > 1e-4 * max(1.0, abs(ref_loss)):
            return f"MISMATCH update rel err {worst:.2e}, loss err {loss_err:.2e}"
        return f"ok (update rel err {worst:.1e})"

    impls = Impls(row, cfg)

    def numpy_setup():
        ps = [p.copy() for p in init]
        loss = numpy_mlp_step(ps, x, y, lr)
        _note_mismatch(row, "numpy eager", check_params(ps, np.float64(loss)))
        return lambda: numpy_mlp_step(ps, x, y, lr)

    impls.add("numpy", numpy_setup)
    gx, gy = graphc.from_numpy(x), graphc.from_numpy(y)
    state = {}

    def graphc_setup():
        gparams = _params_for(graphc, init)
        cf, report = _compile_graphc(row, _make_mlp_step(graphc, GF, gparams, lr, use_optim), (gx, gy))
        state["cf"], state["report"] = cf, report
        _reset(graphc, gparams, init)
        hits = cf.cache_info().hits
        row.check = check_params(gparams, cf(gx, gy))
        if cf.cache_info().hits == hits:
            row.check += " (the checked call did not replay)"
        return lambda: cf(gx, gy)

    if not impls.add("graphc", graphc_setup):
        row.check = "n/a (graphc failed)"

    def eager_setup():
        ps = _params_for(graphc, init)
        step = _make_mlp_step(graphc, GF, ps, lr, use_optim)
        _note_mismatch(row, "graphc eager", check_params(ps, step(gx, gy)))
        return lambda: step(gx, gy)

    impls.add("graphc eager", eager_setup)

    torch = peers.torch
    if torch is None:
        impls.set("torch", peers.torch_missing())
        impls.set("torch.compile", peers.compile_missing())
    else:
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)

        def torch_setup():
            ps = _params_for(torch, init)
            step = _make_mlp_step(torch, torch.nn.functional, ps, lr, use_optim)
            _note_mismatch(row, "torch eager", check_params(ps, step(tx, ty)))
            return lambda: step(tx, ty)

        impls.add("torch", torch_setup)
        missing = peers.compile_missing()
        if missing:
            impls.set("torch.compile", missing)
        else:

            def torch_compile_setup():
                ps = _params_for(torch, init)
                step = torch.compile(_make_mlp_step(torch, torch.nn.functional, ps, lr, use_optim))
                cfg.log(f"{row.case}: torch.compile's first call compiles")
                t0 = time.perf_counter()
                step(tx, ty)
                first = time.perf_counter() - t0
                step(tx, ty)  # the optimizer step may compile on its second call
                _reset(torch, ps, init)
                _note_mismatch(row, "torch.compile", check_params(ps, step(tx, ty)))
                row.extra["torch_compile_first_call_s"] = first
                impls.notes["torch.compile"] = f"first call (compiles) {first:.1f} s"
                return lambda: step(tx, ty)

            impls.add("torch.compile", torch_compile_setup)
    impls.run()
    if "cf" in state and row.graphc.ok:
        _note_compile_health(row, row.graphc, state["cf"])
        _profile_kernels(row, cfg, state["cf"], state["report"], (gx, gy))
    return row


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
                cf(gx, gw)  # the eager warm-up call
                t0 = time.perf_counter()
                cf(gx, gw)  # traces, optimizes, generates code, runs once
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

#: name -> case function, in run order
CASES = {
    "gelu": case_gelu,
    "softmax": case_softmax,
    "layer_norm": case_layer_norm,
    "mlp": case_mlp,
    "classifier": case_classifier,
    "ddp": case_ddp,
    "compile": case_compile_time,
    "overhead": case_overhead,
}


def run_cases(cfg: Config, peers: Peers | None = None) -> list:
    """Run the selected cases; a case that raises becomes a row that says so."""
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
            row = CASES[name](cfg, peers)
        except Exception as e:
            row = Row(name, "?", graphc=Measurement.failed(e))
            row.notes.append(f"the case failed before measuring: {type(e).__name__}: {e}")
        row.extra["case_wall_s"] = time.perf_counter() - t0
        share = mon.other_share()
        row.extra["other_processes_cpu_share"] = share
        if share is not None and share > 0.10:
            row.notes.append(
                f"other processes used {100 * share:.0f}% of the machine's CPU time while this case ran: its timings are noisy"
            )
        cfg.log(f"{name}: done in {row.extra['case_wall_s']:.1f} s")
        rows.append(row)
    return rows


def case_names() -> list:
    return list(CASES)
