"""``Optimizer``: parameter groups, per-parameter state, ``zero_grad`` and state dicts.

Subclasses write ``step`` as in-place tensor ops under ``graphc.no_grad()``
(``p.add_(d_p, alpha=-lr)``, ``buf.mul_(m).add_(g)``), so that an optimizer
step traces into the graph under ``@graphc.compile`` and becomes in-place
mutations of the parameters and state buffers on replay. Eagerly on the CPU,
SGD may instead run the same arithmetic on the arrays (:func:`numpy_ready`
says when), as PyTorch's ``foreach`` implementations batch theirs.
State tensors (momentum buffers, Adam moments) are graphc tensors; step
counts are Python ints.
"""

from __future__ import annotations

import copy
import functools
import itertools
import warnings
from collections import OrderedDict, defaultdict

import numpy as np

from backends.numpy import runtime as R
from ir import dtypes as dt

from .. import _factories, _state
from .. import _functional as _F
from .._dispatch import dynamic_scalar
from .._hooks import RemovableHandle
from .._tensor import Tensor
from ..autograd.grad_mode import enable_grad, no_grad, zero_grads

__all__ = ["Optimizer", "required", "register_optimizer_step_pre_hook", "register_optimizer_step_post_hook"]


def new_step_count(p: Tensor) -> Tensor:
    """A parameter's step count as PyTorch keeps it in the optimizer state: a 0-d float32 tensor
    on the parameter's device (so a compiled step reads it, and bias corrections follow it)."""
    return _factories.zeros((), dtype=dt.float32, device=p.device)


def numpy_ready(params, *numbers, state=()) -> bool:
    """Whether an optimizer may update ``params`` on their numpy arrays, skipping dispatch:
    nothing is tracing; the parameters, their gradients and the ``state`` tensors are CPU
    float32/float64 arrays, writable, gradients and state of the parameter's dtype and shape;
    the hyper-parameters in ``numbers`` are Python numbers."""
    if _state.active_tracer() is not None:
        return False
    if any(type(x) not in (int, float) for x in numbers):
        return False
    for p in params:
        data = p._data
        if type(data) is not np.ndarray or p._dtype not in (dt.float32, dt.float64) or not data.flags.writeable:
            return False
        g = p._grad._data
        if type(g) is not np.ndarray or g.dtype != data.dtype or g.shape != data.shape:
            return False
    for t in state:
        d = t._data
        if type(d) is not np.ndarray or t._dtype not in (dt.float32, dt.float64) or not d.flags.writeable:
            return False
    return True


def axpy_array(a: np.ndarray, x: np.ndarray, s: float, out: np.ndarray | None = None) -> np.ndarray:
    """``a + s * x`` rounded once, ``s`` first rounded to the arrays' dtype: the arithmetic of
    PyTorch's ``a.add(x, alpha=s)`` on the CPU (a fused multiply-add), into ``out`` (a fresh
    array by default; ``a`` itself updates in place)."""
    if out is None:
        out = np.empty_like(a)
    R.fma_into(x, np.asarray(s, dtype=a.dtype), a, out)
    return out


def decayed_grad(p: Tensor, grad, lr, wd, decoupled: bool = False):
    """Weight decay: ``p *= 1 - lr * wd`` in place (decoupled, as AdamW) and ``grad`` unchanged,
    or ``grad + wd * p``; ``grad`` itself when ``wd`` is 0."""
    if wd == 0:
        return grad
    if decoupled:
        p.mul_(1.0 - lr * wd if isinstance(lr, (int, float)) else _F.rsub(_F.mul(lr, wd), 1.0))
        return grad
    return _F.add(grad, p, alpha=wd)


def zeroed_state(*names):
    """A ``new_state`` for :meth:`Optimizer._updates`: a step count, then zeroed tensors ``names``
    shaped like the parameter."""

    def new_state(p, group) -> dict:
        return {"step": new_step_count(p), **{name: _factories.zeros_like(p) for name in names}}

    return new_state


def check_lr(lr) -> None:
    """PyTorch's learning-rate check: a negative number raises ValueError, and a value that does
    not compare with numbers (``lr='0.1'``) raises the comparison's TypeError, as there. A tensor
    lr is accepted as it is."""
    if isinstance(lr, Tensor) or lr is required:
        return
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")


def check_fused(fused, foreach, differentiable) -> None:
    """The ``fused`` flag's conflicts, with PyTorch's errors (graphc has no fused kernels; the
    flag is kept so that code written for PyTorch runs, and fails where PyTorch's does)."""
    if fused:
        if differentiable:
            raise RuntimeError("`fused` does not support `differentiable`")
        if foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")


_global_step_pre_hooks: OrderedDict = OrderedDict()
_global_step_post_hooks: OrderedDict = OrderedDict()


def _handle(hooks: OrderedDict, hook, prepend: bool = False):
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


def register_optimizer_step_pre_hook(hook):
    """``hook(optimizer, args, kwargs)`` runs before every optimizer's ``step``; it may return
    ``(new_args, new_kwargs)``. Returns a handle whose ``remove()`` takes it away."""
    return _handle(_global_step_pre_hooks, hook)


def register_optimizer_step_post_hook(hook):
    """``hook(optimizer, args, kwargs)`` runs after every optimizer's ``step``."""
    return _handle(_global_step_post_hooks, hook)


def _with_step_hooks(step):
    """Wrap a subclass's ``step``: the global and per-optimizer step hooks around it (``args``
    starts with the optimizer, as PyTorch passes it), and ``_opt_called`` set, which the
    schedulers read to warn when they are stepped first. A ``step`` that calls ``super().step()``
    runs the hooks once."""

    @functools.wraps(step)
    def wrapper(self, *args, **kwargs):
        if self.__dict__.get("_in_step"):
            return step(self, *args, **kwargs)
        self._opt_called = True
        args = (self, *args)
        for hook in itertools.chain(_global_step_pre_hooks.values(), self._optimizer_step_pre_hooks.values()):
            result = hook(self, args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError(
                        f"{step} must return None or a tuple of (new_args, new_kwargs), but got {result}."
                    )
                args, kwargs = result
        self._in_step = True
        try:
            out = step(*args, **kwargs)
        finally:
            self._in_step = False
        for hook in itertools.chain(self._optimizer_step_post_hooks.values(), _global_step_post_hooks.values()):
            hook(self, args, kwargs)
        return out

    wrapper._with_step_hooks = True
    return wrapper


_HOOK_DICTS = (
    "_optimizer_step_pre_hooks",
    "_optimizer_step_post_hooks",
    "_optimizer_state_dict_pre_hooks",
    "_optimizer_state_dict_post_hooks",
    "_optimizer_load_state_dict_pre_hooks",
    "_optimizer_load_state_dict_post_hooks",
)


class _Required:
    def __repr__(self) -> str:
        return "<required parameter>"


required = _Required()


class Optimizer:
    """Base class: holds ``param_groups`` (dicts with ``'params'`` and hyper-parameters) and ``state``.

    >>> opt = optim.SGD([{"params": net.fc1.parameters()}, {"params": net.fc2.parameters(), "lr": 1e-3}], lr=0.1)
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_with_step_hooks", False):
            cls.step = _with_step_hooks(step)

    def __init__(self, params, defaults: dict):
        self._init_hooks()
        self.defaults = defaults
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict] = []
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or dicts, but got "
                + type(params).__name__
            )
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._init_hooks()

    def _init_hooks(self) -> None:
        for name in _HOOK_DICTS:
            self.__dict__.setdefault(name, OrderedDict())

    def register_step_pre_hook(self, hook):
        """``hook(optimizer, args, kwargs)`` runs before this optimizer's ``step``; it may return
        ``(new_args, new_kwargs)``. Returns a handle whose ``remove()`` takes it away."""
        return _handle(self._optimizer_step_pre_hooks, hook)

    def register_step_post_hook(self, hook):
        """``hook(optimizer, args, kwargs)`` runs after this optimizer's ``step``."""
        return _handle(self._optimizer_step_post_hooks, hook)

    def register_state_dict_pre_hook(self, hook, prepend: bool = False):
        """``hook(optimizer)`` runs before :meth:`state_dict` builds the dict."""
        return _handle(self._optimizer_state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(self, hook, prepend: bool = False):
        """``hook(optimizer, state_dict)`` runs on the built dict; a dict it returns replaces it."""
        return _handle(self._optimizer_state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(self, hook, prepend: bool = False):
        """``hook(optimizer, state_dict)`` runs on a shallow copy of the dict given to
        :meth:`load_state_dict`; a dict it returns is loaded instead."""
        return _handle(self._optimizer_load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(self, hook, prepend: bool = False):
        """``hook(optimizer)`` runs after :meth:`load_state_dict`."""
        return _handle(self._optimizer_load_state_dict_post_hooks, hook, prepend)

    def __repr__(self) -> str:
        s = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            s += "\n"
            s += f"Parameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    s += f"    {key}: {group[key]}\n"
        return s + ")"

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters (a dict with ``'params'`` and optional hyper-parameters)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the ordering of tensors in "
                "sets will change between runs. Please use a list instead."
            )
        else:
            param_group["params"] = list(params)
        for p in param_group["params"]:
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is " + type(p).__name__)
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            param_group.setdefault(name, default)
        params = param_group["params"]
        if len(params) != len({id(p) for p in params}):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; in future, this will cause an error",
                stacklevel=3,
            )
        seen = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
        if any(id(p) in seen for p in param_group["params"]):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized parameters: to None (default) or to zeros."""
        zero_grads((p for group in self.param_groups for p in group["params"]), set_to_none)

    def step(self, closure=None):
        raise NotImplementedError

    def _updates(self, group, new_state=None):
        """``(p, grad, state)`` for each parameter of ``group`` that has a gradient, in order, as
        every optimizer's step walks them: ``grad`` negated under ``maximize``; an empty
        ``state`` first filled from ``new_state(p, group)`` (a dict); its ``"step"`` count, if it
        keeps one, advanced."""
        for p in group["params"]:
            if p.grad is None:
                continue
            grad = _F.neg(p.grad) if group["maximize"] else p.grad
            state = self._state_of(p, group, new_state)
            step = state.get("step")
            if step is not None:
                step.add_(1)
            yield p, grad, state

    def _state_of(self, p, group, new_state=None) -> dict:
        """``self.state[p]``, filled from ``new_state(p, group)`` the first time (when given)."""
        state = self.state[p]
        if not state and new_state is not None:
            state.update(new_state(p, group))
        return state

    @staticmethod
    def _lr(group):
        """The group's learning rate: a float eagerly; under ``@graphc.compile`` a scalar
        graph input read from ``group['lr']`` on every call, so a scheduler's changes reach
        a compiled training step without retracing."""
        return dynamic_scalar(lambda: group["lr"])

    @staticmethod
    def _neg_lr(group):
        """``-lr`` as :meth:`_lr` gives ``lr``: negated in Python on every call, so an update
        ``p + (-lr) * g`` needs no negation kernel in a compiled step."""
        return dynamic_scalar(lambda: -group["lr"])

    @staticmethod
    def _hyper(group, key, index=None):
        """A hyper-parameter that schedulers change between steps (``momentum``, Adam's beta1 under
        ``CyclicLR``/``OneCycleLR``): a float eagerly, a per-call scalar input under compile (as lr)."""
        if index is None:
            return dynamic_scalar(lambda: group[key])
        return dynamic_scalar(lambda: group[key][index])

    def _closure(self, closure):
        if closure is None:
            return None
        with enable_grad():
            return closure()

    # -- state dicts ----------------------------------------------------------------
    def state_dict(self) -> dict:
        """``{'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]}``, as PyTorch.

        Parameters are replaced by their position across all groups; state tensors
        are the live tensors (``graphc.save`` copies them).
        """
        for hook in self._optimizer_state_dict_pre_hooks.values():
            hook(self)
        index_of = {}
        start = 0

        def pack(group):
            nonlocal start
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                index_of.setdefault(id(p), i)
            packed["params"] = [index_of[id(p)] for p in group["params"]]
            start += len(packed["params"])
            return packed

        groups = [pack(g) for g in self.param_groups]
        state = {index_of[id(k)]: v for k, v in self.state.items() if isinstance(k, Tensor) and id(k) in index_of}
        state_dict = {"state": state, "param_groups": groups}
        for hook in self._optimizer_state_dict_post_hooks.values():
            result = hook(self, state_dict)
            if result is not None:
                state_dict = result
        return state_dict

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore hyper-parameters and state saved by :meth:`state_dict` (tensors are copied)."""
        state_dict = dict(state_dict)
        for hook in self._optimizer_load_state_dict_pre_hooks.values():
            result = hook(self, state_dict)
            if result is not None:
                state_dict = result
        state_dict = {"state": state_dict["state"], "param_groups": state_dict["param_groups"]}
        groups = self.param_groups
        saved_groups = state_dict["param_groups"]
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError(
                "loaded state dict contains a parameter group that doesn't match the size of optimizer's group"
            )
        id_map = {}
        for g, s in zip(groups, saved_groups):
            for old_id, p in zip(s["params"], g["params"]):
                id_map[old_id] = p

        def cast(param, value, key=None):
            if isinstance(value, Tensor):
                if key != "step" and value.is_floating_point() and param.is_floating_point():
                    value = value.to(param.dtype)
                value = value.to(param.device)
                with no_grad():
                    return value.detach().clone()
            if isinstance(value, dict):
                return {k: cast(param, v, k) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return type(value)(cast(param, v, key) for v in value)
            return copy.deepcopy(value)

        state = defaultdict(dict)
        for k, v in state_dict["state"].items():
            key = int(k) if isinstance(k, str) and k.isdigit() else k
            if key in id_map:
                p = id_map[key]
                state[p] = cast(p, v)
            else:
                state[k] = v

        def update_group(group, new_group):
            new_group = {k: copy.deepcopy(v) for k, v in new_group.items() if k != "params"}
            new_group["params"] = group["params"]
            return new_group

        self.__setstate__(
            {"state": state, "param_groups": [update_group(g, ng) for g, ng in zip(groups, saved_groups)]}
        )
        for hook in self._optimizer_load_state_dict_post_hooks.values():
            hook(self)
