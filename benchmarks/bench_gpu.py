"""The GPU cases: graphc's Triton backend against PyTorch eager and torch.compile, same GPU.

    python -m benchmarks --device cuda [--quick] [--json FILE]
    python benchmarks/bench_gpu.py [same options]

Cases (full sizes): a GELU-tanh elementwise chain, row softmax and layer norm
on 8192x8192 in float32 and bfloat16; a 4096^3 matmul in bfloat16 and
float32; MLP training steps (784-512-512-10 at batch 256, as on the CPU, and
a larger 1024-4096-4096-1024 at batch 4096). Each row times graphc compiled
(the replay of a ``graphc.compile``'d function on cuda tensors), graphc eager
(the same code op by op on cuda tensors), PyTorch eager and torch.compile on
the same GPU, with achieved GB/s or TFLOP/s against ceilings measured in the
same run: a device-to-device copy (bytes read + written) and ``torch.matmul``
(per dtype; the table's percentage uses the float32 one, bfloat16 rows note
theirs).

Every timed call ends in a device synchronize (graphc's and torch's alike), so
times are wall times of finished GPU work; each measurement batches several
calls between synchronizations. graphc's result is checked against PyTorch's
(column ``check``).

Without a GPU (or under ``TRITON_INTERPRET=1``) it exits with a message that
says so: these numbers only mean something on the real device.
"""

from __future__ import annotations

import os
import sys
import time

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import numpy as np  # noqa: E402

from benchmarks.harness import Ceilings, Config, Measurement, Row, Target, guarded, measure  # noqa: E402


class GPUUnavailable(SystemExit):
    """Raised (a SystemExit, so the command ends with the message) when no GPU can run the suite."""


def _require_gpu():
    import graphc

    if graphc.cuda.is_available():
        return graphc
    from graphc.cuda import _unavailable_reason

    raise GPUUnavailable(
        f"benchmarks.bench_gpu: no CUDA GPU for graphc here ({_unavailable_reason()}). The GPU suite times "
        "graphc's Triton kernels against PyTorch on a real device; run it on a machine with an NVIDIA GPU, "
        "or run `python -m benchmarks` for the CPU suite."
    )


# ----------------------------------------------------------------------------
# timing on the device


def _gpu_measure(fn, sync, cfg: Config, calls: int | None = None) -> Measurement:
    """Median seconds per call of ``fn``, ``calls`` calls between device synchronizations."""
    calls = calls or cfg.pick(10, 5, 1)

    def batch():
        for _ in range(calls):
            fn()
        sync()

    m = measure(batch, cfg, warmup=max(cfg.n_warmup, 1))
    return Measurement.of([t / calls for t in m.times], m.note)


class _Peers:
    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.torch = None
        self.reason = ""
        if not cfg.torch:
            self.reason = "disabled by --no-torch"
        else:
            try:
                import torch

                if torch.cuda.is_available():
                    self.torch = torch
                else:
                    self.reason = "torch has no CUDA here"
            except ModuleNotFoundError:
                self.reason = "torch not installed"
            except Exception as e:
                self.reason = f"torch import failed: {type(e).__name__}: {e}"
        if self.torch is None:
            self.compile_reason = self.reason
        elif not cfg.use_torch_compile:
            self.compile_reason = f"skipped ({cfg.mode} mode; --torch-compile adds it)"
        else:
            self.compile_reason = ""

    def sync(self):
        if self.torch is not None:
            self.torch.cuda.synchronize()

    def torch_tensor(self, a: np.ndarray, dtype=None):
        t = self.torch.from_numpy(np.ascontiguousarray(a)).cuda()
        return t.to(dtype) if dtype is not None else t


def _gsync():
    import graphc

    graphc.cuda.synchronize()


def _dtype_pair(name: str, peers: _Peers):
    import graphc

    g = {"f32": graphc.float32, "bf16": graphc.bfloat16}[name]
    t = None
    if peers.torch is not None:
        t = {"f32": peers.torch.float32, "bf16": peers.torch.bfloat16}[name]
    return g, t


def _to_np(x) -> np.ndarray:
    """A graphc or torch result as float64 numpy."""
    if hasattr(x, "detach") and hasattr(x, "cpu") and type(x).__module__.startswith("torch"):
        return x.detach().float().cpu().numpy().astype(np.float64)
    return np.asarray(x.detach().float().cpu().numpy(), dtype=np.float64)


def _check(row: Row, got, expected, rtol, atol) -> None:
    g, e = _to_np(got), _to_np(expected)
    err = np.abs(g - e)
    bad = err > atol + rtol * np.abs(e)
    row.check = f"MISMATCH vs torch: max err {err.max():.2e}" if bad.any() else f"ok vs torch (max err {err.max():.1e})"


def _run_impls(row: Row, cfg: Config, peers: _Peers, graphc_fn, g_args, torch_fn, t_args, tol):
    """graphc compiled, graphc eager, torch eager, torch.compile of one function."""
    import graphc

    cfg.log(f"{row.case} {row.size}: graphc compiled (the first calls compile and autotune)")
    compiled = graphc.compile(graphc_fn, warmup=False)
    out_g = None
    try:
        with graphc.no_grad():
            t0 = time.perf_counter()
            out_g = compiled(*g_args)
            _gsync()
            row.extra["graphc_first_call_s"] = time.perf_counter() - t0
            row.graphc = _gpu_measure(lambda: compiled(*g_args), _gsync, cfg)
            row.extra["kernels"] = [k.name for k in compiled.explain(*g_args).kernels]
    except Exception as e:
        row.graphc = Measurement.failed(e)
    cfg.log(f"{row.case}: graphc eager")
    with graphc.no_grad():
        row.graphc_eager = guarded(lambda: _gpu_measure(lambda: graphc_fn(*g_args), _gsync, cfg))
    row.peers["numpy"] = Measurement.skipped("a GPU case")
    if peers.torch is None:
        row.peers["torch"] = Measurement.missing(peers.reason)
        row.peers["torch.compile"] = Measurement.missing(peers.compile_reason)
        return
    torch = peers.torch
    with torch.no_grad():
        cfg.log(f"{row.case}: torch eager")
        out_t = torch_fn(*t_args)
        row.peers["torch"] = guarded(lambda: _gpu_measure(lambda: torch_fn(*t_args), peers.sync, cfg))
        if out_g is not None:
            try:
                _check(row, out_g, out_t, *tol)
            except Exception as e:
                row.check = f"n/a (check failed: {e})"
        if peers.compile_reason:
            row.peers["torch.compile"] = (
                Measurement.skipped(peers.compile_reason[9:-1])
                if peers.compile_reason.startswith("skipped")
                else Measurement.missing(peers.compile_reason)
            )
        else:
            cfg.log(f"{row.case}: torch.compile (the first call compiles)")

            def tc():
                c = torch.compile(torch_fn)
                t0 = time.perf_counter()
                c(*t_args)
                torch.cuda.synchronize()
                row.extra["torch_compile_first_call_s"] = time.perf_counter() - t0
                return _gpu_measure(lambda: c(*t_args), peers.sync, cfg)

            row.peers["torch.compile"] = guarded(tc)


# ----------------------------------------------------------------------------
# cases


def _gelu(tanh):
    def gelu(x):
        return 0.5 * x * (1.0 + tanh(0.79788456 * (x + 0.044715 * x * x * x)))

    return gelu


def case_elementwise(cfg, peers, kind: str, dname: str) -> Row:
    import graphc
    import graphc.nn.functional as GF

    gdt, tdt = _dtype_pair(dname, peers)
    item = 4 if dname == "f32" else 2
    m = n = cfg.pick(8192, 4096, 64)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((m, n), dtype=np.float32)
    gx = graphc.from_numpy(x).to("cuda").to(gdt)
    tx = peers.torch_tensor(x, tdt) if peers.torch is not None else None
    tol = (1e-4, 1e-5) if dname == "f32" else (2e-2, 2e-2)
    if kind == "gelu":
        row = Row(f"gelu_tanh_{dname}", f"{m}x{n} {dname}", bytes=2 * item * m * n)
        g_fn = _gelu(graphc.tanh)
        t_fn = _gelu(peers.torch.tanh) if peers.torch is not None else None
        args_g, args_t = [gx], [tx]
    elif kind == "softmax":
        row = Row(f"softmax_{dname}", f"{m}x{n} {dname}", bytes=2 * item * m * n)
        g_fn = lambda x: x.softmax(-1)  # noqa: E731
        t_fn = lambda x: x.softmax(-1)  # noqa: E731
        args_g, args_t = [gx], [tx]
    else:
        row = Row(f"layer_norm_{dname}", f"{m}x{n} {dname}", bytes=2 * item * m * n + 2 * item * n)
        w, b = rng.standard_normal(n, dtype=np.float32), rng.standard_normal(n, dtype=np.float32)
        gw, gb = graphc.from_numpy(w).to("cuda").to(gdt), graphc.from_numpy(b).to("cuda").to(gdt)
        g_fn = lambda x, w, b: GF.layer_norm(x, (n,), w, b, eps=1e-5)  # noqa: E731
        args_g = [gx, gw, gb]
        if peers.torch is not None:
            tf = peers.torch.nn.functional
            t_fn = lambda x, w, b: tf.layer_norm(x, (n,), w, b, eps=1e-5)  # noqa: E731
            args_t = [tx, peers.torch_tensor(w, tdt), peers.torch_tensor(b, tdt)]
        else:
            t_fn, args_t = None, []
    row.targets = [Target("≥1.0x torch eager", "torch", 1.0), Target("≥0.8x torch.compile", "torch.compile", 0.8)]
    _run_impls(row, cfg, peers, g_fn, args_g, t_fn, args_t, tol)
    return row


def case_matmul(cfg, peers, dname: str) -> Row:
    import graphc

    gdt, tdt = _dtype_pair(dname, peers)
    n = cfg.pick(4096, 2048, 64)
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((n, n), dtype=np.float32), rng.standard_normal((n, n), dtype=np.float32)
    row = Row(f"matmul_{dname}", f"{n}^3 {dname}", flops=2 * n**3)
    ga, gb = graphc.from_numpy(a).to("cuda").to(gdt), graphc.from_numpy(b).to("cuda").to(gdt)
    ta = peers.torch_tensor(a, tdt) if peers.torch is not None else None
    tb = peers.torch_tensor(b, tdt) if peers.torch is not None else None
    tol = (1e-3, 1e-2 * np.sqrt(n)) if dname == "f32" else (3e-2, 5e-2 * np.sqrt(n))
    row.targets = [Target("≥0.7x torch eager (cuBLAS)", "torch", 0.7)]
    if dname == "f32":
        row.notes.append(
            "float32 matmul in IEEE fp32 on both sides (graphc: tl.dot input_precision='ieee'; torch: "
            "allow_tf32 off, its default); GRAPHC_TRITON_TF32=1 lets graphc use TF32 tensor cores"
        )
    _run_impls(row, cfg, peers, lambda x, y: x @ y, [ga, gb], lambda x, y: x @ y, [ta, tb], tol)
    return row


def case_mlp(cfg, peers, dims, batch) -> Row:
    """An MLP training step: zero_grad, forward, cross-entropy, backward, SGD step, compiled as one."""
    import graphc
    import graphc.nn as gnn
    import graphc.nn.functional as GF

    flops = 6 * batch * sum(a * b for a, b in zip(dims[:-1], dims[1:]))
    row = Row(f"mlp_train_step_{dims[1]}", f"{'-'.join(map(str, dims))} b{batch}", flops=flops)
    row.targets = [Target("≥1.0x torch eager", "torch", 1.0)]
    rng = np.random.default_rng(2)
    x = rng.standard_normal((batch, dims[0]), dtype=np.float32)
    y = rng.integers(0, dims[-1], batch).astype(np.int64)

    def layers(nn_mod):
        mods = []
        for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
            mods.append(nn_mod.Linear(a, b))
            if i < len(dims) - 2:
                mods.append(nn_mod.ReLU())
        return nn_mod.Sequential(*mods)

    graphc.manual_seed(0)
    gmodel = layers(gnn).to("cuda")
    gopt = graphc.optim.SGD(gmodel.parameters(), lr=0.01)

    def gstep(x, y):
        gopt.zero_grad()
        loss = GF.cross_entropy(gmodel(x), y)
        loss.backward()
        gopt.step()
        return loss

    gx, gy = graphc.from_numpy(x).to("cuda"), graphc.from_numpy(y).to("cuda")
    cfg.log(f"{row.case} {row.size}: graphc compiled")
    try:
        compiled = graphc.compile(gstep, warmup=False)
        compiled(gx, gy)
        _gsync()
        row.graphc = _gpu_measure(lambda: compiled(gx, gy), _gsync, cfg)
    except Exception as e:
        row.graphc = Measurement.failed(e)
    cfg.log(f"{row.case}: graphc eager")
    row.graphc_eager = guarded(lambda: _gpu_measure(lambda: gstep(gx, gy), _gsync, cfg))
    row.peers["numpy"] = Measurement.skipped("a GPU case")
    if peers.torch is None:
        row.peers["torch"] = Measurement.missing(peers.reason)
        row.peers["torch.compile"] = Measurement.missing(peers.compile_reason)
        return row
    torch = peers.torch
    tmodel = layers(torch.nn).cuda()
    topt = torch.optim.SGD(tmodel.parameters(), lr=0.01)

    def tstep(x, y):
        topt.zero_grad()
        loss = torch.nn.functional.cross_entropy(tmodel(x), y)
        loss.backward()
        topt.step()
        return loss

    tx, ty = peers.torch_tensor(x), peers.torch_tensor(y)
    cfg.log(f"{row.case}: torch eager")
    row.peers["torch"] = guarded(lambda: _gpu_measure(lambda: tstep(tx, ty), peers.sync, cfg))
    if peers.compile_reason:
        row.peers["torch.compile"] = Measurement.skipped(peers.compile_reason)
    else:
        cfg.log(f"{row.case}: torch.compile")
        cstep = torch.compile(tstep)
        row.peers["torch.compile"] = guarded(lambda: _gpu_measure(lambda: cstep(tx, ty), peers.sync, cfg))
    row.check = "n/a (different initial weights; the loss is checked in tests/backends/triton)"
    return row


# ----------------------------------------------------------------------------
# ceilings


class GpuCeilings(Ceilings):
    """Device-to-device copy bandwidth and matmul FLOP/s per dtype, measured on this GPU."""

    def __init__(self, copy_bytes=0, copy_gbs=0.0, mm_n=0, tflops=None, source=""):
        super().__init__(
            copy_bytes=copy_bytes,
            copy_gbs_1thread=copy_gbs,
            copy_gbs_threads=copy_gbs,
            threads=1,
            sgemm_n=mm_n,
            sgemm_gflops=(tflops or {}).get("f32", 0.0) * 1e3,
        )
        self.tflops = tflops or {}
        self.source = source

    def describe(self) -> str:
        mm = ", ".join(f"{k} {v:.1f} TFLOP/s" for k, v in self.tflops.items())
        return (
            f"device memory ceiling {self.bandwidth_gbs:.0f} GB/s ({self.source} copy of {self.copy_bytes / 2**20:.0f} MiB, "
            f"read+write counted); matmul ceilings ({self.source}, {self.sgemm_n}^3): {mm or 'n/a'}"
        )


def measure_ceilings(cfg: Config) -> GpuCeilings:
    """D2D copy bandwidth and matmul TFLOP/s, with torch where it is installed, else graphc's own."""
    _require_gpu()
    peers = _Peers(cfg)
    nbytes = cfg.pick(1 << 30, 256 << 20, 4 << 20)
    n = cfg.pick(4096, 2048, 64)
    tflops = {}
    if peers.torch is not None:
        torch = peers.torch
        src = torch.ones(nbytes // 4, device="cuda")
        dst = torch.empty_like(src)
        m = _gpu_measure(lambda: dst.copy_(src), peers.sync, cfg)
        gbs = 2 * nbytes / m.seconds / 1e9
        for name, dt in (("f32", torch.float32), ("bf16", torch.bfloat16)):
            a = torch.randn(n, n, device="cuda", dtype=dt)
            mm = _gpu_measure(lambda: torch.matmul(a, a), peers.sync, cfg)
            tflops[name] = 2 * n**3 / mm.seconds / 1e12
        return GpuCeilings(nbytes, gbs, n, tflops, "torch")
    from backends.triton import driver, memory

    src = memory.DeviceArray.empty((nbytes // 4,), "float32")
    dst = memory.DeviceArray.empty((nbytes // 4,), "float32")
    m = _gpu_measure(lambda: driver.driver().dtod(dst.data_ptr(), src.data_ptr(), nbytes), driver.synchronize, cfg)
    return GpuCeilings(nbytes, 2 * nbytes / m.seconds / 1e9, 0, {}, "cuMemcpyDtoD")


# ----------------------------------------------------------------------------
# entry points

CASES = {
    "gelu_f32": lambda cfg, p: case_elementwise(cfg, p, "gelu", "f32"),
    "gelu_bf16": lambda cfg, p: case_elementwise(cfg, p, "gelu", "bf16"),
    "softmax_f32": lambda cfg, p: case_elementwise(cfg, p, "softmax", "f32"),
    "softmax_bf16": lambda cfg, p: case_elementwise(cfg, p, "softmax", "bf16"),
    "layer_norm_f32": lambda cfg, p: case_elementwise(cfg, p, "layer_norm", "f32"),
    "layer_norm_bf16": lambda cfg, p: case_elementwise(cfg, p, "layer_norm", "bf16"),
    "matmul_bf16": lambda cfg, p: case_matmul(cfg, p, "bf16"),
    "matmul_f32": lambda cfg, p: case_matmul(cfg, p, "f32"),
    "mlp": lambda cfg, p: case_mlp(
        cfg, p, cfg.pick((784, 512, 512, 10), (784, 512, 512, 10), (32, 16, 16, 4)), cfg.pick(256, 256, 8)
    ),
    "mlp_large": lambda cfg, p: case_mlp(
        cfg, p, cfg.pick((1024, 4096, 4096, 1024), (1024, 2048, 2048, 1024), (32, 64, 64, 8)), cfg.pick(4096, 2048, 16)
    ),
}


def run_cases(cfg: Config) -> list:
    """Every GPU case as a :class:`~benchmarks.harness.Row` (``python -m benchmarks --device cuda``)."""
    _require_gpu()
    peers = _Peers(cfg)
    names = cfg.cases or tuple(CASES)
    unknown = [c for c in names if c not in CASES]
    if unknown:
        raise SystemExit(f"unknown GPU case(s) {', '.join(unknown)}; known: {', '.join(CASES)}")
    ceil = None
    rows = []
    for name in names:
        row = CASES[name](cfg, peers)
        if row.flops and name.startswith("matmul_bf16"):
            ceil = ceil or measure_ceilings(cfg)
            if row.graphc.ok and ceil.tflops.get("bf16"):
                got = row.flops / row.graphc.seconds / 1e12
                row.notes.append(f"{got:.1f} TFLOP/s = {100 * got / ceil.tflops['bf16']:.0f}% of torch.matmul bf16")
        rows.append(row)
    return rows


def environment() -> dict:
    env = {}
    try:
        import triton

        env["triton"] = triton.__version__
    except Exception:
        pass
    try:
        import torch

        env["torch"] = torch.__version__
        if torch.cuda.is_available():
            env["gpu"] = torch.cuda.get_device_name(0)
    except Exception:
        pass
    return env


def main(argv=None) -> int:
    """``python benchmarks/bench_gpu.py [--quick] [--json FILE] [--cases ...]``: the GPU table."""
    from benchmarks import __main__ as cli

    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        _require_gpu()
    except GPUUnavailable as e:
        print(str(e), file=sys.stderr)
        return 2
    args = cli.parse_args(argv)
    cfg = cli.config_from(args)
    rows = run_cases(cfg)
    return cli.report(rows, cfg, measure_ceilings, argv, environment())


if __name__ == "__main__":
    sys.exit(main())
