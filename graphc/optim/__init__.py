"""``graphc.optim``: optimizers and learning-rate schedulers with PyTorch's update rules.

>>> opt = optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
>>> opt.zero_grad(); loss.backward(); opt.step()

Steps are in-place tensor ops under ``no_grad`` (see :mod:`.optimizer`), so a
training step traces whole under ``@graphc.compile``.
"""

from . import lr_scheduler  # noqa: F401
from .adadelta import ASGD, Adadelta
from .adafactor import Adafactor
from .adam import Adam, AdamW
from .adamax import Adamax, NAdam, RAdam
from .lbfgs import LBFGS
from .optimizer import Optimizer
from .rmsprop import Adagrad, RMSprop
from .rprop import Rprop
from .sgd import SGD

__all__ = [
    "Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam", "ASGD",
    "Rprop", "Adafactor", "LBFGS", "lr_scheduler",
]
