#ifndef TAPCONV_OPS_CONV_ND_H_
#define TAPCONV_OPS_CONV_ND_H_

// Dense N-D convolution (N = 1, 2, 3), exactly torch.nn.functional.conv{N}d
// with zero padding: the second half of DCLS (construct a dense kernel, then
// convolve). docs/ops.md ("Dense convolution").

#include <cstdint>
#include <optional>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "ops/exec_context.h"
#include "ops/tensor_ref.h"

namespace tapconv {

using SpatialDims = absl::InlinedVector<int64_t, 3>;

// Per spatial axis; a single value is broadcast to every axis (as in
// nn.Conv2d(stride=2)).
struct ConvNdArgs {
  SpatialDims stride = {1};
  SpatialDims padding = {0};  // zeros on both sides
  SpatialDims dilation = {1};
  int64_t groups = 1;
};

// Sizes read from validated tensors. Spatial vectors have `spatial_rank`
// entries; stride, padding and dilation are broadcast.
struct ConvNdShape {
  int spatial_rank;
  int64_t batch, in_channels, out_channels, groups;
  SpatialDims in, kernel, out, stride, padding, dilation;
};

// x (N, C_in, *in), weight (C_out, C_in/groups, *kernel), bias (C_out), y (N,
// C_out, *out) with out = floor((in + 2*padding - dilation*(kernel-1) - 1) /
// stride) + 1. Contiguous, one dtype.
struct ConvNdForwardIO {
  TensorRef x, weight;
  std::optional<TensorRef> bias;
  TensorRef y;
};

struct ConvNdBackwardInputIO {
  TensorRef dy, weight;
  TensorRef dx;
};

// At least one of dweight, dbias. Overwritten, never accumulated into.
struct ConvNdBackwardParamsIO {
  TensorRef dy, x;
  std::optional<TensorRef> dweight, dbias;
};

absl::Status ValidateConvNdForward(const ConvNdArgs& args,
                                   const ConvNdForwardIO& io,
                                   ConvNdShape* shape = nullptr);
absl::Status ValidateConvNdBackwardInput(const ConvNdArgs& args,
                                         const ConvNdBackwardInputIO& io,
                                         ConvNdShape* shape = nullptr);
absl::Status ValidateConvNdBackwardParams(const ConvNdArgs& args,
                                          const ConvNdBackwardParamsIO& io,
                                          ConvNdShape* shape = nullptr);

// Fills shape->stride, padding, dilation, groups and out from `args` for the
// sizes already in `shape` (spatial_rank, batch, in_channels, in, out_channels,
// kernel), checking every range. For callers that have no dense weight tensor
// to validate (the fused DCLS path): errors about the input name `input_name`,
// errors about the kernel name `kernel_name`.
absl::Status CompleteConvNdShape(const ConvNdArgs& args,
                                 absl::string_view input_name,
                                 absl::string_view kernel_name,
                                 ConvNdShape* shape);

namespace ops {

absl::Status ConvNdForward(const ConvNdArgs& args, const ConvNdForwardIO& io,
                           const ExecContext& ctx = {});
absl::Status ConvNdBackwardInput(const ConvNdArgs& args,
                                 const ConvNdBackwardInputIO& io,
                                 const ExecContext& ctx = {});
absl::Status ConvNdBackwardParams(const ConvNdArgs& args,
                                  const ConvNdBackwardParamsIO& io,
                                  const ExecContext& ctx = {});

}  // namespace ops
}  // namespace tapconv

#endif  // TAPCONV_OPS_CONV_ND_H_
