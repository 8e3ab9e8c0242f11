"""Convolutions via unfold + matmul (see :func:`graphc.nn.functional.conv2d`): ``Conv1d/2d/3d`` and ``ConvTranspose1d/2d/3d``."""

from __future__ import annotations

import math

from ... import _factories
from .. import functional as F
from .. import init
from ..functional import convnd as _convnd
from ..parameter import Parameter
from .module import Module

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]


class _ConvNd(Module):
    _n = 2
    _transposed = False

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups=1,
        bias=True,
        padding_mode="zeros",
        device=None,
        dtype=None,
        output_padding=0,
    ):
        super().__init__()
        n = self._n
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        valid_modes = {"zeros", "reflect", "replicate", "circular"}
        if padding_mode not in valid_modes:
            raise ValueError(f"padding_mode must be one of {valid_modes}, but got padding_mode='{padding_mode}'")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = F._ntuple(kernel_size, n, "kernel_size")
        self.stride = F._ntuple(stride, n, "stride")
        self.dilation = F._ntuple(dilation, n, "dilation")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of {{'valid', 'same'}}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = F._ntuple(padding, n, "padding")
        self.groups = groups
        self.padding_mode = padding_mode
        self.transposed = self._transposed
        self.output_padding = F._ntuple(output_padding, n, "output_padding")
        shape = (in_channels, out_channels // groups) if self.transposed else (out_channels, in_channels // groups)
        self.weight = Parameter(_factories.empty(shape + self.kernel_size, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(_factories.empty(out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        s = "{in_channels}, {out_channels}, kernel_size={kernel_size}, stride={stride}"
        if self.padding != (0,) * len(self.kernel_size):
            s += ", padding={padding}"
        if self.output_padding != (0,) * len(self.output_padding):
            s += ", output_padding={output_padding}"
        if self.dilation != (1,) * len(self.dilation):
            s += ", dilation={dilation}"
        if self.groups != 1:
            s += ", groups={groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += ", padding_mode={padding_mode}"
        return s.format(**self.__dict__)

    def _explicit_pad(self, input):
        """Non-zero padding modes pad first, then convolve without padding."""
        if isinstance(self.padding, str):
            if self.padding == "valid":
                return input, 0
            pads = []
            for k, d in zip(reversed(self.kernel_size), reversed(self.dilation)):
                total = d * (k - 1)
                pads += [total // 2, total - total // 2]
        else:
            pads = [p for p in reversed(self.padding) for _ in range(2)]
        return F.pad(input, pads, mode=self.padding_mode), 0

    def forward(self, input):
        padding = self.padding
        if self.padding_mode != "zeros":
            input, padding = self._explicit_pad(input)
        conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[self._n]
        return conv(input, self.weight, self.bias, self.stride, padding, self.dilation, self.groups)


class Conv2d(_ConvNd):
    """2-d convolution over (N, C_in, H, W) -> (N, C_out, H_out, W_out).

    >>> nn.Conv2d(1, 6, 5)
    Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))
    """

    _n = 2


class Conv1d(_ConvNd):
    """1-d convolution over (N, C_in, L) -> (N, C_out, L_out)."""

    _n = 1


class Conv3d(_ConvNd):
    """3-d convolution over (N, C_in, D, H, W) -> (N, C_out, D_out, H_out, W_out)."""

    _n = 3


class _ConvTransposeNd(_ConvNd):
    """Transposed convolutions: weight (in, out/groups, *kernel); ``forward(input, output_size=None)``."""

    _transposed = True

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        padding=0,
        output_padding=0,
        groups=1,
        bias=True,
        dilation=1,
        padding_mode="zeros",
        device=None,
        dtype=None,
    ):
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode, device,
            dtype, output_padding,
        )

    def forward(self, input, output_size=None):
        fn = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[self._n]
        if output_size is None:
            return fn(input, self.weight, self.bias, self.stride, self.padding, self.output_padding, self.groups,
                      self.dilation)
        return _convnd._conv_transpose(
            input, self.weight, self.bias, self.stride, self.padding, self.output_padding, self.groups, self.dilation,
            self._n, fn.__name__, output_size=output_size,
        )


class ConvTranspose1d(_ConvTransposeNd):
    """1-d transposed convolution (N, C_in, L) -> (N, C_out, L_out).

    >>> nn.ConvTranspose1d(4, 2, 3, stride=2)
    ConvTranspose1d(4, 2, kernel_size=(3,), stride=(2,))
    """

    _n = 1


class ConvTranspose2d(_ConvTransposeNd):
    """2-d transposed convolution (N, C_in, H, W) -> (N, C_out, H_out, W_out)."""

    _n = 2


class ConvTranspose3d(_ConvTransposeNd):
    """3-d transposed convolution (N, C_in, D, H, W) -> (N, C_out, D_out, H_out, W_out)."""

    _n = 3
