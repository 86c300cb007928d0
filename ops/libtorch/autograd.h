#ifndef TAPCONV_OPS_LIBTORCH_AUTOGRAD_H_
#define TAPCONV_OPS_LIBTORCH_AUTOGRAD_H_

// Differentiable versions of ops/libtorch/tapconv_torch.h
// (torch::autograd::Functions whose backward calls the core's backward entry
// points). Gradients flow to every floating input except the angles theta and
// the path indices.

#include <ATen/ATen.h>

#include "ops/conv_nd.h"
#include "ops/dcls.h"
#include "ops/oriented_conv.h"
#include "ops/path_conv.h"

namespace tapconv {
namespace torch_ops {

at::Tensor OrientedConv2dAutograd(const at::Tensor& x, const at::Tensor& weight,
                                  const at::Tensor& theta,
                                  const at::Tensor& bias = {},
                                  const OrientedConvArgs& args = {});

// inv (P, H*W) is the inverse of perm (tapconv::InvertPermutation), used by the
// backward.
at::Tensor PathGatherAutograd(const at::Tensor& x, const at::Tensor& perm,
                              const at::Tensor& inv);
at::Tensor PathConv1dAutograd(const at::Tensor& x, const at::Tensor& perm,
                              const at::Tensor& inv, const at::Tensor& weight,
                              const at::Tensor& bias = {},
                              const PathConvArgs& args = {});

at::Tensor DclsConstructAutograd(const at::Tensor& weight,
                                 const at::Tensor& positions,
                                 const at::Tensor& sigma, const DclsArgs& args);

// DCLS conv: DclsConstructAutograd, then ATen's convolution (conv.dilation must
// be 1).
at::Tensor DclsConvAutograd(const at::Tensor& x, const at::Tensor& weight,
                            const at::Tensor& positions,
                            const at::Tensor& sigma, const at::Tensor& bias,
                            const DclsArgs& dcls, const ConvNdArgs& conv);

at::Tensor DclsDepthwiseConvAutograd(const at::Tensor& x,
                                     const at::Tensor& weight,
                                     const at::Tensor& positions,
                                     const at::Tensor& bias,
                                     const DclsDepthwiseArgs& args);

}  // namespace torch_ops
}  // namespace tapconv

#endif  // TAPCONV_OPS_LIBTORCH_AUTOGRAD_H_
