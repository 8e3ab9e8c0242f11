"""``graphc.nn.utils.parametrizations``: ``weight_norm`` and ``spectral_norm`` as parametrizations
(PyTorch's modern API), registered with :mod:`.parametrize`."""

from __future__ import annotations

from ... import _functional as _F
from ..._factories import empty
from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad
from .. import functional as F
from ..modules.module import Module
from .parametrize import register_parametrization

__all__ = ["weight_norm", "spectral_norm"]


def _norm_except_dim(v: Tensor, dim) -> Tensor:
    """The 2-norm of ``v`` over every dim but ``dim`` (kept with size 1 elsewhere); all dims when None."""
    if dim is None or dim == -1 and v.ndim == 0:
        return _F.norm(v)
    d = dim % v.ndim if v.ndim else 0
    axes = tuple(i for i in range(v.ndim) if i != d)
    if not axes:
        return _F.abs(v)
    return _F.sqrt(_F.sum(_F.mul(v, v), axes, keepdim=True))


class _WeightNorm(Module):
    """w = g * v / ||v|| (the norm over every dim but ``dim``)."""

    def __init__(self, dim: int | None = 0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        dim = None if self.dim == -1 else self.dim
        return _F.mul(weight_v, _F.div(weight_g, _norm_except_dim(weight_v, dim)))

    def right_inverse(self, weight: Tensor):
        dim = None if self.dim == -1 else self.dim
        return _norm_except_dim(weight, dim), weight


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Reparametrize ``module.<name>`` as magnitude times direction (Salimans & Kingma, 2016).

    The originals are ``parametrizations.<name>.original0`` (g) and ``original1`` (v).
    """
    register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    return module


class _SpectralNorm(Module):
    """W / sigma(W), sigma estimated by power iteration on buffers ``_u``, ``_v`` (updated in training)."""

    def __init__(self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12):
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of [-{ndim}, {ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError(f"Expected n_power_iterations to be positive, but got n_power_iterations={n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            mat = self._reshape_weight_to_matrix(weight)
            h, w = mat.shape
            u = empty(h, dtype=weight.dtype, device=weight.device).normal_(0, 1)
            v = empty(w, dtype=weight.dtype, device=weight.device).normal_(0, 1)
            self.register_buffer("_u", F.normalize(u, dim=0, eps=self.eps))
            self.register_buffer("_v", F.normalize(v, dim=0, eps=self.eps))
            self._power_method(mat, 15)

    def _reshape_weight_to_matrix(self, weight: Tensor) -> Tensor:
        if self.dim != 0:
            weight = _F.permute(weight, (self.dim,) + tuple(d for d in range(weight.ndim) if d != self.dim))
        return _F.flatten(weight, 1)

    def _power_method(self, mat: Tensor, n: int) -> None:
        with no_grad():
            m = mat.detach()
            for _ in range(n):
                self._u.copy_(F.normalize(_F.mv(m, self._v), dim=0, eps=self.eps))
                self._v.copy_(F.normalize(_F.mv(_F.t(m), self._u), dim=0, eps=self.eps))

    def forward(self, weight: Tensor) -> Tensor:
        if weight.ndim == 1:
            return F.normalize(weight, dim=0, eps=self.eps)
        mat = self._reshape_weight_to_matrix(weight)
        if self.training:
            self._power_method(mat, self.n_power_iterations)
        u, v = self._u.clone(), self._v.clone()
        sigma = _F.dot(u, _F.mv(mat, v))
        return _F.div(weight, sigma)

    def right_inverse(self, value: Tensor) -> Tensor:
        return value


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1, eps: float = 1e-12, dim=None) -> Module:
    """Divide ``module.<name>`` by its largest singular value (Miyato et al., 2018), estimated by
    ``n_power_iterations`` of the power method per training forward.

    ``dim`` defaults to 1 for transposed convolutions, else 0.
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        dim = 1 if type(module).__name__.startswith("ConvTranspose") else 0
    register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module
