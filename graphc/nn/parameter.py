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
        p._view_meta = None
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


def _materialize(t: Tensor, shape, device, dtype, cls) -> None:
    """Give an uninitialized tensor ``t`` storage of ``shape`` (uninitialized values) and make it ``cls``."""
    data = empty(tuple(shape), device=device or t.device, dtype=dtype or t.dtype)
    for slot in _SHARED_SLOTS:
        object.__setattr__(t, slot, getattr(data, slot))
    object.__setattr__(t, "__class__", cls)


class UninitializedParameter(Parameter):
    """A parameter whose shape is not known yet: a lazy module (``nn.LazyLinear``...) holds these
    until its first forward infers the input size and calls :meth:`materialize`, which turns it
    into an ordinary :class:`Parameter` (the same object) of that shape.

    Only its ``dtype``, ``device`` and ``requires_grad`` are meaningful before that.
    """

    __slots__ = ()
    cls_to_become = Parameter

    def __new__(cls, requires_grad: bool = True, device=None, dtype=None):
        p = Parameter.__new__(cls, empty(0, device=device, dtype=dtype), requires_grad)
        return p

    def __init__(self, requires_grad: bool = True, device=None, dtype=None):
        pass

    def materialize(self, shape, device=None, dtype=None) -> None:
        """Allocate ``shape`` (values uninitialized: the module's ``reset_parameters`` fills them)."""
        _materialize(self, shape, device, dtype, self.cls_to_become)

    def __repr__(self) -> str:
        return "<UninitializedParameter>"

    __str__ = __repr__

    def __deepcopy__(self, memo):
        if id(self) not in memo:
            memo[id(self)] = type(self)(self.requires_grad, self.device, self.dtype)
        return memo[id(self)]


class UninitializedBuffer(Tensor):
    """A buffer whose shape is not known yet (a lazy norm layer's running statistics); see
    :class:`UninitializedParameter`. :meth:`materialize` makes it an ordinary tensor."""

    __slots__ = ()
    cls_to_become = Tensor

    def __new__(cls, requires_grad: bool = False, device=None, dtype=None):
        t = empty(0, device=device, dtype=dtype)
        b = cls._wrap(t._data, t._dtype, t._device)
        return b.requires_grad_() if requires_grad else b

    def __init__(self, requires_grad: bool = False, device=None, dtype=None):
        pass

    def materialize(self, shape, device=None, dtype=None) -> None:
        _materialize(self, shape, device, dtype, self.cls_to_become)

    def __repr__(self) -> str:
        return "<UninitializedBuffer>"

    __str__ = __repr__


class Buffer:
    """Marks a tensor to be registered as a buffer when assigned to a module attribute.

    >>> self.running = nn.Buffer(graphc.zeros(3))   # same as register_buffer('running', ...)
    """

    def __init__(self, data=None, *, persistent: bool = True):
        self.data = data
        self.persistent = persistent
