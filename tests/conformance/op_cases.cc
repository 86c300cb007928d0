#include "tests/conformance/op_cases.h"

#include <cmath>
#include <limits>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ops/backend.h"
#include "ops/status_macros.h"
#include "tests/host_tensor.h"

namespace tapconv::conformance {
namespace {

using testing::HostTensor;

constexpr uint64_t kSeed = 20261121;

HostTensor Random(DType dtype, Dims shape, std::mt19937_64& rng,
                  double lo = -1.0, double hi = 1.0) {
  return testing::Uniform(dtype, std::move(shape), rng, lo, hi);
}

int64_t Product(absl::Span<const int64_t> v) {
  int64_t p = 1;
  for (int64_t x : v) p *= x;
  return p;
}

std::string DTypeTag(DType d) { return std::string(DTypeName(d)); }

// Puts a case's tensors where the backend named by ctx.backend runs: host
// tensors are used as they are for host backends, copied to device memory (and
// outputs back) for GPU ones.
class Staging {
 public:
  explicit Staging(const ExecContext& ctx) : ctx_(ctx) {
    backend_ = BackendRegistry::Global().Find(ctx.backend);
    if (backend_ == nullptr) {
      error_ = absl::InvalidArgumentError(absl::StrCat(
          "backend: op cases need a registered backend name, got '",
          ctx.backend, "'"));
    }
  }
  Staging(const Staging&) = delete;
  Staging& operator=(const Staging&) = delete;
  ~Staging() {
    for (void* p : owned_) backend_->Free(p);
  }

  TensorRef In(const HostTensor& t) { return Stage(t, /*copy_in=*/true); }
  TensorRef Out(HostTensor& t) {
    TensorRef ref = Stage(t, /*copy_in=*/false);
    if (!host()) outputs_.emplace_back(&t, ref);
    return ref;
  }
  std::optional<TensorRef> OptionalIn(bool present, const HostTensor& t) {
    if (!present) return std::nullopt;
    return In(t);
  }
  std::optional<TensorRef> OptionalOut(bool present, HostTensor& t) {
    if (!present) return std::nullopt;
    return Out(t);
  }

  // Any allocation or copy error so far.
  const absl::Status& status() const { return error_; }

  // Waits for the device and copies the outputs back into their host tensors.
  absl::Status Finish() {
    if (host()) return absl::OkStatus();
    TAPCONV_RETURN_IF_ERROR(backend_->Synchronize(ctx_));
    for (auto& [host_tensor, ref] : outputs_) {
      TAPCONV_RETURN_IF_ERROR(
          backend_->CopyToHost(host_tensor->ref().data, ref.data,
                               host_tensor->numel() * SizeOf(ref.dtype)));
    }
    return absl::OkStatus();
  }

 private:
  bool host() const {
    return backend_ == nullptr || backend_->device_kind() == DeviceKind::kCpu;
  }

  TensorRef Stage(const HostTensor& t, bool copy_in) {
    TensorRef ref = t.ref();
    if (host() || !error_.ok()) return ref;
    const size_t bytes = t.numel() * SizeOf(t.dtype());
    absl::StatusOr<void*> memory = backend_->Allocate(bytes);
    if (!memory.ok()) {
      error_ = memory.status();
      return ref;
    }
    owned_.push_back(*memory);
    if (copy_in) {
      const absl::Status copied =
          backend_->CopyToDevice(*memory, ref.data, bytes);
      if (!copied.ok()) error_ = copied;
    }
    ref.data = *memory;
    ref.device = Device{backend_->device_kind(), 0};
    return ref;
  }

  ExecContext ctx_;
  const Backend* backend_ = nullptr;
  absl::Status error_;
  std::vector<void*> owned_;
  std::vector<std::pair<HostTensor*, TensorRef>> outputs_;
};

// ---------------------------------------------------------------------------------------------
// Oriented conv

struct OrientedData {
  HostTensor x, weight, theta, bias, dy;
  int64_t out_h, out_w;
};

Dims OrientedActivation(const OrientedConfig& c, int64_t h, int64_t w) {
  return c.args.layout == Layout::kNCHW ? Dims{c.batch, c.channels, h, w}
                                        : Dims{c.batch, h, w, c.channels};
}

OrientedData MakeOrientedData(const OrientedConfig& c) {
  std::mt19937_64 rng(kSeed);
  OrientedData d;
  d.out_h = OrientedOutputSize(c.height, c.args.stride);
  d.out_w = OrientedOutputSize(c.width, c.args.stride);
  d.x = Random(c.dtype, OrientedActivation(c, c.height, c.width), rng);
  d.weight = Random(c.dtype, {c.channels, 1, 1, c.taps}, rng);
  d.theta = HostTensor(DType::kF32, {c.channels});
  const int64_t num_angles = static_cast<int64_t>(c.angles.size());
  for (int64_t i = 0; i < c.channels; ++i) {
    d.theta.Set(
        i, c.angles[c.angle_blocks ? (num_angles * (i + 1) - 1) / c.channels
                                   : i % num_angles]);
  }
  d.bias = Random(c.dtype, {c.channels}, rng);
  d.dy = Random(c.dtype, OrientedActivation(c, d.out_h, d.out_w), rng);
  return d;
}

std::string Describe(const OrientedConfig& c) {
  std::vector<std::string> angles;
  for (double a : c.angles)
    angles.push_back(absl::StrCat(std::round(a * 1800 / M_PI) / 10));
  return absl::StrCat("N", c.batch, " C", c.channels, " ", c.height, "x",
                      c.width, " K", c.taps, " s", c.args.stride, " d",
                      c.args.dilation,
                      c.args.tap_rule == TapRule::kTrunc ? " trunc" : " line",
                      c.args.layout == Layout::kNCHW ? " NCHW" : " NHWC",
                      c.args.residual ? " residual" : "", c.bias ? " bias" : "",
                      c.angle_blocks ? " angle blocks(deg) " : " angles(deg) ",
                      absl::StrJoin(angles, ","), " ", DTypeTag(c.dtype));
}

// ---------------------------------------------------------------------------------------------
// Dense conv

struct ConvNdData {
  HostTensor x, weight, bias, dy;
  Dims y_shape;
};

ConvNdData MakeConvNdData(const ConvNdConfig& c) {
  std::mt19937_64 rng(kSeed + 1);
  ConvNdData d;
  d.x = Random(c.dtype, c.x_shape, rng);
  Dims w_shape{c.out_channels, c.x_shape[1] / c.args.groups};
  w_shape.insert(w_shape.end(), c.kernel.begin(), c.kernel.end());
  d.weight = Random(c.dtype, w_shape, rng);
  d.bias = Random(c.dtype, {c.out_channels}, rng);
  d.y_shape = {c.x_shape[0], c.out_channels};
  const int rank = static_cast<int>(c.kernel.size());
  auto arg = [rank](const SpatialDims& v, int i) {
    return v.size() == 1 ? v[0] : v[i];
  };
  for (int i = 0; i < rank; ++i) {
    const int64_t extent = arg(c.args.dilation, i) * (c.kernel[i] - 1) + 1;
    d.y_shape.push_back(
        (c.x_shape[2 + i] + 2 * arg(c.args.padding, i) - extent) /
            arg(c.args.stride, i) +
        1);
  }
  d.dy = Random(c.dtype, d.y_shape, rng);
  return d;
}

std::string Describe(const ConvNdConfig& c) {
  return absl::StrCat(
      "x", ShapeString(c.x_shape), " C_out", c.out_channels, " k",
      ShapeString(c.kernel), " s", ShapeString(c.args.stride), " p",
      ShapeString(c.args.padding), " d", ShapeString(c.args.dilation), " g",
      c.args.groups, c.bias ? " bias" : "", " ", DTypeTag(c.dtype));
}

// ---------------------------------------------------------------------------------------------
// DCLS

bool HasSigma(const DclsArgs& a) {
  return a.interpolation != DclsInterpolation::kBilinear;
}

std::string InterpolationName(DclsInterpolation i) {
  switch (i) {
    case DclsInterpolation::kBilinear:
      return "bilinear";
    case DclsInterpolation::kGauss:
      return "gauss";
    case DclsInterpolation::kTriangle:
      return "triangle";
  }
  return "?";
}

struct DclsData {
  HostTensor weight, positions, sigma, dkernel;
  Dims kernel_shape;
};

DclsData MakeDclsData(const DclsConfig& c) {
  std::mt19937_64 rng(kSeed + 2);
  DclsData d;
  Dims w_shape{c.out_channels, c.in_per_group};
  w_shape.insert(w_shape.end(), c.args.dense_kernel_size.begin(),
                 c.args.dense_kernel_size.end());
  w_shape.push_back(c.kernel_count);
  Dims p_shape{static_cast<int64_t>(c.args.dilated_kernel_size.size())};
  p_shape.insert(p_shape.end(), w_shape.begin(), w_shape.end());
  d.weight = Random(c.dtype, w_shape, rng);
  d.positions =
      Random(c.dtype, p_shape, rng, -c.position_spread, c.position_spread);
  d.sigma = Random(c.dtype, p_shape, rng, 0.05, 0.6);
  d.kernel_shape = DclsKernelShape(c.args, w_shape);
  d.dkernel = Random(c.dtype, d.kernel_shape, rng);
  return d;
}

std::string Describe(const DclsConfig& c) {
  return absl::StrCat(
      InterpolationName(c.args.interpolation), " dense",
      ShapeString(c.args.dense_kernel_size), " S",
      ShapeString(c.args.dilated_kernel_size), " C_out", c.out_channels,
      " C_in/g", c.in_per_group, " K", c.kernel_count,
      c.args.axis_order == DclsAxisOrder::kReversed ? " reversed" : "", " ",
      DTypeTag(c.dtype));
}

struct DclsDepthwiseData {
  HostTensor x, weight, positions, bias, dy;
};

Dims DepthwiseOutShape(const DclsDepthwiseConfig& c) {
  Dims kernel(c.args.dcls.dense_kernel_size.begin(),
              c.args.dcls.dense_kernel_size.end());
  kernel.insert(kernel.end(), c.args.dcls.dilated_kernel_size.begin(),
                c.args.dcls.dilated_kernel_size.end());
  Dims out{c.x_shape[0], c.x_shape[1]};
  const ConvNdArgs& a = c.args.conv;
  auto arg = [](const SpatialDims& v, size_t i) {
    return v.size() == 1 ? v[0] : v[i];
  };
  for (size_t i = 0; i < kernel.size(); ++i) {
    const int64_t extent = arg(a.dilation, i) * (kernel[i] - 1) + 1;
    out.push_back((c.x_shape[2 + i] + 2 * arg(a.padding, i) - extent) /
                      arg(a.stride, i) +
                  1);
  }
  return out;
}

DclsDepthwiseData MakeDclsDepthwiseData(const DclsDepthwiseConfig& c) {
  std::mt19937_64 rng(kSeed + 3);
  DclsDepthwiseData d;
  const int64_t channels = c.x_shape[1];
  d.x = Random(c.dtype, c.x_shape, rng);
  Dims w_shape{channels, 1};
  w_shape.insert(w_shape.end(), c.args.dcls.dense_kernel_size.begin(),
                 c.args.dcls.dense_kernel_size.end());
  w_shape.push_back(c.kernel_count);
  Dims p_shape{static_cast<int64_t>(c.args.dcls.dilated_kernel_size.size())};
  p_shape.insert(p_shape.end(), w_shape.begin(), w_shape.end());
  d.weight = Random(c.dtype, w_shape, rng);
  d.positions =
      Random(c.dtype, p_shape, rng, -c.position_spread, c.position_spread);
  d.bias = Random(c.dtype, {channels}, rng);
  d.dy = Random(c.dtype, DepthwiseOutShape(c), rng);
  return d;
}

std::string Describe(const DclsDepthwiseConfig& c) {
  return absl::StrCat("x", ShapeString(c.x_shape), " dense",
                      ShapeString(c.args.dcls.dense_kernel_size), " S",
                      ShapeString(c.args.dcls.dilated_kernel_size), " K",
                      c.kernel_count, " s", ShapeString(c.args.conv.stride),
                      " p", ShapeString(c.args.conv.padding),
                      c.bias ? " bias" : "", " ", DTypeTag(c.dtype));
}

// ---------------------------------------------------------------------------------------------
// Paths

struct PathData {
  HostTensor x, perm, inv, y_gathered, weight, bias, dy;
  int64_t length, out_length;
};

absl::StatusOr<PathData> MakePathData(const PathConfig& c) {
  std::mt19937_64 rng(kSeed + 4);
  PathData d;
  const int64_t paths = static_cast<int64_t>(c.paths.size());
  d.length = c.height * c.width;
  d.out_length = (d.length + 2 * c.args.padding - c.taps) / c.args.stride + 1;
  d.perm = HostTensor(c.index_dtype, {paths, d.length});
  d.inv = HostTensor(c.index_dtype, {paths, d.length});
  for (int64_t p = 0; p < paths; ++p) {
    TAPCONV_ASSIGN_OR_RETURN(std::vector<int64_t> perm,
                             BuildPath(c.height, c.width, c.paths[p]));
    const std::vector<int64_t> inv = InvertPermutation(perm);
    for (int64_t l = 0; l < d.length; ++l) {
      d.perm.Set(p * d.length + l, static_cast<double>(perm[l]));
      d.inv.Set(p * d.length + l, static_cast<double>(inv[l]));
    }
  }
  const int64_t sequences = paths * c.channels;
  d.x = Random(c.dtype, {c.batch, c.channels, c.height, c.width}, rng);
  d.y_gathered = Random(c.dtype, {c.batch, sequences, d.length}, rng);
  d.weight = Random(c.dtype, {sequences * c.multiplier, 1, c.taps}, rng);
  d.bias = Random(c.dtype, {sequences * c.multiplier}, rng);
  d.dy =
      Random(c.dtype, {c.batch, sequences * c.multiplier, d.out_length}, rng);
  return d;
}

std::string Describe(const PathConfig& c) {
  std::vector<std::string> paths;
  for (const PathSpec& p : c.paths) {
    paths.push_back(
        absl::StrCat(CurveName(p.curve), p.pad ? absl::StrCat("+", p.pad) : "",
                     p.offset_row || p.offset_col
                         ? absl::StrCat("@", p.offset_row, ",", p.offset_col)
                         : "",
                     p.rotation ? absl::StrCat("r", p.rotation) : ""));
  }
  return absl::StrCat("N", c.batch, " C", c.channels, " ", c.height, "x",
                      c.width, " paths[", absl::StrJoin(paths, " "), "] m",
                      c.multiplier, " K", c.taps, " s", c.args.stride, " p",
                      c.args.padding, c.bias ? " bias" : "", " ",
                      DTypeTag(c.dtype), "/", DTypeName(c.index_dtype));
}

}  // namespace

std::vector<OpCase> OrientedCases(const OrientedConfig& c) {
  const std::string config = Describe(c);
  std::vector<OpCase> cases;
  cases.push_back(
      {"oriented.forward", config, c.dtype, c.taps + 2,
       [c](const ExecContext& ctx) -> absl::StatusOr<Outputs> {
         Staging st(ctx);
         OrientedData d = MakeOrientedData(c);
         HostTensor y(c.dtype, OrientedActivation(c, d.out_h, d.out_w));
         OrientedConvForwardIO io{st.In(d.x), st.In(d.weight), st.In(d.theta),
                                  st.OptionalIn(c.bias, d.bias), st.Out(y)};
         TAPCONV_RETURN_IF_ERROR(st.status());
         TAPCONV_RETURN_IF_ERROR(ops::OrientedConv2dForward(c.args, io, ctx));
         TAPCONV_RETURN_IF_ERROR(st.Finish());
         return Outputs{{"y", y.ToDoubles()}};
       }});
  cases.push_back(
      {"oriented.backward_input", config, c.dtype, c.taps + 1,
       [c](const ExecContext& ctx) -> absl::StatusOr<Outputs> {
         Staging st(ctx);
         OrientedData d = MakeOrientedData(c);
         HostTensor dx(c.dtype, OrientedActivation(c, c.height, c.width));
         OrientedConvBackwardInputIO io{st.In(d.dy), st.In(d.weight),
                                        st.In(d.theta), st.Out(dx)};
         TAPCONV_RETURN_IF_ERROR(st.status());
         TAPCONV_RETURN_IF_ERROR(
             ops::OrientedConv2dBackwardInput(c.args, io, ctx));
         TAPCONV_RETURN_IF_ERROR(st.Finish());
         return Outputs{{"dx", dx.ToDoubles()}};
       }});
  cases.push_back(
      {"oriented.backward_params", config, c.dtype,
       c.batch * OrientedOutputSize(c.height, c.args.stride) *
           OrientedOutputSize(c.width, c.args.stride),
       [c](const ExecContext& ctx) -> absl::StatusOr<Outputs> {
         Staging st(ctx);
         OrientedData d = MakeOrientedData(c);
         HostTensor dw(c.dtype, {c.channels, 1, 1, c.taps});
         HostTensor db(c.dtype, {c.channels});
         OrientedConvBackwardParamsIO io{
             st.In(d.dy), st.In(d.x), st.In(d.theta), st.Out(dw), st.Out(db)};
         TAPCONV_RETURN_IF_ERROR(st.status());
         TAPCONV_RETURN_IF_ERROR(
             ops::OrientedConv2dBackwardParams(c.args, io, ctx));
         TAPCONV_RETURN_IF_ERROR(st.Finish());
         return Outputs{{"dweight", dw.ToDoubles()}, {"dbias", db.ToDoubles()}};
       }});
  return cases;
}

std::vector<OpCase> ConvNdCases(const ConvNdConfig& c) {
  const std::string config = Describe(c);
  const int64_t kernel_volume = Product(c.kernel);
  const int64_t in_per_group = c.x_shape[1] / c.args.groups;
  std::vector<OpCase> cases;
  cases.push_back(
      {"conv_nd.forward", config, c.dtype, in_per_group * kernel_volume + 1,
       [c](const ExecContext& ctx) -> absl::StatusOr<Outputs> {
         Staging st(ctx);
         ConvNdData d = MakeConvNdData(c);
         HostTensor y(c.dtype, d.y_shape);
         ConvNdForwardIO io{st.In(d.x), st.In(d.weight),
                            st.OptionalIn(c.bias, d.bias), st.Out(y)};
         TAPCONV_RETURN_IF_ERROR(st.status());
         TAPCONV_RETURN_IF_ERROR(ops::ConvNdForward(c.args, io, ctx));
         TAPCONV_RETURN_IF_ERROR(st.Finish());
         return Outputs{{"y", y.ToDoubles()}};
       }});
  cases.push_back(
      {"conv_nd.backward_input", config, c.dtype,
       c.out_channels / c.args.groups * kernel_volume,
       [c](const ExecContext& ctx) -> absl::StatusOr<Outputs> {
         Staging st(ctx);
         ConvNdData d = MakeConvNdData(c);
         HostTensor dx(c.dtype, c.x_shape);
         ConvNdBackwardInputIO io{st.In(d.dy), st.In(d.weight), st.Out(dx)};
         TAPCONV_RETURN_IF_ERROR(st.status());
         TAPCONV_RETURN_IF_ERROR(ops::ConvNdBackwardInput(c.args, io, ctx));
         TAPCONV_RETURN_IF_ERROR(st.Finish());
         return Outputs{{"dx", dx.ToDoubles()}};
       }});
  Dims y_shape = MakeConvNdData(c).y_shape;
  cases.push_back(
      {"conv_nd.backward_params", config, c.dtype,
       y_shape[0] * Product(absl::MakeSpan(y_shape).subspan(2)),
       [c](const ExecContext& ctx) -> absl::StatusOr<Outputs> {
         Staging st(ctx);
         ConvNdData d = MakeConvNdData(c);
         HostTensor dw(c.dtype, d.weight.shape());
         HostTensor db(c.dtype, {c.out_channels});
         ConvNdBackwardParamsIO io{st.In(d.dy), st.In(d.x), st.Out(dw),
                                   st.OptionalOut(c.bias, db)};
         TAPCONV_RETURN_IF_ERROR(st.status());
         TAPCONV_RETURN_IF_ERROR(ops::ConvNdBackwardParams(c.args, io, ctx));
         TAPCONV_RETURN_IF_ERROR(st.Finish());
         Outputs out{{"dweight", dw.ToDoubles()}};
         if (c.bias) out.emplace_back("dbias", db.ToDoubles());
         return out;
       }});
  return cases;
}

std::vector<OpCase> DclsConstructCases(const DclsConfig& c) {
  const std::string config = Describe(c);
  const int64_t box = Product(c.args.dilated_kernel_size);
  std::vector<OpCase> cases;
  cases.push_back(
      {"dcls.construct", config, c.dtype, c.kernel_count * 4,
       [c](const ExecContext& ctx) -> absl::StatusOr<Outputs> {
         Staging st(ctx);
         DclsData d = MakeDclsData(c);
         HostTensor kernel(c.dtype, d.kernel_shape);
         DclsConstructIO io{st.In(d.weight), st.In(d.positions),
                            st.OptionalIn(HasSigma(c.args), d.sigma),
                            st.Out(kernel)};
         TAPCONV_RETURN_IF_ERROR(st.status());
         TAPCONV_RETURN_IF_ERROR(ops::DclsConstructKernel(c.args, io, ctx));
         TAPCONV_RETURN_IF_ERROR(st.Finish());
         return Outputs{{"kernel", kernel.ToDoubles()}};
       }});
  cases.push_back({"dcls.construct_backward", config, c.dtype, box * 4,
                   [c](const ExecContext& ctx) -> absl::StatusOr<Outputs> {
                     Staging st(ctx);
                     DclsData d = MakeDclsData(c);
                     const bool sigma = HasSigma(c.args);
                     HostTensor dw(c.dtype, d.weight.shape());
                     HostTensor dp(c.dtype, d.positions.shape());
                     HostTensor ds(c.dtype, d.positions.shape());
                     DclsConstructBackwardIO io{st.In(d.dkernel),
                                                st.In(d.weight),
                                                st.In(d.positions),
                                                st.OptionalIn(sigma, d.sigma),
                                                st.Out(dw),
                                                st.Out(dp),
                                                st.OptionalOut(sigma, ds)};
                     TAPCONV_RETURN_IF_ERROR(st.status());
                     TAPCONV_RETURN_IF_ERROR(
                         ops::DclsConstructKernelBackward(c.args, io, ctx));
                     TAPCONV_RETURN_IF_ERROR(st.Finish());
                     Outputs out{{"dweight", dw.ToDoubles()},
                                 {"dpositions", dp.ToDoubles()}};
                     if (sigma) out.emplace_back("dsigma", ds.ToDoubles());
                     return out;
                   }});
  return cases;
}

std::vector<OpCase> DclsDepthwiseCases(const DclsDepthwiseConfig& c) {
  const std::string config = Describe(c);
  const int64_t box = Product(c.args.dcls.dense_kernel_size) *
                      Product(c.args.dcls.dilated_kernel_size);
  const Dims out_shape = DepthwiseOutShape(c);
  const int64_t out_volume = Product(absl::MakeConstSpan(out_shape).subspan(2));
  std::vector<OpCase> cases;
  cases.push_back(
      {"dcls.depthwise_forward", config, c.dtype, box + 1,
       [c, out_shape](const ExecContext& ctx) -> absl::StatusOr<Outputs> {
         Staging st(ctx);
         DclsDepthwiseData d = MakeDclsDepthwiseData(c);
         HostTensor y(c.dtype, out_shape);
         DclsDepthwiseForwardIO io{st.In(d.x), st.In(d.weight),
                                   st.In(d.positions),
                                   st.OptionalIn(c.bias, d.bias), st.Out(y)};
         TAPCONV_RETURN_IF_ERROR(st.status());
         TAPCONV_RETURN_IF_ERROR(ops::DclsDepthwiseForward(c.args, io, ctx));
         TAPCONV_RETURN_IF_ERROR(st.Finish());
         return Outputs{{"y", y.ToDoubles()}};
       }});
  cases.push_back({"dcls.depthwise_backward_input", config, c.dtype, box,
                   [c](const ExecContext& ctx) -> absl::StatusOr<Outputs> {
                     Staging st(ctx);
                     DclsDepthwiseData d = MakeDclsDepthwiseData(c);
                     HostTensor dx(c.dtype, c.x_shape);
                     DclsDepthwiseBackwardInputIO io{
                         st.In(d.dy), st.In(d.weight), st.In(d.positions),
                         st.Out(dx)};
                     TAPCONV_RETURN_IF_ERROR(st.status());
                     TAPCONV_RETURN_IF_ERROR(
                         ops::DclsDepthwiseBackwardInput(c.args, io, ctx));
                     TAPCONV_RETURN_IF_ERROR(st.Finish());
                     return Outputs{{"dx", dx.ToDoubles()}};
                   }});
  cases.push_back({"dcls.depthwise_backward_params", config, c.dtype,
                   c.x_shape[0] * out_volume * 8,
                   [c](const ExecContext& ctx) -> absl::StatusOr<Outputs> {
                     Staging st(ctx);
                     DclsDepthwiseData d = MakeDclsDepthwiseData(c);
                     HostTensor dw(c.dtype, d.weight.shape());
                     HostTensor dp(c.dtype, d.positions.shape());
                     HostTensor db(c.dtype, {c.x_shape[1]});
                     DclsDepthwiseBackwardParamsIO io{
                         st.In(d.dy),
                         st.In(d.x),
                         st.In(d.weight),
                         st.In(d.positions),
                         st.Out(dw),
                         st.Out(dp),
                         st.OptionalOut(c.bias, db)};
                     TAPCONV_RETURN_IF_ERROR(st.status());
                     TAPCONV_RETURN_IF_ERROR(
                         ops::DclsDepthwiseBackwardParams(c.args, io, ctx));
                     TAPCONV_RETURN_IF_ERROR(st.Finish());
                     Outputs out{{"dweight", dw.ToDoubles()},
                                 {"dpositions", dp.ToDoubles()}};
                     if (c.bias) out.emplace_back("dbias", db.ToDoubles());
                     return out;
                   }});
  return cases;
}

std::vector<OpCase> PathCases(const PathConfig& c) {
  const std::string config = Describe(c);
  const int64_t paths = static_cast<int64_t>(c.paths.size());
  const int64_t length = c.height * c.width;
  const int64_t out_length =
      (length + 2 * c.args.padding - c.taps) / c.args.stride + 1;
  std::vector<OpCase> cases;
  cases.push_back(
      {"path.gather", config, c.dtype, 1,
       [c, paths, length](const ExecContext& ctx) -> absl::StatusOr<Outputs> {
         Staging st(ctx);
         TAPCONV_ASSIGN_OR_RETURN(PathData d, MakePathData(c));
         HostTensor y(c.dtype, {c.batch, paths * c.channels, length});
         const PathGatherIO io{st.In(d.x), st.In(d.perm), st.Out(y)};
         TAPCONV_RETURN_IF_ERROR(st.status());
         TAPCONV_RETURN_IF_ERROR(ops::PathGather(io, ctx));
         TAPCONV_RETURN_IF_ERROR(st.Finish());
         return Outputs{{"y", y.ToDoubles()}};
       }});
  cases.push_back(
      {"path.scatter", config, c.dtype, paths,
       [c](const ExecContext& ctx) -> absl::StatusOr<Outputs> {
         Staging st(ctx);
         TAPCONV_ASSIGN_OR_RETURN(PathData d, MakePathData(c));
         HostTensor x(c.dtype, {c.batch, c.channels, c.height, c.width});
         const PathScatterIO io{st.In(d.y_gathered), st.In(d.inv), st.Out(x)};
         TAPCONV_RETURN_IF_ERROR(st.status());
         TAPCONV_RETURN_IF_ERROR(ops::PathScatter(io, ctx));
         TAPCONV_RETURN_IF_ERROR(st.Finish());
         return Outputs{{"x", x.ToDoubles()}};
       }});
  cases.push_back(
      {"path.conv_forward", config, c.dtype, c.taps + 1,
       [c, paths,
        out_length](const ExecContext& ctx) -> absl::StatusOr<Outputs> {
         Staging st(ctx);
         TAPCONV_ASSIGN_OR_RETURN(PathData d, MakePathData(c));
         HostTensor y(c.dtype,
                      {c.batch, paths * c.channels * c.multiplier, out_length});
         PathConvForwardIO io{st.In(d.x), st.In(d.perm), st.In(d.weight),
                              st.OptionalIn(c.bias, d.bias), st.Out(y)};
         TAPCONV_RETURN_IF_ERROR(st.status());
         TAPCONV_RETURN_IF_ERROR(ops::PathConvForward(c.args, io, ctx));
         TAPCONV_RETURN_IF_ERROR(st.Finish());
         return Outputs{{"y", y.ToDoubles()}};
       }});
  cases.push_back(
      {"path.conv_backward_input", config, c.dtype,
       paths * c.multiplier * c.taps,
       [c](const ExecContext& ctx) -> absl::StatusOr<Outputs> {
         Staging st(ctx);
         TAPCONV_ASSIGN_OR_RETURN(PathData d, MakePathData(c));
         HostTensor dx(c.dtype, {c.batch, c.channels, c.height, c.width});
         PathConvBackwardInputIO io{st.In(d.dy), st.In(d.inv), st.In(d.weight),
                                    st.Out(dx)};
         TAPCONV_RETURN_IF_ERROR(st.status());
         TAPCONV_RETURN_IF_ERROR(ops::PathConvBackwardInput(c.args, io, ctx));
         TAPCONV_RETURN_IF_ERROR(st.Finish());
         return Outputs{{"dx", dx.ToDoubles()}};
       }});
  cases.push_back(
      {"path.conv_backward_params", config, c.dtype, c.batch * out_length,
       [c](const ExecContext& ctx) -> absl::StatusOr<Outputs> {
         Staging st(ctx);
         TAPCONV_ASSIGN_OR_RETURN(PathData d, MakePathData(c));
         HostTensor dw(c.dtype, d.weight.shape());
         HostTensor db(c.dtype, d.bias.shape());
         PathConvBackwardParamsIO io{st.In(d.dy), st.In(d.x), st.In(d.perm),
                                     st.Out(dw), st.OptionalOut(c.bias, db)};
         TAPCONV_RETURN_IF_ERROR(st.status());
         TAPCONV_RETURN_IF_ERROR(ops::PathConvBackwardParams(c.args, io, ctx));
         TAPCONV_RETURN_IF_ERROR(st.Finish());
         Outputs out{{"dweight", dw.ToDoubles()}};
         if (c.bias) out.emplace_back("dbias", db.ToDoubles());
         return out;
       }});
  return cases;
}

std::vector<OpCase> DemoCases() {
  std::vector<OpCase> all;
  auto append = [&all](std::vector<OpCase> more) {
    for (OpCase& c : more) all.push_back(std::move(c));
  };
  OrientedConfig oriented;
  oriented.taps = 7;
  oriented.args.stride = 2;
  append(OrientedCases(oriented));

  DclsConfig construct;
  construct.args.dilated_kernel_size = {7, 7};
  append(DclsConstructCases(construct));
  construct.args.interpolation = DclsInterpolation::kGauss;
  append(DclsConstructCases(construct));

  ConvNdConfig conv;
  conv.args.padding = {1};
  conv.args.groups = 2;
  append(ConvNdCases(conv));

  DclsDepthwiseConfig depthwise;
  depthwise.args.dcls.dilated_kernel_size = {7, 7};
  depthwise.args.conv.padding = {3};
  depthwise.args.conv.groups = depthwise.x_shape[1];
  append(DclsDepthwiseCases(depthwise));

  PathConfig path;
  path.args = PathConvArgs{1, 2};
  append(PathCases(path));
  return all;
}

double MaxScaledError(const Outputs& actual, const Outputs& expected) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  if (actual.size() != expected.size()) return kInf;
  double worst = 0.0;
  for (size_t i = 0; i < actual.size(); ++i) {
    const auto& a = actual[i].second;
    const auto& e = expected[i].second;
    if (a.size() != e.size()) return kInf;
    for (size_t j = 0; j < a.size(); ++j) {
      const double err = std::fabs(a[j] - e[j]) / (1.0 + std::fabs(e[j]));
      if (!(err <= worst)) worst = std::isnan(err) ? kInf : err;
    }
  }
  return worst;
}

}  // namespace tapconv::conformance
