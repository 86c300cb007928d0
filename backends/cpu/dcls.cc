// The cpu backend's DCLS ops: kernel construction and its gradients
// (dcls_construct.h), and the fused bilinear depthwise conv, which convolves
// with each channel's <= 2^M * K merged taps (dcls_taps.h) through the direct
// tap kernels (conv_nd_direct.h) instead of building a dense S^M kernel.

#include <cstring>
#include <vector>

#include "backends/cpu/conv_nd_arrays.h"
#include "backends/cpu/conv_nd_direct.h"
#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/dcls_construct.h"
#include "backends/cpu/dcls_taps.h"
#include "ops/status_macros.h"

namespace tapconv {
namespace {

using cpu::DclsTapTable;
using cpu::TapProblem;
using cpu::TapStorage;
using cpu::TapTerms;

TapProblem DepthwiseProblem(const ConvNdShape& s, TapStorage storage,
                            int threads) {
  TapProblem p;
  p.geometry = cpu::TapGeometryOf(s);
  p.batch = s.batch;
  p.groups = s.groups;
  p.in_per_group = 1;
  p.out_per_group = 1;
  p.storage = storage;
  p.num_threads = threads;
  return p;
}

// The table's taps as kernel terms. The forward and the input gradient skip
// taps whose summed coefficient is exactly 0; the term gradient needs them.
template <typename T>
TapTerms<T> TermsOf(const DclsTapTable& table, bool skip_zero) {
  TapTerms<T> terms;
  terms.begin.assign(1, 0);
  for (int64_t c = 0; c < table.channels; ++c) {
    for (int64_t i = table.begin[c]; i < table.begin[c + 1]; ++i) {
      if (skip_zero && table.coefficient[i] == 0.0) continue;
      terms.cell.push_back(table.cell[i]);
      terms.weight.push_back(static_cast<T>(table.coefficient[i]));
    }
    terms.begin.push_back(static_cast<int64_t>(terms.cell.size()));
  }
  return terms;
}

bool SameBits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() &&
         std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

// The tap table of weight and positions, kept per thread for the next call
// with the same table inputs (bit for bit): a training step's forward, input
// gradient and parameter gradients would otherwise build the same table three
// times (about a fifth of a N16 C768 7x7 S=17 fwd+bwd). The key is everything
// BuildDclsTaps reads.
const DclsTapTable& CachedTaps(const DclsArgs& args, const DclsShape& s,
                               const std::vector<double>& weight,
                               const std::vector<double>& positions,
                               int num_threads) {
  struct Cache {
    bool valid = false;
    DclsAxisOrder axis_order;
    int64_t out_channels, kernel_count;
    int learnable_rank;
    SpatialDims dense_size, dilated_size;
    std::vector<double> weight, positions;
    DclsTapTable table;
  };
  thread_local Cache cache;
  const bool same = cache.valid && cache.axis_order == args.axis_order &&
                    cache.out_channels == s.out_channels &&
                    cache.kernel_count == s.kernel_count &&
                    cache.learnable_rank == s.learnable_rank &&
                    cache.dense_size == s.dense_size &&
                    cache.dilated_size == s.dilated_size &&
                    SameBits(cache.weight, weight) &&
                    SameBits(cache.positions, positions);
  if (!same) {
    cache.valid = false;  // until the new table is complete
    cache.table = cpu::BuildDclsTaps(args, s, weight, positions, num_threads);
    cache.axis_order = args.axis_order;
    cache.out_channels = s.out_channels;
    cache.kernel_count = s.kernel_count;
    cache.learnable_rank = s.learnable_rank;
    cache.dense_size = s.dense_size;
    cache.dilated_size = s.dilated_size;
    cache.weight = weight;
    cache.positions = positions;
    cache.valid = true;
  }
  return cache.table;
}

const DclsTapTable& TapsOf(const DclsDepthwiseArgs& args, const DclsShape& s,
                           const TensorRef& weight, const TensorRef& positions,
                           int num_threads) {
  return CachedTaps(args.dcls, s, cpu::LoadAs<double>(weight),
                    cpu::LoadAs<double>(positions), num_threads);
}

template <typename T>
void Forward(const TapProblem& p, const DclsTapTable& table,
             const DclsDepthwiseForwardIO& io) {
  std::vector<T> bias;
  if (io.bias) bias = cpu::LoadAs<T>(*io.bias);
  cpu::TapForward<T>(p, TermsOf<T>(table, true), io.x.data,
                     io.bias ? bias.data() : nullptr, io.y.data);
}

template <typename T>
void BackwardInput(const TapProblem& p, const DclsTapTable& table,
                   const DclsDepthwiseBackwardInputIO& io) {
  cpu::TapBackwardInput<T>(p, TermsOf<T>(table, true), io.dy.data, io.dx.data);
}

template <typename T>
void TapGradient(const TapProblem& p, const DclsTapTable& table,
                 const DclsDepthwiseBackwardParamsIO& io,
                 std::vector<double>* gradient) {
  cpu::TapTermGradient<T>(p, TermsOf<T>(table, false), io.dy.data, io.x.data,
                          gradient);
}

}  // namespace

absl::Status CpuBackend::DclsConstruct(const DclsArgs& args,
                                       const DclsConstructIO& io,
                                       const ExecContext& ctx) const {
  DclsShape s;
  TAPCONV_RETURN_IF_ERROR(ValidateDclsConstruct(args, io, &s));
  return cpu::DclsConstructKernel(args, s, io, ctx.num_threads);
}

absl::Status CpuBackend::DclsConstructBackward(
    const DclsArgs& args, const DclsConstructBackwardIO& io,
    const ExecContext& ctx) const {
  DclsShape s;
  TAPCONV_RETURN_IF_ERROR(ValidateDclsConstructBackward(args, io, &s));
  return cpu::DclsConstructKernelBackward(args, s, io, ctx.num_threads);
}

absl::Status CpuBackend::DclsDepthwiseForward(const DclsDepthwiseArgs& args,
                                              const DclsDepthwiseForwardIO& io,
                                              const ExecContext& ctx) const {
  DclsShape ds;
  ConvNdShape cs;
  TAPCONV_RETURN_IF_ERROR(ValidateDclsDepthwiseForward(args, io, &ds, &cs));
  TapStorage storage;
  if (!cpu::TapStorageOf(io.x.dtype, &storage)) {
    return NotSupported("DclsDepthwiseForward", DTypeName(io.x.dtype));
  }
  if (io.y.numel() == 0) return absl::OkStatus();
  const DclsTapTable& table =
      TapsOf(args, ds, io.weight, io.positions, ctx.num_threads);
  const TapProblem p = DepthwiseProblem(cs, storage, ctx.num_threads);
  if (storage == TapStorage::kF64) {
    Forward<double>(p, table, io);
  } else {
    Forward<float>(p, table, io);
  }
  return absl::OkStatus();
}

absl::Status CpuBackend::DclsDepthwiseBackwardInput(
    const DclsDepthwiseArgs& args, const DclsDepthwiseBackwardInputIO& io,
    const ExecContext& ctx) const {
  DclsShape ds;
  ConvNdShape cs;
  TAPCONV_RETURN_IF_ERROR(
      ValidateDclsDepthwiseBackwardInput(args, io, &ds, &cs));
  TapStorage storage;
  if (!cpu::TapStorageOf(io.dx.dtype, &storage)) {
    return NotSupported("DclsDepthwiseBackwardInput", DTypeName(io.dx.dtype));
  }
  if (io.dx.numel() == 0) return absl::OkStatus();
  const DclsTapTable& table =
      TapsOf(args, ds, io.weight, io.positions, ctx.num_threads);
  const TapProblem p = DepthwiseProblem(cs, storage, ctx.num_threads);
  if (storage == TapStorage::kF64) {
    BackwardInput<double>(p, table, io);
  } else {
    BackwardInput<float>(p, table, io);
  }
  return absl::OkStatus();
}

absl::Status CpuBackend::DclsDepthwiseBackwardParams(
    const DclsDepthwiseArgs& args, const DclsDepthwiseBackwardParamsIO& io,
    const ExecContext& ctx) const {
  DclsShape ds;
  ConvNdShape cs;
  TAPCONV_RETURN_IF_ERROR(
      ValidateDclsDepthwiseBackwardParams(args, io, &ds, &cs));
  TapStorage storage;
  if (!cpu::TapStorageOf(io.x.dtype, &storage)) {
    return NotSupported("DclsDepthwiseBackwardParams", DTypeName(io.x.dtype));
  }
  const TapProblem p = DepthwiseProblem(cs, storage, ctx.num_threads);
  if (io.dbias) {
    std::vector<double> db;
    cpu::TapBiasGradient(p, io.dy.data, &db);
    cpu::StoreRounded(db, *io.dbias);
  }
  if (!io.dweight && !io.dpositions) return absl::OkStatus();
  const std::vector<double> weight = cpu::LoadAs<double>(io.weight);
  const std::vector<double> positions = cpu::LoadAs<double>(io.positions);
  const DclsTapTable& table =
      CachedTaps(args.dcls, ds, weight, positions, ctx.num_threads);
  std::vector<double> tap_gradient(table.cell.size(), 0.0);
  if (io.dy.numel() > 0 && io.x.numel() > 0) {
    if (storage == TapStorage::kF64) {
      TapGradient<double>(p, table, io, &tap_gradient);
    } else {
      TapGradient<float>(p, table, io, &tap_gradient);
    }
  }
  std::vector<double> dweight, dpositions;
  cpu::DclsTapParameterGradient(args.dcls, ds, weight, positions, table,
                                tap_gradient, io.dweight ? &dweight : nullptr,
                                io.dpositions ? &dpositions : nullptr,
                                ctx.num_threads);
  if (io.dweight) cpu::StoreRounded(dweight, *io.dweight);
  if (io.dpositions) cpu::StoreRounded(dpositions, *io.dpositions);
  return absl::OkStatus();
}

}  // namespace tapconv
