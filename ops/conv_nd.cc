#include "ops/conv_nd.h"

#include "absl/strings/str_cat.h"
#include "ops/dispatch.h"
#include "ops/status_macros.h"
#include "ops/tensor_check.h"

namespace tapconv {
namespace {

absl::string_view ActivationDims(int spatial_rank) {
  switch (spatial_rank) {
    case 1:
      return "(N, C, L)";
    case 2:
      return "(N, C, H, W)";
    default:
      return "(N, C, D, H, W)";
  }
}

absl::string_view WeightDims(int spatial_rank) {
  switch (spatial_rank) {
    case 1:
      return "(C_out, C_in/groups, kL)";
    case 2:
      return "(C_out, C_in/groups, kH, kW)";
    default:
      return "(C_out, C_in/groups, kD, kH, kW)";
  }
}

// Broadcasts a per-axis argument (one value or one per spatial axis) and checks
// its range.
absl::Status Broadcast(const SpatialDims& values, absl::string_view name,
                       int rank, int64_t minimum, SpatialDims* out) {
  if (values.size() != 1 && static_cast<int>(values.size()) != rank) {
    return ArgError(name, absl::StrCat("expected 1 or ", rank,
                                       " values (one per spatial axis), got ",
                                       values.size()));
  }
  out->clear();
  for (int d = 0; d < rank; ++d) {
    const int64_t v = values.size() == 1 ? values[0] : values[d];
    if (v < minimum || v > kMaxIndex / 4) {
      return ArgError(
          name, absl::StrCat("expected values >= ", minimum, ", got ", v));
    }
    out->push_back(v);
  }
  return absl::OkStatus();
}

// Reads the activation `t` (N, C, *spatial) into the shape's
// batch/channels/spatial fields.
absl::Status ReadActivation(const TensorRef& t, absl::string_view name,
                            int64_t* batch, int64_t* channels,
                            SpatialDims* spatial) {
  TAPCONV_RETURN_IF_ERROR(
      Expect(t, name).FloatingPoint().Contiguous().status());
  if (t.rank() < 3 || t.rank() > 5) {
    return ArgError(
        name,
        absl::StrCat(
            "expected a 3-D, 4-D or 5-D tensor (N, C, *spatial), got shape ",
            ShapeString(t.shape)));
  }
  *batch = t.shape[0];
  *channels = t.shape[1];
  spatial->assign(t.shape.begin() + 2, t.shape.end());
  return absl::OkStatus();
}

// Fills stride/padding/dilation/groups and checks groups against the input
// channels.
absl::Status ReadArgs(const ConvNdArgs& args, ConvNdShape* s) {
  const int r = s->spatial_rank;
  TAPCONV_RETURN_IF_ERROR(Broadcast(args.stride, "stride", r, 1, &s->stride));
  TAPCONV_RETURN_IF_ERROR(
      Broadcast(args.padding, "padding", r, 0, &s->padding));
  TAPCONV_RETURN_IF_ERROR(
      Broadcast(args.dilation, "dilation", r, 1, &s->dilation));
  if (args.groups < 1)
    return ArgError("groups", absl::StrCat("expected >= 1, got ", args.groups));
  s->groups = args.groups;
  if (s->in_channels % args.groups != 0) {
    return ArgError(
        "groups", absl::StrCat("input channels ", s->in_channels,
                               " are not divisible by groups = ", args.groups));
  }
  return absl::OkStatus();
}

// Fills stride/padding/dilation/groups and checks the weight against the input
// channels.
absl::Status ReadWeightAndArgs(const ConvNdArgs& args, const TensorRef& weight,
                               absl::string_view weight_name,
                               const TensorRef& like, ConvNdShape* s) {
  const int r = s->spatial_rank;
  TAPCONV_RETURN_IF_ERROR(ReadArgs(args, s));
  TAPCONV_RETURN_IF_ERROR(Expect(weight, weight_name)
                              .Rank(r + 2, WeightDims(r))
                              .HasDType(like.dtype, "same as the activations")
                              .OnDevice(like.device, "same as the activations")
                              .Contiguous()
                              .status());
  s->out_channels = weight.shape[0];
  if (s->out_channels % args.groups != 0) {
    return ArgError(
        weight_name,
        absl::StrCat("output channels weight.shape[0] = ", s->out_channels,
                     " are not divisible by groups = ", args.groups));
  }
  if (weight.shape[1] != s->in_channels / args.groups) {
    return ArgError(weight_name,
                    absl::StrCat("expected weight.shape[1] = C_in/groups = ",
                                 s->in_channels / args.groups, ", got shape ",
                                 ShapeString(weight.shape)));
  }
  s->kernel.assign(weight.shape.begin() + 2, weight.shape.end());
  return absl::OkStatus();
}

// out = floor((in + 2p - d(k-1) - 1)/s) + 1; the receptive field must fit the
// padded input.
absl::Status ComputeOutput(ConvNdShape* s, absl::string_view input_name,
                           absl::string_view kernel_name) {
  s->out.clear();
  for (int d = 0; d < s->spatial_rank; ++d) {
    if (s->kernel[d] < 1) {
      return ArgError(kernel_name,
                      absl::StrCat("kernel sizes must be >= 1, got ",
                                   ShapeString(s->kernel)));
    }
    if (s->in[d] > kMaxIndex / 4) {
      return ArgError(input_name,
                      absl::StrCat("spatial size ", s->in[d], " is too large"));
    }
    if (s->kernel[d] > kMaxIndex / 4 / s->dilation[d]) {
      return ArgError(kernel_name,
                      "kernel extent dilation * (kernel - 1) is too large");
    }
    const int64_t padded = s->in[d] + 2 * s->padding[d];
    const int64_t extent = s->dilation[d] * (s->kernel[d] - 1) + 1;
    if (padded < extent) {
      return ArgError(
          input_name,
          absl::StrCat("spatial axis ", d, ": padded size ", padded,
                       " is smaller than the kernel extent ", extent));
    }
    s->out.push_back((padded - extent) / s->stride[d] + 1);
  }
  return absl::OkStatus();
}

Dims ActivationShape(int64_t n, int64_t c, const SpatialDims& spatial) {
  Dims d{n, c};
  d.insert(d.end(), spatial.begin(), spatial.end());
  return d;
}

absl::Status CheckBias(const std::optional<TensorRef>& bias,
                       absl::string_view name, const TensorRef& like,
                       int64_t out_channels) {
  if (!bias.has_value()) return absl::OkStatus();
  return Expect(*bias, name)
      .Shape({out_channels}, "(C_out)")
      .HasDType(like.dtype, "same as the activations")
      .OnDevice(like.device, "same as the activations")
      .Contiguous()
      .status();
}

}  // namespace

absl::Status CompleteConvNdShape(const ConvNdArgs& args,
                                 absl::string_view input_name,
                                 absl::string_view kernel_name,
                                 ConvNdShape* shape) {
  if (shape->spatial_rank < 1 || shape->spatial_rank > 3 ||
      static_cast<int>(shape->in.size()) != shape->spatial_rank ||
      static_cast<int>(shape->kernel.size()) != shape->spatial_rank) {
    return ArgError(
        input_name,
        absl::StrCat("expected 1 to 3 spatial axes, got ", shape->in.size(),
                     " (kernel ", shape->kernel.size(), ")"));
  }
  TAPCONV_RETURN_IF_ERROR(ReadArgs(args, shape));
  if (shape->out_channels % args.groups != 0) {
    return ArgError(
        kernel_name,
        absl::StrCat("output channels ", shape->out_channels,
                     " are not divisible by groups = ", args.groups));
  }
  return ComputeOutput(shape, input_name, kernel_name);
}

absl::Status ValidateConvNdForward(const ConvNdArgs& args,
                                   const ConvNdForwardIO& io,
                                   ConvNdShape* shape) {
  ConvNdShape s;
  TAPCONV_RETURN_IF_ERROR(
      ReadActivation(io.x, "x", &s.batch, &s.in_channels, &s.in));
  s.spatial_rank = static_cast<int>(s.in.size());
  TAPCONV_RETURN_IF_ERROR(
      ReadWeightAndArgs(args, io.weight, "weight", io.x, &s));
  TAPCONV_RETURN_IF_ERROR(ComputeOutput(&s, "x", "weight"));
  TAPCONV_RETURN_IF_ERROR(CheckBias(io.bias, "bias", io.x, s.out_channels));
  Expect y(io.y, "y");
  y.Shape(ActivationShape(s.batch, s.out_channels, s.out),
          "(N, C_out, *out), out = floor((in + 2*padding - dilation*(k-1) - "
          "1)/stride) + 1")
      .HasDType(io.x.dtype, "same as x")
      .OnDevice(io.x.device, "same as x")
      .Contiguous()
      .DoesNotOverlap(io.x, "x")
      .DoesNotOverlap(io.weight, "weight");
  if (io.bias) y.DoesNotOverlap(*io.bias, "bias");
  TAPCONV_RETURN_IF_ERROR(y.status());
  if (shape != nullptr) *shape = s;
  return absl::OkStatus();
}

absl::Status ValidateConvNdBackwardInput(const ConvNdArgs& args,
                                         const ConvNdBackwardInputIO& io,
                                         ConvNdShape* shape) {
  ConvNdShape s;
  TAPCONV_RETURN_IF_ERROR(
      ReadActivation(io.dx, "dx", &s.batch, &s.in_channels, &s.in));
  s.spatial_rank = static_cast<int>(s.in.size());
  TAPCONV_RETURN_IF_ERROR(
      ReadWeightAndArgs(args, io.weight, "weight", io.dx, &s));
  TAPCONV_RETURN_IF_ERROR(ComputeOutput(&s, "dx", "weight"));
  TAPCONV_RETURN_IF_ERROR(
      Expect(io.dy, "dy")
          .Shape(ActivationShape(s.batch, s.out_channels, s.out),
                 "(the forward's output shape for an input shaped like dx)")
          .HasDType(io.dx.dtype, "same as dx")
          .OnDevice(io.dx.device, "same as dx")
          .Contiguous()
          .status());
  TAPCONV_RETURN_IF_ERROR(Expect(io.dx, "dx")
                              .DoesNotOverlap(io.dy, "dy")
                              .DoesNotOverlap(io.weight, "weight")
                              .status());
  if (shape != nullptr) *shape = s;
  return absl::OkStatus();
}

absl::Status ValidateConvNdBackwardParams(const ConvNdArgs& args,
                                          const ConvNdBackwardParamsIO& io,
                                          ConvNdShape* shape) {
  ConvNdShape s;
  TAPCONV_RETURN_IF_ERROR(
      ReadActivation(io.x, "x", &s.batch, &s.in_channels, &s.in));
  s.spatial_rank = static_cast<int>(s.in.size());
  if (!io.dweight.has_value()) {
    if (!io.dbias.has_value())
      return ArgError("dweight", "neither dweight nor dbias was requested");
    // Without dweight the kernel size is unknown; dbias needs only dy's channel
    // count. The args are still checked, so that a call is valid or not
    // whatever it requests.
    TAPCONV_RETURN_IF_ERROR(ReadArgs(args, &s));
    TAPCONV_RETURN_IF_ERROR(
        Expect(io.dy, "dy")
            .Rank(s.spatial_rank + 2, ActivationDims(s.spatial_rank))
            .status());
    TAPCONV_RETURN_IF_ERROR(Expect(io.dy, "dy")
                                .HasDType(io.x.dtype, "same as x")
                                .OnDevice(io.x.device, "same as x")
                                .Contiguous()
                                .status());
    if (io.dy.shape[0] != s.batch) {
      return ArgError(
          "dy", absl::StrCat("expected batch size ", s.batch,
                             " (as x), got shape ", ShapeString(io.dy.shape)));
    }
    s.out_channels = io.dy.shape[1];
    s.out.assign(io.dy.shape.begin() + 2, io.dy.shape.end());
    TAPCONV_RETURN_IF_ERROR(CheckBias(io.dbias, "dbias", io.x, s.out_channels));
    TAPCONV_RETURN_IF_ERROR(Expect(*io.dbias, "dbias")
                                .DoesNotOverlap(io.x, "x")
                                .DoesNotOverlap(io.dy, "dy")
                                .status());
    if (shape != nullptr) *shape = s;
    return absl::OkStatus();
  }
  TAPCONV_RETURN_IF_ERROR(
      ReadWeightAndArgs(args, *io.dweight, "dweight", io.x, &s));
  TAPCONV_RETURN_IF_ERROR(ComputeOutput(&s, "x", "dweight"));
  TAPCONV_RETURN_IF_ERROR(
      Expect(io.dy, "dy")
          .Shape(ActivationShape(s.batch, s.out_channels, s.out),
                 "(the forward's output shape for x)")
          .HasDType(io.x.dtype, "same as x")
          .OnDevice(io.x.device, "same as x")
          .Contiguous()
          .status());
  TAPCONV_RETURN_IF_ERROR(Expect(*io.dweight, "dweight")
                              .DoesNotOverlap(io.x, "x")
                              .DoesNotOverlap(io.dy, "dy")
                              .status());
  TAPCONV_RETURN_IF_ERROR(CheckBias(io.dbias, "dbias", io.x, s.out_channels));
  if (io.dbias) {
    TAPCONV_RETURN_IF_ERROR(Expect(*io.dbias, "dbias")
                                .DoesNotOverlap(io.x, "x")
                                .DoesNotOverlap(io.dy, "dy")
                                .DoesNotOverlap(*io.dweight, "dweight")
                                .status());
  }
  if (shape != nullptr) *shape = s;
  return absl::OkStatus();
}

namespace ops {

absl::Status ConvNdForward(const ConvNdArgs& args, const ConvNdForwardIO& io,
                           const ExecContext& ctx) {
  TAPCONV_RETURN_IF_ERROR(ValidateConvNdForward(args, io));
  return Dispatch(io.x.device, ctx, [&](const Backend& b) {
    return b.ConvNdForward(args, io, ctx);
  });
}

absl::Status ConvNdBackwardInput(const ConvNdArgs& args,
                                 const ConvNdBackwardInputIO& io,
                                 const ExecContext& ctx) {
  TAPCONV_RETURN_IF_ERROR(ValidateConvNdBackwardInput(args, io));
  return Dispatch(io.dx.device, ctx, [&](const Backend& b) {
    return b.ConvNdBackwardInput(args, io, ctx);
  });
}

absl::Status ConvNdBackwardParams(const ConvNdArgs& args,
                                  const ConvNdBackwardParamsIO& io,
                                  const ExecContext& ctx) {
  TAPCONV_RETURN_IF_ERROR(ValidateConvNdBackwardParams(args, io));
  return Dispatch(io.x.device, ctx, [&](const Backend& b) {
    return b.ConvNdBackwardParams(args, io, ctx);
  });
}

}  // namespace ops
}  // namespace tapconv
