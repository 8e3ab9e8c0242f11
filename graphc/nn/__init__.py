"""``graphc.nn``: modules, parameters, layers, losses and their functional forms.

>>> import graphc.nn as nn
>>> import graphc.nn.functional as F
>>> net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
>>> loss = F.cross_entropy(net(graphc.randn(3, 4)), graphc.tensor([0, 1, 1]))

Everything is built from graphc's tensor ops, so eager autograd,
``@graphc.compile`` and the fusion passes cover every layer.
"""

from . import functional, init, parallel, utils  # noqa: F401
from .functional.likelihood import LinearCrossEntropyOptions
from .modules import *  # noqa: F403 - every layer; the list is graphc.nn.modules.__all__
from .modules import __all__ as _modules_all
from .parameter import Buffer, Parameter, UninitializedBuffer, UninitializedParameter

__all__ = ["LinearCrossEntropyOptions", "Parameter", "Buffer", "UninitializedParameter", "UninitializedBuffer", "functional", "init", "parallel", "utils"] + list(_modules_all)
