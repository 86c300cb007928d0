#include "tests/cpu_dcls/cpu_dcls_cases.h"

#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"

namespace tapconv::testing {
namespace {

using conformance::ConvNdConfig;
using conformance::DclsConfig;
using conformance::DclsDepthwiseConfig;

ConvNdConfig Conv(Dims x, int64_t out_channels, SpatialDims kernel,
                  SpatialDims stride, SpatialDims padding, SpatialDims dilation,
                  int64_t groups) {
  ConvNdConfig c;
  c.x_shape = x;
  c.out_channels = out_channels;
  c.kernel = kernel;
  c.args.stride = stride;
  c.args.padding = padding;
  c.args.dilation = dilation;
  c.args.groups = groups;
  return c;
}

DclsArgs Variant(SpatialDims dense, SpatialDims dilated) {
  DclsArgs a;
  a.dense_kernel_size = dense;
  a.dilated_kernel_size = dilated;
  return a;
}

}  // namespace

std::vector<ConvNdConfig> CpuConvNdConfigs() {
  const std::vector<ConvNdConfig> shapes = {
      Conv({2, 6, 23}, 4, {5}, {1}, {2}, {1}, 1),
      Conv({2, 6, 40}, 6, {3}, {2}, {1}, {3}, 2),
      Conv({2, 8, 50}, 8, {31}, {1}, {15}, {1}, 8),
      Conv({2, 8, 9, 11}, 16, {3, 3}, {1}, {1}, {1}, 1),
      Conv({2, 3, 13, 11}, 8, {5, 5}, {2}, {2}, {1}, 1),
      Conv({2, 8, 12, 10}, 8, {3, 3}, {1, 2}, {2, 1}, {2, 1}, 4),
      Conv({2, 6, 20, 21}, 6, {17, 17}, {1}, {8}, {1}, 6),
      Conv({1, 4, 15, 14}, 8, {7, 7}, {2}, {3}, {1}, 4),
      Conv({2, 4, 20, 19}, 4, {5, 5}, {3}, {0}, {1}, 4),
      Conv({2, 16, 7, 7}, 32, {1, 1}, {1}, {0}, {1}, 1),
      Conv({2, 4, 6, 7, 8}, 6, {3, 3, 3}, {1}, {1}, {1}, 1),
      Conv({1, 4, 7, 6, 9}, 4, {3, 2, 3}, {2, 1, 2}, {1, 0, 1}, {1}, 2),
      Conv({1, 4, 8, 9, 10}, 4, {5, 5, 5}, {1}, {2}, {1}, 4),
  };
  std::vector<ConvNdConfig> out;
  int i = 0;
  for (const ConvNdConfig& shape : shapes) {
    for (DType dtype : {DType::kF32, DType::kF64, DType::kBF16}) {
      ConvNdConfig c = shape;
      c.dtype = dtype;
      c.bias = (i++ % 2) == 0;
      out.push_back(c);
    }
  }
  return out;
}

std::vector<DclsConfig> CpuDclsConstructConfigs() {
  const std::vector<DclsArgs> variants = {
      Variant({}, {7}),      Variant({}, {5, 8}),  Variant({}, {3, 5, 4}),
      Variant({3}, {6}),     Variant({2, 3}, {5}), Variant({3}, {5, 3}),
      Variant({}, {17, 17}),
  };
  const DType dtypes[] = {DType::kF32, DType::kF64, DType::kBF16, DType::kF16};
  std::vector<DclsConfig> out;
  int i = 0;
  for (const DclsArgs& variant : variants) {
    for (DclsInterpolation interpolation :
         {DclsInterpolation::kBilinear, DclsInterpolation::kGauss,
          DclsInterpolation::kTriangle}) {
      for (DclsAxisOrder order :
           {DclsAxisOrder::kNatural, DclsAxisOrder::kReversed}) {
        DclsConfig c;
        c.args = variant;
        c.args.interpolation = interpolation;
        c.args.axis_order = order;
        c.out_channels = 3;
        c.in_per_group = 2;
        c.kernel_count = variant.dilated_kernel_size[0] == 17 ? 34 : 5;
        c.position_spread = variant.dilated_kernel_size[0] * 0.6;
        c.dtype = DType::kF32;
        out.push_back(c);
        c.dtype = dtypes[i++ % 4];
        if (c.dtype != DType::kF32) out.push_back(c);
      }
    }
  }
  return out;
}

std::vector<DclsDepthwiseConfig> CpuDclsDepthwiseConfigs() {
  struct Shape {
    Dims x;
    SpatialDims dense, dilated;
    int64_t kernel_count;
    SpatialDims stride, padding, dilation;
    double spread;
  };
  const std::vector<Shape> shapes = {
      {{2, 4, 30}, {}, {9}, 5, {1}, {4}, {1}, 3.0},
      {{2, 3, 41}, {}, {11}, 4, {3}, {2}, {1}, 7.0},
      {{2, 4, 20, 21}, {}, {17, 17}, 34, {1}, {8}, {1}, 8.0},
      {{2, 3, 13, 11}, {}, {5, 7}, 6, {2, 1}, {2, 3}, {1}, 3.0},
      {{2, 3, 16, 15}, {}, {5, 5}, 3, {1}, {4}, {2}, 2.5},
      {{1, 2, 12, 12}, {}, {7, 7}, 12, {1}, {3}, {1}, 6.0},
      {{2, 3, 14, 13}, {}, {6, 4}, 5, {3, 2}, {1, 0}, {1}, 3.0},
      {{1, 2, 7, 6, 6}, {}, {3, 3, 3}, 4, {1}, {1}, {1}, 1.5},
      {{1, 2, 9, 8, 7}, {}, {3, 5, 3}, 3, {2}, {1}, {1}, 2.5},
      {{2, 3, 10, 12}, {3}, {7}, 4, {1}, {1, 3}, {1}, 4.0},
      {{1, 2, 6, 7, 9}, {2, 3}, {5}, 3, {1}, {0, 1, 2}, {1}, 3.0},
      {{1, 2, 6, 8, 7}, {3}, {5, 3}, 3, {1, 2, 1}, {1}, {1}, 3.0},
  };
  std::vector<DclsDepthwiseConfig> out;
  int i = 0;
  for (const Shape& s : shapes) {
    for (DType dtype : {DType::kF32, DType::kF64, DType::kBF16}) {
      DclsDepthwiseConfig c;
      c.x_shape = s.x;
      c.args.dcls = Variant(s.dense, s.dilated);
      c.args.dcls.axis_order =
          (i % 4 == 3) ? DclsAxisOrder::kReversed : DclsAxisOrder::kNatural;
      c.args.conv.stride = s.stride;
      c.args.conv.padding = s.padding;
      c.args.conv.dilation = s.dilation;
      c.args.conv.groups = s.x[1];
      c.kernel_count = s.kernel_count;
      c.position_spread = s.spread;
      c.bias = (i++ % 2) == 0;
      c.dtype = dtype;
      out.push_back(c);
    }
  }
  return out;
}

ExecContext CpuContext(int threads) {
  ExecContext ctx;
  ctx.backend = "cpu";
  ctx.num_threads = threads;
  return ctx;
}

bool BitwiseEqual(const conformance::Outputs& a,
                  const conformance::Outputs& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const std::vector<double>& x = a[i].second;
    const std::vector<double>& y = b[i].second;
    if (a[i].first != b[i].first || x.size() != y.size()) return false;
    if (!x.empty() &&
        std::memcmp(x.data(), y.data(), x.size() * sizeof(double)) != 0) {
      return false;
    }
  }
  return true;
}

std::string TestName(const conformance::OpCase& c, size_t index) {
  std::string op = c.op;
  for (char& ch : op) {
    if (ch == '.') ch = '_';
  }
  return absl::StrCat(op, "_", DTypeName(c.dtype), "_", index);
}

}  // namespace tapconv::testing
