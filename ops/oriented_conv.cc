#include "ops/oriented_conv.h"

#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "ops/dispatch.h"
#include "ops/status_macros.h"
#include "ops/tensor_check.h"

namespace tapconv {
namespace {

// Offsets are int32 in the tap tables; keep dilation * K/2 well inside that.
constexpr int64_t kMaxTapOffset = int64_t{1} << 30;

absl::string_view LayoutDims(Layout layout) {
  return layout == Layout::kNCHW ? "(N, C, H, W)" : "(N, H, W, C)";
}

Dims InLayout(Layout layout, int64_t n, int64_t c, int64_t h, int64_t w) {
  return layout == Layout::kNCHW ? Dims{n, c, h, w} : Dims{n, h, w, c};
}

absl::Status ValidateArgs(const OrientedConvArgs& args) {
  if (args.stride < 1)
    return ArgError("stride", absl::StrCat("expected >= 1, got ", args.stride));
  if (args.dilation < 1) {
    return ArgError("dilation",
                    absl::StrCat("expected >= 1, got ", args.dilation));
  }
  if (args.tap_rule != TapRule::kTrunc && args.tap_rule != TapRule::kLine) {
    return ArgError("tap_rule",
                    absl::StrCat("expected trunc or line, got value ",
                                 static_cast<int>(args.tap_rule)));
  }
  if (args.layout != Layout::kNCHW && args.layout != Layout::kNHWC) {
    return ArgError("layout", absl::StrCat("expected NCHW or NHWC, got value ",
                                           static_cast<int>(args.layout)));
  }
  return absl::OkStatus();
}

// Reads (N, C, H, W) from an activation tensor in the args' layout.
absl::Status ReadActivation(const OrientedConvArgs& args, const TensorRef& t,
                            absl::string_view name, int64_t* n, int64_t* c,
                            int64_t* h, int64_t* w) {
  TAPCONV_RETURN_IF_ERROR(Expect(t, name)
                              .Rank(4, LayoutDims(args.layout))
                              .FloatingPoint()
                              .Contiguous()
                              .status());
  *n = t.shape[0];
  if (args.layout == Layout::kNCHW) {
    *c = t.shape[1], *h = t.shape[2], *w = t.shape[3];
  } else {
    *h = t.shape[1], *w = t.shape[2], *c = t.shape[3];
  }
  return absl::OkStatus();
}

absl::Status CheckTheta(const TensorRef& theta, const TensorRef& like,
                        int64_t channels) {
  TAPCONV_RETURN_IF_ERROR(Expect(theta, "theta").Contiguous().status());
  const bool shape_ok =
      (theta.rank() == 1 && theta.shape[0] == channels) ||
      (theta.rank() == 2 && theta.shape[0] == channels && theta.shape[1] == 1);
  if (!shape_ok) {
    return ArgError(
        "theta", absl::StrCat("expected shape [", channels, "] or [", channels,
                              ", 1] (one angle per channel), got ",
                              ShapeString(theta.shape)));
  }
  if (theta.dtype != DType::kF32 && theta.dtype != DType::kF64) {
    return ArgError(
        "theta",
        absl::StrCat("expected dtype float32 or float64 (radians), got ",
                     DTypeName(theta.dtype)));
  }
  return Expect(theta, "theta")
      .OnDevice(like.device, "same as the activations")
      .status();
}

// weight (C, 1, 1, K), K odd; returns K.
absl::Status CheckWeight(const OrientedConvArgs& args, const TensorRef& weight,
                         absl::string_view name, const TensorRef& like,
                         int64_t channels, int64_t* taps) {
  TAPCONV_RETURN_IF_ERROR(Expect(weight, name)
                              .Rank(4, "(C, 1, 1, K)")
                              .HasDType(like.dtype, "same as the activations")
                              .OnDevice(like.device, "same as the activations")
                              .Contiguous()
                              .status());
  const int64_t k = weight.shape[3];
  if (weight.shape[0] != channels || weight.shape[1] != 1 ||
      weight.shape[2] != 1) {
    return ArgError(name, absl::StrCat("expected shape [", channels,
                                       ", 1, 1, K] (C, 1, 1, K), got ",
                                       ShapeString(weight.shape)));
  }
  if (k < 1 || k % 2 == 0) {
    return ArgError(
        name,
        absl::StrCat("kernel size K = weight.shape[3] must be odd, got ", k));
  }
  if (k / 2 >= kMaxTapOffset) {
    return ArgError(name,
                    absl::StrCat("kernel size K = weight.shape[3] = ", k,
                                 " is too large: K/2 must be below 2^30"));
  }
  if (args.dilation > kMaxTapOffset / (k / 2 + 1)) {
    return ArgError("dilation", absl::StrCat("dilation * K/2 = ", args.dilation,
                                             " * ", k / 2, " exceeds 2^30"));
  }
  *taps = k;
  return absl::OkStatus();
}

absl::Status CheckVector(const std::optional<TensorRef>& t,
                         absl::string_view name, const TensorRef& like,
                         int64_t channels) {
  if (!t.has_value()) return absl::OkStatus();
  return Expect(*t, name)
      .Shape({channels}, "(C)")
      .HasDType(like.dtype, "same as the activations")
      .OnDevice(like.device, "same as the activations")
      .Contiguous()
      .status();
}

}  // namespace

absl::Status ValidateOrientedConvForward(const OrientedConvArgs& args,
                                         const OrientedConvForwardIO& io,
                                         OrientedConvShape* shape) {
  TAPCONV_RETURN_IF_ERROR(ValidateArgs(args));
  OrientedConvShape s;
  TAPCONV_RETURN_IF_ERROR(
      ReadActivation(args, io.x, "x", &s.batch, &s.channels, &s.in_h, &s.in_w));
  TAPCONV_RETURN_IF_ERROR(
      CheckWeight(args, io.weight, "weight", io.x, s.channels, &s.taps));
  TAPCONV_RETURN_IF_ERROR(CheckTheta(io.theta, io.x, s.channels));
  TAPCONV_RETURN_IF_ERROR(CheckVector(io.bias, "bias", io.x, s.channels));
  s.out_h = OrientedOutputSize(s.in_h, args.stride);
  s.out_w = OrientedOutputSize(s.in_w, args.stride);
  Expect y(io.y, "y");
  y.Shape(InLayout(args.layout, s.batch, s.channels, s.out_h, s.out_w),
          args.layout == Layout::kNCHW
              ? "(N, C, ceil(H/stride), ceil(W/stride))"
              : "(N, ceil(H/stride), ceil(W/stride), C)")
      .HasDType(io.x.dtype, "same as x")
      .OnDevice(io.x.device, "same as x")
      .Contiguous()
      .DoesNotOverlap(io.x, "x")
      .DoesNotOverlap(io.weight, "weight")
      .DoesNotOverlap(io.theta, "theta");
  if (io.bias.has_value()) y.DoesNotOverlap(*io.bias, "bias");
  TAPCONV_RETURN_IF_ERROR(y.status());
  if (shape != nullptr) *shape = s;
  return absl::OkStatus();
}

absl::Status ValidateOrientedConvBackwardInput(
    const OrientedConvArgs& args, const OrientedConvBackwardInputIO& io,
    OrientedConvShape* shape) {
  TAPCONV_RETURN_IF_ERROR(ValidateArgs(args));
  OrientedConvShape s;
  // The input size comes from dx: ceil(H/s) does not determine H.
  TAPCONV_RETURN_IF_ERROR(ReadActivation(args, io.dx, "dx", &s.batch,
                                         &s.channels, &s.in_h, &s.in_w));
  s.out_h = OrientedOutputSize(s.in_h, args.stride);
  s.out_w = OrientedOutputSize(s.in_w, args.stride);
  TAPCONV_RETURN_IF_ERROR(
      Expect(io.dy, "dy")
          .Shape(InLayout(args.layout, s.batch, s.channels, s.out_h, s.out_w),
                 "(the forward's output shape for an input shaped like dx)")
          .HasDType(io.dx.dtype, "same as dx")
          .OnDevice(io.dx.device, "same as dx")
          .Contiguous()
          .status());
  TAPCONV_RETURN_IF_ERROR(
      CheckWeight(args, io.weight, "weight", io.dx, s.channels, &s.taps));
  TAPCONV_RETURN_IF_ERROR(CheckTheta(io.theta, io.dx, s.channels));
  TAPCONV_RETURN_IF_ERROR(Expect(io.dx, "dx")
                              .DoesNotOverlap(io.dy, "dy")
                              .DoesNotOverlap(io.weight, "weight")
                              .DoesNotOverlap(io.theta, "theta")
                              .status());
  if (shape != nullptr) *shape = s;
  return absl::OkStatus();
}

absl::Status ValidateOrientedConvBackwardParams(
    const OrientedConvArgs& args, const OrientedConvBackwardParamsIO& io,
    OrientedConvShape* shape) {
  TAPCONV_RETURN_IF_ERROR(ValidateArgs(args));
  OrientedConvShape s;
  TAPCONV_RETURN_IF_ERROR(
      ReadActivation(args, io.x, "x", &s.batch, &s.channels, &s.in_h, &s.in_w));
  s.out_h = OrientedOutputSize(s.in_h, args.stride);
  s.out_w = OrientedOutputSize(s.in_w, args.stride);
  TAPCONV_RETURN_IF_ERROR(
      Expect(io.dy, "dy")
          .Shape(InLayout(args.layout, s.batch, s.channels, s.out_h, s.out_w),
                 "(the forward's output shape for x)")
          .HasDType(io.x.dtype, "same as x")
          .OnDevice(io.x.device, "same as x")
          .Contiguous()
          .status());
  TAPCONV_RETURN_IF_ERROR(CheckTheta(io.theta, io.x, s.channels));
  if (!io.dweight.has_value() && !io.dbias.has_value()) {
    return ArgError("dweight", "neither dweight nor dbias was requested");
  }
  s.taps = 0;
  if (io.dweight.has_value()) {
    TAPCONV_RETURN_IF_ERROR(
        CheckWeight(args, *io.dweight, "dweight", io.x, s.channels, &s.taps));
    TAPCONV_RETURN_IF_ERROR(Expect(*io.dweight, "dweight")
                                .DoesNotOverlap(io.x, "x")
                                .DoesNotOverlap(io.dy, "dy")
                                .DoesNotOverlap(io.theta, "theta")
                                .status());
  }
  TAPCONV_RETURN_IF_ERROR(CheckVector(io.dbias, "dbias", io.x, s.channels));
  if (io.dbias.has_value()) {
    Expect db(*io.dbias, "dbias");
    db.DoesNotOverlap(io.x, "x")
        .DoesNotOverlap(io.dy, "dy")
        .DoesNotOverlap(io.theta, "theta");
    if (io.dweight.has_value()) db.DoesNotOverlap(*io.dweight, "dweight");
    TAPCONV_RETURN_IF_ERROR(db.status());
  }
  if (shape != nullptr) *shape = s;
  return absl::OkStatus();
}

absl::Status ValidateOrientedAngles(absl::Span<const double> theta) {
  for (size_t c = 0; c < theta.size(); ++c) {
    // Checked in double before any float conversion: a double beyond float32
    // range does not convert to float with defined behaviour, and sin/cos of
    // inf or NaN give NaN, whose conversion to an integer offset is undefined.
    if (!(std::fabs(theta[c]) <= std::numeric_limits<float>::max())) {
      return ArgError(
          "theta",
          absl::StrCat("angles must be finite radians within float32 range, "
                       "got theta[",
                       c, "] = ", theta[c]));
    }
  }
  return absl::OkStatus();
}

namespace ops {

absl::Status OrientedConv2dForward(const OrientedConvArgs& args,
                                   const OrientedConvForwardIO& io,
                                   const ExecContext& ctx) {
  TAPCONV_RETURN_IF_ERROR(ValidateOrientedConvForward(args, io));
  return Dispatch(io.x.device, ctx, [&](const Backend& b) {
    return b.OrientedConvForward(args, io, ctx);
  });
}

absl::Status OrientedConv2dBackwardInput(const OrientedConvArgs& args,
                                         const OrientedConvBackwardInputIO& io,
                                         const ExecContext& ctx) {
  TAPCONV_RETURN_IF_ERROR(ValidateOrientedConvBackwardInput(args, io));
  return Dispatch(io.dx.device, ctx, [&](const Backend& b) {
    return b.OrientedConvBackwardInput(args, io, ctx);
  });
}

absl::Status OrientedConv2dBackwardParams(
    const OrientedConvArgs& args, const OrientedConvBackwardParamsIO& io,
    const ExecContext& ctx) {
  TAPCONV_RETURN_IF_ERROR(ValidateOrientedConvBackwardParams(args, io));
  return Dispatch(io.x.device, ctx, [&](const Backend& b) {
    return b.OrientedConvBackwardParams(args, io, ctx);
  });
}

}  // namespace ops
}  // namespace tapconv
