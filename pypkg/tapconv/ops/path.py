"""Path ops as torch ops: gather along space-filling paths, its adjoint, and the fused path
depthwise conv1d (torch.ops.tapconv.path_*)."""

import torch

from .. import _library
from .._torch_bridge import (check_int, check_rank, check_tensor, core, dl, exec_kwargs,
                             placeholder)


def invert_paths(perm):
    """inv with inv[p, perm[p, l]] = l, for a (P, L) tensor of permutations (any device)."""
    check_rank(perm, "perm", 2, "(P, H*W)")
    steps = torch.arange(perm.shape[1], device=perm.device, dtype=perm.dtype)
    return torch.empty_like(perm).scatter_(1, perm.long(), steps.expand_as(perm).contiguous())


def _index(t, name):
    check_rank(t, name, 2, "(P, H*W)")
    return t.contiguous()


def _paths_of(perm, inv):
    return perm if perm is not None else invert_paths(inv)


# --- gather ----------------------------------------------------------------------------------

def _gather_shape(x, perm):
    check_rank(x, "x", 4, "(N, C, H, W)")
    check_rank(perm, "perm", 2, "(P, H*W)")
    n, c, h, w = x.shape
    return (n, perm.shape[0] * c, h * w)


def _gather_impl(x, perm, inv):
    y = x.new_empty(_gather_shape(x, perm))
    core.path_gather(dl(x.contiguous()), dl(_index(perm, "perm")), dl(y), **exec_kwargs(x))
    return y


def _gather_fake(x, perm, inv):
    return x.new_empty(_gather_shape(x, perm))


def _gather_setup(ctx, inputs, output):
    x, perm, inv = inputs
    ctx.save_for_backward(perm, inv)
    ctx.size = tuple(x.shape[2:])


def _gather_backward(ctx, dy):
    perm, inv = ctx.saved_tensors
    dx = None
    if ctx.needs_input_grad[0]:
        inv = inv if inv is not None else invert_paths(perm)
        dx = scatter_op(dy, inv, ctx.size[0], ctx.size[1], perm)
    return dx, None, None


# --- scatter ---------------------------------------------------------------------------------

def _scatter_shape(y, inv, height, width):
    check_rank(y, "y", 3, "(N, P*C, H*W)")
    check_rank(inv, "inv", 2, "(P, H*W)")
    check_int(height, "height", 1)
    check_int(width, "width", 1)
    paths = inv.shape[0]
    if paths == 0 or y.shape[1] % paths != 0:
        raise ValueError("y: expected P*C channels with P = inv.shape[0] = {}, got shape {}"
                         .format(paths, list(y.shape)))
    return (y.shape[0], y.shape[1] // paths, height, width)


def _scatter_impl(y, inv, height, width, perm):
    x = y.new_empty(_scatter_shape(y, inv, height, width))
    core.path_scatter(dl(y.contiguous()), dl(_index(inv, "inv")), dl(x), **exec_kwargs(y))
    return x


def _scatter_fake(y, inv, height, width, perm):
    return y.new_empty(_scatter_shape(y, inv, height, width))


def _scatter_setup(ctx, inputs, output):
    y, inv, height, width, perm = inputs
    ctx.save_for_backward(inv, perm)


def _scatter_backward(ctx, dx):
    inv, perm = ctx.saved_tensors
    dy = None
    if ctx.needs_input_grad[0]:
        dy = gather_op(dx, _paths_of(perm, inv), inv)
    return dy, None, None, None, None


# --- fused path depthwise conv1d -------------------------------------------------------------

def _conv_shape(x, perm, weight, stride, padding):
    check_rank(x, "x", 4, "(N, C, H, W)")
    check_rank(perm, "perm", 2, "(P, H*W)")
    check_rank(weight, "weight", 3, "(P*C*m, 1, K)")
    check_int(stride, "stride", 1)
    check_int(padding, "padding", 0)
    n, _, h, w = x.shape
    length = (h * w + 2 * padding - weight.shape[2]) // stride + 1
    return (n, weight.shape[0], max(length, 0))


def _conv_impl(x, perm, weight, bias, stride, padding, inv):
    check_tensor(bias, "bias", optional=True)
    y = x.new_empty(_conv_shape(x, perm, weight, stride, padding))
    core.path_conv_forward(
        dl(x.contiguous()), dl(_index(perm, "perm")), dl(weight.contiguous()), dl(y),
        bias=dl(None if bias is None else bias.contiguous()), stride=stride, padding=padding,
        **exec_kwargs(x))
    return y


def _conv_fake(x, perm, weight, bias, stride, padding, inv):
    return x.new_empty(_conv_shape(x, perm, weight, stride, padding))


def _conv_setup(ctx, inputs, output):
    x, perm, weight, bias, stride, padding, inv = inputs
    ctx.save_for_backward(x, perm, weight, inv)
    ctx.options = (stride, padding)
    ctx.has_bias = bias is not None


def _conv_backward(ctx, dy):
    x, perm, weight, inv = ctx.saved_tensors
    stride, padding = ctx.options
    need = ctx.needs_input_grad
    dx = dweight = dbias = None
    if need[0]:
        inv = inv if inv is not None else invert_paths(perm)
        dx = conv_backward_input_op(dy, inv, weight, list(x.shape), stride, padding)
    need_bias = ctx.has_bias and need[3]
    if need[2] or need_bias:
        dw, db = conv_backward_params_op(dy, x, perm, weight.shape[2], stride, padding, need[2],
                                         need_bias)
        dweight = dw if need[2] else None
        dbias = db if need_bias else None
    return dx, None, dweight, dbias, None, None, None


def _conv_backward_input_impl(dy, inv, weight, input_size, stride, padding):
    check_rank(dy, "dy", 3, "(N, P*C*m, L_out)")
    dx = dy.new_empty(tuple(input_size))
    core.path_conv_backward_input(dl(dy.contiguous()), dl(_index(inv, "inv")),
                                  dl(weight.contiguous()), dl(dx), stride=stride,
                                  padding=padding, **exec_kwargs(dy))
    return dx


def _conv_backward_input_fake(dy, inv, weight, input_size, stride, padding):
    return dy.new_empty(tuple(input_size))


def _conv_backward_params_impl(dy, x, perm, kernel_size, stride, padding, need_weight,
                               need_bias):
    check_rank(dy, "dy", 3, "(N, P*C*m, L_out)")
    channels = dy.shape[1]
    dweight = x.new_empty((channels, 1, kernel_size)) if need_weight else None
    dbias = x.new_empty((channels,)) if need_bias else None
    if need_weight or need_bias:
        core.path_conv_backward_params(
            dl(dy.contiguous()), dl(x.contiguous()), dl(_index(perm, "perm")),
            dweight=dl(dweight), dbias=dl(dbias), stride=stride, padding=padding,
            **exec_kwargs(x))
    return (dweight if need_weight else placeholder(x),
            dbias if need_bias else placeholder(x))


def _conv_backward_params_fake(dy, x, perm, kernel_size, stride, padding, need_weight,
                               need_bias):
    channels = dy.shape[1]
    return (x.new_empty((channels, 1, kernel_size)) if need_weight else placeholder(x),
            x.new_empty((channels,)) if need_bias else placeholder(x))


conv_backward_input_op = _library.define(
    "path_conv1d_backward_input",
    "(Tensor dy, Tensor inv, Tensor weight, int[] input_size, int stride, int padding) -> Tensor",
    _conv_backward_input_impl, _conv_backward_input_fake)

conv_backward_params_op = _library.define(
    "path_conv1d_backward_params",
    "(Tensor dy, Tensor x, Tensor perm, int kernel_size, int stride, int padding, "
    "bool need_weight, bool need_bias) -> (Tensor, Tensor)",
    _conv_backward_params_impl, _conv_backward_params_fake)

gather_op = _library.define(
    "path_gather", "(Tensor x, Tensor perm, Tensor? inv) -> Tensor",
    _gather_impl, _gather_fake, _gather_setup, _gather_backward)

scatter_op = _library.define(
    "path_scatter", "(Tensor y, Tensor inv, int height, int width, Tensor? perm) -> Tensor",
    _scatter_impl, _scatter_fake, _scatter_setup, _scatter_backward)

conv_op = _library.define(
    "path_conv1d",
    "(Tensor x, Tensor perm, Tensor weight, Tensor? bias, int stride, int padding, "
    "Tensor? inv) -> Tensor",
    _conv_impl, _conv_fake, _conv_setup, _conv_backward)


def path_gather(x, perm, *, inv=None):
    r"""Reads every image along P paths: :math:`y[n, pC + c, l] = x[n, c, \mathrm{perm}[p, l]]`.

    Args:
      x: (N, C, H, W), floating point.
      perm: (P, H*W) int32/int64, each row a permutation of the H*W pixels (r*W + c); see
        tapconv.paths.
      inv: optional inverse of perm (inv[p, perm[p, l]] = l), used by the backward (computed
        when not given).

    Returns:
      (N, P*C, H*W), path-major channels. The gradient is the gather
      :math:`dx[n, c, q] = \sum_p dy[n, pC + c, \mathrm{inv}[p, q]]` (deterministic).
    """
    check_tensor(x, "x")
    return gather_op(x, perm, inv)


def path_scatter(y, inv, height, width, *, perm=None):
    r"""The adjoint of path_gather: :math:`x[n, c, q] = \sum_p y[n, pC + c, \mathrm{inv}[p, q]]`
    (with one path, the inverse of path_gather: unflatten back to the image).

    Args:
      y: (N, P*C, H*W).
      inv: (P, H*W) inverse permutations.
      height, width: the image size.
      perm: optional perm (for the backward; computed from inv when not given).

    Returns:
      (N, C, H, W).
    """
    check_tensor(y, "y")
    return scatter_op(y, inv, height, width, perm)


def path_conv1d(x, perm, weight, bias=None, *, stride=1, padding=0, inv=None):
    r"""Fused path gather + depthwise 1D convolution, without materialising the sequence:

    .. math::

        y[n, g m + o, l'] = b[g m + o] + \sum_k w[g m + o, 0, k]\, s[n, g, \mathrm{stride}\, l'
        + k - \mathrm{padding}], \qquad s[n, pC + c, l] = x[n, c, \mathrm{perm}[p, l]]

    (s = 0 outside [0, H*W)), i.e. ``F.conv1d(path_gather(x, perm), weight, bias, stride,
    padding, groups=P*C)`` with G = P*C sequence channels and channel multiplier
    m = weight.shape[0] / G.

    Args:
      x: (N, C, H, W).
      perm: (P, H*W) permutations.
      weight: (G*m, 1, K).
      bias: optional (G*m,).
      stride, padding: along the sequence; padding = K//2 keeps the length at stride 1.
      inv: optional inverse of perm for the backward (a gather through inv: no atomics).

    Returns:
      (N, G*m, (H*W + 2*padding - K) // stride + 1). Differentiable in x, weight, bias.
    """
    check_tensor(x, "x")
    return conv_op(x, perm, weight, bias, check_int(stride, "stride", 1),
                   check_int(padding, "padding", 0), inv)
