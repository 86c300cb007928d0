#include "tests/cpu_path/path_cpu_cases.h"

#include <cstdint>

namespace tapconv::testing {
namespace {

using conformance::PathConfig;

constexpr DType kFloatTypes[] = {DType::kF32, DType::kF64, DType::kBF16};

PathSpec Spec(Curve curve, int64_t pad = 0, int64_t row = 0, int64_t col = 0,
              int rotation = 0) {
  return PathSpec{curve, pad, row, col, rotation};
}

// research note section 1.6: the Hilbert sets main.py uses.
std::vector<PathSpec> Hilbert32() {
  return {Spec(Curve::kHilbert), Spec(Curve::kHilbert, 24, 14, 1, 180),
          Spec(Curve::kHilbert, 18, 7, 0, 270)};
}
std::vector<PathSpec> Hilbert64() {
  return {Spec(Curve::kHilbert), Spec(Curve::kHilbert, 7, 7, 0, 180),
          Spec(Curve::kHilbert, 40, 13, 1, 0)};
}

PathConfig Make(int64_t h, int64_t w, std::vector<PathSpec> paths, int64_t m,
                int64_t k, int64_t stride, int64_t padding) {
  PathConfig c;
  c.height = h;
  c.width = w;
  c.paths = std::move(paths);
  c.multiplier = m;
  c.taps = k;
  c.args = PathConvArgs{stride, padding};
  return c;
}

}  // namespace

std::vector<PathConfig> CpuPathConfigs() {
  std::vector<PathConfig> all;
  // Every curve kind, plain and shifted / rotated.
  const Curve curves[] = {Curve::kRaster, Curve::kRow,     Curve::kSnake,
                          Curve::kColumn, Curve::kHilbert, Curve::kZOrder};
  for (Curve curve : curves) {
    all.push_back(Make(9, 7, {Spec(curve)}, 1, 5, 1, 2));
    all.push_back(Make(12, 12, {Spec(curve, 5, 3, 1, 90)}, 1, 5, 1, 2));
    all.push_back(Make(10, 13, {Spec(curve, 3, 1, 2, 180)}, 2, 3, 2, 1));
  }
  // 1, 3 and 6 paths.
  all.push_back(
      Make(16, 16, {Spec(Curve::kHilbert, 3, 2, 0, 270)}, 1, 9, 1, 4));
  all.push_back(Make(16, 16,
                     {Spec(Curve::kHilbert), Spec(Curve::kZOrder, 16, 6, 9, 0),
                      Spec(Curve::kSnake, 1, 1, 0, 180)},
                     2, 9, 2, 4));
  all.push_back(Make(
      11, 11,
      {Spec(Curve::kHilbert), Spec(Curve::kHilbert, 5, 4, 1, 180),
       Spec(Curve::kZOrder, 5, 2, 3, 90), Spec(Curve::kRaster),
       Spec(Curve::kColumn, 0, 0, 0, 270), Spec(Curve::kSnake, 2, 1, 1, 0)},
      1, 7, 1, 3));
  // Multiplier x stride x padding (0, K/2, beyond K) x K.
  for (int64_t m : {1, 2}) {
    for (int64_t stride : {1, 2, 3}) {
      for (int64_t k : {1, 4, 9, 31}) {
        for (int64_t padding : {int64_t{0}, k / 2, k + 2}) {
          all.push_back(
              Make(10, 11,
                   {Spec(Curve::kHilbert), Spec(Curve::kHilbert, 4, 3, 1, 180)},
                   m, k, stride, padding));
        }
      }
    }
  }
  // Every K from 1 to 31, "same" padding, and one with a lopsided padding.
  for (int64_t k = 1; k <= 31; ++k) {
    all.push_back(Make(8, 9, {Spec(Curve::kHilbert)}, 1, k, 1, k / 2));
    all.push_back(Make(8, 9, {Spec(Curve::kZOrder)}, 2, k, 2, (k + 1) / 3));
  }
  // Sizes: 1x1, 1xN, Nx1, odd, windows that read only padding.
  all.push_back(Make(1, 1, {Spec(Curve::kRaster)}, 1, 1, 1, 0));
  all.push_back(Make(1, 1, {Spec(Curve::kHilbert)}, 2, 3, 1, 1));
  all.push_back(
      Make(1, 1, {Spec(Curve::kHilbert), Spec(Curve::kZOrder)}, 1, 1, 3, 5));
  all.push_back(Make(1, 2, {Spec(Curve::kRow)}, 1, 2, 4, 7));
  all.push_back(
      Make(1, 17, {Spec(Curve::kRaster), Spec(Curve::kHilbert)}, 1, 5, 1, 2));
  all.push_back(
      Make(13, 1, {Spec(Curve::kColumn), Spec(Curve::kSnake)}, 2, 9, 2, 4));
  all.push_back(Make(7, 9, {Spec(Curve::kHilbert, 2, 1, 2, 0)}, 1, 31, 3, 30));
  // The target shapes, small in N and C.
  all.push_back(Make(32, 32, Hilbert32(), 1, 9, 1, 4));
  all.push_back(Make(32, 32, Hilbert32(), 2, 9, 2, 4));
  all.push_back(Make(64, 64, Hilbert64(), 1, 9, 1, 4));
  all.push_back(Make(64, 64, Hilbert64(), 2, 9, 2, 4));
  all.push_back(Make(32, 32,
                     {Spec(Curve::kZOrder, 32, 16, 26, 180),
                      Spec(Curve::kZOrder, 32, 14, 16, 0),
                      Spec(Curve::kZOrder, 32, 12, 20, 0)},
                     1, 11, 1, 5));

  // Spread dtypes, index types, bias, batch and channel counts over the rows;
  // the rows before the K sweep also run in every float type.
  std::vector<PathConfig> out;
  const int64_t channel_counts[] = {3, 1, 17, 20, 2};
  for (size_t i = 0; i < all.size(); ++i) {
    PathConfig c = all[i];
    c.index_dtype = i % 2 == 0 ? DType::kI64 : DType::kI32;
    c.bias = i % 3 != 2;
    const int64_t pixels = c.height * c.width;
    c.channels = pixels >= 1024 ? 2 : channel_counts[i % 5];
    c.batch = pixels >= 4096 ? 1 : 2;
    c.dtype = kFloatTypes[i % 3];
    out.push_back(c);
  }
  for (size_t i = 0; i < 18; ++i) {
    for (int j = 1; j < 3; ++j) {
      PathConfig c = out[i];
      c.dtype = kFloatTypes[(i + j) % 3];
      out.push_back(c);
    }
  }
  // An empty batch: the forward writes nothing, the gradients are zero.
  PathConfig empty = Make(5, 6, {Spec(Curve::kHilbert)}, 2, 3, 1, 1);
  empty.batch = 0;
  out.push_back(empty);
  return out;
}

std::vector<PathConfig> PathDeterminismConfigs() {
  std::vector<PathConfig> configs;
  PathConfig c = Make(32, 32, Hilbert32(), 1, 9, 1, 4);
  c.batch = 3;
  c.channels = 20;
  configs.push_back(c);
  c = Make(32, 32, Hilbert32(), 2, 9, 2, 4);
  c.batch = 2;
  c.channels = 24;
  c.dtype = DType::kBF16;
  configs.push_back(c);
  c = Make(17, 19, {Spec(Curve::kZOrder, 3, 1, 2, 0), Spec(Curve::kSnake)}, 2,
           13, 3, 8);
  c.batch = 5;
  c.channels = 7;
  c.dtype = DType::kF64;
  c.index_dtype = DType::kI32;
  configs.push_back(c);
  return configs;
}

}  // namespace tapconv::testing
