// The cpu backend's DCLS ops on the ConvNeXt-T-dcls depthwise layers: S = 17
// x 17, Kc = 34, bilinear, stride 1, padding 8, one layer per stage (C = 96 at
// 56^2, 192 at 28^2, 384 at 14^2, 768 at 7^2) with the batch scaled so every
// stage moves the same 1.2 M elements per activation tensor (N = 4 / 8 / 16 /
// 32), float32, all threads. Positions are drawn uniformly over the box
// (trained layers spread over it), so almost every element has 4 distinct
// taps; the `taps` counter reports the mean number of distinct cells per
// channel after merging.
//
//   construct, construct_backward   the dense kernel and its gradient (W, P)
//   conv_depthwise_fwd / _bwd       ConvNd with the dense 17x17 kernel (the
//                                   backend's choice; `impl` in the label)
//   construct_conv_fwd / _bwd       the two-step path: construct + ConvNd
//                                   (bwd: ConvNd dx and dW, construct backward)
//   fused_fwd / fused_bwd           DclsDepthwise*: the sparse tap path
//                                   (bwd: dx, dW, dP, dbias)
//
// Counters: GFLOP/s counts one multiply-add (2 flops) per output and tap
// actually computed (dense: 289 taps; fused: the merged taps), dense_GFLOP/s
// the dense 17x17 equivalent for every row, GB/s each activation tensor once.
//
//   ./bazelw run -c opt //bench:dcls_bench

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "backends/cpu/conv_nd_policy.h"
#include "benchmark/benchmark.h"
#include "ops/conv_nd.h"
#include "ops/dcls.h"
#include "tests/host_tensor.h"

namespace tapconv {
namespace {

using testing::HostTensor;

constexpr int64_t kSize = 17;
constexpr int64_t kKernelCount = 34;
constexpr int64_t kElementsPerTensor = 4 * 96 * 56 * 56;

enum Op {
  kConstruct,
  kConstructBackward,
  kConvForward,
  kConvBackward,
  kTwoStepForward,
  kTwoStepBackward,
  kFusedForward,
  kFusedBackward,
};

// A cheap deterministic fill in [lo, hi).
void Fill(HostTensor& t, uint64_t seed, double lo = -1.0, double hi = 1.0) {
  std::vector<double> v(t.numel());
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (double& x : v) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    x = lo + (hi - lo) * static_cast<double>(s >> 11) / 9007199254740992.0;
  }
  t.SetFromDoubles(v);
}

struct Layer {
  int64_t n, c, hw;
  DType dtype;
  DclsArgs dcls;
  DclsDepthwiseArgs depthwise;
  ConvNdArgs conv;
  HostTensor x, y, dy, dx, weight, positions, bias, kernel, dkernel, dweight,
      dpositions, dbias;

  Layer(int64_t channels, int64_t size, DType type)
      : n(kElementsPerTensor / (channels * size * size)),
        c(channels),
        hw(size),
        dtype(type),
        x(type, {n, c, hw, hw}),
        y(type, {n, c, hw, hw}),
        dy(type, {n, c, hw, hw}),
        dx(type, {n, c, hw, hw}),
        weight(type, {c, 1, kKernelCount}),
        positions(type, {2, c, 1, kKernelCount}),
        bias(type, {c}),
        kernel(type, {c, 1, kSize, kSize}),
        dkernel(type, {c, 1, kSize, kSize}),
        dweight(type, {c, 1, kKernelCount}),
        dpositions(type, {2, c, 1, kKernelCount}),
        dbias(type, {c}) {
    dcls.dilated_kernel_size = {kSize, kSize};
    conv.padding = {kSize / 2};
    conv.groups = c;
    depthwise.dcls = dcls;
    depthwise.conv = conv;
    Fill(x, 1);
    Fill(dy, 2);
    Fill(weight, 3, -0.1, 0.1);
    Fill(positions, 4, -kSize / 2, kSize / 2);
    Fill(bias, 5);
  }

  double Outputs() const { return static_cast<double>(n * c * hw * hw); }

  ConvNdShape Shape() const {
    ConvNdShape s;
    s.spatial_rank = 2;
    s.batch = n;
    s.in_channels = s.out_channels = s.groups = c;
    s.in = s.out = {hw, hw};
    s.kernel = {kSize, kSize};
    s.stride = s.dilation = {1, 1};
    s.padding = {kSize / 2, kSize / 2};
    return s;
  }

  // Mean distinct cells per channel, from the constructed kernel (a cell
  // with a non-zero coefficient; coincident corners are merged).
  double MeanTaps() {
    absl::Status status = ops::DclsConstructKernel(
        dcls, {weight.ref(), positions.ref(), std::nullopt, kernel.ref()});
    if (!status.ok()) return 0.0;
    int64_t nonzero = 0;
    for (double v : kernel.ToDoubles()) nonzero += v != 0.0;
    return static_cast<double>(nonzero) / static_cast<double>(c);
  }
};

absl::Status Run(Layer& l, Op op) {
  absl::Status s;
  switch (op) {
    case kConstruct:
      return ops::DclsConstructKernel(
          l.dcls,
          {l.weight.ref(), l.positions.ref(), std::nullopt, l.kernel.ref()});
    case kConstructBackward:
      return ops::DclsConstructKernelBackward(
          l.dcls,
          {l.dkernel.ref(), l.weight.ref(), l.positions.ref(), std::nullopt,
           l.dweight.ref(), l.dpositions.ref(), std::nullopt});
    case kConvForward:
      return ops::ConvNdForward(
          l.conv, {l.x.ref(), l.kernel.ref(), l.bias.ref(), l.y.ref()});
    case kConvBackward:
      s.Update(ops::ConvNdBackwardInput(
          l.conv, {l.dy.ref(), l.kernel.ref(), l.dx.ref()}));
      s.Update(ops::ConvNdBackwardParams(
          l.conv, {l.dy.ref(), l.x.ref(), l.dkernel.ref(), l.dbias.ref()}));
      return s;
    case kTwoStepForward:
      s.Update(Run(l, kConstruct));
      s.Update(Run(l, kConvForward));
      return s;
    case kTwoStepBackward:
      s.Update(Run(l, kConvBackward));
      s.Update(Run(l, kConstructBackward));
      return s;
    case kFusedForward:
      return ops::DclsDepthwiseForward(
          l.depthwise, {l.x.ref(), l.weight.ref(), l.positions.ref(),
                        l.bias.ref(), l.y.ref()});
    case kFusedBackward:
      s.Update(ops::DclsDepthwiseBackwardInput(
          l.depthwise,
          {l.dy.ref(), l.weight.ref(), l.positions.ref(), l.dx.ref()}));
      s.Update(ops::DclsDepthwiseBackwardParams(
          l.depthwise,
          {l.dy.ref(), l.x.ref(), l.weight.ref(), l.positions.ref(),
           l.dweight.ref(), l.dpositions.ref(), l.dbias.ref()}));
      return s;
  }
  return s;
}

std::string ConvImplLabel(const Layer& l, Op op) {
  const ConvNdShape s = l.Shape();
  if (op == kConvForward || op == kTwoStepForward) {
    return cpu::ConvImplName(cpu::OnednnConvOp::kForward, s, l.dtype, 0);
  }
  return absl::StrCat(
      "dx:", cpu::ConvImplName(cpu::OnednnConvOp::kBackwardData, s, l.dtype, 0),
      " dW:",
      cpu::ConvImplName(cpu::OnednnConvOp::kBackwardWeights, s, l.dtype, 0));
}

void BM_Dcls(benchmark::State& state, Op op, DType dtype) {
  Layer l(state.range(0), state.range(1), dtype);
  const double taps = l.MeanTaps();
  Fill(l.dkernel, 6);
  absl::Status status = Run(l, op);  // warm-up: pages, threads, primitives
  if (!status.ok()) {
    state.SkipWithError(status.ToString().c_str());
    return;
  }
  for (auto _ : state) {
    status = Run(l, op);
    benchmark::ClobberMemory();
  }
  if (!status.ok()) state.SkipWithError(status.ToString().c_str());

  const double dense = static_cast<double>(kSize * kSize);
  double passes = 0.0, per_output = 0.0, tensors = 0.0;
  switch (op) {
    case kConstruct:
    case kConstructBackward:
      break;
    case kConvForward:
    case kTwoStepForward:
      passes = 1, per_output = dense, tensors = 2;
      break;
    case kConvBackward:
    case kTwoStepBackward:
      passes = 2, per_output = dense, tensors = 4;
      break;
    case kFusedForward:
      passes = 1, per_output = taps, tensors = 2;
      break;
    case kFusedBackward:
      passes = 2, per_output = taps, tensors = 4;
      break;
  }
  if (passes > 0) {
    const double flops = passes * 2.0 * per_output * l.Outputs();
    state.counters["GFLOP/s"] = benchmark::Counter(
        flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
    state.counters["dense_GFLOP/s"] =
        benchmark::Counter(passes * 2.0 * dense * l.Outputs() * 1e-9,
                           benchmark::Counter::kIsIterationInvariantRate);
    state.counters["GB/s"] = benchmark::Counter(
        tensors * l.Outputs() * static_cast<double>(SizeOf(dtype)) * 1e-9,
        benchmark::Counter::kIsIterationInvariantRate);
  }
  state.counters["N"] = static_cast<double>(l.n);
  state.counters["taps"] = taps;
  if (op == kConvForward || op == kConvBackward || op == kTwoStepForward ||
      op == kTwoStepBackward) {
    state.SetLabel(ConvImplLabel(l, op));
  }
}

void Stages(benchmark::internal::Benchmark* b) {
  b->Args({96, 56})->Args({192, 28})->Args({384, 14})->Args({768, 7});
  b->ArgNames({"C", "HW"})->Unit(benchmark::kMillisecond)->UseRealTime();
}

BENCHMARK_CAPTURE(BM_Dcls, construct, kConstruct, DType::kF32)->Apply(Stages);
BENCHMARK_CAPTURE(BM_Dcls, construct_backward, kConstructBackward, DType::kF32)
    ->Apply(Stages);
BENCHMARK_CAPTURE(BM_Dcls, conv_depthwise_fwd, kConvForward, DType::kF32)
    ->Apply(Stages);
BENCHMARK_CAPTURE(BM_Dcls, conv_depthwise_bwd, kConvBackward, DType::kF32)
    ->Apply(Stages);
BENCHMARK_CAPTURE(BM_Dcls, construct_conv_fwd, kTwoStepForward, DType::kF32)
    ->Apply(Stages);
BENCHMARK_CAPTURE(BM_Dcls, construct_conv_bwd, kTwoStepBackward, DType::kF32)
    ->Apply(Stages);
BENCHMARK_CAPTURE(BM_Dcls, fused_fwd, kFusedForward, DType::kF32)
    ->Apply(Stages);
BENCHMARK_CAPTURE(BM_Dcls, fused_bwd, kFusedBackward, DType::kF32)
    ->Apply(Stages);
BENCHMARK_CAPTURE(BM_Dcls, fused_fwd_bf16, kFusedForward, DType::kBF16)
    ->Apply(Stages);
BENCHMARK_CAPTURE(BM_Dcls, fused_bwd_bf16, kFusedBackward, DType::kBF16)
    ->Apply(Stages);

}  // namespace
}  // namespace tapconv
