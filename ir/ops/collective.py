"""Collective primitives: an all-reduce across the ranks of a process group, as IR nodes.

A compiled data-parallel training step keeps its gradient all-reduce inside
the graph (as JAX keeps ``psum`` inside ``jit``), so one program holds the
forward pass, the backward pass, the communication and the optimizer update.
The all-reduce is split into two nodes of kind ``collective``:

``all_reduce_start(x) {reduce_op, group}``
    hands ``x`` to the communication library and returns at once; its value
    is the buffer being reduced, valid only once waited on;
``all_reduce_wait(s) {reduce_op, group}``
    blocks until the reduction started by ``s`` is complete; its value is the
    reduced tensor.

Two nodes rather than one give the schedule its freedom:
:func:`order_collectives` moves every start as early as its input exists and
every wait as late as its first reader allows, so communication overlaps the
rest of backward (and whatever of the optimizer does not need the result).
Fusion treats the kind like any op it does not know, a kernel of its own, so
a collective is a barrier no fused kernel crosses. ``group`` names a process
group that the runtime registered (``"world"`` by default); ``reduce_op`` is one of
:data:`REDUCE_OPS`.

The gradient: an all-reduce SUM is its own adjoint (and AVG's is AVG), under
the SPMD convention that the loss being differentiated is the sum of every
rank's loss. The start's rule all-reduces the incoming gradient, the wait's
passes it through. MAX, MIN and PRODUCT are not differentiable here.

The schedule that places starts early and waits late is the pass
:func:`ir.passes.collectives.order_collectives`.
"""

from __future__ import annotations

from ..errors import AutogradError, DTypeError
from .core import COLLECTIVE, OpDef, register

#: reduce ops, as ``graphc.distributed.ReduceOp`` names them (lower case)
REDUCE_OPS = ("sum", "avg", "product", "min", "max")

START, WAIT = "all_reduce_start", "all_reduce_wait"


def _shape_same(op, inputs, attrs):
    return inputs[0].shape


def _dtype_reduce(op, inputs, attrs):
    x = inputs[0]
    if len(inputs) > (2 if op.name == START else 1):
        raise TypeError(f"{op.name}: expected {'1 or 2 inputs (the tensor, and an order token)' if op.name == START else '1 input'}, got {len(inputs)}")
    rop = attrs.get("reduce_op")
    if rop not in REDUCE_OPS:
        raise ValueError(f"{op.name}: unknown reduce op {rop!r}; expected one of {', '.join(REDUCE_OPS)}")
    if not isinstance(attrs.get("group"), str):
        raise TypeError(f"{op.name}: attrs['group'] must be a process group's name (a str), got {attrs.get('group')!r}")
    if x.dtype.is_bool and rop not in ("max", "min"):
        raise DTypeError(f"{op.name}: ReduceOp.{rop.upper()} is not defined for bool tensors (use MAX for 'any', MIN for 'all')")
    if rop == "avg" and not x.dtype.is_floating_point:
        raise DTypeError(f"{op.name}: ReduceOp.AVG needs a floating-point tensor, got {x.dtype}")
    return x.dtype


register(
    OpDef(
        START,
        COLLECTIVE,
        -1,  # the tensor, and from order_collectives the previous start (an order token)
        _shape_same,
        _dtype_reduce,
        ("reduce_op", "group"),
        grad=lambda n, g: _grad_start(n, g),
        grad_name="AllReduceBackward0",
        doc="Start an all-reduce of input 0 over attrs['group'] with attrs['op']; the value is pending until waited on.",
    )
)
register(
    OpDef(
        WAIT,
        COLLECTIVE,
        1,
        _shape_same,
        _dtype_reduce,
        ("reduce_op", "group"),
        grad=lambda n, g: _grad_wait(n, g),
        grad_name="AllReduceBackward0",
        doc="Wait for the all-reduce started by input 0 (an all_reduce_start); the value is the reduced tensor.",
    )
)


# ----------------------------------------------------------------------------
# gradients


def _grad_start(n, g):
    rop = n.attrs["reduce_op"]
    if rop not in ("sum", "avg"):
        raise AutogradError(
            f"all_reduce: ReduceOp.{rop.upper()} is not differentiable; only SUM and AVG are "
            "(each is its own adjoint). Detach the tensor before reducing it."
        )
    attrs = {"reduce_op": rop, "group": n.attrs["group"]}
    reduced = g.op(START, **attrs).op(WAIT, **attrs) if n.needs(0) else None
    return [reduced] + [None] * (len(n.in_shapes) - 1)


def _grad_wait(n, g):
    return [g]
