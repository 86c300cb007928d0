#include "tests/gpu_emulation/gpu_extra_cases.h"

#include <cmath>
#include <utility>

namespace tapconv::conformance {
namespace {

constexpr double kPi = 3.14159265358979323846;

void Append(std::vector<OpCase>& all, std::vector<OpCase> more) {
  for (OpCase& c : more) all.push_back(std::move(c));
}

void OrientedExtra(std::vector<OpCase>& all) {
  const std::vector<double> mixed = {
      0.0, kPi / 8, kPi / 4, 3 * kPi / 8, kPi / 2,
      0.3, 2.7,     -0.8,    5 * kPi / 8, 3 * kPi / 4};
  // The stem of the detection backbones: 1344 x 1344, K = 31, stride 2. Large
  // enough that a full-width row band (upstream's tile) would exceed shared
  // memory on every GPU.
  {
    OrientedConfig c;
    c.batch = 1;
    c.channels = 2;
    c.height = c.width = 1344;
    c.taps = 31;
    c.args.stride = 2;
    c.angles = {kPi / 4, 0.3};
    Append(all, OrientedCases(c));
  }
  struct Shape {
    int64_t n, c, h, w, k, s, d;
    Layout layout;
    TapRule rule;
    DType dtype;
    bool residual;
  };
  const Shape shapes[] = {
      // Ragged sizes and every stride of the phase-split backward (1..4) and
      // beyond it (direct).
      {2, 3, 100, 173, 15, 1, 1, Layout::kNCHW, TapRule::kTrunc, DType::kF32,
       false},
      {2, 3, 100, 173, 15, 2, 1, Layout::kNCHW, TapRule::kLine, DType::kF32,
       true},
      {1, 4, 67, 45, 7, 3, 2, Layout::kNCHW, TapRule::kTrunc, DType::kF16,
       false},
      {1, 4, 67, 45, 9, 4, 1, Layout::kNCHW, TapRule::kLine, DType::kBF16,
       false},
      {1, 3, 37, 41, 11, 5, 1, Layout::kNCHW, TapRule::kTrunc, DType::kF32,
       true},
      {1, 3, 37, 41, 5, 9, 1, Layout::kNCHW, TapRule::kTrunc, DType::kF32,
       false},
      // Channels last with many channels (channel-parallel threads).
      {2, 37, 23, 19, 13, 1, 1, Layout::kNHWC, TapRule::kTrunc, DType::kF32,
       true},
      {1, 40, 30, 31, 7, 2, 1, Layout::kNHWC, TapRule::kLine, DType::kF16,
       false},
      // Long kernels: K = 101, and K = 255 with dilation 3 (tiles shrink or
      // give way to the direct kernels on small shared memory).
      {1, 2, 64, 80, 101, 1, 1, Layout::kNCHW, TapRule::kTrunc, DType::kF32,
       false},
      {1, 2, 50, 60, 255, 2, 3, Layout::kNCHW, TapRule::kLine, DType::kF32,
       false},
      // K = 1, one channel, a wide single row and a tall single column.
      {3, 1, 1, 517, 1, 1, 1, Layout::kNCHW, TapRule::kTrunc, DType::kF32,
       true},
      {3, 1, 300, 1, 31, 2, 1, Layout::kNCHW, TapRule::kTrunc, DType::kF64,
       false},
      // Whole-plane tiles of the seed's benchmark sizes.
      {2, 8, 56, 56, 31, 1, 1, Layout::kNCHW, TapRule::kTrunc, DType::kF32,
       false},
      {2, 8, 14, 14, 7, 1, 1, Layout::kNCHW, TapRule::kTrunc, DType::kBF16,
       false},
  };
  int i = 0;
  for (const Shape& s : shapes) {
    OrientedConfig c;
    c.batch = s.n;
    c.channels = s.c;
    c.height = s.h;
    c.width = s.w;
    c.taps = s.k;
    c.args.stride = s.s;
    c.args.dilation = s.d;
    c.args.layout = s.layout;
    c.args.tap_rule = s.rule;
    c.args.residual = s.residual;
    c.dtype = s.dtype;
    c.bias = i % 2 == 0;
    c.angles = mixed;
    Append(all, OrientedCases(c));
    ++i;
  }
}

void ConvExtra(std::vector<OpCase>& all) {
  ConvNdConfig c;
  c.x_shape = {2, 6, 9, 10, 7};
  c.out_channels = 4;
  c.kernel = {3, 2, 3};
  c.args = ConvNdArgs{{1, 2, 1}, {1, 0, 2}, {1, 1, 2}, 2};
  c.dtype = DType::kF16;
  Append(all, ConvNdCases(c));  // 3-D, grouped, anisotropic
  c.x_shape = {3, 8, 31};
  c.out_channels = 8;
  c.kernel = {31};
  c.args = ConvNdArgs{{1}, {15}, {1}, 8};
  c.dtype = DType::kF32;
  Append(all, ConvNdCases(c));  // depthwise 1-D, a path conv's conv1d
  c.x_shape = {2, 5, 40, 33};
  c.out_channels = 7;
  c.kernel = {5, 5};
  c.args = ConvNdArgs{{3, 2}, {2}, {1}, 1};
  c.dtype = DType::kBF16;
  Append(all, ConvNdCases(c));  // dense, strided
}

void DclsExtra(std::vector<OpCase>& all) {
  // A large box with every interpolation (dense gauss support).
  for (DclsInterpolation interpolation :
       {DclsInterpolation::kBilinear, DclsInterpolation::kGauss,
        DclsInterpolation::kTriangle}) {
    DclsConfig c;
    c.args.dilated_kernel_size = {23, 17};
    c.args.interpolation = interpolation;
    c.out_channels = 4;
    c.in_per_group = 3;
    c.kernel_count = 9;
    c.position_spread = 12.0;
    c.dtype = DType::kF32;
    Append(all, DclsConstructCases(c));
  }
  struct Depthwise {
    Dims x;
    SpatialDims dense, dilated;
    ConvNdArgs conv;
    DType dtype;
  };
  const Depthwise depthwise[] = {
      {{2, 5, 41, 38},
       {},
       {23, 23},
       ConvNdArgs{{2}, {11}, {1}, 5},
       DType::kF32},
      {{1, 3, 30, 29},
       {},
       {7, 9},
       ConvNdArgs{{1}, {6, 8}, {2}, 3},
       DType::kF16},
      {{2, 3, 9, 40}, {3}, {11}, ConvNdArgs{{1}, {1, 5}, {1}, 3}, DType::kF32},
      {{1, 2, 8, 9, 10},
       {2},
       {3, 5},
       ConvNdArgs{{2, 1, 1}, {1, 1, 2}, {1}, 2},
       DType::kF64},
  };
  for (const Depthwise& d : depthwise) {
    DclsDepthwiseConfig c;
    c.x_shape = d.x;
    c.args.dcls.dense_kernel_size = d.dense;
    c.args.dcls.dilated_kernel_size = d.dilated;
    c.args.conv = d.conv;
    c.kernel_count = 7;
    c.position_spread = d.dilated[0] / 2.0 + 0.5;
    c.dtype = d.dtype;
    Append(all, DclsDepthwiseCases(c));
  }
}

void PathExtra(std::vector<OpCase>& all) {
  {
    // A long kernel (direct kernels on small shared memory), multiplier 3.
    PathConfig c;
    c.height = 40;
    c.width = 37;
    c.paths = {PathSpec{Curve::kHilbert}, PathSpec{Curve::kSnake}};
    c.multiplier = 3;
    c.taps = 601;
    c.args = PathConvArgs{3, 300};
    c.dtype = DType::kF32;
    c.index_dtype = DType::kI32;
    Append(all, PathCases(c));
  }
  {
    // A large stride (no sharing between outputs) and f16.
    PathConfig c;
    c.height = 21;
    c.width = 19;
    c.paths = {PathSpec{Curve::kZOrder}, PathSpec{Curve::kColumn},
               PathSpec{Curve::kRow}};
    c.multiplier = 2;
    c.taps = 5;
    c.args = PathConvArgs{23, 2};
    c.dtype = DType::kF16;
    Append(all, PathCases(c));
  }
  {
    // Many outputs per tile.
    PathConfig c;
    c.batch = 3;
    c.channels = 4;
    c.height = 64;
    c.width = 48;
    c.paths = {PathSpec{Curve::kHilbert, 7, 3, 2, 180}};
    c.taps = 9;
    c.args = PathConvArgs{2, 4};
    c.dtype = DType::kBF16;
    Append(all, PathCases(c));
  }
}

}  // namespace

std::vector<OpCase> GpuExtraCases() {
  std::vector<OpCase> all;
  OrientedExtra(all);
  ConvExtra(all);
  DclsExtra(all);
  PathExtra(all);
  return all;
}

}  // namespace tapconv::conformance
