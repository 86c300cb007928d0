#include "ops/path_conv.h"

#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "ops/dispatch.h"
#include "ops/status_macros.h"
#include "ops/tensor_check.h"

namespace tapconv {
namespace {

// With H*W <= kMaxIndex = 2^62 and padding <= 2^60, H*W + 2*padding and every
// stride*l' + k the ops form stay below 2^63.
constexpr int64_t kMaxPadding = kMaxIndex / 4;

absl::Status ValidateArgs(const PathConvArgs& args) {
  if (args.stride < 1) {
    return ArgError("stride", absl::StrCat("expected >= 1, got ", args.stride));
  }
  if (args.padding < 0 || args.padding > kMaxPadding) {
    return ArgError(
        "padding",
        absl::StrCat("expected 0 <= padding <= 2^60, got ", args.padding));
  }
  return absl::OkStatus();
}

// Reads (N, C, H, W) from an image-shaped tensor (x, or the dx / x output of a
// backward op).
absl::Status ReadImage(const TensorRef& t, absl::string_view name,
                       PathShape* s) {
  TAPCONV_RETURN_IF_ERROR(Expect(t, name)
                              .Rank(4, "(N, C, H, W)")
                              .FloatingPoint()
                              .Contiguous()
                              .status());
  s->batch = t.shape[0];
  s->channels = t.shape[1];
  s->height = t.shape[2];
  s->width = t.shape[3];
  // H*W is not covered by the element-count check when N or C is 0.
  return CheckedProduct({s->height, s->width}, name, &s->length);
}

// Every row of a host index tensor must be a permutation of [0, length): a
// bitmap per row.
template <typename Index>
absl::Status CheckRows(const TensorRef& t, absl::string_view name,
                       int64_t paths, int64_t length) {
  // No rows: nothing to read, and no bitmap sized by an unbacked length.
  if (paths == 0) return absl::OkStatus();
  const Index* data = t.data_as<const Index>();
  std::vector<bool> seen(length);
  for (int64_t p = 0; p < paths; ++p) {
    seen.assign(length, false);
    for (int64_t l = 0; l < length; ++l) {
      const int64_t v = static_cast<int64_t>(data[p * length + l]);
      if (v < 0 || v >= length) {
        return ArgError(
            name,
            absl::StrCat("every row must be a permutation of [0, H*W) = [0, ",
                         length, "), got ", name, "[", p, ", ", l, "] = ", v,
                         ", out of range"));
      }
      if (seen[v]) {
        return ArgError(
            name,
            absl::StrCat("every row must be a permutation of [0, H*W) = [0, ",
                         length, "), got ", name, "[", p, ", ", l, "] = ", v,
                         " a second time in row ", p));
      }
      seen[v] = true;
    }
  }
  return absl::OkStatus();
}

// An index tensor (perm or inv): (P, H*W), int32 or int64, on the image's
// device, contiguous; reads P into s->paths.
absl::Status ReadIndex(const TensorRef& t, absl::string_view name,
                       const TensorRef& image, absl::string_view image_name,
                       IndexCheck check, PathShape* s) {
  TAPCONV_RETURN_IF_ERROR(
      Expect(t, name)
          .Rank(2, "(P, H*W)")
          .Integer()
          .OnDevice(image.device, absl::StrCat("same as ", image_name))
          .Contiguous()
          .status());
  if (t.shape[1] != s->length) {
    return ArgError(name, absl::StrCat("expected shape [P, ", s->length,
                                       "] (P, H*W) for H*W = ", s->height, "*",
                                       s->width, " from ", image_name, ", got ",
                                       ShapeString(t.shape)));
  }
  if (t.dtype == DType::kI32 &&
      s->length - 1 > std::numeric_limits<int32_t>::max()) {
    return ArgError(name, absl::StrCat("int32 indices cannot address H*W = ",
                                       s->length, " pixels; use int64"));
  }
  s->paths = t.shape[0];
  if (check == IndexCheck::kShapesOnly || t.device.kind != DeviceKind::kCpu) {
    return absl::OkStatus();
  }
  return t.dtype == DType::kI32
             ? CheckRows<int32_t>(t, name, s->paths, s->length)
             : CheckRows<int64_t>(t, name, s->paths, s->length);
}

// G = P*C, the number of sequences (and of depthwise groups).
absl::Status Sequences(const PathShape& s, absl::string_view index_name,
                       int64_t* sequences) {
  return CheckedProduct({s.paths, s.channels}, index_name, sequences);
}

// The fused conv's weight (G*m, 1, K): reads m and K.
absl::Status ReadWeight(const TensorRef& w, absl::string_view name,
                        const TensorRef& like, absl::string_view like_name,
                        int64_t sequences, PathConvShape* s) {
  TAPCONV_RETURN_IF_ERROR(
      Expect(w, name)
          .Rank(3, "(P*C*m, 1, K)")
          .HasDType(like.dtype, absl::StrCat("same as ", like_name))
          .OnDevice(like.device, absl::StrCat("same as ", like_name))
          .Contiguous()
          .status());
  const int64_t out_channels = w.shape[0];
  const bool multiple = sequences == 0 ? out_channels == 0
                                       : out_channels >= sequences &&
                                             out_channels % sequences == 0;
  if (!multiple || w.shape[1] != 1) {
    return ArgError(
        name, absl::StrCat("expected shape [P*C*m, 1, K] with P*C = ",
                           sequences, " and channel multiplier m >= 1, got ",
                           ShapeString(w.shape)));
  }
  s->multiplier = sequences == 0 ? 1 : out_channels / sequences;
  s->taps = w.shape[2];
  return absl::OkStatus();
}

// K must fit the zero-padded path: 1 <= K <= H*W + 2*padding.
absl::Status CheckTaps(const PathConvArgs& args, absl::string_view name,
                       PathConvShape* s) {
  const int64_t padded = s->path.length + 2 * args.padding;
  if (s->taps < 1 || s->taps > padded) {
    return ArgError(
        name, absl::StrCat("kernel size K = ", name,
                           ".shape[2] must be in [1, H*W + ",
                           "2*padding] = [1, ", padded, "], got ", s->taps));
  }
  s->out_length = PathConvOutputLength(s->path.length, s->taps, args);
  return absl::OkStatus();
}

absl::Status CheckVector(const std::optional<TensorRef>& t,
                         absl::string_view name, const TensorRef& like,
                         absl::string_view like_name, int64_t size) {
  if (!t.has_value()) return absl::OkStatus();
  return Expect(*t, name)
      .Shape({size}, "(P*C*m)")
      .HasDType(like.dtype, absl::StrCat("same as ", like_name))
      .OnDevice(like.device, absl::StrCat("same as ", like_name))
      .Contiguous()
      .status();
}

}  // namespace

absl::Status ValidatePathGather(const PathGatherIO& io, PathShape* shape,
                                IndexCheck check) {
  PathShape s;
  TAPCONV_RETURN_IF_ERROR(ReadImage(io.x, "x", &s));
  TAPCONV_RETURN_IF_ERROR(ReadIndex(io.perm, "perm", io.x, "x", check, &s));
  int64_t sequences = 0;
  TAPCONV_RETURN_IF_ERROR(Sequences(s, "perm", &sequences));
  TAPCONV_RETURN_IF_ERROR(
      Expect(io.y, "y")
          .Shape({s.batch, sequences, s.length}, "(N, P*C, H*W)")
          .HasDType(io.x.dtype, "same as x")
          .OnDevice(io.x.device, "same as x")
          .Contiguous()
          .DoesNotOverlap(io.x, "x")
          .DoesNotOverlap(io.perm, "perm")
          .status());
  if (shape != nullptr) *shape = s;
  return absl::OkStatus();
}

absl::Status ValidatePathScatter(const PathScatterIO& io, PathShape* shape,
                                 IndexCheck check) {
  PathShape s;
  // The image size comes from the output x: y's length H*W does not determine H
  // and W.
  TAPCONV_RETURN_IF_ERROR(ReadImage(io.x, "x", &s));
  TAPCONV_RETURN_IF_ERROR(ReadIndex(io.inv, "inv", io.x, "x", check, &s));
  int64_t sequences = 0;
  TAPCONV_RETURN_IF_ERROR(Sequences(s, "inv", &sequences));
  TAPCONV_RETURN_IF_ERROR(
      Expect(io.y, "y")
          .Shape({s.batch, sequences, s.length}, "(N, P*C, H*W)")
          .HasDType(io.x.dtype, "same as x")
          .OnDevice(io.x.device, "same as x")
          .Contiguous()
          .status());
  TAPCONV_RETURN_IF_ERROR(Expect(io.x, "x")
                              .DoesNotOverlap(io.y, "y")
                              .DoesNotOverlap(io.inv, "inv")
                              .status());
  if (shape != nullptr) *shape = s;
  return absl::OkStatus();
}

absl::Status ValidatePathConvForward(const PathConvArgs& args,
                                     const PathConvForwardIO& io,
                                     PathConvShape* shape, IndexCheck check) {
  TAPCONV_RETURN_IF_ERROR(ValidateArgs(args));
  PathConvShape s;
  TAPCONV_RETURN_IF_ERROR(ReadImage(io.x, "x", &s.path));
  TAPCONV_RETURN_IF_ERROR(
      ReadIndex(io.perm, "perm", io.x, "x", check, &s.path));
  int64_t sequences = 0;
  TAPCONV_RETURN_IF_ERROR(Sequences(s.path, "perm", &sequences));
  TAPCONV_RETURN_IF_ERROR(
      ReadWeight(io.weight, "weight", io.x, "x", sequences, &s));
  TAPCONV_RETURN_IF_ERROR(CheckTaps(args, "weight", &s));
  const int64_t out_channels = io.weight.shape[0];
  TAPCONV_RETURN_IF_ERROR(
      CheckVector(io.bias, "bias", io.x, "x", out_channels));
  Expect y(io.y, "y");
  y.Shape({s.path.batch, out_channels, s.out_length},
          "(N, P*C*m, (H*W + 2*padding - K) / stride + 1)")
      .HasDType(io.x.dtype, "same as x")
      .OnDevice(io.x.device, "same as x")
      .Contiguous()
      .DoesNotOverlap(io.x, "x")
      .DoesNotOverlap(io.perm, "perm")
      .DoesNotOverlap(io.weight, "weight");
  if (io.bias.has_value()) y.DoesNotOverlap(*io.bias, "bias");
  TAPCONV_RETURN_IF_ERROR(y.status());
  if (shape != nullptr) *shape = s;
  return absl::OkStatus();
}

absl::Status ValidatePathConvBackwardInput(const PathConvArgs& args,
                                           const PathConvBackwardInputIO& io,
                                           PathConvShape* shape,
                                           IndexCheck check) {
  TAPCONV_RETURN_IF_ERROR(ValidateArgs(args));
  PathConvShape s;
  TAPCONV_RETURN_IF_ERROR(ReadImage(io.dx, "dx", &s.path));
  TAPCONV_RETURN_IF_ERROR(
      ReadIndex(io.inv, "inv", io.dx, "dx", check, &s.path));
  int64_t sequences = 0;
  TAPCONV_RETURN_IF_ERROR(Sequences(s.path, "inv", &sequences));
  TAPCONV_RETURN_IF_ERROR(
      ReadWeight(io.weight, "weight", io.dx, "dx", sequences, &s));
  TAPCONV_RETURN_IF_ERROR(CheckTaps(args, "weight", &s));
  TAPCONV_RETURN_IF_ERROR(
      Expect(io.dy, "dy")
          .Shape({s.path.batch, io.weight.shape[0], s.out_length},
                 "(N, P*C*m, (H*W + 2*padding - K) / stride + 1)")
          .HasDType(io.dx.dtype, "same as dx")
          .OnDevice(io.dx.device, "same as dx")
          .Contiguous()
          .status());
  TAPCONV_RETURN_IF_ERROR(Expect(io.dx, "dx")
                              .DoesNotOverlap(io.dy, "dy")
                              .DoesNotOverlap(io.inv, "inv")
                              .DoesNotOverlap(io.weight, "weight")
                              .status());
  if (shape != nullptr) *shape = s;
  return absl::OkStatus();
}

absl::Status ValidatePathConvBackwardParams(const PathConvArgs& args,
                                            const PathConvBackwardParamsIO& io,
                                            PathConvShape* shape,
                                            IndexCheck check) {
  TAPCONV_RETURN_IF_ERROR(ValidateArgs(args));
  PathConvShape s;
  TAPCONV_RETURN_IF_ERROR(ReadImage(io.x, "x", &s.path));
  TAPCONV_RETURN_IF_ERROR(
      ReadIndex(io.perm, "perm", io.x, "x", check, &s.path));
  int64_t sequences = 0;
  TAPCONV_RETURN_IF_ERROR(Sequences(s.path, "perm", &sequences));
  if (!io.dweight.has_value() && !io.dbias.has_value()) {
    return ArgError("dweight", "neither dweight nor dbias was requested");
  }
  int64_t out_channels = 0;
  if (io.dweight.has_value()) {
    TAPCONV_RETURN_IF_ERROR(
        ReadWeight(*io.dweight, "dweight", io.x, "x", sequences, &s));
    TAPCONV_RETURN_IF_ERROR(CheckTaps(args, "dweight", &s));
    out_channels = io.dweight->shape[0];
    TAPCONV_RETURN_IF_ERROR(
        CheckVector(io.dbias, "dbias", io.x, "x", out_channels));
  } else {
    TAPCONV_RETURN_IF_ERROR(Expect(*io.dbias, "dbias")
                                .Rank(1, "(P*C*m)")
                                .HasDType(io.x.dtype, "same as x")
                                .OnDevice(io.x.device, "same as x")
                                .Contiguous()
                                .status());
    out_channels = io.dbias->shape[0];
    const bool multiple = sequences == 0 ? out_channels == 0
                                         : out_channels >= sequences &&
                                               out_channels % sequences == 0;
    if (!multiple) {
      return ArgError(
          "dbias", absl::StrCat("expected shape [P*C*m] with P*C = ", sequences,
                                " and channel multiplier m >= 1, got ",
                                ShapeString(io.dbias->shape)));
    }
    s.multiplier = sequences == 0 ? 1 : out_channels / sequences;
    s.taps = 0;
  }
  Expect dy(io.dy, "dy");
  if (io.dweight.has_value()) {
    dy.Shape({s.path.batch, out_channels, s.out_length},
             "(N, P*C*m, (H*W + 2*padding - K) / stride + 1)");
  } else {
    dy.Rank(3, "(N, P*C*m, L_out)");
    if (dy.ok()) {
      s.out_length = io.dy.shape[2];
      // Any length some K in [1, H*W + 2*padding] produces.
      const int64_t longest = PathConvOutputLength(s.path.length, 1, args);
      if (io.dy.shape[0] != s.path.batch || io.dy.shape[1] != out_channels ||
          s.out_length < 1 || s.out_length > longest) {
        return ArgError(
            "dy", absl::StrCat(
                      "expected shape [", s.path.batch, ", ", out_channels,
                      ", L_out] (N, P*C*m, L_out) with 1 <= L_out <= ", longest,
                      ", got ", ShapeString(io.dy.shape)));
      }
    }
  }
  TAPCONV_RETURN_IF_ERROR(dy.HasDType(io.x.dtype, "same as x")
                              .OnDevice(io.x.device, "same as x")
                              .Contiguous()
                              .status());
  if (io.dweight.has_value()) {
    TAPCONV_RETURN_IF_ERROR(Expect(*io.dweight, "dweight")
                                .DoesNotOverlap(io.x, "x")
                                .DoesNotOverlap(io.perm, "perm")
                                .DoesNotOverlap(io.dy, "dy")
                                .status());
  }
  if (io.dbias.has_value()) {
    Expect db(*io.dbias, "dbias");
    db.DoesNotOverlap(io.x, "x")
        .DoesNotOverlap(io.perm, "perm")
        .DoesNotOverlap(io.dy, "dy");
    if (io.dweight.has_value()) db.DoesNotOverlap(*io.dweight, "dweight");
    TAPCONV_RETURN_IF_ERROR(db.status());
  }
  if (shape != nullptr) *shape = s;
  return absl::OkStatus();
}

namespace ops {

absl::Status PathGather(const PathGatherIO& io, const ExecContext& ctx) {
  TAPCONV_RETURN_IF_ERROR(ValidatePathGather(io));
  return Dispatch(io.x.device, ctx,
                  [&](const Backend& b) { return b.PathGather(io, ctx); });
}

absl::Status PathScatter(const PathScatterIO& io, const ExecContext& ctx) {
  TAPCONV_RETURN_IF_ERROR(ValidatePathScatter(io));
  return Dispatch(io.x.device, ctx,
                  [&](const Backend& b) { return b.PathScatter(io, ctx); });
}

absl::Status PathConvForward(const PathConvArgs& args,
                             const PathConvForwardIO& io,
                             const ExecContext& ctx) {
  TAPCONV_RETURN_IF_ERROR(ValidatePathConvForward(args, io));
  return Dispatch(io.x.device, ctx, [&](const Backend& b) {
    return b.PathConvForward(args, io, ctx);
  });
}

absl::Status PathConvBackwardInput(const PathConvArgs& args,
                                   const PathConvBackwardInputIO& io,
                                   const ExecContext& ctx) {
  TAPCONV_RETURN_IF_ERROR(ValidatePathConvBackwardInput(args, io));
  return Dispatch(io.dx.device, ctx, [&](const Backend& b) {
    return b.PathConvBackwardInput(args, io, ctx);
  });
}

absl::Status PathConvBackwardParams(const PathConvArgs& args,
                                    const PathConvBackwardParamsIO& io,
                                    const ExecContext& ctx) {
  TAPCONV_RETURN_IF_ERROR(ValidatePathConvBackwardParams(args, io));
  return Dispatch(io.x.device, ctx, [&](const Backend& b) {
    return b.PathConvBackwardParams(args, io, ctx);
  });
}

}  // namespace ops
}  // namespace tapconv
