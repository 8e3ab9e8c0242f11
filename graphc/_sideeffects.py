"""Python side effects inside a compiled function: seen while tracing, replayed or refused.

A trace runs the user's Python once; a replay runs only the graph. Whatever else the
Python did — draw from :mod:`random`, read a clock, print, open a file — would happen
on the first call only, and a compiled function would silently differ from eager.
While a trace runs, :class:`recording` watches those calls (the module-level functions
of ``random`` and ``time``, ``print``, ``open`` and ``input``, when called from the
user's code in the tracing thread) and the :class:`Recorder` decides:

* **random draws are replayed.** Each call is recorded with its arguments and replayed,
  in order, before the program runs on later calls — Python's generator advances
  exactly as eagerly. A draw that returns a number (``random()``, ``uniform``,
  ``gauss``, ``randint``...) becomes a 0-d tracer that promotes like a Python number:
  a graph input fed the fresh draw on every call, as graphc's own seeds are. If Python
  needs its value (``range(4, randint(4, 6))``, ``if random() < p``) the trace stops
  (:class:`DrawUsed`): an integer draw is then traced again as part of the cache key —
  a replay makes the draw and uses the entry traced for that result, or traces one —
  and a float draw makes the function run eagerly. Draws of population elements
  (``choice``, ``sample``, ``choices``) always key the trace.
* **print is deferred** to the end of the first call, with the tensors it was given
  materialized; later calls run eagerly so that every call prints.
* **clocks, sleep, files, input, logging, seeding or shuffling** make the function run
  eagerly from the next call on (the first call already ran them once, as eager).
* draws the recorder could not see (``from random import random``, numpy's global
  generator) are found by comparing the generators' states before and after.

Every fallback is a warning naming the call and the user's line (graphc._compiler).
"""

from __future__ import annotations

import builtins
import functools
import logging
import os
import random
import sys
import sysconfig
import threading
import time
import weakref

import numpy as np

from ir import dtypes as dt
from ir.errors import TracingError

from ._tensor import Tensor

_GRAPHC_ROOTS = tuple(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep + name + os.sep
    for name in ("ir", "graphc", "backends")
)
_STDLIB = tuple({os.path.abspath(sysconfig.get_paths()[k]) + os.sep for k in ("stdlib", "platstdlib")})

# Draws that return an element of a population (the cache key includes the result).
DISCRETE = {"randint", "randrange", "choice", "choices", "sample", "getrandbits"}
# Draws of a continuous value.
CONTINUOUS = {
    "random",
    "uniform",
    "triangular",
    "gauss",
    "normalvariate",
    "lognormvariate",
    "expovariate",
    "vonmisesvariate",
    "gammavariate",
    "betavariate",
    "paretovariate",
    "weibullvariate",
}
# Calls that change the generator or a Python object in ways a replay cannot redo.
REFUSED_RANDOM = {"seed", "setstate", "shuffle", "randbytes", "binomialvariate"}
CLOCKS = {
    "time",
    "time_ns",
    "perf_counter",
    "perf_counter_ns",
    "monotonic",
    "monotonic_ns",
    "process_time",
    "process_time_ns",
    "thread_time",
    "thread_time_ns",
    "sleep",
}

_tls = threading.local()
_patch_lock = threading.Lock()
_patched = [0]  # traces in progress (any thread) that need the patches
_originals: dict = {}


class DrawUsed(TracingError):
    """The value of a traced random draw was needed in Python (``range(r)``, ``if r < p``)."""

    def __init__(self, index: int, what: str):
        super().__init__(f"the value of random draw {index} was needed by {what}()")
        self.index, self.what = index, what


class _TracedDraw(Tensor):
    __slots__ = ()

    def _need_data(self, what: str) -> None:
        rec = getattr(_tls, "recorder", None)
        found = rec.draw_tracers.get(id(self)) if rec is not None else None
        if found is not None and found[1]() is self:
            raise DrawUsed(found[0], what)
        Tensor._need_data(self, what)


class TracedFloat(_TracedDraw):
    """A 0-d tracer standing for a Python float drawn from ``random``: it promotes like a
    Python number (``ir.dtypes.result_type`` reads ``weak_scalar``), so ``x * r`` keeps
    ``x``'s dtype as it does eagerly. Reading its value in Python raises DrawUsed."""

    __slots__ = ()
    weak_scalar = 1.0


class TracedInt(_TracedDraw):
    """A 0-d tracer standing for a Python int drawn from ``random`` (see TracedFloat)."""

    __slots__ = ()
    weak_scalar = 1


class Draw:
    """One call into ``random`` made while tracing."""

    __slots__ = ("name", "fn", "args", "kwargs", "result", "where", "mode", "dtype")

    def __init__(self, name, fn, args, kwargs, result, where, mode, dtype=None):
        self.name, self.fn, self.args, self.kwargs, self.result = name, fn, args, kwargs, result
        self.where, self.mode, self.dtype = where, mode, dtype  # mode: "keyed" | "input"


class DrawFallback(Exception):
    """A traced draw's value was needed in Python: the function runs eagerly."""


def _is_user(frame) -> bool:
    filename = os.path.abspath(frame.f_code.co_filename)
    if filename.startswith(_GRAPHC_ROOTS) or filename.startswith("<frozen"):
        return False
    if filename.startswith(_STDLIB) and "-packages" + os.sep not in filename:
        return False
    return True


def _where(frame) -> str:
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


def _same(a, b) -> bool:
    """Whether a replayed draw's result equals the traced one (objects by identity)."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, (bool, int, float, str, bytes)):
        return a == b
    return False


class Recorder:
    """The side effects of one trace (see the module docstring)."""

    def __init__(self, keyed_sites=frozenset()):
        self.trace = None  # set when the trace starts
        self.keyed_sites = keyed_sites  # (name, where) of draws whose value keys the trace
        self.draw_tracers: dict = {}  # id(tracer) -> (draw index, weak reference to it)
        self.draws: list[Draw] = []
        self.refused: list[str] = []  # "time.time() at f.py:3", in call order
        self.prints: list = []  # (args, kwargs) of print calls, deferred
        self.print_sites: list = []  # where print was called
        self.codes: set | None = None  # code objects that ran while tracing (None: unknown)
        self.random_state = random.getstate()
        self.np_state = np.random.get_state(legacy=False)

    # -- calls seen while tracing -----------------------------------------------------
    def draw(self, name, orig, args, kwargs, where):
        if name in REFUSED_RANDOM:
            self.refused.append(f"random.{name}() at {where}")
            return orig(*args, **kwargs)
        if any(isinstance(a, Tensor) for a in (*args, *kwargs.values())):
            self.refused.append(f"random.{name}() with a tensor argument at {where}")
            return orig(*args, **kwargs)
        result = orig(*args, **kwargs)
        index = len(self.draws)
        number = type(result) in (int, float)
        if number and (name, where) not in self.keyed_sites:
            is_float = isinstance(result, float)
            dtype = dt.float64 if is_float else dt.int64
            self.draws.append(Draw(name, orig, args, kwargs, result, where, "input", dtype))
            t = self.trace.draw_input(index, result, dtype, TracedFloat if is_float else TracedInt)
            self.draw_tracers[id(t)] = (index, weakref.ref(t))
            return t
        self.draws.append(Draw(name, orig, args, kwargs, result, where, "keyed"))
        return result

    def clock(self, name, orig, args, kwargs, where):
        self.refused.append(f"time.{name}() at {where}")
        return orig(*args, **kwargs)

    def log(self, name, orig, args, kwargs, where):
        logger = args[0] if args else None
        if not getattr(logger, "name", "").startswith("graphc"):
            self.refused.append(f"logging (logger {getattr(logger, 'name', '?')!r}) at {where}")
        return orig(*args, **kwargs)

    def builtin(self, name, orig, args, kwargs, where):
        if name == "print":
            self.prints.append((args, kwargs))
            self.print_sites.append(where)
            return None
        self.refused.append(f"{name}() at {where}")
        return orig(*args, **kwargs)

    # -- after the trace --------------------------------------------------------------
    def check_generators(self) -> None:
        """Refuse draws the recorder did not see: replaying the recorded ones from the
        saved state must give the generator's state now."""
        if not any(r.startswith("random.") for r in self.refused):
            replica = random.Random()
            replica.setstate(self.random_state)
            for d in self.draws:
                getattr(replica, d.name)(*d.args, **d.kwargs)
            if replica.getstate() != random.getstate():
                self.refused.append(
                    "Python's random module (a call graphc could not see, e.g. `from random import random`)"
                )
        now = np.random.get_state(legacy=False)
        if (
            now["state"]["key"].tobytes() != self.np_state["state"]["key"].tobytes()
            or now["state"]["pos"] != self.np_state["state"]["pos"]
        ):
            self.refused.append("numpy's global random generator (np.random.*)")

    def restore_generators(self) -> None:
        """Put Python's generator back to where the trace started (before an eager rerun)."""
        random.setstate(self.random_state)
        np.random.set_state(self.np_state)
        if self.trace is not None:  # graphc's own generators, drawn from while tracing
            self.trace.restore_rng()

    def names_read(self):
        """Every name the code that ran while tracing may load (attributes included)."""
        if self.codes is None:
            return None
        names: set = set()
        for code in self.codes:
            names.update(code.co_names)
        return names

    def printed_tensors(self) -> list:
        """Tracers among the arguments of deferred prints (materialized before printing)."""
        out = []
        for args, kwargs in self.prints:
            for a in (*args, *kwargs.values()):
                items = a if isinstance(a, (list, tuple)) else a.values() if isinstance(a, dict) else (a,)
                out.extend(t for t in items if isinstance(t, Tensor) and t._node is not None)
        return out

    def flush_prints(self) -> None:
        orig = _originals.get(("builtins", "print"), builtins.print)
        for args, kwargs in self.prints:
            orig(*args, **kwargs)
        self.prints = []


# ----------------------------------------------------------------------------
# replaying draws


class DrawPlan:
    """The draws of a cached entry, replayed in order before its program runs."""

    __slots__ = ("calls", "draws", "miss")

    def __init__(self, draws):
        self.calls = [(d.fn, d.args, d.kwargs, d.mode == "keyed", d.result) for d in draws]
        self.draws = draws
        self.miss = None  # (index, result) of the last keyed draw that differed

    def replay(self):
        """Make the draws. Returns their results, or None (generator restored) when a keyed
        draw differs from the traced one: this entry does not apply."""
        state = random.getstate()
        results = []
        for i, (fn, args, kwargs, keyed, expected) in enumerate(self.calls):
            r = fn(*args, **kwargs)
            if keyed and not _same(r, expected):
                random.setstate(state)
                self.miss = (i, r)
                return None
            results.append(r)
        return results

    def describe_miss(self) -> str | None:
        if self.miss is None:
            return None
        i, got = self.miss
        d = self.draws[i]
        args = ", ".join([repr(a) for a in d.args] + [f"{k}={v!r}" for k, v in d.kwargs.items()])
        return f"random.{d.name}({args}) at {d.where} gave {got!r}, the trace had {d.result!r}"


# ----------------------------------------------------------------------------
# watching calls while tracing


def _wrapper(module_name, name, orig, kind):
    def watched(*args, **kwargs):
        rec = getattr(_tls, "recorder", None)
        if rec is None:
            return orig(*args, **kwargs)
        frame = sys._getframe(1)
        if kind == "log":  # logging's own frames lead here: the user's line is further out
            while frame is not None and not _is_user(frame) and frame.f_code.co_filename.startswith(_STDLIB):
                frame = frame.f_back
            if frame is None:
                return orig(*args, **kwargs)
        if not _is_user(frame):
            return orig(*args, **kwargs)
        return getattr(rec, kind)(name, orig, args, kwargs, _where(frame))

    functools.update_wrapper(watched, orig)
    watched.__graphc_watched__ = True
    return watched


def _targets():
    for name in sorted(DISCRETE | CONTINUOUS | REFUSED_RANDOM):
        if hasattr(random, name):
            yield random, "random", name, "draw"
    for name in sorted(CLOCKS):
        if hasattr(time, name):
            yield time, "time", name, "clock"
    for name in ("print", "open", "input"):
        yield builtins, "builtins", name, "builtin"
    yield logging.Logger, "logging", "callHandlers", "log"  # a record that reaches handlers


def _install() -> None:
    with _patch_lock:
        _patched[0] += 1
        if _patched[0] > 1:
            return
        for module, mname, name, kind in _targets():
            orig = getattr(module, name)
            if getattr(orig, "__graphc_watched__", False):
                continue
            _originals[(mname, name)] = orig
            setattr(module, name, _wrapper(mname, name, orig, kind))


def _uninstall() -> None:
    with _patch_lock:
        _patched[0] -= 1
        if _patched[0] > 0:
            return
        for module, mname, name, _ in _targets():
            orig = _originals.pop((mname, name), None)
            if orig is not None and getattr(getattr(module, name), "__graphc_watched__", False):
                setattr(module, name, orig)


class recording:
    """While tracing in this thread: watch side effects into ``recorder``, and collect the
    code objects that run (``recorder.codes``: the attribute names they load are what the
    trace could have read of Python objects, see ``graphc._guards.Snapshot.restrict``).
    Under a profiler (``sys.getprofile()`` set) no code is collected (None: every attribute
    reached is guarded)."""

    def __init__(self, recorder: Recorder):
        self.recorder = recorder

    def __enter__(self):
        self._prev = getattr(_tls, "recorder", None)
        _install()
        _tls.recorder = self.recorder
        self._profiling = sys.getprofile() is None
        if self._profiling:
            codes = self.recorder.codes = set()
            add = codes.add

            def profile(frame, event, arg):  # about a third more tracing time
                if event == "call":
                    add(frame.f_code)

            sys.setprofile(profile)
        return self.recorder

    def __exit__(self, *exc):
        if self._profiling:
            sys.setprofile(None)
        _tls.recorder = self._prev
        _uninstall()
        return False
