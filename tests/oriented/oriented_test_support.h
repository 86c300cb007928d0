#ifndef TAPCONV_TESTS_ORIENTED_ORIENTED_TEST_SUPPORT_H_
#define TAPCONV_TESTS_ORIENTED_ORIENTED_TEST_SUPPORT_H_

// What the oriented conv tests share: running the three ops (and the dense conv
// oracle) on the reference backend with caller-owned outputs, an independent
// gather written from the tap table, and layout transposes.

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "ops/conv_nd.h"
#include "ops/exec_context.h"
#include "ops/oriented_conv.h"
#include "tests/test_util.h"

namespace tapconv::testing {

inline constexpr double kPi = 3.14159265358979323846;

// Degrees to radians, in float64.
inline double Degrees(double degrees) { return degrees * kPi / 180.0; }

// Names the reference backend explicitly, so that a faster backend registered
// for host tensors never changes what these tests check.
ExecContext ReferenceContext();

// (N, C, H, W) or (N, H, W, C).
Dims ActivationShape(Layout layout, int64_t n, int64_t c, int64_t h, int64_t w);

// theta as a (C) tensor of the given dtype.
HostTensor ThetaTensor(const std::vector<double>& radians,
                       DType dtype = DType::kF32);

// The three ops on the reference backend; outputs are allocated with the shapes
// the op documents (ceil(H/stride) x ceil(W/stride) for y) and the inputs'
// dtype.
absl::StatusOr<HostTensor> RunForward(const OrientedConvArgs& args,
                                      const HostTensor& x,
                                      const HostTensor& weight,
                                      const HostTensor& theta,
                                      const HostTensor* bias = nullptr);
absl::StatusOr<HostTensor> RunBackwardInput(const OrientedConvArgs& args,
                                            const HostTensor& dy,
                                            const HostTensor& weight,
                                            const HostTensor& theta,
                                            const Dims& x_shape);
struct ParamGrads {
  std::optional<HostTensor> dweight, dbias;
};
absl::StatusOr<ParamGrads> RunBackwardParams(
    const OrientedConvArgs& args, const HostTensor& dy, const HostTensor& x,
    const HostTensor& theta, int64_t taps, bool want_dweight = true,
    bool want_dbias = true);

// Sizes of one oriented conv problem.
struct OrientedSizes {
  int64_t n, c, h, w, k;
};

// The forward written independently of the reference backend, as a sum of
// shifted images: y = sum over taps k of w~[c, k] * x shifted by the tap's
// offset and subsampled by the stride
// (+ bias), where w~ has +1 on the centre tap under args.residual. x and the
// result are NCHW whatever args.layout says; bias is empty for none. The
// offsets come from the tap table.
std::vector<double> NaiveOrientedForward(const OrientedConvArgs& args,
                                         const OrientedSizes& s,
                                         const std::vector<double>& x,
                                         const std::vector<double>& weight,
                                         const std::vector<double>& theta,
                                         const std::vector<double>& bias);

std::vector<double> NchwToNhwc(const std::vector<double>& v, int64_t n,
                               int64_t c, int64_t h, int64_t w);
std::vector<double> NhwcToNchw(const std::vector<double>& v, int64_t n,
                               int64_t c, int64_t h, int64_t w);

// Depthwise (groups = C) torch.nn.functional.conv2d of an NCHW x with weight
// (C, 1, kH, kW) on the reference backend: the independent oracle for the
// axis-aligned cases.
absl::StatusOr<std::vector<double>> DenseDepthwiseConv2d(
    const HostTensor& x, const HostTensor& weight, const HostTensor* bias,
    int64_t stride, SpatialDims padding, SpatialDims dilation = {1, 1});

// A float64 tensor holding the same values as `t` (exactly: every dtype widens
// to float64).
HostTensor ToF64(const HostTensor& t);
HostTensor ToDType(const HostTensor& t, DType dtype);

}  // namespace tapconv::testing

#endif  // TAPCONV_TESTS_ORIENTED_ORIENTED_TEST_SUPPORT_H_
