"""tapconv.paths: the C++ path geometry through Python, against the research test vectors
(shared/research/pathconv.md section 7, measured on upstream's own code)."""

import pytest
import torch

from tapconv import paths


@pytest.mark.parametrize("curve,cost", [("raster", 188480), ("hilbert", 215640),
                                        ("zorder", 180944), ("g", 215640), ("z", 180944)])
def test_locality_cost_of_32x32_curves(curve, cost):
    assert paths.locality_cost(paths.build_path(32, 32, curve), 32, 32) == cost


@pytest.mark.parametrize("spec,start", [
    ("raster", (0, 31)), ("zorder", (0, 31)), ("hilbert", (0, 0)),
    (("g", 24, (14, 1), 180), (31, 31)), (("g", 18, (7, 0), 270), (7, 31)),
])
def test_start_points_match_upstream(spec, start):
    coords = paths.coordinates(paths.build_path(32, 32, spec), 32)
    assert tuple(coords[0].tolist()) == start


def test_raster_is_mirrored_row_major_and_hilbert_starts_as_upstream():
    h, w = 5, 7
    expected = [(l // w) * w + (w - 1 - l % w) for l in range(h * w)]
    assert paths.build_path(h, w, "raster").tolist() == expected
    coords = paths.coordinates(paths.build_path(32, 32, "hilbert"), 32)[:4].tolist()
    assert coords == [[0, 0], [0, 1], [1, 1], [1, 0]]


@pytest.mark.parametrize("h,w", [(1, 1), (3, 8), (7, 7), (6, 9), (18, 21)])
def test_every_curve_is_a_permutation_and_inv_inverts_it(h, w):
    specs = [c for c in paths.curve_names()] + [("hilbert", 3, (1, 2), 180 if h == w else 0)]
    perm, inv = paths.build_paths(h, w, specs)
    assert perm.shape == inv.shape == (len(specs), h * w)
    for p, i in zip(perm, inv):
        assert sorted(p.tolist()) == list(range(h * w))
        assert torch.equal(i[p], torch.arange(h * w))


def test_coverage_and_neighbour_distances_are_consistent():
    raster = paths.build_path(16, 16, "raster")
    hilbert = paths.build_path(16, 16, "hilbert")
    d = paths.neighbour_distances(hilbert, 16, 16)
    assert d.shape == (256,) and int(d.sum()) == paths.locality_cost(hilbert, 16, 16)
    assert not paths.covered_vs_raster(raster, 16, 16).any()
    covered = paths.covered_vs_raster(hilbert, 16, 16)
    d_raster = paths.neighbour_distances(raster, 16, 16)
    assert torch.equal(covered, d < d_raster)
    assert paths.union_coverage([raster, hilbert], 16, 16) == int(covered.sum())


def test_specs_parse_upstream_configs():
    s = paths.PathSpec.parse(["g", 24, (14, 1), 180])
    assert s == paths.PathSpec("g", 24, (14, 1), 180)
    assert s.canonical().curve == "hilbert"
    assert paths.PathSpec.parse("z").canonical() == paths.PathSpec("zorder")
    assert paths.PathSpec.parse({"curve": "snake", "pad": 2}).pad == 2


@pytest.mark.parametrize("spec,arg", [
    ("spiral", "curve"),
    (("hilbert", -1), "pad"),
    (("hilbert", 2, (3, 0)), "offset_row"),
    (("hilbert", 0, (0, 0), 45), "rotation"),
    (("hilbert", 0, (0, 0), 90), "rotation"),  # 90 degrees needs a square image
])
def test_bad_specs_raise_naming_the_field(spec, arg):
    with pytest.raises(ValueError, match="^" + arg + ": "):
        paths.build_path(4, 6, spec)


def test_bad_permutations_are_rejected():
    with pytest.raises(ValueError, match="^perm: "):
        paths.locality_cost(torch.tensor([0, 1, 1, 3]), 2, 2)
    with pytest.raises(ValueError, match="^perm: "):
        paths.invert(torch.tensor([0, 5, 1]))
    with pytest.raises(TypeError, match="^perm: expected an integer"):
        paths.invert(torch.tensor([0.0, 1.0]))


@pytest.mark.parametrize("h,w,arg", [(0, 4, "height"), (4, 0, "width"), (-3, 4, "height"),
                                     (100000, 100000, "height")])
def test_bad_image_sizes_are_rejected_before_allocating(h, w, arg):
    from tapconv import _core
    with pytest.raises(ValueError, match="^" + arg + ": "):
        paths.build_path(h, w, "hilbert")
    with pytest.raises(ValueError, match="^" + arg + ": "):
        paths.neighbour_distances(torch.arange(4), h, w)
    with pytest.raises(ValueError, match="^" + arg + ": "):
        _core.union_coverage([], h, w)
    with pytest.raises(ValueError, match="^" + arg + ": "):
        _core.locality_cost(torch.arange(4), h, w)
    rows = {"height": "rows", "width": "cols"}[arg]
    with pytest.raises(ValueError, match="^" + rows + ": "):
        paths.curve_order("hilbert", h, w)
