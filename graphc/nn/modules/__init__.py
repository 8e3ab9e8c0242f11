"""The layers of ``graphc.nn``, one module per family (as in PyTorch); each family module's ``__all__`` is exported."""

from . import (
    activation,
    adaptive,
    attention,
    conv,
    distance,
    dropout,
    instancenorm,
    lazy,
    loss,
    normalization,
    padding,
    pooling,
    rnn,
    sampling,
    sparse,
    transformer,
)
from .activation import *  # noqa: F403
from .adaptive import *  # noqa: F403
from .attention import *  # noqa: F403
from .container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .conv import *  # noqa: F403
from .distance import *  # noqa: F403
from .dropout import *  # noqa: F403
from .flatten import Flatten, Unflatten
from .instancenorm import *  # noqa: F403
from .lazy import *  # noqa: F403
from .linear import Bilinear, Identity, Linear
from .loss import *  # noqa: F403
from .module import Module, RemovableHandle
from .normalization import *  # noqa: F403
from .padding import *  # noqa: F403
from .pooling import *  # noqa: F403
from .rnn import *  # noqa: F403
from .sampling import *  # noqa: F403
from .sparse import *  # noqa: F403
from .transformer import *  # noqa: F403

__all__ = [
    "Module",
    "RemovableHandle",
    "Sequential",
    "ModuleList",
    "ModuleDict",
    "ParameterList",
    "ParameterDict",
    "Identity",
    "Linear",
    "Bilinear",
    "Flatten",
    "Unflatten",
    *activation.__all__,
    *adaptive.__all__,
    *attention.__all__,
    *conv.__all__,
    *distance.__all__,
    *dropout.__all__,
    *instancenorm.__all__,
    *lazy.__all__,
    *loss.__all__,
    *normalization.__all__,
    *padding.__all__,
    *pooling.__all__,
    *rnn.__all__,
    *sampling.__all__,
    *sparse.__all__,
    *transformer.__all__,
]
