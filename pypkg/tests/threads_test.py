"""tapconv's CPU ops run on as many threads as torch's intra-op setting asks for, in every
Python thread: torch.set_num_threads sets the OpenMP count only in the thread that calls it,
so the core, left to the calling thread's OpenMP setting, would use every core in the
others."""

import threading

import torch

import tapconv
from tapconv import ops
from tapconv._torch_bridge import exec_kwargs


def _in_new_thread(fn):
    out = []
    thread = threading.Thread(target=lambda: out.append(fn()))
    thread.start()
    thread.join()
    return out[0]


def test_cpu_calls_pass_torchs_thread_count_from_any_thread():
    before = torch.get_num_threads()
    try:
        for n in (1, 2):
            torch.set_num_threads(n)
            assert exec_kwargs(torch.zeros(1)) == {"num_threads": n}
            assert _in_new_thread(lambda: exec_kwargs(torch.zeros(1))) == {"num_threads": n}
    finally:
        torch.set_num_threads(before)


def test_ops_give_the_same_results_in_another_thread_and_thread_count():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(2, 32, 17, 19, generator=g)
    weight = torch.randn(32, 1, 1, 31, generator=g)
    theta = tapconv.nn.model_angles(32)
    before = torch.get_num_threads()
    try:
        expected = ops.oriented_conv2d(x, weight, theta)
        torch.set_num_threads(1)
        got = _in_new_thread(lambda: ops.oriented_conv2d(x, weight, theta))
    finally:
        torch.set_num_threads(before)
    # Bit-identical for any thread count (fixed reduction order per output).
    assert torch.equal(got, expected)
