#ifndef TAPCONV_OPS_DCLS_H_
#define TAPCONV_OPS_DCLS_H_

// DCLS, dilated convolution with learnable spacings (seed 002): K weights at
// learnable real positions inside an S_1 x ... x S_M box are interpolated into
// a dense kernel, which is then used by an ordinary convolution.
// docs/ops.md ("DCLS").

#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "ops/conv_nd.h"
#include "ops/exec_context.h"
#include "ops/geometry/dcls_interpolation.h"
#include "ops/tensor_ref.h"

namespace tapconv {

// DclsInterpolation and DclsAxisOrder (which learnable kernel axis P[d] moves
// along) live in ops/geometry/dcls_interpolation.h, with the per-element math
// every backend shares.

// The kernel has `dense_kernel_size.size()` leading axes of ordinary (dense)
// taps followed by M = dilated_kernel_size.size() axes along which positions
// are learned. Plain Dcls1d/2d/3d have no dense axes; the N-MD variants 2_1d,
// 3_1d, 3_2d have one, two and one.
struct DclsArgs {
  SpatialDims dense_kernel_size;
  // S per learnable axis. Odd sizes keep the centre a grid point; with even S,
  // P = 0 sits half a cell past the box's middle (docs/ops.md, "DCLS").
  SpatialDims dilated_kernel_size;
  DclsInterpolation interpolation = DclsInterpolation::kBilinear;
  DclsAxisOrder axis_order = DclsAxisOrder::kNatural;
  // sigma = |SIG| + sigma_floor; unset = DefaultSigmaFloor(interpolation).
  std::optional<double> sigma_floor;
  // Gauss and triangle divide by (the element's in-box mass + epsilon).
  double normalization_epsilon = 1e-7;
};

// The sigma floor in effect: args.sigma_floor, or
// DefaultSigmaFloor(args.interpolation).
double DclsSigmaFloor(const DclsArgs& args);

// Sizes read from validated tensors. Element (o, i, dense..., k) has weight
// weight[o, i, dense..., k] and position positions[d, o, i, dense..., k] along
// each learnable axis d. `groups_of_elements` = C_out * C_in_per_group *
// prod(dense_kernel_size).
struct DclsShape {
  int64_t out_channels, in_per_group, kernel_count, groups_of_elements;
  int dense_rank, learnable_rank;
  SpatialDims dense_size, dilated_size;
  // (C_out, C_in/g, *dense_kernel_size, *dilated_kernel_size)
  Dims kernel_shape;
};

// kernel = construct(weight, positions, sigma):
//   weight (C_out, C_in/g, *dense, K); positions (M, C_out, C_in/g, *dense, K);
//   sigma like positions, required for gauss and triangle, absent for bilinear;
//   kernel (C_out, C_in/g, *dense, *S). One floating dtype, contiguous, one
//   device.
struct DclsConstructIO {
  TensorRef weight, positions;
  std::optional<TensorRef> sigma;
  TensorRef kernel;
};

// Gradients of construct, given dkernel = dL/dkernel. Requested outputs are
// overwritten.
struct DclsConstructBackwardIO {
  TensorRef dkernel, weight, positions;
  std::optional<TensorRef> sigma;
  std::optional<TensorRef> dweight, dpositions, dsigma;
};

// Depthwise DCLS conv (groups = C_in = C_out = C) computed straight from the <=
// 2^M * K bilinear taps per channel, without a dense S^M kernel. Same result as
// construct + ConvNd: x (N, C, *spatial) with dense + M spatial axes, weight
// (C, 1, *dense, K), positions (M, C, 1, *dense, K), bias (C), y (N, C, *out)
// as ConvNd with kernel (*dense, *S).
struct DclsDepthwiseArgs {
  DclsArgs dcls;    // interpolation must be bilinear
  ConvNdArgs conv;  // groups must equal the channel count
};

struct DclsDepthwiseForwardIO {
  TensorRef x, weight, positions;
  std::optional<TensorRef> bias;
  TensorRef y;
};

struct DclsDepthwiseBackwardInputIO {
  TensorRef dy, weight, positions;
  TensorRef dx;
};

struct DclsDepthwiseBackwardParamsIO {
  TensorRef dy, x, weight, positions;
  std::optional<TensorRef> dweight, dpositions, dbias;
};

absl::Status ValidateDclsConstruct(const DclsArgs& args,
                                   const DclsConstructIO& io,
                                   DclsShape* shape = nullptr);
absl::Status ValidateDclsConstructBackward(const DclsArgs& args,
                                           const DclsConstructBackwardIO& io,
                                           DclsShape* shape = nullptr);
absl::Status ValidateDclsDepthwiseForward(const DclsDepthwiseArgs& args,
                                          const DclsDepthwiseForwardIO& io,
                                          DclsShape* dcls_shape = nullptr,
                                          ConvNdShape* conv_shape = nullptr);
absl::Status ValidateDclsDepthwiseBackwardInput(
    const DclsDepthwiseArgs& args, const DclsDepthwiseBackwardInputIO& io,
    DclsShape* dcls_shape = nullptr, ConvNdShape* conv_shape = nullptr);
absl::Status ValidateDclsDepthwiseBackwardParams(
    const DclsDepthwiseArgs& args, const DclsDepthwiseBackwardParamsIO& io,
    DclsShape* dcls_shape = nullptr, ConvNdShape* conv_shape = nullptr);

// Shape of the constructed kernel for a weight of shape `weight_shape`.
Dims DclsKernelShape(const DclsArgs& args,
                     absl::Span<const int64_t> weight_shape);

namespace ops {

absl::Status DclsConstructKernel(const DclsArgs& args,
                                 const DclsConstructIO& io,
                                 const ExecContext& ctx = {});
absl::Status DclsConstructKernelBackward(const DclsArgs& args,
                                         const DclsConstructBackwardIO& io,
                                         const ExecContext& ctx = {});

absl::Status DclsDepthwiseForward(const DclsDepthwiseArgs& args,
                                  const DclsDepthwiseForwardIO& io,
                                  const ExecContext& ctx = {});
absl::Status DclsDepthwiseBackwardInput(const DclsDepthwiseArgs& args,
                                        const DclsDepthwiseBackwardInputIO& io,
                                        const ExecContext& ctx = {});
absl::Status DclsDepthwiseBackwardParams(
    const DclsDepthwiseArgs& args, const DclsDepthwiseBackwardParamsIO& io,
    const ExecContext& ctx = {});

// End-to-end DCLS conv for C++ callers: construct into `kernel`
// (caller-allocated, shape DclsKernelShape), then ConvNd. The backward takes
// the kernel of the forward and a caller-allocated `dkernel` workspace of the
// same shape (required even when only dx is asked for); it computes the
// requested subset of dx, dweight, dpositions, dsigma, dbias (at least one).
// Both validate every argument before running anything, then run the steps
// on `ctx`.
struct DclsConvForwardIO {
  TensorRef x, weight, positions;
  std::optional<TensorRef> sigma, bias;
  TensorRef kernel;  // out: the constructed kernel, kept for the backward
  TensorRef y;
};
struct DclsConvBackwardIO {
  TensorRef dy, x, weight, positions;
  std::optional<TensorRef> sigma;
  TensorRef kernel;   // from the forward
  TensorRef dkernel;  // workspace
  std::optional<TensorRef> dx, dweight, dpositions, dsigma, dbias;
};
absl::Status ValidateDclsConvForward(const DclsArgs& dcls,
                                     const ConvNdArgs& conv,
                                     const DclsConvForwardIO& io);
absl::Status ValidateDclsConvBackward(const DclsArgs& dcls,
                                      const ConvNdArgs& conv,
                                      const DclsConvBackwardIO& io);
absl::Status DclsConvForward(const DclsArgs& dcls, const ConvNdArgs& conv,
                             const DclsConvForwardIO& io,
                             const ExecContext& ctx = {});
absl::Status DclsConvBackward(const DclsArgs& dcls, const ConvNdArgs& conv,
                              const DclsConvBackwardIO& io,
                              const ExecContext& ctx = {});

}  // namespace ops
}  // namespace tapconv

#endif  // TAPCONV_OPS_DCLS_H_
