#ifndef TAPCONV_OPS_LIBTORCH_TAPCONV_TORCH_H_
#define TAPCONV_OPS_LIBTORCH_TAPCONV_TORCH_H_

// tapconv's ops over at::Tensor, for C++ programs that use LibTorch. Each
// function allocates its outputs with ATen, runs the core's ops:: entry point
// on the tensors' device, and throws c10::ValueError / c10::TypeError /
// c10::NotImplementedError / c10::Error with the core's message (which starts
// with the argument's name). Inputs may be non-contiguous (they are made
// contiguous). On the CPU, an op the fast backend lacks runs on the reference
// backend.
//
// These functions are not differentiable by themselves; ops/libtorch/autograd.h
// wraps them in torch::autograd::Functions. Semantics and formulas:
// docs/ops.md.

#include <ATen/ATen.h>

#include <tuple>

#include "ops/conv_nd.h"
#include "ops/dcls.h"
#include "ops/exec_context.h"
#include "ops/oriented_conv.h"
#include "ops/path_conv.h"

namespace tapconv {
namespace torch_ops {

// --- oriented conv
// ---------------------------------------------------------------------------
// args.layout is ignored: a channels-last x runs the NHWC kernels and gives a
// channels-last y.

at::Tensor OrientedConv2d(const at::Tensor& x, const at::Tensor& weight,
                          const at::Tensor& theta,
                          const c10::optional<at::Tensor>& bias = c10::nullopt,
                          const OrientedConvArgs& args = {},
                          const ExecContext& ctx = {});
at::Tensor OrientedConv2dBackwardInput(const at::Tensor& dy,
                                       const at::Tensor& weight,
                                       const at::Tensor& theta,
                                       at::IntArrayRef input_size,
                                       const OrientedConvArgs& args = {},
                                       const ExecContext& ctx = {});
// (dweight, dbias); a gradient not asked for is an undefined tensor.
std::tuple<at::Tensor, at::Tensor> OrientedConv2dBackwardParams(
    const at::Tensor& dy, const at::Tensor& x, const at::Tensor& theta,
    int64_t kernel_size, bool need_weight, bool need_bias,
    const OrientedConvArgs& args = {}, const ExecContext& ctx = {});

// --- path ops
// --------------------------------------------------------------------------------

at::Tensor PathGather(const at::Tensor& x, const at::Tensor& perm,
                      const ExecContext& ctx = {});
at::Tensor PathScatter(const at::Tensor& y, const at::Tensor& inv,
                       int64_t height, int64_t width,
                       const ExecContext& ctx = {});
at::Tensor PathConv1d(const at::Tensor& x, const at::Tensor& perm,
                      const at::Tensor& weight,
                      const c10::optional<at::Tensor>& bias = c10::nullopt,
                      const PathConvArgs& args = {},
                      const ExecContext& ctx = {});
at::Tensor PathConv1dBackwardInput(const at::Tensor& dy, const at::Tensor& inv,
                                   const at::Tensor& weight,
                                   at::IntArrayRef input_size,
                                   const PathConvArgs& args = {},
                                   const ExecContext& ctx = {});
std::tuple<at::Tensor, at::Tensor> PathConv1dBackwardParams(
    const at::Tensor& dy, const at::Tensor& x, const at::Tensor& perm,
    int64_t kernel_size, bool need_weight, bool need_bias,
    const PathConvArgs& args = {}, const ExecContext& ctx = {});

// --- DCLS
// ------------------------------------------------------------------------------------

at::Tensor DclsConstruct(const at::Tensor& weight, const at::Tensor& positions,
                         const c10::optional<at::Tensor>& sigma,
                         const DclsArgs& args, const ExecContext& ctx = {});
// (dweight, dpositions, dsigma); not asked for = undefined.
std::tuple<at::Tensor, at::Tensor, at::Tensor> DclsConstructBackward(
    const at::Tensor& dkernel, const at::Tensor& weight,
    const at::Tensor& positions, const c10::optional<at::Tensor>& sigma,
    const DclsArgs& args, bool need_weight, bool need_positions,
    bool need_sigma, const ExecContext& ctx = {});

// Depthwise bilinear DCLS straight from the taps; args.conv.groups is set to
// x's channels.
at::Tensor DclsDepthwiseConv(const at::Tensor& x, const at::Tensor& weight,
                             const at::Tensor& positions,
                             const c10::optional<at::Tensor>& bias,
                             const DclsDepthwiseArgs& args,
                             const ExecContext& ctx = {});
at::Tensor DclsDepthwiseConvBackwardInput(const at::Tensor& dy,
                                          const at::Tensor& weight,
                                          const at::Tensor& positions,
                                          at::IntArrayRef input_size,
                                          const DclsDepthwiseArgs& args,
                                          const ExecContext& ctx = {});
// (dweight, dpositions, dbias); not asked for = undefined.
std::tuple<at::Tensor, at::Tensor, at::Tensor> DclsDepthwiseConvBackwardParams(
    const at::Tensor& dy, const at::Tensor& x, const at::Tensor& weight,
    const at::Tensor& positions, const DclsDepthwiseArgs& args,
    bool need_weight, bool need_positions, bool need_bias,
    const ExecContext& ctx = {});

// The kernel shape DclsConstruct produces for `weight`.
std::vector<int64_t> DclsKernelSizes(const at::Tensor& weight,
                                     const DclsArgs& args);

}  // namespace torch_ops
}  // namespace tapconv

#endif  // TAPCONV_OPS_LIBTORCH_TAPCONV_TORCH_H_
