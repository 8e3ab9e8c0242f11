"""Eager speed op by op on a mid-size tensor: graphc against PyTorch eager, both on one thread.

    python -m benchmarks.eager_survey                 # every op on 256x512 float32 (131072 elements)
    python -m benchmarks.eager_survey --ops clamp,gelu --threads 2
    python -m benchmarks.eager_survey --no-torch       # graphc alone, in a process without PyTorch

The ``eager_ops`` case times the per-op overhead on 8 elements; this survey times what a model's
layers call on a tensor large enough that the arithmetic counts, where numpy's own loops decide
(numpy's ``where`` branches per element, its ``maximum`` against a number runs a scalar loop, its
strided copy of a transpose is unblocked -- each found here, and routed around). PyTorch runs on
one thread by default, as numpy's loops do; ``--threads`` lets it use more. Each op is timed in
both libraries back to back (best of 5 repeats of a block long enough to take 20 ms), and the
table ends with the ops furthest behind. PyTorch is a peer, never a dependency: without it (or
with ``--no-torch``) graphc's times are printed alone.
"""

from __future__ import annotations

import argparse
import os
import sys
import timeit

import numpy as np

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)


def _inputs(rng):
    """name -> numpy array: the operands every case draws from."""
    return {
        "a": rng.standard_normal((256, 512)).astype(np.float32),
        "b": rng.standard_normal((256, 512)).astype(np.float32),
        "p": rng.uniform(0.01, 0.99, (256, 512)).astype(np.float32),
        "i": rng.integers(0, 512, (256, 512)),
        "y": rng.integers(0, 256, 256),
        "im": rng.standard_normal((8, 16, 32, 32)).astype(np.float32),
        "w": rng.standard_normal((32, 16, 3, 3)).astype(np.float32),
        "m": rng.standard_normal((512, 512)).astype(np.float32),
    }


def _cases():
    """name -> fn(lib, F, d): ``lib`` is torch or graphc, ``F`` its nn.functional, ``d`` the inputs."""
    return {
        # elementwise
        "neg": lambda L, F, d: -d["a"],
        "exp": lambda L, F, d: d["a"].exp(),
        "log": lambda L, F, d: d["p"].log(),
        "sqrt": lambda L, F, d: d["p"].sqrt(),
        "rsqrt": lambda L, F, d: d["p"].rsqrt(),
        "tanh": lambda L, F, d: d["a"].tanh(),
        "sigmoid": lambda L, F, d: d["a"].sigmoid(),
        "sign": lambda L, F, d: d["a"].sign(),
        "erf": lambda L, F, d: d["a"].erf(),
        "add": lambda L, F, d: d["a"] + d["b"],
        "mul scalar": lambda L, F, d: d["a"] * 0.5,
        "div": lambda L, F, d: d["a"] / d["p"],
        "sub alpha": lambda L, F, d: L.sub(d["a"], d["b"], alpha=0.5),
        "pow 2": lambda L, F, d: d["a"] ** 2,
        "maximum": lambda L, F, d: L.maximum(d["a"], d["b"]),
        "gt": lambda L, F, d: d["a"] > d["b"],
        "where": lambda L, F, d: L.where(d["a"] > 0, d["a"], d["b"]),
        "masked_fill": lambda L, F, d: d["a"].masked_fill(d["b"] > 0, 0.0),
        "clamp": lambda L, F, d: d["a"].clamp(-0.5, 0.5),
        "nan_to_num": lambda L, F, d: L.nan_to_num(d["a"]),
        "lerp": lambda L, F, d: L.lerp(d["a"], d["b"], 0.3),
        "addcmul": lambda L, F, d: L.addcmul(d["a"], d["b"], d["p"], value=0.1),
        "remainder": lambda L, F, d: L.remainder(d["a"], 0.3),
        "to float16": lambda L, F, d: d["a"].half(),
        # activations
        "relu": lambda L, F, d: F.relu(d["a"]),
        "relu6": lambda L, F, d: F.relu6(d["a"]),
        "hardtanh": lambda L, F, d: F.hardtanh(d["a"]),
        "leaky_relu": lambda L, F, d: F.leaky_relu(d["a"], 0.1),
        "elu": lambda L, F, d: F.elu(d["a"]),
        "silu": lambda L, F, d: F.silu(d["a"]),
        "gelu": lambda L, F, d: F.gelu(d["a"]),
        "gelu tanh": lambda L, F, d: F.gelu(d["a"], approximate="tanh"),
        "softplus": lambda L, F, d: F.softplus(d["a"]),
        # reductions and normalizations
        "sum": lambda L, F, d: d["a"].sum(),
        "sum(0)": lambda L, F, d: d["a"].sum(0),
        "sum(1)": lambda L, F, d: d["a"].sum(1),
        "amax(1)": lambda L, F, d: d["a"].amax(1),
        "argmax(1)": lambda L, F, d: d["a"].argmax(1),
        "var(1)": lambda L, F, d: d["a"].var(1),
        "norm": lambda L, F, d: d["a"].norm(),
        "prod(1)": lambda L, F, d: (d["p"] + 0.5).prod(1),
        "cumsum(1)": lambda L, F, d: d["a"].cumsum(1),
        "softmax": lambda L, F, d: F.softmax(d["a"], 1),
        "log_softmax": lambda L, F, d: F.log_softmax(d["a"], 1),
        "layer_norm": lambda L, F, d: F.layer_norm(d["a"], (512,)),
        "batch_norm": lambda L, F, d: F.batch_norm(d["im"], None, None, training=True),
        "cross_entropy": lambda L, F, d: F.cross_entropy(d["a"], d["y"]),
        "mse_loss": lambda L, F, d: F.mse_loss(d["a"], d["b"]),
        "dropout": lambda L, F, d: F.dropout(d["a"], 0.1),
        # products, convolutions, pooling
        "linear": lambda L, F, d: F.linear(d["a"], d["m"]),
        "conv2d": lambda L, F, d: F.conv2d(d["im"], d["w"], padding=1),
        "max_pool2d": lambda L, F, d: F.max_pool2d(d["im"], 2),
        "avg_pool2d": lambda L, F, d: F.avg_pool2d(d["im"], 2),
        # data movement
        "t().contiguous()": lambda L, F, d: d["a"].t().contiguous(),
        "cat": lambda L, F, d: L.cat([d["a"], d["b"]], 0),
        "index_select": lambda L, F, d: d["a"].index_select(0, d["y"]),
        "gather": lambda L, F, d: d["a"].gather(1, d["i"]),
        "a[y]": lambda L, F, d: d["a"][d["y"]],
        "flip": lambda L, F, d: d["a"].flip(1),
        "tril": lambda L, F, d: d["m"].tril(),
        "one_hot": lambda L, F, d: F.one_hot(d["y"], 256),
        "topk(8)": lambda L, F, d: d["a"].topk(8, 1),
        "sort(1)": lambda L, F, d: d["a"].sort(1),
    }


def _time(fn) -> float:
    """Best of 5 repeats, in microseconds, of a block long enough to take ~20 ms."""
    n = 1
    while timeit.timeit(fn, number=n) < 0.02 and n < 1 << 16:
        n *= 4
    return min(timeit.repeat(fn, number=n, repeat=5)) / n * 1e6


def survey(ops=None, threads: int = 1, seed: int = 0, with_torch: bool = True) -> list:
    """``[(op, graphc us, torch us or None)]``; an op that fails gives its error in place of the
    times. Without PyTorch (``with_torch=False``) only graphc is timed -- in a process of its own,
    since importing PyTorch changes how malloc reuses memory for every library in the process."""
    import graphc
    import graphc.nn.functional as GF

    arrays = _inputs(np.random.default_rng(seed))
    gd = {k: graphc.from_numpy(v) for k, v in arrays.items()}
    if with_torch:
        import torch
        import torch.nn.functional as TF

        torch.set_num_threads(threads)
        td = {k: torch.from_numpy(v) for k, v in arrays.items()}
    rows = []
    for name, fn in _cases().items():
        if ops and name not in ops:
            continue
        try:
            g = _time(lambda: fn(graphc, GF, gd))
            t = _time(lambda: fn(torch, TF, td)) if with_torch else None
        except Exception as exc:  # a failing op says so instead of ending the survey
            rows.append((name, f"error: {type(exc).__name__}: {exc}", None))
            continue
        rows.append((name, g, t))
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", default="", help="comma-separated op names (default: all)")
    parser.add_argument("--threads", type=int, default=1, help="PyTorch's intra-op threads (numpy's loops use one)")
    parser.add_argument("--worst", type=int, default=12, help="how many of the slowest ratios to list at the end")
    parser.add_argument("--no-torch", action="store_true", help="time graphc alone (also what happens without PyTorch)")
    args = parser.parse_args(argv)
    with_torch = not args.no_torch
    if with_torch:
        try:
            import torch  # noqa: F401
        except ImportError:
            print("(PyTorch is not installed: graphc's times alone; pip install -e '.[bench]' for the comparison)")
            with_torch = False
    ops = {o.strip() for o in args.ops.split(",") if o.strip()}
    if with_torch:
        print(f"graphc eager against PyTorch eager ({args.threads} thread), 256x512 float32: time, graphc / PyTorch")
    else:
        print("graphc eager, 256x512 float32")
    rows = survey(ops, args.threads, with_torch=with_torch)
    for name, g, t in rows:
        if isinstance(g, str):
            print(f"  {name:18s} {g}")
        elif t is None:
            print(f"  {name:18s} graphc {g:9.1f} us")
        else:
            print(f"  {name:18s} graphc {g:9.1f} us   torch {t:9.1f} us   {g / t:6.2f}x")
    timed = sorted((g / t, name) for name, g, t in rows if t is not None)
    if timed and args.worst:
        print("furthest behind: " + ", ".join(f"{name} {r:.1f}x" for r, name in timed[::-1][: args.worst]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
