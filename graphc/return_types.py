"""The named tuples ops return (``graphc.return_types.max`` ...), as ``torch.return_types``.

They are namedtuples (fields, indexing and unpacking as usual) that print the way PyTorch's
structseqs do, one field per line under the module-qualified name, so a log line of
``x.max(1)`` reads like PyTorch's::

    graphc.return_types.max(
    values=tensor([5., 3.]),
    indices=tensor([1, 0]))

Each class is also an attribute of this module, so results pickle by reference. A leaf
module: it imports nothing from graphc.
"""

from __future__ import annotations

from collections import namedtuple

__all__ = ["structseq"]


def _repr(self) -> str:
    body = ",\n".join(f"{name}={value!r}" for name, value in zip(self._fields, self))
    return f"{type(self).__module__}.{type(self).__name__}(\n{body})"


def structseq(name: str, fields: list[str]) -> type:
    """The result type ``name`` with ``fields``, made once and kept as this module's attribute."""
    existing = globals().get(name)
    if existing is not None:
        if list(existing._fields) != list(fields):
            raise ValueError(f"return type {name} already has fields {existing._fields}")
        return existing
    cls = namedtuple(name, fields, module=__name__)
    cls.__repr__ = _repr
    globals()[name] = cls
    return cls
