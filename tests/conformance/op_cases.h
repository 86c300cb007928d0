#ifndef TAPCONV_TESTS_CONFORMANCE_OP_CASES_H_
#define TAPCONV_TESTS_CONFORMANCE_OP_CASES_H_

// Op invocations that can be replayed on any backend: each case generates its
// inputs from a fixed seed (so every backend sees identical data), runs one op
// through the ops:: entry point with the ExecContext it is given, and returns
// the outputs as doubles. The conformance suite runs each case on every
// available backend and on the reference, and compares; the demo does the same
// on one small case per op.

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "ops/conv_nd.h"
#include "ops/dcls.h"
#include "ops/exec_context.h"
#include "ops/geometry/paths.h"
#include "ops/oriented_conv.h"
#include "ops/path_conv.h"

namespace tapconv::conformance {

using Outputs = std::vector<std::pair<std::string, std::vector<double>>>;

struct OpCase {
  std::string op;      // "oriented.forward", "dcls.construct_backward", ...
  std::string config;  // the parameters, human-readable
  DType dtype;
  // Longest sum an output entry is made of: scales the comparison tolerance.
  int64_t reduction_length;
  std::function<absl::StatusOr<Outputs>(const ExecContext& ctx)> run;
};

struct OrientedConfig {
  int64_t batch = 2, channels = 4, height = 9, width = 11, taps = 7;
  OrientedConvArgs args;
  // Angles (radians) cycled over the channels, or with angle_blocks given to
  // contiguous channel blocks as the models do: channel c gets angle
  // floor((A (c + 1) - 1) / C) of the A angles.
  std::vector<double> angles = {0.0, 0.3926991, 0.7853982, 1.5707964};
  bool angle_blocks = false;
  bool bias = true;
  DType dtype = DType::kF32;
};
// forward, backward_input, backward_params.
std::vector<OpCase> OrientedCases(const OrientedConfig& config);

struct ConvNdConfig {
  Dims x_shape = {2, 4, 9, 8};  // (N, C_in, *spatial)
  int64_t out_channels = 4;
  SpatialDims kernel = {3, 3};
  ConvNdArgs args;
  bool bias = true;
  DType dtype = DType::kF32;
};
std::vector<OpCase> ConvNdCases(const ConvNdConfig& config);

struct DclsConfig {
  DclsArgs args;
  int64_t out_channels = 3, in_per_group = 2, kernel_count = 5;
  double position_spread = 2.5;  // positions drawn from U(-spread, spread)
  DType dtype = DType::kF32;
};
// construct, construct_backward.
std::vector<OpCase> DclsConstructCases(const DclsConfig& config);

struct DclsDepthwiseConfig {
  DclsDepthwiseArgs args;
  Dims x_shape = {2, 4, 12, 10};  // (N, C, *spatial)
  int64_t kernel_count = 6;
  double position_spread = 3.0;
  bool bias = true;
  DType dtype = DType::kF32;
};
// forward, backward_input, backward_params.
std::vector<OpCase> DclsDepthwiseCases(const DclsDepthwiseConfig& config);

struct PathConfig {
  int64_t batch = 2, channels = 3, height = 8, width = 7;
  std::vector<PathSpec> paths = {PathSpec{Curve::kHilbert},
                                 PathSpec{Curve::kRaster}};
  int64_t multiplier = 1, taps = 5;
  PathConvArgs args{1, 2};
  bool bias = true;
  DType dtype = DType::kF32;
  DType index_dtype = DType::kI64;
};
// gather, scatter, conv_forward, conv_backward_input, conv_backward_params.
std::vector<OpCase> PathCases(const PathConfig& config);

// One small case of every op: what //:demo shows.
std::vector<OpCase> DemoCases();

// Largest |actual - expected| / (1 + |expected|) over all outputs; +inf on a
// size mismatch or a NaN.
double MaxScaledError(const Outputs& actual, const Outputs& expected);

}  // namespace tapconv::conformance

#endif  // TAPCONV_TESTS_CONFORMANCE_OP_CASES_H_
