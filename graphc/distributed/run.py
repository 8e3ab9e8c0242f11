"""The launcher: ``python -m graphc.distributed.run --nproc N script.py [args...]`` (also ``graphc run``).

It starts N ranks of ``script.py`` through the MPI installation's ``mpiexec``
(the one next to this Python, e.g. from the ``mpich`` wheel, or on ``PATH``;
``--mpiexec`` or ``GRAPHC_MPIEXEC`` to choose) and returns its exit status.
Each rank runs under :mod:`graphc.distributed._worker`, which

* sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``LOCAL_WORLD_SIZE``,
  ``MASTER_ADDR`` and ``MASTER_PORT`` from what the MPI launcher tells it, so
  a script written for ``torchrun`` finds them;
* prefixes every line the rank prints with ``[rank R]``;
* when the script dies (an exception, ``sys.exit(n)`` with n != 0), prints its
  traceback and aborts the whole job (``MPI_Abort``), so the other ranks come
  down at once with a non-zero status instead of waiting in a collective.

A rank that stops participating without dying is caught by the collectives'
timeout (``--timeout S`` sets ``GRAPHC_DIST_TIMEOUT`` for the job). Scripts
need none of this: they run unchanged under a cluster's own ``mpiexec`` or
``srun`` (without the prefixes and the abort-on-error).

``--hosts a,b`` / ``--hostfile FILE`` spread ranks over machines (passed to
mpiexec as ``-hosts`` / ``-f`` for MPICH, ``--host`` / ``--hostfile`` for
Open MPI); any other mpiexec option goes after ``--mpiexec-args``.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys

# The thread pools a rank may start: BLAS (OpenBLAS, MKL), OpenMP, graphc's own kernel pool.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "GRAPHC_NUM_THREADS")


def thread_env(nproc: int, hosts: str | None = None, hostfile: str | None = None) -> dict:
    """Threads per rank: this machine's cores shared by the ranks it runs (at least 1 each).

    Without it every rank starts one BLAS thread per core, and N ranks on N cores run N^2
    threads, which spin-wait for each other: on 2 cores, 2 ranks of the classifier step took
    16 ms where one rank takes 1.3 ms. (torchrun sets OMP_NUM_THREADS=1 for the same reason.)
    Variables the user set are kept. With ``--hostfile`` the ranks per machine are unknown, so
    nothing is set."""
    if hostfile:
        return {}
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS
        cores = os.cpu_count() or 1
    machines = len([h for h in (hosts or "").split(",") if h]) or 1
    per_machine = -(-nproc // machines)
    threads = str(max(1, cores // max(1, per_machine)))
    return {name: threads for name in THREAD_VARIABLES}


def find_mpiexec(explicit: str | None = None) -> str | None:
    """The mpiexec to use: ``explicit``, ``GRAPHC_MPIEXEC``, the one beside this Python, or ``PATH``'s."""
    for cand in (explicit, os.environ.get("GRAPHC_MPIEXEC")):
        if cand:
            return cand
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if os.path.isfile(beside) and os.access(beside, os.X_OK):
        return beside
    return shutil.which("mpiexec") or shutil.which("mpirun")


def flavor(mpiexec: str) -> str:
    """``"mpich"`` (Hydra), ``"openmpi"`` or ``"other"``, from ``mpiexec --version``."""
    try:
        out = subprocess.run([mpiexec, "--version"], capture_output=True, text=True, timeout=20)
        text = out.stdout + out.stderr
    except (OSError, subprocess.SubprocessError):
        return "other"
    if "HYDRA" in text or "MPICH" in text or "Intel(R) MPI" in text:
        return "mpich"
    if "Open MPI" in text or "OpenRTE" in text or "PRRTE" in text:
        return "openmpi"
    return "other"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]


_VALUED = {"--nproc", "--nproc-per-node", "-n", "--timeout", "--backend", "--hosts", "--hostfile", "--mpiexec", "--mpiexec-args"}


def parse_args(argv):
    """The launcher's options, then the target: ``script.py args...`` or ``-m module args...``."""
    p = argparse.ArgumentParser(
        prog="python -m graphc.distributed.run",
        usage="python -m graphc.distributed.run [options] (script.py | -m module) [args...]",
        description="Run a graphc script on N processes through mpiexec (rank-prefixed output; a dying rank ends the job).",
    )
    p.add_argument("--nproc", "--nproc-per-node", "-n", type=int, default=1, dest="nproc", help="number of ranks (default 1)")
    p.add_argument("--timeout", type=float, help="seconds a collective waits for the other ranks (GRAPHC_DIST_TIMEOUT; default 300)")
    p.add_argument("--backend", choices=["mpi", "nccl"], help="GRAPHC_DIST_BACKEND for init_process_group() without a backend")
    p.add_argument("--hosts", help="comma-separated host names to place ranks on")
    p.add_argument("--hostfile", help="a hosts file in the MPI installation's format")
    p.add_argument("--mpiexec", help="the mpiexec to use (default: beside this Python, then PATH)")
    p.add_argument("--mpiexec-args", default="", help="more options for mpiexec, one quoted string")
    p.add_argument("--no-prefix", action="store_true", help="do not prefix output lines with [rank R]")
    i = 0
    while i < len(argv) and argv[i].startswith("-") and argv[i] != "-m":
        i += 1 if "=" in argv[i] or argv[i] not in _VALUED else 2
    a = p.parse_args(argv[:i])
    target = argv[i:]
    if not target or (target[0] == "-m" and len(target) < 2):
        p.error("name the script to run (script.py [args...] or -m module [args...])")
    a.script, a.args = (target[0], target[1:]) if target[0] != "-m" else ("-m", target[1:])
    return a


def build_command(a, mpiexec: str, kind: str) -> list:
    cmd = [mpiexec, "-n", str(a.nproc)]
    if kind == "openmpi":
        cmd += ["--oversubscribe"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd += ["--allow-run-as-root"]
    if a.hosts:
        cmd += ["--host" if kind == "openmpi" else "-hosts", a.hosts]
    if a.hostfile:
        cmd += ["--hostfile" if kind == "openmpi" else "-f", a.hostfile]
    cmd += shlex.split(a.mpiexec_args)
    target = ["-m", a.args[0]] + a.args[1:] if a.script == "-m" and a.args else [a.script] + a.args
    return cmd + [sys.executable, "-u", "-m", "graphc.distributed._worker"] + target


def main(argv=None) -> int:
    a = parse_args(list(sys.argv[1:] if argv is None else argv))
    if a.nproc < 1:
        print("graphc run: --nproc must be at least 1", file=sys.stderr)
        return 2
    if a.script != "-m" and not os.path.isfile(a.script):
        print(f"graphc run: no such script: {a.script}", file=sys.stderr)
        return 2
    mpiexec = find_mpiexec(a.mpiexec)
    if mpiexec is None:
        print(
            "graphc run: no mpiexec found: pip install 'graphc[distributed]' (mpi4py and the mpich wheel), "
            "use the site's MPI, or name one with --mpiexec",
            file=sys.stderr,
        )
        return 2
    env = dict(os.environ)
    first_host = (a.hosts or "").split(",")[0].split(":")[0]
    env.setdefault("MASTER_ADDR", first_host or "127.0.0.1")
    env.setdefault("MASTER_PORT", str(_free_port()))
    env["WORLD_SIZE"] = str(a.nproc)
    env["GRAPHC_DIST_LAUNCHER"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    if a.no_prefix:
        env["GRAPHC_DIST_PREFIX"] = "0"
    if a.timeout is not None:
        env["GRAPHC_DIST_TIMEOUT"] = str(a.timeout)
    if a.backend:
        env["GRAPHC_DIST_BACKEND"] = a.backend
    for name, value in thread_env(a.nproc, a.hosts, a.hostfile).items():
        env.setdefault(name, value)
    cmd = build_command(a, mpiexec, flavor(mpiexec))
    proc = subprocess.Popen(cmd, env=env, start_new_session=True)

    def stop(signum, frame):
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass

    old = signal.signal(signal.SIGTERM, stop)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        stop(signal.SIGINT, None)
        proc.wait()
        return 130
    finally:
        signal.signal(signal.SIGTERM, old)


if __name__ == "__main__":
    sys.exit(main())
