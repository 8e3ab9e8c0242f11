"""Run on N ranks by tests/distributed/test_mpi.py: prints the thread variables the launcher set."""

import os

print("THREADS", ",".join(os.environ.get(n, "-") for n in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "GRAPHC_NUM_THREADS")))
print("ALL OK")
