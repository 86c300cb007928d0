"""tapconv's CPU ops in a process forked after the parent ran them (a DataLoader worker, a
multiprocessing pool with the 'fork' start method): they must finish, with the parent's results,
instead of waiting on threads the child does not have."""

import os
import signal
import time

import torch

import tapconv
from tapconv import ops, paths

# The child gets this long before the test calls it hung.
CHILD_TIMEOUT_S = 60


def _results():
    """One call of each family: oriented conv and its backward, fused path conv, depthwise
    DCLS, and a dense float32 conv through oneDNN (which runs on OpenMP threads)."""
    g = torch.Generator().manual_seed(0)
    out = []
    x = torch.randn(2, 32, 20, 20, generator=g, requires_grad=True)
    weight = torch.randn(32, 1, 1, 31, generator=g, requires_grad=True)
    y = ops.oriented_conv2d(x, weight, tapconv.nn.model_angles(32))
    y.backward(torch.ones_like(y))
    out += [y.detach(), x.grad, weight.grad]
    perm, inv = paths.build_paths(16, 16, ["hilbert", ("hilbert", 3, (1, 2), 180)])
    xp = torch.randn(2, 8, 16, 16, generator=g)
    out.append(ops.path_conv1d(xp, perm, torch.randn(16, 1, 9, generator=g), padding=4, inv=inv))
    xd = torch.randn(2, 8, 24, 24, generator=g)
    wd = torch.randn(8, 1, 6, generator=g)
    pd = torch.rand(2, 8, 1, 6, generator=g) * 8 - 4
    out.append(ops.dcls_depthwise_conv(xd, wd, pd, dilated_kernel_size=(9, 9), padding=4))
    xc = torch.randn(2, 16, 24, 24, generator=g)
    yc = torch.empty(2, 16, 24, 24)
    tapconv._core.conv_nd_forward(xc, torch.randn(16, 16, 3, 3, generator=g), yc,
                                  padding=[1], backend="cpu")
    out.append(yc)
    return out


def test_ops_finish_in_a_forked_child_with_the_parents_results():
    expected = _results()  # the parent's thread pools are running now
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            # As PyTorch's DataLoader does in its workers: torch's own OpenMP ops hang after
            # fork otherwise. tapconv's pool does not depend on it.
            torch.set_num_threads(1)
            got = _results()
            status = 0 if all(torch.equal(a, b) for a, b in zip(got, expected)) else 2
        finally:
            os._exit(status)
    deadline = time.monotonic() + CHILD_TIMEOUT_S
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise AssertionError("tapconv ops hung in a forked child")
        time.sleep(0.01)
    assert os.WIFEXITED(status), "child ended by signal {}".format(os.WTERMSIG(status))
    code = os.WEXITSTATUS(status)
    assert code != 2, "the child's results differ from the parent's"
    assert code == 0, "the child raised (exit status {})".format(code)
