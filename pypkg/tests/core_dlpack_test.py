"""tapconv._core: DLPack borrowing (torch, NumPy, capsules), error mapping, fallback, GIL."""

import gc
import math
import sys
import threading

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.utils.dlpack import to_dlpack

import tapconv
from tapconv import _core


def _conv_1xk(x, w, b=None):
    return F.conv2d(x, w, b, padding=(0, w.shape[3] // 2), groups=x.shape[1])


def _inputs(dtype=torch.float64):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 5, 6, generator=g, dtype=dtype)
    w = torch.randn(3, 1, 1, 3, generator=g, dtype=dtype)
    return x, w, torch.zeros(3)


def test_torch_tensors_are_borrowed_without_copy():
    x, w, theta = _inputs()
    y = torch.full((2, 3, 5, 6), float("nan"), dtype=torch.float64)
    _core.oriented_conv2d_forward(x, w, theta, y)
    torch.testing.assert_close(y, _conv_1xk(x, w), rtol=1e-12, atol=1e-12)


def test_numpy_arrays_work_for_cpu_use():
    x, w, theta = _inputs()
    y = np.empty((2, 3, 5, 6))
    _core.oriented_conv2d_forward(x.numpy(), w.numpy(), theta.numpy(), y)
    np.testing.assert_allclose(y, _conv_1xk(x, w).numpy(), rtol=1e-12, atol=1e-12)


def test_capsules_are_consumed_once():
    x, w, theta = _inputs()
    y = torch.empty(2, 3, 5, 6, dtype=torch.float64)
    cap = to_dlpack(x)
    _core.oriented_conv2d_forward(cap, w, theta, y)
    torch.testing.assert_close(y, _conv_1xk(x, w))
    with pytest.raises(ValueError, match=r"^x: this DLPack capsule was already consumed"):
        _core.oriented_conv2d_forward(cap, w, theta, y)


def test_deleter_runs_exactly_once_per_borrow():
    # NumPy's DLPack deleter drops the reference the export took: the array's refcount must be
    # back where it was, whether the call succeeded or raised.
    x, w, theta = (t.numpy() for t in _inputs())
    y = np.empty((2, 3, 5, 6))
    before = [sys.getrefcount(a) for a in (x, w, theta, y)]
    for _ in range(3):
        _core.oriented_conv2d_forward(x, w, theta, y)
    with pytest.raises(ValueError):
        _core.oriented_conv2d_forward(x, w, theta, np.empty((1, 1)))
    gc.collect()
    assert [sys.getrefcount(a) for a in (x, w, theta, y)] == before


def test_torch_storage_is_released_after_the_call():
    x, w, theta = _inputs()
    y = torch.empty(2, 3, 5, 6, dtype=torch.float64)
    before = sys.getrefcount(x)
    _core.oriented_conv2d_forward(to_dlpack(x), w, theta, y)
    gc.collect()
    assert sys.getrefcount(x) == before


def test_strided_views_and_byte_offsets():
    x, w, theta = _inputs()
    big = torch.zeros(4, 3, 5, 6, dtype=torch.float64)
    big[2:] = x  # x's data starts at a non-zero byte offset of big's storage
    out = torch.zeros(4, 3, 5, 6, dtype=torch.float64)
    _core.oriented_conv2d_forward(big[2:], w, theta, out[1:3])
    torch.testing.assert_close(out[1:3], _conv_1xk(x, w))
    assert out[0].abs().sum() == 0 and out[3].abs().sum() == 0


def test_size_one_dims_may_have_any_stride():
    x = torch.randn(1, 3, 1, 6, dtype=torch.float64)
    w = torch.randn(3, 1, 1, 5, dtype=torch.float64)
    base = torch.zeros(200, dtype=torch.float64)
    odd = torch.as_strided(base, (1, 3, 1, 6), (999, 6, 77, 1))
    odd.copy_(x)
    y = torch.empty(1, 3, 1, 6, dtype=torch.float64)
    _core.oriented_conv2d_forward(odd, w, torch.zeros(3), y)
    torch.testing.assert_close(y, _conv_1xk(x, w))


def test_non_contiguous_input_is_rejected_naming_it():
    x, w, theta = _inputs()
    y = torch.empty(2, 3, 6, 5, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"^x: expected a contiguous tensor"):
        _core.oriented_conv2d_forward(x.transpose(2, 3), w, theta, y)


def test_zero_size_tensors():
    w = torch.randn(3, 1, 1, 3, dtype=torch.float64)
    x = torch.empty(0, 3, 5, 6, dtype=torch.float64)
    y = torch.empty(0, 3, 5, 6, dtype=torch.float64)
    _core.oriented_conv2d_forward(x, w, torch.zeros(3), y)  # nothing to do, no error


@pytest.mark.parametrize("bad,exc,pattern", [
    (3, TypeError, r"^x: expected a tensor supporting DLPack"),
    ("tensor", TypeError, r"^x: expected a tensor supporting DLPack"),
    (torch.ones(2, 3, 5, 6, dtype=torch.int8), TypeError, r"^x: unsupported dtype int8"),
    (torch.ones(2, 3, 5, 6, dtype=torch.complex64), TypeError, r"^x: unsupported dtype"),
    (torch.ones(2, 3, 5, 6, dtype=torch.float32), TypeError, r"^weight: expected dtype float32"),
    (torch.ones(2, 3, 5, dtype=torch.float64), ValueError, r"^x: expected a 4-D tensor"),
])
def test_bad_tensors_raise_naming_the_argument(bad, exc, pattern):
    _, w, theta = _inputs()
    y = torch.empty(2, 3, 5, 6, dtype=torch.float64)
    with pytest.raises(exc, match=pattern):
        _core.oriented_conv2d_forward(bad, w, theta, y)


def test_a_tensor_requiring_grad_is_refused_by_its_own_dlpack_export():
    x, w, theta = _inputs()
    y = torch.empty(2, 3, 5, 6, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"^x: could not be exported through __dlpack__"):
        _core.oriented_conv2d_forward(x.requires_grad_(), w, theta, y)


def test_option_errors_name_the_option():
    x, w, theta = _inputs()
    y = torch.empty(2, 3, 5, 6, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"^tap_rule: expected 'trunc' or 'line'"):
        _core.oriented_conv2d_forward(x, w, theta, y, tap_rule="round")
    with pytest.raises(ValueError, match=r"^layout: "):
        _core.oriented_conv2d_forward(x, w, theta, y, layout="CHWN")
    with pytest.raises(ValueError, match=r"^stride: expected >= 1"):
        _core.oriented_conv2d_forward(x, w, theta, y, stride=0)
    with pytest.raises(ValueError, match=r"^backend: no backend named 'nope'"):
        _core.oriented_conv2d_forward(x, w, theta, y, backend="nope")


def test_outputs_must_not_alias_inputs():
    x, w, theta = _inputs()
    with pytest.raises(ValueError, match=r"^y: shares memory with x"):
        _core.oriented_conv2d_forward(x, w, theta, x)


def test_every_backend_is_listed_and_reference_is_always_available():
    names = {b.name: b for b in tapconv.backends()}
    assert names["reference"].available and names["reference"].device == "cpu"
    for b in names.values():
        assert b.available or b.reason, b


def test_gpu_backends_are_built_in_and_explain_why_they_are_unavailable():
    names = {b.name: b for b in tapconv.backends()}
    assert names["cuda"].device == "cuda" and names["hip"].device == "hip"
    if not torch.cuda.is_available():
        # Importing the wheel on a machine without a driver must work; the backend says why.
        assert not names["cuda"].available
        assert "CUDA" in names["cuda"].reason, names["cuda"].reason


def test_explicit_reference_backend_and_default_agree():
    x, w, theta = _inputs()
    theta = torch.tensor([0.3, 1.2, 2.9])
    y_ref = torch.empty(2, 3, 5, 6, dtype=torch.float64)
    y_def = torch.empty_like(y_ref)
    _core.oriented_conv2d_forward(x, w, theta, y_ref, backend="reference")
    _core.oriented_conv2d_forward(x, w, theta, y_def)
    torch.testing.assert_close(y_def, y_ref)


def test_gil_is_released_during_ops():
    # Two threads run ops concurrently and both finish with correct results (a deadlock or a
    # crash would fail the test); with the GIL released they may overlap.
    x = torch.randn(2, 8, 64, 64, dtype=torch.float64)
    w = torch.randn(8, 1, 1, 9, dtype=torch.float64)
    expected = _conv_1xk(x, w)
    results = [None, None]

    def run(i):
        y = torch.empty_like(x)
        _core.oriented_conv2d_forward(x, w, torch.zeros(8), y, backend="reference")
        results[i] = y

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for r in results:
        torch.testing.assert_close(r, expected)


def test_geometry_bindings_take_host_int64_arrays():
    out = torch.empty(12, dtype=torch.int64)
    _core.build_path(3, 4, out, curve="row")
    assert out.tolist() == list(range(12))
    with pytest.raises(TypeError, match=r"^out: expected dtype int64"):
        _core.build_path(3, 4, torch.empty(12, dtype=torch.int32), curve="row")
    with pytest.raises(ValueError, match=r"^out: expected 12 elements"):
        _core.build_path(3, 4, torch.empty(11, dtype=torch.int64), curve="row")
    with pytest.raises(ValueError, match=r"^curve: "):
        _core.build_path(3, 4, out, curve="spiral")


def test_tap_offsets_binding_matches_the_upstream_table():
    # research oriented1d.md 1.3: K = 7 at 45 degrees.
    assert _core.oriented_tap_offsets(math.pi / 4, 7) == [
        (2, -2), (1, -1), (0, 0), (0, 0), (0, 0), (-1, 1), (-2, 2)]
