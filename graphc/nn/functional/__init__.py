"""``graphc.nn.functional``: layers, activations and losses as functions, PyTorch's names.

Everything here is written from graphc tensor ops (and so from IR primitives):
autodiff, fusion and ``@graphc.compile`` cover these functions with no rules
of their own. Convolution and pooling use an *unfold* built from strided
``slice`` views of the padded input, one per kernel offset, joined by a single
``concat``; a convolution is then one (batched) ``matmul``.

Where a test can see the autograd record, results carry PyTorch's
``grad_fn`` name (``MseLossBackward0``, ``NllLossBackward0``,
``AddmmBackward0``, ``ConvolutionBackward0``...).

One module per topic — :mod:`.dense` (linear, bilinear, attention), :mod:`.conv`
(convolution and pooling), :mod:`.activation`, :mod:`.normalization`,
:mod:`.misc` (dropout, embedding, one_hot, pad), :mod:`.loss` — each listing its
public names in ``__all__``; this package is their union.

>>> import graphc.nn.functional as F
>>> F.relu(graphc.tensor([-1.0, 2.0]))
tensor([0., 2.])
"""

from __future__ import annotations

# Each topic module's __all__ is the public namespace: re-export them all.
from . import (
    activation,
    attention,
    bag,
    conv,
    convnd,
    dense,
    distance,
    likelihood,
    loss,
    margin,
    misc,
    normalization,
    norms,
    pooling,
    sampling,
)
from ._common import _legacy_reduction, _ntuple, _pair  # noqa: F401 - used by graphc.nn.modules
from .activation import *  # noqa: F403
from .attention import *  # noqa: F403
from .bag import *  # noqa: F403
from .conv import *  # noqa: F403
from .convnd import *  # noqa: F403
from .dense import *  # noqa: F403
from .distance import *  # noqa: F403
from .likelihood import *  # noqa: F403
from .loss import *  # noqa: F403
from .margin import *  # noqa: F403
from .misc import *  # noqa: F403
from .normalization import *  # noqa: F403
from .norms import *  # noqa: F403
from .pooling import *  # noqa: F403
from .sampling import *  # noqa: F403

__all__ = [
    *dense.__all__,
    *attention.__all__,
    *bag.__all__,
    *conv.__all__,
    *convnd.__all__,
    *pooling.__all__,
    *norms.__all__,
    *distance.__all__,
    *sampling.__all__,
    *activation.__all__,
    *misc.__all__,
    *normalization.__all__,
    *loss.__all__,
    *margin.__all__,
    *likelihood.__all__,
]
