"""``graphc.func``: function transforms (PyTorch's ``torch.func``) built on eager autograd.

``grad``, ``grad_and_value``, ``vjp``, ``jacrev``, ``jacfwd``, ``hessian``,
``functional_call`` and ``vmap``, with ``torch.func``'s signatures and results.
graphc has no functorch-style levels or batching rules, so:

* the derivative transforms differentiate with ``graphc.autograd.grad``: the
  arguments being differentiated are fresh tensors (detached, or views when they
  already require grad, so that nesting ``grad(grad(f))`` and differentiating
  the results again with ordinary autograd both work);
* ``jacfwd`` computes the same Jacobian as ``jacrev`` (reverse mode: graphc has
  no forward-mode AD), and ``hessian`` is ``jacfwd(jacrev(f))`` as in PyTorch;
* ``vmap`` calls ``func`` once per index of the mapped dimension and stacks the
  results: the semantics of a batching transform (in_dims/out_dims, pytrees,
  ``None`` for unmapped arguments, nesting, ``randomness``), not its speed.
"""

from __future__ import annotations

import functools

from . import _pytree
from ._factories import zeros_like
from ._functional import stack
from ._grad_mode import enable_grad
from ._tensor import Tensor
from .autograd.engine import grad as _autograd_grad
from .random import default_generator, get_rng_state, set_rng_state

__all__ = ["grad", "grad_and_value", "vjp", "jacrev", "jacfwd", "hessian", "functional_call", "vmap"]


def _fresh(t: Tensor) -> Tensor:
    """A tensor to differentiate with respect to, still linked to ``t``'s history if it has one."""
    return t.view_as(t) if t.requires_grad else t.detach().requires_grad_()


def _argnums_tuple(argnums, n_args: int, name: str) -> tuple:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    if not nums:
        raise RuntimeError(f"{name}: argnums must be non-empty")
    for a in nums:
        if not isinstance(a, int):
            raise RuntimeError(f"{name}: argnums must be int or Tuple[int, ...], got: {type(argnums)}")
        if not -n_args <= a < n_args:
            raise RuntimeError(f"Got argnums={a}, but only {n_args} positional inputs")
    return tuple(a % n_args for a in nums)


def _prepare(args, argnums, name):
    """Replace the differentiated arguments' tensors by fresh ones: (args, [(spec, leaves)] per
    argnum, whether the results must stay differentiable)."""
    nums = _argnums_tuple(argnums, len(args), name)
    args = list(args)
    parts, linked = [], False
    for n in nums:
        leaves: list = []
        spec = _pytree.flatten(args[n], leaves)
        linked = linked or any(t.requires_grad for t in leaves)
        leaves = [_fresh(t) for t in leaves]
        args[n] = _pytree.unflatten(spec, leaves)
        parts.append((spec, leaves))
    return args, parts, linked


def _split_aux(out, has_aux: bool, name: str):
    if not has_aux:
        return out, None
    if not (isinstance(out, tuple) and len(out) == 2):
        raise RuntimeError(
            f"{name}(f)(*args): output of function f should be a tuple: (output, aux) if has_aux is True"
        )
    return out


def _detached(obj, keep: bool):
    if keep:
        return obj
    leaves: list = []
    spec = _pytree.flatten(obj, leaves)
    return _pytree.unflatten(spec, [t.detach() for t in leaves])


def _grads_of(outputs, grad_outputs, parts, create_graph: bool, retain_graph: bool = False):
    """Gradients for each (spec, leaves) part, zeros for leaves the outputs do not reach."""
    flat = [t for _, leaves in parts for t in leaves]
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    if pairs:
        got = _autograd_grad(
            [o for o, _ in pairs],
            flat,
            [g for _, g in pairs],
            create_graph=create_graph,
            retain_graph=retain_graph or create_graph,
            allow_unused=True,
        )
    else:
        got = [None] * len(flat)
    got = [zeros_like(t) if g is None else g for t, g in zip(flat, got)]
    out, k = [], 0
    for spec, leaves in parts:
        out.append(_pytree.unflatten(spec, got[k : k + len(leaves)]))
        k += len(leaves)
    return out


def grad_and_value(func, argnums=0, has_aux: bool = False):
    """``f -> (x -> (df/dx, f(x)))`` for a function returning a scalar tensor (and ``aux`` when
    ``has_aux``: then ``(grad, (value, aux))``)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with enable_grad():
            args, parts, linked = _prepare(args, argnums, "grad_and_value")
            output, aux = _split_aux(func(*args, **kwargs), has_aux, "grad_and_value")
            if not isinstance(output, Tensor):
                raise RuntimeError(
                    f"grad_and_value(f)(*args): Expected f(*args) to return a Tensor, got {type(output)}"
                )
            if output.dim() != 0:
                raise RuntimeError(
                    "grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, got tensor with "
                    f"{output.dim()} dims. Maybe you wanted to use the vjp or jacrev APIs instead?"
                )
            grads = _grads_of([output], [None], parts, create_graph=linked)
        grads = grads[0] if isinstance(argnums, int) else tuple(grads)
        value = _detached(output, linked)
        return (grads, (value, _detached(aux, linked))) if has_aux else (grads, value)

    return wrapper


def grad(func, argnums=0, has_aux: bool = False):
    """``f -> (x -> df/dx)`` for a function returning a scalar tensor (``(grad, aux)`` with
    ``has_aux``). ``argnums`` (an int or a tuple) picks the arguments; each may be a pytree.

    >>> graphc.func.grad(lambda x: (x ** 2).sum())(graphc.tensor([1., 2.]))
    tensor([2., 4.])
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        g, value = grad_and_value(func, argnums, has_aux)(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return wrapper


def vjp(func, *primals, has_aux: bool = False):
    """``(func(*primals), vjp_fn)``; ``vjp_fn(cotangents)`` returns one gradient per primal (a
    tuple), and can be called more than once."""
    with enable_grad():
        args, parts, linked = _prepare(primals, tuple(range(len(primals))), "vjp")
        output, aux = _split_aux(func(*args), has_aux, "vjp")
    outs: list = []
    out_spec = _pytree.flatten(output, outs)

    def vjp_fn(cotangents):
        cots: list = []
        if _pytree.flatten(cotangents, cots) != out_spec and len(cots) != len(outs):
            raise RuntimeError("Expected pytree structure of cotangents to be the same as pytree structure of outputs")
        for o, c in zip(outs, cots):
            if tuple(o.shape) != tuple(c.shape):
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[0] has a shape of {tuple(c.shape)} and output[0] has a shape of "
                    f"{tuple(o.shape)}."
                )
        with enable_grad():
            return tuple(_grads_of(outs, cots, parts, create_graph=linked, retain_graph=True))

    result = _detached(output, linked)
    return (result, vjp_fn, _detached(aux, linked)) if has_aux else (result, vjp_fn)


def jacrev(func, argnums=0, *, has_aux: bool = False, chunk_size=None, _preallocate_and_copy=False):
    """``f -> (x -> Jacobian of f at x)`` by reverse mode, one backward per output element.

    For an output leaf of shape ``O`` and an input leaf of shape ``I`` the block has shape
    ``O + I``; the result nests like the output, then like the argument(s) (a tuple when
    ``argnums`` is a tuple). ``chunk_size`` is accepted (the loop is one row at a time).
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with enable_grad():
            args, parts, linked = _prepare(args, argnums, "jacrev")
            output, aux = _split_aux(func(*args, **kwargs), has_aux, "jacrev")
            outs: list = []
            out_spec = _pytree.flatten(output, outs)
            blocks = []
            for o in outs:
                flat_o = o.reshape(-1)
                rows = [
                    _grads_of([flat_o[k]], [None], parts, create_graph=linked, retain_graph=True)
                    for k in range(o.numel())
                ]
                per_arg = []
                for p, (spec, leaves) in enumerate(parts):
                    jl = []
                    for q, leaf in enumerate(leaves):
                        cols = [_leaf(r[p], q) for r in rows]
                        shape = tuple(o.shape) + tuple(leaf.shape)
                        jl.append(stack(cols).reshape(shape) if cols else zeros_like(leaf).reshape(shape))
                    per_arg.append(_pytree.unflatten(spec, jl))
                blocks.append(per_arg[0] if isinstance(argnums, int) else tuple(per_arg))
        jac = _detached(_pytree.unflatten(out_spec, blocks), linked)
        return (jac, _detached(aux, linked)) if has_aux else jac

    return wrapper


def _leaf(tree, q: int):
    leaves: list = []
    _pytree.flatten(tree, leaves)
    return leaves[q]


def jacfwd(func, argnums=0, has_aux: bool = False, *, randomness: str = "error"):
    """The Jacobian, as :func:`jacrev` computes it (graphc has no forward-mode AD; the result
    is the same, only the cost differs from PyTorch's forward mode)."""
    return jacrev(func, argnums, has_aux=has_aux)


def hessian(func, argnums=0):
    """``f -> (x -> Hessian of f at x)``: ``jacfwd(jacrev(f))``, as in PyTorch."""
    return jacfwd(jacrev(func, argnums), argnums)


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *, tie_weights=True, strict=False):
    """Call ``module`` with some parameters and buffers replaced by the given tensors (by
    dotted name), restoring the module afterwards: the module as a pure function of its state.

    >>> graphc.func.functional_call(net, {"fc.weight": w}, (x,))
    """
    if isinstance(parameter_and_buffer_dicts, dict):
        values = dict(parameter_and_buffer_dicts)
    else:
        values = {}
        for d in parameter_and_buffer_dicts:
            for k, v in d.items():
                if k in values:
                    raise ValueError(f"{k} appeared in multiple dictionaries; behavior of functional call is ambiguous")
                values[k] = v
    named = dict(module.named_parameters(remove_duplicate=False))
    named.update(module.named_buffers(remove_duplicate=False))
    if strict:
        missing = [k for k in named if k not in values]
        unexpected = [k for k in values if k not in named]
        if missing or unexpected:
            msgs = []
            if unexpected:
                msgs.append("Unexpected key(s): {}.".format(", ".join(map(repr, unexpected))))
            if missing:
                msgs.append("Missing key(s): {}.".format(", ".join(map(repr, missing))))
            raise RuntimeError(f"Error(s) in reparametrizing for {module._get_name()}:\n\t" + "\n\t".join(msgs))
    if tie_weights:  # a tied tensor given under one of its names takes the value under all
        by_id = {id(named[k]): v for k, v in values.items() if k in named}
        for k, t in named.items():
            if k not in values and id(t) in by_id:
                values[k] = by_id[id(t)]
    saved = []
    try:
        for name, value in values.items():
            owner_path, _, attr = name.rpartition(".")
            owner = module.get_submodule(owner_path)
            for store in ("_parameters", "_buffers"):
                d = owner.__dict__[store]
                if attr in d:
                    saved.append((d, attr, d[attr]))
                    d[attr] = value
                    break
            else:
                saved.append((owner.__dict__, attr, owner.__dict__.get(attr, _MISSING)))
                owner.__dict__[attr] = value
        args = () if args is None else args if isinstance(args, tuple) else (args,)
        return module(*args, **(kwargs or {}))
    finally:
        for d, attr, old in reversed(saved):
            if old is _MISSING:
                del d[attr]
            else:
                d[attr] = old


_MISSING = object()


# -- vmap ------------------------------------------------------------------------------------


def _dims_for(arg, in_dim, i: int, in_dims):
    """The in_dim of each tensor leaf of one argument (an int/None for all, or a matching tree)."""
    leaves: list = []
    spec = _pytree.flatten(arg, leaves)
    if in_dim is None or isinstance(in_dim, int):
        if isinstance(in_dim, int) and spec[0] not in ("T", "L", "U", "N", "D"):
            raise ValueError(
                f"vmap(f, in_dims={in_dims}, ...)(<inputs>): Got in_dim={in_dim} for an input but the input is of "
                f"type {type(arg).__name__}. We cannot vmap over non-Tensor arguments, please use None as the "
                "respective in_dim"
            )
        return leaves, [in_dim] * len(leaves)
    dims: list = []
    dim_spec = _pytree.flatten(in_dim, [])
    try:
        _collect_dims(arg, in_dim, dims)
    except (TypeError, KeyError, IndexError):
        raise ValueError(
            f"vmap(f, in_dims={in_dims}, ...)(<inputs>): in_dims is not compatible with the structure of `inputs`: "
            f"in_dim {dim_spec} for input {i}."
        ) from None
    return leaves, dims


def _collect_dims(arg, in_dim, out: list) -> None:
    if isinstance(arg, Tensor):
        if not (in_dim is None or isinstance(in_dim, int)):
            raise TypeError
        out.append(in_dim)
    elif isinstance(arg, (list, tuple)):
        if isinstance(in_dim, (list, tuple)):
            if len(in_dim) != len(arg):
                raise TypeError
            for a, d in zip(arg, in_dim):
                _collect_dims(a, d, out)
        else:
            for a in arg:
                _collect_dims(a, in_dim, out)
    elif isinstance(arg, dict):
        for k, a in arg.items():
            _collect_dims(a, in_dim[k] if isinstance(in_dim, dict) else in_dim, out)


def vmap(func, in_dims=0, out_dims=0, randomness: str = "error", *, chunk_size=None):
    """``func`` mapped over a dimension of its inputs: ``vmap(f)(x)[i] == f(x[i])``.

    Implemented as a loop (``func`` runs once per index, the results are stacked along
    ``out_dims``), not as a batching transform: same results, no speed-up. ``in_dims`` is an
    int, None (not mapped) or a tuple with one entry per positional argument (each an int, None
    or a tree matching that argument). ``randomness``: ``'error'`` raises if ``func`` draws
    random numbers, ``'different'`` lets each index draw its own, ``'same'`` replays the same
    draws for every index. vmaps nest.
    """
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or 'same'. Got {randomness}")
    if not (in_dims is None or isinstance(in_dims, (int, tuple))):
        raise ValueError(
            f"vmap(f, in_dims={in_dims}, ...): expected `in_dims` to be int or a (potentially nested) tuple matching "
            f"the structure of inputs, got: {type(in_dims)}."
        )

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if isinstance(in_dims, tuple) and len(in_dims) != len(args):
            raise ValueError(
                f"vmap(f, in_dims={in_dims}, ...)(<inputs>): in_dims is not compatible with the structure of "
                f"`inputs`. in_dims has {len(in_dims)} entries but inputs has {len(args)} arguments."
            )
        per_arg = in_dims if isinstance(in_dims, tuple) else (in_dims,) * len(args)
        mapped, sizes = [], []
        for i, (arg, d) in enumerate(zip(args, per_arg)):
            leaves, dims = _dims_for(arg, d, i, in_dims)
            spec = _pytree.flatten(arg, [])
            norm = []
            for t, dim in zip(leaves, dims):
                if dim is not None:
                    if not -t.dim() <= dim < max(t.dim(), 1) or t.dim() == 0:
                        raise ValueError(
                            f"vmap(f, in_dims={in_dims}, ...)(<inputs>): Got in_dim={dim} for an input but the input "
                            f"is of type Tensor with {t.dim()} dims."
                        )
                    dim %= t.dim()
                    sizes.append(t.shape[dim])
                norm.append(dim)
            mapped.append((spec, leaves, norm))
        if not sizes:
            raise ValueError(
                f"vmap(f, in_dims={in_dims}, ...)(<inputs>): at least one input must be mapped over (got in_dims="
                f"{in_dims})"
            )
        if len(set(sizes)) != 1:
            raise ValueError(
                f"vmap: Expected all tensors to have the same size in the mapped dimension, got sizes {sizes} for the "
                "mapped dimension"
            )
        results = []
        start = get_rng_state() if randomness == "same" else None
        for b in range(sizes[0]):
            call_args = [
                _pytree.unflatten(spec, [t if d is None else t.select(d, b) for t, d in zip(leaves, dims)])
                for spec, leaves, dims in mapped
            ]
            if start is not None:
                set_rng_state(start)
            before = default_generator._rng.bit_generator.state if randomness == "error" else None
            results.append(func(*call_args, **kwargs))
            if before is not None and default_generator._rng.bit_generator.state != before:
                raise RuntimeError(
                    "vmap: called random operation while in randomness error mode. Please either use the 'same' or "
                    "'different' randomness flags on vmap or perform the randomness operation out of vmap"
                )
        return _stack_results(results, out_dims)

    return wrapper


def _non_tensor(obj):
    """The type of the first leaf of ``obj`` that is not a Tensor, or None."""
    if isinstance(obj, Tensor):
        return None
    if isinstance(obj, (list, tuple)):
        items = obj
    elif isinstance(obj, dict):
        items = obj.values()
    else:
        return type(obj)
    for o in items:
        bad = _non_tensor(o)
        if bad is not None:
            return bad
    return None


def _stack_results(results, out_dims):
    flat = []
    spec = None
    for r in results:
        leaves: list = []
        spec = _pytree.flatten(r, leaves)
        flat.append(leaves)
    n_out = len(flat[0])
    bad = _non_tensor(results[0])
    if bad is not None:
        raise ValueError(f"vmap(f, ...): `f` must only return Tensors, got type {bad}.")
    dims = out_dims if isinstance(out_dims, tuple) else (out_dims,) * n_out
    if len(dims) != n_out:
        raise ValueError(
            f"vmap(f, ..., out_dims={out_dims})(<inputs>): out_dims is not compatible with the structure of "
            f"`outputs`. out_dims has {len(dims)} entries but outputs has {n_out} tensors."
        )
    stacked = []
    for k in range(n_out):
        column = [leaves[k] for leaves in flat]
        d = dims[k]
        if d is None:
            stacked.append(column[0])
            continue
        rank = column[0].dim() + 1
        if not -rank <= d < rank:
            raise ValueError(f"vmap: out_dim={d} is out of range for an output of {rank - 1} dims (batched: {rank}).")
        stacked.append(stack(column, dim=d % rank))
    return _pytree.unflatten(spec, stacked)
