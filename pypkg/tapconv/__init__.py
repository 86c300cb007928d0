"""tapconv: oriented 1D, path and DCLS convolutions: few taps, large receptive fields.

* ``tapconv.ops``: functional ops with autograd, also registered as ``torch.ops.tapconv.*``.
* ``tapconv.nn``: modules (OrientedConv2d, PathConv1d, PathGather, Dcls1d/2d/3d, ...).
* ``tapconv.paths``: space-filling paths and their locality.
* ``tapconv.backends()``: the kernels this build has and whether they run here.
* ``tapconv._core``: the C++ ops over DLPack tensors (torch, NumPy, ...), no torch needed.

The compiled extension links no torch library: the same build works with any torch version
of its Python version (tested: Debian's torch 1.13), and with NumPy arrays on the CPU.
"""

import collections
import importlib.util

from ._native import core as _core

__version__ = "0.1.0"

Backend = collections.namedtuple("Backend", "name device priority available reason")


def backends():
    """The backends compiled into this build, as Backend(name, device, priority, available,
    reason) tuples. For each device the available one with the highest priority runs an op;
    on the CPU an op it does not implement falls back to the 'reference' backend."""
    return [Backend(b["name"], b["device"], b["priority"], b["available"], b["reason"])
            for b in _core.backends()]


if importlib.util.find_spec("torch") is not None:
    from . import nn, ops, paths  # noqa: F401  (registers torch.ops.tapconv.*)
else:  # NumPy-only use of _core: the torch layers are unavailable.
    from . import paths  # noqa: F401

__all__ = ["Backend", "backends", "nn", "ops", "paths", "__version__"]
