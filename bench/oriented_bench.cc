// The cpu backend's oriented conv on the paper's Table-5 shapes (C = 512,
// 14^2 / 28^2 / 56^2, K = 7 / 31, stride 1, NCHW, float32), plus 7^2 (the
// models' last stage), bfloat16 and channels-last at 56^2, with the batch
// scaled so that every shape moves the same 6.4 M elements per tensor (N = 256
// / 64 / 16 / 4 at 7^2 / 14^2 / 28^2 / 56^2; Table 5 used N = 64 throughout).
// Channels carry the models' eight angles in contiguous blocks. Counters:
// GFLOP/s counts 2*K multiply-adds per output element (duplicate taps
// included, as a dense 1xK conv would), GB/s the minimum traffic (each input
// and output tensor once).
//
//   ./bazelw run -c opt //bench:oriented_bench

#include <cstdint>
#include <optional>
#include <vector>

#include "benchmark/benchmark.h"
#include "ops/float16.h"
#include "ops/oriented_conv.h"
#include "tests/host_tensor.h"

namespace tapconv {
namespace {

using testing::HostTensor;

constexpr double kPi = 3.14159265358979323846;
constexpr int64_t kChannels = 512;
constexpr int64_t kElementsPerTensor = 64 * 14 * 14 * kChannels;

enum Op { kForward, kBackwardInput, kBackwardParams, kTrainStep };

// A cheap deterministic fill in [-1, 1): the tensors are large, and the values
// do not matter for timing.
void Fill(HostTensor& t, uint64_t seed) {
  std::vector<double> v(t.numel());
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (double& x : v) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    x = static_cast<double>(s >> 11) * (2.0 / 9007199254740992.0) - 1.0;
  }
  t.SetFromDoubles(v);
}

struct Problem {
  int64_t n, c, h, w, k;
  HostTensor x, y, dy, dx, weight, theta, bias, dweight, dbias;
  OrientedConvArgs args;

  Problem(int64_t size, int64_t taps, DType dtype, Layout layout)
      : n(kElementsPerTensor / (kChannels * size * size)),
        c(kChannels),
        h(size),
        w(size),
        k(taps),
        x(dtype, Activation(layout)),
        y(dtype, Activation(layout)),
        dy(dtype, Activation(layout)),
        dx(dtype, Activation(layout)),
        weight(dtype, {c, 1, 1, k}),
        theta(DType::kF32, {c}),
        bias(dtype, {c}),
        dweight(dtype, {c, 1, 1, k}),
        dbias(dtype, {c}) {
    Fill(x, 1);
    Fill(dy, 2);
    Fill(weight, 3);
    Fill(bias, 4);
    // The models' assignment: group floor((8 (c + 1) - 1) / C) gets angle
    // pi * group / 8.
    for (int64_t i = 0; i < c; ++i)
      theta.Set(i, kPi * static_cast<double>((8 * (i + 1) - 1) / c) / 8.0);
  }

  double OutputElements() const { return static_cast<double>(n * c * h * w); }

 private:
  // Called while the members above are still being initialised: reads only
  // n, c, h and w, which are declared (and so initialised) before the tensors.
  Dims Activation(Layout layout) const {
    return layout == Layout::kNCHW ? Dims{n, c, h, w} : Dims{n, h, w, c};
  }
};

void RunOp(Problem& p, Op op, benchmark::State& state) {
  absl::Status status;
  if (op == kForward || op == kTrainStep) {
    status.Update(ops::OrientedConv2dForward(
        p.args,
        {p.x.ref(), p.weight.ref(), p.theta.ref(), p.bias.ref(), p.y.ref()}));
  }
  if (op == kBackwardInput || op == kTrainStep) {
    status.Update(ops::OrientedConv2dBackwardInput(
        p.args, {p.dy.ref(), p.weight.ref(), p.theta.ref(), p.dx.ref()}));
  }
  if (op == kBackwardParams || op == kTrainStep) {
    status.Update(ops::OrientedConv2dBackwardParams(
        p.args, {p.dy.ref(), p.x.ref(), p.theta.ref(), p.dweight.ref(),
                 p.dbias.ref()}));
  }
  if (!status.ok()) state.SkipWithError(status.ToString().c_str());
}

void BM_Oriented(benchmark::State& state, Op op, DType dtype,
                 Layout layout = Layout::kNCHW) {
  Problem p(state.range(0), state.range(1), dtype, layout);
  p.args.layout = layout;
  RunOp(p, op, state);  // warm-up: pages, thread pool, caches
  for (auto _ : state) {
    RunOp(p, op, state);
    benchmark::ClobberMemory();
  }
  const double passes = op == kTrainStep ? 3.0 : 1.0;
  const double flops =
      passes * 2.0 * static_cast<double>(p.k) * p.OutputElements();
  // Each pass reads one tensor and writes or reads another.
  const double bytes =
      passes * 2.0 * p.OutputElements() * static_cast<double>(SizeOf(dtype));
  state.counters["GFLOP/s"] = benchmark::Counter(
      flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GB/s"] = benchmark::Counter(
      bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["N"] = static_cast<double>(p.n);
}

void Shapes(benchmark::internal::Benchmark* b) {
  for (int64_t k : {7, 31}) {
    for (int64_t size : {7, 14, 28, 56}) b->Args({size, k});
  }
  b->ArgNames({"HW", "K"})->Unit(benchmark::kMillisecond)->UseRealTime();
}

// The largest plane, for the bfloat16 and channels-last variants.
void LargestPlaneShapes(benchmark::internal::Benchmark* b) {
  for (int64_t k : {7, 31}) b->Args({56, k});
  b->ArgNames({"HW", "K"})->Unit(benchmark::kMillisecond)->UseRealTime();
}

BENCHMARK_CAPTURE(BM_Oriented, forward_f32, kForward, DType::kF32)
    ->Apply(Shapes);
BENCHMARK_CAPTURE(BM_Oriented, backward_input_f32, kBackwardInput, DType::kF32)
    ->Apply(Shapes);
BENCHMARK_CAPTURE(BM_Oriented, backward_params_f32, kBackwardParams,
                  DType::kF32)
    ->Apply(Shapes);
BENCHMARK_CAPTURE(BM_Oriented, train_step_f32, kTrainStep, DType::kF32)
    ->Apply(Shapes);
BENCHMARK_CAPTURE(BM_Oriented, forward_bf16, kForward, DType::kBF16)
    ->Apply(LargestPlaneShapes);
BENCHMARK_CAPTURE(BM_Oriented, train_step_bf16, kTrainStep, DType::kBF16)
    ->Apply(LargestPlaneShapes);
BENCHMARK_CAPTURE(BM_Oriented, forward_f32_nhwc, kForward, DType::kF32,
                  Layout::kNHWC)
    ->Apply(LargestPlaneShapes);
BENCHMARK_CAPTURE(BM_Oriented, train_step_f32_nhwc, kTrainStep, DType::kF32,
                  Layout::kNHWC)
    ->Apply(LargestPlaneShapes);

}  // namespace
}  // namespace tapconv
