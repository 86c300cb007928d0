#ifndef TAPCONV_TESTS_PATHS_PATH_TEST_SUPPORT_H_
#define TAPCONV_TESTS_PATHS_PATH_TEST_SUPPORT_H_

// What the path-op tests share: index tensors built from path specs, the five
// ops run on the reference backend with caller-owned outputs, and naive
// computations written independently of the backend (gather, a 1D grouped conv,
// its transpose, scatter-add through perm).

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "ops/exec_context.h"
#include "ops/geometry/paths.h"
#include "ops/path_conv.h"
#include "tests/test_util.h"

namespace tapconv::testing {

// Names the reference backend, so that a faster host backend never changes what
// is checked.
ExecContext ReferenceContext();

// perm (P, H*W) and its inverse, in the given index dtype.
struct PathTensors {
  HostTensor perm, inv;
  int64_t paths = 0;
};
PathTensors MakePaths(int64_t h, int64_t w, const std::vector<PathSpec>& specs,
                      DType index_dtype = DType::kI64);

// Sizes of one problem: x (N, C, H, W), P paths, weight (P*C*m, 1, K).
struct ConvSizes {
  int64_t n, c, h, w, paths, m, k;
  int64_t length() const { return h * w; }
  int64_t sequences() const { return paths * c; }
  int64_t out_channels() const { return paths * c * m; }
  int64_t out_length(const PathConvArgs& a) const {
    return (length() + 2 * a.padding - k) / a.stride + 1;
  }
};

// The ops on the reference backend; outputs take the documented shapes and the
// input dtype.
absl::StatusOr<HostTensor> RunGather(const HostTensor& x,
                                     const HostTensor& perm);
absl::StatusOr<HostTensor> RunScatter(const HostTensor& y,
                                      const HostTensor& inv,
                                      const Dims& x_shape);
absl::StatusOr<HostTensor> RunConvForward(const PathConvArgs& args,
                                          const HostTensor& x,
                                          const HostTensor& perm,
                                          const HostTensor& weight,
                                          const HostTensor* bias);
absl::StatusOr<HostTensor> RunConvBackwardInput(const PathConvArgs& args,
                                                const HostTensor& dy,
                                                const HostTensor& inv,
                                                const HostTensor& weight,
                                                const Dims& x_shape);
struct ParamGrads {
  std::optional<HostTensor> dweight, dbias;
};
absl::StatusOr<ParamGrads> RunConvBackwardParams(
    const PathConvArgs& args, const HostTensor& dy, const HostTensor& x,
    const HostTensor& perm, const Dims& weight_shape, bool want_dweight = true,
    bool want_dbias = true);

// seq[n, p*C + c, l] = x[n, c, perm[p, l]] (x flattened (N, C, H*W), perm (P,
// H*W)).
std::vector<double> NaiveGather(const std::vector<double>& x,
                                const std::vector<double>& perm, int64_t n,
                                int64_t c, int64_t length, int64_t paths);

// x[n, c, perm[p, l]] += y[n, p*C + c, l]: unflatten every path and add them
// up.
std::vector<double> NaiveScatterAdd(const std::vector<double>& y,
                                    const std::vector<double>& perm, int64_t n,
                                    int64_t c, int64_t length, int64_t paths);

// torch.nn.functional.conv1d(in, weight, bias, stride, padding, groups = G) for
// in (N, G, L) and weight (G*m, 1, K); bias empty for none.
std::vector<double> NaiveGroupedConv1d(const std::vector<double>& in, int64_t n,
                                       int64_t groups, int64_t length,
                                       const std::vector<double>& weight,
                                       int64_t m, int64_t k,
                                       const std::vector<double>& bias,
                                       int64_t stride, int64_t padding);

// Its transpose (conv_transpose1d): the gradient of the input (N, G, L) for
// dout (N, G*m, L_out).
std::vector<double> NaiveGroupedConv1dTranspose(
    const std::vector<double>& dout, int64_t n, int64_t groups, int64_t length,
    const std::vector<double>& weight, int64_t m, int64_t k, int64_t stride,
    int64_t padding);

// The same values in another dtype (rounded; exact when widening).
HostTensor ToDType(const HostTensor& t, DType dtype);

}  // namespace tapconv::testing

#endif  // TAPCONV_TESTS_PATHS_PATH_TEST_SUPPORT_H_
