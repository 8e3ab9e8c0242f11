"""``Parameter``: a tensor that a :class:`~graphc.nn.Module` registers as a learnable weight."""

from __future__ import annotations

import numpy as np

from .._factories import empty
from .._tensor import Tensor, _rebuild

_SHARED_SLOTS = ("_data", "_dtype", "_device", "_version", "_node", "_trace", "_inference")


class Parameter(Tensor):
    """A leaf tensor that requires grad (by default) and that modules register on assignment.

    It shares memory (and the version counter) with ``data``, as in PyTorch:

    >>> t = graphc.zeros(3)
    >>> p = nn.Parameter(t)
    >>> t.add_(1); p
    Parameter containing:
    tensor([1., 1., 1.], requires_grad=True)
    """

    __slots__ = ()

    def __new__(cls, data=None, requires_grad: bool = True):
        if data is None:
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter(data): data must be a Tensor, got {type(data).__name__}")
        p = object.__new__(cls)
        for slot in _SHARED_SLOTS:
            object.__setattr__(p, slot, getattr(data, slot))
        p._requires_grad = False
        p._grad = None
        p._grad_fn = None
        p._base = None
        p._view_ops = None
        p._accumulator = None
        p._retains_grad = False
        p._hooks = None
        p.requires_grad_(requires_grad)
        return p

    def __init__(self, data=None, requires_grad: bool = True):
        pass

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        data = (
            Tensor._wrap(np.array(self._data, copy=True), self._dtype, self._device)
            if self._data is not None
            else self.detach()
        )
        p = Parameter(data, self._requires_grad)
        if self._grad is not None:
            p._grad = self._grad.__deepcopy__(memo)
        memo[id(self)] = p
        return p

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (np.array(self._host()), self._dtype.name, self._requires_grad))


def _rebuild_parameter(arr, dtype_name, requires_grad):
    return Parameter(_rebuild(arr, dtype_name, False), requires_grad)


class UninitializedParameter(Parameter):
    """Not supported: graphc has no lazy modules."""

    __slots__ = ()

    def __new__(cls, *args, **kwargs):
        raise NotImplementedError("graphc has no lazy modules (UninitializedParameter); give the sizes up front")


class Buffer:
    """Marks a tensor to be registered as a buffer when assigned to a module attribute.

    >>> self.running = nn.Buffer(graphc.zeros(3))   # same as register_buffer('running', ...)
    """

    def __init__(self, data=None, *, persistent: bool = True):
        self.data = data
        self.persistent = persistent
