"""Training helpers around DCLS layers: position sharing, optimizer groups, repulsive loss,
clamping (what upstream's training scripts do by hand)."""

import torch
from torch import nn

from .dcls import _DclsNd


def dcls_layers(model):
    """The DCLS layers of a model (or [model] if it is one)."""
    return [m for m in model.modules() if isinstance(m, _DclsNd)]


def clamp_parameters(model):
    """Calls clamp_parameters() on every DCLS layer of `model` (after optimizer.step())."""
    for layer in dcls_layers(model):
        layer.clamp_parameters()


def share_positions(layers, positions=None, sigma=None, share_sigma=True):
    """Makes `layers` use one P (and SIG) Parameter, as ConvNeXt-dcls does per stage.

    Autograd accumulates the gradients of every layer into the shared tensor, and
    named_parameters() lists it once. `positions`/`sigma` default to the first layer's.
    Returns the shared P.
    """
    layers = list(layers)
    if not layers:
        raise ValueError("layers: expected at least one DCLS layer")
    for i, layer in enumerate(layers):
        if not isinstance(layer, _DclsNd):
            raise TypeError("layers[{}]: expected a DCLS layer, got {}".format(
                i, type(layer).__name__))
    shared_p = positions if positions is not None else layers[0].P
    if not isinstance(shared_p, nn.Parameter):
        raise TypeError("positions: expected an nn.Parameter")
    shared_sig = sigma if sigma is not None else layers[0].SIG
    for i, layer in enumerate(layers):
        if layer.P.shape != shared_p.shape:
            raise ValueError("layers[{}]: P has shape {}, the shared positions {}".format(
                i, list(layer.P.shape), list(shared_p.shape)))
        layer.P = shared_p
        if share_sigma and layer.SIG is not None and shared_sig is not None:
            if layer.SIG.shape != shared_sig.shape:
                raise ValueError("layers[{}]: SIG has shape {}, the shared sigma {}".format(
                    i, list(layer.SIG.shape), list(shared_sig.shape)))
            layer.SIG = shared_sig
    return shared_p


def dcls_param_groups(model, lr, weight_decay=0.0, position_lr_scale=5.0, include_sigma=True):
    """Optimizer parameter groups with upstream's recipe for positions.

    Returns [{'params': other parameters, 'lr': lr, 'weight_decay': weight_decay},
    {'params': positions (P, and SIG when include_sigma), 'lr': lr * position_lr_scale,
    'weight_decay': 0.0}] — weight decay would pull positions to the centre. Shared
    parameters appear once.
    """
    position_ids = set()
    for layer in dcls_layers(model):
        position_ids.add(id(layer.P))
        if include_sigma and layer.SIG is not None:
            position_ids.add(id(layer.SIG))
    seen, others, positions = set(), [], []
    for p in model.parameters():
        if id(p) in seen or not p.requires_grad:
            continue
        seen.add(id(p))
        (positions if id(p) in position_ids else others).append(p)
    return [
        {"params": others, "lr": lr, "weight_decay": weight_decay},
        {"params": positions, "lr": lr * position_lr_scale, "weight_decay": 0.0},
    ]


def _positions_of(source):
    if isinstance(source, torch.Tensor):
        return [source]
    if isinstance(source, nn.Module):
        unique = {}
        for layer in dcls_layers(source):
            unique[id(layer.P)] = layer.P
        return list(unique.values())
    return list(source)


def repulsive_loss(source):
    r"""KPConv-style repulsion between the positions of each kernel (upstream DCLS's training
    loss): per position tensor P of shape (M, C_out, C_in/g, ..., K), with d_jk the Euclidean
    distance between elements j and k of one kernel,

    .. math:: L = \frac{2}{K (K-1) G} \sum_{g} \sum_{j<k} \max(0, 1 - d_{jk})

    (G = number of kernels), averaged over the tensors. `source` is a model (its unique P
    tensors), one tensor or a list. Upstream adds L**2 to the loss after epoch 20.
    """
    tensors = _positions_of(source)
    if not tensors:
        raise ValueError("source: no DCLS position tensors found")
    losses = []
    for p in tensors:
        k = p.shape[-1]
        if k < 2:
            losses.append(p.new_zeros(()))
            continue
        flat = p.reshape(p.shape[0], -1, k)  # (M, G, K)
        j, i = torch.triu_indices(k, k, 1, device=p.device)
        dist = torch.linalg.vector_norm(flat[:, :, j] - flat[:, :, i], dim=0)  # (G, pairs)
        losses.append(2 * torch.relu(1 - dist).sum() / (k * (k - 1) * flat.shape[1]))
    return torch.stack(losses).mean()
