#ifndef TAPCONV_TESTS_DCLS_DCLS_TEST_UTIL_H_
#define TAPCONV_TESTS_DCLS_DCLS_TEST_UTIL_H_

// Helpers for the DCLS and dense-conv tests: the six kernel layouts, random
// parameters that keep away from the interpolants' kinks, and independent
// naive implementations (full-box loops written from the formulas in
// docs/ops.md ("DCLS"), sharing no code with the library) used as oracles.

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "ops/conv_nd.h"
#include "ops/dcls.h"
#include "tests/host_tensor.h"

namespace tapconv::testing {

// A kernel layout: dense axes, then learnable axes.
struct DclsVariant {
  std::string name;
  SpatialDims dense, dilated;
};

// 1d, 2d, 3d, 2_1d, 3_1d, 3_2d, with some even sizes.
std::vector<DclsVariant> AllDclsVariants();

DclsArgs MakeDclsArgs(const DclsVariant& variant,
                      DclsInterpolation interpolation,
                      DclsAxisOrder order = DclsAxisOrder::kNatural);

std::string InterpolationName(DclsInterpolation interpolation);

// (C_out, C_in/g, *dense, K) and (M, C_out, C_in/g, *dense, K).
Dims DclsWeightShape(const DclsArgs& args, int64_t c_out,
                     int64_t c_in_per_group, int64_t kernel_count);
Dims DclsPositionShape(const DclsArgs& args, const Dims& weight_shape);

struct DclsParams {
  HostTensor weight, positions;
  std::optional<HostTensor> sigma;  // for gauss and triangle

  std::optional<TensorRef> sigma_ref() const;
  std::optional<std::vector<double>> sigma_values() const;
};

// Random weights, positions and (if the interpolation has one) SIG of either
// sign. With avoid_kinks, q stays >= 0.05 away from integers (bilinear,
// triangle), q +- sigma too and |SIG| >= 0.05 (triangle), so that central
// finite differences with small steps see a smooth function.
DclsParams RandomDclsParams(const DclsArgs& args, DType dtype, int64_t c_out,
                            int64_t c_in_per_group, int64_t kernel_count,
                            std::mt19937_64& rng, bool avoid_kinks);

// Same values in another dtype (rounded).
HostTensor Converted(const HostTensor& t, DType dtype);
DclsParams Converted(const DclsParams& p, DType dtype);

// The constructed kernel from the formulas, evaluating every interpolant on
// the whole box (bilinear as the hat function prod max(0, 1 - |x - q|)) and
// normalising by the whole-box sum.
std::vector<double> NaiveDclsKernel(
    const DclsArgs& args, const Dims& weight_shape,
    const std::vector<double>& weight, const std::vector<double>& positions,
    const std::optional<std::vector<double>>& sigma);

// Whole-box sum of one element's interpolant (before normalisation).
double NaiveElementMass(const DclsArgs& args, const std::vector<double>& q,
                        const std::vector<double>& sigma);

// The output shape of a convolution, and the convolution itself, by
// unravelling every index (bias may be empty).
Dims NaiveConvOutputShape(const ConvNdArgs& args, const Dims& x_shape,
                          const Dims& w_shape);
std::vector<double> NaiveConvNd(const ConvNdArgs& args, const Dims& x_shape,
                                const std::vector<double>& x,
                                const Dims& w_shape,
                                const std::vector<double>& w,
                                const std::vector<double>& bias);

// Per-axis value of a broadcast ConvNdArgs field.
int64_t AxisValue(const SpatialDims& values, int axis);

// max |v|, at least 1: scales absolute tolerances.
double Scale(const std::vector<double>& v);

}  // namespace tapconv::testing

#endif  // TAPCONV_TESTS_DCLS_DCLS_TEST_UTIL_H_
