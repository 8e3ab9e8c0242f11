"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` and their single-step cells.

Each layer and direction projects the whole input sequence with one matmul,
then runs a Python loop over time whose body is the cell's few elementwise ops
plus one small matmul with the hidden state. Eagerly that is op by op; under
``@graphc.compile`` the loop is traced (unrolled) into one graph where each
step's gate arithmetic fuses into one kernel. Variable lengths (a
:class:`~graphc.nn.utils.rnn.PackedSequence`) run on the padded batch with the
state held fixed past each sequence's end, which gives PyTorch's results for
both directions. Parameter names, shapes, initialization and ``repr`` are
PyTorch's (``weight_ih_l0``, ``bias_hh_l1_reverse``, ``weight_hr_l0``...).
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from ir import dtypes as dt
from ir.errors import InputDTypeMismatchError

from ... import _autocast, _factories
from ... import _functional as _F
from ..._tensor import Tensor
from .. import functional as F
from .. import init
from ..parameter import Parameter
from ._packed import PackedSequence, pad_packed_sequence, repack
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _rnn_step(mode: str, xg: Tensor, h: Tensor, w_hh: Tensor, b_hh):
    """One RNN/RNN_RELU step from the precomputed input part ``xg`` = x W_ih^T + b_ih."""
    pre = _F.add(xg, F.linear(h, w_hh, b_hh))
    return _F.tanh(pre) if mode == "RNN_TANH" else _F.relu(pre)


def _lstm_step(xg: Tensor, h: Tensor, c: Tensor, w_hh: Tensor, b_hh, w_hr):
    gates = _F.add(xg, F.linear(h, w_hh, b_hh))
    i, f, g, o = _F.chunk(gates, 4, -1)
    c2 = _F.add(_F.mul(_F.sigmoid(f), c), _F.mul(_F.sigmoid(i), _F.tanh(g)))
    h2 = _F.mul(_F.sigmoid(o), _F.tanh(c2))
    if w_hr is not None:
        h2 = F.linear(h2, w_hr)
    return h2, c2


def _gru_step(xg: Tensor, h: Tensor, w_hh: Tensor, b_hh):
    hg = F.linear(h, w_hh, b_hh)
    xr, xz, xn = _F.chunk(xg, 3, -1)
    hr, hz, hn = _F.chunk(hg, 3, -1)
    r = _F.sigmoid(_F.add(xr, hr))
    z = _F.sigmoid(_F.add(xz, hz))
    n = _F.tanh(_F.add(xn, _F.mul(r, hn)))
    return _F.add(n, _F.mul(z, _F.sub(h, n)))  # (1 - z) n + z h


class RNNBase(Module):
    """The shared machinery of :class:`RNN`, :class:`LSTM` and :class:`GRU`."""

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
    ):
        super().__init__()
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        if not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError("dropout should be a number in range [0, 1] representing the probability of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects "
                f"num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
                UserWarning,
                stacklevel=2,
            )
        if not isinstance(hidden_size, int) or isinstance(hidden_size, bool):
            raise TypeError(f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if mode not in _GATES:
            raise ValueError(f"Unrecognized RNN mode: {mode}")
        gate_size = _GATES[mode] * hidden_size
        num_directions = 2 if bidirectional else 1
        real_hidden = proj_size if proj_size > 0 else hidden_size
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            for direction in range(num_directions):
                layer_input = input_size if layer == 0 else real_hidden * num_directions
                suffix = "_reverse" if direction == 1 else ""
                names = [f"weight_ih_l{layer}{suffix}", f"weight_hh_l{layer}{suffix}"]
                shapes = [(gate_size, layer_input), (gate_size, real_hidden)]
                if bias:
                    names += [f"bias_ih_l{layer}{suffix}", f"bias_hh_l{layer}{suffix}"]
                    shapes += [(gate_size,), (gate_size,)]
                if proj_size > 0:
                    names.append(f"weight_hr_l{layer}{suffix}")
                    shapes.append((proj_size, hidden_size))
                for name, shape in zip(names, shapes):
                    setattr(self, name, Parameter(_factories.empty(shape, device=device, dtype=dtype)))
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    @property
    def _flat_weights(self) -> list:
        return [getattr(self, n) for n in self._flat_weights_names]

    @property
    def all_weights(self) -> list:
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def flatten_parameters(self) -> None:
        """A no-op kept for PyTorch scripts (cuDNN weight packing has no counterpart here)."""

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for w in self.parameters():
            init.uniform_(w, -stdv, stdv)

    def extra_repr(self) -> str:
        s = "{input_size}, {hidden_size}"
        if self.proj_size != 0:
            s += ", proj_size={proj_size}"
        if self.num_layers != 1:
            s += ", num_layers={num_layers}"
        if self.bias is not True:
            s += ", bias={bias}"
        if self.batch_first is not False:
            s += ", batch_first={batch_first}"
        if self.dropout != 0:
            s += ", dropout={dropout}"
        if self.bidirectional is not False:
            s += ", bidirectional={bidirectional}"
        return s.format(**self.__dict__)

    # -- the forward pass ------------------------------------------------------------------------

    def _layer_weights(self, layer: int, direction: int):
        suffix = "_reverse" if direction == 1 else ""
        w_ih = getattr(self, f"weight_ih_l{layer}{suffix}")
        w_hh = getattr(self, f"weight_hh_l{layer}{suffix}")
        b_ih = getattr(self, f"bias_ih_l{layer}{suffix}") if self.bias else None
        b_hh = getattr(self, f"bias_hh_l{layer}{suffix}") if self.bias else None
        w_hr = getattr(self, f"weight_hr_l{layer}{suffix}") if self.proj_size > 0 else None
        return w_ih, w_hh, b_ih, b_hh, w_hr

    def _run_direction(self, x, h0, c0, weights, reverse: bool, lengths):
        """One layer in one direction over time-major ``x`` (T, N, I): outputs (T, N, H) and final states."""
        w_ih, w_hh, b_ih, b_hh, w_hr = weights
        t_len = x.shape[0]
        xg = F.linear(x, w_ih, b_ih)  # (T, N, G*H): the input part of every step in one matmul
        h, c = h0, c0
        outs = [None] * t_len
        steps = range(t_len - 1, -1, -1) if reverse else range(t_len)
        for t in steps:
            g = _F.select(xg, 0, t)
            if self.mode == "LSTM":
                h2, c2 = _lstm_step(g, h, c, w_hh, b_hh, w_hr)
            elif self.mode == "GRU":
                h2, c2 = _gru_step(g, h, w_hh, b_hh), None
            else:
                h2, c2 = _rnn_step(self.mode, g, h, w_hh, b_hh), None
            if lengths is not None:
                live = lengths[t]  # (N, 1) bool: this step is inside the sequence
                h2 = _F.where(live, h2, h)
                if c2 is not None:
                    c2 = _F.where(live, c2, c)
                outs[t] = _F.where(live, h2, _F.mul(h2, 0.0))
            else:
                outs[t] = h2
            h, c = h2, c2
        return _F.stack(outs, 0), h, c

    # PyTorch runs an unpacked LSTM without projections as one oneDNN kernel per layer and direction,
    # mkldnn_rnn_layer, which CPU autocast lists as lower precision: inputs, states and weights cast.
    _run_lstm_layer = _autocast.wrap(_run_direction, "mkldnn_rnn_layer")

    def _check_input(self, x: Tensor, batch_sizes) -> None:
        expected = 2 if batch_sizes is not None else 3
        if x.ndim != expected:
            raise RuntimeError(f"input must have {expected} dimensions, got {x.ndim}")
        if self.input_size != x.shape[-1]:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, got {x.shape[-1]}")

    def _check_hidden(self, hx: Tensor, expected: tuple, msg: str = "Expected hidden size {}, got {}") -> None:
        if tuple(hx.shape) != expected:
            raise RuntimeError(msg.format(list(expected), list(hx.shape)))

    def _forward(self, input, hx):
        """(output, h_n[, c_n]) for time-major or batch-first, batched, unbatched or packed input."""
        packed = isinstance(input, PackedSequence)
        num_dir = 2 if self.bidirectional else 1
        real_hidden = self.proj_size if self.proj_size > 0 else self.hidden_size
        if packed:
            x, lengths_t = pad_packed_sequence(input)
            lens = np.asarray(lengths_t.numpy(), dtype=np.int64)
            batched = True
        else:
            x = input
            if not isinstance(x, Tensor):
                raise TypeError(f"{type(self).__name__}: input must be a Tensor or a PackedSequence, got {type(x).__name__}")
        w0 = getattr(self, self._flat_weights_names[0]) if self._flat_weights_names else None
        if w0 is not None and x._dtype is not w0._dtype and not _autocast.state_key():
            raise InputDTypeMismatchError(
                f"{type(self).__name__}: RNN input dtype ({x._dtype}) does not match weight dtype ({w0._dtype}). "
                f"Convert input: input.to({w0._dtype}), or convert model: model.to({x._dtype})"
            )
        if not packed:
            batched = x.ndim == 3
            if x.ndim not in (2, 3):
                raise ValueError(f"{type(self).__name__}: Expected input to be 2D or 3D, got {x.ndim}D instead")
            if not batched:
                x = _F.unsqueeze(x, 1)
            elif self.batch_first:
                x = _F.transpose(x, 0, 1)
            lens = None
        self._check_input(x, None)
        t_len, n = x.shape[0], x.shape[1]
        lengths = None
        if lens is not None and (lens < t_len).any():
            live = np.arange(t_len)[:, None] < lens[None, :]  # (T, N)
            lengths = [_factories.tensor(live[t].reshape(n, 1), dtype=dt.bool_) for t in range(t_len)]
        is_lstm = self.mode == "LSTM"
        if hx is None:
            h0 = _factories.zeros((self.num_layers * num_dir, n, real_hidden), dtype=x.dtype, device=x.device)
            c0 = _factories.zeros((self.num_layers * num_dir, n, self.hidden_size), dtype=x.dtype, device=x.device) if is_lstm else None
        else:
            if is_lstm:
                if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                    raise RuntimeError("LSTM: hx must be a tuple (h_0, c_0)")
                h0, c0 = hx
            else:
                h0, c0 = hx, None
            if not batched:
                if h0.ndim != 2:
                    raise RuntimeError(f"For unbatched 2-D input, hx should also be 2-D but got {h0.ndim}-D tensor")
                h0 = _F.unsqueeze(h0, 1)
                c0 = _F.unsqueeze(c0, 1) if c0 is not None else None
            elif h0.ndim != 3:
                raise RuntimeError(f"For batched 3-D input, hx should also be 3-D but got {h0.ndim}-D tensor")
            self._check_hidden(h0, (self.num_layers * num_dir, n, real_hidden))
            if c0 is not None:
                self._check_hidden(c0, (self.num_layers * num_dir, n, self.hidden_size), "Expected hidden[1] size {}, got {}")
        layer_in = x
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outs = []
            for d in range(num_dir):
                k = layer * num_dir + d
                hk = _F.select(h0, 0, k)
                ck = _F.select(c0, 0, k) if c0 is not None else None
                run = self._run_lstm_layer if is_lstm and not packed and self.proj_size == 0 else self._run_direction
                out, h, c = run(layer_in, hk, ck, self._layer_weights(layer, d), d == 1, lengths)
                outs.append(out)
                h_n.append(h)
                if c is not None:
                    c_n.append(c)
            layer_in = outs[0] if num_dir == 1 else _F.cat(outs, 2)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                layer_in = F.dropout(layer_in, self.dropout, True)
        output = layer_in
        h_n = _F.stack(h_n, 0)
        c_n = _F.stack(c_n, 0) if c_n else None
        if packed:
            # hx and h_n are in the original batch order, as the padded batch is; the output
            # packs back with the input's own order.
            output = repack(output, input)
        elif not batched:
            output = _F.squeeze(output, 1)
            h_n = _F.squeeze(h_n, 1)
            c_n = _F.squeeze(c_n, 1) if c_n is not None else None
        elif self.batch_first:
            output = _F.transpose(output, 0, 1)
        return output, h_n, c_n


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (``nonlinearity='relu'`` for ReLU).

    >>> rnn = nn.RNN(10, 20, 2)
    >>> output, h_n = rnn(graphc.randn(5, 3, 10))
    """

    def __init__(self, *args, **kwargs):
        nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if len(args) > 3:
            nonlinearity = args[3]
            args = args[:3] + args[4:]
        if nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__(mode, *args, **kwargs)

    def forward(self, input, hx=None):
        output, h_n, _ = self._forward(input, hx)
        return output, h_n


class LSTM(RNNBase):
    """Long short-term memory (gates i, f, g, o in PyTorch's order); ``proj_size`` projects h.

    Returns ``output, (h_n, c_n)``.
    """

    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)

    def forward(self, input, hx=None):
        output, h_n, c_n = self._forward(input, hx)
        return output, (h_n, c_n)


class GRU(RNNBase):
    """Gated recurrent unit (gates r, z, n in PyTorch's order): h' = (1 - z) * n + z * h."""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)

    def forward(self, input, hx=None):
        output, h_n, _ = self._forward(input, hx)
        return output, h_n


# ------------------------------------------------------------------------------------------- cells


class RNNCellBase(Module):
    """The shared parameters of the single-step cells: ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int, device=None, dtype=None):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = Parameter(_factories.empty((num_chunks * hidden_size, input_size), device=device, dtype=dtype))
        self.weight_hh = Parameter(_factories.empty((num_chunks * hidden_size, hidden_size), device=device, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(_factories.empty(num_chunks * hidden_size, device=device, dtype=dtype))
            self.bias_hh = Parameter(_factories.empty(num_chunks * hidden_size, device=device, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self) -> str:
        s = "{input_size}, {hidden_size}"
        if "bias" in self.__dict__ and self.bias is not True:
            s += ", bias={bias}"
        if "nonlinearity" in self.__dict__ and self.nonlinearity != "tanh":
            s += ", nonlinearity={nonlinearity}"
        return s.format(**self.__dict__)

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for w in self.parameters():
            init.uniform_(w, -stdv, stdv)

    def _prepare(self, input, hx, n_states: int):
        if not isinstance(input, Tensor):
            raise TypeError(f"{type(self).__name__}: input must be a Tensor")
        if input.ndim not in (1, 2):
            raise ValueError(f"{type(self).__name__}: Expected input to be 1D or 2D, got {input.ndim}D instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(
                f"input has inconsistent input_size: got {input.shape[-1]} expected {self.input_size}"
            )
        batched = input.ndim == 2
        x = input if batched else _F.unsqueeze(input, 0)
        if hx is None:
            z = _factories.zeros((x.shape[0], self.hidden_size), dtype=x.dtype, device=x.device)
            states = [z] * n_states
        else:
            states = list(hx) if n_states > 1 else [hx]
            if not batched:
                states = [_F.unsqueeze(s, 0) for s in states]
            for s in states:
                if tuple(s.shape) != (x.shape[0], self.hidden_size):
                    raise RuntimeError(
                        f"hidden{'[0]' if n_states > 1 else ''} has inconsistent size: got {list(s.shape)}, "
                        f"expected {[x.shape[0], self.hidden_size]}"
                    )
        return x, states, batched


class RNNCell(RNNCellBase):
    """One Elman RNN step: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh", device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        x, (h,), batched = self._prepare(input, hx, 1)
        mode = "RNN_TANH" if self.nonlinearity == "tanh" else "RNN_RELU"
        out = _rnn_step(mode, F.linear(x, self.weight_ih, self.bias_ih), h, self.weight_hh, self.bias_hh)
        return out if batched else _F.squeeze(out, 0)


class LSTMCell(RNNCellBase):
    """One LSTM step; returns ``(h', c')``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input, hx=None):
        x, (h, c), batched = self._prepare(input, hx, 2)
        h2, c2 = _lstm_step(F.linear(x, self.weight_ih, self.bias_ih), h, c, self.weight_hh, self.bias_hh, None)
        if not batched:
            return _F.squeeze(h2, 0), _F.squeeze(c2, 0)
        return h2, c2


class GRUCell(RNNCellBase):
    """One GRU step."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input, hx=None):
        x, (h,), batched = self._prepare(input, hx, 1)
        out = _gru_step(F.linear(x, self.weight_ih, self.bias_ih), h, self.weight_hh, self.bias_hh)
        return out if batched else _F.squeeze(out, 0)

