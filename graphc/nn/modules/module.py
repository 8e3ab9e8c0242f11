"""``Module``: the base class of layers and models, with PyTorch's registration semantics.

Assigning a :class:`~graphc.nn.Parameter` or a ``Module`` to an attribute
registers it (``self.fc1 = nn.Linear(...)`` makes ``fc1.weight`` a parameter
of the model); buffers are registered with :meth:`Module.register_buffer`.
Everything PyTorch code reaches for is here: ``parameters``,
``named_modules``, ``state_dict`` / ``load_state_dict``, ``train`` / ``eval``,
``to``, ``zero_grad``, hooks and a ``repr`` that prints the module tree.
"""

from __future__ import annotations

from collections import OrderedDict, namedtuple

from ir import dtypes as dt

from ... import _epochs
from ..._compiler import CompiledFunction
from ..._grad_mode import no_grad, zero_grads
from ..._hooks import RemovableHandle
from ..._layout import channels_last, channels_last_3d
from ..._methods import _parse_to
from ..._tensor import Tensor
from ..parameter import Buffer, Parameter
from . import _backward_hooks as _bh

__all__ = [
    "Module",
    "RemovableHandle",
    "register_module_full_backward_hook",
    "register_module_full_backward_pre_hook",
]


def register_module_full_backward_hook(hook) -> RemovableHandle:
    """A full backward hook for every module (runs before each module's own hooks)."""
    handle = RemovableHandle(_bh.GLOBAL_BACKWARD_HOOKS)
    _bh.GLOBAL_BACKWARD_HOOKS[handle.id] = hook
    return handle


def register_module_full_backward_pre_hook(hook) -> RemovableHandle:
    """A backward pre-hook for every module (runs before each module's own pre-hooks)."""
    handle = RemovableHandle(_bh.GLOBAL_BACKWARD_PRE_HOOKS)
    _bh.GLOBAL_BACKWARD_PRE_HOOKS[handle.id] = hook
    return handle


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def _addindent(s: str, num_spaces: int) -> str:
    lines = s.split("\n")
    if len(lines) == 1:
        return s
    first = lines.pop(0)
    return first + "\n" + "\n".join(" " * num_spaces + line for line in lines)


def _forward_unimplemented(self, *input):
    raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')


class Module:
    """Base class for all neural network modules; subclass it and define ``forward``.

    >>> class Net(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.fc = nn.Linear(4, 2)
    ...     def forward(self, x):
    ...         return self.fc(x).relu()
    """

    training: bool
    dump_patches = False
    call_super_init = False
    forward = _forward_unimplemented

    def __init__(self, *args, **kwargs) -> None:
        if args or kwargs:
            raise TypeError(
                f"{type(self).__name__}.__init__() got unexpected arguments {args} {kwargs}: Module.__init__ takes none"
            )
        d = self.__dict__
        # The stores bump graphc._epochs.MODULES when they change: compiled functions
        # re-check what they read of a module only after a change (graphc._guards).
        d["training"] = True
        d["_parameters"] = _epochs.EpochDict()
        d["_buffers"] = _epochs.EpochDict()
        d["_non_persistent_buffers_set"] = set()
        d["_modules"] = _epochs.EpochDict()
        d["_forward_hooks"] = _epochs.EpochDict()
        d["_forward_hooks_with_kwargs"] = set()
        d["_forward_pre_hooks"] = _epochs.EpochDict()
        d["_forward_pre_hooks_with_kwargs"] = set()
        d["_backward_hooks"] = _epochs.EpochDict()
        d["_backward_pre_hooks"] = _epochs.EpochDict()
        d["_is_full_backward_hook"] = None

    # -- calling ---------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        compiled = self.__dict__.get("_compiled_call_impl")  # set by Module.compile()
        if compiled is not None:
            return compiled(*args, **kwargs)
        return self._call_impl(*args, **kwargs)

    def _call_impl(self, *args, **kwargs):
        """Run the forward pre-hooks, ``forward`` and the forward hooks (and wire the backward
        hooks around them: :mod:`._backward_hooks`)."""
        d = self.__dict__
        if (
            d.get("_backward_hooks")
            or d.get("_backward_pre_hooks")
            or _bh.GLOBAL_BACKWARD_HOOKS
            or (_bh.GLOBAL_BACKWARD_PRE_HOOKS)
        ):
            return _bh.call_with_backward_hooks(self, args, kwargs, lambda a, k: self._call_forward(*a, **k))
        return self._call_forward(*args, **kwargs)

    def _call_forward(self, *args, **kwargs):
        pre = self.__dict__.get("_forward_pre_hooks")
        post = self.__dict__.get("_forward_hooks")
        if not pre and not post:
            return self.forward(*args, **kwargs)
        if pre:
            with_kwargs = self._forward_pre_hooks_with_kwargs
            for hid, hook in list(pre.items()):
                if hid in with_kwargs:
                    r = hook(self, args, kwargs)
                    if r is not None:
                        args, kwargs = r
                else:
                    r = hook(self, args)
                    if r is not None:
                        args = r if isinstance(r, tuple) else (r,)
        result = self.forward(*args, **kwargs)
        if post:
            with_kwargs = self._forward_hooks_with_kwargs
            for hid, hook in list(post.items()):
                r = hook(self, args, kwargs, result) if hid in with_kwargs else hook(self, args, result)
                if r is not None:
                    result = r
        return result

    def compile(self, *args, **kwargs) -> None:
        """Compile this module's calls in place (PyTorch's ``Module.compile``): later calls
        run ``graphc.compile(self._call_impl, *args, **kwargs)``; the module stays itself."""
        self.__dict__["_compiled_call_impl"] = CompiledFunction(self._call_impl, *args, **kwargs)

    def register_forward_pre_hook(self, hook, *, prepend: bool = False, with_kwargs: bool = False) -> RemovableHandle:
        """``hook(module, args)`` runs before ``forward``; it may return new args."""
        handle = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.id] = hook
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs.add(handle.id)
        if prepend:
            self._forward_pre_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_forward_hook(
        self, hook, *, prepend: bool = False, with_kwargs: bool = False, always_call: bool = False
    ) -> RemovableHandle:
        """``hook(module, args, output)`` runs after ``forward``; it may return a new output."""
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        if with_kwargs:
            self._forward_hooks_with_kwargs.add(handle.id)
        if prepend:
            self._forward_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_full_backward_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """``hook(module, grad_input, grad_output)`` runs when the gradients w.r.t. the module's
        positional arguments are computed; it may return a replacement ``grad_input`` tuple.

        ``grad_input`` has one entry per positional argument (None for non-tensors, and for all
        when no argument requires grad: the hook then fires with the output gradients).
        """
        if self.__dict__.get("_is_full_backward_hook") is False:
            raise RuntimeError(
                "Cannot use both regular backward hooks and full backward hooks on a single Module. Please use only "
                "one of them."
            )
        self.__dict__["_is_full_backward_hook"] = True
        return self._add_backward_hook("_backward_hooks", hook, prepend)

    def register_full_backward_pre_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """``hook(module, grad_output)`` runs when the gradients w.r.t. the module's outputs are
        computed, before the full backward hooks; it may return a replacement ``grad_output``."""
        return self._add_backward_hook("_backward_pre_hooks", hook, prepend)

    def register_backward_hook(self, hook) -> RemovableHandle:
        """Deprecated (use :meth:`register_full_backward_hook`). graphc gives it the full hook's
        well-defined ``grad_input`` (the gradients w.r.t. the module's arguments), where PyTorch
        passes those of the last op inside the module."""
        if self.__dict__.get("_is_full_backward_hook") is True:
            raise RuntimeError(
                "Cannot use both regular backward hooks and full backward hooks on a single Module. Please use only "
                "one of them."
            )
        self.__dict__["_is_full_backward_hook"] = False
        return self._add_backward_hook("_backward_hooks", hook, False)

    def _add_backward_hook(self, store: str, hook, prepend: bool) -> RemovableHandle:
        hooks = self.__dict__.get(store)
        if hooks is None:  # a module unpickled from before backward hooks existed
            hooks = self.__dict__[store] = _epochs.EpochDict()
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        if prepend:
            hooks.move_to_end(handle.id, last=False)
        return handle

    # -- registration ------------------------------------------------------------
    def register_buffer(self, name: str, tensor, persistent: bool = True) -> None:
        """Add a tensor that is state but not a parameter (e.g. BatchNorm's running mean)."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        self._check_name(name, "buffer", allow_existing=name in self._buffers)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' (graphc Tensor or None required)"
            )
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def register_parameter(self, name: str, param) -> None:
        """Add a parameter (or None) under ``name``."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        self._check_name(name, "parameter", allow_existing=name in self._parameters)
        if param is None:
            self._parameters[name] = None
            return
        if not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{type(param).__name__}' object to parameter '{name}' (graphc.nn.Parameter or None required)"
            )
        if param.grad_fn is not None:
            raise ValueError(
                f"Cannot assign non-leaf Tensor to parameter '{name}'. Model parameters must be created explicitly. "
                f"To express '{name}' as a function of another Tensor, compute the value in the forward() method."
            )
        self._parameters[name] = param

    def add_module(self, name: str, module) -> None:
        """Add a child module under ``name`` (reachable as an attribute)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        if not isinstance(name, str):
            raise TypeError(f"module name should be a string. Got {type(name).__name__}")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        if "." in name:
            raise KeyError(f'module name can\'t contain ".", got: {name}')
        if name == "":
            raise KeyError('module name can\'t be empty string ""')
        self._modules[name] = module

    register_module = add_module

    def _check_name(self, name, kind, allow_existing):
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string. Got {type(name).__name__}")
        if "." in name:
            raise KeyError(f'{kind} name can\'t contain "."')
        if name == "":
            raise KeyError(f'{kind} name can\'t be empty string ""')
        if not allow_existing and hasattr(self, name) and name not in self._parameters and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")

    def get_submodule(self, target: str) -> "Module":
        if target == "":
            return self
        mod = self
        for item in target.split("."):
            if item not in mod._modules:
                raise AttributeError(f"{mod._get_name()} has no attribute `{item}`")
            mod = mod._modules[item]
        return mod

    def get_parameter(self, target: str) -> Parameter:
        module_path, _, name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if name not in mod._parameters:
            raise AttributeError(f"`{name}` is not an nn.Parameter")
        return mod._parameters[name]

    def get_buffer(self, target: str) -> Tensor:
        module_path, _, name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if name not in mod._buffers:
            raise AttributeError(f"`{name}` is not a buffer")
        return mod._buffers[name]

    # -- attribute protocol --------------------------------------------------------
    def __getattr__(self, name: str):
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            s = d.get(store)
            if s is not None and name in s:
                return s[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __setattr__(self, name: str, value) -> None:
        d = self.__dict__

        def remove_from(*stores):
            for s in stores:
                if name in s:
                    if isinstance(s, set):
                        s.discard(name)
                    else:
                        del s[name]

        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            remove_from(d, self._buffers, self._modules, self._non_persistent_buffers_set)
            self.register_parameter(name, value)
            return
        if params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as parameter '{name}' (graphc.nn.Parameter or None expected)"
                )
            self.register_parameter(name, value)
            return
        modules = d.get("_modules")
        if isinstance(value, Module):
            if modules is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            remove_from(d, self._parameters, self._buffers, self._non_persistent_buffers_set)
            modules[name] = value
            return
        if modules is not None and name in modules:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as child module '{name}' (graphc.nn.Module or None expected)"
                )
            modules[name] = value
            return
        buffers = d.get("_buffers")
        if isinstance(value, Buffer):
            if buffers is None:
                raise AttributeError("cannot assign buffer before Module.__init__() call")
            remove_from(d, self._parameters, self._modules)
            self.register_buffer(name, value.data, value.persistent)
            return
        if buffers is not None and name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as buffer '{name}' (graphc.Tensor or None expected)"
                )
            buffers[name] = value
            return
        if d.get(name, _epochs) is not value:  # a change (train() to the same mode is none)
            _epochs.bump()
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        for store in ("_parameters", "_buffers", "_modules"):
            s = self.__dict__.get(store)
            if s is not None and name in s:
                del s[name]
                self._non_persistent_buffers_set.discard(name)
                return
        _epochs.bump()
        object.__delattr__(self, name)

    def __dir__(self):
        keys = list(object.__dir__(self)) + list(self._parameters) + list(self._modules) + list(self._buffers)
        return sorted(k for k in set(keys) if not k[0].isdigit())

    def __setstate__(self, state):
        _epochs.bump()
        self.__dict__.update(state)

    # -- iteration -------------------------------------------------------------------
    def _named_members(self, get_members, prefix="", recurse=True, remove_duplicate=True):
        memo = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for k, v in get_members(module):
                if v is None or (remove_duplicate and id(v) in memo):
                    continue
                if remove_duplicate:
                    memo.add(id(v))
                yield (module_prefix + ("." if module_prefix else "") + k, v)

    def parameters(self, recurse: bool = True):
        """The parameters of this module (and, with ``recurse``, of every submodule), once each."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_parameters(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        """``(name, parameter)`` pairs named like ``'fc1.weight'``."""
        yield from self._named_members(lambda m: m._parameters.items(), prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def named_buffers(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        yield from self._named_members(lambda m: m._buffers.items(), prefix, recurse, remove_duplicate)

    def children(self):
        for _, m in self.named_children():
            yield m

    def named_children(self):
        memo = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in memo:
                memo.add(id(module))
                yield name, module

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_modules(self, memo=None, prefix: str = "", remove_duplicate: bool = True):
        """``(name, module)`` for this module (name ``prefix``) and all submodules, depth first."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            sub = prefix + ("." if prefix else "") + name
            yield from module.named_modules(memo, sub, remove_duplicate)

    # -- modes and gradients ------------------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        """Set training mode (affects Dropout, BatchNorm...) here and in every submodule."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        self.training = mode
        for module in self.children():
            module.train(mode)
        return self

    def eval(self) -> "Module":
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        """Set ``requires_grad`` of every parameter (``False`` freezes the module)."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters: to None (default) or to zeros."""
        zero_grads(self.parameters(), set_to_none)

    # -- conversion ------------------------------------------------------------------
    def _apply(self, fn, recurse: bool = True) -> "Module":
        if recurse:
            for module in self.children():
                module._apply(fn)
        for key, param in self._parameters.items():
            if param is None:
                continue
            with no_grad():
                new = fn(param)
            if new is not param:
                param.data = new
            if param._grad is not None:
                with no_grad():
                    g = fn(param._grad)
                if g is not param._grad:
                    param._grad = g
        for key, buf in self._buffers.items():
            if buf is not None:
                with no_grad():
                    self._buffers[key] = fn(buf)
        return self

    def apply(self, fn) -> "Module":
        """Call ``fn(module)`` on every submodule (children first) and on self; returns self.

        >>> net.apply(lambda m: nn.init.zeros_(m.bias) if isinstance(m, nn.Linear) else None)
        """
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    def to(self, *args, **kwargs) -> "Module":
        """Move parameters and buffers to a device and/or cast floating ones to a dtype, in place.

        >>> net.to("cuda"); net.to(graphc.float64); net.to(device, dtype)
        """
        device, dtype, _, memory_format = _parse_to(args, dict(kwargs))
        if dtype is not None and not dtype.is_floating_point:
            raise TypeError(f"nn.Module.to only accepts floating point dtypes, but got desired dtype={dtype}")

        def convert(t):
            if (memory_format is channels_last and t.dim() == 4) or (
                memory_format is channels_last_3d and t.dim() == 5
            ):
                return t.to(device, dtype if t.is_floating_point() else None, memory_format=memory_format)
            return t.to(device, dtype if t.is_floating_point() else None)

        return self._apply(convert)

    def cpu(self) -> "Module":
        return self._apply(lambda t: t.cpu())

    def cuda(self, device=None) -> "Module":
        return self._apply(lambda t: t.cuda(device))

    def type(self, dst_type) -> "Module":
        return self._apply(lambda t: t.type(dst_type))

    def float(self) -> "Module":
        return self._apply(lambda t: t.to(dt.float32) if t.is_floating_point() else t)

    def double(self) -> "Module":
        return self._apply(lambda t: t.to(dt.float64) if t.is_floating_point() else t)

    def half(self) -> "Module":
        return self._apply(lambda t: t.to(dt.float16) if t.is_floating_point() else t)

    def bfloat16(self) -> "Module":
        return self._apply(lambda t: t.to(dt.bfloat16) if t.is_floating_point() else t)

    # -- state dict ------------------------------------------------------------------------
    def state_dict(self, *args, destination=None, prefix: str = "", keep_vars: bool = False):
        """An ordered dict of every parameter and persistent buffer, keyed ``'fc1.weight'`` etc.

        The values share memory with the module (detached unless ``keep_vars``).
        """
        if args:  # PyTorch's deprecated positional form (destination, prefix, keep_vars)
            destination = args[0]
            if len(args) > 1:
                prefix = args[1]
            if len(args) > 2:
                keep_vars = args[2]
        if destination is None:
            destination = OrderedDict()
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = b if keep_vars else b.detach()
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination=destination, prefix=prefix + name + ".", keep_vars=keep_vars)
        return destination

    def _load_from_state_dict(
        self, state_dict, prefix, strict, missing_keys, unexpected_keys, error_msgs, assign=False
    ):
        local = [(n, p) for n, p in self._parameters.items() if p is not None]
        local += [
            (n, b) for n, b in self._buffers.items() if b is not None and n not in self._non_persistent_buffers_set
        ]
        for name, param in local:
            key = prefix + name
            if key not in state_dict:
                missing_keys.append(key)
                continue
            value = state_dict[key]
            if not isinstance(value, Tensor):
                error_msgs.append(
                    f'While copying the parameter named "{key}", expected torch.Tensor or Tensor-like object from '
                    f"checkpoint but received {type(value)}"
                )
                continue
            if tuple(value.shape) != tuple(param.shape):
                error_msgs.append(
                    f"size mismatch for {key}: copying a param with shape {value.shape} from checkpoint, "
                    f"the shape in current model is {param.shape}."
                )
                continue
            try:
                with no_grad():
                    if assign:
                        if name in self._parameters:
                            new = value if isinstance(value, Parameter) else Parameter(value, param.requires_grad)
                            self._parameters[name] = new
                        else:
                            self._buffers[name] = value
                    else:
                        param.copy_(value)
            except Exception as ex:  # noqa: BLE001 - reported like PyTorch, with the key
                error_msgs.append(
                    f'While copying the parameter named "{key}", whose dimensions in the model are {param.shape} '
                    f"and whose dimensions in the checkpoint are {value.shape}, an exception occurred : {ex.args}."
                )

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """Copy parameters and buffers from ``state_dict`` (as made by :meth:`state_dict`).

        With ``strict`` (default), missing or unexpected keys raise a RuntimeError
        listing them; the result names them either way.
        """
        if not hasattr(state_dict, "keys") or not hasattr(state_dict, "__getitem__"):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        missing, unexpected, errors = [], [], []
        expected = set()
        for prefix, module in self.named_modules(remove_duplicate=False):
            p = prefix + "." if prefix else ""
            module._load_from_state_dict(state_dict, p, strict, missing, unexpected, errors, assign)
            expected.update(p + n for n, v in module._parameters.items() if v is not None)
            expected.update(
                p + n
                for n, v in module._buffers.items()
                if v is not None and n not in module._non_persistent_buffers_set
            )
        unexpected.extend(k for k in state_dict.keys() if k not in expected)
        if strict:
            if unexpected:
                errors.insert(
                    0, "Unexpected key(s) in state_dict: {}. ".format(", ".join(f'"{k}"' for k in unexpected))
                )
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: {}. ".format(", ".join(f'"{k}"' for k in missing)))
        if errors:
            raise RuntimeError(
                "Error(s) in loading state_dict for {}:\n\t{}".format(self._get_name(), "\n\t".join(errors))
            )
        return _IncompatibleKeys(missing, unexpected)

    # -- printing ----------------------------------------------------------------------------
    def _get_name(self) -> str:
        return type(self).__name__

    def extra_repr(self) -> str:
        """The text inside this module's parentheses in ``repr`` (override in layers)."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({key}): " + _addindent(repr(module), 2) for key, module in self._modules.items()]
        lines = extra_lines + child_lines
        main = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                main += extra_lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"
