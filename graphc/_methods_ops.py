"""Tensor methods, in-place forms and properties for the operator surface of
:mod:`graphc._functional`'s newer topic modules (products, scans, stats, views, mathops,
index_ops); :mod:`graphc._methods` binds the core ones the same way. Each op is written once
as a function; this module only binds names (PyTorch's: a method where ``torch.Tensor`` has
one, a ``name_`` form where it has that)."""

from __future__ import annotations

from . import _functional as F
from . import _inplace
from ._functional.creation_ops import _new_empty_strided, _resize_, _resize_as_
from ._functional.views import _tensor_unfold
from ._methods import _make_inplace
from ._tensor import Tensor

_METHODS = """
addbmm addmv addr baddbmm inner kron cross dist cumprod cummax cummin logcumsumexp aminmax median nanmedian
kthvalue mode quantile nanquantile msort histc histogram bincount cov corrcoef unique_consecutive as_strided
as_strided_scatter diagonal_scatter select_scatter slice_scatter narrow_copy split_with_sizes unsafe_split
unsafe_chunk hsplit vsplit dsplit ravel rot90 diag_embed diagflat sum_to_size deg2rad rad2deg frac logit
isposinf isneginf positive renorm scatter_reduce index_reduce index_fill index_put masked_scatter put
take_along_dim repeat_interleave fmax fmin round sign diff nonzero_static
""".split()

for _name in _METHODS:
    setattr(Tensor, _name, getattr(F, _name))
Tensor.unfold = _tensor_unfold
Tensor.resize_ = _resize_
Tensor.resize_as_ = _resize_as_
Tensor.new_empty_strided = _new_empty_strided

# In-place forms: the out-of-place op, then written into the tensor (its dtype must hold the result).
_INPLACE = """
addbmm addmv addr baddbmm cumprod deg2rad rad2deg frac logit renorm scatter_reduce index_reduce index_fill
index_put masked_scatter put sign fmax fmin
""".split()


for _name in _INPLACE:
    setattr(Tensor, _name + "_", _make_inplace(getattr(F, _name), _name + "_"))


def _as_strided_(self, size, stride, storage_offset=None):
    """This tensor becomes the ``as_strided`` view of its own storage (metadata only)."""
    return _inplace._inplace_view(self, F.as_strided(self, size, stride, storage_offset), "as_strided_")


Tensor.as_strided_ = _as_strided_
# (mH is graphc._methods': the adjoint, which conjugates complex tensors)
Tensor.H = property(lambda self: F.adjoint(self) if self.ndim == 2 else _raise_H(self),
                    doc="The conjugate transpose of a matrix (a 2-D tensor), as PyTorch's Tensor.H.")


def _raise_H(self):
    raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got {self.ndim}-D tensor.")
