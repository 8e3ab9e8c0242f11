"""``@graphc.compile``: trace once per signature, optimize, generate code, cache, replay.

Life of a call:

1. The *signature* of the call — shapes, dtypes, devices and
   ``requires_grad`` of tensor arguments, values of the other arguments, and
   grad mode — is the cache key.
2. The first call of a new signature runs the function eagerly (a warm-up:
   optimizer state and ``.grad`` tensors that a training step creates lazily
   come into being as real tensors). The second call traces it
   (:mod:`graphc._tracing`), runs the passes — simplify, fusion, memory
   planning — and the backend's code generation (:func:`graphc._pipeline.build`),
   and caches the program.
3. Later calls check the guards (the key, plus the shapes of the tensors the
   function reached by itself) and replay: gather input buffers, run the
   generated program, write mutations and ``.grad`` values back, and wrap
   the outputs.

A guard miss retraces and logs which guard failed (logger
``graphc.compile``). After ``RECOMPILE_LIMIT`` retraces of one function it
warns once and runs eagerly from then on.
"""

from __future__ import annotations

import functools
import logging
import time
import warnings
from dataclasses import dataclass

import numpy as np

from ir.errors import TracingError, UnsupportedError

from . import _aot, _autocast, _state
from . import random as _random
from ._dispatch import replay_view
from ._grad_mode import is_grad_enabled, no_grad
from ._pipeline import _debug_log, build
from ._report import KernelInfo, Report  # noqa: F401 - their home before graphc._report
from ._tensor import Tensor
from ._tracing import Trace, tracing
from .device import cpu_device

log = logging.getLogger("graphc.compile")

RECOMPILE_LIMIT = 8


# ----------------------------------------------------------------------------
# flattening arguments and results


def _flatten(obj, leaves: list):
    """A hashable spec of ``obj``'s structure; tensors are appended to ``leaves``."""
    if isinstance(obj, Tensor):
        leaves.append(obj)
        return ("T",)
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return ("N", type(obj), tuple(_flatten(o, leaves) for o in obj))
    if isinstance(obj, (list, tuple)):
        return ("L" if isinstance(obj, list) else "U", tuple(_flatten(o, leaves) for o in obj))
    if isinstance(obj, dict):
        return ("D", tuple((k, _flatten(v, leaves)) for k, v in obj.items()))
    if obj is None or isinstance(obj, (bool, int, float, str, complex, bytes)):
        return ("V", type(obj).__name__, obj)
    return ("O", _Ref(obj))


class _Ref:
    """Another object in the arguments: compared by identity, handed back as it is."""

    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj

    def __eq__(self, other):
        return isinstance(other, _Ref) and other.obj is self.obj

    def __hash__(self):
        return id(self.obj)

    def __repr__(self):
        return f"<{type(self.obj).__name__} object at {id(self.obj):#x}>"


def _unflatten(spec, leaves, pos=None):
    if pos is None:
        pos = [0]
    tag = spec[0]
    if tag == "T":
        v = leaves[pos[0]]
        pos[0] += 1
        return v
    if tag == "N":
        return spec[1](*[_unflatten(s, leaves, pos) for s in spec[2]])
    if tag in ("L", "U"):
        items = [_unflatten(s, leaves, pos) for s in spec[1]]
        return items if tag == "L" else tuple(items)
    if tag == "D":
        return {k: _unflatten(s, leaves, pos) for k, s in spec[1]}
    if tag == "V":
        return spec[2]
    if tag == "O":
        return spec[1].obj
    raise TypeError(spec)


def _tensor_key(t: Tensor):
    data = t._data
    shape = data.shape if data is not None and type(data) is np.ndarray else tuple(t.shape)
    return (shape, t._dtype.name, t._device, t._requires_grad or t._grad_fn is not None)


def _spec_diff(old, new, path="args") -> list:
    """Where two argument specs (from :func:`_flatten`) differ, as readable guard failures."""
    if old == new:
        return []
    if old[0] != new[0] or old[0] in ("T", "O") or (old[0] == "V" and old[1] != new[1]):
        return [f"{path} changed from {_spec_text(old)} to {_spec_text(new)}"]
    if old[0] == "V":
        return [f"{path} changed value: {old[2]!r} -> {new[2]!r}"]
    if old[0] == "D":
        if [k for k, _ in old[1]] != [k for k, _ in new[1]]:
            return [f"{path} has keys {[k for k, _ in new[1]]}, was {[k for k, _ in old[1]]}"]
        return [r for (k, a), (_, b) in zip(old[1], new[1]) for r in _spec_diff(a, b, f"{path}[{k!r}]")]
    items_old, items_new = old[-1], new[-1]
    if len(items_old) != len(items_new):
        return [f"{path} has {len(items_new)} items, was {len(items_old)}"]
    if path == "args" and len(items_old) == 2:  # the (args, kwargs) pair
        return _spec_diff(items_old[0], items_new[0], "args") + _spec_diff(items_old[1], items_new[1], "kwargs")
    return [r for i, (a, b) in enumerate(zip(items_old, items_new)) for r in _spec_diff(a, b, f"{path}[{i}]")]


def _spec_text(spec) -> str:
    return {"T": "a tensor", "O": "an object", "L": "a list", "U": "a tuple", "D": "a dict", "N": "a namedtuple"}.get(
        spec[0], f"{spec[1]} {spec[2]!r}" if spec[0] == "V" else spec[0]
    )


# ----------------------------------------------------------------------------
# reports


# ----------------------------------------------------------------------------
# a compiled entry


class _Entry:
    """One cached compilation: the trace's bindings and the generated program."""

    def __init__(self, trace: Trace, out_spec, program, report, n_user_outputs, leaves):
        self.trace = trace
        self.out_spec = out_spec
        self.program = program
        self.report = report
        self.n_user_outputs = n_user_outputs
        leaf_index = {}
        for i, t in enumerate(leaves):
            leaf_index.setdefault(id(t), i)
        self.leaf_index = leaf_index
        self.lifted = [(p.real, tuple(p.real.shape), p.real.dtype, p.real.requires_grad) for p in trace.lifted]
        # .grad reads: of an argument they follow the argument (a new tensor each call)
        self.grad_inputs = [(self._target(real), node) for real, node in trace.grad_inputs]
        self.grad_none = [self._target(real) for real in trace.grad_none_reads]
        self.value_guards = [(self._target(real), values) for real, values in trace.value_guards]
        self.seed_generators = [gen for _, gen in trace.seeds]
        input_pos = {n.id: i for i, n in enumerate(trace.graph.inputs)}
        self.arg_pos = [input_pos[trace.proxies[id(t)].input_node.id] for t in leaves]
        self.lifted_pos = [input_pos[p.input_node.id] for p in trace.lifted]
        self.grad_pos = [input_pos[node.id] for _, node in trace.grad_inputs]
        self.seed_pos = [input_pos[node.id] for node, _ in trace.seeds]
        self.scalars = [(input_pos[node.id], getter, dtype.numpy_dtype) for node, getter, dtype in trace.scalars]
        self.n_inputs = len(trace.graph.inputs)
        n_out = len(trace.graph.outputs)
        # Targets are ("arg", leaf index) for arguments (a new object each call) or the real tensor.
        self.mutation_targets = [self._target(p.real) for p in trace.mutated]
        self.mutation_pos = [n_out + i for i in range(len(trace.mutated))]
        self.grad_writes = [(self._target(real), where) for real, where in trace.grad_writes]
        self.aot = None  # autograd through the call: see graphc._aot
        self.aot_program = None
        self.aot_targets = []
        self.aliases = [None if a is None else (self._target(a[0]), a[1]) for a in trace.output_aliases]

    def _target(self, real):
        i = self.leaf_index.get(id(real))
        return ("arg", i) if i is not None else real

    def guard_failure(self, arg_tensors) -> str | None:
        for real, shape, dtype, requires_grad in self.lifted:
            if tuple(real.shape) != shape or real.dtype is not dtype:
                return f"a tensor the function reads (shape {list(shape)}) now has shape {list(real.shape)}, dtype {real.dtype}"
            if real.requires_grad != requires_grad:
                return f"a tensor the function reads (shape {list(shape)}) now has requires_grad={real.requires_grad}"
        for real, node in self.grad_inputs:
            g = _resolve(real, arg_tensors)._grad
            if g is None or tuple(g.shape) != tuple(node.shape):
                return "a .grad read by the function is now None or has another shape"
        for real in self.grad_none:
            if _resolve(real, arg_tensors)._grad is not None:
                return "a .grad that was None when the function was traced is now set (it would accumulate)"
        for real, values in self.value_guards:
            data = _resolve(real, arg_tensors)._data
            if data.shape != values.shape or not np.array_equal(data, values, equal_nan=values.dtype.kind in "fc"):
                return "the values of a tensor read while tracing (.item(), .tolist(), a bool mask) changed"
        return None

    def run(self, arg_tensors):
        inputs = [None] * self.n_inputs
        for pos, t in zip(self.arg_pos, arg_tensors):
            inputs[pos] = t._data
        for pos, (real, _, _, _) in zip(self.lifted_pos, self.lifted):
            inputs[pos] = real._data
        for pos, (real, _) in zip(self.grad_pos, self.grad_inputs):
            inputs[pos] = _resolve(real, arg_tensors)._grad._data
        for pos, gen in zip(self.seed_pos, self.seed_generators):
            inputs[pos] = np.int64(_random.next_seed(gen))
        for pos, getter, np_dtype in self.scalars:
            inputs[pos] = np.asarray(getter(), dtype=np_dtype)
        results = self.program(inputs)
        for target, pos in zip(self.mutation_targets, self.mutation_pos):
            target = _resolve(target, arg_tensors)
            np.copyto(target._data, results[pos], casting="unsafe")
            target._version.value += 1
        for real, where in self.grad_writes:
            real = _resolve(real, arg_tensors)
            if where is None:
                real._grad = None
            elif isinstance(where, tuple):
                real._grad = where[1]
            else:
                arr = results[where]
                g = real._grad
                if g is not None and g._data.shape == arr.shape and g._data.flags.writeable and g._data.flags.c_contiguous:
                    np.copyto(g._data, arr)
                    g._version.value += 1
                else:
                    real._grad = Tensor._wrap(arr if hasattr(arr, "to_host") else _writable(arr), real.dtype, real.device)
        # Device arrays (cuda tensors, Triton backend) stay on the device; anything else is numpy.
        outs = [Tensor._wrap(r if hasattr(r, "to_host") else _writable(r), n.dtype, self.trace.device) for r, n in zip(results[: self.n_user_outputs], self.trace.graph.outputs)]
        for i, alias in enumerate(self.aliases):
            if alias is not None:  # an argument or lifted tensor, or a view of one: as eager gives it
                outs[i] = _alias_output(_resolve(alias[0], arg_tensors), alias[1])
        if self.aot is not None:
            targets = [_resolve(t, arg_tensors) for t in self.aot_targets]
            _aot.attach(self.aot, self.aot_program, outs, results, inputs, targets)
        return _unflatten(self.out_spec, outs)


def _writable(r):
    """Outputs are ordinary tensors: a read-only result (a broadcast view) is copied."""
    r = np.asarray(r)
    return r if r.flags.writeable else r.copy()


def _alias_output(real, view_ops):
    """The eager value of an output aliasing ``real``: itself, a detached alias, or a view."""
    if view_ops is None:
        return real
    with no_grad():
        return replay_view(real.detach(), view_ops)


def _resolve(target, arg_tensors):
    """The tensor an entry's target names on this call (``("arg", i)``: the i-th argument)."""
    return arg_tensors[target[1]] if isinstance(target, tuple) else target


# ----------------------------------------------------------------------------
# the decorator


@dataclass
class CacheInfo:
    traces: int
    hits: int
    misses: int
    entries: int
    recompiles: int
    eager_calls: int


class CompiledFunction:
    """A function compiled by :func:`compile` (call it like the original)."""

    def __init__(self, fn, backend=None, warmup: bool = True):
        self.fn = fn
        self.backend = backend
        self.warmup = warmup
        self._cache: dict = {}
        self._warm: set = set()
        self._traces = self._hits = self._misses = self._eager = 0
        self._disabled = False
        self._eager_keys: set = set()  # signatures that cannot be compiled: they run eagerly
        self._warned = False
        self.__name__ = getattr(fn, "__name__", type(fn).__name__)
        self.__doc__ = getattr(fn, "__doc__", None)
        self.__wrapped__ = fn

    def _key(self, args, kwargs):
        if not kwargs and all(type(a) is Tensor for a in args):
            # The common case, kept cheap: positional tensors only (per-call overhead).
            leaves = list(args)
            spec = ("U", (("U", (("T",),) * len(args)), ("D", ())))
            return (spec, tuple(_tensor_key(t) for t in leaves), is_grad_enabled(), _autocast.state_key()), leaves
        leaves = []
        spec = _flatten((args, kwargs), leaves)
        key = (spec, tuple(_tensor_key(t) for t in leaves), is_grad_enabled(), _autocast.state_key())
        return key, leaves

    def cache_info(self) -> CacheInfo:
        """How often this function was traced, hit its cache, and how many entries it has."""
        return CacheInfo(self._traces, self._hits, self._misses, len(self._cache), max(0, self._traces - 1), self._eager)

    def cache_clear(self) -> None:
        self._cache.clear()
        self._warm.clear()
        self._eager_keys.clear()

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        return functools.partial(self.__call__, obj)

    def _explain_miss(self, key) -> str:
        if not self._cache:
            return "first call"
        best = None
        for old in self._cache:
            reasons = []
            if old[0] != key[0]:
                reasons.extend(_spec_diff(old[0], key[0]) or ["the argument structure changed"])
            if old[2] != key[2]:
                reasons.append(f"grad mode changed to {key[2]}")
            if old[3:] != key[3:]:
                reasons.append(f"autocast changed to {key[3] or 'off'}")
            if len(old[1]) == len(key[1]):
                for i, (a, b) in enumerate(zip(old[1], key[1])):
                    for label, x, y in zip(("shape", "dtype", "device", "requires_grad"), a, b):
                        if x != y:
                            reasons.append(f"tensor argument {i}: {label} {x} -> {y}")
            best = reasons if best is None or len(reasons) < len(best) else best
        return "; ".join(best or ["unknown"])

    def __call__(self, *args, **kwargs):
        if self._disabled or _in_trace():
            self._eager += 1
            return self.fn(*args, **kwargs)
        key, leaves = self._key(args, kwargs)
        if key in self._eager_keys:
            self._eager += 1
            return self.fn(*args, **kwargs)
        entry = self._cache.get(key)
        if entry is not None:
            failure = entry.guard_failure(leaves)
            if failure is None:
                self._hits += 1
                return entry.run(leaves)
            log.info("graphc.compile: recompiling %s: guard failed: %s", self.__name__, failure)
            del self._cache[key]
        self._misses += 1
        if self.warmup and key not in self._warm:
            self._warm.add(key)
            self._eager += 1
            return self.fn(*args, **kwargs)
        if self._traces > RECOMPILE_LIMIT:  # the first trace plus RECOMPILE_LIMIT recompiles
            if not self._warned:
                warnings.warn(
                    f"graphc.compile: {self.__name__} was recompiled {RECOMPILE_LIMIT} times; running it "
                    "eagerly from now on. Pass values that change often as tensors, not Python numbers, "
                    "and keep input shapes stable.",
                    RuntimeWarning,
                    stacklevel=2,
                )
                self._warned = True
            self._disabled = True
            self._eager += 1
            return self.fn(*args, **kwargs)
        if self._cache or self._traces:
            log.info("graphc.compile: recompiling %s: %s", self.__name__, self._explain_miss(key))
        entry = self._compile(args, kwargs, leaves)
        if entry is None:
            self._eager_keys.add(key)
            self._eager += 1
            return self.fn(*args, **kwargs)
        self._cache[key] = entry
        return entry.run(leaves)

    def explain(self, *args, **kwargs) -> Report:
        """Compile for this signature (calling the function like a first call would,
        if it has not been compiled yet) and return the :class:`Report`."""
        key, leaves = self._key(args, kwargs)
        for _ in range(3):
            entry = self._cache.get(key)
            if entry is not None:
                return entry.report
            self(*args, **kwargs)
        entry = self._cache.get(key)
        if entry is None:
            raise UnsupportedError(f"{self.__name__} could not be compiled for this signature (see the graphc.compile log)")
        return entry.report

    # -- tracing and compiling ---------------------------------------------------
    def _compile(self, args, kwargs, leaves):
        device = leaves[0].device if leaves else cpu_device()
        t0 = time.perf_counter()
        trace = Trace(self.__name__, device)
        trace.grad_inputs = []
        with tracing(trace):
            traced_leaves = [trace.argument(t, f"arg{i}") for i, t in enumerate(leaves)]
            t_args, t_kwargs = _unflatten(_flatten((args, kwargs), []), traced_leaves)
            try:
                out = self.fn(*t_args, **t_kwargs)
            except TracingError:
                raise
            out_leaves: list = []
            out_spec = _flatten(out, out_leaves)
            # A training step (backward inside) returns its loss as a plain value. Without a
            # backward inside, an output that requires grad needs autograd through the call.
            aot_plan = None
            if is_grad_enabled() and not trace.grad_written and any(o._node is not None and o.requires_grad for o in out_leaves):
                aot_plan, why = _aot.plan_backward(trace, out_leaves)
                if aot_plan is None:
                    log.info("graphc.compile: %s returns a tensor that requires grad and %s; it runs eagerly", self.__name__, why)
                    return None
            trace.finish(out_leaves)
            if aot_plan is not None:
                for i, (kind, node) in enumerate(aot_plan.saved):
                    if kind == "output":
                        trace.graph.outputs.append(node)
                        aot_plan.saved[i] = ("output", len(trace.graph.outputs) - 1)
        self._traces += 1
        t1 = time.perf_counter()
        backend = self.backend or ("triton" if device.type == "cuda" else None)  # the device decides by default
        report = build(trace.graph, self.__name__, _signature(leaves), backend, {"trace": t1 - t0})
        entry = _Entry(trace, out_spec, report._program, report, len(out_leaves), leaves)
        if aot_plan is not None:
            backward = build(aot_plan.backward, self.__name__ + "_backward", _signature(leaves), backend, {})
            entry.aot, entry.aot_program = aot_plan, backward._program
            entry.aot_targets = [entry._target(r) for r in aot_plan.diff_reals]
            report.backward = backward
        _debug_log(report)
        return entry


def _in_trace() -> bool:
    return _state.active_tracer() is not None


def _signature(leaves) -> str:
    return "(" + ", ".join(f"{t.dtype.short}{list(t.shape)}" for t in leaves) + ")"


def compile(fn=None, *, backend: str | None = None, warmup: bool = True, **options):
    """Compile a function (or a callable such as a Module) into fused, cached kernels.

    >>> @graphc.compile
    ... def f(x, y):
    ...     return (x * y).relu().sum()

    ``backend``: ``'numpy'`` (CPU) or ``'triton'``; by default the tensors'
    device decides. ``warmup`` (default True): the first call of each new
    signature runs eagerly, so state a training step creates lazily (optimizer
    buffers, ``.grad``) exists as real tensors before tracing; with
    ``warmup=False`` — or PyTorch's ``fullgraph=True`` — the first call traces,
    so a data-dependent ``if``/``.item()`` raises its TracingError at once.
    Other keyword arguments PyTorch accepts (``mode``, ``dynamic``) are
    accepted and ignored.
    """
    if options.get("fullgraph"):
        warmup = False
    if fn is None:
        return lambda f: compile(f, backend=backend, warmup=warmup, **options)
    return CompiledFunction(fn, backend=backend, warmup=warmup)


def trace(fn, *args, **kwargs):
    """Trace ``fn`` on these arguments and return the traced ``ir.Graph`` (nothing runs)."""
    leaves: list = []
    spec = _flatten((args, kwargs), leaves)
    t = Trace(getattr(fn, "__name__", "fn"), leaves[0].device if leaves else cpu_device())
    t.grad_inputs = []
    with tracing(t):
        traced = [t.argument(x, f"arg{i}") for i, x in enumerate(leaves)]
        a, k = _unflatten(spec, traced)
        out = fn(*a, **k)
        outs: list = []
        _flatten(out, outs)
        t.finish(outs)
    return t.graph
