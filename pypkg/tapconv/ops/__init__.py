"""Functional ops over torch tensors, differentiable, registered as ``torch.ops.tapconv.*``.

=================================  ==========================================================
function                           torch.ops.tapconv primitive(s)
=================================  ==========================================================
oriented_conv2d                    oriented_conv2d (+ _backward_input, _backward_params)
path_gather / path_scatter         path_gather / path_scatter
path_conv1d                        path_conv1d (+ _backward_input, _backward_params)
dcls_construct                     dcls_construct (+ _backward)
dcls_conv, dcls_conv{1,2,3}d       dcls_construct, then torch's own F.conv{N}d
dcls_depthwise_conv                dcls_depthwise_conv (+ _backward_input, _backward_params)
=================================  ==========================================================

Each primitive has a shape function for meta/fake tensors, so torch.compile can trace it, and
the forward primitives carry their autograd formulas, so ``torch.ops.tapconv.<op>`` is itself
differentiable. Kernels run in the C++ core (tapconv._core) on the tensors' device.
"""

from .dcls import (dcls_construct, dcls_conv, dcls_conv1d, dcls_conv2d, dcls_conv3d,
                   dcls_depthwise_conv, kernel_shape as dcls_kernel_shape)
from .oriented import oriented_conv2d
from .path import invert_paths, path_conv1d, path_gather, path_scatter

__all__ = [
    "dcls_construct", "dcls_conv", "dcls_conv1d", "dcls_conv2d", "dcls_conv3d",
    "dcls_depthwise_conv", "dcls_kernel_shape", "invert_paths", "oriented_conv2d",
    "path_conv1d", "path_gather", "path_scatter",
]
