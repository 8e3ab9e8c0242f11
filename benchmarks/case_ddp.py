"""The ``ddp`` case: the classifier's training step data-parallel on 1 and 2 ranks, and all-reduce bandwidth.

Two launches of ``python -m graphc.distributed.run --nproc N -m benchmarks.case_ddp --worker``
(N = 1, 2). Each rank trains ``examples/train_classifier.py``'s CNN
(``benchmarks.case_classifier.make_net``) wrapped in ``DistributedDataParallel``
with the whole step under ``graphc.compile``, on its share of a global batch of
32 (random data: the time does not depend on the values), and rank 0 reports the
median time per global batch. The row (``ddp_train_step``) has the 2-rank time as graphc's; the notes
give the 1-rank time, the speedup and the scaling efficiency (speedup / 2).

The 2-rank launch also times ``graphc.distributed.all_reduce`` on a float32
buffer (4 MiB; smaller in quick/tiny modes) against raw ``mpi4py``
``Allreduce(IN_PLACE)`` on the very same numpy buffer, with graphc's argument
check across ranks on (the default) and off (``GRAPHC_DIST_CHECKS=0``): the
cost of graphc's layer over MPI. Bandwidth is the buffer's bytes / time.

On a 2-core machine two ranks share the cores with graphc's own worker
threads (set to 1 thread per rank here), so the scaling says little about a
cluster; the bandwidth is shared-memory MPI's.

Registered in :data:`benchmarks.cases_cpu.CASES` as ``ddp``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np

from .harness import Config, Measurement, Row, Target

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GLOBAL_BATCH = 32


def _sizes(mode: str) -> tuple:
    """(timed steps, bandwidth elements, bandwidth repeats) for the config's mode."""
    return {"full": (60, 1 << 20, 30), "quick": (20, 1 << 18, 10), "tiny": (3, 1 << 10, 3)}[mode]


def _launch(nproc: int, mode: str) -> dict:
    env = dict(os.environ, GRAPHC_NUM_THREADS="1", PYTHONPATH=_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [sys.executable, "-m", "graphc.distributed.run", "--nproc", str(nproc), "--timeout", "120",
           "-m", "benchmarks.case_ddp", "--worker", mode]
    out = subprocess.run(cmd, cwd=_ROOT, env=env, capture_output=True, text=True, timeout=600)
    for line in out.stdout.splitlines():
        if line.startswith("[rank 0] DDPBENCH "):
            return json.loads(line.split("DDPBENCH ", 1)[1])
    raise RuntimeError(f"the {nproc}-rank run failed (status {out.returncode}):\n{(out.stdout + out.stderr)[-2000:]}")


def case_ddp(cfg: Config, peers=None) -> Row:
    """classifier train step data-parallel on 1 vs 2 ranks; all_reduce bandwidth vs raw mpi4py"""
    row = Row("ddp_train_step", f"classifier b{GLOBAL_BATCH} global, 2 ranks")
    for key in ("numpy", "torch", "torch.compile"):
        row.peers[key] = Measurement.missing("not a peer of this case: see notes")
    row.graphc_eager = Measurement.missing("1-rank time in the notes")
    try:
        import mpi4py  # noqa: F401  # reason: the case needs the optional MPI dependency
    except ImportError:
        row.graphc = Measurement.missing("mpi4py not installed: pip install 'graphc[distributed]'")
        return row
    one, two = _launch(1, cfg.mode), _launch(2, cfg.mode)
    row.graphc = Measurement(seconds=two["step_s"], times=two["step_times"])
    row.targets.append(Target("2 ranks no slower per global batch than 1 (speedup ≥ 1.0x)", max_seconds=one["step_s"]))
    speedup = one["step_s"] / two["step_s"]
    row.check = "ok" if one["loss_finite"] and two["loss_finite"] else "MISMATCH: non-finite loss"
    row.notes.append(
        f"time per global batch: 1 rank {1e3 * one['step_s']:.2f} ms, 2 ranks {1e3 * two['step_s']:.2f} ms; "
        f"speedup {speedup:.2f}x, scaling efficiency {100 * speedup / 2:.0f}%"
    )
    bw = two["bandwidth"]
    mb = bw["bytes"] / 2**20
    row.notes.append(
        f"all_reduce of {mb:.1f} MiB float32 on 2 ranks: graphc {bw['graphc_gbs']:.2f} GB/s (checks on), "
        f"{bw['graphc_nocheck_gbs']:.2f} GB/s (GRAPHC_DIST_CHECKS=0), raw mpi4py {bw['mpi4py_gbs']:.2f} GB/s "
        f"(graphc / raw: {bw['graphc_gbs'] / bw['mpi4py_gbs']:.2f}, {bw['graphc_nocheck_gbs'] / bw['mpi4py_gbs']:.2f})"
    )
    row.extra.update({"one_rank": one, "two_ranks": two})
    return row


# ----------------------------------------------------------------------------
# the worker (one rank)


def _median_time(fn, repeats: int, barrier) -> tuple:
    times = []
    for _ in range(repeats):
        barrier()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), times


def worker(mode: str) -> None:
    import graphc
    import graphc.distributed as dist
    from graphc.nn.parallel import DistributedDataParallel as DDP

    from .case_classifier import LR, MOMENTUM, make_net

    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    steps, elems, bw_reps = _sizes(mode)
    graphc.manual_seed(0)
    net = DDP(make_net(graphc))
    opt = graphc.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM)
    loss_fn = graphc.nn.CrossEntropyLoss()
    rng = np.random.default_rng(rank)
    x = graphc.from_numpy(rng.standard_normal((GLOBAL_BATCH // world, 1, 8, 8)).astype(np.float32))
    y = graphc.from_numpy(rng.integers(0, 10, GLOBAL_BATCH // world))

    @graphc.compile
    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
        return loss

    last = [None]

    def one_step():
        last[0] = step(x, y)

    for _ in range(5):
        one_step()
    step_s, step_times = _median_time(one_step, steps, dist.barrier)
    result = {"ranks": world, "step_s": step_s, "step_times": step_times, "loss_finite": bool(np.isfinite(float(last[0])))}
    if world > 1:
        from mpi4py import MPI  # reason: the raw peer of the bandwidth measurement

        t = graphc.ones(elems)
        comm = MPI.COMM_WORLD
        raw = lambda: comm.Allreduce(MPI.IN_PLACE, t._data)  # the same numpy buffer graphc reduces
        ours = lambda: dist.all_reduce(t)
        for fn in (raw, ours):
            fn()
        nbytes = t._data.nbytes
        g_s, _ = _median_time(ours, bw_reps, dist.barrier)
        r_s, _ = _median_time(raw, bw_reps, dist.barrier)
        os.environ["GRAPHC_DIST_CHECKS"] = "0"  # every rank flips it at the same point
        n_s, _ = _median_time(ours, bw_reps, dist.barrier)
        os.environ["GRAPHC_DIST_CHECKS"] = "1"
        result["bandwidth"] = {"bytes": nbytes, "graphc_gbs": nbytes / g_s / 1e9, "graphc_nocheck_gbs": nbytes / n_s / 1e9, "mpi4py_gbs": nbytes / r_s / 1e9}
    if rank == 0:
        print("DDPBENCH " + json.dumps(result), flush=True)
    dist.destroy_process_group()


if __name__ == "__main__" and len(sys.argv) >= 3 and sys.argv[1] == "--worker":
    worker(sys.argv[2])
