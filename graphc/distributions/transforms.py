"""Invertible maps between constrained sets, for TransformedDistribution
(``torch.distributions.transforms``).

A transform ``t`` maps ``x`` in ``t.domain`` to ``y = t(x)`` in ``t.codomain``; ``t.inv`` is the
inverse map and ``t.log_abs_det_jacobian(x, y)`` the log of ``|det dy/dx|``, per element for the
elementwise maps (``event_dim == 0``) and per vector for the simplex maps (``event_dim == 1``).
"""

from __future__ import annotations

import math
import numbers
import weakref

from .. import _functional as _F
from .._factories import arange as _arange
from .._factories import full_like as _full_like
from .._factories import zeros_like as _zeros_like
from .._tensor import Tensor
from . import constraints
from .distribution import _eps, _tiny

__all__ = [
    "AbsTransform", "AffineTransform", "ComposeTransform", "ExpTransform", "PowerTransform", "SigmoidTransform",
    "SoftmaxTransform", "SoftplusTransform", "StickBreakingTransform", "TanhTransform", "Transform",
    "identity_transform",
]


def _softplus(x):
    return x.clamp(min=0) + (-x.abs()).exp().log1p()


def _sum_rightmost(x, n):
    if n <= 0:
        return x
    return x.reshape(tuple(x.shape[: x.dim() - n]) + (-1,)).sum(-1)


class Transform:
    """Base class: subclasses define ``_call`` (forward), ``_inverse`` and
    ``log_abs_det_jacobian``. ``cache_size=1`` remembers the last (x, y) pair so that the
    inverse of a value the transform produced is exact."""

    bijective = False
    domain: constraints.Constraint = constraints.real
    codomain: constraints.Constraint = constraints.real

    def __init__(self, cache_size: int = 0):
        if cache_size not in (0, 1):
            raise ValueError("cache_size must be 0 or 1")
        self._cache_size = cache_size
        self._cached = (None, None)
        self._inv = None

    @property
    def event_dim(self):
        if self.domain.event_dim == self.codomain.event_dim:
            return self.domain.event_dim
        raise ValueError("Please use either .domain.event_dim or .codomain.event_dim")

    @property
    def inv(self):
        inv = self._inv() if self._inv is not None else None
        if inv is None:
            inv = _InverseTransform(self)
            self._inv = weakref.ref(inv)
        return inv

    @property
    def sign(self):
        """+1 or -1 for a monotone increasing or decreasing elementwise map."""
        raise NotImplementedError

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        if type(self).__init__ is Transform.__init__:
            return type(self)(cache_size=cache_size)
        raise NotImplementedError(f"{type(self)}.with_cache is not implemented")

    def __eq__(self, other):
        return self is other

    def __ne__(self, other):
        return not self.__eq__(other)

    __hash__ = object.__hash__

    def __call__(self, x):
        if self._cache_size == 0:
            return self._call(x)
        x_old, y_old = self._cached
        if x is x_old:
            return y_old
        y = self._call(x)
        self._cached = (x, y)
        return y

    def _inv_call(self, y):
        if self._cache_size == 0:
            return self._inverse(y)
        x_old, y_old = self._cached
        if y is y_old:
            return x_old
        x = self._inverse(y)
        self._cached = (x, y)
        return x

    def _call(self, x):
        raise NotImplementedError

    def _inverse(self, y):
        raise NotImplementedError

    def log_abs_det_jacobian(self, x, y):
        raise NotImplementedError

    def forward_shape(self, shape):
        return shape

    def inverse_shape(self, shape):
        return shape

    def __repr__(self):
        return type(self).__name__ + "()"


class _InverseTransform(Transform):
    """The inverse of a transform (``t.inv``): forward and inverse swapped, the log-Jacobian negated."""

    def __init__(self, transform: Transform):
        super().__init__(cache_size=transform._cache_size)
        self._inv = transform

    @property
    def inv(self):
        return self._inv

    @property
    def domain(self):
        return self._inv.codomain

    @property
    def codomain(self):
        return self._inv.domain

    @property
    def bijective(self):
        return self._inv.bijective

    @property
    def sign(self):
        return self._inv.sign

    def __eq__(self, other):
        return isinstance(other, _InverseTransform) and self._inv == other._inv

    __hash__ = object.__hash__

    def __call__(self, x):
        return self._inv._inv_call(x)

    def log_abs_det_jacobian(self, x, y):
        return -self._inv.log_abs_det_jacobian(y, x)

    def forward_shape(self, shape):
        return self._inv.inverse_shape(shape)

    def inverse_shape(self, shape):
        return self._inv.forward_shape(shape)

    def __repr__(self):
        return f"{type(self).__name__}({self._inv!r})"


class ComposeTransform(Transform):
    """Apply ``parts`` in order; the log-Jacobians add (summed down to the largest event_dim)."""

    def __init__(self, parts, cache_size=0):
        self.parts = [p.with_cache(cache_size) for p in parts] if cache_size else list(parts)
        super().__init__(cache_size=cache_size)

    def __eq__(self, other):
        return isinstance(other, ComposeTransform) and self.parts == other.parts

    __hash__ = object.__hash__

    def _event_dims(self):
        """The event_dim the composition works at, and the domain's event_dim it implies."""
        if not self.parts:
            return 0, 0
        ev = self.parts[-1].codomain.event_dim
        for p in reversed(self.parts):
            ev += p.domain.event_dim - p.codomain.event_dim
            ev = max(ev, p.domain.event_dim)
        return ev, ev

    @property
    def domain(self):
        if not self.parts:
            return constraints.real
        d = self.parts[0].domain
        ev = self._event_dims()[0]
        return constraints.independent(d, ev - d.event_dim) if ev > d.event_dim else d

    @property
    def codomain(self):
        if not self.parts:
            return constraints.real
        c = self.parts[-1].codomain
        ev = self._event_dims()[0]
        for p in self.parts:
            ev += p.codomain.event_dim - p.domain.event_dim
            ev = max(ev, p.codomain.event_dim)
        return constraints.independent(c, ev - c.event_dim) if ev > c.event_dim else c

    @property
    def bijective(self):
        return all(p.bijective for p in self.parts)

    @property
    def sign(self):
        s = 1
        for p in self.parts:
            s = s * p.sign
        return s

    @property
    def inv(self):
        inv = self._inv() if self._inv is not None else None
        if inv is None:
            inv = ComposeTransform([p.inv for p in reversed(self.parts)])
            self._inv = weakref.ref(inv)
            inv._inv = weakref.ref(self)
        return inv

    def __call__(self, x):
        for p in self.parts:
            x = p(x)
        return x

    def log_abs_det_jacobian(self, x, y):
        if not self.parts:
            return _zeros_like(x)
        event_dim = self.domain.event_dim
        total = 0
        for p in self.parts:
            y_p = p(x)
            total = total + _sum_rightmost(p.log_abs_det_jacobian(x, y_p), event_dim - p.domain.event_dim)
            event_dim += p.codomain.event_dim - p.domain.event_dim
            x = y_p
        return total

    def forward_shape(self, shape):
        for p in self.parts:
            shape = p.forward_shape(shape)
        return shape

    def inverse_shape(self, shape):
        for p in reversed(self.parts):
            shape = p.inverse_shape(shape)
        return shape

    def __repr__(self):
        inner = ",\n    ".join(repr(p) for p in self.parts)
        return f"{type(self).__name__}(\n    {inner}\n)"


identity_transform = ComposeTransform([])


class ExpTransform(Transform):
    """y = exp(x)."""

    domain, codomain, bijective, sign = constraints.real, constraints.positive, True, +1

    def __eq__(self, other):
        return isinstance(other, ExpTransform)

    __hash__ = object.__hash__

    def _call(self, x):
        return x.exp()

    def _inverse(self, y):
        return y.log()

    def log_abs_det_jacobian(self, x, y):
        return x


class SigmoidTransform(Transform):
    """y = 1 / (1 + exp(-x)), kept inside (0, 1)."""

    domain, codomain, bijective, sign = constraints.real, constraints.unit_interval, True, +1

    def __eq__(self, other):
        return isinstance(other, SigmoidTransform)

    __hash__ = object.__hash__

    def _call(self, x):
        return x.sigmoid().clamp(min=_tiny(x.dtype), max=1 - _eps(x.dtype))

    def _inverse(self, y):
        y = y.clamp(min=_tiny(y.dtype), max=1 - _eps(y.dtype))
        return y.log() - (-y).log1p()

    def log_abs_det_jacobian(self, x, y):
        return -_softplus(-x) - _softplus(x)  # log(sigmoid(x) * (1 - sigmoid(x)))


class TanhTransform(Transform):
    """y = tanh(x)."""

    domain, codomain, bijective, sign = constraints.real, constraints.interval(-1.0, 1.0), True, +1

    def __eq__(self, other):
        return isinstance(other, TanhTransform)

    __hash__ = object.__hash__

    def _call(self, x):
        return x.tanh()

    def _inverse(self, y):
        return 0.5 * (y.log1p() - (-y).log1p())  # atanh

    def log_abs_det_jacobian(self, x, y):
        # log(1 - tanh(x)^2) = 2 (log 2 - x - softplus(-2x)), exact for large |x|
        return 2.0 * (math.log(2.0) - x - _softplus(-2.0 * x))


class SoftplusTransform(Transform):
    """y = log(1 + exp(x))."""

    domain, codomain, bijective, sign = constraints.real, constraints.positive, True, +1

    def __eq__(self, other):
        return isinstance(other, SoftplusTransform)

    __hash__ = object.__hash__

    def _call(self, x):
        return _softplus(x)

    def _inverse(self, y):
        return y + (-(-y).expm1()).log()  # log(exp(y) - 1)

    def log_abs_det_jacobian(self, x, y):
        return -_softplus(-x)  # log sigmoid(x)


class AbsTransform(Transform):
    """y = |x| (not injective: the inverse returns the nonnegative preimage)."""

    domain, codomain = constraints.real, constraints.positive

    def __eq__(self, other):
        return isinstance(other, AbsTransform)

    __hash__ = object.__hash__

    def _call(self, x):
        return x.abs()

    def _inverse(self, y):
        return y


class AffineTransform(Transform):
    """y = loc + scale * x; with ``event_dim`` > 0 the log-Jacobian is summed over that many
    rightmost dimensions."""

    bijective = True

    def __init__(self, loc, scale, event_dim=0, cache_size=0):
        super().__init__(cache_size=cache_size)
        self.loc, self.scale, self._event_dim = loc, scale, event_dim

    @property
    def event_dim(self):
        return self._event_dim

    @property
    def domain(self):
        return constraints.real if self._event_dim == 0 else constraints.independent(constraints.real, self._event_dim)

    codomain = domain

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        return AffineTransform(self.loc, self.scale, self._event_dim, cache_size=cache_size)

    def __eq__(self, other):
        if not isinstance(other, AffineTransform):
            return False
        for a, b in ((self.loc, other.loc), (self.scale, other.scale)):
            if isinstance(a, numbers.Number) and isinstance(b, numbers.Number):
                if a != b:
                    return False
            elif not (isinstance(a, Tensor) and isinstance(b, Tensor) and bool((a == b).all().item())):
                return False
        return True

    __hash__ = object.__hash__

    @property
    def sign(self):
        if isinstance(self.scale, numbers.Real):
            return 1 if float(self.scale) > 0 else -1 if float(self.scale) < 0 else 0
        return self.scale.sign()

    def _call(self, x):
        return self.loc + self.scale * x

    def _inverse(self, y):
        return (y - self.loc) / self.scale

    def log_abs_det_jacobian(self, x, y):
        s = self.scale
        if isinstance(s, numbers.Real):
            lad = _full_like(x, math.log(abs(s)))
        else:
            lad = s.abs().log()
            lad = lad.expand(tuple(_F.broadcast_shapes(tuple(lad.shape), tuple(x.shape))))
        if self._event_dim:
            lad = _sum_rightmost(lad, self._event_dim)
        return lad

    def forward_shape(self, shape):
        return tuple(_F.broadcast_shapes(tuple(shape), tuple(getattr(self.loc, "shape", ())),
                                         tuple(getattr(self.scale, "shape", ()))))

    inverse_shape = forward_shape


class PowerTransform(Transform):
    """y = x ** exponent on the positive reals."""

    domain, codomain, bijective = constraints.positive, constraints.positive, True

    def __init__(self, exponent, cache_size=0):
        super().__init__(cache_size=cache_size)
        self.exponent = exponent

    def with_cache(self, cache_size=1):
        return self if self._cache_size == cache_size else PowerTransform(self.exponent, cache_size=cache_size)

    def __eq__(self, other):
        if not isinstance(other, PowerTransform):
            return False
        e, f = self.exponent, other.exponent
        if isinstance(e, Tensor) and isinstance(f, Tensor):
            return bool((e == f).all().item())
        return e == f

    __hash__ = object.__hash__

    @property
    def sign(self):
        e = self.exponent
        return e.sign() if isinstance(e, Tensor) else (1 if e > 0 else -1 if e < 0 else 0)

    def _call(self, x):
        return x.pow(self.exponent)

    def _inverse(self, y):
        return y.pow(1 / self.exponent)

    def log_abs_det_jacobian(self, x, y):
        return (self.exponent * y / x).abs().log()

    def forward_shape(self, shape):
        return tuple(_F.broadcast_shapes(tuple(shape), tuple(getattr(self.exponent, "shape", ()))))

    inverse_shape = forward_shape


class SoftmaxTransform(Transform):
    """y = softmax(x) over the last dimension; not bijective (shifts of x give the same y), so
    there is no log-Jacobian; the inverse is ``log y`` (one preimage)."""

    domain, codomain = constraints.real_vector, constraints.simplex

    def __eq__(self, other):
        return isinstance(other, SoftmaxTransform)

    __hash__ = object.__hash__

    def _call(self, x):
        return _F.softmax(x, -1)

    def _inverse(self, y):
        return y.log()


class StickBreakingTransform(Transform):
    """Bijection from R^K onto the (K+1)-simplex: ``z_i = sigmoid(x_i - log(K - i))`` is the
    fraction of the remaining stick given to coordinate i, the last coordinate takes the rest.
    ``x = 0`` maps to the uniform vector."""

    domain, codomain, bijective = constraints.real_vector, constraints.simplex, True

    def __eq__(self, other):
        return isinstance(other, StickBreakingTransform)

    __hash__ = object.__hash__

    @staticmethod
    def _offset(x):
        k = x.shape[-1]
        return (k - _arange(k, dtype=x.dtype)).log()

    def _parts(self, x):
        """log z_i and the exclusive cumulative sum of log(1 - z_j), j < i (the stick left)."""
        u = x - self._offset(x)
        log_z, log_1mz = -_softplus(-u), -_softplus(u)
        left = log_1mz.cumsum(-1)
        return log_z, log_1mz, left - log_1mz, left[..., -1:]

    def _call(self, x):
        log_z, _, log_rest, log_last = self._parts(x)
        return _F.cat([(log_z + log_rest).exp(), log_last.exp()], -1)

    def _inverse(self, y):
        head = y[..., :-1]
        rest = (1 - head.cumsum(-1) + head).clamp(min=_tiny(y.dtype))  # stick left before coordinate i
        z = (head / rest).clamp(min=_tiny(y.dtype), max=1 - _eps(y.dtype))
        return z.log() - (-z).log1p() + self._offset(head)

    def log_abs_det_jacobian(self, x, y):
        # the map to the first K coordinates is triangular with diagonal z_i (1 - z_i) * rest_i
        log_z, log_1mz, log_rest, _ = self._parts(x)
        return (log_z + log_1mz + log_rest).sum(-1)

    def forward_shape(self, shape):
        return tuple(shape[:-1]) + (shape[-1] + 1,)

    def inverse_shape(self, shape):
        return tuple(shape[:-1]) + (shape[-1] - 1,)
