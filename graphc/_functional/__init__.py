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
* :mod:`.joining` — ``cat``, ``stack``, ``split``, ``chunk``, ``roll``;
* :mod:`.scans` — ``cumprod``, ``cummax``/``cummin``, ``logcumsumexp``;
* :mod:`.products` — ``einsum``, ``tensordot``, ``kron``, ``baddbmm`` and friends, ``cross``, ``cdist``;
* :mod:`.views` — ``as_strided``, ``*_copy`` and ``*_scatter`` forms, ``hsplit``, ``atleast_*d``, ``rot90``;
* :mod:`.stats` — ``median``, ``quantile``, ``mode``, ``cov``, histograms, ``searchsorted``, ``isin``;
* :mod:`.mathops` — ``deg2rad``, ``frac``, ``logit``, ``isposinf``, ``renorm`` and other elementwise composites;
* :mod:`.index_ops` — ``scatter_reduce``, ``index_reduce``, ``index_put``, ``masked_scatter``, ``put``, ``take_along_dim``;
* :mod:`.calculus` — ``diff``, ``gradient``, ``trapezoid``, ``cumulative_trapezoid``;
* :mod:`.creation_ops` — ``tril_indices``, ``meshgrid``, ``empty_strided``, ``unravel_index``, ``nonzero_static``, ``cosine_similarity``;
* :mod:`.native` — ``native_layer_norm``, ``native_group_norm``, ``native_batch_norm`` and two backward formulas;
* :mod:`.special_math` — ``polygamma``, ``frexp``, ``ldexp``, ``mvlgamma``;
* :mod:`.complex_numbers` — ``real``/``imag``, ``conj``, ``sgn``, ``polar``, ``view_as_real``...;
* :mod:`.random` — ``multinomial``, ``bernoulli`` and the random in-place fills.
"""

from __future__ import annotations

# Each topic module's __all__ is the public namespace: re-export them all.
from . import (
    calculus,
    complex_numbers,
    creation_ops,
    elementwise,
    getitem,
    index_ops,
    indexing,
    joining,
    layout,
    linalg,
    mathops,
    native,
    pointwise,
    products,
    random,
    reductions,
    scans,
    shape,
    sorting,
    special_math,
    stats,
    views,
)
from ._common import _operand, _to  # noqa: F401 - used across graphc as F._to / F._operand
from .calculus import *  # noqa: F403
from .complex_numbers import *  # noqa: F403
from .creation_ops import *  # noqa: F403
from .elementwise import *  # noqa: F403
from .getitem import *  # noqa: F403
from .index_ops import *  # noqa: F403
from .indexing import *  # noqa: F403
from .joining import *  # noqa: F403
from .layout import *  # noqa: F403
from .linalg import *  # noqa: F403
from .mathops import *  # noqa: F403
from .native import *  # noqa: F403
from .pointwise import *  # noqa: F403
from .products import *  # noqa: F403
from .random import *  # noqa: F403
from .reductions import *  # noqa: F403
from .scans import *  # noqa: F403
from .shape import *  # noqa: F403
from .shape import _slice  # noqa: F401 - used by graphc.nn.functional
from .sorting import *  # noqa: F403
from .special_math import *  # noqa: F403
from .stats import *  # noqa: F403
from .views import *  # noqa: F403

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
    *special_math.__all__,
    *scans.__all__,
    *products.__all__,
    *views.__all__,
    *stats.__all__,
    *mathops.__all__,
    *index_ops.__all__,
    *calculus.__all__,
    *creation_ops.__all__,
    *native.__all__,
    *complex_numbers.__all__,
    *random.__all__,
]
