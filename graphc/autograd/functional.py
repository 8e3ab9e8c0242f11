"""``graphc.autograd.functional``: Jacobians, Hessians and vector products of a function.

The API of PyTorch's ``torch.autograd.functional`` (``vjp``, ``jvp``, ``jacobian``,
``hessian``, ``vhp``, ``hvp``): ``inputs`` and the function's outputs may each be a Tensor or
a tuple of Tensors, and every result comes back nested the same way (for tuple outputs and
tuple inputs ``jacobian(f, xs)[i][j]`` is d output_i / d input_j, of shape
``output_i.shape + input_j.shape``). PyTorch's argument checks and ``strict`` errors are
kept, message for message, since scripts match on them.

Everything is computed by reverse mode, the only mode graphc's autograd has:

* a Jacobian is one ``autograd.grad`` per output element (``vectorize=True`` and
  ``strategy="forward-mode"`` are accepted and give the same numbers this way);
* a Jacobian-vector product ``J v`` uses that a vector-Jacobian product ``u -> u^T J`` is
  linear in ``u``: differentiating it once more with respect to ``u``, against ``v``, gives
  ``J v`` (``jvp``, and ``hvp`` with the gradient in place of the function).

The function runs on fresh leaves: detached copies of the inputs, or (``create_graph=True``)
views that keep the inputs' histories so the results can be differentiated again. Without
``create_graph`` every result is detached.
"""

from __future__ import annotations

from .._factories import zeros_like
from .._functional import stack
from .._grad_mode import enable_grad, is_grad_enabled, set_grad_enabled
from .._tensor import Tensor
from .engine import grad as _grad

__all__ = ["vjp", "jvp", "jacobian", "hessian", "vhp", "hvp"]


# ----------------------------------------------------------------------------
# arguments and results


def _tensors(value, role: str, api: str) -> tuple:
    """``(was_tuple, tensors)`` for an argument or result that must be a Tensor or a tuple of them."""
    items = value if isinstance(value, tuple) else (value,)
    for i, item in enumerate(items):
        if not isinstance(item, Tensor):
            where = f"the value at index {i}" if isinstance(value, tuple) else f"the given {role}"
            raise TypeError(
                f"The {role} given to {api} must be either a Tensor or a tuple of Tensors but {where} has type "
                f"{type(item)}."
            )
    return isinstance(value, tuple), items


def _nest(values, *was_tuple):
    """Undo :func:`_tensors` on a result: one flag per nesting level, outermost first."""
    if len(was_tuple) == 2 and not was_tuple[1]:
        values = tuple(row[0] for row in values)
    return values if was_tuple[0] else values[0]


def _leaves(inputs, create_graph: bool) -> tuple:
    """Fresh tensors for the function to run on, requiring grad (see the module docstring)."""
    return tuple(x.view_as(x) if create_graph and x.requires_grad else x.detach().requires_grad_() for x in inputs)


def _finish(values, create_graph: bool):
    """The results as returned: detached unless ``create_graph`` (nested tuples kept)."""
    if create_graph:
        return values
    return tuple(v.detach() if isinstance(v, Tensor) else _finish(v, False) for v in values)


def _vector(v, like, like_is_tuple: bool, api: str) -> tuple:
    """``v`` checked against the tensors it multiplies (their count and shapes), detached."""
    _, vs = _tensors(v, "v", api)
    if len(vs) != len(like):
        if like_is_tuple:
            raise RuntimeError(f"v is a tuple of invalid length: should be {len(like)} but got {len(vs)}.")
        raise RuntimeError("The given v should contain a single Tensor.")
    for i, (a, b) in enumerate(zip(vs, like)):
        if a.shape != b.shape:
            entry = f"Entry {i} in " if like_is_tuple else ""
            raise RuntimeError(f"{entry}v has invalid size: should be {b.size()} but got {a.size()}.")
    return tuple(a.detach() for a in vs)


def _outputs_need_grad(outputs, strict: bool) -> None:
    if strict:
        for i, out in enumerate(outputs):
            if not out.requires_grad:
                raise RuntimeError(
                    f"Output {i} of the user-provided function does not require gradients. The outputs must be "
                    "computed in a differentiable manner from the input when running in strict mode."
                )


def _reverse(outputs, wrt, seeds=None, create_graph: bool = False) -> list:
    """d(sum_i seeds_i . outputs_i) / d wrt, None for a ``wrt`` the outputs do not reach (and
    for all of them when no output has a history)."""
    seeds = seeds if seeds is not None else (None,) * len(outputs)
    live = [(o, s) for o, s in zip(outputs, seeds) if o is not None and o.requires_grad]
    if not live:
        return [None] * len(wrt)
    grads = _grad([o for o, _ in live], list(wrt), [s for _, s in live], allow_unused=True,
                  create_graph=create_graph, retain_graph=True)
    return list(grads)


def _dense(grads, like, strict: bool, create_graph: bool, independent: str, constant: str) -> tuple:
    """Zeros for the None gradients (their value), or ``strict``'s errors: ``independent`` when
    a gradient is None, ``constant`` when create_graph was asked but it has no history."""
    out = []
    for i, (g, ref) in enumerate(zip(grads, like)):
        if g is None:
            if strict:
                raise RuntimeError(independent.format(i=i))
            g = zeros_like(ref)
        elif strict and create_graph and not g.requires_grad:
            raise RuntimeError(constant.format(i=i))
        out.append(g)
    return tuple(out)


_NOT_ALLOWED = "This is not allowed in strict mode."
_CONSTANT = "The {what} of the user-provided function is independent of input {{i}}. " + _NOT_ALLOWED[:-1] + (
    " when create_graph=True.")


def _recording(create_graph: bool):
    """The grad mode for the final products: on when they must stay differentiable."""
    return set_grad_enabled(True if create_graph else is_grad_enabled())


# ----------------------------------------------------------------------------
# first order


def vjp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), v^T J)``: the vector-Jacobian product (one reverse pass).

    ``v`` may be None only when ``func`` returns a single one-element tensor."""
    with enable_grad():
        inputs_tuple, xs = _tensors(inputs, "inputs", "vjp")
        xs = _leaves(xs, create_graph)
        outputs_tuple, outs = _tensors(func(*xs), "outputs of the user-provided function", "vjp")
        _outputs_need_grad(outs, strict)
        if v is None and (len(outs) != 1 or outs[0].numel() != 1):
            raise RuntimeError(
                "The vector v can only be None if the user-provided function returns a single Tensor with a "
                "single element."
            )
        seeds = None if v is None else _vector(v, outs, outputs_tuple, "vjp")
    with _recording(create_graph):
        grads = _reverse(outs, xs, seeds, create_graph)
        result = _dense(grads, xs, strict, create_graph,
                        "The output of the user-provided function is independent of input {i}. " + _NOT_ALLOWED,
                        _CONSTANT.format(what="jacobian"))
    return _nest(_finish(outs, create_graph), outputs_tuple), _nest(_finish(result, create_graph), inputs_tuple)


def jvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), J v)``: the Jacobian-vector product, as the derivative of the (linear)
    vector-Jacobian product with respect to its vector.

    ``v`` may be None only when ``inputs`` is a single one-element tensor."""
    with enable_grad():
        inputs_tuple, xs = _tensors(inputs, "inputs", "jvp")
        xs = _leaves(xs, create_graph)
        if v is None and (len(xs) != 1 or xs[0].numel() != 1):
            raise RuntimeError(
                "The vector v can only be None if the input to the user-provided function is a single Tensor with a "
                "single element."
            )
        seeds = None if v is None else _vector(v, xs, inputs_tuple, "jvp")
        outputs_tuple, outs = _tensors(func(*xs), "outputs of the user-provided function", "jvp")
        _outputs_need_grad(outs, strict)
        # u -> u^T J at any u (zeros here) carries the graph; its derivative in u against v is J v
        us = tuple(zeros_like(o).requires_grad_() for o in outs)
        ujs = _reverse(outs, xs, us, create_graph=True)
        if strict and any(g is None or not g.requires_grad for g in ujs):
            i = next(i for i, g in enumerate(ujs) if g is None or not g.requires_grad)
            raise RuntimeError(
                f"The gradient with respect to input {i} is independent of the inputs of the user-provided "
                "function. " + _NOT_ALLOWED
            )
    with _recording(create_graph):
        grads = _reverse(ujs, us, seeds, create_graph)
        result = _dense(grads, outs, strict, create_graph,
                        "The gradient with respect to the input is independent of entry {i} in the grad_outputs when "
                        "using the double backward trick to compute forward mode gradients. " + _NOT_ALLOWED,
                        _CONSTANT.format(what="jacobian"))
    return _nest(_finish(outs, create_graph), outputs_tuple), _nest(_finish(result, create_graph), outputs_tuple)


def _check_strategy(strategy: str) -> None:
    if strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError(
            'Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your function has more '
            'outputs than inputs, "forward-mode" tends to be more performant. Otherwise, prefer to use '
            '"reverse-mode".'
        )


def _jacobian_rows(outs, xs, create_graph: bool, strict: bool) -> tuple:
    """``rows[i][j]`` = d outs[i] / d xs[j], of shape ``outs[i].shape + xs[j].shape``: one
    reverse pass per element of each output."""
    rows = []
    for i, out in enumerate(outs):
        per_input = [[] for _ in xs]
        flat = out.reshape(-1)
        for k in range(out.numel()):
            for j, (g, x) in enumerate(zip(_reverse((flat[k],), xs, create_graph=create_graph), xs)):
                if g is None:
                    if strict:
                        raise RuntimeError(
                            f"Output {i} of the user-provided function is independent of input {j}. " + _NOT_ALLOWED
                        )
                    g = zeros_like(x)
                elif strict and create_graph and not g.requires_grad:
                    raise RuntimeError(_CONSTANT.format(what="jacobian").format(i=i))
                per_input[j].append(g)
        rows.append(tuple(
            (stack(gs) if gs else zeros_like(x)).reshape(tuple(out.shape) + tuple(x.shape))
            for gs, x in zip(per_input, xs)
        ))
    return tuple(rows)


def jacobian(func, inputs, create_graph: bool = False, strict: bool = False, vectorize: bool = False,
             strategy: str = "reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``.

    >>> jacobian(lambda x: x ** 2, graphc.tensor([1.0, 2.0]))   # diag(2x)
    tensor([[2., 0.],
            [0., 4.]])
    """
    _check_strategy(strategy)
    if strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError(
                'torch.autograd.functional.jacobian: `create_graph=True` and `strategy="forward-mode"` are not '
                "supported together (yet). Please either set `create_graph=False` or make sure that your function "
                "is differentiable in forward mode."
            )
        if not vectorize:
            raise NotImplementedError(
                "Computing Jacobian using forward-AD or forward-over-reverse Hessian isonly implemented for "
                "`vectorize=True`."
            )
    if vectorize and strict:
        raise RuntimeError(
            "torch.autograd.functional.jacobian: `strict=True` and `vectorized=True` are not supported together. "
            "Please either set `strict=False` or `vectorize=False`."
        )
    with enable_grad():
        inputs_tuple, xs = _tensors(inputs, "inputs", "jacobian")
        xs = _leaves(xs, create_graph)
        outputs_tuple, outs = _tensors(func(*xs), "outputs of the user-provided function", "jacobian")
        _outputs_need_grad(outs, strict)
        rows = _jacobian_rows(outs, xs, create_graph, strict)
    return _nest(_finish(rows, create_graph), outputs_tuple, inputs_tuple)


# ----------------------------------------------------------------------------
# second order (a function with one scalar output)


_NO_VECTOR = object()  # (hessian multiplies by no vector)


def _scalar_and_gradient(func, inputs, v, create_graph: bool, strict: bool, api: str):
    """Run ``func`` on fresh leaves and take its gradient, keeping the graph for a second pass:
    ``(inputs_tuple, leaves, value, gradient, v checked against the leaves)``."""
    inputs_tuple, xs = _tensors(inputs, "inputs", api)
    xs = _leaves(xs, create_graph)
    if v is _NO_VECTOR:
        seeds = None
    elif v is None and (len(xs) != 1 or xs[0].numel() != 1):
        raise RuntimeError(
            "The vector v can only be None if the input to the user-provided function is a single Tensor with a "
            "single element."
        )
    else:
        seeds = None if v is None else _vector(v, xs, inputs_tuple, api)
    out = func(*xs)
    out_tuple, outs = _tensors(out, "outputs of the user-provided function", api)
    _outputs_need_grad(outs, strict)
    if out_tuple:
        raise RuntimeError(f"The function given to {api} should return a single Tensor")
    if out.numel() != 1:
        raise RuntimeError(f"The Tensor returned by the function given to {api} should contain a single element")
    grads = _reverse((out,), xs, create_graph=True)
    if strict:
        for i, g in enumerate(grads):
            if g is None or not g.requires_grad:
                raise RuntimeError(
                    "While computing the hessian, found that the jacobian of the user-provided function with respect "
                    f"to input {i} is independent of the input. This is not allowed in strict mode. You should "
                    "ensure that your function is twice differentiable and that the jacobian depends on the inputs "
                    "(this would be violated by a linear function for example)."
                )
    grads = tuple(zeros_like(x) if g is None else g for x, g in zip(xs, grads))
    return inputs_tuple, xs, out, grads, seeds


def hessian(func, inputs, create_graph: bool = False, strict: bool = False, vectorize: bool = False,
            outer_jacobian_strategy: str = "reverse-mode"):
    """The Hessian of a scalar ``func`` at ``inputs``: the Jacobian of its gradient, so for tuple
    inputs ``hess[i][j]`` = d2 f / d input_i d input_j, of shape ``input_i.shape + input_j.shape``."""
    _check_strategy(outer_jacobian_strategy)
    if vectorize and strict:
        raise RuntimeError(
            "torch.autograd.functional.jacobian: `strict=True` and `vectorized=True` are not supported together. "
            "Please either set `strict=False` or `vectorize=False`."
        )
    with enable_grad():
        inputs_tuple, xs, _, grads, _ = _scalar_and_gradient(func, inputs, _NO_VECTOR, create_graph, strict, "hessian")
        rows = _jacobian_rows(grads, xs, create_graph, strict)
    return _nest(_finish(rows, create_graph), inputs_tuple, inputs_tuple)


def vhp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), v^T H)``: a vector-Hessian product of a scalar function (the gradient's
    vector-Jacobian product)."""
    with enable_grad():
        inputs_tuple, xs, out, grads, seeds = _scalar_and_gradient(func, inputs, v, create_graph, strict, "vhp")
    with _recording(create_graph):
        products = _reverse(grads, xs, seeds, create_graph)
        result = _dense(products, xs, strict, create_graph,
                        "The jacobian of the user-provided function is independent of input {i}. " + _NOT_ALLOWED,
                        _CONSTANT.format(what="hessian"))
    return _finish((out,), create_graph)[0], _nest(_finish(result, create_graph), inputs_tuple)


def hvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), H v)``: a Hessian-vector product of a scalar function, as the derivative
    of the gradient's (linear) vector-Jacobian product with respect to its vector; equal to
    :func:`vhp` for twice continuously differentiable functions."""
    with enable_grad():
        inputs_tuple, xs, out, grads, seeds = _scalar_and_gradient(func, inputs, v, create_graph, strict, "hvp")
        us = tuple(zeros_like(x).requires_grad_() for x in xs)
        uhs = _reverse(grads, xs, us, create_graph=True)
    with _recording(create_graph):
        products = _reverse(uhs, us, seeds, create_graph)
        result = _dense(products, xs, strict, create_graph,
                        "The hessian of the user-provided function is independent of entry {i} in the grad_jacobian. "
                        "This is not allowed in strict mode as it prevents from using the double backward trick to "
                        "replace forward mode AD.",
                        _CONSTANT.format(what="hessian"))
    return _finish((out,), create_graph)[0], _nest(_finish(result, create_graph), inputs_tuple)
