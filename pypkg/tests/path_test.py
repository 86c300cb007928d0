"""tapconv.ops.path_* and tapconv.nn.Path* against indexing + F.conv1d oracles."""

import pytest
import torch
import torch.nn.functional as F

import oracles
from tapconv import nn as tnn
from tapconv import ops, paths

SPECS = ["hilbert", ("hilbert", 3, (1, 2), 180), "raster", "snake"]


def _rand(*shape, seed=0):
    g = torch.Generator().manual_seed(seed + sum(shape))
    return torch.randn(*shape, generator=g, dtype=torch.float64)


def _tables(h, w, specs=SPECS, dtype=torch.int64):
    perm, inv = paths.build_paths(h, w, specs)
    return perm.to(dtype), inv.to(dtype)


@pytest.mark.parametrize("index_dtype", [torch.int32, torch.int64])
def test_gather_matches_indexing_and_scatter_is_its_adjoint(index_dtype):
    perm, inv = _tables(5, 6, dtype=index_dtype)
    x = _rand(2, 3, 5, 6)
    y = ops.path_gather(x, perm, inv=inv)
    torch.testing.assert_close(y, oracles.path_gather(x, perm), rtol=0, atol=0)
    z = _rand(2, 12, 30, seed=1)
    xz = ops.path_scatter(z, inv, 5, 6, perm=perm)
    # <gather(x), z> == <x, scatter(z)>
    torch.testing.assert_close((y * z).sum(), (x * xz).sum(), rtol=1e-12, atol=1e-12)


def test_scatter_with_one_path_inverts_gather():
    perm, inv = _tables(4, 7, ["hilbert"])
    x = _rand(2, 3, 4, 7)
    torch.testing.assert_close(ops.path_scatter(ops.path_gather(x, perm), inv, 4, 7), x)


@pytest.mark.parametrize("stride,padding,multiplier,k", [(1, 2, 1, 5), (2, 4, 2, 9),
                                                         (3, 0, 1, 3)])
def test_path_conv_equals_gather_then_conv1d(stride, padding, multiplier, k):
    perm, inv = _tables(5, 6)
    x = _rand(2, 3, 5, 6)
    g = perm.shape[0] * 3
    w = _rand(g * multiplier, 1, k, seed=1)
    b = _rand(g * multiplier, seed=2)
    y = ops.path_conv1d(x, perm, w, b, stride=stride, padding=padding, inv=inv)
    expected = oracles.path_conv1d(x, perm, w, b, stride, padding)
    torch.testing.assert_close(y, expected, rtol=1e-12, atol=1e-12)


def test_gradcheck_gather_and_scatter():
    perm, inv = _tables(3, 4)
    x = _rand(1, 2, 3, 4).requires_grad_()
    assert torch.autograd.gradcheck(lambda x: ops.path_gather(x, perm), (x,))
    assert torch.autograd.gradcheck(lambda x: ops.path_gather(x, perm, inv=inv), (x,))
    y = _rand(1, 8, 12, seed=1).requires_grad_()
    assert torch.autograd.gradcheck(lambda y: ops.path_scatter(y, inv, 3, 4), (y,))
    assert torch.autograd.gradcheck(lambda y: ops.path_scatter(y, inv, 3, 4, perm=perm), (y,))


@pytest.mark.parametrize("stride,padding,multiplier", [(1, 1, 1), (2, 2, 2)])
def test_gradcheck_path_conv(stride, padding, multiplier):
    perm, inv = _tables(3, 4, ["hilbert", "zorder"])
    x = _rand(2, 2, 3, 4).requires_grad_()
    w = _rand(4 * multiplier, 1, 3, seed=1).requires_grad_()
    b = _rand(4 * multiplier, seed=2).requires_grad_()
    assert torch.autograd.gradcheck(
        lambda x, w, b: ops.path_conv1d(x, perm, w, b, stride=stride, padding=padding,
                                        inv=inv), (x, w, b))
    assert torch.autograd.gradcheck(
        lambda x, w: ops.path_conv1d(x, perm, w, None, stride=stride, padding=padding), (x, w))


def test_modules_match_their_functional_form():
    torch.manual_seed(0)
    gather = tnn.PathGather(["hilbert", ("hilbert", 2, (1, 1), 0)])
    conv = tnn.PathConv1d(3, 12, 5, paths=gather.paths, padding="same")
    x = torch.randn(2, 3, 6, 5)
    seq = gather(x)
    assert seq.shape == (2, 6, 30)
    perm, inv = paths.build_paths(6, 5, gather.paths)
    torch.testing.assert_close(seq, oracles.path_gather(x, perm))
    torch.testing.assert_close(
        conv(x), F.conv1d(seq, conv.weight, conv.bias, padding=2, groups=6), rtol=1e-5,
        atol=1e-5)
    scatter = tnn.PathScatter(gather.paths)
    assert scatter(seq, 6, 5).shape == (2, 3, 6, 5)


def test_path_conv_module_learns_and_caches_tables_per_size():
    torch.manual_seed(1)
    conv = tnn.PathConv1d(2, 4, 3, paths=["hilbert", "raster"], padding=1)
    for h, w in [(4, 4), (3, 5), (4, 4)]:
        y = conv(torch.randn(1, 2, h, w))
        assert y.shape == (1, 4, h * w)
        y.sum().backward()
    assert len(conv._tables) == 2
    assert conv.weight.grad is not None and conv.bias.grad is not None


def test_depthwise_conv1d_state_dict_loads_into_path_conv():
    ref = torch.nn.Conv1d(4, 8, 3, groups=4)
    conv = tnn.PathConv1d(2, 8, 3, paths=["hilbert", "snake"])
    conv.load_state_dict(ref.state_dict())
    torch.testing.assert_close(conv.weight, ref.weight)


def test_module_argument_errors():
    with pytest.raises(ValueError, match="^out_channels: expected a multiple of P\\*C"):
        tnn.PathConv1d(3, 7, 3, paths=["hilbert", "raster"])
    with pytest.raises(ValueError, match="^paths: "):
        tnn.PathGather([])
    with pytest.raises(ValueError, match="^x: expected 3 channels"):
        tnn.PathConv1d(3, 3, 3)(torch.randn(1, 2, 4, 4))
