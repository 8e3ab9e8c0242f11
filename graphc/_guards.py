"""What a traced function read of Python state, and the guard code that re-checks it.

A trace bakes in everything the function read besides its tensor arguments: globals
and closure values (``x * scale``), module attributes (``self.training``, a Dropout's
``p``), which parameter object sits at ``model.lin.weight``, the optimizer's
hyper-parameters and state tensors. Python cannot tell us which of these a function
read, so :func:`walk` snapshots what it *can* reach, from its roots:

* the names its code (and the code of the functions it references) loads from its
  globals, and its closure cells;
* the object it is bound to (a method's ``self``, a Module or callable object compiled
  directly) and the non-tensor objects among its arguments;

descending into Modules, optimizers, containers and instances of user classes (not
into stdlib, numpy or graphc internals), within a depth and size budget. Each reached
value becomes a :class:`Check`: identity for objects and tensors, type and value for
Python scalars, length (and keys) for containers.

Checks are split in two groups. Those under a Module (its attributes and its
parameter/buffer/submodule/hook stores) only change through ``Module.__setattr__`` or
those stores, which bump :data:`graphc._epochs.MODULES`: a compiled call re-runs them
only when that counter moved. The others run on every call. Both groups are generated
as straight-line Python per cache entry (:func:`emit`), as Dynamo generates its guard
functions: a replay's guard is a few attribute loads and comparisons, not a walk.

The same snapshot, taken before and after the trace, tells whether the function
changed Python state while it ran (:func:`changed`) — state a replay would not change.
"""

from __future__ import annotations

import math
import sys
import types

import numpy as np

from ._pytree import SCALAR_TYPES
from ._tensor import Tensor

_MISSING = object()  # the journal's "no such global / empty cell"


class _Names(dict):
    """The journal's record of some globals of a module (not the whole dict)."""

MAX_DEPTH = 8  # levels below a root
MODULE_STATE = "module state: "  # how an entry traced for another module state says so
MAX_CHECKS = 4000  # checks per snapshot
MAX_ITEMS = 64  # items of a container walked into (larger ones: identity and length)
MAX_ARRAY_BYTES = 4096  # numpy arrays up to this size are guarded by value, larger by identity

# The optimizer reads these through graphc._dispatch.dynamic_scalar (Optimizer._lr/_hyper): a
# per-call input, not a baked constant (a scheduler changes them without a retrace). For a tuple,
# the positions read that way; the others are guarded by value.
DYNAMIC_KEYS = frozenset({"lr", "momentum"})
DYNAMIC_ITEMS = {"betas": frozenset({0})}  # Adam's beta1, cycled by CyclicLR/OneCycleLR
# Dynamic keys whose zero-ness the step's Python branches on (SGD's ``if momentum != 0``,
# RMSprop's ``if momentum > 0``: whether a momentum buffer is updated at all): guarded by
# whether they are 0 (kind "nz"), their value staying a per-call input.
ZERO_KEYS = frozenset({"momentum"})

# What a Module's behaviour depends on besides its public attributes.
_MODULE_STORES = frozenset(
    {
        "_parameters",
        "_buffers",
        "_modules",
        "_forward_hooks",
        "_forward_pre_hooks",
        "_forward_hooks_with_kwargs",
        "_forward_pre_hooks_with_kwargs",
        "_non_persistent_buffers_set",
    }
)
# Module attributes always guarded (graphc's layers read `training` in code that may not run
# in a given mode: a Dropout in eval mode still depends on it).
_ALWAYS_READ = _MODULE_STORES | {"training"}
_OPAQUE_MODULES = frozenset(sys.stdlib_module_names) | {"numpy", "networkx", "ir", "backends", "graphc", "builtins"}
_OPAQUE_TYPES = (type, types.ModuleType, types.BuiltinFunctionType, np.ndarray, np.generic, np.dtype)


class Check:
    """One value a trace may depend on: how to reach it from its parent, and what it was."""

    __slots__ = ("id", "parent", "access", "key", "name", "kind", "value", "module", "optional")

    def __init__(self, id_, parent, access, key, name, kind, value, module):
        self.optional = False  # an object's attribute: guarded only if the trace could read it
        self.id = id_  # position in the snapshot; the variable v<id> in generated code
        self.parent = parent  # id of the parent check, or None for a root
        self.access = access  # "root" | "global" | "cell" | "rattr" | "attr" | "item" | "fglobal" | "fcell"
        self.key = key  # the attribute name, item key, cell or the root object
        self.name = name  # readable path for log messages: model.fc1.weight
        self.kind = kind  # "is" | "eq" | "len" | "arr" | "nz" (whether a number is 0) | "none" (a path)
        self.value = value  # the object (is), the value (eq), (length, keys, obj) (len), (array, copy) (arr)
        self.module = module  # True: under a Module, re-checked when MODULES moves

    def signature(self):
        """What the check compares, for telling two snapshots apart."""
        if self.kind == "is":
            return ("is", id(self.value))
        if self.kind == "len":
            return ("len", self.value[0], self.value[1], id(self.value[2]))
        if self.kind == "eq":
            return ("eq", type(self.value).__name__, _eq_key(self.value))
        if self.kind == "arr":
            return ("arr", id(self.value[0]), self.value[1].tobytes())
        if self.kind == "nz":
            return ("nz", self.value)
        return ("none",)


def _eq_key(v):
    return "nan" if isinstance(v, float) and math.isnan(v) else v


def _is_scalar(v) -> bool:
    if isinstance(v, SCALAR_TYPES) and not isinstance(v, Tensor):
        return True
    return type(v) is tuple and len(v) <= MAX_ITEMS and all(type(x) in SCALAR_TYPES for x in v)


def is_module(obj) -> bool:
    """An nn.Module (duck-typed: the compiler sits below graphc.nn)."""
    d = getattr(obj, "__dict__", None)
    return isinstance(d, dict) and "_parameters" in d and "_modules" in d and "training" in d


def is_optimizer(obj) -> bool:
    d = getattr(obj, "__dict__", None)
    return isinstance(d, dict) and "param_groups" in d and "state" in d and "defaults" in d


def _user_instance(obj) -> bool:
    """An instance of a class the user wrote (walked into), not of stdlib, numpy or graphc."""
    if not isinstance(getattr(obj, "__dict__", None), dict) or isinstance(obj, _OPAQUE_TYPES):
        return False
    mod = (type(obj).__module__ or "").split(".")[0]
    return mod not in _OPAQUE_MODULES


def _user_function(fn) -> bool:
    """A function the user wrote: its globals are walked (graphc's own are not: their
    caches change as they work, and what they read is graphc's business)."""
    mod = (getattr(fn, "__module__", None) or "").split(".")[0]
    return isinstance(fn, types.FunctionType) and mod not in _OPAQUE_MODULES


def code_names(code, out: set | None = None) -> set:
    """Every name ``code`` (and the code objects nested in it) may load from globals."""
    out = set() if out is None else out
    out.update(code.co_names)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            code_names(c, out)
    return out


class Snapshot:
    """The checks reached from a function's roots (see the module docstring)."""

    def __init__(self, journal: bool = False):
        self.checks: list[Check] = []
        # journal: (container, its shallow copy) of every dict, list and object ``__dict__``
        # walked, so that an abandoned trace can put them back (:meth:`restore`)
        self.journal: list | None = [] if journal else None
        self._seen: dict[int, str] = {}
        self._keep: list = []  # objects whose id() is a key of _seen stay alive while walking
        self._pending: list = []  # forward functions of user Module classes met on the way
        self.truncated = False

    # -- building ---------------------------------------------------------------------
    def _add(self, parent, access, key, name, kind, value, module) -> Check | None:
        if len(self.checks) >= MAX_CHECKS:
            self.truncated = True
            return None
        c = Check(len(self.checks), parent, access, key, name, kind, value, module)
        self.checks.append(c)
        return c

    def root(self, obj, name: str) -> None:
        """An object the function is bound to or received: walked from a constant."""
        self._visit(obj, None, "root", obj, name, 0, False)
        self._drain()

    def _drain(self) -> None:
        while self._pending:
            fn = self._pending.pop()
            self.function(fn, fn.__qualname__)

    def function(self, fn, name: str, depth: int = 0, parent=None, module=False) -> None:
        """The globals ``fn``'s code names and its closure cells, as roots (or children)."""
        code = getattr(fn, "__code__", None)
        if code is None or not _user_function(fn):
            return
        if parent is None:
            if id(fn) in self._seen:
                return
            self._seen[id(fn)] = name
            self._keep.append(fn)
        g = getattr(fn, "__globals__", {})
        self._record_names(fn, code)
        base = "" if parent is None else name + "."
        if parent is None:  # default values: fn.__defaults__ = (...) changes what a call computes
            for attr in ("__defaults__", "__kwdefaults__"):
                if getattr(fn, attr, None) is not None:
                    self._visit(getattr(fn, attr), None, "rattr", (fn, attr), f"{name}.{attr}", depth, module)
        for n in sorted(code_names(code)):
            if n in g and not isinstance(g[n], types.ModuleType):
                access = "global" if parent is None else "fglobal"
                self._visit(
                    g[n],
                    parent,
                    access,
                    (g, n) if parent is None else n,
                    f"{base}global {n}" if parent is not None else f"global {n}",
                    depth,
                    module,
                )
        for i, (n, cell) in enumerate(zip(code.co_freevars, fn.__closure__ or ())):
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell (assigned later)
                continue
            access = "cell" if parent is None else "fcell"
            self._visit(value, parent, access, cell if parent is None else i, f"{base}closure {n}", depth, module)
        if parent is None:
            self._drain()

    def _visit(self, obj, parent, access, key, name, depth, module, child_base=None) -> None:
        if _is_scalar(obj):
            self._add(parent, access, key, name, "eq", obj, module)
            return
        c = self._add(parent, access, key, name, "is", obj, module)
        if c is None or isinstance(obj, Tensor) or depth >= MAX_DEPTH:
            return
        if id(obj) in self._seen:
            return  # reached before: its contents are checked there
        self._seen[id(obj)] = name
        self._keep.append(obj)
        if isinstance(obj, np.ndarray) and obj.nbytes <= MAX_ARRAY_BYTES:
            c.kind, c.value = "arr", (obj, obj.copy())  # its values become graph constants
            return
        if isinstance(obj, _OPAQUE_TYPES):
            return
        if is_module(obj):
            forward = getattr(type(obj), "forward", None)
            if _user_function(forward) and id(forward) not in self._seen:
                self._pending.append(forward)
            self._object_dict(obj, c.id, name, depth, module_dict=True)
        elif is_optimizer(obj):
            self._object_dict(obj, c.id, name, depth, module_dict=False)
        elif isinstance(obj, dict):
            self._container(obj, c, name, depth, module, child_base)
        elif isinstance(obj, (list, tuple)):
            self._container(obj, c, name, depth, module)
        elif isinstance(obj, types.FunctionType):
            self.function(obj, name, depth + 1, parent=c.id, module=module)
        elif isinstance(obj, types.MethodType):
            self._visit(obj.__self__, c.id, "attr", "__self__", name + ".__self__", depth + 1, module)
        elif _user_instance(obj):
            self._object_dict(obj, c.id, name, depth, module_dict=False)

    def _object_dict(self, obj, cid, name, depth, module_dict: bool) -> None:
        opt = is_optimizer(obj)
        self.record(vars(obj))
        internal = (type(obj).__module__ or "").split(".")[0] == "graphc"
        for k, v in list(vars(obj).items()):
            if not isinstance(k, str):
                continue
            if internal and k.startswith("_") and k not in _MODULE_STORES:
                continue  # graphc's own bookkeeping (DDP's per-iteration state): not user state
            # A Module's attributes change through __setattr__ or its stores (which bump
            # the module epoch); a plain dict or list it holds may change in place.
            under_module = module_dict and type(v) not in (dict, list)
            start = len(self.checks)
            self._visit_attr(v, cid, k, f"{name}.{k}", depth + 1, under_module, in_optimizer=opt, owner=name)
            if not opt and k not in _ALWAYS_READ and start < len(self.checks):
                self.checks[start].optional = True

    def _visit_attr(self, v, cid, k, name, depth, module, in_optimizer=False, owner="") -> None:
        if in_optimizer and k == "param_groups" and isinstance(v, list):
            c = self._add(cid, "attr", k, name, "len", (len(v), None, v), False)
            if c is None:
                return
            for i, group in enumerate(v[:MAX_ITEMS]):
                g = self._add(c.id, "item", i, f"{name}[{i}]", "len", (len(group), _keys(group), group), False)
                if g is None:
                    return
                for gk, gv in group.items():
                    if gk in DYNAMIC_KEYS:
                        if gk in ZERO_KEYS and type(gv) in (int, float):
                            self._add(g.id, "item", gk, f"{name}[{i}][{gk!r}]", "nz", gv != 0, False)
                        continue
                    if gk in DYNAMIC_ITEMS and isinstance(gv, tuple):
                        t = self._add(g.id, "item", gk, f"{name}[{i}][{gk!r}]", "none", None, False)
                        if t is None:
                            return
                        for j, item in enumerate(gv):
                            if j not in DYNAMIC_ITEMS[gk]:
                                self._visit(item, t.id, "item", j, f"{name}[{i}][{gk!r}][{j}]", depth + 3, False)
                        continue
                    self._visit(gv, g.id, "item", gk, f"{name}[{i}][{gk!r}]", depth + 2, False)
            return
        if _is_store(v):  # model._parameters['weight'] reads as model.weight
            self._visit(v, cid, "attr", k, name, depth, module, child_base=owner)
            return
        self._visit(v, cid, "attr", k, name, depth, module)

    def _container(self, obj, c, name, depth, module, child_base=None) -> None:
        self.record(obj)
        items = list(obj.items()) if isinstance(obj, dict) else list(enumerate(obj))
        # A dict or list may change in place: its length and keys are checked, then its items.
        c.kind, c.value = "len", (len(obj), _keys(obj) if isinstance(obj, dict) else None, obj)
        if len(items) > MAX_ITEMS:
            return
        for k, v in items:
            if child_base is not None and isinstance(k, str):
                label = f"{child_base}.{k}"
            else:
                label = f"{name}[{_key_text(k)}]"
            self._visit(v, c.id, "item", k, label, depth + 1, module)

    # -- the journal --------------------------------------------------------------------
    def record(self, obj) -> None:
        """Keep a shallow copy of a dict or list (a journal snapshot only)."""
        if self.journal is not None and isinstance(obj, (dict, list)):
            self.journal.append((obj, dict(obj) if isinstance(obj, dict) else list(obj)))

    def _record_names(self, fn, code) -> None:
        """Journal the globals ``code`` names (absent ones too: ``global T; T = ...``
        creates one) and ``fn``'s closure cells."""
        if self.journal is None:
            return
        g = getattr(fn, "__globals__", None)
        if isinstance(g, dict):
            self.journal.append((g, _Names((n, g.get(n, _MISSING)) for n in code_names(code))))
        for cell in fn.__closure__ or ():
            try:
                self.journal.append((cell, cell.cell_contents))
            except ValueError:
                self.journal.append((cell, _MISSING))

    def restore(self) -> bool:
        """Put every journaled container, global and cell back as it was when recorded (a
        trace that was abandoned ran the function's Python: the state it created or
        rebound -- an optimizer's lazily created buffers, attributes, list entries --
        holds tracers without values, and the eager call that follows must start from the
        state eager would). True if something was put back."""
        if not self.journal:
            return False
        put_back = False
        for obj, copy in reversed(self.journal):
            if isinstance(obj, types.CellType):
                try:
                    now = obj.cell_contents
                except ValueError:
                    now = _MISSING
                if now is not copy:
                    put_back = True
                    if copy is _MISSING:
                        del obj.cell_contents
                    else:
                        obj.cell_contents = copy
            elif type(copy) is _Names:
                for k, v in copy.items():  # a module's globals: only the names recorded
                    if obj.get(k, _MISSING) is not v:
                        put_back = True
                        if v is _MISSING:
                            del obj[k]
                        else:
                            obj[k] = v
            elif isinstance(obj, dict):
                same = len(obj) == len(copy) and all(k in obj and obj[k] is v for k, v in copy.items())
                if not same:
                    put_back = True
                    for k in [k for k in obj if k not in copy]:
                        del obj[k]
                    for k, v in copy.items():
                        if k not in obj or obj[k] is not v:
                            obj[k] = v
            elif len(obj) != len(copy) or any(a is not b for a, b in zip(obj, copy)):
                put_back = True
                obj[:] = copy
        return put_back

    # -- reading ------------------------------------------------------------------------
    def value_of(self, check: Check, values: dict):
        """Evaluate ``check``'s access given its parent's value (for slow-path explanations)."""
        if check.access == "root":
            return check.key
        if check.access == "global":
            g, n = check.key
            return g[n]
        if check.access == "cell":
            return check.key.cell_contents
        if check.access == "rattr":
            return getattr(*check.key)
        parent = values[check.parent]
        if check.access == "attr":
            return parent.__dict__[check.key] if check.key != "__self__" else parent.__self__
        if check.access == "item":
            return parent[check.key]
        if check.access == "fglobal":
            return parent.__globals__[check.key]
        if check.access == "fcell":
            return parent.__closure__[check.key].cell_contents
        raise AssertionError(check.access)

    def first_failure(self, only_module: bool | None = None) -> str | None:
        """The first check that fails now, as a sentence; None if all pass."""
        values: dict = {}
        for c in self.checks:
            if c.parent is not None and c.parent not in values:
                continue  # its parent failed or was not reached
            try:
                v = self.value_of(c, values)
            except Exception:
                return f"{c.name} is gone"
            values[c.id] = v
            if only_module is not None and c.module != only_module:
                continue
            why = _mismatch(c, v)
            if why:
                return f"{c.name} {why}"
        return None

    def describe(self) -> list[tuple[str, tuple]]:
        return [(c.name, c.signature()) for c in self.checks]

    def restrict(self, names) -> Snapshot:
        """The checks the traced code could have read: an object's attribute whose name no
        code that ran while tracing loads (``history`` of ``self.history.append(loss)``
        done outside the compiled function) is not guarded, nor anything below it.
        ``names``: the ``co_names`` of that code, or None (unknown: keep all)."""
        if names is None:
            return self
        out = Snapshot()
        new_id: dict = {}
        for c in self.checks:
            if c.parent is not None and c.parent not in new_id:
                continue
            if c.optional and c.key not in names:
                continue
            d = Check(len(out.checks), new_id.get(c.parent), c.access, c.key, c.name, c.kind, c.value, c.module)
            new_id[c.id] = d.id
            out.checks.append(d)
        out.truncated = self.truncated
        return out


def _is_store(obj) -> bool:
    return type(obj).__name__ == "EpochDict"


def _keys(d):
    keys = tuple(d.keys())
    if all(type(k) in (str, int) for k in keys):
        return keys
    return None  # keys compared by identity through the items' checks


def _key_text(k) -> str:
    if isinstance(k, Tensor):
        return f"<tensor {list(k.shape)}>"
    return repr(k)


def _mismatch(c: Check, v) -> str | None:
    if c.kind == "is":
        return None if v is c.value else f"is another object now ({_short(c.value)} -> {_short(v)})"
    if c.kind == "eq":
        if type(v) is type(c.value) and (v == c.value or (_eq_key(v) == "nan" and _eq_key(c.value) == "nan")):
            return None
        return f"changed from {c.value!r} to {_short(v)}"
    if c.kind == "arr":
        if v is not c.value[0]:
            return "is another array now"
        return None if _same_array(v, c.value[1]) else "changed values"
    if c.kind == "nz":
        if type(v) in (int, float) and (v != 0) is c.value:
            return None
        return f"changed from {'non-zero' if c.value else 'zero'} to {_short(v)}"
    if c.kind == "len":
        n, keys, obj = c.value
        if v is not obj:
            return f"is another {type(obj).__name__} now"
        if len(v) != n:
            return f"changed length from {n} to {len(v) if v is not None else None}"
        if keys is not None and tuple(v.keys()) != keys:
            return f"changed keys from {list(keys)} to {list(v.keys())}"
    return None


def _same_array(a, b) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")


def _short(v) -> str:
    if isinstance(v, Tensor):
        return f"tensor of shape {list(v.shape)}"
    r = repr(v) if _is_scalar(v) else f"<{type(v).__name__}>"
    return r if len(r) < 60 else r[:57] + "..."


def changed(before: Snapshot, after: Snapshot, limit: int = 4) -> list[str]:
    """Names of the values that differ between two snapshots of the same roots."""
    a, b = dict(before.describe()), dict(after.describe())
    out = []
    for name, sig in b.items():
        if a.get(name) != sig:
            out.append(name)
    for name in a:
        if name not in b:
            out.append(name)
    return out[:limit] if limit else out


# ----------------------------------------------------------------------------
# generated checks


def emit(snapshot: Snapshot, consts: dict, prefix: str, module: bool, fail: str, indent: str = "    ") -> list[str]:
    """Lines of Python that check one group of ``snapshot`` (``module``: the checks under
    Modules, else the others) and run ``fail`` (e.g. ``return False``) at the first
    difference. Values the code compares against are added to ``consts``."""
    checks = snapshot.checks
    wanted = {c.id for c in checks if c.module == module and c.kind != "none"}
    if not wanted:
        return []
    needed = set()
    for cid in wanted:  # every ancestor of a wanted check must be evaluated
        c = checks[cid]
        while c is not None and c.id not in needed:
            needed.add(c.id)
            c = checks[c.parent] if c.parent is not None else None
    lines = []
    for c in checks:
        if c.id not in needed:
            continue
        var = f"{prefix}{c.id}"
        parent = f"{prefix}{c.parent}" if c.parent is not None else None
        lines.append(indent + f"{var} = {_access_expr(c, parent, consts, prefix)}")
        if c.id in wanted:
            test = _fail_test(c, var, consts, prefix)
            if test:
                lines.append(indent + f"if {test}: {fail}")
    return lines


def _const(consts: dict, prefix: str, value) -> str:
    name = f"{prefix}k{len(consts)}"
    consts[name] = value
    return name


def _access_expr(c: Check, parent, consts, prefix) -> str:
    if c.access == "root":
        return _const(consts, prefix, c.key)
    if c.access == "global":
        g, n = c.key
        return f"{_const(consts, prefix, g)}[{n!r}]"
    if c.access == "cell":
        return f"{_const(consts, prefix, c.key)}.cell_contents"
    if c.access == "rattr":
        return f"{_const(consts, prefix, c.key[0])}.{c.key[1]}"
    if c.access == "attr":
        return f"{parent}.__self__" if c.key == "__self__" else f"{parent}.__dict__[{c.key!r}]"
    if c.access == "item":
        k = c.key if type(c.key) in (str, int) else _const(consts, prefix, c.key)
        return f"{parent}[{k!r}]" if type(c.key) in (str, int) else f"{parent}[{k}]"
    if c.access == "fglobal":
        return f"{parent}.__globals__[{c.key!r}]"
    if c.access == "fcell":
        return f"{parent}.__closure__[{c.key}].cell_contents"
    raise AssertionError(c.access)


def _fail_test(c: Check, var, consts, prefix) -> str | None:
    if c.kind == "is":
        return f"{var} is not {_const(consts, prefix, c.value)}"
    if c.kind == "eq":
        v = c.value
        if v is None or isinstance(v, bool):
            return f"{var} is not {v!r}"
        if isinstance(v, float) and math.isnan(v):
            return f"type({var}) is not float or {var} == {var}"
        return f"type({var}) is not {_const(consts, prefix, type(v))} or {var} != {_const(consts, prefix, v)}"
    if c.kind == "arr":
        arr, copy = c.value
        return f"{var} is not {_const(consts, prefix, arr)} or not {_const(consts, prefix, _same_array)}({var}, {_const(consts, prefix, copy)})"
    if c.kind == "nz":
        return f"type({var}) not in {_const(consts, prefix, (int, float))} or ({var} != 0) is not {c.value!r}"
    if c.kind == "len":
        n, keys, obj = c.value
        test = f"{var} is not {_const(consts, prefix, obj)} or len({var}) != {n}"
        if keys is not None:
            test += f" or tuple({var}) != {_const(consts, prefix, keys)}"
        return test
    return None
