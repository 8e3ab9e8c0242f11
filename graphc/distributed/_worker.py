"""One rank under ``graphc.distributed.run``: environment, ``[rank R]`` prefixes, abort on death.

``python -m graphc.distributed._worker script.py args...`` (or ``-m module``),
started by mpiexec. See :mod:`graphc.distributed.run`.
"""

from __future__ import annotations

import io
import os
import runpy
import sys
import time
import traceback

ABORT_GRACE_S = 0.5

# Where MPI launchers (Hydra/PMI, Open MPI/PMIx, Slurm, MVAPICH) put the rank, size and local rank.
_RANK = ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK", "SLURM_PROCID", "MV2_COMM_WORLD_RANK")
_SIZE = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "SLURM_NTASKS", "MV2_COMM_WORLD_SIZE")
_LOCAL_RANK = ("MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID", "MV2_COMM_WORLD_LOCAL_RANK")
_LOCAL_SIZE = ("MPI_LOCALNRANKS", "OMPI_COMM_WORLD_LOCAL_SIZE", "SLURM_NTASKS_PER_NODE")


def _first(names, default=None):
    for n in names:
        v = os.environ.get(n)
        if v not in (None, ""):
            return v
    return default


def set_environment() -> int:
    """Set torchrun's variables from the MPI launcher's; returns this rank."""
    rank = _first(_RANK, "0")
    os.environ["RANK"] = rank
    os.environ["WORLD_SIZE"] = _first(_SIZE, os.environ.get("WORLD_SIZE", "1"))
    os.environ["LOCAL_RANK"] = _first(_LOCAL_RANK, rank)
    os.environ["LOCAL_WORLD_SIZE"] = _first(_LOCAL_SIZE, os.environ["WORLD_SIZE"])
    return int(rank)


class Prefixed(io.TextIOBase):
    """A text stream that starts every line with ``prefix`` and writes whole lines only.

    A partial line waits for its end (or a ``flush``), so the lines of ranks that
    print at once through one mpiexec stay whole.
    """

    def __init__(self, stream, prefix: str):
        self.stream = stream
        self.prefix = prefix
        self.pending = ""

    def write(self, s: str) -> int:
        if not s:
            return 0
        text = self.pending + s
        cut = max(text.rfind("\n"), text.rfind("\r")) + 1
        self.pending = text[cut:]
        if cut:
            self.stream.write("".join(self.prefix + line for line in text[:cut].splitlines(keepends=True)))
            self.stream.flush()
        return len(s)

    def flush(self) -> None:
        if self.pending:
            self.stream.write(self.prefix + self.pending)
            self.pending = ""
        self.stream.flush()

    def isatty(self) -> bool:
        return self.stream.isatty()

    def fileno(self) -> int:
        return self.stream.fileno()

    @property
    def encoding(self):
        return self.stream.encoding


def _print_user_traceback() -> None:
    """The current exception's traceback without the launcher's own frames (this module, runpy)."""
    etype, value, tb = sys.exc_info()
    while tb is not None and (tb.tb_frame.f_code.co_filename in (__file__,) or "runpy" in tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    sys.stderr.write("".join(traceback.format_exception(etype, value, tb)))  # one write: whole, even if killed next


def _abort(code: int) -> None:
    """End the whole job: MPI_Abort when MPI is up (mpiexec then kills every rank), else exit."""
    sys.stdout.flush()
    sys.stderr.flush()
    time.sleep(ABORT_GRACE_S)  # ranks failing at the same moment (a shared timeout) get to print their errors
    mpi = sys.modules.get("mpi4py.MPI")
    if mpi is not None and mpi.Is_initialized() and not mpi.Is_finalized():
        mpi.COMM_WORLD.Abort(code)
    os._exit(code)


def main(argv=None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        sys.exit("usage: python -m graphc.distributed._worker SCRIPT.py [ARGS...] | -m MODULE [ARGS...]")
    rank = set_environment()
    if os.environ.get("GRAPHC_DIST_PREFIX", "1") != "0":
        sys.stdout = Prefixed(sys.stdout, f"[rank {rank}] ")
        sys.stderr = Prefixed(sys.stderr, f"[rank {rank}] ")
    try:
        if argv[0] == "-m":
            sys.argv = argv[1:]
            runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
        else:
            sys.argv = argv
            sys.path[0] = os.path.dirname(os.path.abspath(argv[0]))
            runpy.run_path(argv[0], run_name="__main__")
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if not isinstance(e.code, (int, type(None))):
            print(e.code, file=sys.stderr)
        if code != 0:
            print(f"rank {rank} exited with status {code}: aborting the job", file=sys.stderr)
            _abort(code)
        raise
    except BaseException:
        _print_user_traceback()
        print(f"rank {rank} died: aborting the job", file=sys.stderr)
        _abort(1)
    sys.stdout.flush()
    sys.stderr.flush()


if __name__ == "__main__":
    main()
