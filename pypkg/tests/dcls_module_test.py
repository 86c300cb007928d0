"""tapconv.nn DCLS layers: functional equivalence, upstream parameters and state_dicts,
training helpers, eval-mode caching, export to a plain conv."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import oracles
from tapconv import nn as tnn

CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


def _oracle_forward(layer, x):
    kernel = oracles.dcls_construct(layer.weight, layer.P, layer.SIG, layer.dilated_kernel_size,
                                    layer.interpolation, layer.axis_order, layer.sigma_floor)
    return CONV[x.dim() - 2](x, kernel, layer.bias, layer.stride, layer.padding, 1, layer.groups)


LAYERS = [
    (tnn.Dcls1d, dict(dilated_kernel_size=7, padding=3), (2, 4, 11)),
    (tnn.Dcls2d, dict(dilated_kernel_size=(5, 7), padding=(2, 3), stride=2), (2, 4, 9, 10)),
    (tnn.Dcls3d, dict(dilated_kernel_size=3, padding=1), (1, 4, 5, 4, 6)),
    (tnn.Dcls2_1d, dict(dense_kernel_size=3, dilated_kernel_size=5, padding=(1, 2)),
     (2, 4, 6, 9)),
    (tnn.Dcls3_1d, dict(dense_kernel_size=(1, 3), dilated_kernel_size=5, padding=(0, 1, 2)),
     (1, 4, 3, 5, 7)),
    (tnn.Dcls3_2d, dict(dense_kernel_size=3, dilated_kernel_size=(3, 5), padding=(1, 1, 2)),
     (1, 4, 4, 5, 6)),
]


@pytest.mark.parametrize("cls,kwargs,shape", LAYERS)
@pytest.mark.parametrize("interpolation", ["gauss", "bilinear", "triangle"])
def test_layers_equal_their_formula_and_torch_conv(cls, kwargs, shape, interpolation):
    torch.manual_seed(0)
    layer = cls(4, 6, 3, groups=2, interpolation=interpolation, **kwargs).double()
    if layer.SIG is not None:  # away from SIG = 0, where d|SIG|/dSIG is +1 here, 0 in torch
        with torch.no_grad():
            layer.SIG.uniform_(0.1, 0.5)
    x = torch.randn(shape, dtype=torch.float64, requires_grad=True)
    y = layer(x)
    expected = _oracle_forward(layer, x)
    torch.testing.assert_close(y, expected, rtol=1e-10, atol=1e-10)
    params = [x] + [p for p in layer.parameters()]
    cot = torch.randn_like(y)
    ours = torch.autograd.grad((y * cot).sum(), params)
    theirs = torch.autograd.grad((expected * cot).sum(), params)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b, rtol=1e-8, atol=1e-10)


def test_triangle_sigma_learns_from_its_zero_init():
    # Upstream's 'max' never trains SIG (torch.abs has gradient 0 at its init 0); here the
    # sub-gradient is +1, so the gradient at SIG = 0 is the one-sided one from SIG > 0.
    torch.manual_seed(9)
    layer = tnn.Dcls1d(2, 2, 3, dilated_kernel_size=7, padding=3,
                       interpolation="triangle").double()
    x = torch.randn(2, 2, 9, dtype=torch.float64)
    layer(x).square().sum().backward()
    at_zero = layer.SIG.grad.clone()
    assert at_zero.abs().sum() > 0
    layer.zero_grad()
    with torch.no_grad():
        layer.SIG.fill_(1e-9)
    layer(x).square().sum().backward()
    torch.testing.assert_close(at_zero, layer.SIG.grad, rtol=1e-6, atol=1e-9)


def test_parameters_have_upstream_names_and_shapes():
    gauss = tnn.Dcls2d(4, 8, kernel_count=5, dilated_kernel_size=7, groups=2)
    shapes = {k: tuple(v.shape) for k, v in gauss.state_dict().items()}
    assert shapes == {"weight": (8, 2, 5), "P": (2, 8, 2, 5), "SIG": (2, 8, 2, 5), "bias": (8,)}
    bilinear = tnn.Dcls1d(3, 3, 4, dilated_kernel_size=9, groups=3, bias=False,
                          interpolation="bilinear")
    assert bilinear.SIG is None and set(bilinear.state_dict()) == {"weight", "P"}
    n_md = tnn.Dcls3_1d(2, 4, 6, dense_kernel_size=(3, 3), dilated_kernel_size=9)
    assert tuple(n_md.weight.shape) == (4, 2, 3, 3, 6) and tuple(n_md.P.shape) == (1, 4, 2, 3,
                                                                                   3, 6)


def test_upstream_gauss_checkpoint_loads_with_its_axis_order():
    # Upstream 'gauss' checkpoints move P[0] along W and P[1] along H (research dcls.md 1.4).
    g = torch.Generator().manual_seed(1)
    state = {"weight": torch.randn(4, 1, 6, generator=g), "P": torch.rand(2, 4, 1, 6,
                                                                       generator=g) * 4 - 2,
             "SIG": torch.rand(2, 4, 1, 6, generator=g), "bias": torch.randn(4, generator=g)}
    layer = tnn.Dcls2d(4, 4, 6, dilated_kernel_size=(5, 7), padding=(2, 3), groups=4,
                       version="gauss")
    layer.load_state_dict(state)
    assert layer.interpolation == "gauss" and layer.axis_order == "reversed"
    kernel = layer.construct_kernel()
    expected = oracles.dcls_construct(state["weight"].double(), state["P"].double(),
                                      state["SIG"].double(), (5, 7), "gauss", "reversed")
    torch.testing.assert_close(kernel.double(), expected, rtol=1e-5, atol=1e-6)
    # An element with P = (a, 0) sits on row S_H // 2 and column a + S_W // 2.
    one = {"weight": torch.ones(1, 1, 1), "P": torch.tensor([2.0, 0.0]).reshape(2, 1, 1, 1),
           "SIG": torch.full((2, 1, 1, 1), -0.27 + 1e-3)}
    single = tnn.Dcls2d(1, 1, 1, dilated_kernel_size=(5, 7), bias=False, version="gauss")
    single.load_state_dict(one)
    k = single.construct_kernel()[0, 0]
    assert divmod(int(k.argmax()), 7) == (2, 5)


def test_upstream_v0_checkpoint_loads_naturally():
    state = {"weight": torch.ones(1, 1, 1), "P": torch.tensor([1.0, -2.0]).reshape(2, 1, 1, 1),
             "bias": torch.zeros(1)}
    layer = tnn.Dcls2d(1, 1, 1, dilated_kernel_size=(5, 7), version="v0")
    layer.load_state_dict(state)
    k = layer.construct_kernel()[0, 0]
    assert k[3, 1] == 1 and k.sum() == 1  # row 1 + 5//2, column -2 + 7//2
    with pytest.raises(ValueError, match="^version: upstream's 3-D v0"):
        tnn.Dcls3d(1, 1, 1, dilated_kernel_size=3, version="v0")


def test_initialisation_follows_upstream():
    torch.manual_seed(2)
    layer = tnn.Dcls2d(16, 16, 26, dilated_kernel_size=(23, 9), groups=16, axis_order="reversed")
    assert (layer.SIG == 0.23).all()
    # P[0] moves along W (size 9) in reversed order, P[1] along H (size 23).
    assert layer.P[0].abs().max() <= 4 and layer.P[1].abs().max() <= 11
    assert 0.3 < float(layer.P[1].std()) < 0.7
    bound = 1 / math.sqrt(26)  # kaiming_uniform(a=sqrt(5)) on (C_out, 1, K): 1/sqrt(fan_in)
    assert layer.weight.abs().max() <= bound and layer.bias.abs().max() <= bound
    triangle = tnn.Dcls1d(2, 2, 3, dilated_kernel_size=5, interpolation="triangle")
    assert (triangle.SIG == 0).all()
    n_md = tnn.Dcls2_1d(2, 2, 50, dense_kernel_size=3, dilated_kernel_size=11)
    assert n_md.P.abs().max() <= 5 and float(n_md.P.std()) > 2  # uniform over the box


def test_clamp_parameters_uses_each_axis_size():
    layer = tnn.Dcls2d(2, 2, 4, dilated_kernel_size=(5, 9), axis_order="reversed")
    with torch.no_grad():
        layer.P.fill_(100.0)
    layer.clamp_parameters()
    assert (layer.P[0] == 4).all() and (layer.P[1] == 2).all()
    model = nn.Sequential(layer, tnn.Dcls1d(2, 2, 3, dilated_kernel_size=3))
    with torch.no_grad():
        model[1].P.fill_(-7.0)
    tnn.clamp_parameters(model)
    assert (model[1].P == -1).all()


def test_shared_positions_accumulate_gradients():
    torch.manual_seed(3)
    a = tnn.Dcls2d(4, 4, 3, dilated_kernel_size=5, padding=2, groups=4).double()
    b = tnn.Dcls2d(4, 4, 3, dilated_kernel_size=5, padding=2, groups=4).double()
    shared = tnn.share_positions([a, b])
    assert a.P is b.P is shared and a.SIG is b.SIG
    model = nn.Sequential(a, b)
    assert sum(1 for _ in model.parameters()) == 6  # w, P, SIG, bias, w, bias
    x = torch.randn(1, 4, 6, 6, dtype=torch.float64)
    model(x).sum().backward()
    grad = shared.grad.clone()
    # The same gradient from two unshared layers that hold equal values, summed.
    a2 = tnn.Dcls2d(4, 4, 3, dilated_kernel_size=5, padding=2, groups=4).double()
    b2 = tnn.Dcls2d(4, 4, 3, dilated_kernel_size=5, padding=2, groups=4).double()
    a2.load_state_dict(a.state_dict())
    b2.load_state_dict(b.state_dict())
    b2(a2(x)).sum().backward()
    torch.testing.assert_close(grad, a2.P.grad + b2.P.grad)


def test_param_groups_give_positions_five_times_the_lr_and_no_decay():
    a = tnn.Dcls2d(4, 4, 3, dilated_kernel_size=5, groups=4)
    b = tnn.Dcls2d(4, 4, 3, dilated_kernel_size=5, groups=4)
    tnn.share_positions([a, b])
    model = nn.Sequential(a, nn.ReLU(), b, nn.Conv2d(4, 2, 1))
    groups = tnn.dcls_param_groups(model, lr=4e-3, weight_decay=0.05)
    assert groups[1]["lr"] == pytest.approx(2e-2) and groups[1]["weight_decay"] == 0.0
    ids = [{id(p) for p in g["params"]} for g in groups]
    assert ids[1] == {id(a.P), id(a.SIG)}
    assert len(ids[0]) == 6 and not ids[0] & ids[1]
    torch.optim.AdamW(groups)  # a valid optimizer configuration


def test_repulsive_loss_matches_its_definition():
    g = torch.Generator().manual_seed(4)
    p = torch.rand(2, 3, 2, 5, generator=g, dtype=torch.float64) * 2
    total = 0.0
    for o in range(3):
        for i in range(2):
            for j in range(5):
                for k in range(j + 1, 5):
                    d = torch.linalg.vector_norm(p[:, o, i, j] - p[:, o, i, k])
                    total += max(0.0, 1 - float(d))
    expected = 2 * total / (5 * 4 * 3 * 2)
    assert float(tnn.repulsive_loss(p)) == pytest.approx(expected, rel=1e-12)
    layer = tnn.Dcls2d(2, 3, 5, dilated_kernel_size=5)
    with torch.no_grad():
        layer.P.copy_(p)
    loss = tnn.repulsive_loss(layer)
    loss.backward()
    assert float(loss) == pytest.approx(expected, rel=1e-6) and layer.P.grad is not None


def test_eval_mode_caches_the_kernel_until_parameters_change():
    torch.manual_seed(5)
    layer = tnn.Dcls2d(3, 3, 4, dilated_kernel_size=7, padding=3, groups=3).eval()
    calls = []
    original = layer.construct_kernel
    layer.construct_kernel = lambda: calls.append(1) or original()
    x = torch.randn(1, 3, 8, 8)
    with torch.no_grad():
        y1, y2 = layer(x), layer(x)
        assert len(calls) == 1
        torch.testing.assert_close(y1, y2)
        layer.P.add_(0.1)
        y3 = layer(x)
        assert len(calls) == 2 and not torch.allclose(y1, y3)
    layer.train()
    layer(x).sum().backward()  # training: rebuilt every call, differentiable
    assert len(calls) == 3 and layer.P.grad is not None


def test_to_dense_conv_gives_the_same_outputs():
    torch.manual_seed(6)
    for layer, shape in [(tnn.Dcls2d(4, 6, 5, dilated_kernel_size=(7, 5), stride=2, padding=1,
                                     groups=2), (2, 4, 11, 9)),
                         (tnn.Dcls1d(3, 3, 2, dilated_kernel_size=5, padding=2, groups=3,
                                     padding_mode="reflect"), (2, 3, 10))]:
        conv = layer.to_dense_conv()
        assert type(conv) in (nn.Conv1d, nn.Conv2d)
        x = torch.randn(shape)
        torch.testing.assert_close(conv(x), layer(x), rtol=1e-5, atol=1e-5)


def test_depthwise_bilinear_layers_use_the_fused_path_when_training():
    torch.manual_seed(7)
    fused = tnn.Dcls2d(4, 4, 6, dilated_kernel_size=9, padding=4, groups=4,
                       interpolation="bilinear").double()
    dense = tnn.Dcls2d(4, 4, 6, dilated_kernel_size=9, padding=4, groups=4,
                       interpolation="bilinear", use_fused=False).double()
    dense.load_state_dict(fused.state_dict())
    assert fused._use_fused() and not dense._use_fused()
    x = torch.randn(2, 4, 10, 9, dtype=torch.float64)
    yf, yd = fused(x), dense(x)
    torch.testing.assert_close(yf, yd, rtol=1e-10, atol=1e-10)
    yf.square().sum().backward()
    yd.square().sum().backward()
    for pf, pd in zip(fused.parameters(), dense.parameters()):
        torch.testing.assert_close(pf.grad, pd.grad, rtol=1e-8, atol=1e-10)


def test_padding_modes_match_nn_conv():
    torch.manual_seed(8)
    layer = tnn.Dcls2d(2, 2, 3, dilated_kernel_size=5, padding=2, padding_mode="circular")
    x = torch.randn(1, 2, 6, 7)
    kernel = layer.construct_kernel()
    expected = F.conv2d(F.pad(x, (2, 2, 2, 2), mode="circular"), kernel, layer.bias)
    torch.testing.assert_close(layer(x), expected)


@pytest.mark.parametrize("kwargs,arg", [
    (dict(groups=3), "groups"),
    (dict(interpolation="cubic"), "interpolation"),
    (dict(version="v1"), "version"),
    (dict(padding_mode="mirror"), "padding_mode"),
    (dict(axis_order="sideways"), "axis_order"),
    (dict(kernel_count=0), "kernel_count"),
    (dict(dilated_kernel_size=(3, 3, 3)), "dilated_kernel_size"),
])
def test_layer_arguments_are_checked(kwargs, arg):
    args = dict(in_channels=4, out_channels=4, kernel_count=3, dilated_kernel_size=5)
    args.update(kwargs)
    with pytest.raises(ValueError, match="^" + arg + ": "):
        tnn.Dcls2d(**args)


def test_wrong_input_rank_is_reported():
    with pytest.raises(ValueError, match="^x: expected a 4-D tensor"):
        tnn.Dcls2d(2, 2, 3, dilated_kernel_size=5)(torch.randn(1, 2, 5))
