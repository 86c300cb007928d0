"""torch.library registration: torch.ops.tapconv.* exist, infer shapes on meta/fake tensors,
are differentiable themselves, and trace into FX graphs (torch.compile's front end)."""

import pytest
import torch
from torch.fx.experimental.proxy_tensor import make_fx

import tapconv  # noqa: F401  (registers the ops)
from tapconv import ops, paths

OPS = [
    "oriented_conv2d", "oriented_conv2d_backward_input", "oriented_conv2d_backward_params",
    "path_gather", "path_scatter", "path_conv1d", "path_conv1d_backward_input",
    "path_conv1d_backward_params", "dcls_construct", "dcls_construct_backward",
    "dcls_depthwise_conv", "dcls_depthwise_conv_backward_input",
    "dcls_depthwise_conv_backward_params",
]
T = torch.ops.tapconv


def test_every_op_is_registered_under_the_tapconv_namespace():
    for name in OPS:
        op = getattr(T, name).default
        assert op._schema.name == "tapconv::" + name


def _meta(*shape, dtype=torch.float32):
    return torch.empty(shape, device="meta", dtype=dtype)


def test_shape_functions_on_meta_tensors():
    x, w, th = _meta(2, 3, 9, 10), _meta(3, 1, 1, 7), _meta(3)
    assert T.oriented_conv2d(x, w, th, None, 2, 1, "trunc", False).shape == (2, 3, 5, 5)
    assert T.oriented_conv2d_backward_input(_meta(2, 3, 5, 5), w, th, [2, 3, 9, 10], 2, 1,
                                            "line", False).shape == (2, 3, 9, 10)
    dw, db = T.oriented_conv2d_backward_params(_meta(2, 3, 5, 5), x, th, 7, 2, 1, "trunc",
                                               False, True, False)
    assert dw.shape == (3, 1, 1, 7) and db.numel() == 0
    perm = _meta(2, 90, dtype=torch.int64)
    assert T.path_gather(x, perm, None).shape == (2, 6, 90)
    assert T.path_scatter(_meta(2, 6, 90), perm, 9, 10, None).shape == (2, 3, 9, 10)
    assert T.path_conv1d(x, perm, _meta(12, 1, 5), None, 2, 2, None).shape == (2, 12, 45)
    wd, p = _meta(4, 2, 3), _meta(2, 4, 2, 3)
    assert T.dcls_construct(wd, p, p, [5, 7], [], "gauss", "natural", None,
                            1e-7).shape == (4, 2, 5, 7)
    grads = T.dcls_construct_backward(_meta(4, 2, 5, 7), wd, p, None, [5, 7], [], "bilinear",
                                      "natural", None, 1e-7, True, True, False)
    assert [g.shape for g in grads] == [(4, 2, 3), (2, 4, 2, 3), (0,)]
    y = T.dcls_depthwise_conv(_meta(2, 3, 9, 10), _meta(3, 1, 4), _meta(2, 3, 1, 4), None,
                              [5, 5], [], "natural", [2, 2], [2, 2])
    assert y.shape == (2, 3, 5, 5)


def test_the_primitives_themselves_are_differentiable():
    x = torch.randn(1, 2, 4, 5, dtype=torch.float64, requires_grad=True)
    w = torch.randn(2, 1, 1, 3, dtype=torch.float64, requires_grad=True)
    y = T.oriented_conv2d(x, w, torch.zeros(2), None, 1, 1, "trunc", False)
    assert y.requires_grad
    assert torch.autograd.gradcheck(
        lambda x, w: T.oriented_conv2d(x, w, torch.zeros(2), None, 1, 1, "trunc", False),
        (x, w))


def test_nothing_is_recorded_when_no_gradient_is_wanted():
    """No grad mode, or no input requiring one: the same values, no autograd node; an input
    requiring a gradient under grad mode: a node (checked on the three families)."""
    x = torch.randn(1, 2, 4, 5, requires_grad=True)
    w = torch.randn(2, 1, 1, 3, requires_grad=True)
    perm = paths.build_paths(4, 5, ["hilbert"])[0]
    positions = torch.tensor([-0.5, 0.3, 1.2]).repeat(2, 2, 1, 1)
    calls = [
        lambda x, w: T.oriented_conv2d(x, w, torch.tensor([0.0, 0.7]), None, 1, 1, "trunc",
                                       False),
        lambda x, w: T.path_conv1d(x, perm, w.reshape(2, 1, 3), None, 1, 1, None),
        lambda x, w: T.dcls_depthwise_conv(x, w.reshape(2, 1, 3), positions, None, [3, 3],
                                           [], "natural", [1, 1], [1, 1]),
    ]
    for call in calls:
        recorded = call(x, w)
        assert recorded.grad_fn is not None and recorded.requires_grad
        with torch.no_grad():
            plain = call(x, w)
        assert plain.grad_fn is None and not plain.requires_grad
        frozen = call(x.detach(), w.detach())
        assert frozen.grad_fn is None and not frozen.requires_grad
        assert torch.equal(plain, recorded.detach()) and torch.equal(frozen, plain)


def _train_step(x, w, theta, wd, pos, perm, pw):
    y = ops.oriented_conv2d(x, w, theta, stride=2)
    y = ops.dcls_conv2d(y, wd, pos, dilated_kernel_size=5, padding=2, groups=2)
    y = ops.path_conv1d(y, perm, pw, padding=1)
    return torch.autograd.grad(y.square().sum(), (x, w, wd, pos, pw))


def _train_inputs():
    g = torch.Generator().manual_seed(0)
    perm = paths.build_paths(3, 4, ["hilbert", "raster"])[0]
    return (torch.randn(1, 2, 6, 8, generator=g).requires_grad_(),
            torch.randn(2, 1, 1, 5, generator=g).requires_grad_(), torch.tensor([0.3, 2.0]),
            torch.randn(2, 1, 3, generator=g).requires_grad_(),
            (torch.rand(2, 2, 1, 3, generator=g) * 3 - 1.5).requires_grad_(), perm,
            torch.randn(4, 1, 3, generator=g).requires_grad_())


@pytest.mark.parametrize("mode", ["real", "fake"])
def test_forward_and_backward_trace_into_an_fx_graph(mode):
    inputs = _train_inputs()
    graph = make_fx(_train_step, tracing_mode=mode)(*inputs)
    called = {n.target.name() for n in graph.graph.nodes
              if n.op == "call_function" and hasattr(n.target, "name")}
    for name in ["oriented_conv2d", "oriented_conv2d_backward_input",
                 "oriented_conv2d_backward_params", "dcls_construct", "dcls_construct_backward",
                 "path_conv1d", "path_conv1d_backward_input", "path_conv1d_backward_params"]:
        assert "tapconv::" + name in called
    for traced, eager in zip(graph(*inputs), _train_step(*inputs)):
        torch.testing.assert_close(traced, eager)


@pytest.mark.skipif(not hasattr(torch, "compile"), reason="torch.compile needs torch >= 2.0 "
                    "(Debian's torch is 1.13)")
def test_torch_compile_matches_eager():
    inputs = _train_inputs()
    compiled = torch.compile(_train_step, fullgraph=False)
    for c, e in zip(compiled(*inputs), _train_step(*inputs)):
        torch.testing.assert_close(c, e)
