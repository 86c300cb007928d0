"""tapconv's CPU backend against what a PyTorch user would otherwise write, in one run on the
same inputs (issue 3's benchmark), plus this machine's limits measured in the same run.

For each op it times forward and forward+backward (all gradients) of tapconv and of the PyTorch
baselines, reports the ratios, and the fraction of the machine's measured memory bandwidth
(the best large copy) and FMA throughput (//bench:machine_limits) the tapconv kernel reaches:
  effective GB/s = minimal bytes the op must move / time, GFLOP/s = useful flops / time,
  roofline fraction = max(bytes / bandwidth, flops / peak) / time.

Run: ./bazelw run -c opt //bench:torch_compare -- [--quick] [--write docs/benchmarks.md]
"""

import argparse
import ctypes
import math
import os
import platform
import json
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

import tapconv

TARGETS = {
    "oriented_vs_1xK": 5.0,    # K=31, 56^2, fwd+bwd, vs nn.Conv2d depthwise 1x31
    "oriented_vs_KxK": 50.0,   # vs the dense 31x31 depthwise kernel with the taps drawn in
    "oriented_roofline": 0.5,  # forward, fraction of the roofline
    "dcls_vs_torch": 2.0,      # S=17, Kc=34, fwd+bwd
    "path_vs_torch": 3.0,      # Hilbert x3, K=9, C=96, fwd+bwd
}


def keep_freed_memory():
    """Makes glibc keep freed memory for the next allocation. tapconv and PyTorch allocate
    their outputs (PyTorch its workspaces too) on every call; by default glibc hands large
    freed blocks back to the system, or not, depending on the process's allocation history,
    and a call then faults its pages in again: PyTorch's N32 C512 14² 1×7 conv took 11 ms
    instead of 1.6 ms with 9376 page faults per call, in two runs of the table out of four.
    Kept, every call of either side reuses memory in the steady state, as in a training loop.
    Call before anything large is allocated."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return  # not glibc: its allocator's own policy applies
    m_trim_threshold, m_mmap_max = -1, -4
    if not (libc.mallopt(m_mmap_max, 0) and libc.mallopt(m_trim_threshold, 2**31 - 1)):
        sys.exit("mallopt refused to keep freed memory")


def timeit(fn, min_time, min_reps=3, max_reps=200):
    """Median wall time of fn() over repetitions, after one warm-up call."""
    fn()
    times = []
    start = time.perf_counter()
    while len(times) < max_reps and (len(times) < min_reps or
                                      time.perf_counter() - start < min_time):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run_machine_limits(benchmarks, min_time):
    """The JSON records of //bench:machine_limits' benchmarks matching the regex `benchmarks`,
    on every core."""
    binary = os.path.join(os.path.dirname(os.path.abspath(__file__)), "machine_limits")
    result = subprocess.run(
        [binary, "--benchmark_filter=^BM_({}).*/threads:{}$".format(benchmarks, os.cpu_count()),
         "--benchmark_format=json", "--benchmark_min_time={}".format(min_time)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False, text=True)
    if result.returncode != 0:
        sys.exit("machine_limits failed ({}): {}".format(result.returncode, result.stderr))
    return json.loads(result.stdout)["benchmarks"]


def native_limits(min_time):
    """Measured by //bench:machine_limits (hand-written AVX-512/AVX2 loops, all cores): the best
    memory copy bandwidth (bytes read + written per second, 1 GiB buffers), the float32 FMA peak
    and the one-unaligned-load-per-FMA ceiling (flop/s). torch.mm is no measure of the peak:
    Debian's torch may use an unoptimised BLAS."""
    records = run_machine_limits("FmaPeak|LoadFma|Memory", min_time)
    best = {"FmaPeak": 0.0, "LoadFma": 0.0, "copy/MiB:1024": 0.0}
    for b in records:
        for kind in best:
            value = b.get("GFLOP/s", b.get("GB/s", 0.0))
            if kind in b["name"]:
                best[kind] = max(best[kind], value * 1e9)
    if not all(best.values()):
        sys.exit("machine_limits reported no figures for {}: {}".format(
            [k for k, v in best.items() if not v], [b["name"] for b in records]))
    return best["copy/MiB:1024"], best["FmaPeak"], best["LoadFma"]


def machine_limits(min_time):
    """(memory bandwidth in bytes/s, float32 FMA peak, one-load-per-FMA stencil ceiling in
    flop/s). The bandwidth is the best of a 128 MiB torch copy and machine_limits' copies: a
    shared machine's bandwidth varies, and the best observed one gives the conservative
    roofline fraction."""
    a = torch.randn(32 * 1024 * 1024)
    b = torch.empty_like(a)
    copy = timeit(lambda: b.copy_(a), min_time)
    torch_bandwidth = 2 * a.numel() * 4 / copy
    native_bandwidth, peak, stencil = native_limits(min_time)
    return max(torch_bandwidth, native_bandwidth), peak, stencil


class Row:
    def __init__(self, name, shape, tapconv_s, baselines, flops, nbytes):
        self.name, self.shape, self.tapconv_s = name, shape, tapconv_s
        self.baselines = baselines  # [(label, seconds)]
        self.flops, self.nbytes = flops, nbytes


def fwdbwd_time(module_or_fn, inputs, params, min_time):
    """Forward+backward seconds of y = f(*inputs) with a sum loss."""
    def forward_backward():
        for t in list(inputs) + list(params):
            if isinstance(t, torch.Tensor) and t.grad is not None:
                t.grad = None
        y = module_or_fn(*inputs)
        y.backward(torch.ones_like(y))

    return timeit(forward_backward, min_time)


def fwd_and_fwdbwd(module_or_fn, inputs, params, min_time):
    """(forward seconds, forward+backward seconds) of y = f(*inputs) with a sum loss."""
    def forward():
        with torch.no_grad():
            module_or_fn(*inputs)

    return timeit(forward, min_time), fwdbwd_time(module_or_fn, inputs, params, min_time)


# --------------------------------------------------------------------------------------------
# Oriented conv

def copy_time(x, min_time):
    """Seconds to copy x into a preallocated tensor: what any op that reads x once and writes
    an output of the same size must spend on memory traffic alone."""
    y = torch.empty_like(x)
    with torch.no_grad():
        return timeit(lambda: y.copy_(x), min_time)


def oriented_rows(quick, min_time):
    rows = []
    shapes = [(14, 32), (28, 8), (56, 2)] if not quick else [(14, 8), (56, 1)]
    channels = 512 if not quick else 128
    for size, batch in shapes:
        for k in (7, 31):
            x = torch.randn(batch, channels, size, size, requires_grad=True)
            ours = tapconv.nn.OrientedConv2d(channels, channels, k, bias=False,
                                             angle=tapconv.nn.model_angles(channels))
            axis = torch.nn.Conv2d(channels, channels, (1, k), padding=(0, k // 2),
                                   groups=channels, bias=False)
            dense = torch.nn.Conv2d(channels, channels, k, padding=k // 2, groups=channels,
                                    bias=False)
            ours_f, ours_fb = fwd_and_fwdbwd(ours, [x], list(ours.parameters()), min_time)
            axis_f, axis_fb = fwd_and_fwdbwd(axis, [x], list(axis.parameters()), min_time)
            # The dense KxK conv is very slow at K=31: time it with fewer repetitions.
            dense_f, dense_fb = fwd_and_fwdbwd(dense, [x], list(dense.parameters()),
                                               min_time / 4)
            copy = copy_time(x.detach(), min_time)
            out = batch * channels * size * size
            flops_f = 2 * out * k
            bytes_f = 4 * (2 * out + channels * k)
            shape = "N{} C{} {}² K{}".format(batch, channels, size, k)
            rows.append(Row("oriented fwd", shape, ours_f,
                            [("1xK", axis_f), ("KxK", dense_f), ("copy x→y", copy)],
                            flops_f, bytes_f))
            # Backward: dx (K taps per input) and dweight (K taps per output), reading dy and x.
            rows.append(Row("oriented fwd+bwd", shape, ours_fb,
                            [("1xK", axis_fb), ("KxK", dense_fb)], 3 * flops_f,
                            4 * (6 * out + 2 * channels * k)))
    # Channels-last activations (torch.channels_last), the largest plane: tapconv runs its
    # NHWC kernels natively; PyTorch's depthwise 1xK takes the same memory format.
    for k in (7, 31) if not quick else (31,):
        size, batch = shapes[-1]
        x = torch.randn(batch, channels, size, size).contiguous(
            memory_format=torch.channels_last).requires_grad_(True)
        ours = tapconv.nn.OrientedConv2d(channels, channels, k, bias=False,
                                         angle=tapconv.nn.model_angles(channels))
        axis = torch.nn.Conv2d(channels, channels, (1, k), padding=(0, k // 2),
                               groups=channels, bias=False).to(memory_format=torch.channels_last)
        ours_f, ours_fb = fwd_and_fwdbwd(ours, [x], list(ours.parameters()), min_time)
        axis_f, axis_fb = fwd_and_fwdbwd(axis, [x], list(axis.parameters()), min_time)
        out = batch * channels * size * size
        shape = "N{} C{} {}² K{} channels-last".format(batch, channels, size, k)
        rows.append(Row("oriented fwd", shape, ours_f,
                        [("1xK", axis_f), ("copy x→y", copy_time(x.detach(), min_time))],
                        2 * out * k, 4 * (2 * out + channels * k)))
        rows.append(Row("oriented fwd+bwd", shape, ours_fb, [("1xK", axis_fb)], 6 * out * k,
                        4 * (6 * out + 2 * channels * k)))
    return rows


# --------------------------------------------------------------------------------------------
# DCLS

def torch_dcls_construct(weight, positions, size):
    """Bilinear (v0) DCLS kernel construction as a PyTorch user writes it: scatter-add the four
    corner weights of every element into a zero (C_out, C_in/g, S, S) kernel."""
    c_out, c_in = weight.shape[:2]
    q = positions + size // 2
    base = torch.floor(q).detach()
    frac = q - base
    kernel = weight.new_zeros(c_out, c_in, size * size)
    for dr in (0, 1):
        for dc in (0, 1):
            row, col = base[0] + dr, base[1] + dc
            coeff = (frac[0] if dr else 1 - frac[0]) * (frac[1] if dc else 1 - frac[1])
            inside = (row >= 0) & (row < size) & (col >= 0) & (col < size)
            index = (row.clamp(0, size - 1) * size + col.clamp(0, size - 1)).long()
            kernel = kernel.scatter_add(2, index, weight * coeff * inside)
    return kernel.view(c_out, c_in, size, size)


def dcls_rows(quick, min_time):
    rows = []
    size, count = 17, 34
    stages = [(96, 56, 2), (192, 28, 4), (384, 14, 8), (768, 7, 16)]
    if quick:
        stages = [(96, 56, 1), (768, 7, 4)]
    for channels, spatial, batch in stages:
        x = torch.randn(batch, channels, spatial, spatial, requires_grad=True)
        ours = tapconv.nn.Dcls2d(channels, channels, kernel_count=count,
                                 dilated_kernel_size=size, padding=size // 2, groups=channels,
                                 interpolation="bilinear", bias=False)
        with torch.no_grad():
            # A trained layer's elements spread over the whole S x S box (the initialisation
            # clusters them near the centre, where they overlap into fewer taps).
            ours.P.uniform_(-(size // 2), size // 2 - 1)
        weight = ours.weight.detach().clone().requires_grad_(True)
        positions = ours.P.detach().clone().requires_grad_(True)

        def torch_version(inp):
            kernel = torch_dcls_construct(weight, positions, size)
            return F.conv2d(inp, kernel, None, 1, size // 2, 1, channels)

        ours_f, ours_fb = fwd_and_fwdbwd(ours, [x], list(ours.parameters()), min_time)
        nudge = [1e-3]

        def ours_new_positions(inp):
            # As after an optimizer step: the positions differ from the previous call's
            # (tapconv reuses its tap table only for bit-identical parameters).
            with torch.no_grad():
                ours.P.add_(nudge[0])
            nudge[0] = -nudge[0]
            return ours(inp)

        ours_fb_moved = fwdbwd_time(ours_new_positions, [x], list(ours.parameters()), min_time)
        base_f, base_fb = fwd_and_fwdbwd(torch_version, [x], [weight, positions], min_time)
        with torch.no_grad():
            taps = (torch_dcls_construct(weight, positions, size) != 0).sum().item() / channels
        out = batch * channels * spatial * spatial
        shape = "N{} C{} {}² S{} Kc{} ({:.0f} taps)".format(batch, channels, spatial, size,
                                                            count, taps)
        rows.append(Row("dcls dw fwd", shape, ours_f, [("construct+conv2d", base_f)],
                        2 * out * taps, 4 * 2 * out))
        rows.append(Row("dcls dw fwd+bwd", shape, ours_fb, [("construct+conv2d", base_fb)],
                        6 * out * taps, 4 * 6 * out))
        rows.append(Row("dcls dw fwd+bwd, new positions each call", shape, ours_fb_moved,
                        [("construct+conv2d", base_fb)], 6 * out * taps, 4 * 6 * out))
    return rows


# --------------------------------------------------------------------------------------------
# Path conv

HILBERT_SETS = {
    32: [("hilbert", 0, (0, 0), 0), ("hilbert", 24, (14, 1), 180), ("hilbert", 18, (7, 0), 270)],
    64: [("hilbert", 0, (0, 0), 0), ("hilbert", 7, (7, 0), 180), ("hilbert", 40, (13, 1), 0)],
}


def path_rows(quick, min_time):
    rows = []
    channels, k = 96, 9
    for size, batch in ((32, 16), (64, 4)) if not quick else ((32, 4),):
        perm, inv = tapconv.paths.build_paths(size, size, HILBERT_SETS[size])
        paths = perm.shape[0]
        x = torch.randn(batch, channels, size, size, requires_grad=True)
        weight = torch.randn(paths * channels, 1, k, requires_grad=True)
        bias = torch.randn(paths * channels, requires_grad=True)

        def ours(inp):
            seq = tapconv.ops.path_conv1d(inp, perm, weight, bias, padding=k // 2, inv=inv)
            return tapconv.ops.path_scatter(seq, inv, size, size, perm=perm)

        def torch_version(inp):
            flat = inp.flatten(2)
            seq = torch.cat([flat.index_select(2, perm[p]) for p in range(paths)], 1)
            out = F.conv1d(seq, weight, bias, padding=k // 2, groups=paths * channels)
            back = [out[:, p * channels:(p + 1) * channels].index_select(2, inv[p])
                    for p in range(paths)]
            return torch.stack(back).sum(0).view_as(inp)

        ours_f, ours_fb = fwd_and_fwdbwd(ours, [x], [weight, bias], min_time)
        base_f, base_fb = fwd_and_fwdbwd(torch_version, [x], [weight, bias], min_time)
        seq = batch * paths * channels * size * size
        shape = "N{} C{} {}² {} Hilbert paths K{}".format(batch, channels, size, paths, k)
        rows.append(Row("path conv+scatter fwd", shape, ours_f,
                        [("gather+conv1d+scatter", base_f)], 2 * seq * k,
                        4 * (2 * batch * channels * size * size)))
        rows.append(Row("path conv+scatter fwd+bwd", shape, ours_fb,
                        [("gather+conv1d+scatter", base_fb)], 6 * seq * k,
                        4 * (6 * batch * channels * size * size)))
    return rows


# --------------------------------------------------------------------------------------------

def render(rows, bandwidth, peak, stencil, command):
    lines = [
        "Machine: {} ({} threads used by torch and tapconv); measured in the same run: memory "
        "bandwidth **{:.1f} GB/s** (best copy, read + written bytes), float32 FMA peak "
        "**{:.0f} GFLOP/s**, one-unaligned-load-per-FMA ceiling **{:.0f} GFLOP/s** "
        "(`//bench:machine_limits`).".format(platform.processor() or platform.machine(),
                                              torch.get_num_threads(), bandwidth / 1e9,
                                              peak / 1e9, stencil / 1e9),
        "",
        "Command: `{}`".format(command),
        "",
        "| op | shape | tapconv (ms) | baseline (ms) | speed-up | GB/s | GFLOP/s | roofline |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        gbs = r.nbytes / r.tapconv_s / 1e9
        gflops = r.flops / r.tapconv_s / 1e9
        roof = max(r.nbytes / bandwidth, r.flops / peak) / r.tapconv_s
        base = "<br>".join("{}: {:.2f}".format(l, s * 1e3) for l, s in r.baselines)
        speed = "<br>".join("{:.1f}×".format(s / r.tapconv_s) for _, s in r.baselines)
        lines.append("| {} | {} | {:.2f} | {} | {} | {:.1f} | {:.1f} | {:.0%} |".format(
            r.name, r.shape, r.tapconv_s * 1e3, base, speed, gbs, gflops, roof))
    return "\n".join(lines)


def check_targets(rows, bandwidth, peak, stencil):
    verdicts = []
    def find(name, needle):
        return [r for r in rows if r.name == name and needle in r.shape]
    for r in find("oriented fwd+bwd", "56² K31"):
        if "channels-last" in r.shape:
            continue
        s1 = dict(r.baselines)["1xK"] / r.tapconv_s
        sk = dict(r.baselines)["KxK"] / r.tapconv_s
        verdicts.append("oriented K=31 56² fwd+bwd vs 1×31: {:.1f}× (target {}×)".format(
            s1, TARGETS["oriented_vs_1xK"]))
        verdicts.append("oriented K=31 56² fwd+bwd vs 31×31: {:.1f}× (target {}×)".format(
            sk, TARGETS["oriented_vs_KxK"]))
    for r in find("oriented fwd", "56² K31"):
        if "channels-last" in r.shape:
            continue
        roof = max(r.nbytes / bandwidth, r.flops / peak) / r.tapconv_s
        verdicts.append("oriented K=31 56² forward roofline fraction: {:.0%} (target {:.0%}); "
                        "fraction of the one-load-per-FMA ceiling: {:.0%}; time of a plain "
                        "copy of the same bytes: {:.0%}".format(
                            roof, TARGETS["oriented_roofline"],
                            r.flops / stencil / r.tapconv_s,
                            dict(r.baselines)["copy x→y"] / r.tapconv_s))
    for r in [r for r in rows if r.name.startswith("dcls dw fwd+bwd")]:
        verdicts.append("{} {} vs construct+conv2d: {:.1f}× (target {}×)".format(
            r.name, r.shape, r.baselines[0][1] / r.tapconv_s, TARGETS["dcls_vs_torch"]))
    for r in [r for r in rows if r.name == "path conv+scatter fwd+bwd"]:
        verdicts.append("path {} fwd+bwd vs gather+conv1d+scatter: {:.1f}× (target {}×)".format(
            r.shape, r.baselines[0][1] / r.tapconv_s, TARGETS["path_vs_torch"]))
    return verdicts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small shapes, for a smoke run")
    parser.add_argument("--min-time", type=float, default=1.0,
                        help="seconds to repeat each measurement for (median reported)")
    parser.add_argument("--threads", type=int, default=os.cpu_count(),
                        help="torch threads (tapconv's cpu backend uses all cores by default)")
    parser.add_argument("--write", metavar="MARKDOWN",
                        help="replace the section between the cpu-vs-torch markers in this file")
    parser.add_argument("--only", choices=["oriented", "dcls", "path"], action="append",
                        help="run only these families")
    args = parser.parse_args()
    keep_freed_memory()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    backends = {b.name: b for b in tapconv.backends()}
    if "cpu" not in backends or not backends["cpu"].available:
        sys.exit("the cpu backend is not available in this build")
    families = args.only or ["oriented", "dcls", "path"]
    print("measuring machine limits...", flush=True)
    bandwidth, peak, stencil = machine_limits(args.min_time)
    rows = []
    for family, fn in (("oriented", oriented_rows), ("dcls", dcls_rows), ("path", path_rows)):
        if family in families:
            print("timing {}...".format(family), flush=True)
            rows += fn(args.quick, args.min_time)
    shown, skip = [], False
    for a in sys.argv[1:]:  # the command that reproduces the table, without --write FILE
        if skip or a.startswith("--write"):
            skip = a == "--write"
            continue
        shown.append(a)
    command = "./bazelw run -c opt //bench:torch_compare --" + "".join(" " + a for a in shown)
    table = render(rows, bandwidth, peak, stencil, command.rstrip(" -"))
    verdicts = check_targets(rows, bandwidth, peak, stencil)
    print(table)
    print()
    print("\n".join(verdicts))
    if args.write:
        path = args.write
        if not os.path.isabs(path) and "BUILD_WORKSPACE_DIRECTORY" in os.environ:
            path = os.path.join(os.environ["BUILD_WORKSPACE_DIRECTORY"], path)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        begin, end = "<!-- cpu-vs-torch:begin -->", "<!-- cpu-vs-torch:end -->"
        if begin not in text or end not in text:
            sys.exit("{}: no {} ... {} markers".format(path, begin, end))
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        body = "\n{}\n\nTargets:\n{}\n".format(table, "\n".join("- " + v for v in verdicts))
        with open(path, "w", encoding="utf-8") as f:
            f.write(head + begin + body + end + tail)
        print("wrote", path)


if __name__ == "__main__":
    main()
