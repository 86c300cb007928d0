#ifndef TAPCONV_BACKENDS_CPU_ONEDNN_CONV_H_
#define TAPCONV_BACKENDS_CPU_ONEDNN_CONV_H_

// Dense N-D convolution through oneDNN 2.x (Debian's libdnnl, OpenMP
// threading) for float32 and bfloat16 (float32 accumulation).
//
// oneDNN is used only where it is fast and deterministic: a problem whose best
// oneDNN implementation is its reference or im2col+gemm kernel (depthwise
// convolutions with large kernels, many grouped/dilated 1-D shapes, anything
// on a processor without the needed ISA) is declined, and the caller runs the
// cpu backend's own direct kernels instead. Primitives (with their layout
// reorders) are created once per problem and kept in a small thread-safe LRU
// cache.
//
// Threads: oneDNN runs on OpenMP; each call sets the calling thread's OpenMP
// thread count to ExecContext::num_threads (0 = the machine's threads) for
// primitive creation and execution, and the count is part of the cache key.
// The forward and data-gradient kernels compute every output element in one
// thread with a fixed reduction order (checked bitwise by
// tests/cpu_dcls/conv_nd_cpu_test.cc for 1, 2 and 4 threads). oneDNN's weight
// gradient splits its reduction by thread count, so it is instead run as a
// fixed batch split (depending on the shape only), each part a single-threaded
// primitive, with the parts summed in order.

#include <string>

#include "absl/status/statusor.h"
#include "ops/conv_nd.h"
#include "ops/dtype.h"

namespace tapconv::cpu {

enum class OnednnConvOp { kForward, kBackwardData, kBackwardWeights };

// oneDNN's implementation name for the problem ("jit:avx512_core",
// "brgconv:avx512_core_amx_bf16", ...), or "" when the problem is declined.
std::string OnednnConvImplementation(OnednnConvOp op, const ConvNdShape& shape,
                                     DType dtype, int num_threads);

// Each returns true after computing the outputs, false (having written
// nothing) when oneDNN declines the problem.
absl::StatusOr<bool> OnednnConvForward(const ConvNdShape& shape,
                                       const ConvNdForwardIO& io,
                                       int num_threads);
absl::StatusOr<bool> OnednnConvBackwardData(const ConvNdShape& shape,
                                            const ConvNdBackwardInputIO& io,
                                            int num_threads);
// Writes only dweight (not dbias).
absl::StatusOr<bool> OnednnConvBackwardWeights(const ConvNdShape& shape,
                                               const TensorRef& dy,
                                               const TensorRef& x,
                                               const TensorRef& dweight,
                                               int num_threads);

}  // namespace tapconv::cpu

#endif  // TAPCONV_BACKENDS_CPU_ONEDNN_CONV_H_
