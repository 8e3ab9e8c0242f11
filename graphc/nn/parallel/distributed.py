"""``DistributedDataParallel``: average gradients across ranks while backward runs.

Each rank holds a replica of the module and feeds it its own shard of the
batch. At construction rank 0's parameters and buffers are broadcast, so
every replica starts equal. Parameters are grouped into *buckets* of about
``bucket_cap_mb`` (25 MB) in reverse registration order — roughly the order
backward produces their gradients. A post-accumulate-grad hook on every
parameter marks it ready; when every parameter of a bucket is ready, the
bucket's gradients are flattened into one tensor and its all-reduce (AVG)
starts, asynchronously, while backward goes on with earlier layers. Buckets
start strictly in index order, so every rank issues the same collectives in
the same order. When the last bucket has started, DDP waits for them all
and writes the averaged gradients back into ``.grad``; ``optimizer.step()``
then sees the same gradients on every rank.

Inside ``@graphc.compile`` nothing changes in this code: the hooks fire in
the traced backward, ``graphc.distributed.all_reduce`` records
``all_reduce_start`` / ``all_reduce_wait`` nodes, and the compiled step
holds forward, backward, communication and the optimizer update in one
graph, where the schedule starts each bucket as soon as its gradients exist
and waits only where the optimizer reads them.

As in PyTorch: ``no_sync()`` skips the all-reduce (gradients accumulate
locally until the next synchronized backward); ``find_unused_parameters``
walks the autograd graph after forward and marks parameters that did not
take part as ready at once (without it, such a parameter makes the next
forward raise); ``.module`` is the wrapped module. Unlike PyTorch,
``state_dict()`` has the wrapped module's keys (no ``module.`` prefix), and
``load_state_dict`` accepts keys with or without it, so a checkpoint moves
between DDP and plain training unchanged.
"""

from __future__ import annotations

from contextlib import contextmanager

from ... import _dispatch
from ..._factories import tensor as _tensor_of
from ..._factories import zeros
from ..._functional import cat, where
from ..._tensor import Tensor
from ...autograd.grad_mode import is_grad_enabled, no_grad
from ...autograd.graph import AccumulateGrad, resolve
from ...distributed import _collectives as C
from ...distributed import _state
from ..modules.module import Module

_UNFINISHED = (
    "Expected to have finished reduction in the prior iteration before starting a new one. This error indicates "
    "that your module has parameters that were not used in producing loss. You can enable unused parameter detection "
    "by passing the keyword argument `find_unused_parameters=True` to `graphc.nn.parallel.DistributedDataParallel`, "
    "and by making sure all `forward` function outputs participate in calculating loss. Parameters that did not "
    "receive a gradient on rank {rank}: {names}"
)


class _Bucket:
    __slots__ = ("index", "params", "numel")

    def __init__(self, index):
        self.index, self.params, self.numel = index, [], 0


class _Iteration:
    """The reduction state of one forward/backward."""

    def __init__(self, n_buckets, sizes):
        self.ready: set = set()
        self.pending = list(sizes)  # parameters not yet ready, per bucket
        self.works: dict = {}  # bucket index -> (Work, flat tensor)
        self.next_bucket = 0
        self.used: set = set()
        self.finished = False
        self.started = False


class DistributedDataParallel(Module):
    """Data-parallel training of ``module`` over the ranks of the default process group."""

    def __init__(
        self,
        module: Module,
        device_ids=None,
        output_device=None,
        dim: int = 0,
        broadcast_buffers: bool = True,
        process_group=None,
        bucket_cap_mb: float | None = None,
        find_unused_parameters: bool = False,
        check_reduction: bool = False,
        gradient_as_bucket_view: bool = False,
        static_graph: bool = False,
        init_sync: bool = True,
    ):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: expected a graphc.nn.Module, got {type(module).__name__}")
        self.module = module
        pg = _state.resolve(process_group, "DistributedDataParallel")
        object.__setattr__(self, "process_group", pg)
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.bucket_bytes_cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * 1024 * 1024)
        self.require_backward_grad_sync = True
        self.dim = dim
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        if not named:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't have any parameter that requires a gradient.")
        devices = {p.device for _, p in named}
        if len(devices) > 1:
            raise RuntimeError(f"DistributedDataParallel: the module's parameters are on several devices {sorted(map(str, devices))}; put them on one")
        object.__setattr__(self, "_params", [p for _, p in named])
        object.__setattr__(self, "_param_names", [n for n, _ in named])
        if init_sync:
            self._sync_module_states()
        object.__setattr__(self, "_buckets", self._build_buckets())
        object.__setattr__(self, "_bucket_of", {i: b.index for b in self._buckets for i in b.params})
        object.__setattr__(self, "_iter", None)
        object.__setattr__(self, "_handles", [p.register_post_accumulate_grad_hook(self._hook(i)) for i, p in enumerate(self._params)])

    # -- construction --------------------------------------------------------------------
    def _sync_module_states(self) -> None:
        """Every rank takes rank 0's parameters and buffers."""
        if self.process_group.size() == 1:
            return
        with no_grad():
            for t in list(self.module.parameters()) + [b for b in self.module.buffers() if b is not None]:
                C.broadcast(t.detach(), 0, self.process_group)

    def _build_buckets(self) -> list:
        """Reverse registration order, split by dtype and at ``bucket_cap_mb``."""
        buckets, current, key = [], None, None
        for i in reversed(range(len(self._params))):
            p = self._params[i]
            nbytes = p.numel() * p.element_size()
            k = (p.dtype, p.device)
            if current is None or k != key or (current.params and (current.numel * p.element_size() + nbytes) > self.bucket_bytes_cap):
                current = _Bucket(len(buckets))
                buckets.append(current)
                key = k
            current.params.append(i)
            current.numel += p.numel()
        return buckets

    # -- forward ---------------------------------------------------------------------------
    def forward(self, *inputs, **kwargs):
        it = self._iter
        if it is not None and it.started and not it.finished:
            missing = [self._param_names[i] for i in range(len(self._params)) if i not in it.ready]
            raise RuntimeError(_UNFINISHED.format(rank=self.process_group.rank(), names=", ".join(missing)))
        if self.broadcast_buffers and self.process_group.size() > 1:
            with no_grad():
                for b in self.module.buffers():
                    if b is not None:
                        C.broadcast(b.detach() if b._node is None else b, 0, self.process_group)
        sync = is_grad_enabled() and self.require_backward_grad_sync
        object.__setattr__(self, "_iter", _Iteration(len(self._buckets), [len(b.params) for b in self._buckets]) if sync else None)
        out = self.module(*inputs, **kwargs)
        if sync and self.find_unused_parameters:
            reached = self._reached(out)
            for i in range(len(self._params)):
                if i not in reached:
                    self._mark_ready(i, used=False)
        return out

    def _reached(self, out) -> set:
        """Indices of the parameters the autograd graph of ``out`` leads to."""
        index = {id(p): i for i, p in enumerate(self._params)}
        tracer = _dispatch.active_tracer()
        stack_, seen, found = [], set(), set()
        _tensors(out, stack_)
        stack_ = [t._grad_fn if t._grad_fn is not None else t._accumulator for t in stack_]
        while stack_:
            v = resolve(stack_.pop())
            if v is None or id(v) in seen:
                continue
            seen.add(id(v))
            if isinstance(v, AccumulateGrad):
                t = v.variable
                if t is not None and t._node is not None and tracer is not None:
                    t = tracer.real_of(t) or t
                if t is not None and id(t) in index:
                    found.add(index[id(t)])
            stack_.extend(e for e in getattr(v, "_next", ()) if e is not None)
        return found

    # -- backward: hooks, buckets ----------------------------------------------------------------
    def _hook(self, i: int):
        def hook(_param):
            self._mark_ready(i, used=True)

        return hook

    def _mark_ready(self, i: int, used: bool) -> None:
        it = self._iter
        if it is None or it.finished:
            return
        if i in it.ready:
            raise RuntimeError(
                f"DistributedDataParallel: parameter {self._param_names[i]} was marked ready twice in one iteration "
                "(backward through the same forward twice, or a parameter used in a reentrant backward); "
                "run forward again before each backward"
            )
        it.started = True
        it.ready.add(i)
        if used:
            it.used.add(i)
        b = self._bucket_of[i]
        it.pending[b] -= 1
        while it.next_bucket < len(self._buckets) and it.pending[it.next_bucket] == 0:
            self._launch(it, self._buckets[it.next_bucket])
            it.next_bucket += 1
        for work, _ in it.works.values():  # give MPI a chance to progress the buckets in flight
            work.is_completed()
        if it.next_bucket == len(self._buckets):
            self._finalize(it)

    def _launch(self, it: _Iteration, bucket: _Bucket) -> None:
        with no_grad():
            grads = []
            for i in bucket.params:
                p = self._params[i]
                g = p.grad
                grads.append((g if g is not None else _zeros_like(p)).reshape(-1))
            flat = cat(grads, 0) if len(grads) > 1 else grads[0].clone()
            work = C.all_reduce(flat, C.ReduceOp.AVG, async_op=True)
        it.works[bucket.index] = (work, flat)

    def _finalize(self, it: _Iteration) -> None:
        tracing = _dispatch.active_tracer() is not None
        with no_grad():
            used = None
            if self.find_unused_parameters and self.process_group.size() > 1:
                used = _used_mask(self._params, it.used)
                C.all_reduce(used, C.ReduceOp.MAX)
            for bucket in self._buckets:
                work, flat = it.works.pop(bucket.index)
                work.wait()
                offset = 0
                for i in bucket.params:
                    p = self._params[i]
                    n = p.numel()
                    g = flat[offset : offset + n].reshape(tuple(p.shape))
                    offset += n
                    self._write_grad(p, g, used, i, tracing)
        it.finished = True

    def _write_grad(self, p, g, used, i, tracing) -> None:
        if not tracing:
            if used is not None and not bool(used._data[i]):
                return  # no rank used it: its .grad stays as it was (None stays None)
            if p.grad is None:
                p.grad = g.clone()
            else:
                p.grad.copy_(g)
            return
        if used is not None:  # the mask is a traced value: keep the old gradient where no rank used the parameter
            old = p.grad if p.grad is not None else _zeros_like(p)
            g = where(used[i] > 0, g, old)
        p.grad = g

    # -- PyTorch's API ------------------------------------------------------------------------------
    @contextmanager
    def no_sync(self):
        """Backward passes inside this context accumulate gradients locally, without communication."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    def state_dict(self, *args, **kwargs):
        """The wrapped module's state dict (its own keys: no ``module.`` prefix)."""
        return self.module.state_dict(*args, **kwargs)

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """Load into the wrapped module; keys may carry PyTorch DDP's ``module.`` prefix or not."""
        keys = list(state_dict.keys())
        if keys and all(k.startswith("module.") for k in keys):
            state_dict = type(state_dict)((k[len("module.") :], v) for k, v in state_dict.items())
        return self.module.load_state_dict(state_dict, strict=strict, assign=assign)

    def extra_repr(self) -> str:
        return f"world_size={self.process_group.size()}, buckets={len(self._buckets)}"


def _tensors(obj, out: list) -> None:
    if isinstance(obj, Tensor):
        if obj._grad_fn is not None or obj._requires_grad:
            out.append(obj)
    elif isinstance(obj, (list, tuple)):
        for o in obj:
            _tensors(o, out)
    elif isinstance(obj, dict):
        for o in obj.values():
            _tensors(o, out)


def _zeros_like(p):
    return zeros(tuple(p.shape), dtype=p.dtype, device=p.device)


def _used_mask(params, used: set):
    """1 for each parameter this rank used in the iteration, else 0 (int32, on the parameters' device)."""
    return _tensor_of([1 if i in used else 0 for i in range(len(params))]).int().to(params[0].device)
