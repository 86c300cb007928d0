// The cpu backend's path ops on PathConv's shapes: C = 96 channels, the three
// Hilbert paths main.py uses (research note section 1.6: for 32x32
// ('g',0,(0,0),0), ('g',24,(14,1),180), ('g',18,(7,0),270); for 64x64
// ('g',0,(0,0),0), ('g',7,(7,0),180), ('g',40,(13,1),0)), K = 9, either the
// block conv (stride 1, padding 4, multiplier 1) or the downsample (stride 2,
// padding 4, multiplier 2). The batch is scaled so that both sizes move the
// same number of elements (N = 16 at 32x32, 4 at 64x64; the train_step_*_more
// rows vary it and the thread count); int64 indices, as torch hands them over.
// Run with --benchmark_repetitions=5 on a shared machine and read the _min
// rows.
//
// Counters: GFLOP/s counts 2*K multiply-adds per output element of each conv
// pass (forward, input gradient, weight gradient), GB/s the minimum traffic
// (every input and output tensor once, indices not counted).
//
//   ./bazelw run -c opt //bench:path_bench
//   TAPCONV_CPU_ISA=avx2 ./bazelw run -c opt //bench:path_bench

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "benchmark/benchmark.h"
#include "ops/geometry/paths.h"
#include "ops/path_conv.h"
#include "tests/host_tensor.h"

namespace tapconv {
namespace {

using testing::HostTensor;

constexpr int64_t kChannels = 96;
constexpr int64_t kTaps = 9;
constexpr int64_t kImagesAt32 = 16;

enum Op {
  kGather,
  kScatter,
  kForward,
  kBackwardInput,
  kBackwardParams,
  kTrainStep
};

// A cheap deterministic fill in [-1, 1).
void Fill(HostTensor& t, uint64_t seed) {
  std::vector<double> v(t.numel());
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (double& x : v) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    x = static_cast<double>(s >> 11) * (2.0 / 9007199254740992.0) - 1.0;
  }
  t.SetFromDoubles(v);
}

std::vector<PathSpec> PathsFor(int64_t size) {
  if (size == 32) {
    return {PathSpec{Curve::kHilbert, 0, 0, 0, 0},
            PathSpec{Curve::kHilbert, 24, 14, 1, 180},
            PathSpec{Curve::kHilbert, 18, 7, 0, 270}};
  }
  return {PathSpec{Curve::kHilbert, 0, 0, 0, 0},
          PathSpec{Curve::kHilbert, 7, 7, 0, 180},
          PathSpec{Curve::kHilbert, 40, 13, 1, 0}};
}

struct Problem {
  int64_t n, c, size, paths, length, m, out_length;
  PathConvArgs args;
  HostTensor x, perm, inv, seq, dseq, weight, bias, y, dy, dx, dweight, dbias;
  absl::Status status;

  Problem(int64_t hw, bool downsample, int64_t images_at_32, DType dtype)
      : n(images_at_32 * 32 * 32 / (hw * hw)),
        c(kChannels),
        size(hw),
        paths(3),
        length(hw * hw),
        m(downsample ? 2 : 1),
        out_length((length + 2 * 4 - kTaps) / (downsample ? 2 : 1) + 1),
        args{downsample ? 2 : 1, 4},
        x(dtype, {n, c, hw, hw}),
        perm(DType::kI64, {paths, length}),
        inv(DType::kI64, {paths, length}),
        seq(dtype, {n, paths * c, length}),
        dseq(dtype, {n, paths * c, length}),
        weight(dtype, {paths * c * m, 1, kTaps}),
        bias(dtype, {paths * c * m}),
        y(dtype, {n, paths * c * m, out_length}),
        dy(dtype, {n, paths * c * m, out_length}),
        dx(dtype, {n, c, hw, hw}),
        dweight(dtype, {paths * c * m, 1, kTaps}),
        dbias(dtype, {paths * c * m}) {
    const std::vector<PathSpec> specs = PathsFor(hw);
    for (int64_t p = 0; p < paths; ++p) {
      absl::StatusOr<std::vector<int64_t>> path = BuildPath(hw, hw, specs[p]);
      if (!path.ok()) {
        status = path.status();
        return;
      }
      const std::vector<int64_t> inverse = InvertPermutation(*path);
      for (int64_t l = 0; l < length; ++l) {
        perm.Set(p * length + l, static_cast<double>((*path)[l]));
        inv.Set(p * length + l, static_cast<double>(inverse[l]));
      }
    }
    Fill(x, 1);
    Fill(dy, 2);
    Fill(weight, 3);
    Fill(bias, 4);
    Fill(dseq, 5);
  }

  double ConvOutputs() const {
    return static_cast<double>(n * paths * c * m * out_length);
  }
  double Images() const { return static_cast<double>(n * c * length); }
  double Sequences() const {
    return static_cast<double>(n * paths * c * length);
  }
};

void RunOp(Problem& p, Op op, const ExecContext& ctx, benchmark::State& state) {
  absl::Status status = p.status;
  if (op == kGather) {
    status.Update(ops::PathGather({p.x.ref(), p.perm.ref(), p.seq.ref()}, ctx));
  }
  if (op == kScatter) {
    status.Update(
        ops::PathScatter({p.dseq.ref(), p.inv.ref(), p.dx.ref()}, ctx));
  }
  if (op == kForward || op == kTrainStep) {
    status.Update(ops::PathConvForward(
        p.args,
        {p.x.ref(), p.perm.ref(), p.weight.ref(), p.bias.ref(), p.y.ref()},
        ctx));
  }
  if (op == kBackwardInput || op == kTrainStep) {
    status.Update(ops::PathConvBackwardInput(
        p.args, {p.dy.ref(), p.inv.ref(), p.weight.ref(), p.dx.ref()}, ctx));
  }
  if (op == kBackwardParams || op == kTrainStep) {
    status.Update(ops::PathConvBackwardParams(
        p.args,
        {p.dy.ref(), p.x.ref(), p.perm.ref(), p.dweight.ref(), p.dbias.ref()},
        ctx));
  }
  if (!status.ok()) state.SkipWithError(status.ToString().c_str());
}

void BM_Path(benchmark::State& state, Op op, DType dtype) {
  Problem p(state.range(0), state.range(1) != 0, state.range(2), dtype);
  ExecContext ctx;
  ctx.num_threads = static_cast<int>(state.range(3));
  RunOp(p, op, ctx, state);  // warm-up: pages, thread pool, caches
  for (auto _ : state) {
    RunOp(p, op, ctx, state);
    benchmark::ClobberMemory();
  }
  const double elem = static_cast<double>(SizeOf(dtype));
  const double conv_flops = 2.0 * kTaps * p.ConvOutputs();
  double flops = 0.0, elements = 0.0;
  switch (op) {
    case kGather:
    case kScatter:
      elements = p.Images() + p.Sequences();
      break;
    case kForward:
    case kBackwardInput:
      flops = conv_flops;
      elements = p.Images() + p.ConvOutputs();
      break;
    case kBackwardParams:
      flops = conv_flops;
      elements = p.Images() + p.ConvOutputs();
      break;
    case kTrainStep:
      flops = 3.0 * conv_flops;
      elements = 3.0 * (p.Images() + p.ConvOutputs());
      break;
  }
  state.counters["GFLOP/s"] = benchmark::Counter(
      flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GB/s"] = benchmark::Counter(
      elements * elem * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["N"] = static_cast<double>(p.n);
}

// Statistics over --benchmark_repetitions: on a shared machine the fastest
// repetition is the one least disturbed by other processes.
void Common(benchmark::internal::Benchmark* b) {
  b->ArgNames({"HW", "down", "N32", "threads"})
      ->Unit(benchmark::kMicrosecond)
      ->UseRealTime()
      ->ComputeStatistics("min", [](const std::vector<double>& v) {
        double m = v.empty() ? 0.0 : v[0];
        for (double x : v) m = x < m ? x : m;
        return m;
      });
}

// Args: image side, downsample (stride 2, multiplier 2), batch at 32x32 (4x
// fewer images at 64x64), threads (0 = all).
void Shapes(benchmark::internal::Benchmark* b) {
  for (int64_t downsample : {0, 1}) {
    for (int64_t size : {32, 64}) b->Args({size, downsample, kImagesAt32, 0});
  }
  Common(b);
}

void GatherShapes(benchmark::internal::Benchmark* b) {
  for (int64_t size : {32, 64}) b->Args({size, 0, kImagesAt32, 0});
  Common(b);
}

// The batch's effect (cache- vs memory-resident tensors) and one thread.
void TrainShapes(benchmark::internal::Benchmark* b) {
  b->Args({32, 0, 1, 1})
      ->Args({32, 0, 4, 0})
      ->Args({32, 0, 64, 0})
      ->Args({32, 0, kImagesAt32, 1});
  Common(b);
}

BENCHMARK_CAPTURE(BM_Path, gather_f32, kGather, DType::kF32)
    ->Apply(GatherShapes);
BENCHMARK_CAPTURE(BM_Path, scatter_f32, kScatter, DType::kF32)
    ->Apply(GatherShapes);
BENCHMARK_CAPTURE(BM_Path, forward_f32, kForward, DType::kF32)->Apply(Shapes);
BENCHMARK_CAPTURE(BM_Path, backward_input_f32, kBackwardInput, DType::kF32)
    ->Apply(Shapes);
BENCHMARK_CAPTURE(BM_Path, backward_params_f32, kBackwardParams, DType::kF32)
    ->Apply(Shapes);
BENCHMARK_CAPTURE(BM_Path, train_step_f32, kTrainStep, DType::kF32)
    ->Apply(Shapes);
BENCHMARK_CAPTURE(BM_Path, train_step_f32_more, kTrainStep, DType::kF32)
    ->Apply(TrainShapes);
BENCHMARK_CAPTURE(BM_Path, forward_bf16, kForward, DType::kBF16)->Apply(Shapes);
BENCHMARK_CAPTURE(BM_Path, train_step_bf16, kTrainStep, DType::kBF16)
    ->Apply(Shapes);
BENCHMARK_CAPTURE(BM_Path, train_step_f64, kTrainStep, DType::kF64)
    ->Apply(GatherShapes);

}  // namespace
}  // namespace tapconv
