#ifndef TAPCONV_BACKENDS_CPU_CONV_ND_POLICY_H_
#define TAPCONV_BACKENDS_CPU_CONV_ND_POLICY_H_

// Which kernels run a dense ConvNd op on the cpu backend: oneDNN or the
// backend's own direct kernels (conv_nd_direct.h).

#include <string>

#include "backends/cpu/onednn_conv.h"
#include "ops/conv_nd.h"
#include "ops/dtype.h"

namespace tapconv::cpu {

enum class ConvImpl { kOnednn, kDirect };

// kOnednn means "try oneDNN first": it may still decline (no fast kernel for
// the shape on this processor), and then the direct kernels run.
//   - float64: direct (oneDNN has no float64 convolution);
//   - depthwise (one input channel per group): direct for the forward and the
//     weight gradient, whose oneDNN kernels for large kernels are im2col+gemm
//     or a fixed-layout kernel behind two reorders; oneDNN's jit_dw kernel for
//     the data gradient;
//   - the environment variable TAPCONV_CPU_ONEDNN=0 (read once) turns oneDNN
//     off, to test or time the direct kernels on every shape.
ConvImpl ChooseConvImpl(OnednnConvOp op, const ConvNdShape& shape, DType dtype,
                        int num_threads);

// "direct" or "onednn:<implementation>": what ChooseConvImpl and oneDNN
// settle on (for benchmark labels and tests).
std::string ConvImplName(OnednnConvOp op, const ConvNdShape& shape, DType dtype,
                         int num_threads);

}  // namespace tapconv::cpu

#endif  // TAPCONV_BACKENDS_CPU_CONV_ND_POLICY_H_
