"""tapconv.ops.dcls_*: kernel construction, DCLS convs and the fused depthwise path, against a
formula-level PyTorch oracle and F.conv{N}d."""

import pytest
import torch
import torch.nn.functional as F

import oracles
from tapconv import ops

CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


def _params(out_c, in_pg, dense, k, sizes, interpolation, seed=0, spread=1.0):
    """weight, positions (spread over the box, some past its edge), sigma (non-zero)."""
    g = torch.Generator().manual_seed(seed)
    shape = (out_c, in_pg) + tuple(dense) + (k,)
    w = torch.randn(shape, generator=g, dtype=torch.float64)
    lims = torch.tensor([s / 2 for s in sizes], dtype=torch.float64).reshape(
        (-1,) + (1,) * len(shape))
    p = (torch.rand((len(sizes),) + shape, generator=g, dtype=torch.float64) * 2 - 1) * lims
    p = p * spread
    sig = None
    if interpolation != "bilinear":
        sig = 0.1 + torch.rand((len(sizes),) + shape, generator=g, dtype=torch.float64)
        sig = sig * torch.where(torch.rand(sig.shape, generator=g) < 0.5, -1.0, 1.0).double()
    return w, p, sig


CASES = [  # (dense, dilated)
    ((), (7,)), ((), (5, 4)), ((), (3, 4, 5)), ((3,), (5,)), ((2, 3), (5,)), ((2,), (3, 5)),
]


@pytest.mark.parametrize("interpolation", ["bilinear", "gauss", "triangle"])
@pytest.mark.parametrize("dense,dilated,axis_order", [
    (dense, dilated, order) for dense, dilated in CASES
    for order in (("natural", "reversed") if len(dilated) > 1 else ("natural",))])
def test_construct_matches_the_formula(interpolation, dense, dilated, axis_order):
    w, p, sig = _params(3, 2, dense, 4, dilated, interpolation, spread=1.3)
    kernel = ops.dcls_construct(w, p, sig, dilated_kernel_size=dilated, dense_kernel_size=dense,
                                interpolation=interpolation, axis_order=axis_order)
    expected = oracles.dcls_construct(w, p, sig, dilated, interpolation, axis_order)
    assert kernel.shape == (3, 2) + tuple(dense) + tuple(dilated)
    torch.testing.assert_close(kernel, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("interpolation", ["bilinear", "gauss", "triangle"])
@pytest.mark.parametrize("dense,dilated", [((), (5,)), ((), (3, 4)), ((2,), (3,)),
                                           ((), (3, 3, 2))])
def test_gradcheck_construct_every_input(interpolation, dense, dilated):
    w, p, sig = _params(2, 1, dense, 3, dilated, interpolation, seed=1)
    inputs = [w.requires_grad_(), p.requires_grad_()]
    if sig is not None:
        inputs.append(sig.requires_grad_())

    def f(w, p, sig=None):
        return ops.dcls_construct(w, p, sig, dilated_kernel_size=dilated,
                                  dense_kernel_size=dense, interpolation=interpolation)

    assert torch.autograd.gradcheck(f, tuple(inputs))


@pytest.mark.parametrize("interpolation", ["bilinear", "gauss", "triangle"])
def test_construct_gradients_match_the_oracle_s_autograd(interpolation):
    w, p, sig = _params(3, 2, (), 5, (5, 7), interpolation, seed=2)
    inputs = [t.requires_grad_() for t in (w, p, sig) if t is not None]
    cot = torch.randn(3, 2, 5, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    kw = dict(dilated_kernel_size=(5, 7), interpolation=interpolation)
    ours = torch.autograd.grad((ops.dcls_construct(w, p, sig, **kw) * cot).sum(), inputs)
    theirs = torch.autograd.grad(
        (oracles.dcls_construct(w, p, sig, (5, 7), interpolation) * cot).sum(), inputs)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("interpolation", ["bilinear", "gauss"])
def test_dcls_conv_equals_torch_conv_with_the_constructed_kernel(rank, interpolation):
    sizes = (5, 3, 3)[:rank]
    w, p, sig = _params(4, 3, (), 3, sizes, interpolation, seed=4)  # groups = 2: C_in = 6
    b = torch.randn(4, dtype=torch.float64)
    x = torch.randn((2, 6) + (7, 6, 5)[:rank], dtype=torch.float64)
    y = ops.dcls_conv(x, w, p, sig, b, dilated_kernel_size=sizes, stride=2, padding=1,
                      groups=2, interpolation=interpolation)
    kernel = oracles.dcls_construct(w, p, sig, sizes, interpolation)
    torch.testing.assert_close(y, CONV[rank](x, kernel, b, 2, 1, 1, 2), rtol=1e-10,
                               atol=1e-10)


def test_gradcheck_dcls_conv2d_every_input():
    w, p, sig = _params(2, 2, (), 2, (3, 3), "gauss", seed=5)
    b = torch.randn(2, dtype=torch.float64)
    x = torch.randn(1, 2, 4, 5, dtype=torch.float64)
    inputs = tuple(t.requires_grad_() for t in (x, w, p, sig, b))
    assert torch.autograd.gradcheck(
        lambda x, w, p, s, b: ops.dcls_conv2d(x, w, p, s, b, dilated_kernel_size=3, padding=1,
                                              interpolation="gauss"), inputs)


@pytest.mark.parametrize("dense,dilated,spatial", [((), (5,), (9,)), ((), (3, 5), (6, 7)),
                                                   ((), (3, 3, 3), (4, 5, 4)),
                                                   ((3,), (5,), (6, 8))])
@pytest.mark.parametrize("stride,padding", [(1, None), (2, 0)])
def test_fused_depthwise_equals_dense_depthwise(dense, dilated, spatial, stride, padding):
    c = 3
    w, p, _ = _params(c, 1, dense, 4, dilated, "bilinear", seed=6, spread=1.2)
    b = torch.randn(c, dtype=torch.float64)
    x = torch.randn((2, c) + spatial, dtype=torch.float64)
    kernel_size = tuple(dense) + tuple(dilated)
    pad = [k // 2 for k in kernel_size] if padding is None else [padding] * len(kernel_size)
    y = ops.dcls_depthwise_conv(x, w, p, b, dilated_kernel_size=dilated,
                                dense_kernel_size=dense, stride=stride, padding=pad)
    kernel = oracles.dcls_construct(w, p, None, dilated, "bilinear")
    expected = CONV[len(spatial)](x, kernel, b, stride, pad, 1, c)
    torch.testing.assert_close(y, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("dilated,spatial", [((5,), (6,)), ((3, 3), (4, 5))])
def test_gradcheck_fused_depthwise_every_input(dilated, spatial):
    w, p, _ = _params(2, 1, (), 3, dilated, "bilinear", seed=7)
    b = torch.randn(2, dtype=torch.float64)
    x = torch.randn((1, 2) + spatial, dtype=torch.float64)
    pad = [s // 2 for s in dilated]
    inputs = tuple(t.requires_grad_() for t in (x, w, p, b))
    assert torch.autograd.gradcheck(
        lambda x, w, p, b: ops.dcls_depthwise_conv(x, w, p, b, dilated_kernel_size=dilated,
                                                   stride=2, padding=pad), inputs)


def test_float32_construct_is_close_to_float64():
    w, p, sig = _params(4, 4, (), 8, (9, 9), "gauss", seed=8)
    k64 = ops.dcls_construct(w, p, sig, dilated_kernel_size=9, interpolation="gauss")
    k32 = ops.dcls_construct(w.float(), p.float(), sig.float(), dilated_kernel_size=9,
                             interpolation="gauss")
    torch.testing.assert_close(k32.double(), k64, rtol=1e-5, atol=1e-5)


def test_sigma_argument_rules():
    w, p, sig = _params(1, 1, (), 2, (3,), "gauss")
    with pytest.raises(ValueError, match="^sigma: required"):
        ops.dcls_construct(w, p, dilated_kernel_size=3, interpolation="gauss")
    with pytest.raises(ValueError, match="^sigma: bilinear"):
        ops.dcls_construct(w, p, sig, dilated_kernel_size=3)
