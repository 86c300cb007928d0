#include "ops/dcls.h"

#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "ops/dispatch.h"
#include "ops/status_macros.h"
#include "ops/tensor_check.h"

namespace tapconv {
namespace {

// Grid indices come from floating positions, clamped to [-2, S + 1]; with
// S <= 2^30 they and their sums stay exact in double and far from int64
// overflow.
constexpr int64_t kMaxDclsSize = int64_t{1} << 30;

absl::string_view InterpolationName(DclsInterpolation interpolation) {
  switch (interpolation) {
    case DclsInterpolation::kBilinear:
      return "bilinear";
    case DclsInterpolation::kGauss:
      return "gauss";
    case DclsInterpolation::kTriangle:
      return "triangle";
  }
  return "unknown";
}

bool HasSigma(const DclsArgs& args) {
  return args.interpolation != DclsInterpolation::kBilinear;
}

std::string SizesString(const SpatialDims& sizes) {
  return ShapeString(absl::MakeConstSpan(sizes.data(), sizes.size()));
}

absl::Status CheckSizes(const SpatialDims& sizes, absl::string_view name) {
  for (int64_t s : sizes) {
    if (s < 1 || s > kMaxDclsSize) {
      return ArgError(name, absl::StrCat("expected sizes in [1, 2^30], got ",
                                         SizesString(sizes)));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateArgs(const DclsArgs& args) {
  const size_t dense = args.dense_kernel_size.size();
  const size_t learnable = args.dilated_kernel_size.size();
  if (learnable < 1 || learnable > kMaxDclsAxes) {
    return ArgError("dilated_kernel_size",
                    absl::StrCat("expected 1 to 3 learnable axes, got ",
                                 SizesString(args.dilated_kernel_size)));
  }
  if (dense + learnable > kMaxDclsAxes) {
    return ArgError(
        "dense_kernel_size",
        absl::StrCat("dense and learnable axes together must be at most 3, "
                     "got dense ",
                     SizesString(args.dense_kernel_size), " and dilated ",
                     SizesString(args.dilated_kernel_size)));
  }
  TAPCONV_RETURN_IF_ERROR(
      CheckSizes(args.dense_kernel_size, "dense_kernel_size"));
  TAPCONV_RETURN_IF_ERROR(
      CheckSizes(args.dilated_kernel_size, "dilated_kernel_size"));
  if (args.interpolation != DclsInterpolation::kBilinear &&
      args.interpolation != DclsInterpolation::kGauss &&
      args.interpolation != DclsInterpolation::kTriangle) {
    return ArgError(
        "interpolation",
        absl::StrCat("expected bilinear, gauss or triangle, got value ",
                     static_cast<int>(args.interpolation)));
  }
  if (args.axis_order != DclsAxisOrder::kNatural &&
      args.axis_order != DclsAxisOrder::kReversed) {
    return ArgError("axis_order",
                    absl::StrCat("expected natural or reversed, got value ",
                                 static_cast<int>(args.axis_order)));
  }
  if (args.sigma_floor.has_value()) {
    const double f = *args.sigma_floor;
    if (!std::isfinite(f)) {
      return ArgError("sigma_floor",
                      absl::StrCat("expected a finite value, got ", f));
    }
    if (HasSigma(args) && !(f > 0)) {
      return ArgError("sigma_floor",
                      absl::StrCat("expected > 0 for ",
                                   InterpolationName(args.interpolation),
                                   " interpolation (sigma = |SIG| + floor must "
                                   "stay positive), got ",
                                   f));
    }
  }
  const double eps = args.normalization_epsilon;
  if (!std::isfinite(eps) || eps < 0) {
    return ArgError("normalization_epsilon",
                    absl::StrCat("expected a finite value >= 0, got ", eps));
  }
  return absl::OkStatus();
}

std::string WeightDims(int dense_rank) {
  std::string dims = "(C_out, C_in/groups";
  for (int i = 0; i < dense_rank; ++i) absl::StrAppend(&dims, ", d", i);
  absl::StrAppend(&dims, ", K)");
  return dims;
}

std::string PositionDims(int dense_rank) {
  return absl::StrCat("(M, ", WeightDims(dense_rank).substr(1));
}

constexpr absl::string_view kKernelDims =
    "(C_out, C_in/groups, *dense_kernel_size, *dilated_kernel_size)";

// Checks weight, positions and sigma (present iff the interpolation has one)
// and fills the shape. `weight` is the dtype/device reference of the DCLS
// parameters.
absl::Status ReadParameters(const DclsArgs& args, const TensorRef& weight,
                            const TensorRef& positions,
                            const std::optional<TensorRef>& sigma,
                            DclsShape* s) {
  s->dense_rank = static_cast<int>(args.dense_kernel_size.size());
  s->learnable_rank = static_cast<int>(args.dilated_kernel_size.size());
  s->dense_size = args.dense_kernel_size;
  s->dilated_size = args.dilated_kernel_size;
  TAPCONV_RETURN_IF_ERROR(
      Expect(weight, "weight")
          .Rank(3 + s->dense_rank, WeightDims(s->dense_rank))
          .FloatingPoint()
          .Contiguous()
          .status());
  for (int i = 0; i < s->dense_rank; ++i) {
    if (weight.shape[2 + i] != args.dense_kernel_size[i]) {
      return ArgError("weight",
                      absl::StrCat("expected shape[2:", 2 + s->dense_rank,
                                   "] = dense_kernel_size ",
                                   SizesString(args.dense_kernel_size),
                                   ", got shape ", ShapeString(weight.shape)));
    }
  }
  s->out_channels = weight.shape[0];
  s->in_per_group = weight.shape[1];
  s->kernel_count = weight.shape[2 + s->dense_rank];

  Dims position_shape{s->learnable_rank};
  position_shape.insert(position_shape.end(), weight.shape.begin(),
                        weight.shape.end());
  TAPCONV_RETURN_IF_ERROR(
      Expect(positions, "positions")
          .Shape(position_shape, PositionDims(s->dense_rank))
          .HasDType(weight.dtype, "same as weight")
          .OnDevice(weight.device, "same as weight")
          .Contiguous()
          .status());
  if (HasSigma(args) && !sigma.has_value()) {
    return ArgError("sigma", absl::StrCat("required for ",
                                          InterpolationName(args.interpolation),
                                          " interpolation, got none"));
  }
  if (!HasSigma(args) && sigma.has_value()) {
    return ArgError("sigma",
                    "bilinear interpolation takes no sigma, but one was given");
  }
  if (sigma.has_value()) {
    TAPCONV_RETURN_IF_ERROR(Expect(*sigma, "sigma")
                                .Shape(position_shape, "(like positions)")
                                .HasDType(weight.dtype, "same as weight")
                                .OnDevice(weight.device, "same as weight")
                                .Contiguous()
                                .status());
  }
  s->kernel_shape = DclsKernelShape(args, weight.shape);
  int64_t kernel_numel = 0;
  TAPCONV_RETURN_IF_ERROR(
      CheckedProduct(s->kernel_shape, "dilated_kernel_size", &kernel_numel));
  // Only now: with K = 0 the weight's own element count does not bound this.
  s->groups_of_elements = s->out_channels * s->in_per_group;
  for (int64_t d : args.dense_kernel_size) s->groups_of_elements *= d;
  return absl::OkStatus();
}

// An output shaped like `like` (an input), in the parameters' dtype and device.
absl::Status CheckOutputLike(const TensorRef& out, absl::string_view name,
                             const TensorRef& like, absl::string_view like_name,
                             const TensorRef& reference) {
  return Expect(out, name)
      .Shape(like.shape, absl::StrCat("(like ", like_name, ")"))
      .HasDType(reference.dtype, "same as weight")
      .OnDevice(reference.device, "same as weight")
      .Contiguous()
      .status();
}

// A named tensor for the overlap checks.
struct Named {
  const TensorRef* t;
  absl::string_view name;
};

absl::Status CheckNoOverlap(const TensorRef& out, absl::string_view name,
                            std::initializer_list<Named> others) {
  Expect e(out, name);
  for (const Named& o : others) {
    if (o.t != nullptr) e.DoesNotOverlap(*o.t, o.name);
  }
  return e.status();
}

const TensorRef* Ptr(const std::optional<TensorRef>& t) {
  return t.has_value() ? &*t : nullptr;
}

// Depthwise: reads x (or dx: `activation`), checks weight against it and the
// args, and fills both shapes. The activation is the dtype/device reference.
absl::Status ReadDepthwise(const DclsDepthwiseArgs& args,
                           const TensorRef& activation,
                           absl::string_view activation_name,
                           const TensorRef& weight, const TensorRef& positions,
                           DclsShape* ds, ConvNdShape* cs) {
  TAPCONV_RETURN_IF_ERROR(ValidateArgs(args.dcls));
  if (args.dcls.interpolation != DclsInterpolation::kBilinear) {
    return ArgError(
        "interpolation",
        absl::StrCat("the fused depthwise path supports bilinear only, got ",
                     InterpolationName(args.dcls.interpolation)));
  }
  const int rank = static_cast<int>(args.dcls.dense_kernel_size.size() +
                                    args.dcls.dilated_kernel_size.size());
  TAPCONV_RETURN_IF_ERROR(
      Expect(activation, activation_name)
          .Rank(rank + 2,
                absl::StrCat("(N, C, *spatial) with dense + learnable = ", rank,
                             " spatial axes"))
          .FloatingPoint()
          .Contiguous()
          .status());
  TAPCONV_RETURN_IF_ERROR(
      Expect(weight, "weight")
          .HasDType(activation.dtype, absl::StrCat("same as ", activation_name))
          .OnDevice(activation.device,
                    absl::StrCat("same as ", activation_name))
          .status());
  TAPCONV_RETURN_IF_ERROR(
      ReadParameters(args.dcls, weight, positions, std::nullopt, ds));
  const int64_t channels = activation.shape[1];
  if (ds->out_channels != channels || ds->in_per_group != 1) {
    return ArgError("weight",
                    absl::StrCat("depthwise: expected shape [", channels,
                                 ", 1, ...] (C = ", activation_name,
                                 ".shape[1], C_in/groups = 1), got ",
                                 ShapeString(weight.shape)));
  }
  if (args.conv.groups != channels) {
    return ArgError("groups",
                    absl::StrCat("depthwise: expected groups = C = ", channels,
                                 ", got ", args.conv.groups));
  }
  cs->spatial_rank = rank;
  cs->batch = activation.shape[0];
  cs->in_channels = channels;
  cs->out_channels = channels;
  cs->in.assign(activation.shape.begin() + 2, activation.shape.end());
  cs->kernel.assign(ds->kernel_shape.begin() + 2, ds->kernel_shape.end());
  return CompleteConvNdShape(args.conv, activation_name, "dilated_kernel_size",
                             cs);
}

Dims OutputShape(const ConvNdShape& s) {
  Dims d{s.batch, s.out_channels};
  d.insert(d.end(), s.out.begin(), s.out.end());
  return d;
}

// x's spatial rank, dtype and device against the DCLS parameters, for the
// composites (so that a mismatch names x rather than the kernel it meets).
absl::Status CheckCompositeInput(const DclsArgs& dcls, const TensorRef& x,
                                 absl::string_view name,
                                 const TensorRef& weight) {
  const int rank = static_cast<int>(dcls.dense_kernel_size.size() +
                                    dcls.dilated_kernel_size.size());
  return Expect(x, name)
      .Rank(rank + 2,
            absl::StrCat("(N, C_in, *spatial) with dense + learnable = ", rank,
                         " spatial axes"))
      .FloatingPoint()
      .HasDType(weight.dtype, "same as weight")
      .OnDevice(weight.device, "same as weight")
      .Contiguous()
      .status();
}

// weight's channel axes against x and groups, named as ConvNd names them.
absl::Status CheckCompositeChannels(const ConvNdArgs& conv, const TensorRef& x,
                                    const DclsShape& s) {
  if (conv.groups < 1) {
    return ArgError("groups", absl::StrCat("expected >= 1, got ", conv.groups));
  }
  if (x.shape[1] % conv.groups != 0) {
    return ArgError(
        "groups", absl::StrCat("input channels ", x.shape[1],
                               " are not divisible by groups = ", conv.groups));
  }
  if (s.out_channels % conv.groups != 0 ||
      s.in_per_group != x.shape[1] / conv.groups) {
    return ArgError(
        "weight",
        absl::StrCat(
            "expected shape [C_out, C_in/groups = ", x.shape[1] / conv.groups,
            ", ...] with C_out divisible by groups = ", conv.groups, ", got ",
            ShapeString(s.kernel_shape)));
  }
  return absl::OkStatus();
}

}  // namespace

double DclsSigmaFloor(const DclsArgs& args) {
  return args.sigma_floor.value_or(DefaultSigmaFloor(args.interpolation));
}

Dims DclsKernelShape(const DclsArgs& args,
                     absl::Span<const int64_t> weight_shape) {
  Dims shape;
  for (size_t i = 0; i < 2 && i < weight_shape.size(); ++i) {
    shape.push_back(weight_shape[i]);
  }
  shape.insert(shape.end(), args.dense_kernel_size.begin(),
               args.dense_kernel_size.end());
  shape.insert(shape.end(), args.dilated_kernel_size.begin(),
               args.dilated_kernel_size.end());
  return shape;
}

absl::Status ValidateDclsConstruct(const DclsArgs& args,
                                   const DclsConstructIO& io,
                                   DclsShape* shape) {
  TAPCONV_RETURN_IF_ERROR(ValidateArgs(args));
  DclsShape s;
  TAPCONV_RETURN_IF_ERROR(
      ReadParameters(args, io.weight, io.positions, io.sigma, &s));
  TAPCONV_RETURN_IF_ERROR(Expect(io.kernel, "kernel")
                              .Shape(s.kernel_shape, kKernelDims)
                              .HasDType(io.weight.dtype, "same as weight")
                              .OnDevice(io.weight.device, "same as weight")
                              .Contiguous()
                              .status());
  TAPCONV_RETURN_IF_ERROR(CheckNoOverlap(io.kernel, "kernel",
                                         {{&io.weight, "weight"},
                                          {&io.positions, "positions"},
                                          {Ptr(io.sigma), "sigma"}}));
  if (shape != nullptr) *shape = s;
  return absl::OkStatus();
}

absl::Status ValidateDclsConstructBackward(const DclsArgs& args,
                                           const DclsConstructBackwardIO& io,
                                           DclsShape* shape) {
  TAPCONV_RETURN_IF_ERROR(ValidateArgs(args));
  DclsShape s;
  TAPCONV_RETURN_IF_ERROR(
      ReadParameters(args, io.weight, io.positions, io.sigma, &s));
  TAPCONV_RETURN_IF_ERROR(Expect(io.dkernel, "dkernel")
                              .Shape(s.kernel_shape, kKernelDims)
                              .HasDType(io.weight.dtype, "same as weight")
                              .OnDevice(io.weight.device, "same as weight")
                              .Contiguous()
                              .status());
  if (!io.dweight && !io.dpositions && !io.dsigma) {
    return ArgError("dweight",
                    "none of dweight, dpositions, dsigma was requested");
  }
  if (io.dsigma && !HasSigma(args)) {
    return ArgError("dsigma", "bilinear interpolation has no sigma");
  }
  const std::initializer_list<Named> inputs = {{&io.dkernel, "dkernel"},
                                               {&io.weight, "weight"},
                                               {&io.positions, "positions"},
                                               {Ptr(io.sigma), "sigma"}};
  if (io.dweight) {
    TAPCONV_RETURN_IF_ERROR(CheckOutputLike(*io.dweight, "dweight", io.weight,
                                            "weight", io.weight));
    TAPCONV_RETURN_IF_ERROR(CheckNoOverlap(*io.dweight, "dweight", inputs));
  }
  if (io.dpositions) {
    TAPCONV_RETURN_IF_ERROR(CheckOutputLike(
        *io.dpositions, "dpositions", io.positions, "positions", io.weight));
    TAPCONV_RETURN_IF_ERROR(
        CheckNoOverlap(*io.dpositions, "dpositions", inputs));
    TAPCONV_RETURN_IF_ERROR(CheckNoOverlap(*io.dpositions, "dpositions",
                                           {{Ptr(io.dweight), "dweight"}}));
  }
  if (io.dsigma) {
    TAPCONV_RETURN_IF_ERROR(
        CheckOutputLike(*io.dsigma, "dsigma", *io.sigma, "sigma", io.weight));
    TAPCONV_RETURN_IF_ERROR(CheckNoOverlap(*io.dsigma, "dsigma", inputs));
    TAPCONV_RETURN_IF_ERROR(CheckNoOverlap(
        *io.dsigma, "dsigma",
        {{Ptr(io.dweight), "dweight"}, {Ptr(io.dpositions), "dpositions"}}));
  }
  if (shape != nullptr) *shape = s;
  return absl::OkStatus();
}

absl::Status ValidateDclsDepthwiseForward(const DclsDepthwiseArgs& args,
                                          const DclsDepthwiseForwardIO& io,
                                          DclsShape* dcls_shape,
                                          ConvNdShape* conv_shape) {
  DclsShape ds;
  ConvNdShape cs;
  TAPCONV_RETURN_IF_ERROR(
      ReadDepthwise(args, io.x, "x", io.weight, io.positions, &ds, &cs));
  if (io.bias) {
    TAPCONV_RETURN_IF_ERROR(Expect(*io.bias, "bias")
                                .Shape({cs.out_channels}, "(C)")
                                .HasDType(io.x.dtype, "same as x")
                                .OnDevice(io.x.device, "same as x")
                                .Contiguous()
                                .status());
  }
  TAPCONV_RETURN_IF_ERROR(
      Expect(io.y, "y")
          .Shape(OutputShape(cs),
                 "(N, C, *out), out = floor((in + 2*padding - "
                 "dilation*(k-1) - 1)/stride) + 1")
          .HasDType(io.x.dtype, "same as x")
          .OnDevice(io.x.device, "same as x")
          .Contiguous()
          .status());
  TAPCONV_RETURN_IF_ERROR(CheckNoOverlap(io.y, "y",
                                         {{&io.x, "x"},
                                          {&io.weight, "weight"},
                                          {&io.positions, "positions"},
                                          {Ptr(io.bias), "bias"}}));
  if (dcls_shape != nullptr) *dcls_shape = ds;
  if (conv_shape != nullptr) *conv_shape = cs;
  return absl::OkStatus();
}

absl::Status ValidateDclsDepthwiseBackwardInput(
    const DclsDepthwiseArgs& args, const DclsDepthwiseBackwardInputIO& io,
    DclsShape* dcls_shape, ConvNdShape* conv_shape) {
  DclsShape ds;
  ConvNdShape cs;
  TAPCONV_RETURN_IF_ERROR(
      ReadDepthwise(args, io.dx, "dx", io.weight, io.positions, &ds, &cs));
  TAPCONV_RETURN_IF_ERROR(
      Expect(io.dy, "dy")
          .Shape(OutputShape(cs),
                 "(the forward's output shape for an input shaped like dx)")
          .HasDType(io.dx.dtype, "same as dx")
          .OnDevice(io.dx.device, "same as dx")
          .Contiguous()
          .status());
  TAPCONV_RETURN_IF_ERROR(CheckNoOverlap(
      io.dx, "dx",
      {{&io.dy, "dy"}, {&io.weight, "weight"}, {&io.positions, "positions"}}));
  if (dcls_shape != nullptr) *dcls_shape = ds;
  if (conv_shape != nullptr) *conv_shape = cs;
  return absl::OkStatus();
}

absl::Status ValidateDclsDepthwiseBackwardParams(
    const DclsDepthwiseArgs& args, const DclsDepthwiseBackwardParamsIO& io,
    DclsShape* dcls_shape, ConvNdShape* conv_shape) {
  DclsShape ds;
  ConvNdShape cs;
  TAPCONV_RETURN_IF_ERROR(
      ReadDepthwise(args, io.x, "x", io.weight, io.positions, &ds, &cs));
  TAPCONV_RETURN_IF_ERROR(
      Expect(io.dy, "dy")
          .Shape(OutputShape(cs), "(the forward's output shape for x)")
          .HasDType(io.x.dtype, "same as x")
          .OnDevice(io.x.device, "same as x")
          .Contiguous()
          .status());
  if (!io.dweight && !io.dpositions && !io.dbias) {
    return ArgError("dweight",
                    "none of dweight, dpositions, dbias was requested");
  }
  const std::initializer_list<Named> inputs = {{&io.dy, "dy"},
                                               {&io.x, "x"},
                                               {&io.weight, "weight"},
                                               {&io.positions, "positions"}};
  if (io.dweight) {
    TAPCONV_RETURN_IF_ERROR(
        CheckOutputLike(*io.dweight, "dweight", io.weight, "weight", io.x));
    TAPCONV_RETURN_IF_ERROR(CheckNoOverlap(*io.dweight, "dweight", inputs));
  }
  if (io.dpositions) {
    TAPCONV_RETURN_IF_ERROR(CheckOutputLike(*io.dpositions, "dpositions",
                                            io.positions, "positions", io.x));
    TAPCONV_RETURN_IF_ERROR(
        CheckNoOverlap(*io.dpositions, "dpositions", inputs));
    TAPCONV_RETURN_IF_ERROR(CheckNoOverlap(*io.dpositions, "dpositions",
                                           {{Ptr(io.dweight), "dweight"}}));
  }
  if (io.dbias) {
    TAPCONV_RETURN_IF_ERROR(Expect(*io.dbias, "dbias")
                                .Shape({cs.out_channels}, "(C)")
                                .HasDType(io.x.dtype, "same as x")
                                .OnDevice(io.x.device, "same as x")
                                .Contiguous()
                                .status());
    TAPCONV_RETURN_IF_ERROR(CheckNoOverlap(*io.dbias, "dbias", inputs));
    TAPCONV_RETURN_IF_ERROR(CheckNoOverlap(
        *io.dbias, "dbias",
        {{Ptr(io.dweight), "dweight"}, {Ptr(io.dpositions), "dpositions"}}));
  }
  if (dcls_shape != nullptr) *dcls_shape = ds;
  if (conv_shape != nullptr) *conv_shape = cs;
  return absl::OkStatus();
}

namespace ops {

absl::Status DclsConstructKernel(const DclsArgs& args,
                                 const DclsConstructIO& io,
                                 const ExecContext& ctx) {
  TAPCONV_RETURN_IF_ERROR(ValidateDclsConstruct(args, io));
  return Dispatch(io.weight.device, ctx, [&](const Backend& b) {
    return b.DclsConstruct(args, io, ctx);
  });
}

absl::Status DclsConstructKernelBackward(const DclsArgs& args,
                                         const DclsConstructBackwardIO& io,
                                         const ExecContext& ctx) {
  TAPCONV_RETURN_IF_ERROR(ValidateDclsConstructBackward(args, io));
  return Dispatch(io.weight.device, ctx, [&](const Backend& b) {
    return b.DclsConstructBackward(args, io, ctx);
  });
}

absl::Status DclsDepthwiseForward(const DclsDepthwiseArgs& args,
                                  const DclsDepthwiseForwardIO& io,
                                  const ExecContext& ctx) {
  TAPCONV_RETURN_IF_ERROR(ValidateDclsDepthwiseForward(args, io));
  return Dispatch(io.x.device, ctx, [&](const Backend& b) {
    return b.DclsDepthwiseForward(args, io, ctx);
  });
}

absl::Status DclsDepthwiseBackwardInput(const DclsDepthwiseArgs& args,
                                        const DclsDepthwiseBackwardInputIO& io,
                                        const ExecContext& ctx) {
  TAPCONV_RETURN_IF_ERROR(ValidateDclsDepthwiseBackwardInput(args, io));
  return Dispatch(io.dx.device, ctx, [&](const Backend& b) {
    return b.DclsDepthwiseBackwardInput(args, io, ctx);
  });
}

absl::Status DclsDepthwiseBackwardParams(
    const DclsDepthwiseArgs& args, const DclsDepthwiseBackwardParamsIO& io,
    const ExecContext& ctx) {
  TAPCONV_RETURN_IF_ERROR(ValidateDclsDepthwiseBackwardParams(args, io));
  return Dispatch(io.x.device, ctx, [&](const Backend& b) {
    return b.DclsDepthwiseBackwardParams(args, io, ctx);
  });
}

absl::Status ValidateDclsConvForward(const DclsArgs& dcls,
                                     const ConvNdArgs& conv,
                                     const DclsConvForwardIO& io) {
  DclsShape s;
  TAPCONV_RETURN_IF_ERROR(ValidateDclsConstruct(
      dcls, {io.weight, io.positions, io.sigma, io.kernel}, &s));
  TAPCONV_RETURN_IF_ERROR(CheckCompositeInput(dcls, io.x, "x", io.weight));
  TAPCONV_RETURN_IF_ERROR(CheckCompositeChannels(conv, io.x, s));
  TAPCONV_RETURN_IF_ERROR(
      CheckNoOverlap(io.kernel, "kernel",
                     {{&io.x, "x"}, {Ptr(io.bias), "bias"}, {&io.y, "y"}}));
  TAPCONV_RETURN_IF_ERROR(CheckNoOverlap(io.y, "y",
                                         {{&io.weight, "weight"},
                                          {&io.positions, "positions"},
                                          {Ptr(io.sigma), "sigma"}}));
  // What is left (stride, padding, dilation, bias, y, x's size) is the
  // convolution's, under the same names.
  return ValidateConvNdForward(conv, {io.x, io.kernel, io.bias, io.y});
}

absl::Status ValidateDclsConvBackward(const DclsArgs& dcls,
                                      const ConvNdArgs& conv,
                                      const DclsConvBackwardIO& io) {
  const bool any_param = io.dweight || io.dpositions || io.dsigma;
  if (!io.dx && !any_param && !io.dbias) {
    return ArgError(
        "dx", "none of dx, dweight, dpositions, dsigma, dbias was requested");
  }
  DclsShape s;
  TAPCONV_RETURN_IF_ERROR(ValidateArgs(dcls));
  TAPCONV_RETURN_IF_ERROR(
      ReadParameters(dcls, io.weight, io.positions, io.sigma, &s));
  for (const Named& k :
       {Named{&io.kernel, "kernel"}, Named{&io.dkernel, "dkernel"}}) {
    TAPCONV_RETURN_IF_ERROR(Expect(*k.t, k.name)
                                .Shape(s.kernel_shape, kKernelDims)
                                .HasDType(io.weight.dtype, "same as weight")
                                .OnDevice(io.weight.device, "same as weight")
                                .Contiguous()
                                .status());
  }
  if (any_param) {
    // dweight, dpositions, dsigma: shapes, and no overlap with dkernel, the
    // parameters or each other.
    TAPCONV_RETURN_IF_ERROR(ValidateDclsConstructBackward(
        dcls, {io.dkernel, io.weight, io.positions, io.sigma, io.dweight,
               io.dpositions, io.dsigma}));
  }
  TAPCONV_RETURN_IF_ERROR(CheckCompositeInput(dcls, io.x, "x", io.weight));
  TAPCONV_RETURN_IF_ERROR(CheckCompositeChannels(conv, io.x, s));
  TAPCONV_RETURN_IF_ERROR(CheckCompositeInput(dcls, io.dy, "dy", io.weight));
  // The workspace is written first and read last: it may alias nothing.
  TAPCONV_RETURN_IF_ERROR(CheckNoOverlap(io.dkernel, "dkernel",
                                         {{&io.dy, "dy"},
                                          {&io.x, "x"},
                                          {&io.weight, "weight"},
                                          {&io.positions, "positions"},
                                          {Ptr(io.sigma), "sigma"},
                                          {&io.kernel, "kernel"},
                                          {Ptr(io.dx), "dx"},
                                          {Ptr(io.dweight), "dweight"},
                                          {Ptr(io.dpositions), "dpositions"},
                                          {Ptr(io.dsigma), "dsigma"},
                                          {Ptr(io.dbias), "dbias"}}));
  if (io.dx) {
    TAPCONV_RETURN_IF_ERROR(Expect(*io.dx, "dx")
                                .Shape(io.x.shape, "(like x)")
                                .HasDType(io.x.dtype, "same as x")
                                .OnDevice(io.x.device, "same as x")
                                .Contiguous()
                                .status());
  }
  // Every output against every input and every other output.
  const std::initializer_list<Named> outputs = {
      {Ptr(io.dx), "dx"},
      {Ptr(io.dweight), "dweight"},
      {Ptr(io.dpositions), "dpositions"},
      {Ptr(io.dsigma), "dsigma"},
      {Ptr(io.dbias), "dbias"}};
  for (auto out = outputs.begin(); out != outputs.end(); ++out) {
    if (out->t == nullptr) continue;
    TAPCONV_RETURN_IF_ERROR(CheckNoOverlap(*out->t, out->name,
                                           {{&io.dy, "dy"},
                                            {&io.x, "x"},
                                            {&io.weight, "weight"},
                                            {&io.positions, "positions"},
                                            {Ptr(io.sigma), "sigma"},
                                            {&io.kernel, "kernel"}}));
    for (auto other = outputs.begin(); other != out; ++other) {
      if (other->t == nullptr) continue;
      TAPCONV_RETURN_IF_ERROR(
          CheckNoOverlap(*out->t, out->name, {{other->t, other->name}}));
    }
  }
  // The rest (stride, padding, dilation, dy's and dbias's shapes) is the
  // convolution's, under the same names; dkernel stands for the kernel.
  TAPCONV_RETURN_IF_ERROR(
      ValidateConvNdBackwardParams(conv, {io.dy, io.x, io.dkernel, io.dbias}));
  if (io.dx) {
    TAPCONV_RETURN_IF_ERROR(
        ValidateConvNdBackwardInput(conv, {io.dy, io.kernel, *io.dx}));
  }
  return absl::OkStatus();
}

absl::Status DclsConvForward(const DclsArgs& dcls, const ConvNdArgs& conv,
                             const DclsConvForwardIO& io,
                             const ExecContext& ctx) {
  TAPCONV_RETURN_IF_ERROR(ValidateDclsConvForward(dcls, conv, io));
  TAPCONV_RETURN_IF_ERROR(DclsConstructKernel(
      dcls, {io.weight, io.positions, io.sigma, io.kernel}, ctx));
  return ConvNdForward(conv, {io.x, io.kernel, io.bias, io.y}, ctx);
}

absl::Status DclsConvBackward(const DclsArgs& dcls, const ConvNdArgs& conv,
                              const DclsConvBackwardIO& io,
                              const ExecContext& ctx) {
  TAPCONV_RETURN_IF_ERROR(ValidateDclsConvBackward(dcls, conv, io));
  const bool any_param = io.dweight || io.dpositions || io.dsigma;
  if (any_param || io.dbias) {
    std::optional<TensorRef> dkernel;
    if (any_param) dkernel = io.dkernel;
    TAPCONV_RETURN_IF_ERROR(
        ConvNdBackwardParams(conv, {io.dy, io.x, dkernel, io.dbias}, ctx));
  }
  if (any_param) {
    TAPCONV_RETURN_IF_ERROR(DclsConstructKernelBackward(
        dcls,
        {io.dkernel, io.weight, io.positions, io.sigma, io.dweight,
         io.dpositions, io.dsigma},
        ctx));
  }
  if (io.dx) {
    TAPCONV_RETURN_IF_ERROR(
        ConvNdBackwardInput(conv, {io.dy, io.kernel, *io.dx}, ctx));
  }
  return absl::OkStatus();
}

}  // namespace ops
}  // namespace tapconv
