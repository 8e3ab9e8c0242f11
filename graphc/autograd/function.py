"""``graphc.autograd.Function``: custom autograd functions with a user-written backward.

A subclass writes ``forward(ctx, *args)`` and ``backward(ctx, *grads)`` (or the
newer ``forward(*args)`` plus ``setup_context(ctx, inputs, output)``) and is
called through ``MyFn.apply(*args)``, as in PyTorch.

How it fits the engine: ``apply`` runs ``forward`` with grad mode off (its ops
leave no history of their own) and gives the outputs one :class:`FunctionNode`
as ``grad_fn``. That node is a :class:`~graphc._autograd_graph.GradNode` with a
``custom_vjp``, the hook :func:`ir.passes.autodiff.vjp` calls instead of a
row's rule (the same seam a compiled call uses in :mod:`graphc._aot`). So the
one backprop loop runs the user's ``backward`` wherever it runs:

* eagerly, on real tensors;
* inside ``@graphc.compile``, on tracers: ``forward``'s ops are recorded into
  the graph, and when ``loss.backward()`` (or a compiled call's automatic
  backward) reaches the node, the user's ``backward`` is *traced* into the
  graph too. It is a custom rule in the IR in the manner of JAX's
  ``custom_vjp``: the gradient is the user's formula, made of ordinary ops
  that simplify and fuse with everything around them.

Several differentiable outputs: each gets its own small output node (the
engine keys gradients by node); they hand their gradients to the shared
:class:`FunctionNode`, which the loop always reaches after all of them.
"""

from __future__ import annotations

import functools
import inspect

from ir.errors import AutogradError

from .. import _dispatch, _state
from .._autograd_graph import GradNode
from .._factories import zeros
from .._functional import _to, reshape, sum
from .._grad_mode import enable_grad, is_grad_enabled, no_grad
from .._tensor import Tensor

__all__ = ["Function", "FunctionCtx", "once_differentiable", "InplaceFunction", "NestedIOFunction"]


class _FunctionOp:
    """What ``GradNode.__init__`` reads of an op row, for a custom Function (not an IR op)."""

    saves = ()

    def __init__(self, cls_name: str):
        self.name = "graphc.autograd.Function"
        self.grad_name = f"{cls_name}Backward"


class FunctionCtx:
    """The ``ctx`` of a custom Function: what ``forward`` leaves for ``backward``.

    ``save_for_backward`` keeps tensors with their version numbers, so reading
    ``saved_tensors`` after an in-place change raises PyTorch's error instead of
    giving a wrong gradient; other values can be stored as plain attributes.
    """

    def __init__(self):
        self._to_save = ()
        self._saved = None
        self._freed = False
        self._non_differentiable = set()
        self._dirty = set()
        self.materialize_grads = True
        self.needs_input_grad = ()
        self._fn_name = "Function"

    def save_for_backward(self, *tensors) -> None:
        """Keep ``tensors`` (or None) for ``backward``; read them back as ``ctx.saved_tensors``."""
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(
                    f"save_for_backward can only save variables, but argument {tensors.index(t)} is of type "
                    f"{type(t).__name__}"
                )
        self._to_save = tensors

    def save_for_forward(self, *tensors) -> None:
        """Accepted for PyTorch compatibility (forward-mode AD is not implemented)."""
        self._saved_forward = tensors

    def _freeze(self) -> None:
        """Record the saved tensors' versions now that ``forward`` is done."""
        self._saved = tuple(None if t is None else (t, t._version.value) for t in self._to_save)
        self._to_save = ()

    @property
    def saved_tensors(self) -> tuple:
        if self._freed:
            raise AutogradError(
                "Trying to backward through the graph a second time (or directly access saved tensors after "
                "they have already been freed). Saved intermediate values of the graph are freed when you call "
                ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
                "graph a second time or if you need to access saved tensors after calling backward."
            )
        if self._saved is None:  # read inside forward itself
            return tuple(self._to_save)
        out = []
        for i, entry in enumerate(self._saved):
            if entry is None:
                out.append(None)
                continue
            t, version = entry
            if t._version.value != version:
                raise AutogradError(
                    "one of the variables needed for gradient computation has been modified by an inplace "
                    f"operation: [graphc.{t.dtype.name} {list(t.shape)}], which is saved tensor {i} of "
                    f"{self._fn_name}Backward, is at version {t._version.value}; expected version {version} "
                    "instead. Hint: clone the tensor before changing it in place."
                )
            out.append(t)
        return tuple(out)

    saved_variables = saved_tensors

    def mark_non_differentiable(self, *tensors) -> None:
        """Outputs that get no gradient (indices, masks): they do not require grad, and
        ``backward`` receives zeros for them."""
        self._non_differentiable.update(id(t) for t in tensors)

    def mark_dirty(self, *tensors) -> None:
        """Inputs that ``forward`` changed in place (and returns): their history continues
        through this function."""
        self._dirty.update(id(t) for t in tensors)

    def set_materialize_grads(self, value: bool) -> None:
        """With False, ``backward`` receives None (not zeros) for outputs that got no gradient."""
        self.materialize_grads = bool(value)

    def _release(self) -> None:
        self._saved = None
        self._to_save = ()
        self._freed = True


class FunctionNode(GradNode):
    """The ``grad_fn`` of a custom Function's outputs: its rule is the user's ``backward``."""

    def __init__(self, fn_cls, ctx, inputs, edges, output, n_outputs, arg_positions, n_args):
        super().__init__(_FunctionOp(fn_cls.__name__), {}, inputs, edges, output)
        self.fn_cls = fn_cls
        self.ctx = ctx
        self._pending = [None] * n_outputs  # gradients handed over by output nodes
        self._out_meta = []  # (shape, dtype, device, differentiable) per output
        self._arg_positions = arg_positions  # forward-argument position of each tensor input
        self._n_args = n_args

    def __getattr__(self, name):  # PyTorch's grad_fn *is* the ctx: y.grad_fn.saved_tensors works
        if name in ("ctx",):
            raise AttributeError(name)
        return getattr(self.ctx, name)

    def custom_vjp(self, builder, rule_ctx, g):
        """Run (or, under a trace, record) the user's ``backward`` for the gathered output grads."""
        grads = self._pending
        self._pending = [None] * len(grads)
        if len(grads) == 1 and grads[0] is None:
            grads = [g]
        return self._call_backward(grads)

    def _call_backward(self, grads):
        ctx = self.ctx
        full = []
        for gi, (shape, dtype, device, differentiable) in zip(grads, self._out_meta):
            if gi is None and ctx.materialize_grads and dtype is not None:
                with no_grad():
                    gi = zeros(shape, dtype=dtype, device=device)
            full.append(gi)
        cls = self.fn_cls
        backward = cls.backward if cls.backward is not Function.backward else cls.vjp
        result = backward(ctx, *full)
        if not isinstance(result, tuple):
            result = (result,)
        name = self.name()
        if len(result) < self._n_args or (
            len(result) > self._n_args and any(r is not None for r in result[self._n_args:])
        ):
            raise RuntimeError(
                f"function {name} returned an incorrect number of gradients (expected {self._n_args}, got "
                f"{len(result)})"
            )
        out = []
        for k, pos in enumerate(self._arg_positions):
            gr = result[pos]
            if gr is None or not self.needs(k):
                out.append(None)
                continue
            if not isinstance(gr, Tensor):
                raise TypeError(f"function {name} returned a gradient of type {type(gr).__name__} at index {pos}; "
                                "expected a Tensor or None")
            out.append(_fit_grad(gr, self.in_shapes[k], self.in_dtypes[k], name, pos))
        for pos, gr in enumerate(result[: self._n_args]):
            if gr is not None and pos not in self._arg_positions:
                raise RuntimeError(
                    f"function {name} returned a gradient different than None at position {pos + 1}, but the "
                    "corresponding forward input was not a Variable"
                )
        return out

    def release(self):
        self.ctx._release()
        self._freed = True


class _OutputNode(GradNode):
    """Output ``i`` of a multi-output Function: passes its gradient to the shared node."""

    def __init__(self, fn_node, index, output):
        super().__init__(fn_node.fn_cls._opdef_like, {}, [output], [fn_node], output)
        self.fn_node = fn_node
        self.index = index

    @property
    def next_functions(self) -> tuple:  # shown like PyTorch's: the Function's own edges
        return self.fn_node.next_functions

    def custom_vjp(self, builder, rule_ctx, g):
        self.fn_node._pending[self.index] = g
        # A token gradient makes the loop visit the Function node after every output node.
        return [builder.scalar(0, self.dtype)]

    def release(self):
        self._freed = True


def _fit_grad(g: Tensor, shape, dtype, name: str, pos: int) -> Tensor:
    """A returned gradient checked against its input: summed down when broadcast (as PyTorch's
    ``sum_to``), cast to the input's dtype, else PyTorch's error."""
    gshape = tuple(g.shape)
    shape = tuple(shape)
    if gshape != shape:
        lead = len(gshape) - len(shape)
        ok = lead >= 0 and all(s == gs or s == 1 for s, gs in zip(shape, gshape[lead:]))
        if not ok:
            if g.numel() == _numel(shape):
                g = reshape(g, shape)  # PyTorch accepts a gradient of the same number of elements
            else:
                raise RuntimeError(
                    f"Function {name} returned an invalid gradient at index {pos} - got {list(gshape)} but expected "
                    f"shape compatible with {list(shape)}"
                )
        else:
            dims = tuple(range(lead)) + tuple(
                lead + i for i, (s, gs) in enumerate(zip(shape, gshape[lead:])) if s == 1 and gs != 1
            )
            if dims:
                g = sum(g, dim=dims, keepdim=True)
            g = reshape(g, shape)
    if g.dtype is not dtype:
        g = _to(g, dtype)
    return g


def _numel(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


class _FunctionMeta(type):
    """Gives each Function subclass its node op (built once per class)."""

    def __init__(cls, name, bases, attrs):
        super().__init__(name, bases, attrs)
        cls._opdef_like = _FunctionOp(name)


class Function(metaclass=_FunctionMeta):
    """Base class of custom autograd functions (PyTorch's ``torch.autograd.Function``).

    >>> class Exp(Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         y = x.exp()
    ...         ctx.save_for_backward(y)
    ...         return y
    ...     @staticmethod
    ...     def backward(ctx, g):
    ...         (y,) = ctx.saved_tensors
    ...         return g * y
    >>> Exp.apply(x)
    """

    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, *args, **kwargs):
        raise RuntimeError(
            "Legacy autograd function with non-static forward method is deprecated. Please use new-style "
            f"autograd function with static forward method: call {type(self).__name__}.apply(...)"
        )

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError(
            "You must implement the forward function for custom autograd.Function."
        )

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError(
            "You must implement either the backward or vjp method for your custom autograd.Function to use it "
            "with backward mode AD."
        )

    vjp = backward

    @staticmethod
    def jvp(ctx, *grad_inputs):
        raise NotImplementedError("forward-mode AD (jvp) is not implemented for custom Functions in graphc")

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run ``forward`` and, when an input requires grad, record the node whose rule is
        ``backward``."""
        new_style = cls.setup_context is not Function.setup_context
        if kwargs:  # bind keywords (and defaults) to forward's parameters, as PyTorch does
            sig = inspect.signature(cls.forward)
            params = list(sig.parameters)[0 if new_style else 1:]
            bound = sig.replace(parameters=[sig.parameters[p] for p in params]).bind(*args, **kwargs)
            bound.apply_defaults()
            args = tuple(bound.arguments[p] for p in params if p in bound.arguments)
        tracer = _dispatch.active_tracer()
        if tracer is not None:  # edges must reach the trace's proxies of lifted tensors
            args = tuple(tracer.to_tracer(a) if isinstance(a, Tensor) else a for a in args)
        ctx = FunctionCtx()
        ctx._fn_name = cls.__name__
        grad_on = is_grad_enabled()
        ctx.needs_input_grad = tuple(grad_on and isinstance(a, Tensor) and a.requires_grad for a in args)
        with no_grad():
            if new_style:
                output = cls.forward(*args)
                cls.setup_context(ctx, args, output)
            else:
                output = cls.forward(ctx, *args)
        ctx._freeze()
        return _wrap_outputs(cls, ctx, args, output, any(ctx.needs_input_grad))


def _wrap_outputs(cls, ctx, args, output, differentiable: bool):
    is_tuple = isinstance(output, tuple)
    outs = list(output) if is_tuple else [output]
    input_ids = {id(a) for a in args if isinstance(a, Tensor)}
    for i, o in enumerate(outs):
        if isinstance(o, Tensor) and id(o) in input_ids and id(o) not in ctx._dirty:
            with no_grad():  # an input returned as is comes back as a new view of it, as in PyTorch
                outs[i] = _dispatch.apply("reshape", [o], shape=tuple(o.shape))
    if not differentiable:
        for o in outs:
            if isinstance(o, Tensor) and id(o) not in ctx._dirty:
                o._requires_grad = False
        return tuple(outs) if is_tuple else outs[0]

    arg_positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
    tensor_inputs = [args[i] for i in arg_positions]
    edges = [_dispatch.grad_edge(t) if ctx.needs_input_grad[i] else None for i, t in zip(arg_positions, tensor_inputs)]
    diff = [
        k for k, o in enumerate(outs)
        if isinstance(o, Tensor) and o.dtype.is_floating_point and id(o) not in ctx._non_differentiable
    ]
    if not diff:
        return tuple(outs) if is_tuple else outs[0]
    node = FunctionNode(cls, ctx, tensor_inputs, edges, outs[diff[0]], len(outs), arg_positions, len(args))
    if _state.ANOMALY["enabled"]:
        _dispatch.record_forward_stack(node)
    node._out_meta = [
        (tuple(o.shape), o.dtype, o.device, k in diff) if isinstance(o, Tensor) else ((), None, None, False)
        for k, o in enumerate(outs)
    ]
    for k in diff:
        o = outs[k]
        if id(o) in ctx._dirty:
            if o._grad_fn is None and o._requires_grad:
                raise AutogradError("a leaf Variable that requires grad is being used in an in-place operation.")
        o._grad_fn = node if len(outs) == 1 else _OutputNode(node, k, o)
        o._requires_grad = False
    for k, o in enumerate(outs):
        if isinstance(o, Tensor) and k not in diff:
            o._requires_grad = False
    return tuple(outs) if is_tuple else outs[0]


def once_differentiable(fn):
    """Decorate a ``backward`` that is not itself differentiable: it runs without recording,
    and differentiating its result again (``create_graph=True``) raises PyTorch's error."""

    @functools.wraps(fn)
    def wrapper(ctx, *args):
        with no_grad():
            outputs = fn(ctx, *args)
        if not is_grad_enabled():
            return outputs
        needs = any(isinstance(a, Tensor) and a.requires_grad for a in args)
        if not needs:
            return outputs
        single = not isinstance(outputs, tuple)
        outs = [outputs] if single else list(outputs)
        grads_in = [a for a in args if isinstance(a, Tensor)]
        for i, o in enumerate(outs):
            if isinstance(o, Tensor) and o.dtype.is_floating_point:
                with enable_grad():
                    outs[i] = _DelayedError.apply(o, *grads_in)
        return outs[0] if single else tuple(outs)

    return wrapper


class _DelayedError(Function):
    """Identity whose backward raises: the result of a ``once_differentiable`` backward."""

    @staticmethod
    def forward(ctx, x, *rest):
        return x.clone()

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError(
            "trying to differentiate twice a function that was marked with @once_differentiable"
        )


class InplaceFunction(Function):
    """A Function with an ``inplace`` flag (PyTorch's legacy base class)."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace


class NestedIOFunction(Function):
    """Present for imports that name it; nested-structure Functions are not supported."""
