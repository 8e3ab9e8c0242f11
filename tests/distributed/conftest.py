"""Helpers for the distributed tests: run a worker script on N ranks through graphc's launcher.

The multi-process tests need mpi4py and an ``mpiexec`` (``pip install -e '.[test]'``
brings both, from the mpich wheel); without them they skip, saying why.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from graphc.distributed.run import find_mpiexec

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WORKERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "workers")


def _mpi_missing() -> str | None:
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return "mpi4py is not installed (pip install 'graphc[distributed]')"
    if find_mpiexec() is None:
        return "no mpiexec found (pip install mpich)"
    return None


MPI_MISSING = _mpi_missing()
needs_mpi = pytest.mark.skipif(MPI_MISSING is not None, reason=MPI_MISSING or "")


class Run:
    def __init__(self, returncode, output, seconds):
        self.returncode, self.output, self.seconds = returncode, output, seconds

    def lines(self, rank):
        return [line[len(f"[rank {rank}] ") :] for line in self.output.splitlines() if line.startswith(f"[rank {rank}] ")]


def launch(script: str, nproc: int, *args, timeout: float = 60, launcher=("-m", "graphc.distributed.run"), env=None) -> Run:
    """``python -m graphc.distributed.run --nproc N workers/SCRIPT args...``; output and status."""
    path = os.path.join(WORKERS, script)
    cmd = [sys.executable, *launcher, "--nproc", str(nproc), path, *map(str, args)]
    full_env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), GRAPHC_NUM_THREADS="1")
    full_env.update(env or {})
    t0 = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=timeout)
    return Run(proc.returncode, proc.stdout + proc.stderr, time.monotonic() - t0)
