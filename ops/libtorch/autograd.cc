#include "ops/libtorch/autograd.h"

#include <torch/autograd.h>

#include <vector>

#include "ops/libtorch/tapconv_torch.h"

namespace tapconv {
namespace torch_ops {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

c10::optional<at::Tensor> Optional(const at::Tensor& t) {
  return t.defined() ? c10::optional<at::Tensor>(t) : c10::nullopt;
}

// Non-tensor arguments travel through the context's IValue map, one field per
// entry.
std::vector<int64_t> ToVector(const SpatialDims& v) {
  return std::vector<int64_t>(v.begin(), v.end());
}

SpatialDims ToDims(const c10::IValue& v) {
  const std::vector<int64_t> values = v.toIntVector();
  return SpatialDims(values.begin(), values.end());
}

void SaveArgs(AutogradContext* ctx, const OrientedConvArgs& a) {
  ctx->saved_data["stride"] = a.stride;
  ctx->saved_data["dilation"] = a.dilation;
  ctx->saved_data["tap_rule"] = static_cast<int64_t>(a.tap_rule);
  ctx->saved_data["residual"] = a.residual;
}

void LoadArgs(AutogradContext* ctx, OrientedConvArgs* a) {
  a->stride = ctx->saved_data["stride"].toInt();
  a->dilation = ctx->saved_data["dilation"].toInt();
  a->tap_rule = static_cast<TapRule>(ctx->saved_data["tap_rule"].toInt());
  a->residual = ctx->saved_data["residual"].toBool();
}

void SaveArgs(AutogradContext* ctx, const PathConvArgs& a) {
  ctx->saved_data["stride"] = a.stride;
  ctx->saved_data["padding"] = a.padding;
}

void LoadArgs(AutogradContext* ctx, PathConvArgs* a) {
  a->stride = ctx->saved_data["stride"].toInt();
  a->padding = ctx->saved_data["padding"].toInt();
}

void SaveArgs(AutogradContext* ctx, const DclsArgs& a) {
  ctx->saved_data["dense_kernel_size"] = ToVector(a.dense_kernel_size);
  ctx->saved_data["dilated_kernel_size"] = ToVector(a.dilated_kernel_size);
  ctx->saved_data["interpolation"] = static_cast<int64_t>(a.interpolation);
  ctx->saved_data["axis_order"] = static_cast<int64_t>(a.axis_order);
  ctx->saved_data["has_sigma_floor"] = a.sigma_floor.has_value();
  ctx->saved_data["sigma_floor"] = a.sigma_floor.value_or(0.0);
  ctx->saved_data["eps"] = a.normalization_epsilon;
}

void LoadArgs(AutogradContext* ctx, DclsArgs* a) {
  a->dense_kernel_size = ToDims(ctx->saved_data["dense_kernel_size"]);
  a->dilated_kernel_size = ToDims(ctx->saved_data["dilated_kernel_size"]);
  a->interpolation =
      static_cast<DclsInterpolation>(ctx->saved_data["interpolation"].toInt());
  a->axis_order =
      static_cast<DclsAxisOrder>(ctx->saved_data["axis_order"].toInt());
  if (ctx->saved_data["has_sigma_floor"].toBool()) {
    a->sigma_floor = ctx->saved_data["sigma_floor"].toDouble();
  }
  a->normalization_epsilon = ctx->saved_data["eps"].toDouble();
}

void SaveArgs(AutogradContext* ctx, const DclsDepthwiseArgs& a) {
  SaveArgs(ctx, a.dcls);
  ctx->saved_data["conv_stride"] = ToVector(a.conv.stride);
  ctx->saved_data["conv_padding"] = ToVector(a.conv.padding);
  ctx->saved_data["conv_dilation"] = ToVector(a.conv.dilation);
  ctx->saved_data["conv_groups"] = a.conv.groups;
}

void LoadArgs(AutogradContext* ctx, DclsDepthwiseArgs* a) {
  LoadArgs(ctx, &a->dcls);
  a->conv.stride = ToDims(ctx->saved_data["conv_stride"]);
  a->conv.padding = ToDims(ctx->saved_data["conv_padding"]);
  a->conv.dilation = ToDims(ctx->saved_data["conv_dilation"]);
  a->conv.groups = ctx->saved_data["conv_groups"].toInt();
}

template <typename Args>
Args LoadArgs(AutogradContext* ctx) {
  Args args;
  LoadArgs(ctx, &args);
  return args;
}

struct OrientedConvFunction
    : public torch::autograd::Function<OrientedConvFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x,
                            const at::Tensor& weight, const at::Tensor& theta,
                            const c10::optional<at::Tensor>& bias,
                            OrientedConvArgs args) {
    ctx->save_for_backward({x, weight, theta});
    ctx->saved_data["has_bias"] = bias.has_value();
    SaveArgs(ctx, args);
    return OrientedConv2d(x, weight, theta, bias, args);
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const OrientedConvArgs args = LoadArgs<OrientedConvArgs>(ctx);
    const at::Tensor &x = saved[0], &weight = saved[1], &theta = saved[2],
                     &dy = grads[0];
    at::Tensor dx, dweight, dbias;
    if (ctx->needs_input_grad(0)) {
      dx = OrientedConv2dBackwardInput(dy, weight, theta, x.sizes(), args);
    }
    const bool need_bias =
        ctx->saved_data["has_bias"].toBool() && ctx->needs_input_grad(3);
    if (ctx->needs_input_grad(1) || need_bias) {
      std::tie(dweight, dbias) = OrientedConv2dBackwardParams(
          dy, x, theta, weight.size(3), ctx->needs_input_grad(1), need_bias,
          args);
    }
    return {dx, dweight, at::Tensor(), dbias, at::Tensor()};
  }
};

struct PathGatherFunction
    : public torch::autograd::Function<PathGatherFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x,
                            const at::Tensor& perm, const at::Tensor& inv) {
    ctx->save_for_backward({inv});
    ctx->saved_data["height"] = x.size(2);
    ctx->saved_data["width"] = x.size(3);
    return PathGather(x, perm);
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const at::Tensor inv = ctx->get_saved_variables()[0];
    return {PathScatter(grads[0], inv, ctx->saved_data["height"].toInt(),
                        ctx->saved_data["width"].toInt()),
            at::Tensor(), at::Tensor()};
  }
};

struct PathConvFunction : public torch::autograd::Function<PathConvFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x,
                            const at::Tensor& perm, const at::Tensor& inv,
                            const at::Tensor& weight,
                            const c10::optional<at::Tensor>& bias,
                            PathConvArgs args) {
    ctx->save_for_backward({x, perm, inv, weight});
    ctx->saved_data["has_bias"] = bias.has_value();
    SaveArgs(ctx, args);
    return PathConv1d(x, perm, weight, bias, args);
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto s = ctx->get_saved_variables();
    const PathConvArgs args = LoadArgs<PathConvArgs>(ctx);
    const at::Tensor &x = s[0], &perm = s[1], &inv = s[2], &weight = s[3],
                     &dy = grads[0];
    at::Tensor dx, dweight, dbias;
    if (ctx->needs_input_grad(0))
      dx = PathConv1dBackwardInput(dy, inv, weight, x.sizes(), args);
    const bool need_bias =
        ctx->saved_data["has_bias"].toBool() && ctx->needs_input_grad(4);
    if (ctx->needs_input_grad(3) || need_bias) {
      std::tie(dweight, dbias) =
          PathConv1dBackwardParams(dy, x, perm, weight.size(2),
                                   ctx->needs_input_grad(3), need_bias, args);
    }
    return {dx, at::Tensor(), at::Tensor(), dweight, dbias, at::Tensor()};
  }
};

struct DclsConstructFunction
    : public torch::autograd::Function<DclsConstructFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& weight,
                            const at::Tensor& positions,
                            const c10::optional<at::Tensor>& sigma,
                            DclsArgs args) {
    ctx->save_for_backward({weight, positions, sigma.value_or(at::Tensor())});
    SaveArgs(ctx, args);
    return DclsConstruct(weight, positions, sigma, args);
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto s = ctx->get_saved_variables();
    const DclsArgs args = LoadArgs<DclsArgs>(ctx);
    auto [dweight, dpositions, dsigma] = DclsConstructBackward(
        grads[0], s[0], s[1], Optional(s[2]), args, ctx->needs_input_grad(0),
        ctx->needs_input_grad(1), s[2].defined() && ctx->needs_input_grad(2));
    return {dweight, dpositions, dsigma, at::Tensor()};
  }
};

struct DclsDepthwiseFunction
    : public torch::autograd::Function<DclsDepthwiseFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x,
                            const at::Tensor& weight,
                            const at::Tensor& positions,
                            const c10::optional<at::Tensor>& bias,
                            DclsDepthwiseArgs args) {
    ctx->save_for_backward({x, weight, positions});
    ctx->saved_data["has_bias"] = bias.has_value();
    SaveArgs(ctx, args);
    return DclsDepthwiseConv(x, weight, positions, bias, args);
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto s = ctx->get_saved_variables();
    const DclsDepthwiseArgs args = LoadArgs<DclsDepthwiseArgs>(ctx);
    const at::Tensor &x = s[0], &weight = s[1], &positions = s[2],
                     &dy = grads[0];
    at::Tensor dx, dweight, dpositions, dbias;
    if (ctx->needs_input_grad(0)) {
      dx = DclsDepthwiseConvBackwardInput(dy, weight, positions, x.sizes(),
                                          args);
    }
    const bool need_bias =
        ctx->saved_data["has_bias"].toBool() && ctx->needs_input_grad(3);
    if (ctx->needs_input_grad(1) || ctx->needs_input_grad(2) || need_bias) {
      std::tie(dweight, dpositions, dbias) = DclsDepthwiseConvBackwardParams(
          dy, x, weight, positions, args, ctx->needs_input_grad(1),
          ctx->needs_input_grad(2), need_bias);
    }
    return {dx, dweight, dpositions, dbias, at::Tensor()};
  }
};

std::vector<int64_t> PerAxis(const SpatialDims& v, int64_t rank) {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < rank; ++i) out.push_back(v.size() == 1 ? v[0] : v[i]);
  return out;
}

}  // namespace

at::Tensor OrientedConv2dAutograd(const at::Tensor& x, const at::Tensor& weight,
                                  const at::Tensor& theta,
                                  const at::Tensor& bias,
                                  const OrientedConvArgs& args) {
  return OrientedConvFunction::apply(x, weight, theta, Optional(bias), args);
}

at::Tensor PathGatherAutograd(const at::Tensor& x, const at::Tensor& perm,
                              const at::Tensor& inv) {
  return PathGatherFunction::apply(x, perm, inv);
}

at::Tensor PathConv1dAutograd(const at::Tensor& x, const at::Tensor& perm,
                              const at::Tensor& inv, const at::Tensor& weight,
                              const at::Tensor& bias,
                              const PathConvArgs& args) {
  return PathConvFunction::apply(x, perm, inv, weight, Optional(bias), args);
}

at::Tensor DclsConstructAutograd(const at::Tensor& weight,
                                 const at::Tensor& positions,
                                 const at::Tensor& sigma,
                                 const DclsArgs& args) {
  return DclsConstructFunction::apply(weight, positions, Optional(sigma), args);
}

at::Tensor DclsConvAutograd(const at::Tensor& x, const at::Tensor& weight,
                            const at::Tensor& positions,
                            const at::Tensor& sigma, const at::Tensor& bias,
                            const DclsArgs& dcls, const ConvNdArgs& conv) {
  TORCH_CHECK_VALUE(x.defined() && x.dim() >= 3 && x.dim() <= 5,
                    "x: expected (N, C, *spatial) with 1 to 3 spatial axes");
  for (int64_t d : conv.dilation) {
    TORCH_CHECK_VALUE(d == 1,
                      "dilation: DCLS convolutions take dilation 1, got ", d);
  }
  const int64_t rank = x.dim() - 2;
  const at::Tensor kernel =
      DclsConstructAutograd(weight, positions, sigma, dcls);
  return at::convolution(
      x, kernel, Optional(bias), PerAxis(conv.stride, rank),
      PerAxis(conv.padding, rank), PerAxis(conv.dilation, rank),
      /*transposed=*/false, std::vector<int64_t>(rank, 0), conv.groups);
}

at::Tensor DclsDepthwiseConvAutograd(const at::Tensor& x,
                                     const at::Tensor& weight,
                                     const at::Tensor& positions,
                                     const at::Tensor& bias,
                                     const DclsDepthwiseArgs& args) {
  return DclsDepthwiseFunction::apply(x, weight, positions, Optional(bias),
                                      args);
}

}  // namespace torch_ops
}  // namespace tapconv
