"""Space-filling paths over an H x W image and their locality, from the C++ geometry.

A path is a permutation ``perm[l] = r * W + c``: the pixel visited at step l. Arrays are int64
torch tensors on the CPU (NumPy arrays when torch is not installed).

Path specs follow upstream PathConv's config ``[curve, pad, (i, j), rotation]``: the curve is
built on an (H + pad) x (W + pad) canvas (Z-order: the enclosing power-of-two square), the
H x W window at offset (i, j) is kept in visiting order, then rotated clockwise by 0, 90, 180
or 270 degrees (90/270 need a square image). Curves: raster (upstream 'r': mirrored row-major),
row, snake, column, hilbert (generalised, 'g'), zorder ('z').
"""

import dataclasses

from ._native import core

try:
    import torch as _torch
except ImportError:  # NumPy-only installation
    _torch = None


_MAX_PIXELS = 2 ** 31 - 1


def _image_numel(height, width, names=("height", "width")):
    """H * W after checking the size, before anything is allocated."""
    for value, name in zip((height, width), names):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError("{}: expected an int, got {!r}".format(name, value))
        if value < 1:
            raise ValueError("{}: expected >= 1, got {}".format(name, value))
    if height * width > _MAX_PIXELS:
        raise ValueError("{}: {}x{} has more than 2^31-1 pixels".format(names[0], height,
                                                                         width))
    return height * width


def _empty(shape):
    if _torch is not None:
        return _torch.empty(shape, dtype=_torch.int64)
    import numpy
    return numpy.empty(shape, dtype=numpy.int64)


def _as_int64(a, name):
    """A contiguous int64 host array (copy if needed) of a tensor, array or sequence."""
    if _torch is not None:
        if not isinstance(a, _torch.Tensor):
            a = _torch.as_tensor(a)
        if a.dtype not in (_torch.int32, _torch.int64):
            raise TypeError("{}: expected an integer tensor, got {}".format(name, a.dtype))
        return a.detach().to(device="cpu", dtype=_torch.int64).contiguous()
    import numpy
    a = numpy.ascontiguousarray(numpy.asarray(a))
    if a.dtype.kind not in "iu":
        raise TypeError("{}: expected an integer array, got {}".format(name, a.dtype))
    return a.astype(numpy.int64, copy=False)


def _stack(rows):
    if _torch is not None:
        return _torch.stack(rows)
    import numpy
    return numpy.stack(rows)


@dataclasses.dataclass(frozen=True)
class PathSpec:
    """One path: a curve, shifted on a padded canvas and rotated (see the module doc)."""

    curve: str = "hilbert"
    pad: int = 0
    offset: tuple = (0, 0)
    rotation: int = 0

    @classmethod
    def parse(cls, spec):
        """A PathSpec from a PathSpec, a curve name ('hilbert', 'g', ...), a dict of the
        fields, or an upstream-style sequence [curve, pad, (i, j), rotation] (trailing fields
        optional)."""
        if isinstance(spec, PathSpec):
            return spec
        if isinstance(spec, str):
            return cls(curve=spec)
        if isinstance(spec, dict):
            return cls(**spec)
        if isinstance(spec, (list, tuple)) and 1 <= len(spec) <= 4:
            fields = list(spec) + [None] * (4 - len(spec))
            curve, pad, offset, rotation = fields
            return cls(curve=curve, pad=0 if pad is None else pad,
                       offset=(0, 0) if offset is None else tuple(offset),
                       rotation=0 if rotation is None else rotation)
        raise TypeError("spec: expected a PathSpec, a curve name, a dict or "
                        "[curve, pad, (i, j), rotation], got {!r}".format(spec))

    def canonical(self):
        """The same spec with the curve's canonical name."""
        return dataclasses.replace(self, curve=core.canonical_curve_name(self.curve),
                                   offset=tuple(self.offset))


def curve_names():
    """The canonical curve names."""
    return list(core.curve_names())


def build_path(height, width, spec="hilbert"):
    """The path (H*W,) of `spec` (anything PathSpec.parse takes) over an H x W image."""
    s = PathSpec.parse(spec)
    if len(s.offset) != 2:
        raise ValueError("offset: expected (row, col), got {!r}".format(s.offset))
    out = _empty((_image_numel(height, width),))
    core.build_path(height, width, out, curve=s.curve, pad=s.pad, offset_row=s.offset[0],
                    offset_col=s.offset[1], rotation=s.rotation)
    return out


def invert(perm):
    """inv with inv[perm[l]] = l (1-D), or row by row for a (P, L) stack."""
    p = _as_int64(perm, "perm")
    if p.ndim == 1:
        out = _empty(tuple(p.shape))
        core.invert_permutation(p, out)
        return out
    if p.ndim == 2:
        return _stack([invert(row) for row in p])
    raise ValueError("perm: expected a 1-D path or a (P, L) stack, got shape {}".format(
        list(p.shape)))


def build_paths(height, width, specs):
    """(perm, inv), each (P, H*W) int64, for a list of specs: the tensors path_gather,
    path_scatter and path_conv1d take."""
    specs = list(specs)
    if not specs:
        raise ValueError("specs: expected at least one path spec")
    perm = _stack([build_path(height, width, s) for s in specs])
    return perm, invert(perm)


def curve_order(curve, rows, cols):
    """The curve's visiting order of a whole rows x cols canvas (no shift or rotation)."""
    out = _empty((_image_numel(rows, cols, ("rows", "cols")),))
    core.curve_order(curve, rows, cols, out)
    return out


def neighbour_distances(perm, height, width):
    """D(q) = sum over in-image 8-neighbours q' of |pi(q) - pi(q')| per pixel (row-major),
    pi(q) = the step at which the path visits q."""
    out = _empty((_image_numel(height, width),))
    core.neighbour_distances(_as_int64(perm, "perm"), height, width, out)
    return out


def locality_cost(perm, height, width):
    """sum of neighbour_distances: lower keeps 2D neighbours closer along the path."""
    return core.locality_cost(_as_int64(perm, "perm"), height, width)


def covered_vs_raster(perm, height, width):
    """Per pixel, whether the path keeps its neighbours strictly closer than the raster path
    (bool array, row-major)."""
    out = _empty((_image_numel(height, width),))
    core.covered_vs_raster(_as_int64(perm, "perm"), height, width, out)
    return out != 0


def union_coverage(perms, height, width):
    """Number of pixels covered (covered_vs_raster) by at least one of the paths."""
    return core.union_coverage([_as_int64(p, "perms") for p in perms], height, width)


def coordinates(perm, width):
    """(L, 2) (row, col) of each step of a path."""
    p = _as_int64(perm, "perm")
    return _stack([p // width, p % width]).T.contiguous() if _torch is not None else \
        _stack([p // width, p % width]).T.copy()
