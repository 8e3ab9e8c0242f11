"""``graphc.special``: PyTorch's ``torch.special`` — special functions with their names there.

Most are op-table rows (``ir/ops/special.py``: accurate numpy and Triton implementations,
PyTorch's gradients) bound under their ``special.`` names; the rest are the functions of
the main namespace PyTorch also exposes here (``expit`` is ``sigmoid``, ``gammaln`` is
``lgamma``...).

>>> import graphc
>>> graphc.special.ndtr(graphc.tensor([0.0, 1.0]))
tensor([0.5000, 0.8413])
"""

from __future__ import annotations

from ._functional import elementwise as _elementwise
from ._functional.elementwise import erf, exp2, expm1, log1p, round, sigmoid  # noqa: F401 (re-exported)
from ._functional.mathops import logit  # noqa: F401 (re-exported)
from ._functional.reductions import log_softmax, logsumexp, softmax  # noqa: F401 (re-exported)
from ._functional.special_math import mvlgamma
from ._functional.special_math import polygamma as _polygamma

globals().update(_elementwise.SPECIAL)  # airy_ai, bessel_j0, ..., zeta: the rows' special. names

expit = sigmoid
multigammaln = mvlgamma
polygamma = _polygamma  # polygamma(n, x), n an int (the row's special.polygamma takes tensors)

__all__ = sorted(
    set(_elementwise.SPECIAL)
    | {"erf", "exp2", "expm1", "log1p", "round", "expit", "softmax", "log_softmax",
       "logsumexp", "logit", "multigammaln", "polygamma"}
)
