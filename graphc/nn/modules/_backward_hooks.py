"""Module backward hooks (``register_full_backward_hook`` and friends), as PyTorch builds them.

A call of a module that has backward hooks wraps its tensor arguments, and then
its tensor outputs, in an identity :class:`BackwardHookFunction`. Autograd then
reaches the output identity with the gradients of the outputs (``grad_output``:
the pre-hooks run there and may replace them) and the input identity with the
gradients of the arguments (``grad_input``: the full hooks run there, with
``grad_output``, and may replace them). So ``grad_input`` is exactly the
gradient with respect to the module's positional arguments: ``None`` for
non-tensor arguments, and for all of them when no argument requires grad (the
hooks then fire at the outputs, with PyTorch's warning). Keyword arguments are
not part of ``grad_input``, as in PyTorch.
"""

from __future__ import annotations

import warnings
from collections import OrderedDict

from ..._grad_mode import is_grad_enabled
from ..._tensor import Tensor
from ...autograd.function import Function

# register_module_full_backward_hook / _pre_hook: hooks of every module (graphc.nn.modules.module)
GLOBAL_BACKWARD_HOOKS: OrderedDict = OrderedDict()  # (an OrderedDict: handles keep a weak reference)
GLOBAL_BACKWARD_PRE_HOOKS: OrderedDict = OrderedDict()


class _CallState:
    """One call of a hooked module: the hooks, and the gradients seen so far."""

    def __init__(self, module, hooks, pre_hooks, n_args, tensor_positions):
        self.module, self.hooks, self.pre_hooks = module, hooks, pre_hooks
        self.n_args, self.tensor_positions = n_args, tensor_positions
        self.grad_output = None
        self.inputs_need_grad = False

    def on_grad_output(self, grads: tuple) -> tuple:
        for hook in self.pre_hooks:
            grads = _replaced(grads, hook(self.module, grads), "Backward pre hook", "grad_output")
        self.grad_output = grads
        if not self.inputs_need_grad and self.hooks:
            warnings.warn(
                "Full backward hook is firing when gradients are computed with respect to module outputs since no "
                "inputs require gradients. See https://docs.pytorch.org/docs/main/generated/torch.nn.Module.html"
                "#torch.nn.Module.register_full_backward_hook for more details.",
                stacklevel=2,
            )
            self.run_hooks((None,) * self.n_args)
        return grads

    def on_grad_input(self, tensor_grads: tuple) -> tuple:
        grad_input = [None] * self.n_args
        for pos, g in zip(self.tensor_positions, tensor_grads):
            grad_input[pos] = g
        grad_input = self.run_hooks(tuple(grad_input))
        return tuple(grad_input[pos] for pos in self.tensor_positions)

    def run_hooks(self, grad_input: tuple) -> tuple:
        for hook in self.hooks:
            grad_input = _replaced(grad_input, hook(self.module, grad_input, self.grad_output), "Backward hook",
                                   "grad_input")
        return grad_input


def _replaced(grads: tuple, returned, hook: str, what: str) -> tuple:
    """The gradients a hook hands on: its return value when it gave one (of the same length)."""
    if returned is None:
        return grads
    returned = returned if isinstance(returned, tuple) else (returned,)
    if len(returned) != len(grads):
        raise RuntimeError(f"{hook} returned an invalid number of {what}, got {len(returned)}, but expected {len(grads)}")
    return returned


class BackwardHookFunction(Function):
    """Identity on tensors whose backward hands their gradients to the module's hooks."""

    @staticmethod
    def forward(ctx, state, is_output, *tensors):
        ctx.state, ctx.is_output = state, is_output
        ctx.set_materialize_grads(False)
        return tensors

    @staticmethod
    def backward(ctx, *grads):
        state = ctx.state
        grads = state.on_grad_output(grads) if ctx.is_output else state.on_grad_input(grads)
        return (None, None) + tuple(grads)


def call_with_backward_hooks(module, args, kwargs, call):
    """``call(args, kwargs)`` (the module's forward with its forward hooks), with the module's
    backward hooks wired around it."""
    hooks = list(GLOBAL_BACKWARD_HOOKS.values()) + list((module.__dict__.get("_backward_hooks") or {}).values())
    pre = list(GLOBAL_BACKWARD_PRE_HOOKS.values()) + list((module.__dict__.get("_backward_pre_hooks") or {}).values())
    if not is_grad_enabled() or not (hooks or pre):
        return call(args, kwargs)
    positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
    state = _CallState(module, hooks, pre, len(args), positions)
    if positions and hooks:
        state.inputs_need_grad = any(args[i].requires_grad for i in positions)
        if state.inputs_need_grad:
            wrapped = BackwardHookFunction.apply(state, False, *[args[i] for i in positions])
            args = list(args)
            for i, w in zip(positions, wrapped):
                args[i] = w
            # (the arguments are now views made by a Function: an in-place op on one inside forward,
            # such as ReLU(inplace=True), raises autograd's view+inplace error at that op, as PyTorch)
            return _wrap_outputs(state, call(tuple(args), kwargs))
    return _wrap_outputs(state, call(args, kwargs))


def _wrap_outputs(state, result):
    single = isinstance(result, Tensor)
    outs = [result] if single else list(result) if isinstance(result, tuple) else None
    if outs is None:
        return result
    idx = [i for i, o in enumerate(outs) if isinstance(o, Tensor) and o.requires_grad]
    if not idx:
        return result
    wrapped = BackwardHookFunction.apply(state, True, *[outs[i] for i in idx])
    for i, w in zip(idx, wrapped):
        outs[i] = w
    return outs[0] if single else type(result)(outs) if not hasattr(result, "_fields") else type(result)(*outs)
