"""Oriented 1D depthwise convolution as torch ops (torch.ops.tapconv.oriented_conv2d*)."""

import torch

from .. import _library
from .._torch_bridge import (check_int, check_rank, check_tensor, choice, core, dl,
                             exec_kwargs, is_channels_last, placeholder)

_TAP_RULES = ("trunc", "line")


def _out_size(n, stride):
    return (n + stride - 1) // stride


def _check_common(x_name, x, stride, dilation, tap_rule):
    check_rank(x, x_name, 4, "(N, C, H, W)")
    check_int(stride, "stride", 1)
    check_int(dilation, "dilation", 1)
    choice(tap_rule, "tap_rule", _TAP_RULES)


def _layout_of(t):
    """('NHWC', t viewed as (N, H, W, C)) for channels-last tensors, else ('NCHW', t)."""
    if is_channels_last(t):
        return "NHWC", t.permute(0, 2, 3, 1)
    return "NCHW", t.contiguous()


def _like_layout(t, layout):
    if layout == "NHWC":
        return t.contiguous(memory_format=torch.channels_last).permute(0, 2, 3, 1)
    return t.contiguous()


def _empty_activation(shape, like, layout):
    fmt = torch.channels_last if layout == "NHWC" else torch.contiguous_format
    out = torch.empty(shape, dtype=like.dtype, device=like.device, memory_format=fmt)
    return out, (out.permute(0, 2, 3, 1) if layout == "NHWC" else out)


# --- forward ---------------------------------------------------------------------------------

def _forward_impl(x, weight, theta, bias, stride, dilation, tap_rule, residual):
    _check_common("x", x, stride, dilation, tap_rule)
    check_tensor(weight, "weight")
    check_tensor(theta, "theta")
    check_tensor(bias, "bias", optional=True)
    layout, xk = _layout_of(x)
    n, c, h, w = x.shape
    y, yk = _empty_activation((n, c, _out_size(h, stride), _out_size(w, stride)), x, layout)
    core.oriented_conv2d_forward(
        dl(xk), dl(weight.contiguous()), dl(theta.contiguous()), dl(yk),
        bias=dl(None if bias is None else bias.contiguous()), stride=stride, dilation=dilation,
        tap_rule=tap_rule, layout=layout, residual=residual, **exec_kwargs(x))
    return y


def _forward_fake(x, weight, theta, bias, stride, dilation, tap_rule, residual):
    _check_common("x", x, stride, dilation, tap_rule)
    layout = "NHWC" if is_channels_last(x) else "NCHW"
    n, c, h, w = x.shape
    return _empty_activation((n, c, _out_size(h, stride), _out_size(w, stride)), x, layout)[0]


def _forward_setup(ctx, inputs, output):
    x, weight, theta, bias, stride, dilation, tap_rule, residual = inputs
    ctx.save_for_backward(x, weight, theta)
    ctx.options = (stride, dilation, tap_rule, residual)
    ctx.has_bias = bias is not None


def _forward_backward(ctx, dy):
    x, weight, theta = ctx.saved_tensors
    stride, dilation, tap_rule, residual = ctx.options
    need = ctx.needs_input_grad
    dx = dweight = dbias = None
    if need[0]:
        dx = backward_input_op(dy, weight, theta, list(x.shape), stride, dilation, tap_rule,
                               residual)
    need_bias = ctx.has_bias and need[3]
    if need[1] or need_bias:
        dw, db = backward_params_op(dy, x, theta, weight.shape[3], stride, dilation, tap_rule,
                                    residual, need[1], need_bias)
        dweight = dw if need[1] else None
        dbias = db if need_bias else None
    return dx, dweight, None, dbias, None, None, None, None


# --- backward: input -------------------------------------------------------------------------

def _backward_input_impl(dy, weight, theta, input_size, stride, dilation, tap_rule, residual):
    _check_common("dy", dy, stride, dilation, tap_rule)
    check_tensor(weight, "weight")
    check_tensor(theta, "theta")
    layout, dyk = _layout_of(dy)
    dx, dxk = _empty_activation(tuple(input_size), dy, layout)
    core.oriented_conv2d_backward_input(
        dl(dyk), dl(weight.contiguous()), dl(theta.contiguous()), dl(dxk), stride=stride,
        dilation=dilation, tap_rule=tap_rule, layout=layout, residual=residual,
        **exec_kwargs(dy))
    return dx


def _backward_input_fake(dy, weight, theta, input_size, stride, dilation, tap_rule, residual):
    layout = "NHWC" if is_channels_last(dy) else "NCHW"
    return _empty_activation(tuple(input_size), dy, layout)[0]


# --- backward: parameters --------------------------------------------------------------------

def _backward_params_impl(dy, x, theta, kernel_size, stride, dilation, tap_rule, residual,
                          need_weight, need_bias):
    _check_common("x", x, stride, dilation, tap_rule)
    check_tensor(dy, "dy")
    check_tensor(theta, "theta")
    layout, xk = _layout_of(x)
    c = x.shape[1]
    dweight = x.new_empty((c, 1, 1, kernel_size)) if need_weight else None
    dbias = x.new_empty((c,)) if need_bias else None
    if need_weight or need_bias:
        core.oriented_conv2d_backward_params(
            dl(_like_layout(dy, layout)), dl(xk), dl(theta.contiguous()), dweight=dl(dweight),
            dbias=dl(dbias), stride=stride, dilation=dilation, tap_rule=tap_rule, layout=layout,
            residual=residual, **exec_kwargs(x))
    return (dweight if need_weight else placeholder(x),
            dbias if need_bias else placeholder(x))


def _backward_params_fake(dy, x, theta, kernel_size, stride, dilation, tap_rule, residual,
                          need_weight, need_bias):
    c = x.shape[1]
    return (x.new_empty((c, 1, 1, kernel_size)) if need_weight else placeholder(x),
            x.new_empty((c,)) if need_bias else placeholder(x))


backward_input_op = _library.define(
    "oriented_conv2d_backward_input",
    "(Tensor dy, Tensor weight, Tensor theta, int[] input_size, int stride, int dilation, "
    "str tap_rule, bool residual) -> Tensor",
    _backward_input_impl, _backward_input_fake)

backward_params_op = _library.define(
    "oriented_conv2d_backward_params",
    "(Tensor dy, Tensor x, Tensor theta, int kernel_size, int stride, int dilation, "
    "str tap_rule, bool residual, bool need_weight, bool need_bias) -> (Tensor, Tensor)",
    _backward_params_impl, _backward_params_fake)

forward_op = _library.define(
    "oriented_conv2d",
    "(Tensor x, Tensor weight, Tensor theta, Tensor? bias, int stride, int dilation, "
    "str tap_rule, bool residual) -> Tensor",
    _forward_impl, _forward_fake, _forward_setup, _forward_backward)


def oriented_conv2d(x, weight, theta, bias=None, *, stride=1, dilation=1, tap_rule="trunc",
                    residual=False):
    r"""Oriented 1D depthwise convolution: channel c convolves with K taps on a line at angle
    theta[c].

    .. math::

        y[n, c, p, q] = b[c] + \sum_{k=0}^{K-1} \tilde w[c, k]\,
                        x[n, c,\; s p + d\,\delta h_c(k),\; s q + d\,\delta w_c(k)]

    with zero padding outside the image, s = `stride`, d = `dilation`, output size
    ceil(H/s) x ceil(W/s), and :math:`\tilde w = w + e_{K//2}` when `residual` (y = x + conv(x)
    at stride 1). Tap j = k - K//2 lands at

    * ``tap_rule='trunc'`` (Oriented1D, bit-exact): :math:`\delta h = \mathrm{trunc}_{f32}(-\sin
      \theta\, j)`, :math:`\delta w = \mathrm{trunc}_{f32}(\cos\theta\, j)`;
    * ``tap_rule='line'``: K distinct pixels on the digital line: if :math:`|\cos\theta| \ge
      |\sin\theta|`, :math:`\delta w = j\,\mathrm{sgn}\cos\theta`, :math:`\delta h =
      \mathrm{round}(-j \sin\theta / |\cos\theta|)`, else the same with the axes swapped.

    theta = 0 equals ``F.conv2d(x, weight, bias, stride, padding=(0, K//2), groups=C)``.

    Args:
      x: (N, C, H, W), float16/bfloat16/float32/float64; channels-last tensors run the NHWC
        kernels and give a channels-last output.
      weight: (C, 1, 1, K), K odd, same dtype as x.
      theta: (C,) or (C, 1) angles in radians, float32 or float64 (not differentiated).
      bias: optional (C,).
      stride, dilation: ints >= 1.
      tap_rule: 'trunc' or 'line'.
      residual: fuse the identity.

    Returns:
      (N, C, ceil(H/stride), ceil(W/stride)). Differentiable in x, weight and bias.
    """
    check_tensor(x, "x")
    return forward_op(x, weight, theta, bias, check_int(stride, "stride", 1),
                      check_int(dilation, "dilation", 1), choice(tap_rule, "tap_rule",
                                                                 _TAP_RULES), bool(residual))
