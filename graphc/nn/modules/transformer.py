"""``Transformer``, ``TransformerEncoder(Layer)``, ``TransformerDecoder(Layer)``: PyTorch's
architecture, parameter names and masks, from :class:`MultiheadAttention`,
:class:`Linear`, :class:`LayerNorm` and :class:`Dropout`."""

from __future__ import annotations

import copy

import numpy as np

from ir import dtypes as dt

from ... import _factories, _state
from ... import _functional as _F
from ..._grad_mode import is_grad_enabled
from ...amp import is_autocast_enabled
from .. import functional as F
from .. import init
from ..functional._common import _scalar_like
from .activation import GELU, ReLU
from .attention import MultiheadAttention
from .container import ModuleList
from .dropout import Dropout
from .linear import Linear
from .module import Module
from .normalization import LayerNorm

__all__ = ["Transformer", "TransformerEncoder", "TransformerDecoder", "TransformerEncoderLayer", "TransformerDecoderLayer"]


def _get_activation(activation):
    if callable(activation):
        return activation
    if activation == "relu":
        return F.relu
    if activation == "gelu":
        return F.gelu
    raise RuntimeError(f"activation should be relu/gelu, not {activation}")


def _generate_square_subsequent_mask(sz: int, device=None, dtype=None):
    """(sz, sz) float mask: 0 on and below the diagonal, -inf above (position i sees 0..i)."""
    m = np.triu(np.full((sz, sz), -np.inf), 1)
    return _factories.tensor(m, dtype=dtype or dt.default_float(), device=device)


def _clones(module: Module, n: int) -> ModuleList:
    return ModuleList([copy.deepcopy(module) for _ in range(n)])


class _TransformerLayer(Module):
    """What encoder and decoder layers share: PyTorch's submodules under PyTorch's names (so state
    dicts carry over), built in PyTorch's order, and the self-attention block."""

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation=F.relu,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device=None,
        dtype=None,
    ):
        super().__init__()
        blocks = self._blocks  # residual blocks: 2 (self-attention, feed-forward) or 3 (cross-attention between)
        kw = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, **kw)
        if blocks == 3:
            self.multihead_attn = MultiheadAttention(
                d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, **kw
            )
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **kw)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **kw)
        self.norm_first = norm_first
        for i in range(1, blocks + 1):
            setattr(self, f"norm{i}", LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw))
        for i in range(1, blocks + 1):
            setattr(self, f"dropout{i}", Dropout(dropout))
        self.activation = _get_activation(activation)

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask, need_weights=False,
                           is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff(self, x):
        """The feed-forward block before its final dropout (``dropout2``, or ``dropout3`` in a decoder)."""
        return self.linear2(self.dropout(self.activation(self.linear1(x))))


class TransformerEncoderLayer(_TransformerLayer):
    """Self-attention and a feed-forward block, each with dropout, a residual and LayerNorm
    (after each block, or before with ``norm_first``)."""

    _blocks = 2

    def _ff_block(self, x):
        return self.dropout2(self._ff(x))

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal: bool = False):
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x


class TransformerDecoderLayer(_TransformerLayer):
    """Self-attention, cross-attention over the encoder's memory, and a feed-forward block."""

    _blocks = 3

    def _mha_block(self, x, mem, attn_mask, key_padding_mask, is_causal):
        x = self.multihead_attn(x, mem, mem, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                                is_causal=is_causal, need_weights=False)[0]
        return self.dropout2(x)

    def _ff_block(self, x):
        return self.dropout3(self._ff(x))

    def forward(
        self,
        tgt,
        memory,
        tgt_mask=None,
        memory_mask=None,
        tgt_key_padding_mask=None,
        memory_key_padding_mask=None,
        tgt_is_causal: bool = False,
        memory_is_causal: bool = False,
    ):
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask, memory_key_padding_mask, memory_is_causal)
            x = x + self._ff_block(self.norm3(x))
        else:
            x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
            x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask, memory_is_causal))
            x = self.norm3(x + self._ff_block(x))
        return x


class TransformerEncoder(Module):
    """``num_layers`` copies of an encoder layer (independent weights), then an optional ``norm``.

    PyTorch's sparsity fast path (``enable_nested_tensor``), reproduced for what it shows: in
    inference -- the first layer in eval mode, and grad disabled or neither ``src`` nor that
    layer's weights requiring it -- with a batched ``src``, a ``src_key_padding_mask`` and no
    ``mask``, for a layer that allows it (:meth:`_why_not_sparsity_fast_path`), PyTorch packs
    each sequence into a nested tensor and pads the result back with zeros. The outputs at
    padded positions are then 0 (``norm(0)`` with a final ``norm``), not the layer's values
    there. graphc runs the padded batch and writes those zeros. A sequence is its first ``n``
    positions, ``n`` its count of unmasked keys (False in a bool mask, exactly 0 in a float
    one); with ``mask_check`` a mask that is not left-aligned (padding only at the end) takes
    the ordinary path instead, as does a traced ``forward`` (PyTorch under ``torch.compile``).
    """

    def __init__(self, encoder_layer, num_layers: int, norm=None, enable_nested_tensor: bool = True, mask_check: bool = True):
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm
        self.enable_nested_tensor = enable_nested_tensor
        self.use_nested_tensor = enable_nested_tensor and not self._why_not_sparsity_fast_path(encoder_layer)
        self.mask_check = mask_check

    @staticmethod
    def _why_not_sparsity_fast_path(layer) -> str:
        """PyTorch's construction-time conditions of the fast path, in its order ('' if they hold)."""
        if not isinstance(layer, TransformerEncoderLayer):
            return "encoder_layer was not TransformerEncoderLayer"
        attn = layer.self_attn
        act = layer.activation
        if layer.norm_first:
            return "encoder_layer.norm_first was True"
        if not attn.batch_first:
            return "encoder_layer.self_attn.batch_first was not True"
        if not attn._qkv_same_embed_dim:
            return "encoder_layer.self_attn._qkv_same_embed_dim was not True"
        if attn.in_proj_bias is None:
            return "encoder_layer.self_attn was passed bias=False"
        if not (act is F.relu or act is F.gelu or isinstance(act, (ReLU, GELU))):
            return "encoder_layer.activation_relu_or_gelu was not True"
        if layer.norm1.eps != layer.norm2.eps:
            return "encoder_layer.norm1.eps was not equal to encoder_layer.norm2.eps"
        if attn.num_heads % 2 == 1:
            return "encoder_layer.self_attn.num_heads is odd"
        return ""

    def _sequence_positions(self, src, mask, src_key_padding_mask):
        """(N, S) bool: the positions PyTorch's nested tensor keeps, or None off its fast path."""
        kpm, first = src_key_padding_mask, self.layers[0]
        if not getattr(self, "use_nested_tensor", False) or first.training or src.ndim != 3 or kpm is None:
            return None
        if not (kpm._dtype.is_bool or kpm._dtype.is_floating_point):
            return None  # (the layer raises PyTorch's error)
        keep = _F.logical_not(kpm) if kpm._dtype.is_bool else _F.eq(kpm, 0)
        tracing = _state.active_tracer() is not None
        if self.mask_check and (tracing or not _left_aligned(np.asarray(keep.detach()))):
            return None
        if mask is not None or is_autocast_enabled():
            return None
        a, n, f = first.self_attn, first.norm1, first.norm2
        weights = (src, a.in_proj_weight, a.in_proj_bias, a.out_proj.weight, a.out_proj.bias, n.weight, n.bias,
                   f.weight, f.bias, first.linear1.weight, first.linear1.bias, first.linear2.weight, first.linear2.bias)
        if is_grad_enabled() and any(w is not None and w.requires_grad for w in weights):
            return None
        if not tracing and not np.asarray(keep.detach()).any():
            raise RuntimeError("to_padded_tensor: at least one constituent tensor should have non-zero numel")
        length = _F.sum(_F._to(keep, dt.int64), 1, keepdim=True)  # (N, 1): the first `length` positions
        return _F.lt(_F.unsqueeze(_factories.arange(src.shape[1], device=src._device), 0), length)

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        x = src
        causal = bool(is_causal) if is_causal is not None else False
        seq = self._sequence_positions(src, mask, src_key_padding_mask)
        kpm = src_key_padding_mask if seq is None else _F.logical_not(seq)
        for mod in self.layers:
            x = mod(x, src_mask=mask, is_causal=causal, src_key_padding_mask=kpm)
        if seq is not None:
            x = _F.where(_F.unsqueeze(seq, -1), x, _scalar_like(0, x))
        if self.norm is not None:
            x = self.norm(x)
        return x


def _left_aligned(keep: np.ndarray) -> bool:
    """Whether every row of ``keep`` is True...True False...False (no kept position after a gap)."""
    return not (~keep[:, :-1] & keep[:, 1:]).any()


class TransformerDecoder(Module):
    """``num_layers`` copies of a decoder layer, then an optional ``norm``."""

    def __init__(self, decoder_layer, num_layers: int, norm=None):
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(
        self,
        tgt,
        memory,
        tgt_mask=None,
        memory_mask=None,
        tgt_key_padding_mask=None,
        memory_key_padding_mask=None,
        tgt_is_causal=None,
        memory_is_causal: bool = False,
    ):
        x = tgt
        causal = bool(tgt_is_causal) if tgt_is_causal is not None else False
        for mod in self.layers:
            x = mod(x, memory, tgt_mask=tgt_mask, memory_mask=memory_mask, tgt_key_padding_mask=tgt_key_padding_mask,
                    memory_key_padding_mask=memory_key_padding_mask, tgt_is_causal=causal,
                    memory_is_causal=memory_is_causal)
        if self.norm is not None:
            x = self.norm(x)
        return x


class Transformer(Module):
    """The encoder-decoder Transformer of "Attention Is All You Need" (PyTorch's defaults: d_model
    512, 8 heads, 6 + 6 layers, feed-forward 2048, dropout 0.1)."""

    def __init__(
        self,
        d_model: int = 512,
        nhead: int = 8,
        num_encoder_layers: int = 6,
        num_decoder_layers: int = 6,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation=F.relu,
        custom_encoder=None,
        custom_decoder=None,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device=None,
        dtype=None,
    ):
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            layer = TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                                            batch_first, norm_first, bias, **kw)
            self.encoder = TransformerEncoder(layer, num_encoder_layers, LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw))
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            layer = TransformerDecoderLayer(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                                            batch_first, norm_first, bias, **kw)
            self.decoder = TransformerDecoder(layer, num_decoder_layers, LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw))
        self._reset_parameters()
        self.d_model = d_model
        self.nhead = nhead
        self.batch_first = batch_first

    def forward(
        self,
        src,
        tgt,
        src_mask=None,
        tgt_mask=None,
        memory_mask=None,
        src_key_padding_mask=None,
        tgt_key_padding_mask=None,
        memory_key_padding_mask=None,
        src_is_causal=None,
        tgt_is_causal=None,
        memory_is_causal: bool = False,
    ):
        is_batched = src.ndim == 3
        if not self.batch_first and src.shape[1] != tgt.shape[1] and is_batched:
            raise RuntimeError("the batch number of src and tgt must be equal")
        if self.batch_first and src.shape[0] != tgt.shape[0] and is_batched:
            raise RuntimeError("the batch number of src and tgt must be equal")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise RuntimeError("the feature number of src and tgt must be equal to d_model")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask, tgt_is_causal=tgt_is_causal,
                            memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device=None, dtype=None):
        """The causal mask: -inf above the diagonal, 0 elsewhere."""
        return _generate_square_subsequent_mask(sz, device, dtype)

    def _reset_parameters(self) -> None:
        for p in self.parameters():
            if p.dim() > 1:
                init.xavier_uniform_(p)
