"""tapconv layers (torch.nn.Module), with nn.ConvNd-style arguments and upstream-compatible
parameter names.

* OrientedConv2d, model_angles — Oriented1D.
* PathGather, PathScatter, PathConv1d — PathConv.
* Dcls1d, Dcls2d, Dcls3d, Dcls2_1d, Dcls3_1d, Dcls3_2d — DCLS, plus the training helpers
  share_positions, dcls_param_groups, repulsive_loss, clamp_parameters.
"""

from .dcls import Dcls1d, Dcls2_1d, Dcls2d, Dcls3_1d, Dcls3_2d, Dcls3d
from .dcls_training import (clamp_parameters, dcls_layers, dcls_param_groups, repulsive_loss,
                            share_positions)
from .oriented import OrientedConv2d, model_angles
from .path import PathConv1d, PathGather, PathScatter

__all__ = [
    "Dcls1d", "Dcls2d", "Dcls3d", "Dcls2_1d", "Dcls3_1d", "Dcls3_2d", "OrientedConv2d",
    "PathConv1d", "PathGather", "PathScatter", "clamp_parameters", "dcls_layers",
    "dcls_param_groups", "model_angles", "repulsive_loss", "share_positions",
]
