"""MPI collectives on numpy buffers: the CPU engine of ``graphc.distributed``.

:class:`MPIGroup` wraps an mpi4py communicator. Every call is non-blocking
underneath (``Iallreduce``, ``Ibcast``, ``Iallgather``, ...; mpi4py releases
the GIL inside MPI) and returns a :class:`Work` whose ``wait()`` polls the
request against the group's timeout, so no call can hang forever:

* **checks** (on unless ``GRAPHC_DIST_CHECKS=0``): before a collective's
  payload moves, the ranks exchange a small descriptor (call, sequence
  number, dtype, shape, reduce op, root) point to point; ranks that disagree
  raise :class:`~ir.errors.DistributedError` naming each rank's arguments,
  instead of MPI reducing mismatched buffers (a crash, a hang or garbage);
* **timeouts**: a call that does not complete within ``timeout`` seconds
  raises :class:`~ir.errors.DistributedTimeoutError` naming this rank, the
  call and, from the descriptors that did not arrive, the ranks that never
  joined it. After an error the group refuses further calls (its
  communicator may hold unmatched messages).

Contiguous buffers of a dtype MPI reduces natively are used in place (no
copy); other buffers (non-contiguous, float16, bfloat16 stored as float32,
bool) go through a temporary that is copied back when the call completes.
Collectives run on a duplicate of the user's communicator and ``send`` /
``recv`` on another, so neither can match the other's messages.
"""

from __future__ import annotations

import os
import time

import numpy as np

from ir.errors import DistributedError, DistributedTimeoutError

from . import kernels as K

CALLS = ("all_reduce", "broadcast", "all_gather", "reduce_scatter", "barrier", "send")
DTYPES = ("bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64")
OPS = ("sum", "avg", "product", "min", "max")
_MAGIC = 0x67726170  # "grap": a descriptor, not stray data
_DESC = 16  # int64 words: magic, seq, call, dtype, op, root, ndim, numel, 8 dims
_CHECK_TAG = 7001
_P2P_CHECK_MAX = 64
SPIN_S = 0.05  # how long a wait tests without sleeping  # up to this many ranks the check is all-to-all (it can name a missing rank)


def checks_enabled() -> bool:
    """Whether collectives compare their arguments across ranks first (``GRAPHC_DIST_CHECKS``)."""
    return os.environ.get("GRAPHC_DIST_CHECKS", "1") != "0"


def default_timeout() -> float:
    """Seconds a call may wait for the other ranks (``GRAPHC_DIST_TIMEOUT``, default 300)."""
    return float(os.environ.get("GRAPHC_DIST_TIMEOUT", "300") or 300)


def _mpi():
    from mpi4py import MPI  # reason: optional dependency (graphc[distributed]), imported on first use

    return MPI


def fmt_shape(shape) -> str:
    return "[" + ", ".join(str(s) for s in shape) + "]"


class Work:
    """A call in flight: ``wait()`` blocks (up to the timeout) and finishes it.

    ``finish`` runs once after the requests complete (copy a temporary back,
    divide for AVG, round bfloat16). ``result`` is what ``wait`` returns.
    """

    def __init__(self, group, requests, what: str, finish=None, result=None, peers=None):
        self.group = group
        self.requests = requests
        self.what = what
        self._finish = finish
        self.result_value = result
        self.peers = peers  # ranks this call waits on (point to point), None: the whole group
        self.done = not requests and finish is None

    def is_completed(self) -> bool:
        if self.done:
            return True
        if self.requests and not _mpi().Request.Testall(self.requests):
            return False
        self._complete()
        return True

    def wait(self, timeout: float | None = None):
        if not self.done:
            if self.requests:
                self.group._poll(self.requests, self.what, timeout, self.peers)
            self._complete()
        return self.result_value

    def _complete(self):
        if not self.done:
            self.done = True
            if self._finish is not None:
                self._finish()


class DoneWork(Work):
    """A call that completed when it was made (a group of one rank)."""

    def __init__(self, result=None):
        super().__init__(None, [], "", None, result)


class MPIGroup:
    """Collectives over an mpi4py communicator (see the module docstring)."""

    backend = "mpi"

    def __init__(self, comm, name: str = "world", timeout: float | None = None):
        self.comm = comm
        self.coll = comm.Dup()  # collectives and their checks
        self.p2p = comm.Dup()  # send / recv
        self.name = name
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        self.timeout = default_timeout() if timeout is None else float(timeout)
        self.seq = 0
        self.broken: str | None = None

    # -- bookkeeping -------------------------------------------------------------------
    def _label(self, call: str, seq: int, detail: str = "") -> str:
        return f"rank {self.rank}: {call} (call #{seq} on process group {self.name!r}{', ' + detail if detail else ''})"

    def _begin(self, call: str, detail: str) -> tuple:
        if self.broken:
            raise DistributedError(
                f"rank {self.rank}: {call}: process group {self.name!r} is unusable after an earlier error "
                f"({self.broken}); end this process (the launcher brings the other ranks down)"
            )
        self.seq += 1
        return self.seq, self._label(call, self.seq, detail)

    def _fail(self, exc: DistributedError):
        self.broken = str(exc).split("\n", 1)[0]
        raise exc

    def _poll(self, requests, what: str, timeout=None, peers=None):
        """Wait for ``requests`` up to the timeout.

        MPI progresses a non-blocking call only inside MPI calls, so the first
        ``SPIN_S`` seconds test without pause (a blocking MPI wait spins too);
        after that the test repeats with short sleeps, which keeps a rank that waits
        long for a slow peer from taking a core from the ranks that work.
        """
        MPI = _mpi()
        if MPI.Request.Testall(requests):
            return
        limit = self.timeout if timeout is None else float(timeout)
        start = time.monotonic()
        while not MPI.Request.Testall(requests):
            elapsed = time.monotonic() - start
            if elapsed > limit:
                for r in requests:
                    try:
                        r.Cancel()
                    except Exception:  # a send may not be cancellable; the group is broken anyway
                        pass
                who = f"rank {', '.join(map(str, peers))}" if peers else "another rank"
                self._fail(
                    DistributedTimeoutError(
                        f"{what} did not complete within {limit:g} s: {who} did not take part "
                        "(it died, stopped participating, or waits in a different call)"
                    )
                )
            if elapsed > SPIN_S:
                time.sleep(min(1e-3, elapsed * 1e-3))

    def _check(self, call: str, seq: int, what: str, dtype: str, shape, op: str = "", root: int = -1):
        """Exchange this call's descriptor with every rank; raise if any differ."""
        if self.size == 1 or not checks_enabled():
            return
        desc = np.full(_DESC, -1, dtype=np.int64)
        desc[:8] = (_MAGIC, seq, CALLS.index(call), DTYPES.index(dtype), OPS.index(op) if op else -1, root, len(shape), int(np.prod(shape)))
        desc[8 : 8 + min(8, len(shape))] = tuple(shape)[:8]
        if self.size > _P2P_CHECK_MAX:
            table = np.empty((self.size, _DESC), dtype=np.int64)
            self._poll([self.coll.Iallgather(desc, table)], what)
        else:
            table = np.empty((self.size, _DESC), dtype=np.int64)
            table[self.rank] = desc
            others = [r for r in range(self.size) if r != self.rank]
            recvs = [self.coll.Irecv(table[r], source=r, tag=_CHECK_TAG) for r in others]
            sends = [self.coll.Isend(desc, dest=r, tag=_CHECK_TAG) for r in others]
            start = time.monotonic()
            pending = dict(zip(others, recvs))
            while pending:
                for r, req in list(pending.items()):
                    if req.Test():
                        del pending[r]
                if pending and time.monotonic() - start > self.timeout:
                    for req in pending.values():
                        req.Cancel()
                    self._fail(
                        DistributedTimeoutError(
                            f"{what} timed out after {self.timeout:g} s: rank {', '.join(map(str, pending))} "
                            f"did not join it ({len(others) - len(pending) + 1} of {self.size} ranks did); a rank "
                            "that died, stopped participating, or waits in a different call"
                        )
                    )
                if pending and time.monotonic() - start > SPIN_S:
                    time.sleep(1e-4)
            self._poll(sends, what)
        if (table == table[self.rank]).all():
            return
        lines = [f"  rank {r}: {_describe(row)}" for r, row in enumerate(table)]
        self._fail(DistributedError(f"{what}: the ranks called different collectives or passed different arguments:\n" + "\n".join(lines)))

    # -- buffers ---------------------------------------------------------------------------
    @staticmethod
    def _mpi_view(arr: np.ndarray, dtype: str):
        """``(buffer MPI can use in place, finish)``: the array itself when possible, else a temporary."""
        native = arr.flags.c_contiguous and arr.dtype != np.float16 and arr.dtype != np.bool_ and dtype != "bfloat16"
        if native:
            return arr, None
        kind = np.float32 if arr.dtype == np.float16 else (np.uint8 if arr.dtype == np.bool_ else arr.dtype)
        work = np.array(arr, dtype=kind, order="C", copy=True)  # (keeps 0-d arrays 0-d)

        def back():
            out = work
            if dtype == "bfloat16":
                out = K.round_bf16(work).reshape(work.shape)
            np.copyto(arr, out, casting="unsafe")

        return work, back

    def _op(self, op: str, dtype: str):
        MPI = _mpi()
        return {"sum": MPI.SUM, "avg": MPI.SUM, "product": MPI.PROD, "min": MPI.MIN, "max": MPI.MAX}[op]

    # -- collectives --------------------------------------------------------------------------
    def all_reduce(self, arr: np.ndarray, op: str = "sum", dtype: str = "", async_op: bool = False):
        """Reduce ``arr`` in place across the ranks."""
        dtype = dtype or arr.dtype.name
        seq, what = self._begin("all_reduce", f"{dtype}{fmt_shape(arr.shape)}, ReduceOp.{op.upper()}")
        self._check("all_reduce", seq, what, dtype, arr.shape, op)
        buf, back = self._mpi_view(arr, dtype)
        req = self.coll.Iallreduce(_mpi().IN_PLACE, buf, op=self._op(op, dtype))
        size = self.size

        def finish():
            if op == "avg":
                np.divide(buf, size, out=buf, casting="unsafe")
            if back is not None:
                back()

        return self._ret(Work(self, [req], what, finish, arr), async_op)

    def broadcast(self, arr: np.ndarray, src: int, dtype: str = "", async_op: bool = False):
        dtype = dtype or arr.dtype.name
        seq, what = self._begin("broadcast", f"{dtype}{fmt_shape(arr.shape)} from rank {src}")
        self._check_rank("broadcast", src, what)
        self._check("broadcast", seq, what, dtype, arr.shape, root=src)
        buf, back = self._mpi_view(arr, dtype)
        req = self.coll.Ibcast(buf, root=src)
        return self._ret(Work(self, [req], what, back, arr), async_op)

    def all_gather(self, out: np.ndarray, inp: np.ndarray, dtype: str = "", async_op: bool = False):
        """``out`` (``size * inp.size`` elements, rank-major) receives every rank's ``inp``."""
        dtype = dtype or inp.dtype.name
        seq, what = self._begin("all_gather", f"{dtype}{fmt_shape(inp.shape)}")
        self._check("all_gather", seq, what, dtype, inp.shape)
        src, _ = self._mpi_view(inp, dtype)
        dst, back = self._mpi_view(out, dtype)
        req = self.coll.Iallgather(src, dst)
        return self._ret(Work(self, [req], what, back, out), async_op)

    def reduce_scatter(self, out: np.ndarray, inp: np.ndarray, op: str = "sum", dtype: str = "", async_op: bool = False):
        """``out`` receives this rank's block of the reduction of every rank's ``inp``."""
        dtype = dtype or inp.dtype.name
        seq, what = self._begin("reduce_scatter", f"{dtype}{fmt_shape(inp.shape)}, ReduceOp.{op.upper()}")
        self._check("reduce_scatter", seq, what, dtype, inp.shape, op)
        src, _ = self._mpi_view(inp, dtype)
        dst, back = self._mpi_view(out, dtype)
        req = self.coll.Ireduce_scatter_block(src, dst, op=self._op(op, dtype))
        size = self.size

        def finish():
            if op == "avg":
                np.divide(dst, size, out=dst, casting="unsafe")
            if back is not None:
                back()

        return self._ret(Work(self, [req], what, finish, out), async_op)

    def barrier(self, async_op: bool = False):
        seq, what = self._begin("barrier", "")
        self._check("barrier", seq, what, "bool", ())
        return self._ret(Work(self, [self.coll.Ibarrier()], what), async_op)

    # -- point to point ----------------------------------------------------------------------
    def send(self, arr: np.ndarray, dst: int, tag: int = 0, dtype: str = "", async_op: bool = False):
        dtype = dtype or arr.dtype.name
        what = f"rank {self.rank}: send of {dtype}{fmt_shape(arr.shape)} to rank {dst} (tag {tag})"
        self._check_rank("send", dst, what)
        header = _header(dtype, arr.shape)
        buf, _ = self._mpi_view(arr, dtype)
        buf = np.array(buf, copy=True)  # the caller may write into arr before the send completes
        reqs = [self.p2p.Isend(header, dest=dst, tag=2 * tag), self.p2p.Isend(buf, dest=dst, tag=2 * tag + 1)]
        return self._ret(Work(self, reqs, what, None, None, peers=[dst]), async_op)

    def recv(self, arr: np.ndarray, src: int, tag: int = 0, dtype: str = "", async_op: bool = False):
        dtype = dtype or arr.dtype.name
        what = f"rank {self.rank}: recv of {dtype}{fmt_shape(arr.shape)} from rank {src} (tag {tag})"
        self._check_rank("recv", src, what)
        header = np.empty(_DESC, dtype=np.int64)
        self._poll([self.p2p.Irecv(header, source=src, tag=2 * tag)], what, peers=[src])
        expect = _header(dtype, arr.shape)
        if not (header == expect).all():
            self._fail(
                DistributedError(f"{what}: rank {src} sent {_describe(header, with_call=False)}, but this rank expects {_describe(expect, with_call=False)}")
            )
        buf, back = self._mpi_view(arr, dtype)
        req = self.p2p.Irecv(buf, source=src, tag=2 * tag + 1)
        return self._ret(Work(self, [req], what, back, src, peers=[src]), async_op)

    # -- helpers ------------------------------------------------------------------------------
    def _check_rank(self, call, rank, what):
        if not (0 <= rank < self.size):
            raise DistributedError(f"{what}: rank {rank} is not in process group {self.name!r} of {self.size} ranks")

    @staticmethod
    def _ret(work: Work, async_op: bool):
        if async_op:
            return work
        work.wait()
        return None

    def close(self):
        for c in (self.coll, self.p2p):
            try:
                c.Free()
            except Exception:  # freeing after an error may fail; nothing else to do at shutdown
                pass


def _header(dtype: str, shape) -> np.ndarray:
    h = np.full(_DESC, -1, dtype=np.int64)
    h[:8] = (_MAGIC, 0, CALLS.index("send"), DTYPES.index(dtype), -1, -1, len(shape), int(np.prod(shape)))
    h[8 : 8 + min(8, len(shape))] = tuple(shape)[:8]
    return h


def _describe(row, with_call: bool = True) -> str:
    """A descriptor as text: ``all_reduce #3 of float32[4, 3], ReduceOp.SUM``."""
    row = [int(v) for v in row]
    if row[0] != _MAGIC:
        return "(no descriptor)"
    ndim = row[6]
    dims = row[8 : 8 + min(ndim, 8)]
    shape = fmt_shape(dims) if ndim <= 8 else f"{fmt_shape(dims)}... ({row[7]} elements)"
    text = f"{DTYPES[row[3]]}{shape}"
    if row[4] >= 0:
        text += f", ReduceOp.{OPS[row[4]].upper()}"
    if row[5] >= 0:
        text += f", rank {row[5]}"
    if with_call:
        text = f"{CALLS[row[2]]} #{row[1]} of {text}"
    return text
