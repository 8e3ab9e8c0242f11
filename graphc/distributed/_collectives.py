"""Collectives on graphc tensors, with ``torch.distributed``'s names and semantics.

Eagerly each call hands the tensor's own buffer (numpy array or device
array; no copy when it is contiguous) to the process group's engine and
writes the result in place, as PyTorch does; ``async_op=True`` returns a
:class:`Work` whose ``wait()`` finishes the call.

Inside ``@graphc.compile`` the same calls record IR nodes instead: an
``all_reduce`` becomes ``all_reduce_start`` and ``all_reduce_wait`` (the
wait recorded at ``work.wait()`` for an async call), written back into the
tensor as a functional in-place update. ``broadcast``, ``all_gather`` and
``reduce_scatter`` are expressed through the all-reduce (each rank
contributes its tensor in its own slot, zeros elsewhere) so a compiled step
needs one collective primitive only. Point-to-point calls and ``barrier``
cannot be traced and say so.
"""

from __future__ import annotations

from ir.errors import DTypeError, ShapeError, UnsupportedError
from ir.ops.collective import START, WAIT

from .. import _dispatch
from .._factories import empty, zeros, zeros_like
from .._functional import stack
from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from ._state import resolve


class _RedOp:
    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"<ReduceOp.{self.name.upper()}>"


class ReduceOp:
    """How ``all_reduce`` and ``reduce_scatter`` combine the ranks' tensors (PyTorch's members)."""

    SUM = _RedOp("sum")
    AVG = _RedOp("avg")
    PRODUCT = _RedOp("product")
    MIN = _RedOp("min")
    MAX = _RedOp("max")


def _op_name(op, call: str, t: Tensor) -> str:
    name = op.name if isinstance(op, _RedOp) else str(op).lower().replace("reduceop.", "")
    if name not in ("sum", "avg", "product", "min", "max"):
        raise ValueError(f"{call}: unknown reduce op {op!r}; use graphc.distributed.ReduceOp.SUM, AVG, PRODUCT, MIN or MAX")
    if name == "avg" and not t.dtype.is_floating_point:
        raise DTypeError(f"{call}: ReduceOp.AVG needs a floating-point tensor, got {t.dtype}")
    if t.dtype.is_bool and name not in ("min", "max"):
        raise DTypeError(f"{call}: ReduceOp.{name.upper()} is not defined for bool tensors (use MAX for 'any', MIN for 'all')")
    return name


def _check_tensor(t, call: str) -> None:
    if not isinstance(t, Tensor):
        raise TypeError(f"{call}: expected a graphc Tensor, got {type(t).__name__}")


class Work:
    """A collective in flight (``async_op=True``): ``wait()`` completes it; PyTorch's ``Work``."""

    def __init__(self, inner, tensors, after=None):
        self._inner = inner
        self._tensors = list(tensors)
        self._after = after
        self._done = False
        self._eager = not _tracing()

    def wait(self, timeout=None) -> bool:
        if not self._done:
            if self._inner is not None:
                self._inner.wait(timeout.total_seconds() if hasattr(timeout, "total_seconds") else timeout)
            self._done = True
            if self._after is not None:
                self._after()
            if self._eager:
                for t in self._tensors:
                    t._version.value += 1  # written in place, as an in-place op would
        return True

    def is_completed(self) -> bool:
        if self._done or self._inner is None:  # (a traced call completes where wait() is called)
            return self._done
        if self._inner.is_completed():
            self.wait()
        return self._done

    def is_success(self) -> bool:
        return self.is_completed()

    def result(self) -> list:
        self.wait()
        return self._tensors

    def __repr__(self) -> str:
        return f"<graphc.distributed.Work {'done' if self._done else 'in flight'}>"


def _finish(work: Work, async_op: bool):
    if async_op:
        return work
    work.wait()
    return None


def _tracing() -> bool:
    return _dispatch.active_tracer() is not None


# ----------------------------------------------------------------------------
# traced forms (one primitive: the all-reduce)


def _traced_reduce(value: Tensor, op: str, pg) -> tuple:
    """Record ``all_reduce_start``; returns (start tracer, finish() -> reduced tracer)."""
    name = pg.ir_name(value.device)
    start = _dispatch.apply(START, [value], reduce_op=op, group=name)
    return start, lambda: _dispatch.apply(WAIT, [start], reduce_op=op, group=name)


def _traced(value: Tensor, op: str, pg, write, targets, async_op):
    """All-reduce ``value`` in the trace; ``write(reduced)`` stores it where the call says."""
    _, finish = _traced_reduce(value, op, pg)
    return _finish(Work(None, targets, lambda: write(finish())), async_op)


def _write(target: Tensor, value: Tensor) -> None:
    if tuple(value.shape) != tuple(target.shape):
        value = value.reshape(tuple(target.shape))
    _dispatch.active_tracer().write(target, value)


def _own_slot(t: Tensor, pg, n: int):
    """``t`` in this rank's slot of ``n`` ranks' worth of zeros (along a new dim 0)."""
    parts = [t if r == pg.rank() else zeros(tuple(t.shape), dtype=t.dtype, device=t.device) for r in range(n)]
    return stack(parts, 0)


def _sum_op(t: Tensor) -> str:
    return "max" if t.dtype.is_bool else "sum"


# ----------------------------------------------------------------------------
# the API


def all_reduce(tensor: Tensor, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """Reduce ``tensor`` across all ranks, in place: every rank ends with the same result."""
    _check_tensor(tensor, "all_reduce")
    pg = resolve(group, "all_reduce")
    name = _op_name(op, "all_reduce", tensor)
    if _tracing():
        return _traced(tensor, name, pg, lambda v: _write(tensor, v), [tensor], async_op)
    engine = pg.engine_for(tensor.device, "all_reduce")
    return _finish(Work(engine.all_reduce(tensor._data, name, tensor.dtype.name, async_op=True), [tensor]), async_op)


def broadcast(tensor: Tensor, src: int = 0, group=None, async_op: bool = False):
    """Copy rank ``src``'s ``tensor`` into ``tensor`` on every other rank."""
    _check_tensor(tensor, "broadcast")
    pg = resolve(group, "broadcast")
    if _tracing():
        value = tensor if pg.rank() == src else zeros_like(tensor)
        return _traced(value, _sum_op(tensor), pg, lambda v: _write(tensor, v), [tensor], async_op)
    engine = pg.engine_for(tensor.device, "broadcast")
    return _finish(Work(engine.broadcast(tensor._data, src, tensor.dtype.name, async_op=True), [tensor]), async_op)


def all_gather_into_tensor(output_tensor: Tensor, input_tensor: Tensor, group=None, async_op: bool = False):
    """``output_tensor`` (world_size times ``input_tensor``'s elements, rank-major) gets every rank's input."""
    _check_tensor(output_tensor, "all_gather_into_tensor")
    _check_tensor(input_tensor, "all_gather_into_tensor")
    pg = resolve(group, "all_gather_into_tensor")
    n = pg.size()
    _check_sizes("all_gather_into_tensor", output_tensor, input_tensor, n, "output", pg)
    if _tracing():
        value = _own_slot(input_tensor, pg, n)
        return _traced(value, _sum_op(input_tensor), pg, lambda v: _write(output_tensor, v), [output_tensor], async_op)
    engine = pg.engine_for(input_tensor.device, "all_gather_into_tensor")
    inner = engine.all_gather(output_tensor._data, input_tensor._data, input_tensor.dtype.name, async_op=True)
    return _finish(Work(inner, [output_tensor]), async_op)


def all_gather(tensor_list: list, tensor: Tensor, group=None, async_op: bool = False):
    """``tensor_list[r]`` receives rank ``r``'s ``tensor``."""
    _check_tensor(tensor, "all_gather")
    pg = resolve(group, "all_gather")
    n = pg.size()
    if len(tensor_list) != n:
        raise ValueError(f"all_gather: tensor_list has {len(tensor_list)} tensors for a group of {n} ranks")
    for t in tensor_list:
        _check_tensor(t, "all_gather")
        if tuple(t.shape) != tuple(tensor.shape) or t.dtype is not tensor.dtype:
            raise ShapeError(
                f"all_gather: every tensor of tensor_list must be {tensor.dtype}{list(tensor.shape)} like the input, got {t.dtype}{list(t.shape)}"
            )
    with no_grad():
        out = empty((n,) + tuple(tensor.shape), dtype=tensor.dtype, device=tensor.device)

    def scatter_back():
        with no_grad():
            for i, t in enumerate(tensor_list):
                t.copy_(out[i])

    work = all_gather_into_tensor(out, tensor, group, async_op=True)
    return _finish(Work(work, [], scatter_back), async_op)


def reduce_scatter_tensor(output: Tensor, input: Tensor, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """Reduce ``input`` (world_size blocks, rank-major) across ranks; rank r's ``output`` gets block r."""
    _check_tensor(output, "reduce_scatter_tensor")
    _check_tensor(input, "reduce_scatter_tensor")
    pg = resolve(group, "reduce_scatter_tensor")
    n = pg.size()
    name = _op_name(op, "reduce_scatter_tensor", input)
    _check_sizes("reduce_scatter_tensor", input, output, n, "input", pg)
    if _tracing():
        r = pg.rank()

        def write(v):
            block = v.reshape((n, output.numel()))[r]
            _write(output, block)

        return _traced(input, name, pg, write, [output], async_op)
    engine = pg.engine_for(input.device, "reduce_scatter_tensor")
    inner = engine.reduce_scatter(output._data, input._data, name, input.dtype.name, async_op=True)
    return _finish(Work(inner, [output]), async_op)


def reduce_scatter(output: Tensor, input_list: list, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """Reduce ``input_list[r]`` across ranks into rank r's ``output``."""
    pg = resolve(group, "reduce_scatter")
    if len(input_list) != pg.size():
        raise ValueError(f"reduce_scatter: input_list has {len(input_list)} tensors for a group of {pg.size()} ranks")
    with no_grad():
        stacked = stack(list(input_list), 0).contiguous()
    return reduce_scatter_tensor(output, stacked, op, group, async_op)


def _check_sizes(call, big: Tensor, small: Tensor, n: int, big_name: str, pg) -> None:
    if big.numel() != n * small.numel() or big.dtype is not small.dtype:
        other = "input" if big_name == "output" else "output"
        raise ShapeError(
            f"rank {pg.rank()}: {call}: the {big_name} must hold world_size ({n}) times the {other}'s elements in the same "
            f"dtype; got {big_name} {big.dtype}{list(big.shape)} and {other} {small.dtype}{list(small.shape)}"
        )


def _no_trace(call: str) -> None:
    if _tracing():
        raise UnsupportedError(
            f"{call} cannot be recorded inside @graphc.compile (only all_reduce, broadcast, all_gather and "
            "reduce_scatter can); call it outside the compiled function"
        )


def barrier(group=None, async_op: bool = False, device_ids=None):
    """Wait until every rank of the group has reached this call."""
    _no_trace("barrier")
    pg = resolve(group, "barrier")
    return _finish(Work(pg.engine.barrier(async_op=True), []), async_op)


def isend(tensor: Tensor, dst: int, group=None, tag: int = 0) -> Work:
    """Send ``tensor`` to rank ``dst`` without waiting; ``wait()`` on the result."""
    _check_tensor(tensor, "isend")
    _no_trace("isend")
    pg = resolve(group, "isend")
    engine = pg.engine_for(tensor.device, "isend")
    return Work(engine.send(tensor._data, dst, tag, tensor.dtype.name, async_op=True), [])


def irecv(tensor: Tensor, src: int | None = None, group=None, tag: int = 0) -> Work:
    """Receive into ``tensor`` from rank ``src`` without waiting."""
    _check_tensor(tensor, "irecv")
    _no_trace("irecv")
    pg = resolve(group, "irecv")
    if src is None:
        raise UnsupportedError("irecv: src=None (any source) is not supported; name the sending rank")
    engine = pg.engine_for(tensor.device, "irecv")
    return Work(engine.recv(tensor._data, src, tag, tensor.dtype.name, async_op=True), [tensor])


def send(tensor: Tensor, dst: int, group=None, tag: int = 0) -> None:
    """Send ``tensor`` to rank ``dst`` (returns when the buffer may be reused)."""
    isend(tensor, dst, group, tag).wait()


def recv(tensor: Tensor, src: int | None = None, group=None, tag: int = 0) -> int:
    """Receive into ``tensor`` from rank ``src``; returns the sender's rank."""
    irecv(tensor, src, group, tag).wait()
    return src


def all_gather_object(object_list: list, obj, group=None) -> None:
    """``object_list[r]`` receives rank ``r``'s picklable ``obj``."""
    _no_trace("all_gather_object")
    pg = resolve(group, "all_gather_object")
    if len(object_list) != pg.size():
        raise ValueError(f"all_gather_object: object_list has {len(object_list)} slots for a group of {pg.size()} ranks")
    got = pg.engine.comm.allgather(obj) if pg.size() > 1 else [obj]
    object_list[:] = got


def broadcast_object_list(object_list: list, src: int = 0, group=None, device=None) -> None:
    """Replace ``object_list``'s items on every rank with rank ``src``'s (picklable objects)."""
    _no_trace("broadcast_object_list")
    pg = resolve(group, "broadcast_object_list")
    if pg.size() > 1:
        object_list[:] = pg.engine.comm.bcast(list(object_list), root=src)
