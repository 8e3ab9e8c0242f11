"""The Tensor: a strided view of a buffer, with autograd and a PyTorch face.

An eager tensor holds a numpy array ``_data`` that *is* a view (buffer,
offset, shape, strides): views made by ``view``, ``transpose``, slicing or
``T`` are numpy views of the same buffer, so in-place ops write through them
and ``numpy()`` / ``from_numpy`` share memory both ways. Views share one
version counter with their base, which autograd uses to detect in-place
changes of saved values.

A *tracer* (inside ``@graphc.compile``) has ``_data = None`` and an IR node
``_node`` instead; every op on it is recorded, not run.

This module defines the class and what needs nothing above it. Layers above
attach the rest, so that each exists once and the import graph stays a DAG:
:mod:`graphc._dispatch` attaches ``_sync_view_grad_fn`` (it replays view ops),
:mod:`graphc._methods` the math methods, operators and conversions (each also a
function in :mod:`graphc._functional`), and :mod:`graphc.autograd.engine`
``backward``.
"""

from __future__ import annotations

import warnings
import weakref

import numpy as np

from ir import dtypes as dt
from ir.errors import AutogradError, TracingError, user_location
from ir.ops.movement import contiguous_strides
from ir.ops.windows import storage_root

from . import _layout, _state
from ._args import norm_dim
from ._autograd_graph import _RemovableHandle, current_seq, resolve
from ._grad_mode import _state as _grad_mode_state
from ._printing import format_tensor
from .device import cpu_device

_CPU = cpu_device()


class _Version:
    """A version counter shared by a base tensor and all its views.

    ``seq`` is the autograd node counter when the memory was last written, so
    only nodes recorded after it can have saved the current values. A tensor
    makes its counter on first use (``Tensor._version``): a node that saves the
    tensor reads the counter before the node is numbered, so ``seq`` taken then
    still bounds the nodes that can hold the current values.
    """

    __slots__ = ("value", "seq")

    def __init__(self):
        self.value = 0
        self.seq = current_seq()


class Size(tuple):
    """The shape of a tensor: a tuple that prints as ``graphc.Size([5, 3])``.

    As ``torch.Size``: its items must be ints (anything with ``__index__``, such as a 0-d int
    tensor, is converted; a float raises TypeError), and ``+``/``*`` with tuples and ints give a
    Size. Tensors build their ``shape`` without the check (numpy's shapes are ints already)."""

    def __new__(cls, sizes=()):
        out = tuple.__new__(cls, sizes)
        for s in out:
            if type(s) is not int:
                return tuple.__new__(cls, [_size_item(s, i) for i, s in enumerate(out)])
        return out

    def __repr__(self) -> str:
        return f"graphc.Size({list(self)})"

    __str__ = __repr__

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, key):
        out = tuple.__getitem__(self, key)
        return Size(out) if isinstance(key, slice) else out

    def __add__(self, other):
        if not isinstance(other, tuple):
            raise TypeError(f"can only concatenate tuple (not {type(other).__name__}) to graphc.Size")
        return Size(tuple.__add__(self, other))

    def __radd__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple.__add__(other, self))

    def __mul__(self, n):
        out = tuple.__mul__(self, n)
        return out if out is NotImplemented else Size(out)

    __rmul__ = __mul__


def _size_item(s, i: int) -> int:
    if isinstance(s, float) or not hasattr(s, "__index__"):
        raise TypeError(f"graphc.Size() takes an iterable of 'int' (item {i} is '{type(s).__name__}')")
    return s.__index__()


class Tensor:
    """A multi-dimensional array with autograd, PyTorch's names and semantics."""

    __slots__ = (
        "_data",
        "_dtype",
        "_device",
        "_requires_grad",
        "_grad",
        "_grad_fn",
        "_ver",
        "_base",
        "_view_ops",
        "_view_version",
        "_view_meta",
        "_accumulator",
        "_retains_grad",
        "_inference",
        "_hooks",
        "_node",
        "_trace",
        "__weakref__",
    )

    # ``_view_meta`` is None except on views that PyTorch forbids writing in place while autograd
    # records (see graphc._dispatch._mark_view). Every slot is set when a tensor is made: reading
    # an unset slot raises inside getattr, ~0.3 us, far more than the store.

    __array_priority__ = 1000  # numpy defers to our reflected operators

    # -- construction --------------------------------------------------------
    def __init__(self, *args, **kwargs):
        raise TypeError(
            "graphc.Tensor cannot be constructed directly; use graphc.tensor(data), "
            "graphc.empty(*shape), graphc.zeros(...) or graphc.from_numpy(array)"
        )

    @classmethod
    def _wrap(cls, data: np.ndarray, dtype: dt.DType, device=None) -> "Tensor":
        t = object.__new__(cls)
        t._data = data
        t._dtype = dtype
        t._device = device or _CPU
        t._requires_grad = False
        t._grad = None
        t._grad_fn = None
        t._ver = None  # the version counter, made on first use (most results are never written)
        t._base = None
        t._view_ops = None
        t._view_version = None
        t._accumulator = None
        t._retains_grad = False
        t._hooks = None
        t._node = None
        t._trace = None
        t._view_meta = None
        t._inference = _grad_mode_state.__dict__.get("inference", False)
        return t

    @property
    def _version(self) -> _Version:
        """The version counter shared with this tensor's views (created when first asked for)."""
        v = self._ver
        if v is None:
            v = self._ver = _Version()
        return v

    @_version.setter
    def _version(self, value: _Version) -> None:
        self._ver = value

    # -- attributes --------------------------------------------------------
    @property
    def shape(self) -> Size:
        if self._data is None:
            return tuple.__new__(Size, self._node.shape)
        return tuple.__new__(Size, self._data.shape)

    def size(self, dim: int | None = None):
        """The shape as a ``graphc.Size``, or the size of one dim."""
        shape = self.shape
        if dim is None:
            return shape
        return shape[norm_dim(dim, len(shape), "size")]

    @property
    def dtype(self) -> dt.DType:
        return self._dtype

    @property
    def device(self):
        return self._device

    @property
    def is_cuda(self) -> bool:
        return self._device.type == "cuda"

    @property
    def ndim(self) -> int:
        data = self._data
        return data.ndim if data is not None else len(self._node.shape)

    def dim(self) -> int:
        data = self._data
        return data.ndim if data is not None else len(self._node.shape)

    ndimension = dim

    def numel(self) -> int:
        data = self._data
        if data is not None:
            return data.size
        n = 1
        for s in self._node.shape:
            n *= s
        return n

    nelement = numel

    def element_size(self) -> int:
        return self._dtype.itemsize

    def stride(self, dim: int | None = None):
        """Strides in elements, as PyTorch reports them."""
        data = self._data
        if data is None and self._node is not None:  # a tracer: the strides eager would have
            lay = self._trace.layout(self)
            strides = lay[0] if lay is not None else contiguous_strides(self.shape)
        else:
            if data is None:
                self._need_data("stride")
            strides = tuple(s // data.itemsize for s in data.strides)
        return strides if dim is None else strides[dim]

    def storage_offset(self) -> int:
        self._need_data("storage_offset")
        if not isinstance(self._data, np.ndarray):  # a device array (cuda): offset in elements
            return self._data.offset
        base = storage_root(self._data)
        return (self._data.__array_interface__["data"][0] - base.__array_interface__["data"][0]) // self._data.itemsize

    def is_contiguous(self, memory_format=None) -> bool:
        """Whether the elements lie densely in the order ``memory_format`` names (default
        ``graphc.contiguous_format``: row-major; ``graphc.channels_last``: NHWC)."""
        name = _layout.format_name(memory_format, "contiguous_format", "is_contiguous")
        if name == "preserve_format":
            raise RuntimeError("is_contiguous(): preserve memory format is unsupported")
        if name != "contiguous_format":
            order = _layout.dim_order(name, self.ndim, "is_contiguous")
            return _layout.has_layout(self.shape, self.stride(), order)
        if self._data is None:  # a tracer: the layout eager would have
            return self._trace.is_contiguous(self)
        return bool(self._data.flags.c_contiguous)

    def data_ptr(self) -> int:
        self._need_data("data_ptr")
        if not isinstance(self._data, np.ndarray):  # a device array (cuda)
            return self._data.data_ptr()
        return self._data.__array_interface__["data"][0]

    # -- autograd attributes -----------------------------------------------
    # Attached from above (see the module docstring): ``_sync_view_grad_fn`` by
    # graphc._dispatch, ``backward`` by graphc.autograd.engine.
    @property
    def requires_grad(self) -> bool:
        if self._base is not None:
            self._sync_view_grad_fn()
        return self._requires_grad or self._grad_fn is not None

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Set whether autograd records ops on this (leaf) tensor; returns self."""
        if self._grad_fn is not None:
            if not requires_grad:
                raise AutogradError(
                    "you can only change requires_grad flags of leaf variables. If you want to use "
                    "a computed variable in a subgraph that doesn't require differentiation use "
                    "var_no_grad = var.detach()."
                )
            return self
        if requires_grad and not self._dtype.is_differentiable:
            raise AutogradError(
                f"only Tensors of floating point and complex dtype can require gradients, got {self._dtype}"
            )
        self._requires_grad = bool(requires_grad)
        return self

    def is_inference(self) -> bool:
        """Whether this tensor was made in ``inference_mode`` (see :class:`graphc.inference_mode`)."""
        return self._inference

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def grad_fn(self):
        if self._base is not None:
            self._sync_view_grad_fn()
        return self._grad_fn

    @property
    def grad(self):
        tracer = _state.active_tracer()
        if tracer is not None:
            return tracer.get_grad(self)
        if self._grad is None and self._grad_fn is not None and not self._retains_grad and self._node is None:
            warnings.warn(
                "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its "
                ".grad attribute won't be populated during autograd.backward(). If you indeed want "
                "the .grad field to be populated for a non-leaf Tensor, use .retain_grad() on it.",
                UserWarning,
                stacklevel=2,
            )
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got {type(value).__name__}")
            if tuple(value.shape) != tuple(self.shape):
                raise RuntimeError(
                    f"assigned grad has data of a different size: {list(value.shape)} vs {list(self.shape)}"
                )
            # PyTorch refuses these too: an optimizer would otherwise update a float parameter
            # with an integer (or wider) gradient, or read it from another device.
            if value._dtype is not self._dtype:
                raise RuntimeError(
                    f"attempting to assign a gradient with dtype {value._dtype} to a tensor with dtype "
                    f"{self._dtype}; the gradient must match the tensor's dtype (convert it with .to({self._dtype}))"
                )
            if value._device != self._device:
                raise RuntimeError(
                    f"assigned grad has data located on {value._device}, but the tensor is on {self._device}"
                )
        tracer = _state.active_tracer()
        if tracer is not None:
            tracer.set_grad(self, value)
            return
        self._grad = value

    @property
    def data(self) -> "Tensor":
        """The same values without autograd history (shares memory)."""
        return self.detach()

    @data.setter
    def data(self, value: "Tensor") -> None:
        tracer = _state.active_tracer()
        if tracer is not None and (value._node is not None or self._node is not None):
            tracer.assign_data(self, value)  # inside @graphc.compile: a traced write, not a tracer leak
            return
        self._data = value._data
        self._dtype = value._dtype
        self._device = value._device
        self._node = value._node

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if self._grad_fn is None:
            if not self._requires_grad:
                raise AutogradError("can't retain_grad on Tensor that has requires_grad=False")
            return
        self._retains_grad = True
        resolve(self._grad_fn)._retained = weakref.ref(self)

    def _take_grad_fn(self, grad_fn) -> None:
        """Make ``grad_fn`` this tensor's history after an in-place write (or a view's re-derivation).

        A retained gradient moves with it, as PyTorch moves retain_grad's hook to the new
        grad_fn: ``y.retain_grad(); y.mul_(3)`` gives ``y.grad`` of the value ``y`` now holds,
        not of the one it held before the write. (Hooks registered with ``register_hook``
        stay on the old node: they see the old version's gradient in PyTorch too.)"""
        old = self._grad_fn
        self._grad_fn = grad_fn
        if not self._retains_grad or grad_fn is None or old is grad_fn:
            return
        if old is not None:
            node = resolve(old)
            if node._retained is not None and node._retained() is self:
                node._retained = None
        resolve(grad_fn)._retained = weakref.ref(self)

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; it may return a new grad."""
        if not self.requires_grad:
            raise AutogradError("cannot register a hook on a tensor that doesn't require gradient")
        if self._grad_fn is not None:
            return resolve(self._grad_fn).register_hook(hook)
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        return _RemovableHandle(self._hooks, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(tensor)`` after backward has accumulated this leaf's ``.grad`` (PyTorch's API)."""
        if not self.requires_grad or self._grad_fn is not None:
            raise AutogradError("post accumulate grad hooks can only be registered on leaf tensors that require grad")
        if self._hooks is None:
            self._hooks = []
        post = _PostAccumulateGradHook(hook)
        self._hooks.append(post)
        return _RemovableHandle(self._hooks, post)

    def detach(self) -> "Tensor":
        """A tensor sharing this one's memory, outside autograd."""
        if self._node is not None:
            return self._trace.detach(self)
        t = Tensor._wrap(self._data, self._dtype, self._device)
        # Shares memory and the version counter, but for autograd it is a fresh base
        # (not a view of self): in-place writes through it or its views are allowed.
        t._version = self._version
        return t

    def detach_(self) -> "Tensor":
        """Detach in place: drop history and make this a leaf that does not require grad.

        A view cannot (PyTorch's rule): it would stop being a view of its base for autograd
        while it still shares the base's memory, so later writes through it would be lost to
        the base's history. ``detach()`` gives a detached alias instead."""
        if self._base is not None and self._view_ops is not None:
            raise AutogradError(
                "detach_(): Can't detach views in-place. Use detach() instead (a view of shape "
                f"{list(self.shape)} shares its base's memory and history)."
            )
        self._grad_fn = None
        self._requires_grad = False
        return self

    # -- data access ---------------------------------------------------------
    def _need_data(self, what: str) -> None:
        if self._data is None:
            hint = " (Python's if, while, assert, and/or/not on a tensor call bool())" if what == "bool" else ""
            raise TracingError(
                f"{what}() needs the values of a tensor{hint}, but inside @graphc.compile a tensor is a "
                f"tracer with a shape ({list(self.shape)}) and dtype ({self._dtype}) and no values. "
                "Pass the value in as a non-tensor argument, use graphc.where for the branch, or move "
                f"this code out of the compiled function. (at {user_location()})"
            )
        tracer = _state.active_tracer()
        if tracer is not None and what not in ("data_ptr", "storage_offset"):
            # A real tensor's values read while tracing are baked into the graph: guard them.
            tracer.guard_values(self)
        if self._device.type != "cpu" and what in ("numpy",):
            raise TypeError(
                f"can't convert {self._device} tensor to numpy. Use Tensor.cpu() to copy the tensor "
                "to host memory first."
            )

    def _host(self) -> np.ndarray:
        """Values as a host numpy array (a copy for device tensors)."""
        self._need_data("item")
        if self._device.type == "cpu":
            return self._data
        return self._data.to_host()

    def numpy(self, force: bool = False) -> np.ndarray:
        """The values as a numpy array that shares this tensor's memory."""
        self._need_data("numpy")
        if self.requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        if self._dtype is dt.bfloat16:
            # numpy has no bfloat16: graphc stores it widened to float32, and handing that array
            # out would let writes bypass bfloat16 rounding. PyTorch refuses the same way.
            raise TypeError("Got unsupported ScalarType BFloat16")
        return self._data

    def __array__(self, dtype=None, copy=None):
        arr = self._host()
        return arr if dtype is None else arr.astype(dtype, copy=False)

    def item(self):
        """The value of a one-element tensor as a Python number."""
        self._need_data("item")
        if self.numel() != 1:
            raise RuntimeError(
                f"a Tensor with {self.numel()} elements cannot be converted to Scalar"
            )
        return self._host().reshape(()).item()

    def tolist(self):
        """The values as (nested) Python lists of numbers."""
        self._need_data("tolist")
        return self._host().tolist()

    def __bool__(self) -> bool:
        if self._data is None:
            self._need_data("bool")
        if self.numel() != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self.numel()} values is ambiguous")
        return bool(self.item())

    def __float__(self) -> float:
        self._need_data("float")
        return float(self.item())

    def __int__(self) -> int:
        self._need_data("int")
        return int(self.item())

    def __index__(self) -> int:
        self._need_data("index")
        if self._dtype.is_floating_point or self.numel() != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    def __hash__(self) -> int:
        return id(self)

    def __contains__(self, value) -> bool:
        if not isinstance(value, (Tensor, int, float, bool, complex, np.number, np.bool_)):
            raise RuntimeError(
                f"Tensor.__contains__ only supports Tensor or scalar, but you passed in a {type(value)}."
            )
        return bool((self == value).any())

    # -- printing ------------------------------------------------------------
    def __repr__(self) -> str:
        if self._data is None:
            return f"Tracer(shape={list(self.shape)}, dtype={self._dtype}, node=%{self._node.id})"
        suffixes = []
        if self._device.type != "cpu":
            suffixes.append(f"device='{self._device.type}:{self._device.index or 0}'")
        if self._grad_fn is not None:
            suffixes.append(f"grad_fn=<{self._grad_fn.name()}>")
        elif self._requires_grad:
            suffixes.append("requires_grad=True")
        return format_tensor(
            self._host(),
            self._dtype.name,
            is_default_float=self._dtype is (dt.default_complex() if self._dtype.is_complex else dt.default_float()),  # noqa: E501
            suffixes=suffixes,
        )

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        # As PyTorch: a plain 0-d tensor formats as its number even with an empty spec, so
        # f"loss {loss}" prints 0.5 not tensor(0.5000); anything else is str(self), and a spec on
        # it is object.__format__'s TypeError.
        if self.ndim == 0 and type(self) is Tensor and self._data is not None:
            return format(self.item(), spec)
        return object.__format__(self, spec)

    def __reduce_ex__(self, protocol):
        return (_rebuild, (np.array(self._host()), self._dtype.name, self.requires_grad))

    def __deepcopy__(self, memo):
        if not self.is_leaf:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the deepcopy protocol at the moment.  "
                "If you were attempting to deepcopy a module, this may be because of a torch.nn.utils.weight_norm usage, "
                "see https://github.com/pytorch/pytorch/pull/103001"
            )
        t = Tensor._wrap(np.array(self._data, copy=True), self._dtype, self._device)
        t._requires_grad = self.requires_grad if self.is_leaf else False
        if self._grad is not None:
            t._grad = self._grad.__deepcopy__(memo)
        memo[id(self)] = t
        return t


class _PostAccumulateGradHook:
    """A post-accumulate hook kept among a leaf's grad hooks: as a grad hook it changes
    nothing; the engine calls ``post(tensor)`` once the leaf's ``.grad`` is accumulated."""

    __slots__ = ("post",)

    def __init__(self, fn):
        self.post = fn

    def __call__(self, grad):
        return None


def _rebuild(arr, dtype_name, requires_grad):
    """Unpickle a tensor (see ``Tensor.__reduce_ex__``): a CPU tensor wrapping ``arr``."""
    t = Tensor._wrap(arr, dt.by_name(dtype_name))
    if requires_grad:
        t.requires_grad_(True)
    return t
