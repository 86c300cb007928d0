"""Handing torch tensors to the _core extension: DLPack capsules, the stream, argument checks.

The checks here cover what the C++ core cannot see (Python types, ranks needed before an
output can be allocated); everything else is validated by the core, whose errors already name
the argument.
"""

import torch
from torch.utils.dlpack import to_dlpack

from . import _native

core = _native.core


def dl(t):
    """A DLPack capsule over `t` (no copy), or None."""
    if t is None:
        return None
    return to_dlpack(t)


def exec_kwargs(t):
    """The execution keywords for a tensor's device: torch's current stream on CUDA/ROCm;
    torch's intra-op thread count on the CPU. The core alone would use the OpenMP setting of
    the calling thread, which torch.set_num_threads sets only in the thread that calls it: a
    tapconv op in any other thread would then run on every core while torch's ops use what
    was asked for."""
    if t.device.type == "cuda":
        return {"stream": torch.cuda.current_stream(t.device).cuda_stream}
    return {"num_threads": torch.get_num_threads()}


def check_tensor(t, name, optional=False):
    if t is None and optional:
        return
    if not isinstance(t, torch.Tensor):
        raise TypeError("{}: expected a torch.Tensor, got {}".format(name, type(t).__name__))


def check_rank(t, name, rank, dims):
    check_tensor(t, name)
    if t.dim() != rank:
        raise ValueError("{}: expected a {}-D tensor {}, got shape {}".format(
            name, rank, dims, list(t.shape)))


def check_int(value, name, minimum=None):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("{}: expected an int, got {!r}".format(name, value))
    if minimum is not None and value < minimum:
        raise ValueError("{}: expected >= {}, got {}".format(name, minimum, value))
    return value


def int_list(value, name, length, minimum=None):
    """An int or a sequence of ints as a list of `length` ints."""
    if isinstance(value, (list, tuple, torch.Size)):
        values = list(value)
        if len(values) == 1 and length != 1:
            values = values * length
    else:
        values = [value] * length
    if len(values) != length:
        raise ValueError("{}: expected {} values (one per axis), got {!r}".format(
            name, length, value))
    return [check_int(v, name, minimum) for v in values]


def choice(value, name, choices):
    if value not in choices:
        raise ValueError("{}: expected one of {}, got {!r}".format(
            name, ", ".join(repr(c) for c in choices), value))
    return value


def placeholder(like):
    """What a backward op returns for a gradient that was not requested."""
    return like.new_empty((0,))


def is_channels_last(x):
    """True when a 4-D tensor is laid out NHWC in memory (and not also plain contiguous)."""
    return (x.dim() == 4 and not x.is_contiguous()
            and x.is_contiguous(memory_format=torch.channels_last))
