"""Tracing: run a Python function on tracer tensors and record an ``ir.Graph``.

A tracer is a :class:`~graphc.Tensor` with ``_data = None`` and an IR node in
``_node``. While a :class:`Trace` is active in a thread (:class:`tracing`; the
stack is thread-local, in :mod:`graphc._state`), :func:`graphc._dispatch.apply`
asks it to record each op as a node (:meth:`Trace.add_node`) instead of running
it, and does the rest of the bookkeeping (views, ``grad_fn``) as it does
eagerly. The trace also:

* lifts *real* tensors the function reaches (closures, globals, module
  parameters, optimizer state) to implicit graph inputs, by identity, through
  one proxy tracer each;
* functionalizes in-place ops: writing into a tracer rebinds its node (and,
  through a view, its base's node), and a write into a lifted tensor becomes a
  graph *mutation*;
* shadows ``.grad`` of real tensors, so ``loss.backward()`` and
  ``optimizer.step()`` inside the function read and write traced gradients,
  and their final values become graph outputs written back on replay;
* turns each random op's seed into a graph input, fed a fresh seed per call.

Autograd inside the trace is the eager engine running on tracers: its
gradient ops are recorded like any other op, so ``backward()`` puts the
backward graph into the same graph.
"""

from __future__ import annotations

import weakref

import numpy as np

from backends.numpy.kernels import run_op
from ir import dtypes as dt
from ir import ops as ops_table
from ir.errors import TracingError, user_location
from ir.graph import Graph
from ir.ops.movement import contiguous_strides

from . import _state
from . import random as _random
from ._dispatch import apply, replay_view
from ._grad_mode import is_grad_enabled, no_grad
from ._inplace import _check_leaf, _preserve_saved, note_writes
from ._tensor import Tensor
from .device import cpu_device


class TracedFloatNumber(Tensor):
    """A 0-d tracer standing for a Python float read on every call (a learning rate): it holds
    the float at full precision and promotes like a Python number (``ir.dtypes.result_type``
    reads ``weak_scalar``)."""

    __slots__ = ()
    weak_scalar = 1.0


class TracedIntNumber(Tensor):
    """A 0-d tracer standing for a Python int read on every call (see TracedFloatNumber)."""

    __slots__ = ()
    weak_scalar = 1


_NUMBER_TRACERS = {dt.FLOATING: TracedFloatNumber, dt.INTEGER: TracedIntNumber}


class _Proxy:
    """Book-keeping for one real tensor lifted into the trace."""

    __slots__ = ("real", "tracer", "input_node", "index")

    def __init__(self, real, tracer, input_node, index):
        self.real, self.tracer, self.input_node, self.index = real, tracer, input_node, index


class Trace:
    """The state of one tracing run (see the module docstring)."""

    def __init__(self, name: str, device=None):
        self.graph = Graph(name)
        self.device = device or cpu_device()
        self.args: list = []  # (real tensor or None, input node) for explicit tensor arguments
        self.proxies: dict[int, _Proxy] = {}  # id(real) -> proxy (arguments and lifted)
        self.lifted: list[_Proxy] = []
        self.seeds: list = []  # (input node, generator)
        self.scalars: list = []  # (input node, getter, dtype): Python numbers read per call
        self.scalar_getters: dict = {}  # input node id -> getter, for cast_scalar
        self.scalar_casts: dict = {}  # (input node id, dtype) -> the input node of the converted number
        self.grads: dict[int, object] = {}  # id(real) -> traced/real/None grad value
        self.grad_owner: dict[int, Tensor] = {}
        self.grad_written: set = set()
        # grads set to None during the trace (zero_grad): eager's next backward makes a new
        # tensor, so replay rebinds .grad instead of copying into the old one
        self.grad_cleared: set = set()
        self.grad_inputs: list = []  # (real tensor, input node): .grad values read
        self.grad_none_reads: list = []  # real tensors whose .grad was read as None
        self.value_guards: list = []  # (real tensor, its values when read while tracing)
        self._value_guarded: set = set()
        self.real_by_tracer: dict[int, Tensor] = {}
        self.views: dict[int, list] = {}  # id(base tracer) -> tracers viewing it (for writes)
        self.draw_inputs: list = []  # (input node, draw index, dtype): random draws fed per call
        self.arg_lifted: list = []  # (argument proxy, real): a tensor read both ways
        self.made: list = []  # weak references to every tracer (escapes: graphc._escapes)
        self.effects: list = []  # side effects a replay would not repeat (graphc._state.note_effect)
        # A compiled function's trace draws its random seeds and reads its per-call scalars while
        # tracing, in the order eager would (pinned: the traced call's program runs with them,
        # so a scheduler step or an RNG call inside the function is seen in order).
        self.pin = False
        self.pinned_seeds: dict = {}  # seed input node id -> seed
        self.pinned_scalars: dict = {}  # id(getter) -> (getter, value read while tracing)
        self.rng_saved: dict = {}  # id(generator) -> (generator, its state before the trace drew)
        self._written_reads: dict = {}  # id(real) -> (real, its data before the trace) (guard_values)
        self.written_reads_at: list = []  # where the function read values it had written
        self.arg_writes: list = []  # (a list or dict argument, its items after the call)
        self.ran = False  # its program ran for the call that traced (else: abandoned)

    # -- tracers -----------------------------------------------------------------
    def _tracer(self, node, requires_grad=False, cls=Tensor) -> Tensor:
        t = cls._wrap(None, node.dtype, self.device)
        t._node = node
        t._trace = self
        t._requires_grad = requires_grad
        self.made.append(weakref.ref(t))
        return t

    def argument(self, real: Tensor, name: str) -> Tensor:
        """The tracer for an explicit tensor argument.

        A tensor that requires grad is a differentiable input whether it is a leaf or
        not: a compiled call's backward reaches the history it was computed with."""
        if id(real) in self.proxies:
            return self.proxies[id(real)].tracer
        node = self.graph.add_input(tuple(real.shape), real.dtype, name)
        tracer = self._tracer(node, real.requires_grad)
        tracer._hooks = real._hooks  # a leaf's grad hooks fire in the traced backward too
        proxy = _Proxy(real, tracer, node, len(self.graph.inputs) - 1)
        self.proxies[id(real)] = proxy
        self.real_by_tracer[id(tracer)] = real
        self.args.append(proxy)
        return tracer

    def argument_view(self, real: Tensor, base: Tensor, view_ops) -> Tensor:
        """The tracer for an argument that views another argument's memory (``f(x, x[:2])``):
        the same view of ``base``'s tracer, so writes through either reach both."""
        with_grad = real.requires_grad
        tracer = replay_view(base, view_ops) if view_ops else self.detach(base)
        if with_grad and not tracer.requires_grad:
            tracer._requires_grad = True
        self.proxies[id(real)] = _Proxy(real, tracer, None, None)
        self.real_by_tracer[id(tracer)] = real
        return tracer

    def draw_input(self, index: int, value, dtype, cls) -> Tensor:
        """A 0-d input standing for a Python number drawn from ``random`` (graphc._sideeffects):
        replays feed a fresh draw."""
        node = self.graph.add_input((), dtype, f"draw{index}")
        self.draw_inputs.append((node, index, dtype))
        return self._tracer(node, cls=cls)

    def lift(self, real: Tensor) -> Tensor:
        """The proxy tracer of a real tensor the function reached without receiving it."""
        proxy = self.proxies.get(id(real))
        if proxy is not None:
            if proxy.index is None or proxy in self.args:
                self.arg_lifted.append((proxy, real))  # guarded: a later call must pass it again
            return proxy.tracer
        if real._data is None:
            raise TracingError(
                "a tracer from another compiled function (or an earlier trace) leaked into this one; "
                f"do not keep tensors computed inside @graphc.compile across calls (at {user_location()})"
            )
        node = self.graph.add_input(tuple(real.shape), real.dtype, f"lifted{len(self.lifted)}")
        tracer = self._tracer(node, real.requires_grad)
        tracer._hooks = real._hooks  # a leaf's grad hooks fire in the traced backward too
        proxy = _Proxy(real, tracer, node, len(self.graph.inputs) - 1)
        self.proxies[id(real)] = proxy
        self.real_by_tracer[id(tracer)] = real
        self.lifted.append(proxy)
        return tracer

    def to_tracer(self, t: Tensor) -> Tensor:
        if t._node is not None:
            if t._trace is not self:
                raise TracingError(
                    f"a tracer of another trace was used here (at {user_location()}); tensors computed "
                    "inside a compiled function must not escape it"
                )
            return t
        return self.lift(t)

    def real_of(self, tracer: Tensor):
        return self.real_by_tracer.get(id(tracer))

    # -- recording -------------------------------------------------------------------
    def add_node(self, opdef, inputs, attrs) -> Tensor:
        """The traced half of :func:`graphc._dispatch.apply`: record op ``opdef`` on
        ``inputs`` (tracers of this trace) as a graph node; its tracer (the graph infers
        and checks its shape and dtype). Views and ``grad_fn`` are the dispatcher's."""
        node = self.graph.add(opdef.name, [t._node for t in inputs], **attrs)
        if _state.in_backward():
            node.meta["phase"] = "backward"
        loc = user_location()
        if loc:
            node.meta["source"] = loc.split(": ", 1)[0].rsplit("/", 1)[-1]
        cls = Tensor
        if inputs and opdef.name != "cast" and all(hasattr(type(t), "weak_scalar") for t in inputs):
            # arithmetic on traced Python numbers stays a Python number (``1 - beta1``)
            cls = _NUMBER_TRACERS.get(node.dtype.category, Tensor)
        return self._tracer(node, cls=cls)

    def note_view(self, view: Tensor) -> None:
        """Remember a view (or detached alias) of a traced base: tracers share no memory,
        so a write into the base or through another view re-derives it (:meth:`write`)."""
        self.views.setdefault(id(view._base), []).append(view)

    def constant(self, value, dtype) -> Tensor:
        node = self.graph.add_constant(value, dtype)
        if _state.in_backward():
            node.meta["phase"] = "backward"
        return self._tracer(node)

    def dynamic_scalar(self, getter) -> Tensor:
        """A 0-d input whose value ``getter()`` is read on every call.

        A Python float is fed whole (float64) and its tracer promotes as a Python number does
        (:class:`TracedFloatNumber`): ``g * lr`` keeps ``g``'s dtype and rounds ``lr`` to it, so a
        float64 step uses the exact learning rate and a float32 one ``float32(lr)``, as eager."""
        value = getter()
        self.pinned_scalars[id(getter)] = (getter, value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            dtype, cls = dt.result_type(value), Tensor
        elif isinstance(value, float):
            dtype, cls = dt.float64, TracedFloatNumber
        else:
            dtype, cls = dt.int64, TracedIntNumber
        node = self.graph.add_input((), dtype, f"scalar{len(self.scalars)}")
        self.scalars.append((node, getter, dtype))
        self.scalar_getters[node.id] = getter
        return self._tracer(node, cls=cls)

    def cast_scalar(self, t: Tensor, dtype) -> Tensor | None:
        """A per-call Python number (:meth:`dynamic_scalar`) in ``dtype``: one more 0-d input fed
        from the same getter, converted on the host (the same rounding as a cast), instead of a
        cast node -- a 0-d cast is a kernel of its own, and an optimizer makes one per parameter.
        None when ``t`` is not such an input (arithmetic on one is cast in the graph)."""
        getter = self.scalar_getters.get(t._node.id)
        if getter is None:
            return None
        key = (t._node.id, dtype)
        node = self.scalar_casts.get(key)
        if node is None:
            node = self.scalar_casts[key] = self.graph.add_input((), dtype, f"scalar{len(self.scalars)}")
            self.scalars.append((node, getter, dtype))
        return self._tracer(node)

    def random_seed(self, generator) -> Tensor:
        node = self.graph.add_input((), dt.int64, f"seed{len(self.seeds)}")
        self.seeds.append((node, generator))
        if self.pin:
            self.pinned_seeds[node.id] = self.draw_seed(generator)
        return self._tracer(node)

    def save_rng(self, generator) -> None:
        """Remember ``generator``'s state before this trace first changes it (restored when
        the trace is abandoned and the call runs eagerly)."""
        gen = generator or _random.default_generator
        if id(gen) not in self.rng_saved:
            self.rng_saved[id(gen)] = (gen, gen._rng.bit_generator.state)

    def draw_seed(self, generator) -> int:
        """A seed drawn now from ``generator``, as eager draws it at this point."""
        self.save_rng(generator)
        return _random.next_seed(generator)

    def restore_rng(self) -> None:
        for gen, state in self.rng_saved.values():
            gen._rng.bit_generator.state = state
        self.rng_saved = {}

    def layout(self, t: Tensor):
        """``(strides, offset)`` in elements that eager would give ``t``, or None (a copy).

        Tracers have no memory: their layout is rebuilt from the root's (a real argument's or
        lifted tensor's own strides, else contiguous) through ``t``'s view ops with the view
        rows' stride rules — the same rules the Triton runtime's device arrays follow, and that
        numpy's views are tested against. ``reshape``/``view``/``contiguous`` ask whether
        eager would copy.
        """
        root = t._base if t._base is not None else t
        real = self.real_of(root)
        shape = tuple(root.shape)
        if real is not None and real._data is not None:
            strides = tuple(real.stride())
        else:
            strides = contiguous_strides(shape)
        offset = 0
        for name, attrs in t._view_ops or ():
            row = ops_table.OPS[name]
            out_shape, _ = row.infer([_Meta(shape)], attrs)
            step = row.strided(shape, strides, offset, attrs, out_shape)
            if step is None:
                return None
            (strides, offset), shape = step, out_shape
        return strides, offset

    def is_contiguous(self, t: Tensor) -> bool:
        lay = self.layout(t)
        if lay is None:
            return False
        shape = tuple(t.shape)
        return all(st == c for st, c, s in zip(lay[0], contiguous_strides(shape), shape) if s != 1)

    def guard_values(self, real: Tensor) -> None:
        """Remember the values of a real tensor read while tracing (``.item()``, a mask):
        they are baked into the graph, so a replay first checks they did not change.

        A lifted tensor this trace has written (``T.add_(1); T.item()``) still holds its old
        values (writes are graph nodes until the program runs): its current value is
        computed from the graph now and read in their place (:meth:`_read_written`)."""
        if self.proxies and self._read_written(real):
            return
        self._guard_data(real, real._data)

    def _guard_data(self, real: Tensor, data) -> None:
        if id(real) not in self._value_guarded and isinstance(data, np.ndarray):
            self._value_guarded.add(id(real))
            self.value_guards.append((real, np.array(data, copy=True)))

    def _read_written(self, real: Tensor) -> bool:
        """Make ``real._data`` hold the value the traced writes gave it (until the trace
        ends: :meth:`restore_reads`), when the trace wrote into it; True if it did. The value
        is computed with the numpy evaluator from the lifted tensors it depends on (their
        values are guarded); a value computed from the arguments or random numbers is data
        the trace does not have: TracingError, as for reading a tracer's values."""
        proxy = self.proxies.get(id(real))
        if proxy is None or proxy.input_node is None:
            for p in self.proxies.values():  # another tensor viewing memory the trace wrote
                if p.real is not real and p.real._version is real._version and p.input_node is not None:
                    if p.tracer._node is not p.input_node:
                        raise TracingError(
                            "reads the values of a tensor that shares memory with one this function "
                            f"wrote in place; read that tensor instead (at {user_location()})"
                        )
            return False
        saved = self._written_reads.get(id(real))
        if proxy.tracer._node is proxy.input_node:
            if saved is not None:  # swapped by an earlier read, its node back to the input
                real._data = saved[1]
            return False
        node = proxy.tracer._node
        needed = _ancestors(node)
        env = {}
        for n in self.graph.inputs:
            if n.id not in needed:
                continue
            p = next((q for q in self.lifted if q.input_node is n), None)
            if p is None:
                raise TracingError(
                    "reads the values of a tensor this function wrote in place from its arguments, random "
                    "numbers or gradients; inside @graphc.compile those have no values. Keep the value as "
                    f"a tensor (graphc.where for a branch) or read it outside the function (at {user_location()})"
                )
            prior = self._written_reads.get(id(p.real))
            env[n.id] = prior[1] if prior is not None else p.real._data
            self._guard_data(p.real, env[n.id])
        for n in self.graph.nodes:
            if n.id in needed and n.id not in env:
                env[n.id] = run_op(ops_table.OPS[n.op], [env[i.id] for i in n.inputs], n.attrs, n.shape, n.dtype)
        if saved is None:
            if not isinstance(real._data, np.ndarray):
                raise TracingError(f"reads the values of a device tensor it wrote in place (at {user_location()})")
            self._written_reads[id(real)] = (real, real._data)
        real._data = np.array(env[node.id], dtype=real._dtype.numpy_dtype).reshape(tuple(real.shape))
        self.written_reads_at.append(user_location().split(": ", 1)[0])
        return True

    def restore_reads(self) -> None:
        """Give the tensors :meth:`_read_written` filled their own values back (the program
        makes the writes when it runs)."""
        for real, data in self._written_reads.values():
            real._data = data
        self._written_reads = {}

    def snapshot(self, t: Tensor) -> Tensor:
        """A tracer of ``t``'s current value that later writes into ``t`` do not change."""
        return self._tracer(t._node)

    def detach(self, t: Tensor) -> Tensor:
        """A tracer of the same value outside autograd; writes through it reach ``t``."""
        out = self._tracer(t._node)
        out._version = t._version
        out._base = t._base if t._base is not None else t
        out._view_ops = t._view_ops if t._base is not None else ()
        self.note_view(out)
        return out

    # -- in-place writes -----------------------------------------------------------
    def assign_data(self, t: Tensor, value: Tensor) -> None:
        """``t.data = value`` while tracing: the values are written into ``t`` (outside
        autograd), so a replay updates the same tensor. Eager rebinds ``t`` to new memory;
        the values every later read sees are the same. A new shape or dtype cannot be
        written in place: it is an error here."""
        if tuple(t.shape) != tuple(value.shape) or t.dtype != value.dtype:
            raise TracingError(
                f"t.data = value inside @graphc.compile changes the tensor's shape or dtype "
                f"({t.dtype}{list(t.shape)} -> {value.dtype}{list(value.shape)}); a compiled function can "
                f"only write new values into it. Use t.copy_(value) under no_grad, or do this outside the "
                f"compiled function. (at {user_location()})"
            )
        with no_grad():
            self.write(t, self.to_tracer(value))


    def write(self, x: Tensor, value: Tensor) -> Tensor:
        """Functionalized ``x[...] = value`` (``value`` already has x's shape and dtype)."""
        target = self.to_tracer(x)
        value = self.to_tracer(value)
        _check_leaf(target, "in-place op")
        if is_grad_enabled() and value._grad_fn is not None:
            # as in eager: ops that saved the old value keep it (e.g. relu_ on a clone)
            _preserve_saved(target, value._grad_fn)
        base = target._base
        if base is None or target._view_ops is None:
            target._node = value._node
        elif target._view_ops == ():
            # a detached alias (.data / .detach()): the base takes the value
            base._node = value._node
            target._node = value._node
        else:
            ids = _view_positions(base, target._view_ops)
            flat_base = apply("reshape", [base], shape=(int(np.prod(base.shape)),))
            flat_value = apply("reshape", [value], shape=(ids.size,))
            idx = self.constant(ids.reshape(-1), dt.int64)
            updated = apply("index_copy", [flat_base, idx, flat_value], axis=0)
            new_base = apply("reshape", [updated], shape=tuple(base.shape))
            base._node = new_base._node
            if is_grad_enabled() and (new_base._grad_fn is not None):
                base._grad_fn = new_base._grad_fn
            v = replay_view(base, target._view_ops)
            target._node = v._node
            value = v
        note_writes(target)
        if is_grad_enabled() and (value.requires_grad or target.requires_grad):
            target._grad_fn = value._grad_fn
        self._refresh_views(base if base is not None else target, target)
        return x

    def _refresh_views(self, base: Tensor, written: Tensor) -> None:
        """Re-derive every other view of ``base`` from its new value: views alias their
        base, so after a write through one of them (or into the base) they all see it."""
        views = list(self.views.get(id(base), ()))
        for v in views:
            if v is written or v._base is not base:
                continue
            if not v._view_ops:  # a detached alias
                v._node = base._node
                continue
            new = replay_view(base, v._view_ops)
            v._node = new._node
            if is_grad_enabled() and new._grad_fn is not None:
                v._grad_fn = new._grad_fn
        if views:
            self.views[id(base)] = views  # not the temporaries made just now

    # -- .grad shadowing ---------------------------------------------------------
    def _real_for_grad(self, t: Tensor):
        if t._node is None:
            return t
        return self.real_of(t)

    def get_grad(self, t: Tensor):
        """``t.grad`` while tracing: the traced value if written, else the real grad lifted."""
        real = self._real_for_grad(t)
        if real is None:
            return t._grad
        key = id(real)
        if key in self.grads:
            return self.grads[key]
        g = real._grad
        if g is None:
            self.grad_none_reads.append(real)  # a guard: on replay it must still be None
            self.grads[key] = None
            self.grad_owner[key] = real
            return None
        node = self.graph.add_input(tuple(g.shape), g.dtype, f"grad{len(self.grad_inputs)}")
        tracer = self._tracer(node)
        self.grad_inputs.append((real, node))
        self.grads[key] = tracer
        self.grad_owner[key] = real
        return tracer

    def set_grad(self, t: Tensor, value) -> None:
        real = self._real_for_grad(t)
        if real is None:
            t._grad = value
            return
        self.grads[id(real)] = value
        self.grad_owner[id(real)] = real
        self.grad_written.add(id(real))
        if value is None:
            self.grad_cleared.add(id(real))

    # -- finishing ---------------------------------------------------------------------
    def _alias_of(self, out: Tensor):
        """``(real, view_ops, grad)`` when output ``out`` is an argument or lifted tensor itself
        (``view_ops`` None), a view of one (``grad``: one autograd tracks), a detached alias
        of one (``view_ops`` ()) or its ``.grad`` (``view_ops`` "grad"): eager returns that
        very tensor, or a view sharing its memory, so replay does too."""
        for key, value in self.grads.items():
            if value is out:  # the .grad of a tensor: eager returns that very tensor
                return (self.grad_owner[key], "grad", False)
        out = self.to_tracer(out)
        if out._base is None:
            real = self.real_of(out)
            return None if real is None else (real, None, False)
        real = self.real_of(out._base)
        if real is None or out._view_ops is None:
            return None
        # a view that requires grad is an autograd view of the argument, as eager's: an
        # in-place write through it rebases the argument's history
        return (real, tuple(out._view_ops), bool(out.requires_grad and out._view_ops and is_grad_enabled()))

    def finish(self, outputs: list) -> None:
        """Set graph outputs: user outputs, then traced grads; record mutations."""
        g = self.graph
        g.outputs = [self.to_tracer(o)._node for o in outputs]
        self.output_aliases = [self._alias_of(o) for o in outputs]
        self.grad_writes = []  # (real tensor, None | output index | ("new", output index) | ("real", tensor))
        grad_input_nodes = {id(real): node for real, node in self.grad_inputs}
        for key, value in self.grads.items():
            changed = value is not None and value._node is not None and value._node is not grad_input_nodes.get(key)
            if key not in self.grad_written and not changed:
                continue
            real = self.grad_owner[key]
            if value is None:
                self.grad_writes.append((real, None))
            elif value._node is not None:
                g.outputs.append(value._node)
                pos = len(g.outputs) - 1
                self.grad_writes.append((real, ("new", pos) if key in self.grad_cleared else pos))
            else:
                # A real tensor assigned as grad: keep it as it is on replay.
                self.grad_writes.append((real, ("real", value)))
        self.mutated = []
        for proxy in list(self.proxies.values()):
            if proxy.input_node is not None and proxy.tracer._node is not proxy.input_node:
                g.mutations.append((proxy.input_node, proxy.tracer._node))
                self.mutated.append(proxy)


def _ancestors(node) -> set:
    """Ids of ``node`` and every node it depends on."""
    seen, stack = set(), [node]
    while stack:
        n = stack.pop()
        if n.id in seen:
            continue
        seen.add(n.id)
        stack.extend(n.inputs)
    return seen


def _view_positions(base: Tensor, view_ops) -> np.ndarray:
    """For each element of a view of ``base``, its flat position in ``base``."""
    ids = np.arange(int(np.prod(base.shape)), dtype=np.int64).reshape(tuple(base.shape))
    for name, attrs in view_ops:
        opdef = ops_table.OPS[name]
        shape, _ = opdef.infer([_Meta(ids.shape)], attrs)
        ids = run_op(opdef, [ids], attrs, shape, dt.int64)
    return np.ascontiguousarray(ids)


class _Meta:
    __slots__ = ("shape", "dtype")

    def __init__(self, shape):
        self.shape = tuple(shape)
        self.dtype = dt.int64


def current() -> Trace | None:
    """The trace active in this thread, or None."""
    return _state.active_tracer()


class tracing:
    """Context manager that makes ``trace`` the active trace of this thread."""

    def __init__(self, trace: Trace):
        self.trace = trace

    def __enter__(self):
        _state.push_tracer(self.trace)
        return self.trace

    def __exit__(self, *exc):
        _state.pop_tracer(self.trace)
        self.trace.restore_reads()
        return False

