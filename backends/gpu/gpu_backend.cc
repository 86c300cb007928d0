#include "backends/gpu/gpu_backend.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "ops/status_macros.h"

namespace tapconv {
namespace gpu {

ElementType ElementTypeOf(DType dtype) {
  switch (dtype) {
    case DType::kF16:
      return ElementType::kF16;
    case DType::kBF16:
      return ElementType::kBF16;
    case DType::kF64:
      return ElementType::kF64;
    default:
      return ElementType::kF32;
  }
}

ConvProblem ConvProblemOf(const ConvNdShape& s, DType dtype) {
  ConvProblem p;
  p.type = ElementTypeOf(dtype);
  p.spatial_rank = s.spatial_rank;
  p.batch = s.batch;
  p.in_channels = s.in_channels;
  p.out_channels = s.out_channels;
  p.groups = s.groups;
  const int lead = 3 - s.spatial_rank;
  for (int a = 0; a < s.spatial_rank; ++a) {
    p.in[lead + a] = s.in[a];
    p.kernel[lead + a] = s.kernel[a];
    p.out[lead + a] = s.out[a];
    p.stride[lead + a] = s.stride[a];
    p.padding[lead + a] = s.padding[a];
    p.dilation[lead + a] = s.dilation[a];
  }
  return p;
}

}  // namespace gpu

namespace {

using gpu::LaunchEnv;

LaunchEnv EnvFor(const ExecContext& ctx, const Device& device) {
  return LaunchEnv{ctx.stream, device.index};
}

const void* DataOr(const std::optional<TensorRef>& t) {
  return t ? t->data : nullptr;
}
void* MutableDataOr(const std::optional<TensorRef>& t) {
  return t ? t->data : nullptr;
}

gpu::OrientedProblem OrientedProblemOf(const OrientedConvArgs& args,
                                       const OrientedConvShape& s, DType dtype,
                                       const TensorRef& theta) {
  gpu::OrientedProblem p;
  p.type = gpu::ElementTypeOf(dtype);
  p.layout = args.layout == Layout::kNHWC ? gpu::ActivationLayout::kNHWC
                                          : gpu::ActivationLayout::kNCHW;
  p.rule = args.tap_rule;
  p.residual = args.residual;
  p.batch = s.batch;
  p.channels = s.channels;
  p.in_h = s.in_h;
  p.in_w = s.in_w;
  p.out_h = s.out_h;
  p.out_w = s.out_w;
  p.taps = s.taps;
  p.stride = args.stride;
  p.dilation = args.dilation;
  p.theta = theta.data;
  p.theta_is_f64 = theta.dtype == DType::kF64;
  return p;
}

gpu::PathProblem PathProblemOf(const PathShape& s, DType dtype,
                               DType index_dtype) {
  gpu::PathProblem p;
  p.type = gpu::ElementTypeOf(dtype);
  p.index_is_i64 = index_dtype == DType::kI64;
  p.batch = s.batch;
  p.channels = s.channels;
  p.length = s.length;
  p.paths = s.paths;
  return p;
}

gpu::PathProblem PathConvProblemOf(const PathConvArgs& args,
                                   const PathConvShape& s, DType dtype,
                                   DType index_dtype) {
  gpu::PathProblem p = PathProblemOf(s.path, dtype, index_dtype);
  p.multiplier = s.multiplier;
  p.taps = s.taps;
  p.out_length = s.out_length;
  p.stride = args.stride;
  p.padding = args.padding;
  return p;
}

gpu::DclsProblem DclsProblemOf(const DclsArgs& args, const DclsShape& s,
                               DType dtype) {
  gpu::DclsProblem p;
  p.type = gpu::ElementTypeOf(dtype);
  p.interpolation = args.interpolation;
  p.axis_order = args.axis_order;
  p.learnable_rank = s.learnable_rank;
  for (int a = 0; a < s.learnable_rank; ++a)
    p.dilated_size[a] = s.dilated_size[a];
  p.blocks = s.groups_of_elements;
  p.kernel_count = s.kernel_count;
  p.sigma_floor = DclsSigmaFloor(args);
  p.epsilon = args.normalization_epsilon;
  return p;
}

gpu::DclsDepthwiseProblem DepthwiseProblemOf(const DclsDepthwiseArgs& args,
                                             const DclsShape& ds,
                                             const ConvNdShape& cs,
                                             DType dtype) {
  gpu::DclsDepthwiseProblem p;
  p.conv = gpu::ConvProblemOf(cs, dtype);
  p.axis_order = args.dcls.axis_order;
  p.dense_rank = ds.dense_rank;
  p.learnable_rank = ds.learnable_rank;
  p.kernel_count = ds.kernel_count;
  return p;
}

}  // namespace

GpuBackend::GpuBackend(std::string name, DeviceKind kind, int priority,
                       KernelLoader loader)
    : name_(std::move(name)),
      kind_(kind),
      priority_(priority),
      loader_(std::move(loader)) {}

void GpuBackend::Load() const {
  std::call_once(once_, [this] {
    std::string why;
    const gpu::GpuKernels* k = loader_ ? loader_(&why) : nullptr;
    if (k == nullptr) {
      why_ = why.empty() ? "the kernels could not be loaded" : why;
      return;
    }
    int count = 0;
    const gpu::Status probe = k->Probe(&count);
    if (!probe.ok()) {
      why_ = probe.message;
      return;
    }
    if (count <= 0) {
      why_ = "no device found";
      return;
    }
    kernels_ = k;
  });
}

bool GpuBackend::available() const {
  Load();
  return kernels_ != nullptr;
}

std::string GpuBackend::unavailable_reason() const {
  Load();
  return kernels_ != nullptr ? "" : why_;
}

const gpu::GpuKernels* GpuBackend::kernels() const {
  Load();
  return kernels_;
}

absl::StatusOr<const gpu::GpuKernels*> GpuBackend::Ready() const {
  Load();
  if (kernels_ == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("backend '", name_, "' is not available here: ", why_));
  }
  return kernels_;
}

absl::Status GpuBackend::ToAbsl(const gpu::Status& status) {
  switch (status.code) {
    case gpu::Code::kOk:
      return absl::OkStatus();
    case gpu::Code::kInvalidArgument:
      return absl::InvalidArgumentError(status.message);
    case gpu::Code::kUnimplemented:
      return absl::UnimplementedError(status.message);
    case gpu::Code::kFailedPrecondition:
      return absl::FailedPreconditionError(status.message);
    case gpu::Code::kResourceExhausted:
      return absl::ResourceExhaustedError(status.message);
    case gpu::Code::kInternal:
      break;
  }
  return absl::InternalError(status.message);
}

absl::StatusOr<void*> GpuBackend::Allocate(size_t bytes) const {
  TAPCONV_ASSIGN_OR_RETURN(const gpu::GpuKernels* k, Ready());
  void* p = nullptr;
  TAPCONV_RETURN_IF_ERROR(ToAbsl(k->Allocate(0, bytes, &p)));
  return p;
}

void GpuBackend::Free(void* pointer) const {
  const gpu::GpuKernels* k = kernels();
  if (k != nullptr && pointer != nullptr) k->Free(0, pointer);
}

absl::Status GpuBackend::CopyToDevice(void* device_dst, const void* host_src,
                                      size_t bytes) const {
  TAPCONV_ASSIGN_OR_RETURN(const gpu::GpuKernels* k, Ready());
  if (bytes == 0) return absl::OkStatus();
  return ToAbsl(k->CopyToDevice(device_dst, host_src, bytes));
}

absl::Status GpuBackend::CopyToHost(void* host_dst, const void* device_src,
                                    size_t bytes) const {
  TAPCONV_ASSIGN_OR_RETURN(const gpu::GpuKernels* k, Ready());
  if (bytes == 0) return absl::OkStatus();
  return ToAbsl(k->CopyToHost(host_dst, device_src, bytes));
}

absl::Status GpuBackend::Synchronize(const ExecContext& ctx) const {
  TAPCONV_ASSIGN_OR_RETURN(const gpu::GpuKernels* k, Ready());
  return ToAbsl(k->Synchronize(LaunchEnv{ctx.stream, 0}));
}

// --------------------------------------------------------------------------
// Oriented conv

absl::Status GpuBackend::OrientedConvForward(const OrientedConvArgs& args,
                                             const OrientedConvForwardIO& io,
                                             const ExecContext& ctx) const {
  TAPCONV_ASSIGN_OR_RETURN(const gpu::GpuKernels* k, Ready());
  OrientedConvShape s;
  TAPCONV_RETURN_IF_ERROR(ValidateOrientedConvForward(args, io, &s));
  gpu::OrientedProblem p = OrientedProblemOf(args, s, io.x.dtype, io.theta);
  p.x = io.x.data;
  p.weight = io.weight.data;
  p.bias = DataOr(io.bias);
  p.y = io.y.data;
  return ToAbsl(k->OrientedForward(EnvFor(ctx, io.x.device), p));
}

absl::Status GpuBackend::OrientedConvBackwardInput(
    const OrientedConvArgs& args, const OrientedConvBackwardInputIO& io,
    const ExecContext& ctx) const {
  TAPCONV_ASSIGN_OR_RETURN(const gpu::GpuKernels* k, Ready());
  OrientedConvShape s;
  TAPCONV_RETURN_IF_ERROR(ValidateOrientedConvBackwardInput(args, io, &s));
  gpu::OrientedProblem p = OrientedProblemOf(args, s, io.dx.dtype, io.theta);
  p.dy = io.dy.data;
  p.weight = io.weight.data;
  p.dx = io.dx.data;
  return ToAbsl(k->OrientedBackwardInput(EnvFor(ctx, io.dx.device), p));
}

absl::Status GpuBackend::OrientedConvBackwardParams(
    const OrientedConvArgs& args, const OrientedConvBackwardParamsIO& io,
    const ExecContext& ctx) const {
  TAPCONV_ASSIGN_OR_RETURN(const gpu::GpuKernels* k, Ready());
  OrientedConvShape s;
  TAPCONV_RETURN_IF_ERROR(ValidateOrientedConvBackwardParams(args, io, &s));
  gpu::OrientedProblem p = OrientedProblemOf(args, s, io.x.dtype, io.theta);
  // Without dweight the validator does not know K; one tap reads theta only.
  if (!io.dweight) p.taps = 1;
  p.dy = io.dy.data;
  p.x = io.x.data;
  p.dweight = MutableDataOr(io.dweight);
  p.dbias = MutableDataOr(io.dbias);
  return ToAbsl(k->OrientedBackwardParams(EnvFor(ctx, io.x.device), p));
}

// --------------------------------------------------------------------------
// Dense conv

absl::Status GpuBackend::RunDenseConv(ConvPass pass, const gpu::ConvProblem& p,
                                      const gpu::LaunchEnv& env) const {
  TAPCONV_ASSIGN_OR_RETURN(const gpu::GpuKernels* k, Ready());
  switch (pass) {
    case ConvPass::kForward:
      return ToAbsl(k->ConvForward(env, p));
    case ConvPass::kBackwardInput:
      return ToAbsl(k->ConvBackwardInput(env, p));
    case ConvPass::kBackwardParams:
      break;
  }
  return ToAbsl(k->ConvBackwardParams(env, p));
}

absl::Status GpuBackend::ConvNdForward(const ConvNdArgs& args,
                                       const ConvNdForwardIO& io,
                                       const ExecContext& ctx) const {
  TAPCONV_RETURN_IF_ERROR(Ready().status());
  ConvNdShape s;
  TAPCONV_RETURN_IF_ERROR(ValidateConvNdForward(args, io, &s));
  gpu::ConvProblem p = gpu::ConvProblemOf(s, io.x.dtype);
  p.x = io.x.data;
  p.weight = io.weight.data;
  p.bias = DataOr(io.bias);
  p.y = io.y.data;
  return RunDenseConv(ConvPass::kForward, p, EnvFor(ctx, io.x.device));
}

absl::Status GpuBackend::ConvNdBackwardInput(const ConvNdArgs& args,
                                             const ConvNdBackwardInputIO& io,
                                             const ExecContext& ctx) const {
  TAPCONV_RETURN_IF_ERROR(Ready().status());
  ConvNdShape s;
  TAPCONV_RETURN_IF_ERROR(ValidateConvNdBackwardInput(args, io, &s));
  gpu::ConvProblem p = gpu::ConvProblemOf(s, io.dx.dtype);
  p.dy = io.dy.data;
  p.weight = io.weight.data;
  p.dx = io.dx.data;
  return RunDenseConv(ConvPass::kBackwardInput, p, EnvFor(ctx, io.dx.device));
}

absl::Status GpuBackend::ConvNdBackwardParams(const ConvNdArgs& args,
                                              const ConvNdBackwardParamsIO& io,
                                              const ExecContext& ctx) const {
  TAPCONV_RETURN_IF_ERROR(Ready().status());
  ConvNdShape s;
  TAPCONV_RETURN_IF_ERROR(ValidateConvNdBackwardParams(args, io, &s));
  gpu::ConvProblem p = gpu::ConvProblemOf(s, io.x.dtype);
  p.dy = io.dy.data;
  p.x = io.x.data;
  p.dweight = MutableDataOr(io.dweight);
  p.dbias = MutableDataOr(io.dbias);
  return RunDenseConv(ConvPass::kBackwardParams, p, EnvFor(ctx, io.x.device));
}

// --------------------------------------------------------------------------
// DCLS

absl::Status GpuBackend::DclsConstruct(const DclsArgs& args,
                                       const DclsConstructIO& io,
                                       const ExecContext& ctx) const {
  TAPCONV_ASSIGN_OR_RETURN(const gpu::GpuKernels* k, Ready());
  DclsShape s;
  TAPCONV_RETURN_IF_ERROR(ValidateDclsConstruct(args, io, &s));
  gpu::DclsProblem p = DclsProblemOf(args, s, io.weight.dtype);
  p.weight = io.weight.data;
  p.positions = io.positions.data;
  p.sigma = DataOr(io.sigma);
  p.kernel = io.kernel.data;
  return ToAbsl(k->DclsConstruct(EnvFor(ctx, io.weight.device), p));
}

absl::Status GpuBackend::DclsConstructBackward(
    const DclsArgs& args, const DclsConstructBackwardIO& io,
    const ExecContext& ctx) const {
  TAPCONV_ASSIGN_OR_RETURN(const gpu::GpuKernels* k, Ready());
  DclsShape s;
  TAPCONV_RETURN_IF_ERROR(ValidateDclsConstructBackward(args, io, &s));
  gpu::DclsProblem p = DclsProblemOf(args, s, io.weight.dtype);
  p.weight = io.weight.data;
  p.positions = io.positions.data;
  p.sigma = DataOr(io.sigma);
  p.dkernel = io.dkernel.data;
  p.dweight = MutableDataOr(io.dweight);
  p.dpositions = MutableDataOr(io.dpositions);
  p.dsigma = MutableDataOr(io.dsigma);
  return ToAbsl(k->DclsConstructBackward(EnvFor(ctx, io.weight.device), p));
}

absl::Status GpuBackend::DclsDepthwiseForward(const DclsDepthwiseArgs& args,
                                              const DclsDepthwiseForwardIO& io,
                                              const ExecContext& ctx) const {
  TAPCONV_ASSIGN_OR_RETURN(const gpu::GpuKernels* k, Ready());
  DclsShape ds;
  ConvNdShape cs;
  TAPCONV_RETURN_IF_ERROR(ValidateDclsDepthwiseForward(args, io, &ds, &cs));
  gpu::DclsDepthwiseProblem p = DepthwiseProblemOf(args, ds, cs, io.x.dtype);
  p.conv.x = io.x.data;
  p.conv.bias = DataOr(io.bias);
  p.conv.y = io.y.data;
  p.dcls_weight = io.weight.data;
  p.positions = io.positions.data;
  return ToAbsl(k->DclsDepthwiseForward(EnvFor(ctx, io.x.device), p));
}

absl::Status GpuBackend::DclsDepthwiseBackwardInput(
    const DclsDepthwiseArgs& args, const DclsDepthwiseBackwardInputIO& io,
    const ExecContext& ctx) const {
  TAPCONV_ASSIGN_OR_RETURN(const gpu::GpuKernels* k, Ready());
  DclsShape ds;
  ConvNdShape cs;
  TAPCONV_RETURN_IF_ERROR(
      ValidateDclsDepthwiseBackwardInput(args, io, &ds, &cs));
  gpu::DclsDepthwiseProblem p = DepthwiseProblemOf(args, ds, cs, io.dx.dtype);
  p.conv.dy = io.dy.data;
  p.conv.dx = io.dx.data;
  p.dcls_weight = io.weight.data;
  p.positions = io.positions.data;
  return ToAbsl(k->DclsDepthwiseBackwardInput(EnvFor(ctx, io.dx.device), p));
}

absl::Status GpuBackend::DclsDepthwiseBackwardParams(
    const DclsDepthwiseArgs& args, const DclsDepthwiseBackwardParamsIO& io,
    const ExecContext& ctx) const {
  TAPCONV_ASSIGN_OR_RETURN(const gpu::GpuKernels* k, Ready());
  DclsShape ds;
  ConvNdShape cs;
  TAPCONV_RETURN_IF_ERROR(
      ValidateDclsDepthwiseBackwardParams(args, io, &ds, &cs));
  gpu::DclsDepthwiseProblem p = DepthwiseProblemOf(args, ds, cs, io.x.dtype);
  p.conv.dy = io.dy.data;
  p.conv.x = io.x.data;
  p.conv.dweight = MutableDataOr(io.dweight);
  p.conv.dbias = MutableDataOr(io.dbias);
  p.dpositions = MutableDataOr(io.dpositions);
  p.dcls_weight = io.weight.data;
  p.positions = io.positions.data;
  return ToAbsl(k->DclsDepthwiseBackwardParams(EnvFor(ctx, io.x.device), p));
}

// --------------------------------------------------------------------------
// Paths

absl::Status GpuBackend::PathGather(const PathGatherIO& io,
                                    const ExecContext& ctx) const {
  TAPCONV_ASSIGN_OR_RETURN(const gpu::GpuKernels* k, Ready());
  PathShape s;
  TAPCONV_RETURN_IF_ERROR(ValidatePathGather(io, &s, IndexCheck::kShapesOnly));
  gpu::PathProblem p = PathProblemOf(s, io.x.dtype, io.perm.dtype);
  p.x = io.x.data;
  p.perm = io.perm.data;
  p.y = io.y.data;
  return ToAbsl(k->PathGather(EnvFor(ctx, io.x.device), p));
}

absl::Status GpuBackend::PathScatter(const PathScatterIO& io,
                                     const ExecContext& ctx) const {
  TAPCONV_ASSIGN_OR_RETURN(const gpu::GpuKernels* k, Ready());
  PathShape s;
  TAPCONV_RETURN_IF_ERROR(ValidatePathScatter(io, &s, IndexCheck::kShapesOnly));
  gpu::PathProblem p = PathProblemOf(s, io.x.dtype, io.inv.dtype);
  p.y_in = io.y.data;
  p.inv = io.inv.data;
  p.x_out = io.x.data;
  return ToAbsl(k->PathScatter(EnvFor(ctx, io.x.device), p));
}

absl::Status GpuBackend::PathConvForward(const PathConvArgs& args,
                                         const PathConvForwardIO& io,
                                         const ExecContext& ctx) const {
  TAPCONV_ASSIGN_OR_RETURN(const gpu::GpuKernels* k, Ready());
  PathConvShape s;
  TAPCONV_RETURN_IF_ERROR(
      ValidatePathConvForward(args, io, &s, IndexCheck::kShapesOnly));
  gpu::PathProblem p = PathConvProblemOf(args, s, io.x.dtype, io.perm.dtype);
  p.x = io.x.data;
  p.perm = io.perm.data;
  p.weight = io.weight.data;
  p.bias = DataOr(io.bias);
  p.y = io.y.data;
  return ToAbsl(k->PathConvForward(EnvFor(ctx, io.x.device), p));
}

absl::Status GpuBackend::PathConvBackwardInput(
    const PathConvArgs& args, const PathConvBackwardInputIO& io,
    const ExecContext& ctx) const {
  TAPCONV_ASSIGN_OR_RETURN(const gpu::GpuKernels* k, Ready());
  PathConvShape s;
  TAPCONV_RETURN_IF_ERROR(
      ValidatePathConvBackwardInput(args, io, &s, IndexCheck::kShapesOnly));
  gpu::PathProblem p = PathConvProblemOf(args, s, io.dx.dtype, io.inv.dtype);
  p.dy = io.dy.data;
  p.inv = io.inv.data;
  p.weight = io.weight.data;
  p.dx = io.dx.data;
  return ToAbsl(k->PathConvBackwardInput(EnvFor(ctx, io.dx.device), p));
}

absl::Status GpuBackend::PathConvBackwardParams(
    const PathConvArgs& args, const PathConvBackwardParamsIO& io,
    const ExecContext& ctx) const {
  TAPCONV_ASSIGN_OR_RETURN(const gpu::GpuKernels* k, Ready());
  PathConvShape s;
  TAPCONV_RETURN_IF_ERROR(
      ValidatePathConvBackwardParams(args, io, &s, IndexCheck::kShapesOnly));
  gpu::PathProblem p = PathConvProblemOf(args, s, io.x.dtype, io.perm.dtype);
  p.dy = io.dy.data;
  p.x = io.x.data;
  p.perm = io.perm.data;
  p.dweight = MutableDataOr(io.dweight);
  p.dbias = MutableDataOr(io.dbias);
  return ToAbsl(k->PathConvBackwardParams(EnvFor(ctx, io.x.device), p));
}

}  // namespace tapconv
