// The cpu backend's dense N-D convolution: oneDNN where it has a fast,
// deterministic kernel for the problem (onednn_conv.h), the backend's own
// direct kernels otherwise (conv_nd_direct.h): float64, and the shapes oneDNN
// would run through its reference or gemm kernels.

#include <vector>

#include "backends/cpu/conv_nd_arrays.h"
#include "backends/cpu/conv_nd_direct.h"
#include "backends/cpu/conv_nd_policy.h"
#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/onednn_conv.h"
#include "ops/status_macros.h"

namespace tapconv {
namespace {

using cpu::TapProblem;
using cpu::TapStorage;
using cpu::TapTerms;

TapProblem ProblemOf(const ConvNdShape& s, TapStorage storage, int threads) {
  TapProblem p;
  p.geometry = cpu::TapGeometryOf(s);
  p.batch = s.batch;
  p.groups = s.groups;
  p.in_per_group = s.in_channels / s.groups;
  p.out_per_group = s.out_channels / s.groups;
  p.storage = storage;
  p.num_threads = threads;
  return p;
}

template <typename T>
void DirectForward(const TapProblem& p, const ConvNdForwardIO& io) {
  const TapTerms<T> terms = cpu::DenseTapTerms<T>(p, io.weight.data);
  std::vector<T> bias;
  if (io.bias) bias = cpu::LoadAs<T>(*io.bias);
  cpu::TapForward<T>(p, terms, io.x.data, io.bias ? bias.data() : nullptr,
                     io.y.data);
}

template <typename T>
void DirectBackwardInput(const TapProblem& p, const ConvNdBackwardInputIO& io) {
  const TapTerms<T> terms = cpu::DenseTapTerms<T>(p, io.weight.data);
  cpu::TapBackwardInput<T>(p, terms, io.dy.data, io.dx.data);
}

template <typename T>
void DirectBackwardWeights(const TapProblem& p,
                           const ConvNdBackwardParamsIO& io) {
  // Only the cells matter here; the weights are unused.
  TapTerms<T> terms;
  const int64_t kvol =
      p.geometry.kernel[0] * p.geometry.kernel[1] * p.geometry.kernel[2];
  const int64_t per_channel = p.in_per_group * kvol;
  const int64_t cout = p.groups * p.out_per_group;
  terms.begin.resize(cout + 1);
  for (int64_t o = 0; o <= cout; ++o) terms.begin[o] = o * per_channel;
  terms.cell.resize(cout * per_channel);
  for (int64_t i = 0; i < cout * per_channel; ++i)
    terms.cell[i] = i % per_channel;
  terms.weight.assign(cout * per_channel, T(0));
  std::vector<double> sums;
  cpu::TapTermGradient<T>(p, terms, io.dy.data, io.x.data, &sums);
  cpu::StoreRounded(sums, *io.dweight);
}

bool IsEmpty(const TensorRef& t) { return t.numel() == 0; }

}  // namespace

absl::Status CpuBackend::ConvNdForward(const ConvNdArgs& args,
                                       const ConvNdForwardIO& io,
                                       const ExecContext& ctx) const {
  ConvNdShape s;
  TAPCONV_RETURN_IF_ERROR(ValidateConvNdForward(args, io, &s));
  TapStorage storage;
  if (!cpu::TapStorageOf(io.x.dtype, &storage)) {
    return NotSupported("ConvNdForward", DTypeName(io.x.dtype));
  }
  if (IsEmpty(io.y)) return absl::OkStatus();
  if (cpu::ChooseConvImpl(cpu::OnednnConvOp::kForward, s, io.x.dtype,
                          ctx.num_threads) == cpu::ConvImpl::kOnednn) {
    TAPCONV_ASSIGN_OR_RETURN(const bool done,
                             cpu::OnednnConvForward(s, io, ctx.num_threads));
    if (done) return absl::OkStatus();
  }
  const TapProblem p = ProblemOf(s, storage, ctx.num_threads);
  if (storage == TapStorage::kF64) {
    DirectForward<double>(p, io);
  } else {
    DirectForward<float>(p, io);
  }
  return absl::OkStatus();
}

absl::Status CpuBackend::ConvNdBackwardInput(const ConvNdArgs& args,
                                             const ConvNdBackwardInputIO& io,
                                             const ExecContext& ctx) const {
  ConvNdShape s;
  TAPCONV_RETURN_IF_ERROR(ValidateConvNdBackwardInput(args, io, &s));
  TapStorage storage;
  if (!cpu::TapStorageOf(io.dx.dtype, &storage)) {
    return NotSupported("ConvNdBackwardInput", DTypeName(io.dx.dtype));
  }
  if (IsEmpty(io.dx)) return absl::OkStatus();
  if (cpu::ChooseConvImpl(cpu::OnednnConvOp::kBackwardData, s, io.dx.dtype,
                          ctx.num_threads) == cpu::ConvImpl::kOnednn &&
      !IsEmpty(io.dy)) {
    TAPCONV_ASSIGN_OR_RETURN(
        const bool done, cpu::OnednnConvBackwardData(s, io, ctx.num_threads));
    if (done) return absl::OkStatus();
  }
  const TapProblem p = ProblemOf(s, storage, ctx.num_threads);
  if (storage == TapStorage::kF64) {
    DirectBackwardInput<double>(p, io);
  } else {
    DirectBackwardInput<float>(p, io);
  }
  return absl::OkStatus();
}

absl::Status CpuBackend::ConvNdBackwardParams(const ConvNdArgs& args,
                                              const ConvNdBackwardParamsIO& io,
                                              const ExecContext& ctx) const {
  ConvNdShape s;
  TAPCONV_RETURN_IF_ERROR(ValidateConvNdBackwardParams(args, io, &s));
  TapStorage storage;
  if (!cpu::TapStorageOf(io.x.dtype, &storage)) {
    return NotSupported("ConvNdBackwardParams", DTypeName(io.x.dtype));
  }
  // Only dbias: s has no kernel; the sums need dy's channels and sizes only.
  TapProblem p;
  p.geometry = cpu::TapGeometry{};
  const int lead = 3 - s.spatial_rank;
  for (int a = 0; a < 3; ++a) {
    p.geometry.out[a] = a >= lead ? s.out[a - lead] : 1;
  }
  p.batch = s.batch;
  p.groups = 1;
  p.in_per_group = s.in_channels;
  p.out_per_group = s.out_channels;
  p.storage = storage;
  p.num_threads = ctx.num_threads;
  if (io.dbias) {
    std::vector<double> db;
    cpu::TapBiasGradient(p, io.dy.data, &db);
    cpu::StoreRounded(db, *io.dbias);
  }
  if (!io.dweight || IsEmpty(*io.dweight)) return absl::OkStatus();
  if (IsEmpty(io.dy) || IsEmpty(io.x)) {
    cpu::StoreRounded(std::vector<double>(io.dweight->numel(), 0.0),
                      *io.dweight);
    return absl::OkStatus();
  }
  if (cpu::ChooseConvImpl(cpu::OnednnConvOp::kBackwardWeights, s, io.x.dtype,
                          ctx.num_threads) == cpu::ConvImpl::kOnednn) {
    TAPCONV_ASSIGN_OR_RETURN(const bool done,
                             cpu::OnednnConvBackwardWeights(
                                 s, io.dy, io.x, *io.dweight, ctx.num_threads));
    if (done) return absl::OkStatus();
  }
  p = ProblemOf(s, storage, ctx.num_threads);
  if (storage == TapStorage::kF64) {
    DirectBackwardWeights<double>(p, io);
  } else {
    DirectBackwardWeights<float>(p, io);
  }
  return absl::OkStatus();
}

}  // namespace tapconv
