"""tapconv.ops.oriented_conv2d and tapconv.nn.OrientedConv2d against plain PyTorch oracles."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import oracles
from tapconv import nn as tnn
from tapconv import ops

ANGLES = [0.0, math.pi / 8, math.pi / 4, 3 * math.pi / 8, math.pi / 2, 5 * math.pi / 8,
          3 * math.pi / 4, 7 * math.pi / 8, -0.4, 2.5, 4.0]


def _rand(*shape, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed + sum(shape))
    return torch.randn(*shape, generator=g, dtype=torch.float64).to(dtype)


@pytest.mark.parametrize("tap_rule", ["trunc", "line"])
@pytest.mark.parametrize("stride,dilation", [(1, 1), (2, 1), (3, 2)])
@pytest.mark.parametrize("residual", [False, True])
def test_forward_matches_dense_depthwise_oracle(tap_rule, stride, dilation, residual):
    c, k = len(ANGLES), 7
    x = _rand(2, c, 9, 11)
    w = _rand(c, 1, 1, k, seed=1)
    b = _rand(c, seed=2)
    theta = torch.tensor(ANGLES, dtype=torch.float32)
    y = ops.oriented_conv2d(x, w, theta, b, stride=stride, dilation=dilation, tap_rule=tap_rule,
                            residual=residual)
    expected = oracles.oriented_conv2d(x, w, theta, b, stride, dilation, tap_rule, residual)
    assert y.shape == (2, c, math.ceil(9 / stride), math.ceil(11 / stride))
    torch.testing.assert_close(y, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-5), (torch.bfloat16, 3e-2),
                                       (torch.float16, 3e-3)])
def test_low_precision_dtypes(dtype, tol):
    x, w, b = _rand(1, 4, 6, 7), _rand(4, 1, 1, 5, seed=1), _rand(4, seed=2)
    theta = torch.tensor([0.0, 0.5, 1.5, 2.5])
    expected = oracles.oriented_conv2d(x, w, theta, b)
    y = ops.oriented_conv2d(x.to(dtype), w.to(dtype), theta, b.to(dtype))
    assert y.dtype == dtype
    torch.testing.assert_close(y.double(), expected, rtol=tol, atol=tol * 5)


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("tap_rule", ["trunc", "line"])
@pytest.mark.parametrize("channels_last", [False, True])
def test_gradcheck_every_input(stride, tap_rule, channels_last):
    x = _rand(2, 3, 5, 6).requires_grad_()
    w = _rand(3, 1, 1, 5, seed=1).requires_grad_()
    b = _rand(3, seed=2).requires_grad_()
    theta = torch.tensor([0.3, 1.9, -2.2])

    def f(x, w, b):
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return ops.oriented_conv2d(x, w, theta, b, stride=stride, tap_rule=tap_rule)

    assert torch.autograd.gradcheck(f, (x, w, b))


def test_gradcheck_dilation_and_residual():
    x = _rand(1, 2, 7, 5).requires_grad_()
    w = _rand(2, 1, 1, 3, seed=1).requires_grad_()
    theta = torch.tensor([0.7, 2.0], dtype=torch.float64)
    assert torch.autograd.gradcheck(
        lambda x, w: ops.oriented_conv2d(x, w, theta, dilation=2, residual=True, stride=2),
        (x, w))


def test_gradients_match_the_oracle_s_autograd():
    x = _rand(2, 4, 6, 7).requires_grad_()
    w = _rand(4, 1, 1, 5, seed=1).requires_grad_()
    b = _rand(4, seed=2).requires_grad_()
    theta = torch.tensor([0.1, 0.9, 1.7, 2.6])
    cot = _rand(2, 4, 3, 4, seed=3)
    grads = torch.autograd.grad((ops.oriented_conv2d(x, w, theta, b, stride=2) * cot).sum(),
                                (x, w, b))
    expected = torch.autograd.grad(
        (oracles.oriented_conv2d(x, w, theta, b, stride=2) * cot).sum(), (x, w, b))
    for g, e in zip(grads, expected):
        torch.testing.assert_close(g, e, rtol=1e-12, atol=1e-12)


def test_only_requested_gradients_are_computed():
    x = _rand(1, 2, 4, 4)
    w = _rand(2, 1, 1, 3, seed=1).requires_grad_()
    y = ops.oriented_conv2d(x, w, torch.zeros(2))
    (gw,) = torch.autograd.grad(y.sum(), (w,))
    # sum of each channel's input over the taps' valid positions: theta=0 -> row sums.
    expected = torch.autograd.grad(oracles.oriented_conv2d(x, w, torch.zeros(2)).sum(), (w,))[0]
    torch.testing.assert_close(gw, expected)


def test_theta_zero_module_equals_nn_conv2d_1xk():
    torch.manual_seed(0)
    m = tnn.OrientedConv2d(6, 6, 9, stride=2, angle=0.0)
    ref = nn.Conv2d(6, 6, (1, 9), stride=2, padding=(0, 4), groups=6)
    ref.load_state_dict({"weight": m.weight.detach(), "bias": m.bias.detach()})
    x = torch.randn(2, 6, 10, 13)
    torch.testing.assert_close(m(x), ref(x), rtol=1e-5, atol=1e-5)
    m(x).square().sum().backward()
    ref(x).square().sum().backward()
    torch.testing.assert_close(m.weight.grad, ref.weight.grad, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(m.bias.grad, ref.bias.grad, rtol=1e-4, atol=1e-4)


def test_theta_half_pi_is_the_vertical_conv():
    x, w = _rand(1, 3, 8, 5), _rand(3, 1, 1, 7, seed=1)
    y = ops.oriented_conv2d(x, w, torch.full((3,), math.pi / 2))
    # +90 degrees turns the kernel counter-clockwise: tap j reads row -j.
    vertical = w.reshape(3, 1, 7, 1).flip(2)
    torch.testing.assert_close(y, F.conv2d(x, vertical, padding=(3, 0), groups=3))


def test_module_matches_functional_and_channels_last_and_nhwc():
    torch.manual_seed(1)
    angles = tnn.model_angles(8, offset=math.pi / 2)
    m = tnn.OrientedConv2d(8, 8, 7, stride=2, angle=angles, tap_rule="line").double()
    x = torch.randn(2, 8, 9, 10, dtype=torch.float64)
    y = m(x)
    torch.testing.assert_close(y, ops.oriented_conv2d(x, m.weight, m.theta, m.bias, stride=2,
                                                      tap_rule="line"))
    y_cl = m(x.contiguous(memory_format=torch.channels_last))
    assert y_cl.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(y_cl, y)
    m.nhwc = True
    y_nhwc = m(x.permute(0, 2, 3, 1).contiguous())
    assert y_nhwc.shape == (2, 5, 5, 8)
    torch.testing.assert_close(y_nhwc, y.permute(0, 2, 3, 1))


def test_upstream_state_dict_loads():
    c, k = 16, 31
    torch.manual_seed(2)
    upstream = {  # Oriented1D's names and shapes; theta was an nn.Parameter (C, 1) float32
        "weight": torch.randn(c, 1, 1, k),
        "bias": torch.randn(c),
        "theta": nn.Parameter(tnn.model_angles(c).reshape(c, 1), requires_grad=False),
    }
    m = tnn.OrientedConv2d(c, c, k)
    m.load_state_dict(upstream)
    assert m.theta.dtype == torch.float32 and m.theta.shape == (c, 1)
    assert set(m.state_dict()) == {"weight", "bias", "theta"}
    x = torch.randn(1, c, 12, 12)
    expected = oracles.oriented_conv2d(x.double(), upstream["weight"].double(),
                                       upstream["theta"].detach(), upstream["bias"].double())
    torch.testing.assert_close(m(x).double(), expected, rtol=1e-4, atol=1e-4)
    m.load_state_dict({**upstream, "theta": upstream["theta"].detach().reshape(c)})  # (C,) too
    assert m.theta.shape == (c, 1)


def test_theta_stays_float32_under_dtype_casts():
    m = tnn.OrientedConv2d(4, 4, 5, angle=[0.1, 0.2, 0.3, 0.4]).half()
    assert m.weight.dtype == torch.float16 and m.theta.dtype == torch.float32
    torch.testing.assert_close(m.theta.flatten(), torch.tensor([0.1, 0.2, 0.3, 0.4]))
    y = m(torch.randn(1, 4, 6, 6).half())
    assert y.dtype == torch.float16


def test_model_angles_follow_the_upstream_assignment():
    theta = tnn.model_angles(96)
    assert theta.shape == (96,) and theta.dtype == torch.float32
    for g in range(8):
        torch.testing.assert_close(theta[12 * g:12 * (g + 1)],
                                   torch.full((12,), math.pi * g / 8))
    rotated = tnn.model_angles(96, offset=math.pi / 2)
    torch.testing.assert_close(rotated[:12], torch.full((12,), math.pi / 2))
    torch.testing.assert_close(rotated[48:60], torch.zeros(12), atol=1e-6, rtol=0)
    counts = torch.bincount(torch.round(tnn.model_angles(100) / (math.pi / 8)).long())
    assert counts.tolist() == [12, 13, 12, 13, 12, 13, 12, 13]


@pytest.mark.parametrize("kwargs,arg", [
    (dict(in_channels=4, out_channels=8, kernel_size=5), "out_channels"),
    (dict(in_channels=4, out_channels=4, kernel_size=4), "kernel_size"),
    (dict(in_channels=4, out_channels=4, kernel_size=5, groups=2), "groups"),
    (dict(in_channels=4, out_channels=4, kernel_size=5, padding=1), "padding"),
    (dict(in_channels=4, out_channels=4, kernel_size=5, tap_rule="round"), "tap_rule"),
    (dict(in_channels=4, out_channels=4, kernel_size=5, angle=[0.1, 0.2]), "angle"),
    (dict(in_channels=4, out_channels=4, kernel_size=5, stride=0), "stride"),
])
def test_module_arguments_are_checked(kwargs, arg):
    with pytest.raises(ValueError, match="^" + arg + ": "):
        tnn.OrientedConv2d(**kwargs)


def test_padding_spellings_upstream_used_are_accepted():
    for padding in (None, "same", 3, (0, 3)):
        tnn.OrientedConv2d(2, 2, 7, padding=padding)


def test_module_train_step_changes_the_output():
    torch.manual_seed(3)
    model = nn.Sequential(tnn.OrientedConv2d(4, 4, 7, angle=tnn.model_angles(4)), nn.GELU(),
                          tnn.OrientedConv2d(4, 4, 7, residual=True))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, target = torch.randn(2, 4, 8, 8), torch.randn(2, 4, 8, 8)
    losses = []
    for _ in range(3):
        opt.zero_grad()
        loss = F.mse_loss(model(x), target)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
