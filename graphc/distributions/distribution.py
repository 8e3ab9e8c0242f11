"""The ``Distribution`` base class and the helpers the families share.

A distribution has a ``batch_shape`` (independent, differently parameterized copies) and an
``event_shape`` (the shape of one draw of a multivariate family). ``sample(sample_shape)``
returns ``sample_shape + batch_shape + event_shape``; ``log_prob(value)`` returns the
broadcast of ``value``'s leading shape with ``batch_shape``.

Arguments are checked against ``arg_constraints`` (and values against ``support``) when
validation is on: by default it is, as in PyTorch, and ``Distribution.set_default_validate_args``
or ``validate_args=False`` turns it off. Inside ``@graphc.compile`` nothing is checked, since a
traced tensor has no values to look at.
"""

from __future__ import annotations

import numbers
import warnings

from ir import dtypes as _dt

from .. import _functional as _F
from .._factories import tensor as _tensor
from .._state import active_tracer
from .._tensor import Size, Tensor
from ..autograd.grad_mode import no_grad
from . import constraints

__all__ = ["Distribution", "ExponentialFamily"]


class lazy_property:
    """A property computed on first use and then stored on the instance (so ``probs`` and
    ``logits`` can be derived from each other only when asked)."""

    def __init__(self, fn):
        self.wrapped = fn
        self.__doc__ = fn.__doc__
        self.__name__ = fn.__name__

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        value = self.wrapped(instance)
        instance.__dict__[self.wrapped.__name__] = value
        return value


def broadcast_all(*values):
    """Broadcast tensors and numbers to one shape; numbers become tensors of the first tensor's
    dtype (or the default float dtype when there is none)."""
    if not all(isinstance(v, (Tensor, numbers.Number)) for v in values):
        raise ValueError("Input arguments must all be instances of numbers.Number, graphc.Tensor or objects "
                         "implementing __graphc_function__.")
    tensors = [v for v in values if isinstance(v, Tensor)]
    if len(tensors) < len(values):
        dtype = tensors[0].dtype if tensors else None
        values = [v if isinstance(v, Tensor) else _tensor(float(v), dtype=dtype) for v in values]
    return tuple(_F.broadcast_tensors(*values))


def as_float_tensor(v, like=None):
    """``v`` as a tensor: a number becomes a 0-d tensor of ``like``'s dtype (or the default)."""
    if isinstance(v, Tensor):
        return v
    return _tensor(float(v), dtype=like.dtype if isinstance(like, Tensor) else None)


def probs_to_logits(probs, is_binary=False):
    """Log-odds of ``probs`` (binary) or their logarithms (categorical), clamped away from 0 and 1."""
    eps = _eps(probs.dtype)
    p = probs.clamp(min=eps, max=1 - eps)
    return (p.log() - (-p).log1p()) if is_binary else p.log()


def logits_to_probs(logits, is_binary=False):
    """The inverse of ``probs_to_logits``: a sigmoid, or a softmax over the last dimension."""
    return logits.sigmoid() if is_binary else _F.softmax(logits, -1)


def _eps(dtype):
    return 2.220446049250313e-16 if dtype == _dt.float64 else 1.1920928955078125e-07


def _tiny(dtype):
    return 2.2250738585072014e-308 if dtype == _dt.float64 else 1.1754943508222875e-38


def clamp_probs(probs):
    eps = _eps(probs.dtype)
    return probs.clamp(min=eps, max=1 - eps)


def _tracing() -> bool:
    return active_tracer() is not None


def _shown(v):
    """The value as PyTorch's messages show it: a number for a 0-d tensor, else the tensor."""
    return v.item() if isinstance(v, Tensor) and v.dim() == 0 else v


class Distribution:
    """Base class of probability distributions (``torch.distributions.Distribution``)."""

    has_rsample = False
    has_enumerate_support = False
    _validate_args = True
    arg_constraints: dict = {}
    support = None

    @staticmethod
    def set_default_validate_args(value: bool) -> None:
        """Turn argument and sample validation on or off for distributions made afterwards."""
        if value not in (True, False):
            raise ValueError
        Distribution._validate_args = value

    def __init__(self, batch_shape=Size(), event_shape=Size(), validate_args=None):
        self._batch_shape, self._event_shape = Size(batch_shape), Size(event_shape)
        if validate_args is not None:
            self._validate_args = validate_args
        if self._validate_args and not _tracing():
            arg_constraints = self.arg_constraints
            for param, constraint in arg_constraints.items():
                if constraints.is_dependent(constraint):
                    continue
                if param not in self.__dict__ and isinstance(getattr(type(self), param, None), lazy_property):
                    continue
                value = getattr(self, param)
                if not isinstance(value, Tensor):
                    continue
                if not constraint.check(value).all().item():
                    raise ValueError(
                        f"Expected parameter {param} ({type(value).__name__} of shape {tuple(value.shape)}) "
                        f"of distribution {self!r} to satisfy the constraint {constraint!r}, "
                        f"but found invalid values:\n{_shown(value)}")

    # -- shapes ---------------------------------------------------------------------------------
    @property
    def batch_shape(self) -> Size:
        return self._batch_shape

    @property
    def event_shape(self) -> Size:
        return self._event_shape

    def _extended_shape(self, sample_shape=Size()) -> Size:
        return Size(tuple(sample_shape) + tuple(self._batch_shape) + tuple(self._event_shape))

    _no_expand: tuple = ()

    def expand(self, batch_shape, _instance=None):
        """A view of this distribution with a larger ``batch_shape`` (parameters expanded, not
        copied). Families whose parameters are tensors of shape ``batch_shape + extra`` inherit
        this; composite families override it."""
        batch_shape = Size(batch_shape)
        new = _instance if _instance is not None else type(self).__new__(type(self))
        old = len(self._batch_shape)
        for k, v in self.__dict__.items():
            if isinstance(v, Tensor) and k not in self._no_expand:
                v = v.expand(tuple(batch_shape) + tuple(v.shape[old:]))
            new.__dict__[k] = v
        Distribution.__init__(new, batch_shape, self._event_shape, validate_args=False)
        new._validate_args = self.__dict__.get("_validate_args", type(self)._validate_args)
        return new

    # -- the interface every family fills in ------------------------------------------------------
    @property
    def mean(self):
        raise NotImplementedError

    @property
    def mode(self):
        raise NotImplementedError(f"{type(self)} does not implement mode")

    @property
    def variance(self):
        raise NotImplementedError

    @property
    def stddev(self):
        return self.variance.sqrt()

    def sample(self, sample_shape=Size()):
        """Draw without recording gradients (``rsample`` detached, where there is one)."""
        with no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=Size()):
        raise NotImplementedError

    def sample_n(self, n):
        warnings.warn("sample_n will be deprecated. Use .sample((n,)) instead", UserWarning)
        return self.sample(Size((n,)))

    def log_prob(self, value):
        raise NotImplementedError

    def cdf(self, value):
        raise NotImplementedError

    def icdf(self, value):
        raise NotImplementedError

    def enumerate_support(self, expand=True):
        raise NotImplementedError

    def entropy(self):
        raise NotImplementedError

    def perplexity(self):
        return self.entropy().exp()

    # -- validation -------------------------------------------------------------------------------
    def _validate_sample(self, value):
        if not isinstance(value, Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")
        if _tracing():
            return
        n_event = len(self._event_shape)
        shape = tuple(value.shape)
        if shape[len(shape) - n_event:] != tuple(self._event_shape) and n_event:
            raise ValueError(f"The right-most size of value must match event_shape: {value.shape} vs "
                             f"{self._event_shape}.")
        expected = tuple(self._batch_shape) + tuple(self._event_shape)
        for i, j in zip(reversed(shape), reversed(expected)):
            if i != 1 and j != 1 and i != j:
                raise ValueError(f"Value is not broadcastable with batch_shape+event_shape: {value.shape} vs "
                                 f"{Size(expected)}.")
        support = self.support
        if support is None:
            return
        if not support.check(value).all().item():
            raise ValueError(f"Expected value argument ({type(value).__name__} of shape {shape}) to be within "
                             f"the support ({support!r}) of the distribution {self!r}, "
                             f"but found invalid values:\n{_shown(value)}")

    def _check(self, value):
        if self._validate_args:
            self._validate_sample(value)

    def _get_checked_instance(self, cls, _instance=None):
        return _instance if _instance is not None else type(self).__new__(type(self))

    def __repr__(self):
        names = [k for k in self.arg_constraints if k in self.__dict__]
        parts = []
        for k in names:
            v = self.__dict__[k]
            parts.append(f"{k}: {_shown(v) if v.numel() == 1 else v.shape}")
        return f"{type(self).__name__}({', '.join(parts)})"


class ExponentialFamily(Distribution):
    """Marker base of the exponential families (Normal, Gamma, Bernoulli...), as in PyTorch."""

