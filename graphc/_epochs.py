"""A process-wide counter of changes to ``nn.Module`` structure, read by compile guards.

A compiled function that reaches a model must notice when the model changes between
calls: a parameter replaced (``lin.weight = nn.Parameter(...)``), a submodule swapped,
``train()``/``eval()``, a hook added, an attribute such as ``dropout.p`` rebound. Checking
every attribute of every module on every call would cost more than the call itself, so
``Module`` bumps :data:`MODULES` whenever its attributes or its parameter, buffer,
submodule and hook stores change (:class:`EpochDict` for the stores), and a compiled call
re-checks its module guards only when the counter moved since it last looked.

This module imports nothing from graphc: ``nn.Module`` and the compiler both read it.
"""

from __future__ import annotations

from collections import OrderedDict


class Counter:
    """A mutable integer (one attribute load to read it in a generated guard)."""

    __slots__ = ("value",)

    def __init__(self):
        self.value = 0


#: bumped on every change of a Module's attributes, stores or hooks
MODULES = Counter()


def bump() -> None:
    MODULES.value += 1


class EpochDict(OrderedDict):
    """An OrderedDict that bumps :data:`MODULES` when it changes: a Module's
    ``_parameters``, ``_buffers``, ``_modules`` and hook stores are these, so that code
    writing into them directly (containers, ``load_state_dict(assign=True)``, hooks'
    ``remove()``) is seen by compile guards too. Reads are the plain dict's."""

    __slots__ = ()

    def __setitem__(self, key, value):
        MODULES.value += 1
        OrderedDict.__setitem__(self, key, value)

    def __delitem__(self, key):
        MODULES.value += 1
        OrderedDict.__delitem__(self, key)

    def clear(self):
        MODULES.value += 1
        OrderedDict.clear(self)

    def pop(self, *args):
        MODULES.value += 1
        return OrderedDict.pop(self, *args)

    def popitem(self, last=True):
        MODULES.value += 1
        return OrderedDict.popitem(self, last)

    def update(self, *args, **kwargs):
        MODULES.value += 1
        OrderedDict.update(self, *args, **kwargs)

    def setdefault(self, key, default=None):
        MODULES.value += 1
        return OrderedDict.setdefault(self, key, default)

    def move_to_end(self, key, last=True):
        MODULES.value += 1
        OrderedDict.move_to_end(self, key, last)
