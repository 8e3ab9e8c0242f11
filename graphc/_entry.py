"""One cached compilation of a function, and the two Python functions generated for it.

A compiled call must cost little more than the kernels it runs. So, as Dynamo
generates its guard functions, each :class:`Entry` generates (and ``exec`` s) two
straight-line functions from what the trace recorded:

* ``guard(args, kwargs)``: is this call one the entry was traced for? The argument
  structure, each tensor argument's type, shape, dtype, device and ``requires_grad``,
  grad mode, which arguments share memory (and how), the tensors the function reached
  by itself (shape, dtype, ``requires_grad``), ``.grad`` values it read, values it
  read with ``.item()``, and the Python state it may have read (:mod:`graphc._guards`;
  the part under Modules only when the module epoch moved). Then the random draws it
  made are made again (:mod:`graphc._sideeffects`). Returns ``(leaves, draws)`` to run
  with, ``None`` (another signature: try the next entry), ``0`` (traced for another
  state of the modules, e.g. ``eval()``: kept, it may apply again) or ``False`` (this
  entry is stale: the state it baked in changed; it is dropped).
* ``run(leaves, draws)``: gather the input buffers, run the program, write mutations
  and ``.grad`` values back, wrap the outputs and rebuild the returned structure.

No list of guard objects is walked and nothing is allocated per call beyond the input
list, the results and the output tensors. Both sources are kept (``guard_source``,
``run_source``) for anyone who wants to read what a call checks and does.
"""

from __future__ import annotations

import numpy as np

from ir import dtypes as _dtypes

from . import _aot, _autocast, _epochs, _grad_mode, _layout
from . import random as _random
from ._dispatch import replay_view
from ._grad_mode import no_grad
from ._guards import MODULE_STATE, emit
from ._pytree import build_expr, flatten
from ._tensor import Tensor

MAX_PAIRWISE = 6  # up to this many tensor arguments, aliasing is checked pair by pair


class Entry:
    """A compiled trace: its program and the generated guard and replay (module docstring).

    ``plan`` is the :class:`graphc._compiler.TracePlan` the compiler filled from the
    trace; the entry keeps what replays need and nothing of the trace's argument tensors.
    """

    def __init__(self, plan, program, report, aot_program=None):
        self.report = report
        self.program = program
        self.signature = plan.signature
        self.snapshot = plan.snapshot
        self.draws = plan.draws
        self.module_epoch = [_epochs.MODULES.value]
        self.lifted = [real for real, *_ in plan.lifted]  # the state it reads, kept alive
        consts: dict = {}
        self._const_names: dict = {}
        self.guard_source = self._guard_source(plan, consts)
        self.run_source = self._run_source(plan, consts, aot_program)
        self.guard, self.run, self.check_modules = self._compile(consts)

    def run_pinned(self, leaves, draws, capture, seeds, scalars):
        """``run`` for the call that traced: with the random seeds it drew and the per-call
        scalars it read while tracing (``graphc._tracing.Trace.pin``), which is what eager
        used at those points even if the function changed them afterwards (a scheduler step,
        ``manual_seed``). Only the compiler calls it, before the entry is shared."""
        ns, saved = self._namespace, {}
        try:
            if seeds:
                it = iter(seeds)
                saved["NEXT_SEED"] = ns["NEXT_SEED"]
                ns["NEXT_SEED"] = lambda gen: next(it)
            for key, (_getter, value) in scalars.items():
                name = self._const_names.get(("F", key))
                if name is not None:
                    saved[name] = ns[name]
                    ns[name] = lambda v=value: v
            return self.run(leaves, draws, capture)
        finally:
            ns.update(saved)

    # -- shared pieces -------------------------------------------------------------------
    def _const(self, consts, value, prefix="c") -> str:
        key = (prefix, id(value))
        name = self._const_names.get(key)
        if name is None:
            name = self._const_names[key] = f"{prefix}{len(consts)}"
            consts[name] = value
        return name

    def _target(self, consts, target) -> str:
        """Expression for the tensor a target names on this call."""
        if type(target) is tuple and target[0] == "leaf":
            return f"L[{target[1]}]"
        if type(target) is tuple and target[0] == "root":
            i = target[1]
            return f"(L[{i}]._base if L[{i}]._base is not None else L[{i}])"
        return self._const(consts, target, "R")

    # -- guard -----------------------------------------------------------------------------
    def _guard_source(self, plan, consts) -> str:
        lines = ["def guard(A, K):"]
        n = len(plan.leaves)
        if plan.fast:
            lines.append(f"    if K or len(A) != {n}: return None")
            lines.append("    L = A")
        else:
            lines.append("    L = []")
            lines.append(f"    if FLATTEN((A, K), L) != {self._const(consts, plan.spec, 'S')}: return None")
        c = lambda v, p="c": self._const(consts, v, p)  # noqa: E731
        for i, (typ, shape, dtype, device, requires_grad) in enumerate(plan.leaves):
            lines.append(f"    a = L[{i}]")
            lines.append(f"    if type(a) is not {c(typ, 'T')}: return None")
            lines.append("    d = a._data")
            lines.append(
                f"    if d is None or d.shape != {tuple(shape)!r} or a._dtype is not {c(dtype, 'D')}: return None"
            )
            lines.append(f"    if a._device is not {c(device, 'V')} and a._device != {c(device, 'V')}: return None")
            lines.append(
                f"    if (a._requires_grad or a._grad_fn is not None) is not {bool(requires_grad)}: return None"
            )
        lines.append(f"    if GM.__dict__.get('record', True) is not {bool(plan.grad_mode)}: return None")
        if len(plan.signature) > 5:  # factories and Python floats follow the default dtype
            lines.append(f"    if DTM._default_float is not {c(plan.signature[5], 'D')}: return None")
        if plan.autocast:  # traced under autocast: the same regions must be active
            lines.append(f"    if AC() != {plan.autocast!r}: return None")
        else:  # traced without: any active region misses (regions is empty outside autocast)
            lines.append("    if AS.regions and AC(): return None")
        lines += self._alias_lines(plan, consts)
        for target, real in plan.arg_lifted:  # an argument the function also reached by itself
            lines.append(f"    if {self._target(consts, target)} is not {c(real, 'R')}: return None")
        if plan.lifted_versions and n:
            lv = c(plan.lifted_versions, "LV")
            lines.append(f"    for a in L:\n        if id(a._version) in {lv}: return None")
        # -- state the trace baked in: stale when it differs ---------------------------
        state = []
        for real, shape, dtype, device, requires_grad in plan.lifted:
            r = c(real, "R")
            state.append(f"d = {r}._data")
            state.append(
                f"if d is None or d.shape != {tuple(shape)!r} or {r}._dtype is not {c(dtype, 'D')}: return False"
            )
            state.append(
                f"if ({r}._requires_grad or {r}._grad_fn is not None) is not {bool(requires_grad)}: return False"
            )
        for target, shape in plan.grad_guards:
            state.append(f"g = {self._target(consts, target)}._grad")
            state.append(f"if g is None or tuple(g.shape) != {tuple(shape)!r}: return False")
        for target in plan.grad_none:
            state.append(f"if {self._target(consts, target)}._grad is not None: return False")
        for target, values in plan.value_guards:
            state.append(f"if not SAME_VALUES({self._target(consts, target)}._data, {c(values, 'X')}): return False")
        if plan.snapshot is not None:
            state += emit(plan.snapshot, consts, "p", module=False, fail="return False", indent="")
            if any(ch.module for ch in plan.snapshot.checks):
                # 0, not False: an entry for another module state stays cached (train() after eval())
                state.append("if EPOCH.value != ME[0] and not CHECK_MODULES(): return 0")
        if state:
            # A path that no longer resolves (a key gone, a cell emptied) means stale too.
            lines.append("    try:")
            lines += ["        " + s for s in state]
            lines.append("    except Exception:\n        return False")
        if plan.draws is not None:
            lines.append(f"    draws = {c(plan.draws, 'DP')}.replay()")
            lines.append("    if draws is None: return None")
            lines.append("    return L, draws")
        else:
            lines.append("    return L, None")
        return "\n".join(lines) + "\n"

    def _alias_lines(self, plan, consts) -> list:
        """Arguments that shared memory when traced must share it the same way now; the
        others must not share it at all (their ``_version`` counter is shared by views)."""
        lines = []
        distinct = list(plan.reps)
        for i, a in enumerate(plan.aliases):
            if a is None:
                continue
            kind, j = a[0], a[1]
            root_j = f"(L[{j}]._base if L[{j}]._base is not None else L[{j}])"
            if kind == "root":  # the memory leaf j views (or a detached alias of it)
                lines.append(f"    if L[{i}]._base is not None or L[{i}]._data is not {root_j}._data: return None")
            elif kind == "data":  # the very array of leaf j
                lines.append(f"    if L[{i}]._base is not None or L[{i}]._data is not L[{j}]._data: return None")
            else:  # a view of leaf j's root
                lines.append(f"    if L[{i}]._base is None or L[{i}]._base._data is not {root_j}._data: return None")
                lines.append(f"    if L[{i}]._view_ops != {self._const(consts, a[2], 'VO')}: return None")
        for j in plan.root_leaves:  # the leaf that was its group's root must still be one
            lines.append(f"    if L[{j}]._base is not None: return None")
        if len(distinct) <= 1:
            return lines
        if len(distinct) <= MAX_PAIRWISE:
            pairs = [f"L[{i}]._version is L[{j}]._version" for k, i in enumerate(distinct) for j in distinct[k + 1 :]]
            lines.append(f"    if {' or '.join(pairs)}: return None")
        else:
            idx = self._const(consts, tuple(distinct), "DI")
            lines.append(f"    if len({{id(L[i]._version) for i in {idx}}}) != {len(distinct)}: return None")
        return lines

    # -- replay ------------------------------------------------------------------------------
    def _run_source(self, plan, consts, aot_program) -> str:
        c = lambda v, p="c": self._const(consts, v, p)  # noqa: E731
        scalar_lines, scalar_at = self._scalar_lines(plan, consts)
        lines = ["def run(L, draws, capture=None):", *scalar_lines]
        ins = []
        for src in plan.input_sources:
            kind = src[0]
            if kind in ("leaf", "root"):
                ins.append(f"{self._target(consts, src)}._data")
            elif kind == "real":
                ins.append(f"{c(src[1], 'R')}._data")
            elif kind == "grad":
                ins.append(f"{self._target(consts, src[1])}._grad._data")
            elif kind == "seed":
                ins.append(f"INT64(NEXT_SEED({c(src[1], 'G')}))")
            elif kind == "scalar":
                ins.append(scalar_at[(id(src[1]), np.dtype(src[2]))])
            elif kind == "draw":
                ins.append(f"ASARRAY(draws[{src[1]}], {c(src[2], 'N')})")
            else:
                raise AssertionError(src)
        lines.append(f"    ins = [{', '.join(ins)}]")
        lines.append(f"    res = {c(self.program, 'PROG')}(ins)")
        lines.append("    if capture is not None: capture.append(res)")
        for target, pos in plan.mutations:
            lines.append(f"    m = {self._target(consts, target)}")
            # (a numpy program may have written the new value in place already: then res[pos] is m's array)
            lines.append(f"    if res[{pos}] is not m._data: COPYTO(m._data, res[{pos}], casting='unsafe')")
            lines.append("    m._version.value += 1")
        for target, where in plan.grad_writes:
            t = self._target(consts, target)
            if where is None:
                lines.append(f"    {t}._grad = None")
            elif isinstance(where, tuple) and where[0] == "new":  # cleared in the step: a new tensor, as eager
                lines.append(f"    {t}._grad = NEW_GRAD({t}, res[{where[1]}])")
            elif isinstance(where, tuple):
                lines.append(f"    {t}._grad = {c(where[1], 'R')}")
            else:
                lines.append(f"    WRITE_GRAD({t}, res[{where}])")
        numpy = plan.backend == "numpy"
        dev = c(plan.device, "V")
        names = []
        for k, (pos, dtype) in enumerate(plan.outputs):
            alias = plan.aliases_out[k]
            name = f"o{k}"
            names.append(name)
            dup = plan.out_dups[k] if getattr(plan, "out_dups", None) else None
            if dup is not None:
                lines.append(f"    {name} = o{dup}")
                continue
            if alias is not None:
                target, view_ops, grad = alias
                if view_ops == "grad":  # after the .grad writes above
                    lines.append(f"    {name} = {self._target(consts, target)}._grad")
                elif grad:
                    lines.append(f"    {name} = ALIAS_GRAD({self._target(consts, target)}, {c(view_ops, 'VO')})")
                else:
                    lines.append(f"    {name} = ALIAS({self._target(consts, target)}, {c(view_ops, 'VO')})")
                continue
            lines.append(f"    r = res[{pos}]")
            if numpy:
                lines.append("    if type(r) is not NDARRAY or not r.flags.writeable: r = WRITABLE(r)")
            else:
                lines.append("    if not hasattr(r, 'to_host'): r = WRITABLE(r)")
            lines.append(f"    {name} = WRAP(r, {c(dtype, 'D')}, {dev})")
        if plan.aot is not None:
            targets = "[" + ", ".join(self._target(consts, t) for t in plan.aot_targets) + "]"
            lines.append(
                f"    ATTACH({c(plan.aot, 'AP')}, {c(aot_program, 'BP')}, [{', '.join(names)}], res, ins, {targets})"
            )
        after = getattr(plan, "grad_mode_after", plan.grad_mode)
        if bool(after) is not bool(plan.grad_mode):  # the function left grad mode changed, as eager
            lines.append(f"    SET_GRAD({bool(after)})")
        lines.append(f"    return {build_expr(plan.out_spec, names, consts)}")
        return "\n".join(lines) + "\n"

    def _scalar_lines(self, plan, consts) -> tuple:
        """Per-call Python numbers (a learning rate, a momentum): each getter is called once per
        call, and its value converted to each dtype the program takes it in only when it is not
        the very object converted last time (an optimizer's ``lr`` is the same float from step
        to step). The converted arrays are read-only (a program never writes into them, an
        output that is one is copied) and stored with the value as one tuple, which a thread
        replaces whole, so concurrent calls never pair a value with another's arrays.

        Returns the lines and, per ``(id(getter), dtype)``, the expression of its array."""
        getters: dict = {}  # id(getter) -> (getter, [dtypes])
        for src in plan.input_sources:
            if src[0] == "scalar":
                _, dtypes = getters.setdefault(id(src[1]), (src[1], []))
                if np.dtype(src[2]) not in dtypes:
                    dtypes.append(np.dtype(src[2]))
        scalar_at, lines = {}, []
        for k, (getter, dtypes) in enumerate(getters.values()):
            cache = self._const(consts, [(_NEVER,)], "SC")
            lines.append(f"    s{k} = {self._const(consts, getter, 'F')}()")
            lines.append(f"    e{k} = {cache}[0]")
            lines.append(
                f"    if e{k}[0] is not s{k}: e{k} = {cache}[0] = SCALAR_ARRAYS(s{k}, {self._const(consts, tuple(dtypes), 'N')})"
            )
            for j, d in enumerate(dtypes):
                scalar_at[(id(getter), d)] = f"e{k}[{j + 1}]"
        return lines, scalar_at

    # -- compiling the sources -------------------------------------------------------------
    def _compile(self, consts):
        namespace = {
            "FLATTEN": flatten,
            "GM": _grad_mode._state,
            "AC": _autocast.state_key,
            "AS": _autocast._STATE,
            "EPOCH": _epochs.MODULES,
            "ME": self.module_epoch,
            "SAME_VALUES": _same_values,
            "INT64": np.int64,
            "NEXT_SEED": _random.next_seed,
            "ASARRAY": np.asarray,
            "SCALAR_ARRAYS": _scalar_arrays,
            "COPYTO": np.copyto,
            "WRITE_GRAD": _write_grad,
            "NEW_GRAD": _new_grad,
            "ALIAS": _alias_output,
            "ALIAS_GRAD": replay_view,
            "NDARRAY": np.ndarray,
            "WRITABLE": _writable,
            "WRAP": Tensor._wrap,
            "ATTACH": _aot.attach,
            "SET_GRAD": _grad_mode._set,
            "DTM": _dtypes,
        }
        namespace.update(consts)
        self._namespace = namespace
        modules = ["def check_modules():"]
        if self.snapshot is not None:
            modules += emit(self.snapshot, namespace, "q", module=True, fail="return False")
        modules.append("    ME[0] = EPOCH.value")
        modules.append("    return True")
        self.modules_source = "\n".join(modules) + "\n"
        namespace["CHECK_MODULES"] = None
        exec(compile(self.modules_source, "<graphc-guard-modules>", "exec"), namespace)
        namespace["CHECK_MODULES"] = namespace["check_modules"]
        exec(compile(self.guard_source, "<graphc-guard>", "exec"), namespace)
        exec(compile(self.run_source, "<graphc-replay>", "exec"), namespace)
        return namespace["guard"], namespace["run"], namespace["check_modules"]

    def draw_miss(self) -> str | None:
        """Which random draw made this entry's guard miss last (for the recompile log)."""
        return self.draws.describe_miss() if self.draws is not None else None

    def why_stale(self) -> str:
        """A sentence naming the first state check that fails now (for the recompile log);
        it starts with ``_guards.MODULE_STATE`` when only module state differs."""
        if self.snapshot is not None:
            why = self.snapshot.first_failure(only_module=False)
            if why:
                return why
            why = self.snapshot.first_failure(only_module=True)
            if why:
                return MODULE_STATE + why
        return "a tensor, .grad or value the function read changed (shape, dtype, requires_grad or values)"


_NEVER = object()  # an empty scalar cache's key: no getter returns it


def _scalar_arrays(value, dtypes) -> tuple:
    """``(value, value as a read-only 0-d array of each dtype...)``: the replay's scalar cache.
    Keyed by the value object itself, which is safe because a per-call scalar is a number
    (:meth:`graphc._tracing.Trace.dynamic_scalar` takes nothing else), and numbers cannot
    change in place."""
    arrays = []
    for d in dtypes:
        a = np.array(value, d)
        a.flags.writeable = False
        arrays.append(a)
    return (value, *arrays)


def _same_values(data, values) -> bool:
    return data.shape == values.shape and np.array_equal(data, values, equal_nan=values.dtype.kind in "fc")


def _writable(r):
    """Outputs are ordinary tensors: a read-only result (a broadcast view) is copied."""
    r = np.asarray(r)
    return r if r.flags.writeable else r.copy()


def _write_grad(real, arr) -> None:
    """``real.grad`` after a step that accumulated into it: the same tensor, as eager keeps it."""
    g = real._grad
    if g is not None and g._data.shape == arr.shape and g._data.flags.writeable and g._data.flags.c_contiguous:
        np.copyto(g._data, arr)
        g._version.value += 1
    else:
        real._grad = _new_grad(real, arr)


def _new_grad(real, arr) -> Tensor:
    """A new ``.grad`` tensor on the program's output array."""
    if hasattr(arr, "to_host"):
        return Tensor._wrap(arr, real.dtype, real.device)
    return Tensor._wrap(_layout.grad_layout(real._data, _writable(arr), copy=False), real.dtype, real.device)


def _alias_output(real, view_ops):
    """The eager value of an output aliasing ``real``: itself, a detached alias, or a view."""
    if view_ops is None:
        return real
    with no_grad():
        return replay_view(real.detach(), view_ops)
