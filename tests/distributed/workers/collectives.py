"""Run on N ranks by tests/distributed/test_mpi.py: every collective against a numpy reference.

Each rank makes its inputs from a seed and its rank, so every rank can compute
every other rank's inputs and so the expected result, in float64 numpy,
independently of graphc and MPI. A failed check raises (the launcher then
aborts the job and the test sees the traceback); the last line is ``ALL OK``.
"""

import sys

import numpy as np

import graphc
import graphc.distributed as dist

dist.init_process_group("mpi", timeout=30)
R, N = dist.get_rank(), dist.get_world_size()
SHAPES = [(), (5,), (3, 4), (2, 3, 2), (0, 3)]
DTYPES = ["float32", "float64", "float16", "bfloat16", "int32", "int64", "int8", "uint8", "bool"]
OPS = {"SUM": np.sum, "PRODUCT": np.prod, "MIN": np.min, "MAX": np.max, "AVG": np.mean}
checks = 0


def values(rank, shape, dtype, op="SUM", salt=0):
    """Rank ``rank``'s input: small integers, exact in every dtype and reduction here."""
    rng = np.random.default_rng(1000 * rank + 17 * salt + len(shape))
    if dtype == "bool":
        return rng.integers(0, 2, shape).astype(bool)
    lo, hi = (1, 3) if op == "PRODUCT" else ((0, 4) if dtype == "uint8" else (-3, 4))
    return rng.integers(lo, hi, shape).astype(np.float64)


def tensor(a, dtype):
    return graphc.tensor(np.asarray(a)).to(getattr(graphc, dtype))


def check(name, got, want, dtype):
    global checks
    got = np.asarray(got.to(graphc.float64) if dtype != "bool" else got).astype(np.float64)
    want = np.asarray(want, dtype=np.float64)
    tol = 1e-2 if dtype in ("float16", "bfloat16") else 1e-6
    if got.shape != want.shape or not np.allclose(got, want, rtol=tol, atol=tol):
        raise AssertionError(f"rank {R}: {name}: got {got.tolist()}, expected {want.tolist()}")
    checks += 1


def ops_for(dtype):
    if dtype == "bool":
        return ["MIN", "MAX"]
    return list(OPS) if dtype.startswith(("float", "bfloat")) else ["SUM", "PRODUCT", "MIN", "MAX"]


# all_reduce: every op, dtype and shape, sync and async, contiguous and not
for dtype in DTYPES:
    for op in ops_for(dtype):
        for shape in SHAPES:
            if dtype == "bfloat16" and shape == ():
                continue  # graphc's .to(bfloat16) makes a 0-d tensor 1-d (kernels.round_bf16): reported, not ours
            t = tensor(values(R, shape, dtype, op), dtype)
            want = OPS[op](np.stack([values(r, shape, dtype, op) for r in range(N)]), axis=0)
            if dtype == "bool":
                want = want.astype(bool)
            elif not dtype.startswith(("float", "bfloat")):
                want = np.asarray(want).astype(np.float64)
            work = dist.all_reduce(t, getattr(dist.ReduceOp, op), async_op=(len(shape) == 2))
            if work is not None:
                assert work.wait() is True and work.is_completed()
            check(f"all_reduce {op} {dtype}{list(shape)}", t, want, dtype)
    base = tensor(values(R, (4, 3), dtype), dtype)
    view = base.t()  # not contiguous: reduced through a temporary, written back into the view
    dist.all_reduce(view, dist.ReduceOp.MAX)
    check(f"all_reduce MAX {dtype} transposed view", base, np.max([values(r, (4, 3), dtype) for r in range(N)], axis=0), dtype)

# broadcast from every rank
for dtype in ("float32", "int64", "bfloat16", "bool"):
    for src in range(N):
        t = tensor(values(R, (2, 3), dtype, salt=src), dtype)
        dist.broadcast(t, src)
        check(f"broadcast {dtype} from {src}", t, values(src, (2, 3), dtype, salt=src), dtype)

# all_gather / all_gather_into_tensor
for dtype in ("float64", "int32", "float16"):
    mine = tensor(values(R, (2, 2), dtype), dtype)
    out = graphc.zeros(N * 2, 2, dtype=getattr(graphc, dtype))
    dist.all_gather_into_tensor(out, mine)
    check(f"all_gather_into_tensor {dtype}", out, np.concatenate([values(r, (2, 2), dtype) for r in range(N)]), dtype)
    lst = [graphc.zeros(2, 2, dtype=getattr(graphc, dtype)) for _ in range(N)]
    dist.all_gather(lst, mine)
    for r in range(N):
        check(f"all_gather {dtype} [{r}]", lst[r], values(r, (2, 2), dtype), dtype)

# reduce_scatter / reduce_scatter_tensor
for dtype in ("float32", "int64"):
    for op in ("SUM", "MAX"):
        full = [values(r, (N, 3), dtype, op, salt=5) for r in range(N)]
        want = OPS[op](np.stack(full), axis=0)[R]
        out = graphc.zeros(3, dtype=getattr(graphc, dtype))
        dist.reduce_scatter_tensor(out, tensor(full[R], dtype), getattr(dist.ReduceOp, op))
        check(f"reduce_scatter_tensor {op} {dtype}", out, want, dtype)
        out = graphc.zeros(3, dtype=getattr(graphc, dtype))
        dist.reduce_scatter(out, [tensor(row, dtype) for row in full[R]], getattr(dist.ReduceOp, op))
        check(f"reduce_scatter {op} {dtype}", out, want, dtype)

# send / recv around a ring, and isend / irecv
t = tensor(values(R, (3,), "float32", salt=9), "float32")
got = graphc.zeros(3)
src, dst = (R - 1) % N, (R + 1) % N
if R % 2 == 0:
    dist.send(t, dst)
    dist.recv(got, src)
else:
    dist.recv(got, src)
    dist.send(t, dst)
check("send/recv ring", got, values(src, (3,), "float32", salt=9), "float32")
works = [dist.isend(t, dst, tag=3), dist.irecv(got.zero_(), src, tag=3)]
for w in works:
    w.wait()
check("isend/irecv ring", got, values(src, (3,), "float32", salt=9), "float32")

# inside @graphc.compile: the same calls recorded as IR collectives, equal to eager
@graphc.compile(fullgraph=True)
def step(x, y):
    a = x * 2
    dist.all_reduce(a)
    b = y + 0
    dist.broadcast(b, N - 1)
    c = graphc.zeros(N * 3)
    dist.all_gather_into_tensor(c, x)
    d = graphc.zeros(1)
    dist.reduce_scatter_tensor(d, graphc.arange(float(N)) + x[0], dist.ReduceOp.MAX)
    return a, b, c, d


for call in range(3):
    x = tensor(values(R, (3,), "float32", salt=call), "float32")
    y = tensor(values(R, (2,), "float32", salt=call + 7), "float32")
    a, b, c, d = step(x, y)
    xs = [values(r, (3,), "float32", salt=call) for r in range(N)]
    check("compiled all_reduce", a, 2 * np.sum(xs, axis=0), "float32")
    check("compiled broadcast", b, values(N - 1, (2,), "float32", salt=call + 7), "float32")
    check("compiled all_gather", c, np.concatenate(xs), "float32")
    check("compiled reduce_scatter", d, [np.max([R + xr[0] for xr in xs])], "float32")
report = step.explain(x, y)
ops = [n.op for n in report.optimized.nodes]
assert ops.count("all_reduce_start") == 4 and ops.count("all_reduce_wait") == 4, ops
assert "all_reduce_start" in str(report), "explain() shows the collectives"

dist.barrier()
dist.destroy_process_group()
print(f"ALL OK {checks} checks on rank {R} of {N}", file=sys.stdout)
