"""DCLS (dilated convolution with learnable spacings) as torch ops: kernel construction
(torch.ops.tapconv.dcls_construct*), the fused depthwise bilinear conv
(torch.ops.tapconv.dcls_depthwise_conv*), and the functional convs built on them."""

import torch
import torch.nn.functional as F

from .. import _library
from .._torch_bridge import (check_int, check_rank, check_tensor, choice, core, dl,
                             exec_kwargs, int_list, placeholder)

INTERPOLATIONS = ("bilinear", "gauss", "triangle")
AXIS_ORDERS = ("natural", "reversed")


def kernel_shape(weight_shape, dilated_kernel_size):
    """(C_out, C_in/g, *dense, *S) for a weight (C_out, C_in/g, *dense, K)."""
    return tuple(weight_shape[:-1]) + tuple(dilated_kernel_size)


def _check_construct(weight, positions, sigma, dilated, interpolation, axis_order):
    check_tensor(weight, "weight")
    check_tensor(positions, "positions")
    check_tensor(sigma, "sigma", optional=True)
    if weight.dim() < 3:
        raise ValueError("weight: expected (C_out, C_in/groups, *dense, K), got shape {}".format(
            list(weight.shape)))
    choice(interpolation, "interpolation", INTERPOLATIONS)
    choice(axis_order, "axis_order", AXIS_ORDERS)
    for s in dilated:
        check_int(s, "dilated_kernel_size", 1)


def _construct_options(dilated, dense, interpolation, axis_order, sigma_floor, eps):
    return dict(dilated_kernel_size=list(dilated), dense_kernel_size=list(dense),
                interpolation=interpolation, axis_order=axis_order, sigma_floor=sigma_floor,
                eps=eps)


def _contiguous(t):
    return None if t is None else t.contiguous()


# --- construct -------------------------------------------------------------------------------

def _construct_impl(weight, positions, sigma, dilated, dense, interpolation, axis_order,
                    sigma_floor, eps):
    _check_construct(weight, positions, sigma, dilated, interpolation, axis_order)
    kernel = weight.new_empty(kernel_shape(weight.shape, dilated))
    core.dcls_construct(
        dl(weight.contiguous()), dl(positions.contiguous()), dl(kernel),
        sigma=dl(_contiguous(sigma)),
        **_construct_options(dilated, dense, interpolation, axis_order, sigma_floor, eps),
        **exec_kwargs(weight))
    return kernel


def _construct_fake(weight, positions, sigma, dilated, dense, interpolation, axis_order,
                    sigma_floor, eps):
    _check_construct(weight, positions, sigma, dilated, interpolation, axis_order)
    return weight.new_empty(kernel_shape(weight.shape, dilated))


def _construct_setup(ctx, inputs, output):
    weight, positions, sigma = inputs[:3]
    ctx.save_for_backward(weight, positions, sigma)
    ctx.options = tuple(inputs[3:])


def _construct_backward(ctx, dkernel):
    weight, positions, sigma = ctx.saved_tensors
    need = ctx.needs_input_grad
    need_sigma = sigma is not None and need[2]
    grads = [None, None, None]
    if need[0] or need[1] or need_sigma:
        dw, dp, ds = construct_backward_op(dkernel, weight, positions, sigma, *ctx.options,
                                           need[0], need[1], need_sigma)
        grads = [dw if need[0] else None, dp if need[1] else None, ds if need_sigma else None]
    return tuple(grads) + (None,) * len(ctx.options)


def _construct_backward_impl(dkernel, weight, positions, sigma, dilated, dense, interpolation,
                             axis_order, sigma_floor, eps, need_weight, need_positions,
                             need_sigma):
    _check_construct(weight, positions, sigma, dilated, interpolation, axis_order)
    check_tensor(dkernel, "dkernel")
    dweight = torch.empty_like(weight, memory_format=torch.contiguous_format) \
        if need_weight else None
    dpositions = torch.empty_like(positions, memory_format=torch.contiguous_format) \
        if need_positions else None
    dsigma = torch.empty_like(sigma, memory_format=torch.contiguous_format) \
        if need_sigma else None
    if need_weight or need_positions or need_sigma:
        core.dcls_construct_backward(
            dl(dkernel.contiguous()), dl(weight.contiguous()), dl(positions.contiguous()),
            sigma=dl(_contiguous(sigma)), dweight=dl(dweight), dpositions=dl(dpositions),
            dsigma=dl(dsigma),
            **_construct_options(dilated, dense, interpolation, axis_order, sigma_floor, eps),
            **exec_kwargs(weight))
    return tuple(t if t is not None else placeholder(weight)
                 for t in (dweight, dpositions, dsigma))


def _construct_backward_fake(dkernel, weight, positions, sigma, dilated, dense, interpolation,
                             axis_order, sigma_floor, eps, need_weight, need_positions,
                             need_sigma):
    return (torch.empty_like(weight) if need_weight else placeholder(weight),
            torch.empty_like(positions) if need_positions else placeholder(weight),
            torch.empty_like(sigma) if need_sigma else placeholder(weight))


# --- fused depthwise bilinear conv -----------------------------------------------------------

def _depthwise_out_shape(x, dilated, dense, stride, padding):
    rank = x.dim() - 2
    kernel = list(dense) + list(dilated)
    if len(kernel) != rank:
        raise ValueError(
            "x: expected {} spatial axes (len(dense_kernel_size) + len(dilated_kernel_size)), "
            "got shape {}".format(len(kernel), list(x.shape)))
    strides = int_list(stride, "stride", rank, 1)
    pads = int_list(padding, "padding", rank, 0)
    out = [(i + 2 * p - k) // s + 1 for i, p, k, s in zip(x.shape[2:], pads, kernel, strides)]
    return (x.shape[0], x.shape[1]) + tuple(max(o, 0) for o in out)


def _depthwise_options(dilated, dense, axis_order, stride, padding):
    return dict(dilated_kernel_size=list(dilated), dense_kernel_size=list(dense),
                axis_order=axis_order, stride=list(stride), padding=list(padding))


def _depthwise_impl(x, weight, positions, bias, dilated, dense, axis_order, stride, padding):
    check_tensor(x, "x")
    check_tensor(bias, "bias", optional=True)
    choice(axis_order, "axis_order", AXIS_ORDERS)
    y = x.new_empty(_depthwise_out_shape(x, dilated, dense, stride, padding))
    core.dcls_depthwise_forward(
        dl(x.contiguous()), dl(weight.contiguous()), dl(positions.contiguous()), dl(y),
        bias=dl(_contiguous(bias)),
        **_depthwise_options(dilated, dense, axis_order, stride, padding), **exec_kwargs(x))
    return y


def _depthwise_fake(x, weight, positions, bias, dilated, dense, axis_order, stride, padding):
    return x.new_empty(_depthwise_out_shape(x, dilated, dense, stride, padding))


def _depthwise_setup(ctx, inputs, output):
    x, weight, positions, bias = inputs[:4]
    ctx.save_for_backward(x, weight, positions)
    ctx.options = tuple(inputs[4:])
    ctx.has_bias = bias is not None


def _depthwise_backward(ctx, dy):
    x, weight, positions = ctx.saved_tensors
    need = ctx.needs_input_grad
    dx = dweight = dpositions = dbias = None
    if need[0]:
        dx = depthwise_backward_input_op(dy, weight, positions, list(x.shape), *ctx.options)
    need_bias = ctx.has_bias and need[3]
    if need[1] or need[2] or need_bias:
        dw, dp, db = depthwise_backward_params_op(dy, x, weight, positions, *ctx.options,
                                                  need[1], need[2], need_bias)
        dweight = dw if need[1] else None
        dpositions = dp if need[2] else None
        dbias = db if need_bias else None
    return (dx, dweight, dpositions, dbias) + (None,) * len(ctx.options)


def _depthwise_backward_input_impl(dy, weight, positions, input_size, dilated, dense,
                                   axis_order, stride, padding):
    check_tensor(dy, "dy")
    dx = dy.new_empty(tuple(input_size))
    core.dcls_depthwise_backward_input(
        dl(dy.contiguous()), dl(weight.contiguous()), dl(positions.contiguous()), dl(dx),
        **_depthwise_options(dilated, dense, axis_order, stride, padding), **exec_kwargs(dy))
    return dx


def _depthwise_backward_input_fake(dy, weight, positions, input_size, dilated, dense,
                                   axis_order, stride, padding):
    return dy.new_empty(tuple(input_size))


def _depthwise_backward_params_impl(dy, x, weight, positions, dilated, dense, axis_order,
                                    stride, padding, need_weight, need_positions, need_bias):
    check_tensor(dy, "dy")
    dweight = torch.empty_like(weight, memory_format=torch.contiguous_format) \
        if need_weight else None
    dpositions = torch.empty_like(positions, memory_format=torch.contiguous_format) \
        if need_positions else None
    dbias = x.new_empty((x.shape[1],)) if need_bias else None
    if need_weight or need_positions or need_bias:
        core.dcls_depthwise_backward_params(
            dl(dy.contiguous()), dl(x.contiguous()), dl(weight.contiguous()),
            dl(positions.contiguous()), dweight=dl(dweight), dpositions=dl(dpositions),
            dbias=dl(dbias), **_depthwise_options(dilated, dense, axis_order, stride, padding),
            **exec_kwargs(x))
    return tuple(t if t is not None else placeholder(x) for t in (dweight, dpositions, dbias))


def _depthwise_backward_params_fake(dy, x, weight, positions, dilated, dense, axis_order,
                                    stride, padding, need_weight, need_positions, need_bias):
    return (torch.empty_like(weight) if need_weight else placeholder(x),
            torch.empty_like(positions) if need_positions else placeholder(x),
            x.new_empty((x.shape[1],)) if need_bias else placeholder(x))


_CONSTRUCT_ARGS = ("int[] dilated_kernel_size, int[] dense_kernel_size, str interpolation, "
                   "str axis_order, float? sigma_floor, float eps")
_DEPTHWISE_ARGS = ("int[] dilated_kernel_size, int[] dense_kernel_size, str axis_order, "
                   "int[] stride, int[] padding")

construct_backward_op = _library.define(
    "dcls_construct_backward",
    "(Tensor dkernel, Tensor weight, Tensor positions, Tensor? sigma, " + _CONSTRUCT_ARGS +
    ", bool need_weight, bool need_positions, bool need_sigma) -> (Tensor, Tensor, Tensor)",
    _construct_backward_impl, _construct_backward_fake)

construct_op = _library.define(
    "dcls_construct",
    "(Tensor weight, Tensor positions, Tensor? sigma, " + _CONSTRUCT_ARGS + ") -> Tensor",
    _construct_impl, _construct_fake, _construct_setup, _construct_backward)

depthwise_backward_input_op = _library.define(
    "dcls_depthwise_conv_backward_input",
    "(Tensor dy, Tensor weight, Tensor positions, int[] input_size, " + _DEPTHWISE_ARGS +
    ") -> Tensor",
    _depthwise_backward_input_impl, _depthwise_backward_input_fake)

depthwise_backward_params_op = _library.define(
    "dcls_depthwise_conv_backward_params",
    "(Tensor dy, Tensor x, Tensor weight, Tensor positions, " + _DEPTHWISE_ARGS +
    ", bool need_weight, bool need_positions, bool need_bias) -> (Tensor, Tensor, Tensor)",
    _depthwise_backward_params_impl, _depthwise_backward_params_fake)

depthwise_op = _library.define(
    "dcls_depthwise_conv",
    "(Tensor x, Tensor weight, Tensor positions, Tensor? bias, " + _DEPTHWISE_ARGS +
    ") -> Tensor",
    _depthwise_impl, _depthwise_fake, _depthwise_setup, _depthwise_backward)


# --- public functions ------------------------------------------------------------------------

def _learnable_sizes(positions, dilated_kernel_size):
    check_tensor(positions, "positions")
    if positions.dim() < 1:
        raise ValueError("positions: expected (M, C_out, C_in/groups, *dense, K), got a scalar")
    return int_list(dilated_kernel_size, "dilated_kernel_size", positions.shape[0], 1)


def _sigma_for(interpolation, sigma):
    if interpolation == "bilinear":
        if sigma is not None:
            raise ValueError("sigma: bilinear interpolation takes no sigma; pass None")
        return None
    if sigma is None:
        raise ValueError("sigma: required for interpolation={!r}".format(interpolation))
    return sigma


def dcls_construct(weight, positions, sigma=None, *, dilated_kernel_size, dense_kernel_size=(),
                   interpolation="bilinear", axis_order="natural", sigma_floor=None, eps=1e-7):
    r"""Builds the dense DCLS kernel from K weights at learnable real positions.

    For element k of kernel row (o, i, dense...), at :math:`q_d = P[d, o, i, \ldots, k] +
    \lfloor S_d/2 \rfloor` along learnable axis d (grid units, 0 = first grid point):

    .. math::

        \mathrm{kernel}[o, i, \ldots, x] = \sum_k W[o, i, \ldots, k]\; c_k(x)

    * bilinear: :math:`c_k(x) = \prod_d (1 - |x_d - q_d|)` on the 2^M grid neighbours of
      :math:`\lfloor q \rfloor` (corners outside the box dropped, overlaps add; upstream v0);
    * gauss: :math:`c_k(x) = \phi(x) / (\sum_{x'} \phi(x') + \epsilon)`,
      :math:`\phi(x) = \prod_d \exp(-\tfrac12 ((x_d - q_d)/\sigma_d)^2)`;
    * triangle: the same with :math:`\phi(x) = \prod_d \max(0, \sigma_d - |x_d - q_d|)`;

    with :math:`\sigma_d = |\mathrm{SIG}_d| + \sigma_{floor}` (default floor 0.27 for gauss, 1
    for triangle). `axis_order='reversed'` makes P[d] move along learnable axis M-1-d
    (upstream's gauss/max checkpoints).

    Args:
      weight: (C_out, C_in/groups, *dense_kernel_size, K).
      positions: (M, *weight.shape), M = number of learnable axes.
      sigma: like positions for gauss/triangle; None for bilinear.
      dilated_kernel_size: S per learnable axis (an int applies to all M).
      dense_kernel_size: sizes of leading ordinary (dense) kernel axes (N-MD variants).

    Returns:
      (C_out, C_in/groups, *dense_kernel_size, *S). Differentiable in weight, positions, sigma.
    """
    dilated = _learnable_sizes(positions, dilated_kernel_size)
    dense = [check_int(d, "dense_kernel_size", 1) for d in dense_kernel_size]
    choice(interpolation, "interpolation", INTERPOLATIONS)
    return construct_op(weight, positions, _sigma_for(interpolation, sigma), dilated, dense,
                        interpolation, choice(axis_order, "axis_order", AXIS_ORDERS),
                        None if sigma_floor is None else float(sigma_floor), float(eps))


_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


def dcls_conv(x, weight, positions, sigma=None, bias=None, *, dilated_kernel_size,
              dense_kernel_size=(), stride=1, padding=0, groups=1, interpolation="bilinear",
              axis_order="natural", sigma_floor=None, eps=1e-7):
    r"""DCLS convolution: ``F.conv{N}d(x, dcls_construct(weight, positions, sigma, ...), bias,
    stride, padding, groups=groups)``, N = x.dim() - 2 = len(dense) + M.

    See dcls_construct for the kernel; everything is differentiable (x, weight, positions,
    sigma, bias). `padding` may be an int, a tuple, or 'same'/'valid' as in F.conv{N}d.
    """
    check_tensor(x, "x")
    rank = x.dim() - 2
    if rank not in _CONV:
        raise ValueError("x: expected (N, C, *spatial) with 1 to 3 spatial axes, got shape {}"
                         .format(list(x.shape)))
    kernel = dcls_construct(weight, positions, sigma, dilated_kernel_size=dilated_kernel_size,
                            dense_kernel_size=dense_kernel_size, interpolation=interpolation,
                            axis_order=axis_order, sigma_floor=sigma_floor, eps=eps)
    if kernel.dim() - 2 != rank:
        raise ValueError("x: expected {} spatial axes to match the kernel {}, got shape {}"
                         .format(kernel.dim() - 2, list(kernel.shape), list(x.shape)))
    check_int(groups, "groups", 1)
    if weight.shape[0] % groups:
        raise ValueError("groups: out channels weight.shape[0] = {} are not divisible by groups "
                         "= {}".format(weight.shape[0], groups))
    if x.shape[1] != weight.shape[1] * groups:
        raise ValueError("x: expected {} channels (weight.shape[1] * groups = {} * {}), got "
                         "shape {}".format(weight.shape[1] * groups, weight.shape[1], groups,
                                           list(x.shape)))
    if not isinstance(padding, str):
        padding = int_list(padding, "padding", rank, 0)
    return _CONV[rank](x, kernel, bias, int_list(stride, "stride", rank, 1), padding, 1, groups)


def dcls_conv1d(x, weight, positions, sigma=None, bias=None, **kwargs):
    """dcls_conv for (N, C, L) inputs."""
    check_rank(x, "x", 3, "(N, C, L)")
    return dcls_conv(x, weight, positions, sigma, bias, **kwargs)


def dcls_conv2d(x, weight, positions, sigma=None, bias=None, **kwargs):
    """dcls_conv for (N, C, H, W) inputs."""
    check_rank(x, "x", 4, "(N, C, H, W)")
    return dcls_conv(x, weight, positions, sigma, bias, **kwargs)


def dcls_conv3d(x, weight, positions, sigma=None, bias=None, **kwargs):
    """dcls_conv for (N, C, D, H, W) inputs."""
    check_rank(x, "x", 5, "(N, C, D, H, W)")
    return dcls_conv(x, weight, positions, sigma, bias, **kwargs)


def dcls_depthwise_conv(x, weight, positions, bias=None, *, dilated_kernel_size,
                        dense_kernel_size=(), stride=1, padding=0, axis_order="natural"):
    r"""Depthwise bilinear DCLS convolution computed straight from the :math:`\le 2^M K` taps
    per channel, without building the dense kernel. Equals
    ``dcls_conv(x, weight, positions, None, bias, ..., groups=C, interpolation='bilinear')``.

    Args:
      x: (N, C, *spatial).
      weight: (C, 1, *dense_kernel_size, K); positions (M, C, 1, *dense_kernel_size, K).
      bias: optional (C,).
      stride, padding: ints or one per spatial axis (zero padding).
    """
    check_tensor(x, "x")
    rank = x.dim() - 2
    dilated = _learnable_sizes(positions, dilated_kernel_size)
    dense = [check_int(d, "dense_kernel_size", 1) for d in dense_kernel_size]
    return depthwise_op(x, weight, positions, bias, dilated, dense,
                        choice(axis_order, "axis_order", AXIS_ORDERS),
                        int_list(stride, "stride", max(rank, 1), 1),
                        int_list(padding, "padding", max(rank, 1), 0))
