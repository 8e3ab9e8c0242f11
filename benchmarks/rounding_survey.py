"""How often graphc's result differs from PyTorch's in the last bit, op by op.

    python -m benchmarks.rounding_survey          # every op on the same 3200 float32 normals

Not a speed benchmark: for each op it runs graphc and PyTorch eager on the same float32 inputs
and prints the share of elements that are not bit-equal and the largest difference in ulps.
A share near zero means graphc computes PyTorch's arithmetic (the same formula, the same
rounding); transcendentals (exp, tanh, erf...) and reductions keep a last-bit share that no
numpy code can remove, because PyTorch's vectorized kernels round differently. The rows where
the formula itself differed (add with alpha, addcmul, lerp, scans, powers) are what
``docs/edge_values.md`` reports fixed. Needs PyTorch (a peer, never a dependency).
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)


def _cases():
    """name -> fn(lib, a, b, c, p): a, b, c normals, p in (0.01, 0.99)."""

    def nnf(lib):
        return lib.nn.functional

    def rows(x):
        return x.reshape(64, -1)

    return {
        "add alpha": lambda L, a, b, c, p: L.add(a, b, alpha=0.1),
        "sub alpha": lambda L, a, b, c, p: L.sub(a, b, alpha=0.3),
        "addcmul": lambda L, a, b, c, p: L.addcmul(a, b, c, value=0.1),
        "addcdiv": lambda L, a, b, c, p: L.addcdiv(a, b, p, value=0.1),
        "lerp scalar": lambda L, a, b, c, p: L.lerp(a, b, 0.3),
        "lerp tensor": lambda L, a, b, c, p: L.lerp(a, b, p),
        "x * 0.1 + y": lambda L, a, b, c, p: a * 0.1 + b,
        "0.1 / x": lambda L, a, b, c, p: 0.1 / a,
        "clamp": lambda L, a, b, c, p: L.clamp(a, -0.5, 0.5),
        "hardswish": lambda L, a, b, c, p: nnf(L).hardswish(a * 4),
        "mse (none)": lambda L, a, b, c, p: nnf(L).mse_loss(a, b, reduction="none"),
        "smooth_l1 (none)": lambda L, a, b, c, p: nnf(L).smooth_l1_loss(a, b, reduction="none", beta=0.5),
        "sqrt": lambda L, a, b, c, p: L.sqrt(p),
        "rsqrt": lambda L, a, b, c, p: L.rsqrt(p),
        "x ** 3": lambda L, a, b, c, p: a**3,
        "x ** -2": lambda L, a, b, c, p: a**-2,
        "p ** b": lambda L, a, b, c, p: p**b,
        "fmod": lambda L, a, b, c, p: L.fmod(a, 0.3),
        "x // 0.3": lambda L, a, b, c, p: a // 0.3,
        "cumsum": lambda L, a, b, c, p: L.cumsum(rows(a), 1),
        "logcumsumexp": lambda L, a, b, c, p: L.logcumsumexp(rows(a), 1),
        "sum (rows)": lambda L, a, b, c, p: rows(a).sum(1),
        "var (rows)": lambda L, a, b, c, p: rows(a).var(1),
        "layer_norm": lambda L, a, b, c, p: nnf(L).layer_norm(rows(a), (rows(a).shape[1],)),
        "softmax": lambda L, a, b, c, p: L.softmax(rows(a), 1),
        "matmul": lambda L, a, b, c, p: rows(a)[:, :40] @ rows(b)[:, :40].T,
        "exp": lambda L, a, b, c, p: L.exp(a),
        "tanh": lambda L, a, b, c, p: L.tanh(a),
        "sigmoid": lambda L, a, b, c, p: L.sigmoid(a),
        "gelu": lambda L, a, b, c, p: nnf(L).gelu(a),
        "bce (none)": lambda L, a, b, c, p: nnf(L).binary_cross_entropy(p, (c > 0).float(), reduction="none"),
        "cosine_similarity": lambda L, a, b, c, p: nnf(L).cosine_similarity(rows(a), rows(b)),
        "half x * 0.1": lambda L, a, b, c, p: (a.half() * 0.1).float(),
        "half round(2)": lambda L, a, b, c, p: L.round(a.half(), decimals=2).float(),
        "bf16 x + 0.1": lambda L, a, b, c, p: (a.bfloat16() + 0.1).float(),
    }


def survey(n: int = 3200, seed: int = 0) -> list:
    """``[(op, share of elements not bit-equal, max ulps)]`` for every case; errors as strings.
    ``n`` is rounded up to a multiple of 64 (the row-wise cases take 64 rows)."""
    import torch

    import graphc

    n = -(-n // 64) * 64
    rng = np.random.default_rng(seed)
    a, b, c = (rng.standard_normal(n).astype(np.float32) for _ in range(3))
    p = (rng.random(n) * 0.98 + 0.01).astype(np.float32)
    out = []
    for name, fn in _cases().items():
        try:
            got = [np.asarray(fn(lib, *(lib.from_numpy(v.copy()) for v in (a, b, c, p))).detach().numpy())
                   for lib in (torch, graphc)]
        except Exception as exc:  # a row that fails says so instead of ending the survey
            out.append((name, f"error: {type(exc).__name__}: {exc}", None))
            continue
        t, g = got
        if t.shape != g.shape:
            out.append((name, f"shapes differ: {t.shape} vs {g.shape}", None))
            continue
        differ = (t != g) & ~(np.isnan(t) & np.isnan(g))
        ulp = np.spacing(np.abs(t).astype(np.float32)).astype(np.float64)
        with np.errstate(invalid="ignore"):
            ulps = np.nanmax(np.abs(t.astype(np.float64) - g.astype(np.float64)) / ulp) if t.size else 0.0
        out.append((name, float(differ.mean()) if t.size else 0.0, float(ulps)))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=3200, help="elements per input (a multiple of 64)")
    args = parser.parse_args(argv)
    try:
        import torch  # noqa: F401
    except ImportError:
        print("rounding_survey needs PyTorch (pip install -e '.[bench]')")
        return 1
    print(f"graphc against PyTorch eager, {args.n} float32 elements per input: share not bit-equal, max ulps")
    for name, share, ulps in survey(args.n):
        if ulps is None:
            print(f"  {name:20s} {share}")
        else:
            print(f"  {name:20s} {share * 100:6.1f}%  {ulps:9.1f} ulp")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
