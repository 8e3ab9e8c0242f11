"""Activation checkpointing (PyTorch's ``torch.utils.checkpoint``): trade compute for memory.

``checkpoint(fn, *args, use_reentrant=False)`` runs ``fn`` without recording
autograd history, so none of its intermediate values are kept; when the
backward reaches the segment, ``fn`` runs again (with the random state of the
forward, so dropout draws the same masks) and its gradients flow on. The
gradients are those of ``fn`` itself; only peak memory and time change.

Both of PyTorch's variants are here, with their documented differences:

* ``use_reentrant=False`` (recommended): the segment's inputs are *every*
  tensor it reads that needs a gradient: its arguments, and also parameters and
  other tensors it reaches through modules or closures (found by watching the
  ops it applies, :attr:`graphc._state._ThreadState.input_hook`). So parameters
  get gradients even when no argument requires grad, ``autograd.grad`` and
  ``backward(inputs=...)`` work, and keyword arguments are allowed. The
  recomputation reads those tensors through detached stand-ins, so the inner
  backward stays inside the segment and the outer engine routes each gradient
  (hooks, ``.grad`` accumulation) as for any other op.
* ``use_reentrant=True`` (PyTorch's default when ``use_reentrant`` is not
  passed, with its warning): a custom Function over the tensor arguments whose
  backward runs a nested ``backward()`` over the recomputed segment, which
  accumulates parameters' ``.grad`` directly. As in PyTorch: if no *argument*
  requires grad the output does not either, and parameters get no gradient
  (a warning says so); keyword arguments raise ``ValueError``; ``autograd.grad``
  or ``backward(inputs=...)`` through it raises ``RuntimeError``.

Neither variant supports differentiating the checkpointed gradients again
(``create_graph=True`` through the segment): the recomputed graph is built from
detached inputs.

Inside ``@graphc.compile`` the function is traced inline: the compiled program
holds the whole forward and backward graph, and its memory plan decides what is
kept, so there is nothing to recompute (the gradients are the same).
"""

from __future__ import annotations

import contextlib
import warnings

from .. import _dispatch, _pytree, _state
from .._grad_mode import enable_grad, is_grad_enabled, no_grad
from .._tensor import Tensor
from ..autograd import engine
from ..autograd.function import Function
from ..nn import Sequential
from ..random import fork_rng, get_rng_state, set_rng_state

__all__ = ["checkpoint", "checkpoint_sequential", "CheckpointError"]


class CheckpointError(RuntimeError):
    """The recomputed segment differs from its forward (another number of outputs, or other
    shapes/dtypes): the function is not deterministic in what it computes. Make it so, or pass
    ``determinism_check="none"``."""


def _noop_context_fn():
    return contextlib.nullcontext(), contextlib.nullcontext()


@contextlib.contextmanager
def _input_hook(fn):
    """Let ``fn`` see (and replace) the inputs of each op this thread applies, inside any hook
    already active (nested checkpoints: the outer one's substitution comes first)."""
    state = _state._STATE
    prev = state.input_hook
    state.input_hook = fn if prev is None else (lambda inputs: fn(prev(inputs)))
    try:
        yield
    finally:
        state.input_hook = prev


def checkpoint(
    function,
    *args,
    use_reentrant: bool | None = None,
    context_fn=_noop_context_fn,
    determinism_check: str = "default",
    debug: bool = False,
    early_stop: bool = True,
    **kwargs,
):
    """Run ``function(*args, **kwargs)`` keeping no intermediates; recompute it in backward.

    ``preserve_rng_state=True`` (a keyword, default) saves the random state before the
    forward and restores it for the recomputation, so random ops (dropout) repeat their
    draws; ``False`` skips that. See the module docstring for ``use_reentrant``.

    >>> y = checkpoint(block, x, use_reentrant=False)   # block's activations are not kept
    """
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. Starting in "
            "PyTorch 2.9, calling checkpoint without use_reentrant will raise an exception. use_reentrant=False "
            "is recommended, but if you need to preserve the current default behavior, you can pass "
            "use_reentrant=True. Refer to docs for more details on the differences between the two variants.",
            stacklevel=2,
        )
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs and use_reentrant:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))
    if use_reentrant:
        if context_fn is not _noop_context_fn or debug is not False:
            raise ValueError("Passing `context_fn` or `debug` is only supported when use_reentrant=False.")
    if determinism_check not in ("default", "none"):
        raise ValueError("determinism_check should be one of ['default', 'none'], but got " + str(determinism_check))
    if _dispatch.active_tracer() is not None:  # compiled: traced inline (module docstring)
        return function(*args, **kwargs)
    if use_reentrant:
        return CheckpointFunction.apply(function, preserve, *args)
    return _checkpoint_without_reentrant(function, preserve, context_fn, determinism_check, args, kwargs)


# -- use_reentrant=True ----------------------------------------------------------------------


class CheckpointFunction(Function):
    """PyTorch's ``CheckpointFunction``: a nested ``backward()`` over the recomputed segment."""

    @staticmethod
    def forward(ctx, run_function, preserve_rng_state, *args):
        if not any(isinstance(a, Tensor) and a.requires_grad for a in args):
            warnings.warn("None of the inputs have requires_grad=True. Gradients will be None", stacklevel=2)
        ctx.run_function = run_function
        ctx.rng_state = get_rng_state() if preserve_rng_state else None
        ctx.inputs = [None if isinstance(a, Tensor) else a for a in args]
        ctx.tensor_indices = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx.save_for_backward(*[args[i] for i in ctx.tensor_indices])
        with no_grad():
            return run_function(*args)

    @staticmethod
    def backward(ctx, *grads):
        kinds = _state._STATE.backward_kinds
        if kinds and not kinds[-1]:
            raise RuntimeError(
                "When use_reentrant=True, torch.utils.checkpoint is incompatible with .grad() or passing an "
                "`inputs` parameter to .backward(). To resolve this error, you can either set use_reentrant=False, "
                "or call .backward() without passing the `inputs` argument."
            )
        inputs = list(ctx.inputs)
        for i, t in zip(ctx.tensor_indices, ctx.saved_tensors):
            inputs[i] = t.detach().requires_grad_(t.requires_grad)
        with fork_rng(enabled=ctx.rng_state is not None):
            if ctx.rng_state is not None:
                set_rng_state(ctx.rng_state)
            with enable_grad():
                outputs = ctx.run_function(*inputs)
        if isinstance(outputs, Tensor):
            outputs = (outputs,)
        pairs = [(o, g) for o, g in zip(outputs, grads) if isinstance(o, Tensor) and o.requires_grad]
        if not pairs:
            raise RuntimeError("none of output has requires_grad=True, this checkpoint() is not necessary")
        engine.backward([o for o, _ in pairs], [g for _, g in pairs])
        return (None, None) + tuple(a.grad if isinstance(a, Tensor) else None for a in inputs)


# -- use_reentrant=False ---------------------------------------------------------------------


class _Segment:
    """What the recomputation needs: the call, the random state, the tensors it reads."""

    def __init__(self, function, args, kwargs, rng_state, boundary, out_meta, check):
        self.function, self.args, self.kwargs = function, args, kwargs
        self.rng_state, self.boundary = rng_state, boundary
        self.out_meta, self.check = out_meta, check


class CheckpointNonReentrant(Function):
    """The recorded node of a segment: inputs are the tensors the segment reads that need
    grad; outputs are its (already computed) differentiable results."""

    @staticmethod
    def forward(ctx, segment, outputs, *boundary):
        ctx.segment = segment
        ctx.set_materialize_grads(False)
        return tuple(outputs)

    @staticmethod
    def backward(ctx, *grads):
        seg = ctx.segment
        twins = [t.detach().requires_grad_() for t in seg.boundary]
        by_id = {id(t): tw for t, tw in zip(seg.boundary, twins)}

        def substitute(inputs):
            return [by_id.get(id(t), t) for t in inputs]

        with fork_rng(enabled=seg.rng_state is not None):
            if seg.rng_state is not None:
                set_rng_state(seg.rng_state)
            with enable_grad(), _input_hook(substitute):
                out = seg.function(*seg.args, **seg.kwargs)
        leaves: list = []
        _pytree.flatten(out, leaves)
        recomputed = [leaves[i] if i < len(leaves) else None for i, _ in seg.out_meta]
        if seg.check and [(tuple(o.shape), o.dtype) if o is not None else None for o in recomputed] != [
            m for _, m in seg.out_meta
        ]:
            raise CheckpointError(
                "torch.utils.checkpoint: Recomputed values have different metadata than during the forward pass "
                f"(forward: {[m for _, m in seg.out_meta]}; recomputed: "
                f"{[(tuple(o.shape), o.dtype) if o is not None else None for o in recomputed]})."
            )
        pairs = [(o, g) for o, g in zip(recomputed, grads) if g is not None and o is not None and o.requires_grad]
        if not pairs:
            return (None, None) + (None,) * len(twins)
        got = engine.grad([o for o, _ in pairs], twins, [g for _, g in pairs], allow_unused=True)
        return (None, None) + tuple(got)


def _checkpoint_without_reentrant(function, preserve, context_fn, determinism_check, args, kwargs):
    rng_state = get_rng_state() if preserve else None
    boundary: dict = {}

    def see(inputs):
        for t in inputs:  # nothing made inside no_grad needs grad: these come from outside
            if t._requires_grad or t._grad_fn is not None:
                boundary.setdefault(id(t), t)
        return inputs

    forward_ctx, _ = context_fn()
    with forward_ctx, _input_hook(see), no_grad():
        out = function(*args, **kwargs)
    if not boundary or not is_grad_enabled():
        return out
    leaves: list = []
    spec = _pytree.flatten(out, leaves)
    diff = [i for i, o in enumerate(leaves) if o.dtype.is_floating_point or o.dtype.is_complex]
    if not diff:
        return out
    meta = [(i, (tuple(leaves[i].shape), leaves[i].dtype)) for i in diff]
    tensors = list(boundary.values())
    segment = _Segment(function, args, kwargs, rng_state, tensors, meta, determinism_check == "default")
    results = CheckpointNonReentrant.apply(segment, [leaves[i] for i in diff], *tensors)
    for i, r in zip(diff, results):
        leaves[i] = r
    return _pytree.unflatten(spec, leaves)


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """Run a sequential model in ``segments`` chunks, checkpointing all but the last.

    ``functions`` is an ``nn.Sequential`` or a list of modules/functions, each taking the
    previous one's single output.

    >>> out = checkpoint_sequential(model, 2, x, use_reentrant=False)
    """
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint.checkpoint_sequential: the use_reentrant parameter should be passed "
            "explicitly. In version 2.9 we will raise an exception if use_reentrant is not passed. "
            "use_reentrant=False is recommended, but if you need to preserve the current default behavior, "
            "you can pass use_reentrant=True. Refer to docs for more details on the differences between the two "
            "variants.",
            stacklevel=2,
        )
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))

    def run_function(start, end, functions):
        def forward(input):
            for j in range(start, end + 1):
                input = functions[j](input)
            return input

        return forward

    if isinstance(functions, Sequential):
        functions = list(functions.children())
    segment_size = len(functions) // segments
    end = -1
    for start in range(0, segment_size * (segments - 1), segment_size):
        end = start + segment_size - 1
        input = checkpoint(
            run_function(start, end, functions), input, use_reentrant=use_reentrant, preserve_rng_state=preserve
        )
    return run_function(end + 1, len(functions) - 1, functions)(input)
