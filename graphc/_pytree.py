"""Arguments and results of a compiled call as a *spec* (their structure) plus a list of
tensor leaves.

A spec is a hashable nested tuple: ``("T",)`` a tensor (the next leaf), ``("L", items)`` a
list, ``("U", items)`` a tuple, ``("N", type, items)`` a namedtuple, ``("D", ((key,
spec), ...))`` a dict, ``("V", type name, value)`` a Python constant and ``("O", ref)``
any other object (compared by identity). ``@graphc.compile`` keys its cache on the spec
of ``(args, kwargs)`` and rebuilds its results from the spec of the traced output.
"""

from __future__ import annotations

from ._tensor import Tensor

SCALAR_TYPES = (bool, int, float, str, complex, bytes, type(None))


def flatten(obj, leaves: list):
    """A hashable spec of ``obj``'s structure; tensors are appended to ``leaves``."""
    if isinstance(obj, Tensor):
        leaves.append(obj)
        return ("T",)
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return ("N", type(obj), tuple(flatten(o, leaves) for o in obj))
    if isinstance(obj, (list, tuple)):
        return ("L" if isinstance(obj, list) else "U", tuple(flatten(o, leaves) for o in obj))
    if isinstance(obj, dict):
        return ("D", tuple((k, flatten(v, leaves)) for k, v in obj.items()))
    if isinstance(obj, SCALAR_TYPES):
        return ("V", type(obj).__name__, obj)
    return ("O", Ref(obj))


class Ref:
    """Another object in the arguments: compared by identity, handed back as it is."""

    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj

    def __eq__(self, other):
        return isinstance(other, Ref) and other.obj is self.obj

    def __hash__(self):
        return id(self.obj)

    def __repr__(self):
        return f"<{type(self.obj).__name__} object at {id(self.obj):#x}>"


def unflatten(spec, leaves, pos=None):
    """Rebuild the structure ``spec`` describes, taking tensors from ``leaves`` in order."""
    if pos is None:
        pos = [0]
    tag = spec[0]
    if tag == "T":
        v = leaves[pos[0]]
        pos[0] += 1
        return v
    if tag == "N":
        return spec[1](*[unflatten(s, leaves, pos) for s in spec[2]])
    if tag in ("L", "U"):
        items = [unflatten(s, leaves, pos) for s in spec[1]]
        return items if tag == "L" else tuple(items)
    if tag == "D":
        return {k: unflatten(s, leaves, pos) for k, s in spec[1]}
    if tag == "V":
        return spec[2]
    if tag == "O":
        return spec[1].obj
    raise TypeError(spec)


def containers(orig, new, out: list) -> list:
    """``(original, rebuilt, copy of rebuilt's items)`` for each list and dict of the
    arguments ``orig`` and their rebuilt counterparts ``new`` (what :func:`unflatten` gave
    the traced function), to find the ones the function changed in place."""
    if isinstance(orig, Tensor):
        return out
    if isinstance(orig, list) and isinstance(new, list) and len(orig) == len(new):
        out.append((orig, new, list(new)))
        for a, b in zip(orig, new):
            containers(a, b, out)
    elif isinstance(orig, dict) and isinstance(new, dict) and len(orig) == len(new):
        out.append((orig, new, dict(new)))
        for k, a in orig.items():
            containers(a, new[k], out)
    elif isinstance(orig, tuple) and isinstance(new, tuple) and len(orig) == len(new):
        for a, b in zip(orig, new):
            containers(a, b, out)
    return out


def written_back(pairs, back: dict) -> list:
    """``(original container, its new items)`` for each rebuilt container (from
    :func:`containers`) the traced function changed; ``back`` maps ``id`` of a rebuilt
    object (a container, an argument's tracer) to the caller's own."""
    out = []
    for orig, new, copy in pairs:
        if isinstance(new, list):
            if len(new) != len(copy) or any(a is not b for a, b in zip(new, copy)):
                out.append((orig, [back.get(id(v), v) for v in new]))
        elif len(new) != len(copy) or any(k not in new or new[k] is not v for k, v in copy.items()):
            out.append((orig, {k: back.get(id(v), v) for k, v in new.items()}))
    return out


def objects(spec, out: list) -> list:
    """The non-tensor objects (``("O", ref)`` parts) of a spec, in order."""
    tag = spec[0]
    if tag == "O":
        out.append(spec[1].obj)
    elif tag in ("L", "U"):
        for s in spec[1]:
            objects(s, out)
    elif tag == "N":
        for s in spec[2]:
            objects(s, out)
    elif tag == "D":
        for _, s in spec[1]:
            objects(s, out)
    return out


def spec_diff(old, new, path="args") -> list:
    """Where two argument specs differ, as readable guard failures."""
    if old == new:
        return []
    if old[0] != new[0] or old[0] in ("T", "O") or (old[0] == "V" and old[1] != new[1]):
        return [f"{path} changed from {spec_text(old)} to {spec_text(new)}"]
    if old[0] == "V":
        return [f"{path} changed value: {old[2]!r} -> {new[2]!r}"]
    if old[0] == "D":
        if [k for k, _ in old[1]] != [k for k, _ in new[1]]:
            return [f"{path} has keys {[k for k, _ in new[1]]}, was {[k for k, _ in old[1]]}"]
        return [r for (k, a), (_, b) in zip(old[1], new[1]) for r in spec_diff(a, b, f"{path}[{k!r}]")]
    items_old, items_new = old[-1], new[-1]
    if len(items_old) != len(items_new):
        return [f"{path} has {len(items_new)} items, was {len(items_old)}"]
    if path == "args" and len(items_old) == 2:  # the (args, kwargs) pair
        return spec_diff(items_old[0], items_new[0], "args") + spec_diff(items_old[1], items_new[1], "kwargs")
    return [r for i, (a, b) in enumerate(zip(items_old, items_new)) for r in spec_diff(a, b, f"{path}[{i}]")]


def spec_text(spec) -> str:
    return {"T": "a tensor", "O": "an object", "L": "a list", "U": "a tuple", "D": "a dict", "N": "a namedtuple"}.get(
        spec[0], f"{spec[1]} {spec[2]!r}" if spec[0] == "V" else spec[0]
    )


def build_expr(spec, names: list, consts: dict, pos=None) -> str:
    """Python source that rebuilds ``spec`` from variables ``names`` (one per tensor leaf,
    in order); objects and namedtuple types it needs are added to ``consts``. The replay
    of a compiled call returns its results through this expression: no walk of the spec."""
    if pos is None:
        pos = [0]
    tag = spec[0]
    if tag == "T":
        name = names[pos[0]]
        pos[0] += 1
        return name
    if tag in ("L", "U"):
        items = [build_expr(s, names, consts, pos) for s in spec[1]]
        if tag == "L":
            return "[" + ", ".join(items) + "]"
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    if tag == "N":
        key = f"NT{len(consts)}"
        consts[key] = spec[1]
        return f"{key}(" + ", ".join(build_expr(s, names, consts, pos) for s in spec[2]) + ")"
    if tag == "D":
        key = f"DK{len(consts)}"
        consts[key] = [k for k, _ in spec[1]]
        items = [f"{key}[{i}]: {build_expr(s, names, consts, pos)}" for i, (_, s) in enumerate(spec[1])]
        return "{" + ", ".join(items) + "}"
    key = f"V{len(consts)}"
    consts[key] = spec[2] if tag == "V" else spec[1].obj
    return key
