"""Tensor math with PyTorch's names, built on IR primitives through ``apply``.

Every function here is also a Tensor method (bound by :mod:`graphc._methods`)
and, where PyTorch has one, an in-place ``name_`` method. Functions handle what
primitives leave to the frontend: dtype promotion with weak Python scalars,
argument forms (``dim`` as int or tuple, ``keepdim``, ``out=``), and
composites written from primitives (``mean``, ``softmax``, ``var``...) in
numerically stable forms, named like PyTorch's ``grad_fn`` through
:class:`~graphc._dispatch.composite`.

One module per topic, each listing its public names in ``__all__``; this
package's namespace (``graphc.functional``, re-exported as ``graphc.*``) is
their union. The modules build on each other in this order, and only
downwards:

* :mod:`._common` — promotion, operands, ``out=``;
* :mod:`.elementwise` — one primitive per function (the op-table seam);
* :mod:`.shape` — views, reshapes, ``expand``, ``flip``, ``repeat``;
* :mod:`.layout` — copies that promise a layout (``contiguous``, ``clone``);
* :mod:`.indexing` — ``gather``/``scatter``/``index_*``/``take``;
* :mod:`.sorting` — ``sort``, ``topk``, ``unique``, ``nonzero``;
* :mod:`.pointwise` — ``where``, ``clamp``, ``isclose`` and other composites;
* :mod:`.getitem` — ``tensor[key]`` (read and write) and ``masked_select``;
* :mod:`.reductions` — ``sum``, ``mean``, ``var``, ``max``, ``softmax``...;
* :mod:`.linalg` — ``matmul`` and friends, ``tril``/``triu``/``diagonal``;
* :mod:`.joining` — ``cat``, ``stack``, ``split``, ``chunk``, ``roll``.
"""

from __future__ import annotations

# Each topic module's __all__ is the public namespace: re-export them all.
from . import elementwise, getitem, indexing, joining, layout, linalg, pointwise, reductions, shape, sorting
from ._common import _operand, _to  # noqa: F401 - used across graphc as F._to / F._operand
from .elementwise import *  # noqa: F403
from .getitem import *  # noqa: F403
from .indexing import *  # noqa: F403
from .joining import *  # noqa: F403
from .layout import *  # noqa: F403
from .linalg import *  # noqa: F403
from .pointwise import *  # noqa: F403
from .reductions import *  # noqa: F403
from .shape import *  # noqa: F403
from .shape import _slice  # noqa: F401 - used by graphc.nn.functional
from .sorting import *  # noqa: F403

__all__ = [
    *elementwise.__all__,
    *pointwise.__all__,
    *reductions.__all__,
    *linalg.__all__,
    *shape.__all__,
    *layout.__all__,
    *joining.__all__,
    *indexing.__all__,
    *getitem.__all__,
    *sorting.__all__,
]
