"""The numpy backend's ``collective`` kind, and the registry of process groups it reduces over.

``all_reduce_start`` copies its input into a fresh buffer and starts the
group's non-blocking all-reduce on it in place (``MPI_Iallreduce``: the call
returns at once, and the GIL is released inside MPI); the buffer it returns
carries the call's :class:`~backends.numpy.mpi.Work`. ``all_reduce_wait``
waits for that work (polling against the group's timeout) and returns the
buffer, now reduced. Both are ``single`` kernels, which allocate their own
outputs, so the memory plan never lends the buffer to another value while the
reduction is in flight. The copy makes the input free to be overwritten as
soon as the start returns.

Process groups are registered by name (``graphc.distributed`` registers
``"world"`` at ``init_process_group``); the graph's ``group`` attribute
names one. ``"self"``, a group of just this process, is always there: every
reduction over it is the identity, which lets the IR's tests run these nodes
without MPI.
"""

from __future__ import annotations

import numpy as np

from ir import ops as ops_table
from ir.errors import DistributedError
from ir.ops.collective import COLLECTIVE, START, WAIT

from . import kernels as K
from .mpi import DoneWork


class SelfGroup:
    """A process group of one rank: reductions, broadcasts and gathers are copies."""

    backend = "self"
    rank, size, name = 0, 1, "self"

    def all_reduce(self, arr, op="sum", dtype="", async_op=False):
        return DoneWork(arr) if async_op else None

    def broadcast(self, arr, src, dtype="", async_op=False):
        return DoneWork(arr) if async_op else None

    def barrier(self, async_op=False):
        return DoneWork() if async_op else None

    def all_gather(self, out, inp, dtype="", async_op=False):
        np.copyto(out.reshape(inp.shape), inp)
        return DoneWork(out) if async_op else None

    def reduce_scatter(self, out, inp, op="sum", dtype="", async_op=False):
        np.copyto(out, inp.reshape(out.shape))
        return DoneWork(out) if async_op else None

    def close(self):
        pass


GROUPS: dict = {"self": SelfGroup()}


def register_group(name: str, group) -> None:
    """Make ``group`` the one that collective nodes with ``group=name`` reduce over."""
    GROUPS[name] = group


def unregister_group(name: str) -> None:
    if name != "self":
        GROUPS.pop(name, None)


def get_group(name: str, call: str):
    group = GROUPS.get(name)
    if group is None:
        raise DistributedError(
            f"{call}: process group {name!r} is not initialized in this process; call "
            "graphc.distributed.init_process_group() first (on every rank)"
        )
    return group


class PendingArray(np.ndarray):
    """The value of an ``all_reduce_start``: a buffer with a reduction in flight (``_work``)."""


def run_collective(op: ops_table.OpDef, arrays, attrs, shape, dtype):
    """The kind's eager kernel (generated programs call it as a ``single`` kernel)."""
    x = arrays[0]  # (an all_reduce_start's second input is only an order token)
    group = get_group(attrs["group"], op.name)
    if op.name == START:
        buf = np.array(x, dtype=dtype.numpy_dtype, copy=True, order="C").view(PendingArray)
        buf._work = group.all_reduce(buf.view(np.ndarray), attrs["reduce_op"], dtype.name, async_op=True)
        return buf
    if op.name == WAIT:
        work = getattr(x, "_work", None)
        if work is None:
            raise DistributedError(f"{op.name}: its input is not the value of an all_reduce_start (an IR built by hand?)")
        work.wait()
        x._work = None
        return K.finish(x.view(np.ndarray), dtype)
    raise KeyError(op.name)


K.KIND_IMPLS[COLLECTIVE] = run_collective
