"""The eager autograd record: ``grad_fn`` objects and their edges.

Every op that runs on a tensor requiring grad leaves a :class:`GradNode`: the
IR op it ran (name and attributes), the shapes and dtypes of its inputs, the
values its gradient rule reads (``OpDef.saves``, with their version numbers),
and one edge per input to the node that produced that input
(``next_functions``). Leaves are reached through :class:`AccumulateGrad`.

Frontend functions built from several primitives (``mean``, ``softmax``,
``mse_loss``) wrap their last node in a :class:`CompositeNode` so that
``grad_fn`` shows PyTorch's name (``MeanBackward0``) and edges, while the
engine walks the primitives inside.

Public as ``graphc.autograd.graph``; it lives here, below the Tensor and the
dispatcher, because both create and read these nodes. Every node that records
an op (including a compiled call's) is built through ``GradNode.__init__``, so
each has its creation number ``_seq`` and its saved-value slots.
"""

from __future__ import annotations

import itertools
import weakref

from ir.errors import AutogradError

# Creation counter of GradNodes: a node with a larger ``_seq`` was recorded later.
# Version counters remember it at each write (``_Version.seq``), which bounds the
# walk of :func:`graphc._inplace._preserve_saved` to nodes recorded since then.
# ``next()`` on an ``itertools.count`` is one C call, atomic under the GIL: threads
# recording ops at once never get the same number (``_SEQ[0] += 1`` could, and a node
# sharing the bound of a write would be skipped by that walk).
_SEQ = itertools.count(1)


def current_seq() -> int:
    """A number no earlier node has and every later node exceeds (it uses one up)."""
    return next(_SEQ)


class Node:
    """Base of everything that appears as ``grad_fn`` or in ``next_functions``."""

    __slots__ = ("__weakref__",)

    def name(self) -> str:
        return type(self).__name__

    @property
    def next_functions(self) -> tuple:
        return ()

    def __repr__(self) -> str:
        return f"<{self.name()} object at {hex(id(self))}>"


class AccumulateGrad(Node):
    """The edge into a leaf tensor: its gradient is added to ``variable.grad``."""

    __slots__ = ("_variable",)

    def __init__(self, variable):
        self._variable = weakref.ref(variable)

    @property
    def variable(self):
        return self._variable()

    def name(self) -> str:
        return "AccumulateGrad"


class GradNode(Node):
    """The record of one primitive op, and its rule context for the backward sweep."""

    __slots__ = (
        "op",
        "attrs",
        "shape",
        "dtype",
        "in_shapes",
        "in_dtypes",
        "_next",
        "_saved",
        "_saved_out",
        "_freed",
        "_name",
        "_hooks",
        "_retained",
        "_seq",
    )

    def __init__(self, opdef, attrs, inputs, edges, output):
        self.op = opdef.name
        self.attrs = attrs
        self.shape = _shape_of(output)
        self.dtype = output._dtype
        self.in_shapes = [_shape_of(t) for t in inputs]
        self.in_dtypes = [t._dtype for t in inputs]
        self._next = tuple(edges)
        saved = self._saved = {}
        self._saved_out = None
        for key in opdef.saves:
            if key == "out":
                self._saved_out = (output, output._version.value)
            else:
                t = inputs[key]
                if t._inference:
                    raise RuntimeError(
                        "Inference tensors cannot be saved for backward. Please do not use Tensors created in "
                        "inference mode in computation tracked by autograd. To work around this, you can make a "
                        "clone to get a normal tensor and use it in autograd, or use `graphc.no_grad()` instead "
                        "of `graphc.inference_mode()`.")
                saved[key] = (t, t._version.value)
        self._freed = False
        self._name = opdef.grad_name or f"{opdef.name}Backward0"
        self._hooks = None
        self._retained = None
        self._seq = next(_SEQ)

    def name(self) -> str:
        return self._name

    @property
    def next_functions(self) -> tuple:
        return tuple((n, 0) for n in self._next)

    # -- rule context ------------------------------------------------------
    def needs(self, i: int) -> bool:
        return self._next[i] is not None

    def _check(self, tensor, version, what):
        if self._freed:
            raise AutogradError(
                "Trying to backward through the graph a second time (or directly access saved "
                "tensors after they have already been freed). Saved intermediate values of the graph "
                "are freed when you call .backward() or autograd.grad(). Specify retain_graph=True if "
                "you need to backward through the graph a second time or if you need to access saved "
                "tensors after calling backward."
            )
        if tensor._version.value != version:
            raise AutogradError(
                "one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: [graphc.{tensor.dtype.name} {list(tensor.shape)}], which is "
                f"{what} of {self.name()}, is at version {tensor._version.value}; expected version "
                f"{version} instead. Hint: the in-place op happened after this value was saved; "
                "use an out-of-place op (x = x * 2 instead of x.mul_(2)) or .clone() before it."
            )
        return tensor

    def input(self, i: int):
        entry = self._saved.get(i)
        if entry is None:
            if self._freed:
                self._check(None, 0, "")
            raise AutogradError(f"{self.name()}: input {i} was not saved for backward (ir/ops.py 'saves')")
        return self._check(entry[0], entry[1], f"input {i}")

    def output(self):
        if self._saved_out is None:
            if self._freed:
                self._check(None, 0, "")
            raise AutogradError(f"{self.name()}: the output was not saved for backward")
        return self._check(self._saved_out[0], self._saved_out[1], "output 0")

    def release(self):
        """Free saved values (after a backward without ``retain_graph``)."""
        self._saved = {}
        self._saved_out = None
        self._freed = True

    def register_hook(self, fn):
        """Call ``fn(grad)`` with the gradient of this node's output (may return a replacement)."""
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(fn)
        return _RemovableHandle(self._hooks, fn)


def _shape_of(t) -> tuple:
    """A tensor's shape as a plain tuple (its array's, or a tracer's node's), without a Size;
    anything else that describes a value (a compiled call's flattened outputs) by its ``shape``."""
    data = t._data
    if data is not None:
        return tuple(data.shape)
    node = t._node
    return tuple(node.shape if node is not None else t.shape)


class CompositeNode(Node):
    """A PyTorch-named face over the primitives of one frontend function."""

    __slots__ = ("_name", "inner", "_next")

    def __init__(self, name, inner, edges):
        self._name = name
        self.inner = inner
        self._next = tuple(edges)

    def name(self) -> str:
        return self._name

    @property
    def next_functions(self) -> tuple:
        return tuple((n, 0) for n in self._next)

    def register_hook(self, fn):
        return resolve(self).register_hook(fn)


def resolve(node):
    """The primitive node behind a composite face."""
    while isinstance(node, CompositeNode):
        node = node.inner
    return node


class _RemovableHandle:
    def __init__(self, hooks, fn):
        self._hooks, self._fn = hooks, fn

    def remove(self):
        if self._fn in self._hooks:
            self._hooks.remove(self._fn)
