"""``parameters_to_vector`` / ``vector_to_parameters``."""

from __future__ import annotations

from ... import _functional as _F
from ...autograd.grad_mode import no_grad


def parameters_to_vector(parameters):
    """All parameters flattened and joined into one 1-d tensor."""
    return _F.cat([_F.reshape(p, (-1,)) for p in parameters])


def vector_to_parameters(vec, parameters) -> None:
    """Copy slices of ``vec`` into the parameters (in order), in place."""
    offset = 0
    with no_grad():
        for p in parameters:
            n = p.numel()
            p.copy_(_F.reshape(_F.narrow(vec, 0, offset, n), tuple(p.shape)))
            offset += n
