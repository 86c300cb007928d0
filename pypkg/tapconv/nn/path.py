"""Path layers: PathGather (image -> sequences along paths), PathScatter, and PathConv1d (fused
gather + depthwise conv1d). Paths are rebuilt for each new input size and cached."""

import torch
from torch import nn

from .. import ops, paths as paths_lib
from .._torch_bridge import check_int


class _PathCache(nn.Module):
    """Holds path specs and their (perm, inv) per (H, W, device): host geometry built once."""

    def __init__(self, paths):
        super().__init__()
        specs = [paths] if isinstance(paths, (str, paths_lib.PathSpec, dict)) else list(paths)
        if not specs:
            raise ValueError("paths: expected at least one path spec")
        self.paths = tuple(paths_lib.PathSpec.parse(s).canonical() for s in specs)
        self._tables = {}

    @property
    def num_paths(self):
        return len(self.paths)

    def tables(self, height, width, device):
        """(perm, inv), each (P, H*W) int64 on `device`."""
        key = (height, width, str(device))
        if key not in self._tables:
            perm, inv = paths_lib.build_paths(height, width, self.paths)
            self._tables[key] = (perm.to(device), inv.to(device))
        return self._tables[key]

    def _check_input(self, x):
        if not isinstance(x, torch.Tensor) or x.dim() != 4:
            raise ValueError("x: expected a 4-D tensor (N, C, H, W), got {}".format(
                list(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__))


class PathGather(_PathCache):
    """(N, C, H, W) -> (N, P*C, H*W): y[n, p*C + c, l] = x[n, c, perm_p[l]] (path-major).

    Args:
      paths: path specs (see tapconv.paths.PathSpec.parse), e.g. ['hilbert',
        ('hilbert', 24, (14, 1), 180), 'zorder'].
    """

    def forward(self, x):
        self._check_input(x)
        perm, inv = self.tables(x.shape[2], x.shape[3], x.device)
        return ops.path_gather(x, perm, inv=inv)

    def extra_repr(self):
        return "paths={}".format(list(self.paths))


class PathScatter(_PathCache):
    """(N, P*C, H*W) -> (N, C, H, W), the adjoint of PathGather (sums the P paths; with one
    path, the inverse). forward(y, height, width)."""

    def forward(self, y, height, width):
        perm, inv = self.tables(height, width, y.device)
        return ops.path_scatter(y, inv, height, width, perm=perm)

    def extra_repr(self):
        return "paths={}".format(list(self.paths))


class PathConv1d(_PathCache):
    r"""Fused path gather + depthwise Conv1d over the sequences:
    ``nn.Conv1d(P*C, out_channels, K, stride, padding, groups=P*C)(PathGather(paths)(x))``
    without materialising the gathered sequences.

    Args:
      in_channels: C of the (N, C, H, W) input.
      out_channels: P*C*m for a channel multiplier m >= 1 (default P*C).
      kernel_size: K.
      paths: path specs (see PathGather).
      stride, padding: along the sequence (ints; padding may be 'same' = K//2 at stride 1).
      bias, device, dtype: as nn.Conv1d.

    Parameters: weight (out_channels, 1, K), bias (out_channels) — nn.Conv1d's names and
    shapes, so a depthwise nn.Conv1d's state_dict loads.
    """

    def __init__(self, in_channels, out_channels=None, kernel_size=1, paths=("hilbert",),
                 stride=1, padding=0, bias=True, device=None, dtype=None):
        super().__init__(paths)
        check_int(in_channels, "in_channels", 1)
        check_int(kernel_size, "kernel_size", 1)
        sequences = self.num_paths * in_channels
        out_channels = sequences if out_channels is None else out_channels
        check_int(out_channels, "out_channels", 1)
        if out_channels % sequences:
            raise ValueError("out_channels: expected a multiple of P*C = {} * {} = {}, got {}"
                             .format(self.num_paths, in_channels, sequences, out_channels))
        if padding == "same":
            padding = kernel_size // 2
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = kernel_size
        self.stride = check_int(stride, "stride", 1)
        self.padding = check_int(padding, "padding", 0)
        # Initialised as the equivalent depthwise nn.Conv1d.
        reference = nn.Conv1d(sequences, out_channels, kernel_size, groups=sequences, bias=bias,
                              device=device, dtype=dtype)
        self.weight = reference.weight
        self.bias = reference.bias

    def forward(self, x):
        self._check_input(x)
        if x.shape[1] != self.in_channels:
            raise ValueError("x: expected {} channels, got shape {}".format(
                self.in_channels, list(x.shape)))
        perm, inv = self.tables(x.shape[2], x.shape[3], x.device)
        return ops.path_conv1d(x, perm, self.weight, self.bias, stride=self.stride,
                               padding=self.padding, inv=inv)

    def extra_repr(self):
        return ("{}, {}, kernel_size={}, stride={}, padding={}, bias={}, paths={}".format(
            self.in_channels, self.out_channels, self.kernel_size, self.stride, self.padding,
            self.bias is not None, list(self.paths)))
