"""Run on N ranks by tests/distributed/test_mpi.py: one failure case per run (argv[1]).

``shape``/``dtype``/``op``: the ranks pass different arguments to one all_reduce;
``stop``: the last rank never joins the collective (it sleeps far past the
timeout); ``die``: the last rank raises while the others wait in a collective;
``compiled``: the ranks' compiled steps see different shapes. Every case must end
the job with the expected error, well within the test's time limit.
"""

import sys
import time

import graphc
import graphc.distributed as dist

case = sys.argv[1]
dist.init_process_group("mpi", timeout=float(sys.argv[2]) if len(sys.argv) > 2 else 30)
R, N = dist.get_rank(), dist.get_world_size()
last = R == N - 1
dist.all_reduce(graphc.ones(2))  # a call that works first
if case == "shape":
    dist.all_reduce(graphc.ones(3 + last))
elif case == "dtype":
    dist.all_reduce(graphc.ones(3, dtype=graphc.float64 if last else graphc.float32))
elif case == "op":
    dist.all_reduce(graphc.ones(3), dist.ReduceOp.MAX if last else dist.ReduceOp.SUM)
elif case == "stop":
    if last:
        time.sleep(120)
    dist.all_reduce(graphc.ones(3))
elif case == "die":
    if last:
        raise RuntimeError(f"rank {R} fails on purpose")
    dist.all_reduce(graphc.ones(3))
elif case == "compiled":
    @graphc.compile(fullgraph=True)
    def f(x):
        dist.all_reduce(x)
        return x * 2

    f(graphc.ones(4 + last))
print("NOT REACHED")
