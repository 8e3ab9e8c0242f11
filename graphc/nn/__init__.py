"""``graphc.nn``: modules, parameters, layers, losses and their functional forms.

>>> import graphc.nn as nn
>>> import graphc.nn.functional as F
>>> net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
>>> loss = F.cross_entropy(net(graphc.randn(3, 4)), graphc.tensor([0, 1, 1]))

Everything is built from graphc's tensor ops, so eager autograd,
``@graphc.compile`` and the fusion passes cover every layer.
"""

from . import functional, init, parallel, utils  # noqa: F401
from .modules import (  # noqa: F401
    CELU,
    ELU,
    GELU,
    GLU,
    SELU,
    AdaptiveAvgPool2d,
    AdaptiveMaxPool2d,
    AvgPool1d,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    BatchNorm3d,
    BCELoss,
    BCEWithLogitsLoss,
    Bilinear,
    Conv1d,
    Conv2d,
    CrossEntropyLoss,
    Dropout,
    Dropout1d,
    Dropout2d,
    Embedding,
    Flatten,
    GroupNorm,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    HuberLoss,
    Identity,
    KLDivLoss,
    L1Loss,
    LayerNorm,
    LeakyReLU,
    Linear,
    LogSigmoid,
    LogSoftmax,
    MaxPool1d,
    MaxPool2d,
    Mish,
    Module,
    ModuleDict,
    ModuleList,
    MSELoss,
    NLLLoss,
    ParameterDict,
    ParameterList,
    PReLU,
    ReLU,
    ReLU6,
    RemovableHandle,
    Sequential,
    Sigmoid,
    SiLU,
    SmoothL1Loss,
    Softmax,
    Softmin,
    Softplus,
    Softsign,
    Tanh,
    Tanhshrink,
    Threshold,
    Unflatten,
)
from .modules import __all__ as _modules_all
from .parameter import Buffer, Parameter, UninitializedParameter

__all__ = ["Parameter", "Buffer", "UninitializedParameter", "functional", "init", "parallel", "utils"] + list(_modules_all)
