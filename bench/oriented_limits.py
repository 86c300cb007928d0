"""Where the time of tapconv's oriented forward goes on this machine, against its limits.

The channel-blocked CPU kernels (docs/backends.md) do three things per block of 16 channels:
transpose the channels-first input into pixel vectors (pack), run the taps (tiles), transpose
the outputs back (store). With one tap the tiles do one multiply-add per output, so the K=1
forward measures the pack, the store and the host set-up alone; each further tap adds only
arithmetic. This script times, in one run on the same input (N2 C512 56x56 float32 by default,
the models' angles, both cores):
  - a copy x -> y (torch): the memory traffic alone of any op that reads x once and writes y;
  - the blocked forward with K = 1, 7, 15, 31, and with K = 1 on one thread;
  - for each K, the time of its extra taps (time - time at K=1) against the time those
    multiply-adds take at the machine's measured FMA peak (//bench:machine_limits); a ratio
    below 1 means they ran partly in the stalls of the K=1 pipeline;
  - the same memory traffic and multiply-adds in their barest form (machine_limits'
    BM_CopyWithFmas: a copy with 31 register FMAs per copied vector, one after the other and
    interleaved a KiB at a time): what the roofline's max(memory, FMA) assumes is that a core
    hides one behind the other, and the interleaved copy shows how much it does here.

Run: ./bazelw run -c opt //bench:oriented_limits -- [--size 56] [--batch 2] [--min-time 1]
"""

import argparse
import os
import sys

# Before tapconv loads: the blocked kernels for every K (the default picks them only for long
# lines), so that all rows run the same kernels.
os.environ["TAPCONV_CPU_ORIENTED_BLOCKED"] = "1"

import torch  # noqa: E402

import tapconv  # noqa: E402
from bench import torch_compare  # noqa: E402


def copy_with_fmas(min_time):
    """machine_limits' BM_CopyWithFmas on every core: (sequential, interleaved) copy bandwidth
    in bytes/s with 31 FMAs per copied vector riding along."""
    rates = {}
    for b in torch_compare.run_machine_limits("CopyWithFmas", min_time):
        for schedule in ("sequential", "interleaved"):
            if "/{}/".format(schedule) in b["name"] and "GB/s" in b:
                rates[schedule] = b["GB/s"] * 1e9
    if len(rates) != 2:
        sys.exit("machine_limits reported no BM_CopyWithFmas figures (it needs AVX-512)")
    return rates["sequential"], rates["interleaved"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=56, help="height and width of the planes")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--channels", type=int, default=512)
    parser.add_argument("--min-time", type=float, default=1.0,
                        help="seconds to repeat each measurement for (median reported)")
    args = parser.parse_args()
    for name in ("size", "batch", "channels"):
        if getattr(args, name) < 1:
            parser.error("--{} must be at least 1".format(name))
    if args.min_time <= 0:
        parser.error("--min-time must be positive")
    torch_compare.keep_freed_memory()
    torch.set_num_threads(os.cpu_count())
    torch.manual_seed(0)

    print("measuring machine limits...", flush=True)
    bandwidth, peak, _ = torch_compare.machine_limits(args.min_time)
    sequential, interleaved = copy_with_fmas(args.min_time)
    n, c, s = args.batch, args.channels, args.size
    x = torch.randn(n, c, s, s)
    outputs = n * c * s * s
    nbytes = 4 * 2 * outputs
    copy = torch_compare.copy_time(x, args.min_time)
    # The K=1 pipeline on one thread: if it takes twice as long, its cost is the cores' own
    # work and stalls, not the shared memory bus.
    print("timing K=1 on one thread...", flush=True)
    one_tap = torch.randn(c, 1, 1, 1)
    y = torch.empty_like(x)
    one_thread = torch_compare.timeit(
        lambda: tapconv._core.oriented_conv2d_forward(
            x, one_tap, tapconv.nn.model_angles(c), y, num_threads=1), args.min_time)
    times = {}
    for k in (1, 7, 15, 31):
        print("timing K={}...".format(k), flush=True)
        conv = tapconv.nn.OrientedConv2d(c, c, k, bias=False,
                                         angle=tapconv.nn.model_angles(c))
        with torch.no_grad():
            times[k] = torch_compare.timeit(lambda: conv(x), args.min_time)

    roofline = max(nbytes / bandwidth, 2 * outputs * 31 / peak)
    lines = [
        "Shape N{} C{} {}² float32, channels-first, the models' 8 angles; measured in the same "
        "run: bandwidth {:.1f} GB/s (best copy), FMA peak {:.0f} GFLOP/s.".format(
            n, c, s, bandwidth / 1e9, peak / 1e9),
        "",
        "| what | time (ms) | extra taps over K=1 (ms) | those taps at FMA peak (ms) | "
        "extra ÷ FMA-peak time |",
        "|---|---|---|---|---|",
        "| copy x→y (torch) | {:.2f} | | | |".format(copy * 1e3),
        "| copy + 31 FMAs per vector, one after the other (machine_limits) | {:.2f} | | | "
        "|".format(nbytes / sequential * 1e3),
        "| copy + 31 FMAs per vector, interleaved per KiB (machine_limits) | {:.2f} | | | "
        "|".format(nbytes / interleaved * 1e3),
    ]
    for k, t in times.items():
        if k == 1:
            lines.append("| forward K=1 (pack + store + set-up) | {:.2f} | | | |".format(t * 1e3))
            lines.append("| forward K=1, one thread | {:.2f} | | | |".format(one_thread * 1e3))
            continue
        extra = t - times[1]
        ideal = 2 * outputs * (k - 1) / peak
        lines.append("| forward K={} | {:.2f} | {:.2f} | {:.2f} | {:.2f} |".format(
            k, t * 1e3, extra * 1e3, ideal * 1e3, extra / ideal))
    lines += [
        "",
        "A ratio below 1 means the extra taps ran partly in the K=1 pipeline's stalls.",
        "Roofline time of the K=31 forward: {:.2f} ms (50%: {:.2f} ms); measured {:.2f} ms, "
        "{:.0f}% of the roofline.".format(roofline * 1e3, 2 * roofline * 1e3, times[31] * 1e3,
                                          100 * roofline / times[31]),
        "The same bytes and multiply-adds as a bare copy with register FMAs (machine_limits, "
        "buffers that stay in L3 like these tensors): {:.2f} ms interleaved per KiB, {:.2f} ms "
        "one after the other; the forward: {:.2f} ms.".format(
            nbytes / interleaved * 1e3, nbytes / sequential * 1e3, times[31] * 1e3),
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
