"""Bad input from Python raises an exception naming the argument, and never crashes the
interpreter: a valid call per op, then one mutation per row."""

import ctypes
import math
import subprocess
import sys
import textwrap

import pytest
import torch

from tapconv import _core, ops, paths

F64 = torch.float64


def _r(*shape, dtype=F64):
    return torch.randn(*shape, dtype=torch.float64).to(dtype)


def _oriented(**over):
    a = dict(x=_r(1, 3, 4, 5), weight=_r(3, 1, 1, 5), theta=torch.zeros(3), bias=_r(3),
             stride=1, tap_rule="trunc")
    a.update(over)
    return lambda: ops.oriented_conv2d(a["x"], a["weight"], a["theta"], a["bias"],
                                       stride=a["stride"], tap_rule=a["tap_rule"])


PERM, INV = paths.build_paths(4, 5, ["hilbert", "raster"])


def _path_conv(**over):
    a = dict(x=_r(1, 3, 4, 5), perm=PERM, weight=_r(6, 1, 3), bias=_r(6), stride=1)
    a.update(over)
    return lambda: ops.path_conv1d(a["x"], a["perm"], a["weight"], a["bias"],
                                   stride=a["stride"])


def _construct(**over):
    a = dict(weight=_r(3, 2, 4), positions=_r(2, 3, 2, 4), sigma=_r(2, 3, 2, 4), size=5,
             interpolation="gauss")
    a.update(over)
    return lambda: ops.dcls_construct(a["weight"], a["positions"], a["sigma"],
                                      dilated_kernel_size=a["size"],
                                      interpolation=a["interpolation"])


def _depthwise(**over):
    a = dict(x=_r(1, 3, 6, 6), weight=_r(3, 1, 4), positions=_r(2, 3, 1, 4), bias=_r(3))
    a.update(over)
    return lambda: ops.dcls_depthwise_conv(a["x"], a["weight"], a["positions"], a["bias"],
                                           dilated_kernel_size=5, padding=2)


CASES = [
    # (call, exception, argument named first in the message)
    (_oriented(x=[1.0]), TypeError, "x"),
    (_oriented(x=_r(3, 4, 5)), ValueError, "x"),
    (_oriented(x=_r(1, 3, 4, 5, dtype=torch.int32)), TypeError, "x"),
    (_oriented(weight=_r(3, 1, 1, 5, dtype=torch.float32)), TypeError, "weight"),
    (_oriented(weight=_r(4, 1, 1, 5)), ValueError, "weight"),
    (_oriented(weight=_r(3, 1, 1, 4)), ValueError, "weight"),
    (_oriented(theta=torch.zeros(2)), ValueError, "theta"),
    (_oriented(theta=torch.zeros(3, dtype=torch.float16)), TypeError, "theta"),
    (_oriented(theta=torch.tensor([0.0, math.inf, 0.0])), ValueError, "theta"),
    (_oriented(bias=_r(4)), ValueError, "bias"),
    (_oriented(bias=_r(3, dtype=torch.float32)), TypeError, "bias"),
    (_oriented(stride=0), ValueError, "stride"),
    (_oriented(stride=1.5), TypeError, "stride"),
    (_oriented(tap_rule="round"), ValueError, "tap_rule"),
    (_path_conv(x=_r(1, 3, 4, 6)), ValueError, "perm"),
    (_path_conv(perm=PERM.float()), TypeError, "perm"),
    (_path_conv(perm=torch.zeros_like(PERM)), ValueError, "perm"),
    (_path_conv(perm=PERM[0]), ValueError, "perm"),
    (_path_conv(weight=_r(5, 1, 3)), ValueError, "weight"),
    (_path_conv(weight=_r(6, 2, 3)), ValueError, "weight"),
    (_path_conv(bias=_r(5)), ValueError, "bias"),
    (_path_conv(stride=0), ValueError, "stride"),
    (lambda: ops.path_gather(_r(1, 3, 20), PERM), ValueError, "x"),
    (lambda: ops.path_scatter(_r(1, 5, 20), INV, 4, 5), ValueError, "y"),
    (lambda: ops.path_scatter(_r(1, 6, 20), INV[:, :19], 4, 5), ValueError, "inv"),
    (lambda: ops.path_scatter(_r(1, 6, 20), INV, 4, 0), ValueError, "width"),
    (_construct(positions=_r(2, 3, 2, 5)), ValueError, "positions"),
    (_construct(positions=_r(2, 3, 2, 4, dtype=torch.float32)), TypeError, "positions"),
    (_construct(sigma=_r(1, 3, 2, 4)), ValueError, "sigma"),
    (_construct(sigma=None), ValueError, "sigma"),
    (_construct(size=0), ValueError, "dilated_kernel_size"),
    (_construct(size=(5, 5, 5)), ValueError, "dilated_kernel_size"),
    (_construct(interpolation="cubic"), ValueError, "interpolation"),
    (_construct(weight=_r(3)), ValueError, "weight"),
    (_depthwise(weight=_r(4, 1, 4), positions=_r(2, 4, 1, 4)), ValueError, "weight"),
    (_depthwise(positions=_r(2, 3, 1, 5)), ValueError, "positions"),
    (_depthwise(x=_r(1, 3, 6)), ValueError, "x"),
    (_depthwise(bias=_r(2)), ValueError, "bias"),
    (lambda: ops.dcls_conv2d(_r(1, 4, 6, 6), _r(3, 2, 4), _r(2, 3, 2, 4),
                             dilated_kernel_size=5), ValueError, "x"),
    (lambda: ops.dcls_conv2d(_r(1, 4, 6, 6), _r(3, 2, 4), _r(2, 3, 2, 4),
                             dilated_kernel_size=5, groups=2), ValueError, "groups"),
]


def test_the_valid_calls_succeed():
    for call in (_oriented(), _path_conv(), _construct(), _depthwise()):
        call()


@pytest.mark.parametrize("case", range(len(CASES)))
def test_bad_input_names_the_argument(case):
    call, exc, arg = CASES[case]
    with pytest.raises(exc) as info:
        call()
    assert str(info.value).startswith(arg + ": "), str(info.value)


def test_non_contiguous_tensors_are_accepted_by_the_torch_ops():
    x = _r(1, 3, 5, 4).transpose(2, 3)
    w = _r(3, 1, 5, 1).transpose(2, 3)
    theta = torch.tensor([[0.1], [0.2], [0.3]]).t().reshape(3)
    y = ops.oriented_conv2d(x, w, theta)
    torch.testing.assert_close(y, ops.oriented_conv2d(x.contiguous(), w.contiguous(),
                                                      theta.contiguous()))


# --- DLPack capsules made by hand: devices the build cannot run, and the deleter ---------------

class _DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int), ("device_id", ctypes.c_int)]


class _DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class _DLTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device", _DLDevice), ("ndim", ctypes.c_int),
                ("dtype", _DLDataType), ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("strides", ctypes.POINTER(ctypes.c_int64)), ("byte_offset", ctypes.c_uint64)]


class _DLManagedTensor(ctypes.Structure):
    pass


_DELETER = ctypes.CFUNCTYPE(None, ctypes.POINTER(_DLManagedTensor))
_DLManagedTensor._fields_ = [("dl_tensor", _DLTensor), ("manager_ctx", ctypes.c_void_p),
                             ("deleter", _DELETER)]
_capsule_new = ctypes.pythonapi.PyCapsule_New
_capsule_new.restype = ctypes.py_object
_capsule_new.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]


class FakeDeviceTensor:
    """A DLPack export of `like`'s shape on another device; its memory is never read (the
    ops reject it before any kernel runs). Counts deleter calls."""

    _next_address = 0x10000000

    def __init__(self, like, device_type, device_id=0):
        self.deleted = 0
        FakeDeviceTensor._next_address += 0x1000000  # distinct, non-overlapping ranges
        self._shape = (ctypes.c_int64 * like.dim())(*like.shape)
        self._managed = _DLManagedTensor()
        t = self._managed.dl_tensor
        t.data = ctypes.c_void_p(FakeDeviceTensor._next_address)
        t.device = _DLDevice(device_type, device_id)
        t.ndim = like.dim()
        t.dtype = _DLDataType(2, 64, 1)
        t.shape = self._shape
        t.strides = None

        def deleter(_):
            self.deleted += 1

        self._deleter = _DELETER(deleter)
        self._managed.deleter = self._deleter

    def capsule(self):
        return _capsule_new(ctypes.addressof(self._managed), b"dltensor", None)


def _oriented_core_call(x, w, th, y):
    _core.oriented_conv2d_forward(x, w, th, y)


def test_a_cuda_tensor_among_host_tensors_is_a_device_error_naming_it():
    x, w, y = _r(1, 3, 4, 5), _r(3, 1, 1, 3), _r(1, 3, 4, 5)
    fake = FakeDeviceTensor(w, device_type=2)
    with pytest.raises(ValueError, match=r"^weight: expected device cpu .*got cuda:0"):
        _oriented_core_call(x, fake.capsule(), torch.zeros(3), y)
    assert fake.deleted == 1


def test_tensors_on_a_device_without_a_backend_give_a_clear_error():
    tensors = [FakeDeviceTensor(t, device_type=2, device_id=1)
               for t in (_r(1, 3, 4, 5), _r(3, 1, 1, 3), torch.zeros(3, dtype=F64),
                         _r(1, 3, 4, 5))]
    with pytest.raises(TypeError, match=r"^theta: "):  # theta's dtype is checked first: f64 ok
        _oriented_core_call(*[t.capsule() for t in tensors[:2]], torch.zeros(3, dtype=torch.int32),
                            tensors[3].capsule())
    available = {b["device"] for b in _core.backends() if b["available"]}
    if "cuda" not in available:
        with pytest.raises(RuntimeError, match=r"no available backend for tensors on cuda:1"):
            _oriented_core_call(*[t.capsule() for t in tensors])
    assert all(t.deleted == 2 if i != 2 else t.deleted == 1 for i, t in enumerate(tensors))


def test_an_unsupported_device_type_is_rejected_and_released():
    fake = FakeDeviceTensor(_r(1, 3, 4, 5), device_type=4)  # OpenCL
    with pytest.raises(ValueError, match=r"^x: unsupported DLPack device type 4"):
        _oriented_core_call(fake.capsule(), _r(3, 1, 1, 3), torch.zeros(3), _r(1, 3, 4, 5))
    assert fake.deleted == 1


def test_random_garbage_never_crashes_the_interpreter():
    # In a child process, so a crash shows up as a failed test instead of killing pytest.
    script = textwrap.dedent("""
        import random, torch
        from tapconv import _core
        rng = random.Random(0)
        dtypes = [torch.float64, torch.float32, torch.float16, torch.bfloat16, torch.int32,
                  torch.int64]

        def tensor():
            rank = rng.randint(0, 5)
            shape = [rng.choice([0, 1, 2, 3, 5]) for _ in range(rank)]
            t = torch.randint(-3, 30, shape).to(rng.choice(dtypes))
            if rank >= 2 and rng.random() < 0.3:
                t = t.transpose(0, rank - 1)
            return t

        functions = [getattr(_core, n) for n in dir(_core)
                     if n.endswith(("forward", "backward", "input", "params", "gather",
                                    "scatter", "construct"))]
        options = {"stride": [0, 1, 2, -1], "padding": [0, 1, -2], "dilation": [1, 0, 3],
                   "dilated_kernel_size": [[0], [3], [3, 3], [5, 5, 5, 5]],
                   "groups": [0, 1, 2]}
        errors = 0
        for i in range(3000):
            f = rng.choice(functions)
            args = [tensor() for _ in range(rng.randint(2, 6))]
            kwargs = {}
            for name, values in options.items():
                if rng.random() < 0.3:
                    kwargs[name] = rng.choice(values)
            if "dcls" in f.__name__:
                kwargs.setdefault("dilated_kernel_size", [3])
            try:
                f(*args, **kwargs)
            except (TypeError, ValueError, RuntimeError, NotImplementedError):
                errors += 1
        print("ok", errors)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("ok")
