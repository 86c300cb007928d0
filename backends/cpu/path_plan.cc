#include "backends/cpu/path_plan.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "ops/float16.h"
#include "ops/status_macros.h"

namespace tapconv::cpu {
namespace {

constexpr int64_t kMaxInt32 = std::numeric_limits<int32_t>::max();
// Vector slack past every buffer's last used entry, and the granularity of the
// buffer pitches: the widest vector (16 float32 lanes) of any ISA, so the
// layout does not depend on the ISA that runs it.
constexpr int64_t kSlack = 16;

// a >= 0, b > 0.
int64_t CeilDiv(int64_t a, int64_t b) { return a / b + (a % b != 0 ? 1 : 0); }
int64_t RoundUp(int64_t a, int64_t m) { return CeilDiv(a, m) * m; }

absl::Status StorageOf(DType dtype, PathStorage* storage) {
  switch (dtype) {
    case DType::kF32:
      *storage = PathStorage::kF32;
      return absl::OkStatus();
    case DType::kF64:
      *storage = PathStorage::kF64;
      return absl::OkStatus();
    case DType::kBF16:
      *storage = PathStorage::kBF16;
      return absl::OkStatus();
    default:
      return absl::UnimplementedError(absl::StrCat(
          "dtype ", DTypeName(dtype), " (float32, float64, bfloat16 are)"));
  }
}

// Rows of a validated int32/int64 index tensor as int32: the tensor itself
// when it is int32, else a converted copy in `storage`.
const int32_t* Int32Rows(const TensorRef& t, std::vector<int32_t>* storage) {
  if (t.dtype == DType::kI32) return t.data_as<const int32_t>();
  const int64_t n = t.numel();
  const int64_t* src = t.data_as<const int64_t>();
  storage->resize(n);
  for (int64_t i = 0; i < n; ++i) (*storage)[i] = static_cast<int32_t>(src[i]);
  return storage->data();
}

template <typename Index>
void FillSequenceIndex(const Index* perm, const PathPlan& plan, int64_t length,
                       int64_t base, int32_t* out) {
  for (int64_t p = 0; p < plan.paths; ++p) {
    const Index* row = perm + p * length;
    for (int64_t r = 0; r < plan.seq_phases; ++r) {
      int32_t* dst = out + (p * plan.seq_phases + r) * plan.seq_pitch;
      for (int64_t t = plan.seq_lo[r]; t < plan.seq_hi[r]; ++t)
        dst[t] = static_cast<int32_t>(row[base + r + plan.stride * t]);
    }
  }
}

template <typename Index>
void FillInputIndex(const Index* inv, int64_t count, int64_t stride,
                    int64_t z_pitch, int32_t* out) {
  for (int64_t j = 0; j < count; ++j) {
    const int64_t i = static_cast<int64_t>(inv[j]);
    out[j] = static_cast<int32_t>(i % stride * z_pitch + i / stride);
  }
}

}  // namespace

absl::Status PathPlanTables::SetCommon(const PathShape& s, DType dtype,
                                       const PathKernelTable& kernels) {
  TAPCONV_RETURN_IF_ERROR(StorageOf(dtype, &plan_.storage));
  const int64_t lanes = plan_.storage == PathStorage::kF64 ? kernels.lanes_f64
                                                           : kernels.lanes_f32;
  // A block with fewer channels than lanes would waste most of every vector.
  plan_.blocked = lanes == 1 || s.channels >= lanes;
  plan_.lanes = plan_.blocked ? lanes : 1;
  if (s.length > kMaxInt32) {
    return absl::UnimplementedError(
        absl::StrCat("H*W = ", s.length, " > 2^31 - 1 (int32 tables)"));
  }
  compute_bytes_ = plan_.storage == PathStorage::kF64 ? 8 : 4;
  plan_.batch = s.batch;
  plan_.channels = s.channels;
  plan_.paths = s.paths;
  plan_.length = s.length;
  plan_.multiplier = 1;
  plan_.stride = 1;
  plan_.num_items = s.batch * ImageItemsPerImage();
  return absl::OkStatus();
}

int64_t PathPlanTables::ImageItemsPerImage() const {
  return plan_.blocked ? CeilDiv(plan_.channels, plan_.lanes) : plan_.channels;
}

void PathPlanTables::SetScratch(int64_t plane_positions, int64_t rows) {
  int64_t offset = 0;
  auto region = [&offset](int64_t bytes) {
    const int64_t at = offset;
    offset += RoundUp(bytes, 64);
    return at;
  };
  const PathPlan& p = plan_;
  const int64_t position = p.lanes * compute_bytes_;
  plan_.scratch_plane = region(plane_positions * position);
  plan_.scratch_seq = region(p.seq_phases * p.seq_pitch * position);
  plan_.scratch_dyb = region(p.multiplier * p.dy_pitch * position);
  plan_.scratch_z = region(p.paths * p.z_phases * p.z_pitch * position);
  // Pointers, then as many weight (or sum) vectors plus one.
  plan_.scratch_taps =
      region(p.max_tap_list * 8 + (p.max_tap_list + 1) * p.lanes * 8);
  plan_.scratch_rows = region(rows * static_cast<int64_t>(sizeof(void*)));
  plan_.scratch_chunk = region(p.blocked ? kPathChunk * position : 0);
  plan_.scratch_bytes = std::max<int64_t>(offset, 64);
}

int64_t PathPlanTables::PlanePositions(int64_t positions) const {
  // Blocked kernels transpose every plane; the per-channel ones convert only
  // bfloat16 planes (float32 and float64 are gathered from the tensor).
  if (plan_.blocked || plan_.storage == PathStorage::kBF16) return positions;
  return 0;
}

void PathPlanTables::SetParameters(const TensorRef& weight,
                                   const TensorRef* bias) {
  auto compute = [this](const TensorRef& t,
                        std::vector<float>* copy) -> const void* {
    if (plan_.storage != PathStorage::kBF16) return t.data;
    const int64_t n = t.numel();
    const BFloat16* src = t.data_as<const BFloat16>();
    copy->resize(n);
    for (int64_t i = 0; i < n; ++i) (*copy)[i] = ToFloat(src[i]);
    return copy->data();
  };
  plan_.weight = compute(weight, &weight_f32_);
  plan_.bias = bias != nullptr ? compute(*bias, &bias_f32_) : nullptr;
}

void PathPlanTables::SetSequenceLayout(const PathConvArgs& args,
                                       const PathConvShape& s,
                                       const TensorRef& perm) {
  const int64_t K = s.taps, st = args.stride, pad = args.padding;
  const int64_t L = s.path.length, L_out = s.out_length;
  // Outputs whose window [st*l' - pad, st*l' - pad + K) meets [0, L).
  const int64_t j0 = pad - K + 1 <= 0 ? 0 : CeilDiv(pad - K + 1, st);
  const int64_t j1 = std::min(L_out, (L - 1 + pad) / st + 1);
  plan_.first_out = std::min(j0, L_out);
  plan_.valid_out = std::max<int64_t>(0, j1 - j0);
  plan_.max_tap_list = std::max(plan_.max_tap_list, K);
  if (plan_.valid_out == 0) return;
  const int64_t base = st * j0 - pad;  // >= -(K - 1), <= L - 1
  const int64_t entries = plan_.valid_out + (K - 1) / st;
  plan_.seq_phases = std::min(st, K);
  plan_.seq_pitch = RoundUp(entries + kSlack, kSlack);
  seq_lo_.assign(plan_.seq_phases, 0);
  seq_hi_.assign(plan_.seq_phases, 0);
  for (int64_t r = 0; r < plan_.seq_phases; ++r) {
    // Entry t holds position base + r + st*t; keep those in [0, L).
    const int64_t first = -base - r;
    const int64_t lo = first > 0 ? CeilDiv(first, st) : 0;
    const int64_t last = L - 1 - base - r;
    const int64_t hi = last < 0 ? lo : std::min(entries, last / st + 1);
    seq_lo_[r] = std::min(lo, entries);
    seq_hi_[r] = std::max(hi, seq_lo_[r]);
  }
  plan_.seq_lo = seq_lo_.data();
  plan_.seq_hi = seq_hi_.data();
  seq_index_.assign(s.path.paths * plan_.seq_phases * plan_.seq_pitch, 0);
  if (perm.dtype == DType::kI32) {
    FillSequenceIndex(perm.data_as<const int32_t>(), plan_, L, base,
                      seq_index_.data());
  } else {
    FillSequenceIndex(perm.data_as<const int64_t>(), plan_, L, base,
                      seq_index_.data());
  }
  plan_.seq_index = seq_index_.data();
}

absl::Status PathPlanTables::SetInputGradientLayout(const PathConvArgs& args,
                                                    const PathConvShape& s,
                                                    const TensorRef& inv) {
  const int64_t K = s.taps, st = args.stride, pad = args.padding;
  const int64_t L = s.path.length, L_out = s.out_length;
  const int64_t most_taps = CeilDiv(K, st);
  plan_.dy_front = most_taps;
  plan_.dy_pitch = RoundUp(L_out + 2 * most_taps + kSlack, kSlack);
  plan_.z_phases = std::min(st, L);
  plan_.z_pitch = RoundUp(CeilDiv(L, st) + kSlack, kSlack);
  if (plan_.z_phases * plan_.z_pitch > kMaxInt32) {
    return absl::UnimplementedError(
        absl::StrCat("stride ", st, " on H*W = ", L,
                     ": the input gradient's int32 tables overflow"));
  }
  z_phase_.resize(plan_.z_phases);
  for (int64_t rho = 0; rho < plan_.z_phases; ++rho) {
    // Position i = st*u + rho is read by tap k of output l' when st*l' = i +
    // pad - k: k = first_tap + st*a, l' = u + e - a.
    PathInputPhase& ph = z_phase_[rho];
    ph.first_tap = (rho + pad) % st;
    ph.taps = ph.first_tap < K ? CeilDiv(K - ph.first_tap, st) : 0;
    const int64_t e = (rho + pad - ph.first_tap) / st;
    ph.offset = e + most_taps;
    const int64_t positions = CeilDiv(L - rho, st);
    // Past u = L_out + taps - 1 - e every l' = u + e - a is >= L_out.
    ph.length = ph.taps == 0
                    ? 0
                    : std::max<int64_t>(
                          0, std::min(positions, L_out + ph.taps - 1 - e));
  }
  plan_.z_phase = z_phase_.data();
  z_index_.resize(s.path.paths * L);
  if (inv.dtype == DType::kI32) {
    FillInputIndex(inv.data_as<const int32_t>(), s.path.paths * L, st,
                   plan_.z_pitch, z_index_.data());
  } else {
    FillInputIndex(inv.data_as<const int64_t>(), s.path.paths * L, st,
                   plan_.z_pitch, z_index_.data());
  }
  plan_.z_index = z_index_.data();
  plan_.max_tap_list = std::max(plan_.max_tap_list, s.multiplier * most_taps);
  return absl::OkStatus();
}

absl::Status PathPlanTables::BuildGather(const PathShape& s,
                                         const PathGatherIO& io,
                                         const PathKernelTable& kernels) {
  TAPCONV_RETURN_IF_ERROR(SetCommon(s, io.x.dtype, kernels));
  plan_.x = io.x.data;
  plan_.out = io.y.data;
  plan_.index = Int32Rows(io.perm, &index_);
  SetScratch(PlanePositions(s.length), 0);
  return absl::OkStatus();
}

absl::Status PathPlanTables::BuildScatter(const PathShape& s,
                                          const PathScatterIO& io,
                                          const PathKernelTable& kernels) {
  TAPCONV_RETURN_IF_ERROR(SetCommon(s, io.x.dtype, kernels));
  plan_.y = io.y.data;
  plan_.out = io.x.data;
  plan_.index = Int32Rows(io.inv, &index_);
  SetScratch(PlanePositions(s.paths * s.length), s.paths);
  return absl::OkStatus();
}

absl::Status PathPlanTables::BuildForward(const PathConvArgs& args,
                                          const PathConvShape& s,
                                          const PathConvForwardIO& io,
                                          const PathKernelTable& kernels) {
  TAPCONV_RETURN_IF_ERROR(SetCommon(s.path, io.x.dtype, kernels));
  plan_.multiplier = s.multiplier;
  plan_.taps = s.taps;
  plan_.stride = args.stride;
  plan_.padding = args.padding;
  plan_.out_length = s.out_length;
  plan_.x = io.x.data;
  plan_.out = io.y.data;
  SetParameters(io.weight, io.bias ? &*io.bias : nullptr);
  SetSequenceLayout(args, s, io.perm);
  SetScratch(PlanePositions(s.path.length), 0);
  return absl::OkStatus();
}

absl::Status PathPlanTables::BuildBackwardInput(
    const PathConvArgs& args, const PathConvShape& s,
    const PathConvBackwardInputIO& io, const PathKernelTable& kernels) {
  TAPCONV_RETURN_IF_ERROR(SetCommon(s.path, io.dx.dtype, kernels));
  plan_.multiplier = s.multiplier;
  plan_.taps = s.taps;
  plan_.stride = args.stride;
  plan_.padding = args.padding;
  plan_.out_length = s.out_length;
  plan_.dy = io.dy.data;
  plan_.out = io.dx.data;
  SetParameters(io.weight, nullptr);
  TAPCONV_RETURN_IF_ERROR(SetInputGradientLayout(args, s, io.inv));
  SetScratch(0, s.path.paths);
  return absl::OkStatus();
}

absl::Status PathPlanTables::BuildBackwardParams(
    const PathConvArgs& args, const PathConvShape& s,
    const PathConvBackwardParamsIO& io, const PathKernelTable& kernels) {
  TAPCONV_RETURN_IF_ERROR(SetCommon(s.path, io.x.dtype, kernels));
  plan_.multiplier = s.multiplier;
  plan_.taps = s.taps;  // 0 without dweight
  plan_.stride = args.stride;
  plan_.padding = args.padding;
  plan_.out_length = s.out_length;
  plan_.x = io.x.data;
  plan_.dy = io.dy.data;
  const int64_t out_channels = io.dy.shape[1];
  if (io.dweight) {
    dweight_.assign(out_channels * s.taps, 0.0);
    plan_.dweight = dweight_.data();
    SetSequenceLayout(args, s, io.perm);
  }
  if (io.dbias) {
    dbias_.assign(out_channels, 0.0);
    plan_.dbias = dbias_.data();
  }
  // Items are channels (blocks) over the whole batch.
  plan_.num_items = s.path.batch > 0 ? ImageItemsPerImage() : 0;
  const bool gathers = io.dweight && plan_.valid_out > 0;
  SetScratch(gathers ? PlanePositions(s.path.length) : 0, 0);
  return absl::OkStatus();
}

void PathPlanTables::StoreParams(const PathConvBackwardParamsIO& io) const {
  auto store = [](const std::vector<double>& v, const TensorRef& t) {
    for (size_t i = 0; i < v.size(); ++i) {
      switch (t.dtype) {
        case DType::kF32:
          t.data_as<float>()[i] = static_cast<float>(v[i]);
          break;
        case DType::kF64:
          t.data_as<double>()[i] = v[i];
          break;
        case DType::kBF16:
          t.data_as<BFloat16>()[i] = ToBFloat16(static_cast<float>(v[i]));
          break;
        default:
          break;
      }
    }
  };
  if (io.dweight) store(dweight_, *io.dweight);
  if (io.dbias) store(dbias_, *io.dbias);
}

}  // namespace tapconv::cpu
