"""``graphc.compile(module)`` returns a module: :class:`OptimizedModule`, and ``graphc.compile``.

A training script compiles its model and keeps treating it as the model —
``model.train()``, ``model.eval()``, ``model.parameters()``, ``model.state_dict()``,
``model.config``. PyTorch's ``torch.compile(model)`` returns an ``OptimizedModule``
that is an ``nn.Module`` forwarding to the original; so does graphc's. Calls go through
the compiled function; everything else is the original module's (its parameters,
names and state-dict keys are the original's: no ``_orig_mod.`` prefix, and
``load_state_dict`` accepts keys with that prefix too, as saved from PyTorch).
"""

from __future__ import annotations

from ._compiler import CompiledFunction
from .nn.modules.module import Module

_PREFIX = "_orig_mod."

# Methods that act on the module tree: the original's, not the (empty) wrapper's.
_FORWARDED = {
    "train",
    "eval",
    "requires_grad_",
    "to",
    "cpu",
    "cuda",
    "float",
    "double",
    "half",
    "bfloat16",
    "type",
    "apply",
    "_apply",
    "parameters",
    "named_parameters",
    "buffers",
    "named_buffers",
    "children",
    "named_children",
    "modules",
    "named_modules",
    "state_dict",
    "zero_grad",
    "get_submodule",
    "get_parameter",
    "get_buffer",
    "register_buffer",
    "register_parameter",
    "add_module",
    "register_module",
    "register_forward_hook",
    "register_forward_pre_hook",
    "extra_repr",
}


class OptimizedModule(Module):
    """A compiled module: calls run the compiled function, everything else is ``_orig_mod``'s.

    >>> model = graphc.compile(GPT(config))
    >>> model.eval(); model.state_dict().keys() == model._orig_mod.state_dict().keys()
    True
    """

    def __init__(self, mod: Module, compiled: CompiledFunction):
        d = self.__dict__
        d["_orig_mod"] = mod
        d["_compiled"] = compiled
        for store in ("_parameters", "_buffers", "_modules", "_forward_hooks", "_forward_pre_hooks"):
            d[store] = {}
        d["_non_persistent_buffers_set"] = set()
        d["_forward_hooks_with_kwargs"] = set()
        d["_forward_pre_hooks_with_kwargs"] = set()

    # -- calls ------------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        return self.__dict__["_compiled"](*args, **kwargs)

    def forward(self, *args, **kwargs):
        return self.__dict__["_compiled"](*args, **kwargs)

    def cache_info(self):
        return self._compiled.cache_info()

    def cache_clear(self) -> None:
        self._compiled.cache_clear()

    def explain(self, *args, **kwargs):
        return self._compiled.explain(*args, **kwargs)

    # -- the original module ------------------------------------------------------------------
    @property
    def training(self) -> bool:
        return self.__dict__["_orig_mod"].training

    @training.setter
    def training(self, mode: bool) -> None:
        self.__dict__["_orig_mod"].train(mode)

    def __getattr__(self, name: str):
        return getattr(self.__dict__["_orig_mod"], name)

    def __setattr__(self, name: str, value) -> None:
        setattr(self.__dict__["_orig_mod"], name, value)

    def __delattr__(self, name: str) -> None:
        delattr(self.__dict__["_orig_mod"], name)

    def __dir__(self):
        return sorted(set(dir(self.__dict__["_orig_mod"])) | {"_orig_mod", "cache_info", "explain"})

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """The original's ``load_state_dict``; keys saved with PyTorch's ``_orig_mod.`` prefix load too."""
        if any(isinstance(k, str) and k.startswith(_PREFIX) for k in state_dict):
            state_dict = type(state_dict)(
                (k[len(_PREFIX) :] if k.startswith(_PREFIX) else k, v) for k, v in state_dict.items()
            )
        return self.__dict__["_orig_mod"].load_state_dict(state_dict, strict=strict, assign=assign)

    def __repr__(self) -> str:
        inner = repr(self.__dict__["_orig_mod"]).replace("\n", "\n  ")
        return f"OptimizedModule(\n  (_orig_mod): {inner}\n)"


def _forwarding(name: str):
    """``OptimizedModule.<name>``: the original's method (returning the wrapper where it
    would return the module itself, so ``model = model.to(...)`` keeps the compiled one)."""

    def method(self, *args, **kwargs):
        orig = self.__dict__["_orig_mod"]
        out = getattr(orig, name)(*args, **kwargs)
        return self if out is orig else out

    method.__name__ = method.__qualname__ = name
    method.__doc__ = getattr(Module, name).__doc__
    return method


for _name in sorted(_FORWARDED):
    setattr(OptimizedModule, _name, _forwarding(_name))


def compile(  # noqa: A001 - PyTorch's name
    model=None,
    *,
    backend: str | None = None,
    fullgraph: bool = False,
    dynamic=None,
    mode=None,
    options=None,
    disable: bool = False,
    warmup: bool = False,
):
    """Compile a function (or a Module, or any callable) into fused, cached kernels.

    >>> @graphc.compile
    ... def f(x, y):
    ...     return (x * y).relu().sum()

    The first call traces the function and runs the generated program (as
    torch.compile and jax.jit do); later calls whose guards pass replay it. A
    Module comes back as an :class:`OptimizedModule` (a Module forwarding to the
    original). ``backend``: ``'numpy'`` (CPU) or ``'triton'``; by default the
    tensors' device decides. ``fullgraph=True`` turns every eager fallback into an
    error. ``warmup=True`` (graphc's own option) runs the first call of each
    signature eagerly and traces the second. ``mode``, ``dynamic`` and ``options``
    are accepted for PyTorch's sake and ignored; ``disable=True`` returns the
    function as it is.
    """
    if model is None:
        return lambda f: compile(
            f,
            backend=backend,
            fullgraph=fullgraph,
            dynamic=dynamic,
            mode=mode,
            options=options,
            disable=disable,
            warmup=warmup,
        )
    if disable:
        return model
    if isinstance(model, OptimizedModule):
        model = model._orig_mod
    compiled = CompiledFunction(model, backend=backend, warmup=warmup, fullgraph=fullgraph, dynamic=dynamic)
    if isinstance(model, Module):
        return OptimizedModule(model, compiled)
    return compiled
