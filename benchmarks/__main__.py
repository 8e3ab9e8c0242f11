"""``python -m benchmarks``: run the suite and print the table.

    python -m benchmarks                      # full CPU suite (about 3 minutes)
    python -m benchmarks --quick              # smaller sizes and repeats, no torch.compile (< 30 s)
    python -m benchmarks --cases eager_ops    # graphc eager per-op time against PyTorch eager
    python -m benchmarks --json out.json      # also write every raw time to a file
    python -m benchmarks --cases gelu,mlp --profile   # some cases, with per-kernel times
    python -m benchmarks --device cuda        # the GPU suite (benchmarks.bench_gpu)

Progress goes to stderr; the table to stdout.
"""

from __future__ import annotations

import argparse
import os
import sys

# `python -m benchmarks` from the repo root finds graphc, ir and backends there;
# make that true from anywhere (the package is not installed with graphc).
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from benchmarks import harness  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks", description="graphc against numpy, PyTorch eager and torch.compile"
    )
    p.add_argument(
        "--device",
        choices=["cpu", "cuda"],
        default="cpu",
        help="cpu: numpy backend (default); cuda: benchmarks.bench_gpu",
    )
    p.add_argument("--json", metavar="FILE", help="write all results (raw times included) to FILE")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--quick",
        action="store_true",
        help="smaller sizes and repeats, no torch.compile unless --torch-compile (< 30 s)",
    )
    mode.add_argument(
        "--tiny", action="store_true", help="tiny sizes: checks the machinery only (what the smoke test runs)"
    )
    p.add_argument("--cases", help="comma-separated case names (default: all)")
    p.add_argument("--repeats", type=int, help="timed repeats per measurement (median taken)")
    p.add_argument("--no-torch", action="store_true", help="do not measure the PyTorch peers (reported as disabled)")
    p.add_argument("--no-jax", action="store_true", help="do not measure the JAX jit peer")
    p.add_argument("--no-tinygrad", action="store_true", help="do not measure the tinygrad JIT peer")
    tc = p.add_mutually_exclusive_group()
    tc.add_argument(
        "--torch-compile",
        dest="torch_compile",
        action="store_true",
        default=None,
        help="measure torch.compile even with --quick",
    )
    tc.add_argument(
        "--no-torch-compile", dest="torch_compile", action="store_false", help="do not measure torch.compile"
    )
    p.add_argument("--profile", action="store_true", help="print graphc's per-kernel times in the notes")
    p.add_argument(
        "--wait-quiet",
        type=float,
        metavar="S",
        help="before each case wait up to S seconds for other processes to leave the CPUs idle (default: 5 full, 0 quick)",
    )
    p.add_argument("--list", action="store_true", help="list the cases and exit")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    return p.parse_args(argv)


def config_from(args) -> harness.Config:
    return harness.Config(
        mode="quick" if args.quick else "tiny" if args.tiny else "full",
        repeats=args.repeats,
        torch=not args.no_torch,
        torch_compile=args.torch_compile,
        jax=False if args.no_jax else None,
        tinygrad=False if args.no_tinygrad else None,
        cases=tuple(c.strip() for c in args.cases.split(",") if c.strip()) if args.cases else None,
        profile=args.profile,
        wait_quiet_s=args.wait_quiet,
        progress=not args.quiet,
    )


def run_cuda(argv, cfg: harness.Config) -> int:
    """Hand over to ``benchmarks.bench_gpu``: ``run_cases(cfg) -> rows`` (preferred) or ``main(argv) -> int``."""
    try:
        from benchmarks import bench_gpu
    except ImportError as e:
        print(
            "python -m benchmarks --device cuda: the GPU benchmarks are not available "
            f"(benchmarks.bench_gpu could not be imported: {e}). They are written with the Triton backend; "
            "run without --device for the CPU suite.",
            file=sys.stderr,
        )
        return 2
    if hasattr(bench_gpu, "run_cases"):
        return report(bench_gpu.run_cases(cfg), cfg, getattr(bench_gpu, "measure_ceilings", None), argv)
    if hasattr(bench_gpu, "main"):
        return int(bench_gpu.main(argv) or 0)
    print("benchmarks.bench_gpu defines neither run_cases(cfg) nor main(argv)", file=sys.stderr)
    return 2


def report(rows, cfg, ceilings_fn, argv, env_extra=None, ceilings=None) -> int:
    args = parse_args(argv)
    if ceilings is None and ceilings_fn is not None:
        ceilings = ceilings_fn(cfg)
    env = harness.environment(cfg, env_extra)
    print(harness.format_table(rows, ceilings, env))
    if args.json:
        harness.write_json(args.json, rows, ceilings, env)
        print(f"\nwrote {args.json}")
    return 0


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    cfg = config_from(args)
    if args.device == "cuda":
        return run_cuda(argv, cfg)
    from benchmarks import cases_cpu

    if args.list:
        for name, fn in cases_cpu.CASES.items():
            print(f"{name:12s} {(fn.__doc__ or '').strip().splitlines()[0]}")
        return 0
    if cfg.cases:
        unknown = [c for c in cfg.cases if c not in cases_cpu.CASES]
        if unknown:
            print(f"unknown case(s) {', '.join(unknown)}; known: {', '.join(cases_cpu.CASES)}", file=sys.stderr)
            return 2
    peers = cases_cpu.Peers(cfg)
    cfg.log("measuring the machine's ceilings (np.copyto bandwidth, sgemm)")
    if cfg.quiet_wait > 0:
        harness.wait_for_quiet(cfg.quiet_wait)
    mon = harness.LoadMonitor()
    ceilings = harness.measure_ceilings(cfg)
    rows = cases_cpu.run_cases(cfg, peers)
    env = peers.env()
    share = mon.other_share()
    if share is not None:
        env["other processes' CPU share during the run"] = f"{100 * share:.0f}%"
    return report(rows, cfg, None, argv, env, ceilings)


if __name__ == "__main__":
    sys.exit(main())
