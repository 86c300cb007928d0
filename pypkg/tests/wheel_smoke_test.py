"""Builds nothing: takes the wheel Bazel built (//pypkg:wheel), installs it offline into a fresh
venv that sees Debian's torch (--system-site-packages), and uses it from outside the source
tree, as the README tells users to."""

import glob
import os
import subprocess
import sys
import tempfile
import zipfile

import pytest

WHEEL_NAME = "tapconv-0.1.0-cp311-cp311-linux_x86_64.whl"


def _wheel():
    found = glob.glob(os.path.join("**", WHEEL_NAME), recursive=True)
    assert found, "the wheel is not in the runfiles"
    return os.path.abspath(found[0])


def _clean_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PATH"] = "/usr/bin:/bin"
    return env


@pytest.fixture(scope="module")
def venv():
    root = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
    env = _clean_env()
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", root],
                   check=True, env=env)
    pip = subprocess.run([os.path.join(root, "bin", "pip"), "install", "--no-index", "--no-deps",
                          "--disable-pip-version-check", _wheel()], capture_output=True,
                         text=True, env=env)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    return root


def _run(venv, code):
    workdir = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))  # outside the source tree
    result = subprocess.run([os.path.join(venv, "bin", "python"), "-c", code], cwd=workdir,
                            capture_output=True, text=True, env=_clean_env(), timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_wheel_contents():
    with zipfile.ZipFile(_wheel()) as z:
        names = set(z.namelist())
        wheel_meta = z.read("tapconv-0.1.0.dist-info/WHEEL").decode()
        order = z.read("tapconv/.libs/load_order.txt").decode().split()
    assert {"tapconv/__init__.py", "tapconv/_core.so", "tapconv/ops/__init__.py",
            "tapconv/nn/__init__.py", "tapconv/paths.py"} <= names
    assert "Tag: cp311-cp311-linux_x86_64" in wheel_meta
    assert order and all("tapconv/.libs/" + lib in names for lib in order)
    assert any(lib.startswith("libabsl_") for lib in order)
    assert not any(lib.startswith(("libtorch", "libc10", "libpython")) for lib in order)


def test_installed_package_imports_and_runs_outside_the_source_tree(venv):
    out = _run(venv, """
import os, sys, math, torch, tapconv
import torch.nn.functional as F
assert tapconv.__file__.startswith(sys.prefix), tapconv.__file__
x, w = torch.randn(2, 4, 9, 9, dtype=torch.float64), torch.randn(4, 1, 1, 7, dtype=torch.float64)
y = tapconv.ops.oriented_conv2d(x, w, torch.zeros(4))
torch.testing.assert_close(y, F.conv2d(x, w, padding=(0, 3), groups=4))
layer = tapconv.nn.Dcls2d(4, 4, kernel_count=5, dilated_kernel_size=7, padding=3, groups=4)
layer(x.float()).sum().backward()
assert layer.P.grad is not None
print("backends", [b.name for b in tapconv.backends()])
""")
    assert "backends" in out and "reference" in out


def test_extension_links_no_torch_and_finds_its_carried_libraries(venv):
    site = _run(venv, "import os, tapconv; print(os.path.dirname(tapconv.__file__))").strip()
    ldd = subprocess.run(["ldd", os.path.join(site, "_core.so")], capture_output=True,
                         text=True, check=True).stdout
    assert "libtorch" not in ldd and "libc10" not in ldd and "not found" not in ldd
    libs = os.path.join(site, ".libs")
    assert os.path.join(libs, "libabsl_base.so.20220623") in ldd


def test_numpy_only_use_of_the_extension(venv):
    out = _run(venv, """
import numpy as np
from tapconv import _core
x = np.random.rand(1, 2, 5, 5); w = np.random.rand(2, 1, 1, 3); y = np.empty_like(x)
_core.oriented_conv2d_forward(x, w, np.zeros(2), y)
ref = x[:, :, :, :] * w[:, 0, 0, 1][None, :, None, None]
ref[:, :, :, 1:] += x[:, :, :, :-1] * w[:, 0, 0, 0][None, :, None, None]
ref[:, :, :, :-1] += x[:, :, :, 1:] * w[:, 0, 0, 2][None, :, None, None]
print(float(abs(y - ref).max()))
""")
    assert float(out) < 1e-12
