#include "tests/cpu/oriented_cpu_cases.h"

#include <initializer_list>

namespace tapconv::testing {
namespace {

using conformance::OrientedConfig;

constexpr double kPi = 3.14159265358979323846;

std::vector<double> Degrees(std::initializer_list<double> degrees) {
  std::vector<double> out;
  for (double d : degrees) out.push_back(d * kPi / 180.0);
  return out;
}

const std::vector<std::vector<double>>& AngleSets() {
  static const auto* sets = new std::vector<std::vector<double>>{
      Degrees({0, 22.5, 45, 67.5, 90, 112.5, 135, 157.5}),  // the models' 8
      {0.3, 1.1, 2.0, 3.9, -0.7, 5.5},                      // arbitrary radians
      Degrees({22.5, 45, 67.5}),        // duplicate taps under trunc
      Degrees({0}),                     // a 1xK conv
      {kPi / 2},                        // a Kx1 conv
      Degrees({112.5, 180, 270, 135}),  // mirrored and reversed lines
  };
  return *sets;
}

struct Size {
  int64_t h, w;
};

// Case i's batch, bias, residual, dilation and tap rule: cycles of coprime
// lengths, so that the options meet in many combinations.
void VaryOptions(int i, OrientedConfig* c) {
  c->batch = 1 + i % 2;
  c->bias = i % 4 != 3;
  c->args.residual = i % 5 == 1;
  c->args.dilation = i % 7 == 3 ? 2 : 1;
  c->args.tap_rule = i % 3 == 2 ? TapRule::kLine : TapRule::kTrunc;
}

}  // namespace

std::vector<OrientedConfig> CpuOrientedConfigs() {
  const std::vector<std::vector<double>>& angles = AngleSets();
  const DType dtypes[] = {DType::kF32, DType::kF64, DType::kBF16};
  const Layout layouts[] = {Layout::kNCHW, Layout::kNHWC};
  std::vector<OrientedConfig> out;

  // Every K x stride x layout x dtype; the other axes walk deterministically.
  const Size ragged[] = {{1, 1},  {1, 9},   {9, 1},   {2, 3},   {5, 7},
                         {9, 11}, {16, 16}, {17, 23}, {31, 29}, {40, 37}};
  const int64_t channel_counts[] = {5, 3, 20};
  int i = 0;
  for (int k : {1, 3, 7, 13, 15, 31}) {
    for (int64_t stride = 1; stride <= 3; ++stride) {
      for (Layout layout : layouts) {
        for (DType dtype : dtypes) {
          OrientedConfig c;
          c.taps = k;
          c.args.stride = stride;
          c.args.layout = layout;
          c.dtype = dtype;
          const Size size = ragged[i % 10];
          c.height = size.h;
          c.width = size.w;
          c.angles = angles[i % angles.size()];
          c.channels = channel_counts[i % 3];
          VaryOptions(i, &c);
          out.push_back(c);
          ++i;
        }
      }
    }
  }

  // Degenerate sizes: single pixels, rows and columns.
  const Size edges[] = {{1, 1},  {1, 9}, {9, 1}, {1, 40},
                        {40, 1}, {2, 2}, {3, 2}};
  for (const Size& size : edges) {
    for (int k : {1, 7, 31}) {
      for (int64_t stride = 1; stride <= 3; ++stride) {
        for (Layout layout : layouts) {
          OrientedConfig c;
          c.taps = k;
          c.height = size.h;
          c.width = size.w;
          c.args.stride = stride;
          c.args.layout = layout;
          c.dtype = dtypes[i % 3];
          c.angles = angles[i % 2];
          c.channels = 4;
          c.args.residual = i % 3 == 0;
          out.push_back(c);
          ++i;
        }
      }
    }
  }

  // Dilation.
  for (int64_t dilation : {2, 3, 5}) {
    for (int k : {3, 7, 15}) {
      for (int64_t stride = 1; stride <= 3; ++stride) {
        for (Layout layout : layouts) {
          OrientedConfig c;
          c.taps = k;
          c.height = 17;
          c.width = 23;
          c.args.dilation = dilation;
          c.args.stride = stride;
          c.args.layout = layout;
          c.dtype = dtypes[i % 3];
          c.angles = angles[1 + i % 2];
          c.args.tap_rule = i % 2 == 0 ? TapRule::kTrunc : TapRule::kLine;
          out.push_back(c);
          ++i;
        }
      }
    }
  }

  // Strides with many phases, strides beyond the image (one output row or
  // column) and strides near the int64 limit.
  const Size strided[] = {{9, 11}, {1, 1}, {40, 37}, {23, 5}};
  for (int64_t stride : {int64_t{4}, int64_t{7}, int64_t{1000},
                         int64_t{1} << 40, (int64_t{1} << 62) + 1}) {
    for (int k : {7, 31}) {
      for (Layout layout : layouts) {
        OrientedConfig c;
        c.taps = k;
        const Size size = strided[i % 4];
        c.height = size.h;
        c.width = size.w;
        c.args.stride = stride;
        c.args.layout = layout;
        c.dtype = dtypes[i % 3];
        c.angles = angles[i % angles.size()];
        c.args.dilation = i % 3 == 1 ? 3 : 1;
        c.channels = 18;
        out.push_back(c);
        ++i;
      }
    }
  }

  // Planes big enough for several row bands (NCHW: > 512 KB of scratch per
  // plane; NHWC: > 1 MB per group of 16 channels), per-channel angles.
  for (int64_t stride : {1, 2}) {
    OrientedConfig c;
    c.batch = 1;
    c.channels = 2;
    c.height = 420;
    c.width = 300;
    c.taps = 31;
    c.args.stride = stride;
    c.angles = {0.3, 1.9};
    c.args.residual = stride == 1;
    out.push_back(c);
    c.args.layout = Layout::kNHWC;
    c.channels = 18;
    c.height = 160;
    c.width = 170;
    c.angles = angles[0];
    c.dtype = stride == 1 ? DType::kF32 : DType::kBF16;
    out.push_back(c);
  }

  // Runs of channels of one angle, as the models assign them: the blocked
  // kernels (vectors over channels) where the instruction set has them.
  // Channel counts give full and partial vectors (20 = 16 + 4, 12 = 8 + 4, 3
  // per angle: too few to fill half a vector, so the plane kernels run).
  const Size block_sizes[] = {{1, 1}, {3, 2}, {9, 11}, {17, 23}, {40, 37}};
  const std::vector<double> models = angles[0];
  const std::vector<double> row_and_column = Degrees({22.5, 90});
  const struct {
    int64_t channels;
    const std::vector<double>* angles;
  } blocks[] = {{40, &row_and_column}, {96, &models}, {24, &models}};
  for (int k : {7, 15, 31}) {
    for (int64_t stride = 1; stride <= 3; ++stride) {
      for (Layout layout : layouts) {
        OrientedConfig c;
        c.taps = k;
        c.args.stride = stride;
        c.args.layout = layout;
        c.dtype = dtypes[i % 3];
        const Size size = block_sizes[i % 5];
        c.height = size.h;
        c.width = size.w;
        c.channels = blocks[(i / 2) % 3].channels;
        c.angles = *blocks[(i / 2) % 3].angles;
        c.angle_blocks = true;
        VaryOptions(i, &c);
        out.push_back(c);
        ++i;
      }
    }
  }
  // Planes large enough for several row bands of the blocked kernels, with
  // row and column tiles in one call.
  for (int64_t stride : {1, 2}) {
    for (Layout layout : layouts) {
      OrientedConfig c;
      c.batch = 2;
      c.channels = 32;
      c.height = 160;
      c.width = 170;
      c.taps = 31;
      c.args.stride = stride;
      c.args.layout = layout;
      c.angles = row_and_column;
      c.angle_blocks = true;
      out.push_back(c);
    }
  }

  // Few channels, larger batch: the weight gradient splits the batch.
  for (int64_t channels : {1, 3}) {
    for (Layout layout : layouts) {
      OrientedConfig c;
      c.batch = 9;
      c.channels = channels;
      c.height = 13;
      c.width = 11;
      c.taps = 7;
      c.args.layout = layout;
      c.angles = angles[0];
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace tapconv::testing
