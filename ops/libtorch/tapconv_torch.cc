#include "ops/libtorch/tapconv_torch.h"

#include <string>
#include <vector>

#include "ops/libtorch/tensor_conversion.h"

namespace tapconv {
namespace torch_ops {
namespace {

bool IsChannelsLast(const at::Tensor& t) {
  return t.dim() == 4 && !t.is_contiguous() &&
         t.is_contiguous(at::MemoryFormat::ChannelsLast);
}

// The tensor as the kernels read it: (N, H, W, C) for NHWC, else contiguous
// NCHW.
at::Tensor InLayout(const at::Tensor& t, Layout layout) {
  if (layout == Layout::kNHWC) {
    return t.contiguous(at::MemoryFormat::ChannelsLast).permute({0, 2, 3, 1});
  }
  return t.contiguous();
}

// An activation of logical shape (N, C, H, W) in `layout`, and the view the
// kernels write.
std::pair<at::Tensor, at::Tensor> EmptyActivation(at::IntArrayRef size,
                                                  const at::Tensor& like,
                                                  Layout layout) {
  const auto format = layout == Layout::kNHWC ? at::MemoryFormat::ChannelsLast
                                              : at::MemoryFormat::Contiguous;
  at::Tensor out = at::empty(size, like.options().memory_format(format));
  return {out, layout == Layout::kNHWC ? out.permute({0, 2, 3, 1}) : out};
}

void CheckRank(const at::Tensor& t, const char* name, int64_t rank,
               const char* dims) {
  TORCH_CHECK_VALUE(t.defined() && t.dim() == rank, name, ": expected a ", rank,
                    "-D tensor ", dims, ", got ",
                    t.defined() ? t.sizes() : at::IntArrayRef{});
}

c10::optional<at::Tensor> Contiguous(const c10::optional<at::Tensor>& t) {
  if (!t.has_value() || !t->defined()) return c10::nullopt;
  return t->contiguous();
}

int64_t CeilDiv(int64_t a, int64_t b) { return a <= 0 ? 0 : (a - 1) / b + 1; }

}  // namespace

at::Tensor OrientedConv2d(const at::Tensor& x, const at::Tensor& weight,
                          const at::Tensor& theta,
                          const c10::optional<at::Tensor>& bias,
                          const OrientedConvArgs& args,
                          const ExecContext& ctx) {
  CheckRank(x, "x", 4, "(N, C, H, W)");
  TORCH_CHECK_VALUE(args.stride >= 1, "stride: expected >= 1, got ",
                    args.stride);
  OrientedConvArgs a = args;
  a.layout = IsChannelsLast(x) ? Layout::kNHWC : Layout::kNCHW;
  const at::Tensor xk = InLayout(x, a.layout);
  const at::Tensor w = weight.contiguous(), t = theta.contiguous();
  const c10::optional<at::Tensor> b = Contiguous(bias);
  auto [y, yk] =
      EmptyActivation({x.size(0), x.size(1), CeilDiv(x.size(2), a.stride),
                       CeilDiv(x.size(3), a.stride)},
                      x, a.layout);
  const OrientedConvForwardIO io{ToTensorRef(xk, "x"), ToTensorRef(w, "weight"),
                                 ToTensorRef(t, "theta"),
                                 ToTensorRef(b, "bias"), ToTensorRef(yk, "y")};
  Run(x, ctx, [&](const ExecContext& c) {
    return ops::OrientedConv2dForward(a, io, c);
  });
  return y;
}

at::Tensor OrientedConv2dBackwardInput(const at::Tensor& dy,
                                       const at::Tensor& weight,
                                       const at::Tensor& theta,
                                       at::IntArrayRef input_size,
                                       const OrientedConvArgs& args,
                                       const ExecContext& ctx) {
  CheckRank(dy, "dy", 4, "(N, C, H, W)");
  TORCH_CHECK_VALUE(input_size.size() == 4,
                    "input_size: expected (N, C, H, W), got ", input_size);
  OrientedConvArgs a = args;
  a.layout = IsChannelsLast(dy) ? Layout::kNHWC : Layout::kNCHW;
  const at::Tensor dyk = InLayout(dy, a.layout);
  const at::Tensor w = weight.contiguous(), t = theta.contiguous();
  auto [dx, dxk] = EmptyActivation(input_size, dy, a.layout);
  const OrientedConvBackwardInputIO io{
      ToTensorRef(dyk, "dy"), ToTensorRef(w, "weight"), ToTensorRef(t, "theta"),
      ToTensorRef(dxk, "dx")};
  Run(dy, ctx, [&](const ExecContext& c) {
    return ops::OrientedConv2dBackwardInput(a, io, c);
  });
  return dx;
}

std::tuple<at::Tensor, at::Tensor> OrientedConv2dBackwardParams(
    const at::Tensor& dy, const at::Tensor& x, const at::Tensor& theta,
    int64_t kernel_size, bool need_weight, bool need_bias,
    const OrientedConvArgs& args, const ExecContext& ctx) {
  CheckRank(x, "x", 4, "(N, C, H, W)");
  if (!need_weight && !need_bias) return {};
  OrientedConvArgs a = args;
  a.layout = IsChannelsLast(x) ? Layout::kNHWC : Layout::kNCHW;
  const at::Tensor xk = InLayout(x, a.layout), dyk = InLayout(dy, a.layout);
  const at::Tensor t = theta.contiguous();
  at::Tensor dweight, dbias;
  if (need_weight)
    dweight = at::empty({x.size(1), 1, 1, kernel_size}, x.options());
  if (need_bias) dbias = at::empty({x.size(1)}, x.options());
  OrientedConvBackwardParamsIO io{ToTensorRef(dyk, "dy"), ToTensorRef(xk, "x"),
                                  ToTensorRef(t, "theta"), std::nullopt,
                                  std::nullopt};
  if (need_weight) io.dweight = ToTensorRef(dweight, "dweight");
  if (need_bias) io.dbias = ToTensorRef(dbias, "dbias");
  Run(x, ctx, [&](const ExecContext& c) {
    return ops::OrientedConv2dBackwardParams(a, io, c);
  });
  return {dweight, dbias};
}

at::Tensor PathGather(const at::Tensor& x, const at::Tensor& perm,
                      const ExecContext& ctx) {
  CheckRank(x, "x", 4, "(N, C, H, W)");
  CheckRank(perm, "perm", 2, "(P, H*W)");
  const at::Tensor xc = x.contiguous(), pc = perm.contiguous();
  at::Tensor y =
      at::empty({x.size(0), perm.size(0) * x.size(1), x.size(2) * x.size(3)},
                x.options());
  const PathGatherIO io{ToTensorRef(xc, "x"), ToTensorRef(pc, "perm"),
                        ToTensorRef(y, "y")};
  Run(x, ctx, [&](const ExecContext& c) { return ops::PathGather(io, c); });
  return y;
}

at::Tensor PathScatter(const at::Tensor& y, const at::Tensor& inv,
                       int64_t height, int64_t width, const ExecContext& ctx) {
  CheckRank(y, "y", 3, "(N, P*C, H*W)");
  CheckRank(inv, "inv", 2, "(P, H*W)");
  TORCH_CHECK_VALUE(height >= 1 && width >= 1,
                    "height: expected a size >= 1 x 1, got ", height, " x ",
                    width);
  TORCH_CHECK_VALUE(inv.size(0) > 0 && y.size(1) % inv.size(0) == 0,
                    "y: expected P*C channels with P = inv.size(0) = ",
                    inv.size(0), ", got ", y.sizes());
  const at::Tensor yc = y.contiguous(), ic = inv.contiguous();
  at::Tensor x = at::empty({y.size(0), y.size(1) / inv.size(0), height, width},
                           y.options());
  const PathScatterIO io{ToTensorRef(yc, "y"), ToTensorRef(ic, "inv"),
                         ToTensorRef(x, "x")};
  Run(y, ctx, [&](const ExecContext& c) { return ops::PathScatter(io, c); });
  return x;
}

at::Tensor PathConv1d(const at::Tensor& x, const at::Tensor& perm,
                      const at::Tensor& weight,
                      const c10::optional<at::Tensor>& bias,
                      const PathConvArgs& args, const ExecContext& ctx) {
  CheckRank(x, "x", 4, "(N, C, H, W)");
  CheckRank(weight, "weight", 3, "(P*C*m, 1, K)");
  TORCH_CHECK_VALUE(args.stride >= 1, "stride: expected >= 1, got ",
                    args.stride);
  TORCH_CHECK_VALUE(args.padding >= 0, "padding: expected >= 0, got ",
                    args.padding);
  const at::Tensor xc = x.contiguous(), pc = perm.contiguous(),
                   w = weight.contiguous();
  const c10::optional<at::Tensor> b = Contiguous(bias);
  const int64_t length =
      (x.size(2) * x.size(3) + 2 * args.padding - weight.size(2)) /
          args.stride +
      1;
  at::Tensor y = at::empty(
      {x.size(0), weight.size(0), std::max<int64_t>(length, 0)}, x.options());
  const PathConvForwardIO io{ToTensorRef(xc, "x"), ToTensorRef(pc, "perm"),
                             ToTensorRef(w, "weight"), ToTensorRef(b, "bias"),
                             ToTensorRef(y, "y")};
  Run(x, ctx,
      [&](const ExecContext& c) { return ops::PathConvForward(args, io, c); });
  return y;
}

at::Tensor PathConv1dBackwardInput(const at::Tensor& dy, const at::Tensor& inv,
                                   const at::Tensor& weight,
                                   at::IntArrayRef input_size,
                                   const PathConvArgs& args,
                                   const ExecContext& ctx) {
  const at::Tensor dyc = dy.contiguous(), ic = inv.contiguous(),
                   w = weight.contiguous();
  at::Tensor dx = at::empty(input_size, dy.options());
  const PathConvBackwardInputIO io{
      ToTensorRef(dyc, "dy"), ToTensorRef(ic, "inv"), ToTensorRef(w, "weight"),
      ToTensorRef(dx, "dx")};
  Run(dy, ctx, [&](const ExecContext& c) {
    return ops::PathConvBackwardInput(args, io, c);
  });
  return dx;
}

std::tuple<at::Tensor, at::Tensor> PathConv1dBackwardParams(
    const at::Tensor& dy, const at::Tensor& x, const at::Tensor& perm,
    int64_t kernel_size, bool need_weight, bool need_bias,
    const PathConvArgs& args, const ExecContext& ctx) {
  CheckRank(dy, "dy", 3, "(N, P*C*m, L_out)");
  if (!need_weight && !need_bias) return {};
  const at::Tensor dyc = dy.contiguous(), xc = x.contiguous(),
                   pc = perm.contiguous();
  at::Tensor dweight, dbias;
  if (need_weight)
    dweight = at::empty({dy.size(1), 1, kernel_size}, x.options());
  if (need_bias) dbias = at::empty({dy.size(1)}, x.options());
  PathConvBackwardParamsIO io{ToTensorRef(dyc, "dy"), ToTensorRef(xc, "x"),
                              ToTensorRef(pc, "perm"), std::nullopt,
                              std::nullopt};
  if (need_weight) io.dweight = ToTensorRef(dweight, "dweight");
  if (need_bias) io.dbias = ToTensorRef(dbias, "dbias");
  Run(x, ctx, [&](const ExecContext& c) {
    return ops::PathConvBackwardParams(args, io, c);
  });
  return {dweight, dbias};
}

std::vector<int64_t> DclsKernelSizes(const at::Tensor& weight,
                                     const DclsArgs& args) {
  TORCH_CHECK_VALUE(weight.defined() && weight.dim() >= 3,
                    "weight: expected (C_out, C_in/groups, *dense, K), got ",
                    weight.defined() ? weight.sizes() : at::IntArrayRef{});
  std::vector<int64_t> sizes(weight.sizes().begin(), weight.sizes().end() - 1);
  sizes.insert(sizes.end(), args.dilated_kernel_size.begin(),
               args.dilated_kernel_size.end());
  return sizes;
}

at::Tensor DclsConstruct(const at::Tensor& weight, const at::Tensor& positions,
                         const c10::optional<at::Tensor>& sigma,
                         const DclsArgs& args, const ExecContext& ctx) {
  const at::Tensor w = weight.contiguous(), p = positions.contiguous();
  const c10::optional<at::Tensor> s = Contiguous(sigma);
  at::Tensor kernel =
      at::empty(DclsKernelSizes(weight, args), weight.options());
  const DclsConstructIO io{ToTensorRef(w, "weight"),
                           ToTensorRef(p, "positions"), ToTensorRef(s, "sigma"),
                           ToTensorRef(kernel, "kernel")};
  Run(weight, ctx, [&](const ExecContext& c) {
    return ops::DclsConstructKernel(args, io, c);
  });
  return kernel;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> DclsConstructBackward(
    const at::Tensor& dkernel, const at::Tensor& weight,
    const at::Tensor& positions, const c10::optional<at::Tensor>& sigma,
    const DclsArgs& args, bool need_weight, bool need_positions,
    bool need_sigma, const ExecContext& ctx) {
  const bool has_sigma = sigma.has_value() && sigma->defined();
  need_sigma = need_sigma && has_sigma;
  if (!need_weight && !need_positions && !need_sigma) return {};
  const at::Tensor dk = dkernel.contiguous(), w = weight.contiguous(),
                   p = positions.contiguous();
  const c10::optional<at::Tensor> s = Contiguous(sigma);
  at::Tensor dweight, dpositions, dsigma;
  DclsConstructBackwardIO io{ToTensorRef(dk, "dkernel"),
                             ToTensorRef(w, "weight"),
                             ToTensorRef(p, "positions"),
                             ToTensorRef(s, "sigma"),
                             std::nullopt,
                             std::nullopt,
                             std::nullopt};
  if (need_weight) {
    dweight = at::empty_like(w);
    io.dweight = ToTensorRef(dweight, "dweight");
  }
  if (need_positions) {
    dpositions = at::empty_like(p);
    io.dpositions = ToTensorRef(dpositions, "dpositions");
  }
  if (need_sigma) {
    dsigma = at::empty_like(*s);
    io.dsigma = ToTensorRef(dsigma, "dsigma");
  }
  Run(weight, ctx, [&](const ExecContext& c) {
    return ops::DclsConstructKernelBackward(args, io, c);
  });
  return {dweight, dpositions, dsigma};
}

namespace {

std::vector<int64_t> DepthwiseOutputSizes(const at::Tensor& x,
                                          const DclsDepthwiseArgs& args) {
  const int64_t rank = x.dim() - 2;
  std::vector<int64_t> kernel(args.dcls.dense_kernel_size.begin(),
                              args.dcls.dense_kernel_size.end());
  kernel.insert(kernel.end(), args.dcls.dilated_kernel_size.begin(),
                args.dcls.dilated_kernel_size.end());
  TORCH_CHECK_VALUE(rank >= 1 && static_cast<int64_t>(kernel.size()) == rank,
                    "x: expected ", kernel.size(),
                    " spatial axes for the kernel, got ", x.sizes());
  auto at_axis = [](const SpatialDims& v, int64_t i) {
    return v.size() == 1 ? v[0] : v[i];
  };
  TORCH_CHECK_VALUE(args.conv.stride.size() == 1 ||
                        static_cast<int64_t>(args.conv.stride.size()) == rank,
                    "stride: expected 1 or ", rank, " values");
  TORCH_CHECK_VALUE(args.conv.padding.size() == 1 ||
                        static_cast<int64_t>(args.conv.padding.size()) == rank,
                    "padding: expected 1 or ", rank, " values");
  std::vector<int64_t> out = {x.size(0), x.size(1)};
  for (int64_t i = 0; i < rank; ++i) {
    const int64_t s = at_axis(args.conv.stride, i),
                  p = at_axis(args.conv.padding, i);
    TORCH_CHECK_VALUE(s >= 1, "stride: expected >= 1, got ", s);
    out.push_back(
        std::max<int64_t>((x.size(2 + i) + 2 * p - kernel[i]) / s + 1, 0));
  }
  return out;
}

DclsDepthwiseArgs WithGroups(const DclsDepthwiseArgs& args,
                             const at::Tensor& activation) {
  DclsDepthwiseArgs a = args;
  a.conv.groups = activation.dim() >= 2 ? activation.size(1) : 1;
  return a;
}

}  // namespace

at::Tensor DclsDepthwiseConv(const at::Tensor& x, const at::Tensor& weight,
                             const at::Tensor& positions,
                             const c10::optional<at::Tensor>& bias,
                             const DclsDepthwiseArgs& args,
                             const ExecContext& ctx) {
  TORCH_CHECK_VALUE(x.defined(), "x: expected a tensor");
  const DclsDepthwiseArgs a = WithGroups(args, x);
  const at::Tensor xc = x.contiguous(), w = weight.contiguous(),
                   p = positions.contiguous();
  const c10::optional<at::Tensor> b = Contiguous(bias);
  at::Tensor y = at::empty(DepthwiseOutputSizes(x, a), x.options());
  const DclsDepthwiseForwardIO io{
      ToTensorRef(xc, "x"), ToTensorRef(w, "weight"),
      ToTensorRef(p, "positions"), ToTensorRef(b, "bias"), ToTensorRef(y, "y")};
  Run(x, ctx, [&](const ExecContext& c) {
    return ops::DclsDepthwiseForward(a, io, c);
  });
  return y;
}

at::Tensor DclsDepthwiseConvBackwardInput(const at::Tensor& dy,
                                          const at::Tensor& weight,
                                          const at::Tensor& positions,
                                          at::IntArrayRef input_size,
                                          const DclsDepthwiseArgs& args,
                                          const ExecContext& ctx) {
  at::Tensor dx = at::empty(input_size, dy.options());
  const DclsDepthwiseArgs a = WithGroups(args, dx);
  const at::Tensor dyc = dy.contiguous(), w = weight.contiguous(),
                   p = positions.contiguous();
  const DclsDepthwiseBackwardInputIO io{
      ToTensorRef(dyc, "dy"), ToTensorRef(w, "weight"),
      ToTensorRef(p, "positions"), ToTensorRef(dx, "dx")};
  Run(dy, ctx, [&](const ExecContext& c) {
    return ops::DclsDepthwiseBackwardInput(a, io, c);
  });
  return dx;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> DclsDepthwiseConvBackwardParams(
    const at::Tensor& dy, const at::Tensor& x, const at::Tensor& weight,
    const at::Tensor& positions, const DclsDepthwiseArgs& args,
    bool need_weight, bool need_positions, bool need_bias,
    const ExecContext& ctx) {
  if (!need_weight && !need_positions && !need_bias) return {};
  const DclsDepthwiseArgs a = WithGroups(args, x);
  const at::Tensor dyc = dy.contiguous(), xc = x.contiguous(),
                   w = weight.contiguous(), p = positions.contiguous();
  at::Tensor dweight, dpositions, dbias;
  DclsDepthwiseBackwardParamsIO io{ToTensorRef(dyc, "dy"),
                                   ToTensorRef(xc, "x"),
                                   ToTensorRef(w, "weight"),
                                   ToTensorRef(p, "positions"),
                                   std::nullopt,
                                   std::nullopt,
                                   std::nullopt};
  if (need_weight) {
    dweight = at::empty_like(w);
    io.dweight = ToTensorRef(dweight, "dweight");
  }
  if (need_positions) {
    dpositions = at::empty_like(p);
    io.dpositions = ToTensorRef(dpositions, "dpositions");
  }
  if (need_bias) {
    dbias = at::empty({x.size(1)}, x.options());
    io.dbias = ToTensorRef(dbias, "dbias");
  }
  Run(x, ctx, [&](const ExecContext& c) {
    return ops::DclsDepthwiseBackwardParams(a, io, c);
  });
  return {dweight, dpositions, dbias};
}

}  // namespace torch_ops
}  // namespace tapconv
