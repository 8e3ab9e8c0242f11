"""Where the MLP step's time goes: graphc against the numpy floor and JAX jit.

    python -m benchmarks.mlp_anatomy           # the benchmark's step: 784-512-512-10, batch 256
    python -m benchmarks.mlp_anatomy --tiny    # seconds: the machinery on a small step

The ``mlp_train_step`` case times the step whole. This script takes it apart, to say why the
compiled step trails JAX jit on a 2-core CPU (issue 13's one unmet target) and what is left:

1. **Three steps timed together, interleaved**: graphc's compiled step; the **numpy floor**, the
   same step written by hand with the routines graphc's numpy backend calls (numpy's BLAS for
   the products, the bias through gemm's ``beta``, the SGD update as one axpy, ReLU's backward
   as one bitwise blend) and the fewest numpy calls the math needs, with preallocated buffers
   and no guards, dispatch or autograd; and JAX jit (and PyTorch eager), where installed. The
   floor is what any numpy code generator can reach; what graphc spends above it is its own.
2. **graphc's kernels inside the step**: each generated kernel timed where it runs, summed as
   products (``*_matmul`` kernels, their epilogues included), the other kernels, and the
   program's own statements and the call around it.
3. **JAX's ops**, from its profiler's trace: each op's median time, and their sum against the
   step's wall time. The sum exceeds the wall time when XLA runs independent ops at once.
4. **Can numpy's BLAS run two products at once?** Two independent products on two threads, each
   with a one-thread BLAS, against the same two one after the other with the BLAS's threads.

Nothing here is a target; the numbers go into ``benchmarks/results`` notes.
"""

from __future__ import annotations

import argparse
import ctypes
import glob
import gzip
import json
import os
import statistics
import sys
import tempfile
import threading
import time

import numpy as np

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from backends.numpy import blas  # noqa: E402
from backends.numpy import runtime as R  # noqa: E402
from benchmarks.case_mlp import _make_mlp_step, _mlp_init, _params_for, jax_mlp_step, numpy_mlp_step  # noqa: E402
from benchmarks.common import time_kernels  # noqa: E402

# ----------------------------------------------------------------------------
# the numpy floor


class FloorStep:
    """One SGD step of the ReLU MLP with mean cross-entropy, in numpy with graphc's runtime
    routines and nothing else: buffers made once, every parameter updated in place."""

    def __init__(self, params, batch: int, lr: float):
        self.params = params
        self.lr = np.float32(lr)
        self.rows = np.arange(batch)
        layers = len(params) // 2
        widths = [params[2 * i].shape[0] for i in range(layers)]
        f32 = np.float32
        self.pre = [np.empty((batch, w), f32) for w in widths]
        self.act = [np.empty((batch, w), f32) for w in widths[:-1]]
        self.mask = [np.empty((batch, w), np.bool_) for w in widths[:-1]]
        self.grad_act = [np.empty((batch, w), f32) for w in widths[:-1]]
        self.tmp = [np.empty((batch, w), f32) for w in widths[:-1]]

    def __call__(self, x, y) -> float:
        ps, n = self.params, len(self.params) // 2
        h = x
        for i in range(n):
            R.matmul_bias_into(h, ps[2 * i].T, ps[2 * i + 1], self.pre[i])
            if i < n - 1:
                R.relu_into(self.pre[i], self.act[i])
                np.greater(self.pre[i], 0, out=self.mask[i])
                h = self.act[i]
        z = self.pre[-1]
        zmax = z.max(axis=1, keepdims=True)
        shifted = z - zmax
        e = np.exp(shifted)
        s = e.sum(axis=1, keepdims=True)
        loss = float(np.mean(np.log(s[:, 0]) - shifted[self.rows, y]))
        dz = np.divide(e, s, out=e)
        dz[self.rows, y] -= 1
        dz *= np.float32(1.0 / z.shape[0])
        for i in reversed(range(n)):
            inp = x if i == 0 else self.act[i - 1]
            w_grad = np.matmul(dz.T, inp)
            b_grad = dz.sum(axis=0)
            if i > 0:
                np.matmul(dz, ps[2 * i], out=self.tmp[i - 1])
                R.where_into(self.mask[i - 1], self.tmp[i - 1], np.float32(0), self.grad_act[i - 1])
            R.axpy_into(ps[2 * i], ps[2 * i], w_grad, self.lr, -1.0)
            ps[2 * i + 1] -= b_grad * self.lr
            if i > 0:
                dz = self.grad_act[i - 1]
        return loss


# ----------------------------------------------------------------------------
# timing


def interleaved(fns: dict, rounds: int, calls: int, warm_s: float) -> dict:
    """Median per-call seconds of each function in each round; functions alternate every round."""
    out = {k: [] for k in fns}
    for _ in range(rounds):
        for key, fn in fns.items():
            end = time.perf_counter() + warm_s
            while time.perf_counter() < end:
                fn()
            times = []
            for _ in range(calls):
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
            out[key].append(statistics.median(times))
    return out


def graphc_kernel_split(cf, args, calls: int) -> dict:
    """Seconds per call: each kernel timed where it runs in the step, and the call's total."""
    total, kernels = time_kernels(cf, cf.explain(*args), args, calls, warmup=max(2, calls // 5))
    return {"total": total, "kernels": kernels}


def jax_op_profile(step_call, calls: int) -> dict | None:
    """Median microseconds of each op XLA ran in ``calls`` steps, from ``jax.profiler``'s trace
    (events on the executor's threads named like HLO ops); None when no trace can be read."""
    import jax

    with tempfile.TemporaryDirectory() as tmp:
        try:
            with jax.profiler.trace(tmp):
                for _ in range(calls):
                    step_call()
        except Exception:
            return None
        found = glob.glob(os.path.join(tmp, "**", "*.trace.json.gz"), recursive=True)
        if not found:
            return None
        with gzip.open(found[0]) as f:
            events = json.load(f).get("traceEvents", [])
    per_op: dict = {}
    for e in events:
        name = e.get("name", "")
        if e.get("ph") != "X" or name.startswith("$") or "::" in name or " " in name or "(" in name:
            continue
        if not any(tag in name for tag in ("dot", "fusion", "copy", "wrapped", "convert", "transpose")):
            continue
        per_op.setdefault(name, []).append(e["dur"])
    full = {k: v for k, v in per_op.items() if len(v) >= calls}  # ops that ran in every step
    return {k: statistics.median(v) for k, v in full.items()} or None


def _blas_thread_setter():
    """``openblas_set_num_threads`` of the BLAS graphc binds (either name), or None."""
    path = blas.library()[0]
    if path is None:
        return None
    lib = ctypes.CDLL(path)
    for name in ("scipy_openblas_set_num_threads64_", "openblas_set_num_threads64_", "openblas_set_num_threads"):
        fn = getattr(lib, name, None)
        if fn is not None:
            fn.argtypes = [ctypes.c_int]
            return fn
    return None


def blas_concurrency(m: int, k: int, n: int, rounds: int) -> dict | None:
    """Seconds for two independent (m x k) @ (k x n) products: one after the other with the
    BLAS's own threads, and at once on two threads with a one-thread BLAS each."""
    set_threads = _blas_thread_setter()
    if set_threads is None:
        return None
    rng = np.random.default_rng(0)
    a, b = rng.random((m, k), dtype=np.float32), rng.random((k, n), dtype=np.float32)
    c, d = rng.random((m, k), dtype=np.float32), rng.random((k, n), dtype=np.float32)
    out1, out2 = np.empty((m, n), np.float32), np.empty((m, n), np.float32)
    threads = os.cpu_count() or 1
    go, done = threading.Event(), threading.Event()
    stop = [False]

    def helper():
        while True:
            go.wait()
            go.clear()
            if stop[0]:
                return
            np.matmul(c, d, out=out2)
            done.set()

    worker = threading.Thread(target=helper, daemon=True)
    worker.start()

    def sequential():
        np.matmul(a, b, out=out1)
        np.matmul(c, d, out=out2)

    def concurrent():
        go.set()
        np.matmul(a, b, out=out1)
        done.wait()
        done.clear()

    try:
        seq = interleaved({"x": sequential}, rounds, 10, 0.02)["x"]
        set_threads(1)
        par = interleaved({"x": concurrent}, rounds, 10, 0.02)["x"]
        one = interleaved({"x": lambda: np.matmul(a, b, out=out1)}, rounds, 10, 0.02)["x"]
    finally:
        set_threads(threads)
        stop[0] = True
        go.set()
        worker.join()
    return {"sequential": min(seq), "concurrent": min(par), "one_product_one_thread": min(one)}


# ----------------------------------------------------------------------------
# the report


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.mlp_anatomy", description=__doc__.split("\n")[0])
    p.add_argument("--tiny", action="store_true", help="a small step and few repeats: checks the machinery")
    p.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 8, tiny 2)")
    opts = p.parse_args(argv)

    import graphc
    import graphc.nn.functional as F

    dims, batch = ((32, 16, 16, 4), 8) if opts.tiny else ((784, 512, 512, 10), 256)
    rounds = opts.rounds or (2 if opts.tiny else 8)
    calls = 3 if opts.tiny else 10
    warm_s = 0.01 if opts.tiny else 0.1
    lr = 0.01
    rng = np.random.default_rng(4)
    x = rng.standard_normal((batch, dims[0]), dtype=np.float32)
    y = rng.integers(0, dims[-1], batch).astype(np.int64)
    init = _mlp_init(dims)

    ref = [p.astype(np.float64) for p in init]
    ref_loss = numpy_mlp_step(ref, x.astype(np.float64), y, lr)
    floor_params = [p.copy() for p in init]
    floor = FloorStep(floor_params, batch, lr)
    floor_loss = floor(x, y)
    worst = max(float(np.abs(f - r).max() / max(np.abs(r - p).max(), 1e-12)) for f, r, p in zip(floor_params, ref, init))
    print(f"MLP {'-'.join(map(str, dims))} b{batch}, SGD lr {lr}: one step of the numpy floor against float64 numpy: "
          f"loss {floor_loss:.6f} vs {ref_loss:.6f}, update rel err {worst:.1e}")
    if worst > 2e-3 or abs(floor_loss - ref_loss) > 1e-4 * max(1.0, abs(ref_loss)):
        print("MISMATCH: the numpy floor computes another step")
        return 1

    gparams = _params_for(graphc, init)
    cf = graphc.compile(_make_mlp_step(graphc, F, gparams, lr, True))
    gx, gy = graphc.from_numpy(x), graphc.from_numpy(y)
    cf(gx, gy)
    fns = {"graphc compiled": lambda: cf(gx, gy), "numpy floor": lambda: floor(x, y)}
    jax_call = None
    try:
        import jax

        step = jax_mlp_step(jax, len(init) // 2, lr)
        jx, jy = jax.device_put(x), jax.device_put(y)
        state = {"p": [jax.device_put(p.copy()) for p in init]}

        def jax_call():
            state["p"], loss = step(state["p"], jx, jy)
            jax.block_until_ready((state["p"], loss))

        jax_call()
        fns["JAX jit"] = jax_call
    except ImportError:
        print("(JAX is not installed: no JAX column or op profile)")
    try:
        import torch

        tparams = _params_for(torch, init)
        tstep = _make_mlp_step(torch, torch.nn.functional, tparams, lr, True)
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)
        fns["PyTorch eager"] = lambda: tstep(tx, ty)
    except ImportError:
        pass

    times = interleaved(fns, rounds, calls, warm_s)
    print(f"\n1. the step, {rounds} interleaved rounds of {calls} calls (per-round medians; min and median of rounds)")
    floor_med = statistics.median(times["numpy floor"])
    for key, ts in times.items():
        med = statistics.median(ts)
        print(f"   {key:16s} min {min(ts) * 1e3:6.2f} ms  median {med * 1e3:6.2f} ms  ({med / floor_med:.2f}x the floor)")

    split = graphc_kernel_split(cf, (gx, gy), calls * 3)
    kernels = split["kernels"]
    products = sum(t for n, t in kernels.items() if n.endswith("_matmul"))
    others = sum(t for n, t in kernels.items() if not n.endswith("_matmul"))
    total = split["total"]
    print(f"\n2. graphc's step with each kernel timed in place: {total * 1e3:.2f} ms = products (with their "
          f"epilogues) {products * 1e3:.2f} ms + other kernels {others * 1e3:.2f} ms + program statements "
          f"and call {(total - products - others) * 1e3:.2f} ms")
    for name, t in sorted(kernels.items(), key=lambda kv: -kv[1])[:8]:
        print(f"   {name:24s} {t * 1e6:7.0f} us")

    if jax_call is not None:
        ops = jax_op_profile(jax_call, calls * 3)
        if ops is None:
            print("\n3. JAX: no per-op events in this JAX's profiler trace")
        else:
            wall = statistics.median(times["JAX jit"])
            summed = sum(ops.values()) * 1e-6
            dots = {k: v for k, v in ops.items() if "dot" in k or "ynn" in k}
            print(f"\n3. JAX jit's ops (profiler, median per step): {len(ops)} ops summing {summed * 1e3:.2f} ms in a "
                  f"{wall * 1e3:.2f} ms step ({max(0.0, summed - wall) * 1e3:.2f} ms ran alongside other ops); "
                  f"dots and YNNPACK fusions {sum(dots.values()) * 1e-3:.2f} ms")
            for name, us in sorted(ops.items(), key=lambda kv: -kv[1])[:8]:
                print(f"   {name:32s} {us:7.0f} us")

    m, k, n = (batch, dims[1], dims[1]) if not opts.tiny else (64, 64, 64)
    conc = blas_concurrency(m, k, n, rounds)
    if conc is None:
        print("\n4. BLAS concurrency: no OpenBLAS thread control found")
    else:
        print(f"\n4. two independent {m}x{k} @ {k}x{n} products: one after the other with the BLAS's threads "
              f"{conc['sequential'] * 1e6:.0f} us; at once on two threads with a one-thread BLAS each "
              f"{conc['concurrent'] * 1e6:.0f} us (one product on one thread: {conc['one_product_one_thread'] * 1e6:.0f} us)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
