"""The per-op test database: one :class:`OpSpec` per op, in the manner of PyTorch's OpInfo.

An entry names the op, the graphc callable, an independent numpy reference
(evaluated in float64), a sample-input generator, the dtypes it is tested in,
whether it is differentiable, and its tolerances. ``tests/graphc/test_ops.py``
runs generic tests over the table:

* forward: graphc's result against the float64 numpy reference, for every
  dtype and sample (shapes with broadcasting, 0-d, size-0 and size-1 dims,
  and non-contiguous inputs: stored transposed, or every other element);
* backward: ``graphc.autograd.gradcheck`` (central differences) on float64;
* in-place ``name_`` methods against the out-of-place op.

Samples hold numpy arrays; each test turns them into fresh graphc tensors
(``from_numpy``, keeping the layout), so no test sees another's writes. An
argument wrapped in :class:`NC` is laid out non-contiguously. Python values
(scalars, keys, dims) are passed as they are; lists and tuples are walked, so
``[a, b]`` for ``cat`` becomes a list of tensors and ``(slice(None), idx)`` a
key holding an index tensor.

One module per topic holds its samples, references and entries (``OPS``);
this package's ``OPS`` is their concatenation, in the order below.
"""

from __future__ import annotations

from . import elementwise, indexing, reductions, shape, surface_data, surface_math
from .core import NC, TOLERANCES, OpSpec, S, b8, f16, f32, f64, i32, i64, layout, to_graphc, to_numpy, u8  # noqa: F401

OPS: list[OpSpec] = [*elementwise.OPS, *reductions.OPS, *shape.OPS, *indexing.OPS, *surface_math.OPS, *surface_data.OPS]


def by_name(name: str) -> OpSpec:
    for spec in OPS:
        if spec.name == name:
            return spec
    raise KeyError(name)
