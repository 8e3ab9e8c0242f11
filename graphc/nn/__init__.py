"""``graphc.nn``: modules, parameters, layers, losses and their functional forms.

>>> import graphc.nn as nn
>>> import graphc.nn.functional as F
>>> net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
>>> loss = F.cross_entropy(net(graphc.randn(3, 4)), graphc.tensor([0, 1, 1]))

Everything is built from graphc's tensor ops, so eager autograd,
``@graphc.compile`` and the fusion passes cover every layer.
"""

from . import functional, init, utils  # noqa: F401
from .modules import (  # noqa: F401
    Module,
    RemovableHandle,
    Sequential,
    ModuleList,
    ModuleDict,
    ParameterList,
    ParameterDict,
    Identity,
    Linear,
    Bilinear,
    Conv1d,
    Conv2d,
    MaxPool1d,
    MaxPool2d,
    AvgPool1d,
    AvgPool2d,
    AdaptiveAvgPool2d,
    AdaptiveMaxPool2d,
    ReLU,
    ReLU6,
    LeakyReLU,
    ELU,
    SELU,
    CELU,
    GELU,
    SiLU,
    Mish,
    Softplus,
    Softsign,
    Hardtanh,
    Hardsigmoid,
    Hardswish,
    LogSigmoid,
    Sigmoid,
    Tanh,
    Tanhshrink,
    Threshold,
    GLU,
    PReLU,
    Softmax,
    Softmin,
    LogSoftmax,
    Flatten,
    Unflatten,
    Dropout,
    Dropout1d,
    Dropout2d,
    LayerNorm,
    GroupNorm,
    BatchNorm1d,
    BatchNorm2d,
    BatchNorm3d,
    Embedding,
    MSELoss,
    L1Loss,
    SmoothL1Loss,
    HuberLoss,
    CrossEntropyLoss,
    NLLLoss,
    BCELoss,
    BCEWithLogitsLoss,
    KLDivLoss,
)
from .modules import __all__ as _modules_all
from .parameter import Buffer, Parameter, UninitializedParameter

__all__ = ["Parameter", "Buffer", "UninitializedParameter", "functional", "init", "utils"] + list(_modules_all)
