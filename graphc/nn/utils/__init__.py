"""``graphc.nn.utils``: gradient clipping, parameter/vector conversion, ``rnn`` (packed sequences),
``parametrize`` and ``parametrizations`` (weight and spectral norm)."""

from __future__ import annotations

from . import parametrizations, parametrize, rnn
from .clip_grad import clip_grad_norm_, clip_grad_value_, get_total_norm
from .convert_parameters import parameters_to_vector, vector_to_parameters

__all__ = [
    "rnn", "parametrize", "parametrizations", "clip_grad_norm_", "clip_grad_value_", "get_total_norm", "parameters_to_vector", "vector_to_parameters"]
