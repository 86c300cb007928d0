"""Independent reference computations for the Python tests, in plain PyTorch.

Nothing here calls tapconv: each op is rebuilt from its formula (docs/ops.md) out of torch's
own convolutions and indexing, so a test compares two independent implementations.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F


def _round_half_away(v):
    return int(math.copysign(math.floor(abs(v) + 0.5), v))


def tap_offsets(theta, taps, tap_rule="trunc", dilation=1):
    """[(dh, dw)] for the K taps at angle theta (radians)."""
    out = []
    for k in range(taps):
        j = k - taps // 2
        if tap_rule == "trunc":
            t = float(np.float32(theta))
            s, c = np.float32(math.sin(t)), np.float32(math.cos(t))
            dh = int(np.float32(-s) * np.float32(j))
            dw = int(np.float32(c) * np.float32(j))
        else:
            s, c = math.sin(theta), math.cos(theta)
            if abs(c) >= abs(s):
                dw = j if c > 0 else -j
                dh = _round_half_away(-j * s / abs(c))
            else:
                dh = -j if s > 0 else j
                dw = _round_half_away(j * c / abs(s))
        out.append((dh * dilation, dw * dilation))
    return out


def oriented_dense_kernel(weight, theta, tap_rule="trunc", dilation=1, residual=False):
    """The (C, 1, 2R+1, 2R+1) depthwise kernel an oriented conv equals, and R."""
    c, _, _, k = weight.shape
    offsets = [tap_offsets(float(theta.reshape(-1)[i]), k, tap_rule, dilation) for i in range(c)]
    r = max(max(abs(dh), abs(dw)) for row in offsets for dh, dw in row)
    dense = weight.new_zeros((c, 1, 2 * r + 1, 2 * r + 1))
    w = weight.reshape(c, k)
    if residual:
        w = w + F.one_hot(torch.tensor(k // 2), k).to(w)
    for ch in range(c):
        for tap, (dh, dw) in enumerate(offsets[ch]):
            dense[ch, 0, r + dh, r + dw] = dense[ch, 0, r + dh, r + dw] + w[ch, tap]
    return dense, r


def oriented_conv2d(x, weight, theta, bias=None, stride=1, dilation=1, tap_rule="trunc",
                    residual=False):
    """y[n,c,p,q] = sum_k w[c,k] x[n,c,s p + dh, s q + dw] (+ b): a dense depthwise conv with
    padding R, whose output (p, q) is centred on input (s p, s q)."""
    dense, r = oriented_dense_kernel(weight, theta, tap_rule, dilation, residual)
    return F.conv2d(x, dense, bias, stride=stride, padding=r, groups=x.shape[1])


def path_gather(x, perm):
    n, c, h, w = x.shape
    flat = x.reshape(n, c, h * w)
    return torch.cat([flat[:, :, perm[p].long()] for p in range(perm.shape[0])], dim=1)


def path_conv1d(x, perm, weight, bias=None, stride=1, padding=0):
    seq = path_gather(x, perm)
    return F.conv1d(seq, weight, bias, stride=stride, padding=padding, groups=seq.shape[1])


def dcls_construct(weight, positions, sigma=None, dilated_kernel_size=(), interpolation="bilinear",
                   axis_order="natural", sigma_floor=None, eps=1e-7):
    """The DCLS kernel from its formula, in differentiable torch ops (docs/ops.md#dcls)."""
    m = positions.shape[0]
    sizes = list(dilated_kernel_size)
    if sigma_floor is None:
        sigma_floor = {"gauss": 0.27, "triangle": 1.0}.get(interpolation, 0.0)
    factors = [None] * m  # factors[a]: (..., K, S_a), the interpolant along kernel axis a
    for d in range(m):
        a = m - 1 - d if axis_order == "reversed" else d
        q = positions[d] + sizes[a] // 2
        grid = torch.arange(sizes[a], dtype=weight.dtype, device=weight.device)
        u = grid - q.unsqueeze(-1)
        if interpolation == "bilinear":
            f = torch.floor(q).detach()
            r = (q - f).unsqueeze(-1)
            f = f.unsqueeze(-1)
            phi = (1 - r) * (grid == f).to(r) + r * (grid == f + 1).to(r)
        else:
            s = (sigma[d].abs() + sigma_floor).unsqueeze(-1)
            if interpolation == "gauss":
                phi = torch.exp(-0.5 * (u / s) ** 2)
            else:
                phi = torch.relu(s - u.abs())
        factors[a] = phi
    if interpolation != "bilinear":
        norm = 1.0
        for phi in factors:
            norm = norm * phi.sum(-1)
        factors[0] = factors[0] / (norm + eps).unsqueeze(-1)
    letters = "stu"[:m]
    spec = "...k," + ",".join("...k" + l for l in letters) + "->..." + letters
    return torch.einsum(spec, weight, *factors)
