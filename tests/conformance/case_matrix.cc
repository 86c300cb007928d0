#include "tests/conformance/case_matrix.h"

#include <cmath>

namespace tapconv::conformance {
namespace {

constexpr double kPi = 3.14159265358979323846;

void Append(std::vector<OpCase>& all, std::vector<OpCase> more) {
  for (OpCase& c : more) all.push_back(std::move(c));
}

std::vector<double> Degrees(std::initializer_list<double> degrees) {
  std::vector<double> out;
  for (double d : degrees) out.push_back(d * kPi / 180.0);
  return out;
}

void OrientedMatrix(std::vector<OpCase>& all) {
  struct Size {
    int64_t h, w;
  };
  const std::vector<std::vector<double>> angle_sets = {
      Degrees({0}),                         // axis-aligned: a 1xK conv
      Degrees({90}),                        // a Kx1 conv
      Degrees({22.5, 67.5, 112.5, 157.5}),  // duplicate taps under trunc
      Degrees({0, 22.5, 45, 67.5, 90, 112.5, 135, 157.5}),  // the model's eight
      {0.3, 1.1, 2.7, -0.8, 4.0},                           // arbitrary radians
  };
  const Size sizes[] = {{1, 1}, {1, 9}, {7, 5}, {13, 10}, {14, 14}, {28, 28}};
  const int taps[] = {3, 7, 13, 15, 31};
  const DType dtypes[] = {DType::kF32, DType::kF64, DType::kBF16};
  int i = 0;
  for (int k : taps) {
    for (int64_t stride = 1; stride <= 3; ++stride) {
      for (const Size& size : sizes) {
        // A deterministic walk through the other axes instead of their full
        // product.
        OrientedConfig c;
        c.taps = k;
        c.height = size.h;
        c.width = size.w;
        c.channels = 5;
        c.batch = 2;
        c.args.stride = stride;
        c.angles = angle_sets[i % angle_sets.size()];
        c.args.layout = (i / 2) % 2 == 0 ? Layout::kNCHW : Layout::kNHWC;
        c.args.tap_rule = i % 3 == 2 ? TapRule::kLine : TapRule::kTrunc;
        c.args.dilation = i % 7 == 3 ? 2 : 1;
        c.args.residual = i % 5 == 1;
        c.bias = i % 4 != 3;
        c.dtype = dtypes[i % 3];
        Append(all, OrientedCases(c));
        ++i;
      }
    }
  }
  // Runs of channels of one angle, as the models assign them (what the cpu
  // backend's blocked kernels take): full and partial vectors of channels,
  // both layouts, strides 1 and 2.
  const std::vector<double> models = angle_sets[3];
  for (int k : {7, 31}) {
    for (int64_t stride = 1; stride <= 2; ++stride) {
      for (Layout layout : {Layout::kNCHW, Layout::kNHWC}) {
        OrientedConfig c;
        c.taps = k;
        c.height = 19;
        c.width = 22;
        c.channels = i % 2 == 0 ? 40 : 96;
        c.batch = 2;
        c.args.stride = stride;
        c.args.layout = layout;
        c.angles = c.channels == 40 ? Degrees({22.5, 90}) : models;
        c.angle_blocks = true;
        c.args.residual = i % 3 == 1;
        c.dtype = dtypes[i % 3];
        Append(all, OrientedCases(c));
        ++i;
      }
    }
  }
}

void ConvNdMatrix(std::vector<OpCase>& all) {
  std::vector<ConvNdConfig> configs;
  ConvNdConfig c;
  c.x_shape = {2, 4, 17};
  c.kernel = {5};
  c.args.padding = {2};
  configs.push_back(c);  // 1-D "same"
  c.x_shape = {2, 4, 9, 8};
  c.kernel = {3, 3};
  c.args = ConvNdArgs{{2}, {1}, {1}, 2};
  configs.push_back(c);  // strided, grouped
  c.out_channels = 4;
  c.kernel = {7, 7};
  c.args = ConvNdArgs{{1}, {3}, {1}, 4};
  configs.push_back(c);  // depthwise 7x7
  c.x_shape = {1, 6, 20, 19};
  c.out_channels = 6;
  c.kernel = {17, 17};
  c.args = ConvNdArgs{{1}, {8}, {1}, 6};
  configs.push_back(c);  // ConvNeXt-dcls depthwise 17x17
  c.x_shape = {2, 3, 11, 10};
  c.out_channels = 5;
  c.kernel = {3, 2};
  c.args = ConvNdArgs{{1, 2}, {2, 0}, {2, 1}, 1};
  configs.push_back(c);  // dense, dilated, anisotropic
  c.x_shape = {1, 2, 6, 5, 7};
  c.out_channels = 2;
  c.kernel = {3, 3, 3};
  c.args = ConvNdArgs{{1}, {1}, {1}, 2};
  configs.push_back(c);  // 3-D depthwise
  const DType dtypes[] = {DType::kF32, DType::kF64, DType::kBF16};
  int i = 0;
  for (ConvNdConfig& config : configs) {
    for (DType d : dtypes) {
      config.dtype = d;
      config.bias = i++ % 2 == 0;
      Append(all, ConvNdCases(config));
    }
  }
}

void DclsMatrix(std::vector<OpCase>& all) {
  struct Variant {
    SpatialDims dense, dilated;
  };
  const Variant variants[] = {
      {{}, {9}},  {{}, {7, 7}},  {{}, {5, 7}},  {{}, {5, 5, 5}},
      {{3}, {9}}, {{3, 2}, {7}}, {{3}, {5, 5}},
  };
  const DclsInterpolation interpolations[] = {DclsInterpolation::kBilinear,
                                              DclsInterpolation::kGauss,
                                              DclsInterpolation::kTriangle};
  int i = 0;
  for (const Variant& v : variants) {
    for (DclsInterpolation interpolation : interpolations) {
      DclsConfig c;
      c.args.dense_kernel_size = v.dense;
      c.args.dilated_kernel_size = v.dilated;
      c.args.interpolation = interpolation;
      c.args.axis_order =
          i % 4 == 1 ? DclsAxisOrder::kReversed : DclsAxisOrder::kNatural;
      c.dtype =
          i % 3 == 0 ? DType::kF64 : (i % 3 == 1 ? DType::kF32 : DType::kBF16);
      c.position_spread =
          v.dilated[0] / 2.0 + 0.7;  // some elements partly outside the box
      Append(all, DclsConstructCases(c));
      ++i;
    }
  }
  // The fused depthwise path (bilinear).
  struct Depthwise {
    Dims x;
    SpatialDims dilated;
    ConvNdArgs conv;
  };
  const Depthwise depthwise[] = {
      {{2, 3, 23}, {9}, ConvNdArgs{{1}, {4}, {1}, 3}},
      {{2, 4, 12, 10}, {7, 7}, ConvNdArgs{{1}, {3}, {1}, 4}},
      {{1, 4, 20, 21}, {17, 17}, ConvNdArgs{{1}, {8}, {1}, 4}},
      {{2, 3, 13, 11}, {5, 7}, ConvNdArgs{{2}, {2, 3}, {1}, 3}},
      {{1, 2, 7, 6, 6}, {3, 3, 3}, ConvNdArgs{{1}, {1}, {1}, 2}},
  };
  for (const Depthwise& d : depthwise) {
    for (DType dtype : {DType::kF32, DType::kF64}) {
      DclsDepthwiseConfig c;
      c.x_shape = d.x;
      c.args.dcls.dilated_kernel_size = d.dilated;
      c.args.conv = d.conv;
      c.kernel_count = 2 * static_cast<int64_t>(d.dilated[0]);
      c.position_spread = d.dilated[0] / 2.0;
      c.dtype = dtype;
      Append(all, DclsDepthwiseCases(c));
    }
  }
}

void PathMatrix(std::vector<OpCase>& all) {
  struct Setup {
    int64_t h, w;
    std::vector<PathSpec> paths;
    int64_t multiplier, taps, stride, padding;
  };
  const std::vector<Setup> setups = {
      {1, 1, {PathSpec{Curve::kRaster}}, 1, 1, 1, 0},
      {8, 8, {PathSpec{Curve::kHilbert}}, 1, 9, 1, 4},
      {8,
       7,
       {PathSpec{Curve::kHilbert}, PathSpec{Curve::kZOrder},
        PathSpec{Curve::kSnake}},
       1,
       5,
       1,
       2},
      {6, 9, {PathSpec{Curve::kColumn}, PathSpec{Curve::kRow}}, 2, 9, 2, 4},
      {16,
       16,
       {PathSpec{Curve::kHilbert}, PathSpec{Curve::kHilbert, 5, 4, 1, 180},
        PathSpec{Curve::kHilbert, 3, 0, 2, 270}},
       1,
       9,
       1,
       4},
      {12, 12, {PathSpec{Curve::kZOrder, 4, 2, 3, 90}}, 2, 3, 2, 0},
  };
  int i = 0;
  for (const Setup& s : setups) {
    for (DType dtype : {DType::kF32, DType::kF64, DType::kBF16}) {
      PathConfig c;
      c.height = s.h;
      c.width = s.w;
      c.paths = s.paths;
      c.multiplier = s.multiplier;
      c.taps = s.taps;
      c.args = PathConvArgs{s.stride, s.padding};
      c.dtype = dtype;
      c.index_dtype = i % 2 == 0 ? DType::kI64 : DType::kI32;
      c.bias = i % 3 != 2;
      Append(all, PathCases(c));
      ++i;
    }
  }
}

}  // namespace

std::vector<OpCase> ConformanceCases() {
  std::vector<OpCase> all;
  OrientedMatrix(all);
  ConvNdMatrix(all);
  DclsMatrix(all);
  PathMatrix(all);
  return all;
}

}  // namespace tapconv::conformance
