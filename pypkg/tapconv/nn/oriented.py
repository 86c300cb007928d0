"""OrientedConv2d: the Oriented1D layer, and the model's angle assignment."""

import math

import torch
from torch import nn

from .. import ops
from .._torch_bridge import check_int, choice


def model_angles(channels, n_angles=8, offset=0.0):
    r"""Per-channel angles of the Oriented1D models: C channels in `n_angles` contiguous
    groups, group :math:`n(c) = \lfloor (N (c + 1) - 1) / C \rfloor`, angle
    :math:`\theta_c = (\pi n(c) / N + \mathrm{offset}) \bmod \pi`.

    The models rotate every other block by 90 degrees: ``offset=math.pi / 2`` on odd blocks
    (and on the stem's second conv). Returns a float32 tensor of shape (C,).
    """
    check_int(channels, "channels", 1)
    check_int(n_angles, "n_angles", 1)
    groups = torch.div(n_angles * (torch.arange(channels, dtype=torch.float64) + 1) - 1,
                       channels, rounding_mode="floor")
    return torch.remainder(math.pi * groups / n_angles + offset, math.pi).to(torch.float32)


class OrientedConv2d(nn.Module):
    r"""Depthwise oriented 1D convolution (Oriented1D, ICCV 2023).

    Channel c convolves with K taps laid on a line at angle ``theta[c]`` (radians, measured
    counter-clockwise on screen from the horizontal)::

        y[n, c, p, q] = bias[c] + sum_k weight[c, 0, 0, k] * x[n, c, s*p + dh_c(k), s*q + dw_c(k)]

    (see tapconv.ops.oriented_conv2d for the tap rules). angle = 0 is exactly
    ``nn.Conv2d(C, C, (1, K), stride, padding=(0, K//2), groups=C)``.

    Args:
      in_channels, out_channels: must be equal (depthwise only).
      kernel_size: K, an odd int.
      stride: one int, along H and W; the output is ceil(H/s) x ceil(W/s).
      padding: always K//2 (implicit zero padding around every tap); accepted as None, 'same',
        K//2 or (0, K//2) for nn.Conv2d-style call sites. Upstream ignored this argument; any
        other value raises instead of being silently ignored.
      dilation: spacing of the taps along the line (an int).
      groups: None or in_channels.
      bias: learn a per-channel bias.
      angle: one float for every channel, or one per channel (sequence or tensor of C).
      tap_rule: 'trunc' (bit-exact with upstream) or 'line' (K distinct pixels).
      residual: fused identity, y = x + conv(x) (stride 1). Upstream's name ``resid`` is
        accepted too.
      nhwc: take and return (N, H, W, C) tensors (upstream's channels-last mode). Channels-last
        (N, C, H, W) tensors run natively without this flag.

    Parameters and buffers match upstream's state_dict: ``weight`` (C, 1, 1, K), ``bias`` (C),
    ``theta`` (C, 1) float32 (a buffer here, not trained; upstream stored it as a Parameter
    without gradient, which loads the same).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=None,
                 dilation=1, groups=None, bias=True, angle=0.0, tap_rule="trunc",
                 residual=False, nhwc=False, device=None, dtype=None, resid=None):
        super().__init__()
        check_int(in_channels, "in_channels", 1)
        if out_channels != in_channels:
            raise ValueError("out_channels: OrientedConv2d is depthwise: expected out_channels "
                             "== in_channels = {}, got {}".format(in_channels, out_channels))
        if groups is not None and groups != in_channels:
            raise ValueError("groups: OrientedConv2d is depthwise: expected groups == "
                             "in_channels = {}, got {}".format(in_channels, groups))
        check_int(kernel_size, "kernel_size", 1)
        if kernel_size % 2 == 0:
            raise ValueError("kernel_size: expected an odd int, got {}".format(kernel_size))
        half = kernel_size // 2
        if padding not in (None, "same", half, (0, half), [0, half]):
            raise ValueError(
                "padding: OrientedConv2d always pads by K//2 = {} around the taps; expected "
                "None, 'same', {} or (0, {}), got {!r}".format(half, half, half, padding))
        self.in_channels = self.out_channels = self.groups = in_channels
        self.kernel_size = kernel_size
        self.stride = check_int(stride, "stride", 1)
        self.dilation = check_int(dilation, "dilation", 1)
        self.tap_rule = choice(tap_rule, "tap_rule", ("trunc", "line"))
        self.residual = bool(residual if resid is None else resid)
        self.nhwc = bool(nhwc)
        factory = {"device": device, "dtype": dtype}
        self.weight = nn.Parameter(torch.empty((in_channels, 1, 1, kernel_size), **factory))
        if bias:
            self.bias = nn.Parameter(torch.empty(in_channels, **factory))
        else:
            self.register_parameter("bias", None)
        self.register_buffer("theta", self._angles(angle, in_channels, device))
        self._register_load_state_dict_pre_hook(self._theta_compat_hook)
        self.reset_parameters()

    @staticmethod
    def _angles(angle, channels, device):
        theta = torch.as_tensor(angle, dtype=torch.float32)
        if theta.dim() == 0:
            theta = theta.expand(channels)
        theta = theta.reshape(-1)
        if theta.numel() != channels:
            raise ValueError("angle: expected one angle or {} (one per channel), got {}".format(
                channels, theta.numel()))
        if not torch.isfinite(theta).all():
            raise ValueError("angle: expected finite angles in radians")
        return theta.reshape(channels, 1).clone().to(device=device)

    def reset_parameters(self):
        """nn.Conv2d's initialisation for a (C, 1, 1, K) depthwise weight."""
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.kernel_size)
            nn.init.uniform_(self.bias, -bound, bound)

    def _theta_compat_hook(self, state_dict, prefix, *args):
        # Upstream checkpoints store theta as a Parameter of shape (C, 1); some tools save (C,).
        key = prefix + "theta"
        if key in state_dict:
            theta = state_dict[key].detach()
            if theta.dim() == 1:
                theta = theta.reshape(-1, 1)
            state_dict[key] = theta.to(torch.float32)

    def _apply(self, fn, *args, **kwargs):
        # .half()/.to(dtype) must not round the angles: they stay float32 on the new device.
        theta = self.theta
        result = super()._apply(fn, *args, **kwargs)
        if self.theta.dtype not in (torch.float32, torch.float64):
            self.theta = theta.to(device=self.theta.device, dtype=torch.float32)
        return result

    def forward(self, x):
        if self.nhwc:
            if x.dim() != 4:
                raise ValueError("x: expected a 4-D tensor (N, H, W, C) (nhwc=True), got shape "
                                 "{}".format(list(x.shape)))
            x = x.permute(0, 3, 1, 2)  # channels-last (N, C, H, W) view: runs the NHWC kernels
        y = ops.oriented_conv2d(x, self.weight, self.theta, self.bias, stride=self.stride,
                                dilation=self.dilation, tap_rule=self.tap_rule,
                                residual=self.residual)
        if self.nhwc:
            y = y.permute(0, 2, 3, 1)
        return y

    def extra_repr(self):
        return ("{in_channels}, {out_channels}, kernel_size={kernel_size}, stride={stride}, "
                "dilation={dilation}, tap_rule={tap_rule!r}, residual={residual}, "
                "bias={has_bias}, nhwc={nhwc}").format(has_bias=self.bias is not None,
                                                       **self.__dict__)
