"""``@graphc.compile``: trace on the first call, optimize, generate code, cache, replay.

Life of a call:

1. Each cached :class:`~graphc._entry.Entry` has a generated guard: is this call one
   it was traced for (arguments, aliasing, the state the trace read, random draws)?
   The first entry whose guard passes replays: its generated ``run`` feeds the
   program the argument buffers, lifted tensors, ``.grad`` values, fresh seeds and
   per-call scalars, writes mutations and ``.grad`` back and wraps the outputs.
2. Otherwise (the first call, or a guard miss) the call *traces* (as torch.compile
   and jax.jit do): the function runs on tracers (:mod:`graphc._tracing`) while its
   Python side effects are watched (:mod:`graphc._sideeffects`) and the Python state
   it can reach is snapshotted before and after (:mod:`graphc._guards`). The graph is
   optimized and compiled (:func:`graphc._pipeline.build`) and the program runs for
   this very call.
3. What the trace found decides what is cached. Nothing unusual: the entry. State
   the function created lazily (an optimizer's momentum buffers, a cache attribute:
   tracers still referenced after the trace, :mod:`graphc._escapes`) or Python state
   it changed: the tracers become real tensors holding the values the program
   computed, and the trace serves this call only — the next call traces again with
   that state in place (a function that changes the same state on every call runs
   eagerly instead). Side effects a replay cannot repeat (a clock, a file, print):
   the first call is faithful, and later calls run eagerly.

Every eager fallback — a side effect, an output autograd cannot go through, the
recompile limit, a dimension that keeps changing — warns once per function and reason
(:class:`CompileWarning`), is counted in :meth:`CompiledFunction.cache_info`, and with
``fullgraph=True`` raises instead. Recompiles log the failed guard on the
``graphc.compile`` logger.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import threading
import time
import warnings
from collections import OrderedDict
from dataclasses import dataclass

from backends import backend_for_device
from ir import dtypes as _dtypes
from ir.errors import AutogradError, TracingError, UnsupportedError

from . import _autocast, _epochs, _escapes, _grad_mode, _guards, _sideeffects, _state
from ._aot import plan_backward
from ._entry import Entry
from ._grad_mode import is_grad_enabled
from ._pipeline import _debug_log, build  # noqa: F401 - build: its home before graphc._pipeline
from ._pytree import containers, flatten, objects, spec_diff, unflatten, written_back
from ._report import KernelInfo, Report  # noqa: F401 - their home before graphc._report
from ._tensor import Tensor
from ._trace_plan import Unsupported, alias_plan, tensor_key, trace_args
from ._trace_plan import plan as make_plan
from ._tracing import Trace, tracing
from .device import cpu_device

log = logging.getLogger("graphc.compile")

RECOMPILE_LIMIT = 8  # traces after the first, per function; then new signatures run eagerly
CACHE_SIZE_LIMIT = 8  # entries kept per function (least recently used dropped)
DYNAMIC_DIM_LIMIT = 4  # sizes of one argument dimension traced before it counts as dynamic
ONESHOT_LIMIT = 8  # traces used for one call only (lazy state), per function
WARM_LIMIT = 64  # signatures remembered by the opt-in warm-up

_ROOT = os.path.dirname(os.path.abspath(__file__)) + os.sep


class CompileWarning(RuntimeWarning):
    """A compiled function (or one signature of it) runs eagerly; the message says why.

    Fix: what the message names — keep shapes stable, pass changing Python numbers as
    tensors, move prints, clocks and file I/O out of the function — or pass
    ``fullgraph=True`` to turn the fallback into an error while you find it."""


@dataclass
class CacheInfo:
    traces: int
    hits: int
    misses: int
    entries: int
    recompiles: int
    eager_calls: int
    eager_reasons: tuple = ()


def _warn(message: str) -> None:
    """Warn at the user's line (the first frame outside graphc)."""
    frame, level = sys._getframe(1), 2  # stacklevel 2: the caller of _warn
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_ROOT):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, CompileWarning, stacklevel=level)


class CompiledFunction:
    """A function compiled by :func:`compile` (call it like the original)."""

    def __init__(
        self, fn, backend=None, *, warmup: bool = False, fullgraph: bool = False, dynamic=None, mode=None, options=None
    ):
        self.fn = fn
        self.backend = None if backend == "inductor" else backend  # PyTorch's default name: the device decides
        self.warmup = warmup
        self.fullgraph = fullgraph
        self.dynamic = dynamic
        self._entries: list = []  # most recently used first
        self._lock = threading.RLock()
        self._warm: OrderedDict = OrderedDict()
        self._eager_sigs: OrderedDict = OrderedDict()  # signature -> why it runs eagerly
        self._eager_reason: str | None = None  # the whole function runs eagerly: why
        self._reasons: dict = {}  # reason -> eager calls
        self._warned: set = set()
        self._dim_sizes: dict = {}  # (leaf, dim) -> sizes traced
        self._dynamic_dims: set = set()
        self._last_oneshot = None
        self._retrace_reason = None
        self._keyed_sites: set = set()  # (name, where) of random draws that steer Python
        self._oneshots = 0
        self._traces = self._hits = self._misses = self._eager = 0
        self._last_report = None
        self.__name__ = getattr(fn, "__name__", type(fn).__name__)
        self.__qualname__ = getattr(fn, "__qualname__", self.__name__)
        self.__doc__ = getattr(fn, "__doc__", None)
        self.__wrapped__ = fn

    # -- the call ------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        if self._eager_reason is not None or _state._STATE.traces:  # inside a trace: inlined
            return self._run_eagerly(args, kwargs, self._eager_reason)
        stale = None
        for entry in self._entries:
            r = entry.guard(args, kwargs)
            if r:
                self._hits += 1
                if entry is not self._entries[0]:
                    self._promote(entry)
                return entry.run(r[0], r[1])
            if r is False or (r == 0 and stale is None):  # False: stale; 0: other module state
                stale = entry
        return self._miss(args, kwargs, stale)

    def _promote(self, entry) -> None:
        with self._lock:
            entries = [e for e in self._entries if e is not entry]
            self._entries = [entry] + entries

    def _run_eagerly(self, args, kwargs, reason=None):
        self._eager += 1
        if reason is not None:
            self._reasons[reason] = self._reasons.get(reason, 0) + 1
        return self.fn(*args, **kwargs)

    def _fallback(self, reason: str, scope: str = "", whole: bool = False):
        """Note an eager fallback: a warning once per reason, or an error with fullgraph."""
        message = f"graphc.compile: {self.__name__} {reason}; {scope or 'it runs eagerly'}"
        if self.fullgraph:
            raise UnsupportedError(message + " (fullgraph=True makes this an error)")
        if reason not in self._warned:
            self._warned.add(reason)
            log.info(message)
            _warn(message)
        if whole:
            self._eager_reason = reason

    def _signature(self, args, kwargs):
        leaves: list = []
        spec = flatten((args, kwargs), leaves)
        aliases = tuple(id(t._version) for t in leaves)
        pattern = tuple(aliases.index(a) for a in aliases)
        sig = (
            spec,
            tuple(tensor_key(t) for t in leaves),
            is_grad_enabled(),
            pattern,
            _autocast.state_key(),
            _dtypes.default_float(),
        )
        return sig, spec, leaves

    def _miss(self, args, kwargs, stale):
        with self._lock:
            for entry in self._entries:  # another thread may have traced it meanwhile
                r = entry.guard(args, kwargs)
                if r:
                    self._hits += 1
                    return entry.run(r[0], r[1])
            if stale is not None and stale in self._entries:
                why = stale.why_stale()
                if not why.startswith(_guards.MODULE_STATE):  # traced for other module state: kept
                    self._entries = [e for e in self._entries if e is not stale]
                stale = "guard failed: " + why
            else:
                stale = None
            self._misses += 1
            sig, spec, leaves = self._signature(args, kwargs)
            reason = self._eager_sigs.get(sig)
            if reason is not None:
                return self._run_eagerly(args, kwargs, reason)
            reason = self._dynamic_reason(sig)
            if reason is not None:
                return self._run_eagerly(args, kwargs, reason)
            if self._traces > RECOMPILE_LIMIT:
                reason = f"was recompiled {RECOMPILE_LIMIT} times"
                self._fallback(
                    reason,
                    "new signatures run eagerly from now on (traced ones still replay). Pass values that change "
                    "often as tensors, not Python numbers, and keep input shapes stable",
                )
                return self._run_eagerly(args, kwargs, reason)
            if self.warmup and sig not in self._warm:
                self._warm[sig] = True
                if len(self._warm) > WARM_LIMIT:
                    self._warm.popitem(last=False)
                return self._run_eagerly(args, kwargs)
            if self._traces:
                why = stale or self._retrace_reason or self._explain_miss(sig)
                log.info("graphc.compile: recompiling %s: %s", self.__name__, why)
            self._retrace_reason = None
            try:
                return self._trace_and_run(args, kwargs, sig, spec, leaves)
            except Unsupported as e:
                self._fallback(str(e), "this signature runs eagerly")
                self._eager_sigs[sig] = str(e)
                if len(self._eager_sigs) > WARM_LIMIT:
                    self._eager_sigs.popitem(last=False)
                return self._run_eagerly(args, kwargs, str(e))

    # -- dynamic dimensions ------------------------------------------------------------------
    def _dynamic_reason(self, sig):
        """A dimension that took more than DYNAMIC_DIM_LIMIT sizes stops being traced:
        calls that differ from the cache only there run eagerly (memory stays bounded)."""
        dims = None
        for entry in self._entries:
            d = _size_diff(entry.signature, sig)
            if d is not None and (dims is None or len(d) < len(dims)):
                dims = d
        if not dims:
            return None
        if all(k in self._dynamic_dims for k, _ in dims):
            return "dynamic dimension " + ", ".join(f"{d} of tensor argument {i}" for (i, d), _ in dims)
        for key, size in dims:
            sizes = self._dim_sizes.setdefault(key, set())
            sizes.add(size)
            if len(sizes) > DYNAMIC_DIM_LIMIT and key not in self._dynamic_dims:
                self._dynamic_dims.add(key)
                i, d = key
                reason = f"dynamic dimension {d} of tensor argument {i}"
                self._fallback(
                    f"saw {len(sizes)} sizes of dimension {d} of tensor argument {i}",
                    "calls with a size not traced yet run eagerly (traced sizes still replay)",
                )
                if all(k in self._dynamic_dims for k, _ in dims):
                    return reason
        return None

    def _explain_miss(self, sig) -> str:
        if not self._entries:
            return "first call"
        best = None
        for entry in self._entries:
            old = entry.signature
            reasons = []
            if old[0] != sig[0]:
                reasons.extend(spec_diff(old[0], sig[0]) or ["the argument structure changed"])
            if old[2] != sig[2]:
                reasons.append(f"grad mode changed to {sig[2]}")
            if old[3] != sig[3]:
                reasons.append("arguments share memory differently")
            if old[4] != sig[4]:
                reasons.append(f"autocast changed to {sig[4] or 'off'}")
            if old[5:] != sig[5:]:
                reasons.append(f"the default dtype changed to {sig[5]}")
            if len(old[1]) == len(sig[1]):
                for i, (a, b) in enumerate(zip(old[1], sig[1])):
                    for label, x, y in zip(("shape", "dtype", "device", "requires_grad"), a, b):
                        if x != y:
                            reasons.append(f"tensor argument {i}: {label} {x} -> {y}")
            if not reasons:
                miss = entry.draw_miss()
                reasons.append(miss or "the Python values or aliasing it was traced for differ")
            best = reasons if best is None or len(reasons) < len(best) else best
        return "; ".join(best or ["unknown"])

    # -- tracing ------------------------------------------------------------------------------
    def _roots(self, spec, journal: bool = False) -> _guards.Snapshot:
        snap = _guards.Snapshot(journal)
        fn = self.fn
        if isinstance(fn, functools.partial):
            for i, a in enumerate(fn.args):
                if not isinstance(a, Tensor):
                    snap.root(a, f"partial arg {i}")
            if fn.keywords:  # the partial's own dict: p.keywords["k"] = v changes the call
                snap.root(fn.keywords, "partial keywords")
            fn = fn.func
        if hasattr(fn, "__func__") and hasattr(fn, "__self__"):  # a bound method
            snap.root(fn.__self__, "self")
            snap.function(fn.__func__, self.__name__)
        elif hasattr(fn, "__code__"):
            snap.function(fn, self.__name__)
        else:  # a callable object, a Module
            snap.root(fn, self.__name__)
            call = getattr(type(fn), "forward", None) or getattr(type(fn), "__call__", None)
            if hasattr(call, "__code__"):
                snap.function(call, type(fn).__name__)
        for i, obj in enumerate(objects(spec, [])):
            snap.root(obj, f"argument object {i}")
        return snap

    def _trace_and_run(self, args, kwargs, sig, spec, leaves):
        aliases, reps, roots = alias_plan(leaves)
        before = self._roots(spec, journal=True)  # also what an abandoned trace puts back
        grad_mode = is_grad_enabled()
        while True:
            recorder = _sideeffects.Recorder(self._keyed_sites)
            _grad_mode._set(grad_mode)  # an abandoned trace may have changed it
            try:
                return self._trace_once(args, kwargs, sig, spec, leaves, aliases, reps, roots, before, recorder)
            except _sideeffects.DrawUsed as e:
                recorder.restore_generators()
                draw = recorder.draws[e.index]
                site = (draw.name, draw.where)
                if isinstance(draw.result, int) and site not in self._keyed_sites and not recorder.refused:
                    # An integer draw steers Python (range(), an index): trace again with
                    # its value as part of the cache key.
                    self._keyed_sites.add(site)
                    log.info(
                        "graphc.compile: %s: random.%s() at %s steers Python; its value keys the trace",
                        self.__name__,
                        draw.name,
                        draw.where,
                    )
                    continue
                self._fallback(f"uses the value of a random draw at {draw.where} in Python ({e.what}())", whole=True)
            except _sideeffects.DrawFallback as e:
                recorder.restore_generators()
                where = next(d.where for d in recorder.draws if d.mode == "input")
                self._fallback(
                    f"uses the value of a random draw at {where} in Python ({str(e.args[0]).split(' (at ')[0]})",
                    whole=True,
                )
            except Unsupported:
                recorder.restore_generators()  # the eager call that follows draws them again
                _grad_mode._set(grad_mode)
                raise
            except TracingError:
                recorder.restore_generators()
                raise
            _grad_mode._set(grad_mode)
            return self._run_eagerly(args, kwargs, self._eager_reason)

    def _trace_once(self, args, kwargs, sig, spec, leaves, aliases, reps, roots, before, recorder):
        """One trace of this call, its program built and run; raises what makes it fail.
        A trace abandoned before its program ran is undone (:meth:`_abandon`)."""
        device = leaves[0].device if leaves else cpu_device()
        t0 = time.perf_counter()
        trace = Trace(self.__name__, device)
        trace.started = t0
        try:
            return self._trace_body(trace, args, kwargs, sig, spec, leaves, aliases, reps, roots, before, recorder)
        except BaseException:
            if not trace.ran:
                self._abandon(trace, before)
            raise

    def _abandon(self, trace, before) -> None:
        """Undo what an abandoned trace left in Python state (an in-place shape change, a
        TracingError, a fallback decided after the function ran, a retrace for a random
        draw): the function ran on tracers, so the state it created or rebound -- lazily
        created optimizer buffers, attributes, module buffers, list and dict entries --
        holds tracers without values. The journal puts back what it recorded before the
        trace; tracers still held elsewhere are removed from their dicts and lists. The
        call then runs eagerly (or raises) from the state eager starts from."""
        trace.restore_reads()
        _escapes.release(trace)
        put_back = before.restore()
        left = _escapes.survivors(trace)
        removed = _escapes.scrub(left)
        del left
        if put_back or removed:
            _epochs.MODULES.value += 1  # module guards look again
            log.info("graphc.compile: %s: the abandoned trace's Python state was undone", self.__name__)

    def _trace_body(self, trace, args, kwargs, sig, spec, leaves, aliases, reps, roots, before, recorder):
        trace.pin = True  # seeds drawn and per-call scalars read in eager's order (Trace.pin)
        recorder.trace = trace
        user_exc = None
        with tracing(trace), _sideeffects.recording(recorder):
            traced = trace_args(trace, leaves, aliases, roots)
            t_args, t_kwargs = unflatten(spec, traced)
            # the lists and dicts among the arguments: the function gets rebuilt ones, and
            # what it writes into them is written into the caller's (trace.arg_writes)
            pairs = containers(args, t_args, [])
            for k, v in kwargs.items():
                containers(v, t_kwargs[k], pairs)
            back = {id(t): real for t, real in zip(traced, leaves)}
            back.update((id(n), o) for o, n, _ in pairs)
            del traced
            try:
                out = self.fn(*t_args, **t_kwargs)
            except _sideeffects.DrawUsed:
                raise
            except TracingError as e:
                if any(d.mode == "input" for d in recorder.draws):
                    raise _sideeffects.DrawFallback(e) from e
                raise
            except Unsupported:
                raise
            except Exception as e:
                # The function raised: eager has made the writes before the raise, so the
                # program of what ran makes them too, then the exception propagates.
                user_exc, out = e, None
            trace.arg_writes = written_back(pairs, back) if pairs else []
            del t_args, t_kwargs, pairs, back
            out_leaves: list = []
            out_spec = flatten(out, out_leaves)
            del out
            # the same tensor returned twice comes back as one object twice, as in eager
            out_dups = [next((j for j in range(k) if out_leaves[j] is o), None) for k, o in enumerate(out_leaves)]
            aot_plan = self._plan_autograd(trace, out_leaves) if user_exc is None else None
            trace.finish(out_leaves)
            n_user = len(out_leaves)
            del out_leaves
            if aot_plan is not None:
                for i, (kind, node) in enumerate(aot_plan.saved):
                    if kind == "output":
                        trace.graph.outputs.append(node)
                        aot_plan.saved[i] = ("output", len(trace.graph.outputs) - 1)
        if user_exc is not None:
            try:
                return self._finish_trace(args, kwargs, sig, spec, leaves, aliases, reps, roots, before, recorder,
                                          trace, out_spec, n_user, aot_plan, out_dups, user_exc)
            except Exception:
                raise user_exc from None
        return self._finish_trace(args, kwargs, sig, spec, leaves, aliases, reps, roots, before, recorder, trace,
                                  out_spec, n_user, aot_plan, out_dups, None)

    def _finish_trace(self, args, kwargs, sig, spec, leaves, aliases, reps, roots, before, recorder, trace,
                      out_spec, n_user, aot_plan, out_dups, user_exc):
        """Plan, build and run a finished trace for this call, then decide what to cache."""
        recorder.check_generators()
        self._check_backward_reach(trace)
        after = self._roots(spec)
        changed = _guards.changed(before, after)
        for orig, items in trace.arg_writes:  # eager writes into the caller's own list or dict
            before.record(orig)  # put back if this trace is abandoned after all
            if isinstance(orig, list):
                orig[:] = items
            else:
                orig.clear()
                orig.update(items)
            changed.append(f"a {type(orig).__name__} it was given")
        guarded = after.restrict(recorder.names_read())  # what the code that ran could read
        plan = make_plan(
            trace,
            sig,
            spec,
            leaves,
            aliases,
            reps,
            roots,
            out_spec,
            n_user,
            aot_plan,
            recorder,
            guarded,
            self._backend(trace.device),
        )
        plan.out_dups = out_dups
        plan.grad_mode_after = is_grad_enabled()  # set_grad_enabled() left changed: replays set it too
        effects = list(trace.effects)
        mutated = {id(p.real) for p in trace.mutated}
        if trace.written_reads_at:
            effects.append(f"reads the values of a tensor it writes in place (at {trace.written_reads_at[0]})")
        elif any(id(real) in mutated for real, _ in trace.value_guards):
            effects.append("reads the values of a tensor it writes in place")
        printed = recorder.printed_tensors()
        _escapes.release(trace)
        escaped = _escapes.survivors(trace, exclude=printed)
        extra = escaped + [t for t in printed if t._node is not None]
        first_extra = len(trace.graph.outputs)
        trace.graph.outputs.extend(t._node for t in extra)
        entry = self._build(trace, plan, leaves, aot_plan, time.perf_counter() - trace.started)
        draws = [d.result for d in recorder.draws]
        captured: list = []
        seeds = [trace.pinned_seeds[n.id] for n in trace.graph.inputs if n.id in trace.pinned_seeds]
        result = entry.run_pinned(plan.leaves_now, draws, captured if extra else None, seeds, trace.pinned_scalars)
        trace.ran = True
        for k, t in enumerate(extra):
            _escapes.materialize(t, captured[0][first_extra + k])
        recorder.flush_prints()
        self._traces += 1
        if user_exc is not None:  # nothing cached: the next call traces (and raises) again
            raise user_exc
        self._decide(entry, recorder, escaped, changed, effects)
        return result

    def _plan_autograd(self, trace, out_leaves):
        """Autograd through the call when an output requires grad and no backward ran inside."""
        if not is_grad_enabled() or trace.grad_written:
            return None
        if not any(o._node is not None and o.requires_grad for o in out_leaves):
            return None
        try:
            aot_plan, why = plan_backward(trace, out_leaves)
        except AutogradError as e:
            # an output's history was freed inside the function (autograd.grad without
            # retain_graph after create_graph=True): eager returns it fine and raises only
            # if the caller backpropagates through it, which a compiled backward cannot mirror
            raise Unsupported(
                "returns a tensor that requires grad whose autograd graph the function freed "
                f"(a later backward or autograd.grad without retain_graph=True: {str(e).split(' (')[0]})"
            ) from None
        if aot_plan is None:
            raise Unsupported(f"returns tensors that require grad and {why}")
        return aot_plan

    def _check_backward_reach(self, trace) -> None:
        for key in trace.grad_written:
            real = trace.grad_owner.get(key)
            if real is not None and real._grad_fn is not None:
                raise Unsupported(
                    "runs backward() into a tensor argument that has autograd history from before the call "
                    "(detach it, or call backward outside the compiled function)"
                )

    def _backend(self, device):
        return self.backend or backend_for_device(device.type).name  # the device decides, through the registry

    def _build(self, trace, plan, leaves, aot_plan, trace_time):
        graph = trace.graph
        n_out = len(graph.outputs)
        plan.mutations = [(target, n_out + i) for i, target in enumerate(plan.mutations)]
        backend = self._backend(trace.device)
        report = build(graph, self.__name__, _signature_text(leaves), backend, {"trace": trace_time})
        aot_program = None
        if aot_plan is not None:
            backward = build(aot_plan.backward, self.__name__ + "_backward", _signature_text(leaves), backend, {})
            aot_program = backward._program
            report.backward = backward
        _debug_log(report)
        self._last_report = report
        return Entry(plan, report._program, report, aot_program)

    def _decide(self, entry, recorder, escaped, changed, effects=()) -> None:
        """Cache the entry, use it for this call only, or make the function run eagerly."""
        if effects:
            what = effects[0]
            if what.startswith("reads the values"):
                reason = f"{what}, so a replay would retrace on every call"
            else:
                reason = f"calls {what}, which a compiled replay would not repeat"
            self._fallback(reason, "it runs eagerly from now on", whole=True)
            return
        if recorder.refused:
            what = recorder.refused[0]
            self._fallback(
                f"calls {what}, which a compiled replay would not repeat", "it runs eagerly from now on", whole=True
            )
            return
        if recorder.print_sites:
            where = recorder.print_sites[0]
            self._fallback(
                f"calls print() at {where}, which a compiled replay would not repeat",
                "it runs eagerly from now on",
                whole=True,
            )
            return
        if escaped or changed:
            what = ", ".join(changed) if changed else _escapes.describe(escaped)
            key = (entry.report.traced.structural_hash(), frozenset(changed))
            last = self._last_oneshot
            self._oneshots += 1
            # The same graph changing the same state again: it does so on every call.
            again = last is not None and last[0] == key[0] and (bool(last[1] & key[1]) or not (last[1] or key[1]))
            if again or self._oneshots > ONESHOT_LIMIT:
                self._fallback(
                    f"changes Python state on every call ({what}), which a compiled replay would not",
                    "it runs eagerly from now on",
                    whole=True,
                )
                return
            self._last_oneshot = key
            self._retrace_reason = f"the previous call created or changed state ({what})"
            log.info(
                "graphc.compile: %s created or changed state (%s); the next call traces again", self.__name__, what
            )
            return
        self._last_oneshot = None
        entries = [entry] + self._entries
        if len(entries) > CACHE_SIZE_LIMIT:
            entries = entries[:CACHE_SIZE_LIMIT]
        self._entries = entries
        for i, (shape, *_rest) in enumerate(entry.signature[1]):
            for d, size in enumerate(shape):
                sizes = self._dim_sizes.setdefault((i, d), set())
                if len(sizes) <= DYNAMIC_DIM_LIMIT:
                    sizes.add(size)

    # -- introspection ---------------------------------------------------------------------
    def cache_info(self) -> CacheInfo:
        """How often this function traced, replayed and ran eagerly (and why)."""
        reasons = tuple(self._reasons)
        return CacheInfo(
            self._traces, self._hits, self._misses, len(self._entries), max(0, self._traces - 1), self._eager, reasons
        )

    def cache_clear(self) -> None:
        with self._lock:
            self._entries = []
            self._warm.clear()
            self._eager_sigs.clear()
            self._eager_reason = None
            self._dim_sizes.clear()
            self._dynamic_dims.clear()
            self._last_oneshot = None

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        return functools.partial(self.__call__, obj)

    def explain(self, *args, **kwargs) -> Report:
        """The :class:`Report` of the compilation for these arguments (calling the function
        once, as a first call would, if it has none yet). Raises UnsupportedError naming
        the reason when this call runs eagerly."""
        sig, _, _ = self._signature(args, kwargs)
        for entry in self._entries:
            if entry.signature == sig:
                return entry.report
        if self._eager_reason is None and sig not in self._eager_sigs:
            before = self._traces
            self(*args, **kwargs)
            if self._traces > before and self._last_report is not None:
                return self._last_report
            for entry in self._entries:
                if entry.signature == sig:
                    return entry.report
        why = self._eager_reason or self._eager_sigs.get(sig) or "see the graphc.compile log"
        raise UnsupportedError(f"{self.__name__} runs eagerly for this signature: {why}")


def _size_diff(old, new):
    """[((leaf, dim), new size)] where two signatures differ only in tensor sizes; None if
    they differ otherwise."""
    if old[0] != new[0] or old[2:] != new[2:] or len(old[1]) != len(new[1]):
        return None
    out = []
    for i, (a, b) in enumerate(zip(old[1], new[1])):
        if a[1:] != b[1:] or len(a[0]) != len(b[0]):
            return None
        out.extend(((i, d), y) for d, (x, y) in enumerate(zip(a[0], b[0])) if x != y)
    return out


def _signature_text(leaves) -> str:
    return "(" + ", ".join(f"{t.dtype.short}{list(t.shape)}" for t in leaves) + ")"


def trace(fn, *args, **kwargs):
    """Trace ``fn`` on these arguments and return the traced ``ir.Graph`` (nothing runs)."""
    leaves: list = []
    spec = flatten((args, kwargs), leaves)
    t = Trace(getattr(fn, "__name__", "fn"), leaves[0].device if leaves else cpu_device())
    with tracing(t):
        traced = [t.argument(x, f"arg{i}") for i, x in enumerate(leaves)]
        a, k = unflatten(spec, traced)
        out = fn(*a, **k)
        outs: list = []
        flatten(out, outs)
        t.finish(outs)
    del a, k, out, outs, traced
    _escapes.release(t)
    kept = _escapes.survivors(t)
    if kept:  # nothing runs here, so lazily created state cannot get its values
        _warn(
            f"graphc.trace: {getattr(fn, '__name__', 'the function')} kept {_escapes.describe(kept)} in Python "
            "objects (state created lazily, such as optimizer buffers); they are tracers without values and "
            "raise when used. Run the function once before tracing it, or call it through graphc.compile"
        )
    return t.graph


__all__ = ["CacheInfo", "CompileWarning", "CompiledFunction", "trace"]
