"""DCLS layers: Dcls1d/2d/3d and the N-MD variants Dcls2_1d, Dcls3_1d, Dcls3_2d."""

import math

import torch
import torch.nn.functional as F
from torch import nn

from .. import ops
from .._torch_bridge import check_int, choice, int_list

# Upstream's `version` names: interpolation and the axis order of its checkpoints.
_UPSTREAM_VERSIONS = {
    "v0": ("bilinear", "natural"),
    "gauss": ("gauss", "reversed"),
    "max": ("triangle", "reversed"),
}
_INTERPOLATION_ALIASES = {"v0": "bilinear", "max": "triangle"}
_INITIAL_SIG = {"gauss": 0.23, "triangle": 0.0}  # sigma = 0.5 and 1 with the default floors
_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_DENSE_CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}


def _compiling():
    """True while torch.compile traces (torch >= 2.1): no data pointers to key a cache on."""
    is_compiling = getattr(getattr(torch, "compiler", None), "is_compiling", None)
    return bool(is_compiling is not None and is_compiling())


def _resolve_interpolation(interpolation, version, axis_order, learnable_rank, sigma_floor,
                           gauss_floor_one):
    if version is not None:
        if version not in _UPSTREAM_VERSIONS:
            raise ValueError("version: expected one of 'v0', 'gauss', 'max' (upstream DCLS), "
                             "got {!r}".format(version))
        interp, order = _UPSTREAM_VERSIONS[version]
        if version == "gauss" and gauss_floor_one and sigma_floor is None:
            sigma_floor = 1.0  # upstream's ConstructKernel2_1d: sigma = |SIG| + 1
        return interp, axis_order or order, sigma_floor
    interp = _INTERPOLATION_ALIASES.get(interpolation, interpolation)
    choice(interp, "interpolation", ops.dcls.INTERPOLATIONS)
    return interp, axis_order or "natural", sigma_floor


class _DclsNd(nn.Module):
    """Shared implementation: `rank` spatial axes, the first `dense_rank` of them dense."""

    _rank = None
    _dense_rank = 0

    def __init__(self, in_channels, out_channels, kernel_count, stride=1, padding=0,
                 dilated_kernel_size=1, groups=1, bias=True, padding_mode="zeros",
                 interpolation="gauss", *, dense_kernel_size=(), version=None, axis_order=None,
                 sigma_floor=None, eps=1e-7, use_fused=None, use_implicit_gemm=None,
                 device=None, dtype=None):
        super().__init__()
        rank, dense_rank = self._rank, self._dense_rank
        learnable_rank = rank - dense_rank
        check_int(in_channels, "in_channels", 1)
        check_int(out_channels, "out_channels", 1)
        check_int(kernel_count, "kernel_count", 1)
        check_int(groups, "groups", 1)
        if in_channels % groups or out_channels % groups:
            raise ValueError("groups: in_channels ({}) and out_channels ({}) must be divisible "
                             "by groups ({})".format(in_channels, out_channels, groups))
        self.interpolation, self.axis_order, self.sigma_floor = _resolve_interpolation(
            interpolation, version, axis_order, learnable_rank, sigma_floor,
            gauss_floor_one=(rank, dense_rank) == (2, 1))
        choice(self.axis_order, "axis_order", ops.dcls.AXIS_ORDERS)
        if version == "v0" and learnable_rank == 3:
            raise ValueError("version: upstream's 3-D v0 checkpoints order P as (D, W, H), "
                             "which is not supported; use interpolation='bilinear' (D, H, W)")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_count, self.groups = kernel_count, groups
        self.dense_kernel_size = tuple(int_list(dense_kernel_size, "dense_kernel_size",
                                                dense_rank, 1)) if dense_rank else ()
        self.dilated_kernel_size = tuple(int_list(dilated_kernel_size, "dilated_kernel_size",
                                                  learnable_rank, 1))
        self.stride = tuple(int_list(stride, "stride", rank, 1))
        if isinstance(padding, str):
            self.padding = choice(padding, "padding", ("same", "valid"))
        else:
            self.padding = tuple(int_list(padding, "padding", rank, 0))
        self.padding_mode = choice(padding_mode, "padding_mode",
                                   ("zeros", "reflect", "replicate", "circular"))
        if self.padding_mode != "zeros" and isinstance(self.padding, str):
            raise ValueError("padding: padding_mode={!r} needs explicit padding sizes".format(
                padding_mode))
        self.eps = float(eps)
        self.use_fused = use_fused
        factory = {"device": device, "dtype": dtype}
        shape = (out_channels, in_channels // groups) + self.dense_kernel_size + (kernel_count,)
        self.weight = nn.Parameter(torch.empty(shape, **factory))
        self.P = nn.Parameter(torch.empty((learnable_rank,) + shape, **factory))
        if self.interpolation == "bilinear":
            self.register_parameter("SIG", None)
        else:
            self.SIG = nn.Parameter(torch.empty((learnable_rank,) + shape, **factory))
        if bias:
            self.bias = nn.Parameter(torch.empty(out_channels, **factory))
        else:
            self.register_parameter("bias", None)
        self._cache = None
        self.reset_parameters()

    # --- parameters -------------------------------------------------------------------------

    def _position_limits(self):
        """floor(S/2) of the learnable axis each P[d] moves along."""
        m = len(self.dilated_kernel_size)
        axes = [m - 1 - d if self.axis_order == "reversed" else d for d in range(m)]
        return [self.dilated_kernel_size[a] // 2 for a in axes]

    def reset_parameters(self):
        """Upstream's initialisation: weight kaiming_uniform(a=sqrt(5)) (fan_in = C_in/g *
        dense * K), bias U(+-1/sqrt(fan_in)); positions N(0, 0.5) clamped to the box
        (uniform over the box for the N-MD variants); SIG 0.23 (gauss) or 0 (triangle)."""
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = nn.init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            nn.init.uniform_(self.bias, -bound, bound)
        with torch.no_grad():
            for d, lim in enumerate(self._position_limits()):
                if self._dense_rank:
                    self.P[d].uniform_(-lim, lim)
                else:
                    self.P[d].normal_(0.0, 0.5)
            self.clamp_parameters()
            if self.SIG is not None:
                self.SIG.fill_(_INITIAL_SIG[self.interpolation])

    def clamp_parameters(self):
        """Clamps the positions into the box: P[d] in [-floor(S/2), floor(S/2)] (call after
        each optimizer step, as upstream's training scripts do)."""
        with torch.no_grad():
            for d, lim in enumerate(self._position_limits()):
                self.P[d].clamp_(-lim, lim)

    # --- forward ----------------------------------------------------------------------------

    def _kernel_size(self):
        return self.dense_kernel_size + self.dilated_kernel_size

    def construct_kernel(self):
        """The dense kernel (C_out, C_in/g, *dense, *S), differentiable in the parameters."""
        return ops.dcls_construct(
            self.weight, self.P, self.SIG, dilated_kernel_size=self.dilated_kernel_size,
            dense_kernel_size=self.dense_kernel_size, interpolation=self.interpolation,
            axis_order=self.axis_order, sigma_floor=self.sigma_floor, eps=self.eps)

    def _cacheable(self):
        params = [p for p in (self.weight, self.P, self.SIG) if p is not None]
        return not self.training and not _compiling() and not (
            torch.is_grad_enabled() and any(p.requires_grad for p in params))

    def _kernel(self):
        if not self._cacheable():
            self._cache = None
            return self.construct_kernel()
        params = [p for p in (self.weight, self.P, self.SIG) if p is not None]
        key = tuple((p.data_ptr(), p._version, p.dtype, p.device) for p in params)
        if self._cache is None or self._cache[0] != key:
            with torch.no_grad():
                self._cache = (key, self.construct_kernel())
        return self._cache[1]

    def _fused_padding(self):
        """Explicit padding for the fused path, or None when it cannot run this layer."""
        if isinstance(self.padding, str):
            if self.padding == "valid":
                return [0] * self._rank
            if any(k % 2 == 0 for k in self._kernel_size()) or any(s != 1 for s in self.stride):
                return None
            return [k // 2 for k in self._kernel_size()]
        return list(self.padding)

    def _use_fused(self):
        eligible = (self.interpolation == "bilinear" and self.padding_mode == "zeros"
                    and self.in_channels == self.out_channels == self.groups
                    and self._fused_padding() is not None)
        if self.use_fused is None:
            return eligible and not self._cacheable()
        if self.use_fused and not eligible:
            raise ValueError("use_fused: the fused path needs a depthwise (in == out == groups) "
                             "bilinear layer with zero padding")
        return bool(self.use_fused)

    def forward(self, x):
        if not isinstance(x, torch.Tensor) or x.dim() != self._rank + 2:
            raise ValueError("x: expected a {}-D tensor (N, C, {} spatial), got {}".format(
                self._rank + 2, self._rank,
                list(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__))
        if self._use_fused():
            return ops.dcls_depthwise_conv(
                x, self.weight, self.P, self.bias, dilated_kernel_size=self.dilated_kernel_size,
                dense_kernel_size=self.dense_kernel_size, stride=self.stride,
                padding=self._fused_padding(), axis_order=self.axis_order)
        padding = self.padding
        if self.padding_mode != "zeros":
            pads = []
            for p in reversed(self.padding):
                pads += [p, p]
            x = F.pad(x, pads, mode=self.padding_mode)
            padding = 0
        return _CONV[self._rank](x, self._kernel(), self.bias, self.stride, padding, 1,
                                 self.groups)

    def to_dense_conv(self):
        """A plain nn.Conv{N}d with the constructed kernel baked in (for export/inference)."""
        conv = _DENSE_CONV[self._rank](
            self.in_channels, self.out_channels, self._kernel_size(), stride=self.stride,
            padding=self.padding, groups=self.groups, bias=self.bias is not None,
            padding_mode=self.padding_mode, device=self.weight.device, dtype=self.weight.dtype)
        with torch.no_grad():
            conv.weight.copy_(self.construct_kernel())
            if self.bias is not None:
                conv.bias.copy_(self.bias)
        return conv

    def train(self, mode=True):
        self._cache = None
        return super().train(mode)

    def extra_repr(self):
        s = ("{in_channels}, {out_channels}, kernel_count={kernel_count}, "
             "dilated_kernel_size={dilated_kernel_size}")
        if self.dense_kernel_size:
            s += ", dense_kernel_size={dense_kernel_size}"
        s += (", stride={stride}, padding={padding}, groups={groups}, "
              "interpolation={interpolation!r}, axis_order={axis_order!r}")
        if self.padding_mode != "zeros":
            s += ", padding_mode={padding_mode!r}"
        if self.bias is None:
            s += ", bias=False"
        return s.format(**self.__dict__)


_DOC = """{title}

    Learns `kernel_count` weights per (out, in) channel pair at real-valued positions inside a
    {box} box, interpolates them into a dense kernel (tapconv.ops.dcls_construct) and runs
    ``F.conv{rank}d(x, kernel, bias, stride, padding, groups=groups)``.

    Args (mirroring nn.Conv{rank}d where they exist, then upstream DCLS's):
      in_channels, out_channels, kernel_count, stride, padding (ints/tuples or 'same'/'valid'),
      {size_args}groups, bias, padding_mode ('zeros', 'reflect', 'replicate', 'circular'),
      interpolation: 'gauss' (default, as upstream), 'bilinear' or 'triangle' (upstream's 'v0'
        and 'max' are accepted too); P[d] moves along learnable axis d.
      version: upstream's argument instead of `interpolation` ('v0', 'gauss', 'max'); it also
        selects upstream's position axis order ('gauss'/'max': reversed), so its checkpoints
        load with the same meaning.
      axis_order: 'natural' or 'reversed' (overrides the above).
      sigma_floor: sigma = |SIG| + sigma_floor (default 0.27 gauss, 1 triangle).
      use_fused: None (auto: depthwise bilinear layers use tapconv.ops.dcls_depthwise_conv when
        training), True or False.
      device, dtype.

    Parameters: ``weight`` {weight}, ``P`` (M, *weight.shape), ``SIG`` (like P; gauss and
    triangle only, else None), ``bias`` (out_channels) — upstream's names and shapes.
    In eval mode without gradients the dense kernel is built once and cached until a
    parameter changes.
"""


class Dcls1d(_DclsNd):
    __doc__ = _DOC.format(title="1-D DCLS convolution.", box="S", rank=1,
                          size_args="dilated_kernel_size (S), ",
                          weight="(out, in/groups, K)")
    _rank = 1


class Dcls2d(_DclsNd):
    __doc__ = _DOC.format(title="2-D DCLS convolution.", box="S_H x S_W", rank=2,
                          size_args="dilated_kernel_size (S or (S_H, S_W)), ",
                          weight="(out, in/groups, K)")
    _rank = 2


class Dcls3d(_DclsNd):
    __doc__ = _DOC.format(title="3-D DCLS convolution.", box="S_D x S_H x S_W", rank=3,
                          size_args="dilated_kernel_size (S or (S_D, S_H, S_W)), ",
                          weight="(out, in/groups, K)")
    _rank = 3


class _DclsNMd(_DclsNd):
    def __init__(self, in_channels, out_channels, kernel_count, stride=1, padding=0,
                 dense_kernel_size=1, dilated_kernel_size=1, groups=1, bias=True,
                 padding_mode="zeros", interpolation="gauss", **kwargs):
        super().__init__(in_channels, out_channels, kernel_count, stride, padding,
                         dilated_kernel_size, groups, bias, padding_mode, interpolation,
                         dense_kernel_size=dense_kernel_size, **kwargs)


class Dcls2_1d(_DclsNMd):
    __doc__ = _DOC.format(
        title="2-D conv whose first axis is dense and whose last axis has learned positions.",
        box="d_0 x S", rank=2, size_args="dense_kernel_size (d_0), dilated_kernel_size (S), ",
        weight="(out, in/groups, d_0, K)")
    _rank, _dense_rank = 2, 1


class Dcls3_1d(_DclsNMd):
    __doc__ = _DOC.format(
        title="3-D conv with two dense axes and learned positions along the last one.",
        box="d_0 x d_1 x S", rank=3,
        size_args="dense_kernel_size ((d_0, d_1)), dilated_kernel_size (S), ",
        weight="(out, in/groups, d_0, d_1, K)")
    _rank, _dense_rank = 3, 2


class Dcls3_2d(_DclsNMd):
    __doc__ = _DOC.format(
        title="3-D conv with one dense axis and learned positions along the last two.",
        box="d_0 x S_H x S_W", rank=3,
        size_args="dense_kernel_size (d_0), dilated_kernel_size ((S_H, S_W)), ",
        weight="(out, in/groups, d_0, K)")
    _rank, _dense_rank = 3, 1
