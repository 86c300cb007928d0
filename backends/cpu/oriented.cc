// The cpu backend's oriented conv: host-side set-up (angles to taps, weight
// merging, the plan) here, the vectorised work in oriented_kernels_<isa>.cc,
// chosen by the instruction set detected at run time.

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/isa.h"
#include "backends/cpu/oriented_blocked_abi.h"
#include "backends/cpu/oriented_blocked_planner.h"
#include "backends/cpu/oriented_kernel_abi.h"
#include "backends/cpu/oriented_planner.h"
#include "backends/cpu/parallel.h"
#include "backends/cpu/work_queue.h"
#include "ops/dtype.h"
#include "ops/float16.h"
#include "ops/geometry/oriented_taps.h"
#include "ops/status_macros.h"

namespace tapconv {
namespace {

using cpu::OrientedOp;
using cpu::OrientedPlan;
using cpu::OrientedPlanner;
using cpu::OrientedPlanRequest;
using cpu::OrientedPlanStorage;
using cpu::OrientedStorage;
using cpu::OrientedTapSet;

// The kernel table of the instruction set in use.
template <typename Table>
const Table& ForActiveIsa(const Table& scalar, const Table& avx2,
                          const Table& avx512) {
  switch (cpu::ActiveIsa()) {
    case cpu::Isa::kAvx512:
      return avx512;
    case cpu::Isa::kAvx2:
      return avx2;
    case cpu::Isa::kScalar:
      break;
  }
  return scalar;
}

const cpu::OrientedKernelTable& Kernels() {
  return ForActiveIsa(cpu::scalar::OrientedKernels(),
                      cpu::avx2::OrientedKernels(),
                      cpu::avx512::OrientedKernels());
}

const cpu::OrientedBlockedKernelTable& BlockedKernels() {
  return ForActiveIsa(cpu::scalar::OrientedBlockedKernels(),
                      cpu::avx2::OrientedBlockedKernels(),
                      cpu::avx512::OrientedBlockedKernels());
}

// float16 has no kernels yet (the models train in bf16 or f32); the caller
// reports Unimplemented.
bool StorageOf(DType dtype, OrientedStorage* storage) {
  switch (dtype) {
    case DType::kF32:
      *storage = OrientedStorage::kF32;
      return true;
    case DType::kF64:
      *storage = OrientedStorage::kF64;
      return true;
    case DType::kBF16:
      *storage = OrientedStorage::kBF16;
      return true;
    default:
      return false;
  }
}

int LanesFor(OrientedStorage storage) {
  const cpu::OrientedKernelTable& k = Kernels();
  return storage == OrientedStorage::kF64 ? k.lanes_f64 : k.lanes_f32;
}

// Host tensors of the small parameter arrays (theta, weight, bias) as doubles.
double WidenElement(float v) { return v; }
double WidenElement(double v) { return v; }
double WidenElement(BFloat16 v) { return ToFloat(v); }
double WidenElement(Half v) { return ToFloat(v); }

template <typename T>
void Widen(const TensorRef& t, int64_t begin, int64_t count, double* out) {
  const T* data = t.data_as<const T>() + begin;
  for (int64_t i = 0; i < count; ++i) out[i] = WidenElement(data[i]);
}

// Elements [begin, begin + count) of t as doubles.
void LoadDoubleRange(const TensorRef& t, int64_t begin, int64_t count,
                     double* out) {
  switch (t.dtype) {
    case DType::kF32:
      return Widen<float>(t, begin, count, out);
    case DType::kF64:
      return Widen<double>(t, begin, count, out);
    case DType::kBF16:
      return Widen<BFloat16>(t, begin, count, out);
    case DType::kF16:
      return Widen<Half>(t, begin, count, out);
    default:
      std::fill(out, out + count, 0.0);
  }
}

void LoadDoublesInto(const TensorRef& t, std::vector<double>* out) {
  out->resize(t.numel());  // every element is written below
  LoadDoubleRange(t, 0, t.numel(), out->data());
}

// Rounds to the tensor's dtype (bfloat16 through float32).
void StoreDoubles(const std::vector<double>& v, const TensorRef& t) {
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
}

// theta's angles, checked, into *angles.
absl::Status LoadAngles(const TensorRef& theta, std::vector<double>* angles) {
  LoadDoublesInto(theta, angles);
  return ValidateOrientedAngles(*angles);
}

// What a blocked plan depends on, besides the pass, its weights, bias and
// tensors: the angles (their exact bits), the tap rule, dilation, stride,
// shapes, dtype, layout, whether there is a bias, and the fused residual (its
// +1 is merged into the weights, which a reusing call with the same weight
// bytes keeps). A reused plan takes this call's weights, bias and tensors
// (OrientedBlockedPlanStorage::Refresh). In training the angles and shapes
// stay while the weights change, and the set-up was 4% of an N2 C512 56² K31
// forward.
void PlanKey(const OrientedConvArgs& args, const OrientedConvShape& s,
             OrientedStorage storage, bool bias,
             const std::vector<double>& angles, std::vector<uint64_t>* key) {
  key->assign(
      {static_cast<uint64_t>(args.stride), static_cast<uint64_t>(args.dilation),
       static_cast<uint64_t>(args.tap_rule), static_cast<uint64_t>(args.layout),
       static_cast<uint64_t>(storage), bias ? 1u : 0u, args.residual ? 1u : 0u,
       static_cast<uint64_t>(s.batch), static_cast<uint64_t>(s.channels),
       static_cast<uint64_t>(s.in_h), static_cast<uint64_t>(s.in_w),
       static_cast<uint64_t>(s.out_h), static_cast<uint64_t>(s.out_w),
       static_cast<uint64_t>(s.taps)});
  for (double angle : angles) {
    uint64_t bits;
    std::memcpy(&bits, &angle, sizeof(bits));
    key->push_back(bits);
  }
}

// w (+1 on the centre tap under the fused residual), C * K.
void EffectiveWeights(const OrientedConvArgs& args, const TensorRef& weight,
                      const OrientedConvShape& s, std::vector<double>* out) {
  LoadDoublesInto(weight, out);
  std::vector<double>& w = *out;
  if (args.residual) {
    for (int64_t c = 0; c < s.channels; ++c) w[c * s.taps + s.taps / 2] += 1.0;
  }
}

// The host-side arrays of one op call (a few hundred KB at C=512, K=31),
// kept per thread and op between calls. Allocated afresh, they came back from
// glibc as new pages on every call (it hands freed memory above 128 KB back
// to the kernel): about 60 page faults, 30 us of a 1.2 ms forward.
struct HostBuffers {
  std::vector<double> angles, weights, channel_weights;
  cpu::OrientedAngleTable table;
  OrientedTapSet taps;
  cpu::OrientedBlockedPlanStorage blocked;
  OrientedPlanStorage plan;
  // This call's PlanKey, and that of the blocked plan in `blocked` (empty
  // when there is none), which a call with the same key reuses.
  std::vector<uint64_t> key, blocked_key;
  // The weight tensor's bytes and the bias the blocked plan's values were
  // merged from: a reusing call with the same ones (inference) keeps them.
  std::vector<char> merged_weight_bytes;
  std::vector<double> merged_bias;
};

// Whether `bytes` already holds t's bytes; if not, makes it so.
bool SameBytesElseCopy(const TensorRef& t, std::vector<char>* bytes) {
  const size_t n = static_cast<size_t>(t.numel()) * SizeOf(t.dtype);
  const char* data = static_cast<const char*>(t.data);
  if (bytes->size() == n && std::memcmp(bytes->data(), data, n) == 0) {
    return true;
  }
  bytes->assign(data, data + n);
  return false;
}

// The same for the (already widened) bias; none counts as empty.
bool SameBiasElseCopy(const std::vector<double>* bias,
                      std::vector<double>* copy) {
  static const std::vector<double> kNone;
  const std::vector<double>& now = bias != nullptr ? *bias : kNone;
  if (*copy == now) return true;
  *copy = now;
  return false;
}

// A per-thread scratch buffer, kept between calls: ParallelFor's threads are
// persistent, and re-faulting fresh pages on every call would cost more than
// the small planes' arithmetic. A new buffer starts with `header_bytes` zero
// bytes (the blocked kernels keep a header there).
class ThreadScratch {
 public:
  ~ThreadScratch() { std::free(data_); }
  void* Get(int64_t bytes, int64_t header_bytes) {
    if (bytes > size_) {
      std::free(data_);
      const size_t rounded = (static_cast<size_t>(bytes) + 63) / 64 * 64;
      data_ = std::aligned_alloc(64, rounded);
      size_ = data_ != nullptr ? bytes : 0;
      if (data_ != nullptr) std::memset(data_, 0, header_bytes);
    }
    return data_;
  }

 private:
  void* data_ = nullptr;
  int64_t size_ = 0;
};

// This thread's scratch of `bytes` for plans of type Plan (each its own
// buffer, so that the blocked kernels' header survives plane runs), or null.
template <typename Plan>
void* ScratchFor(int64_t bytes, int64_t header_bytes) {
  thread_local ThreadScratch scratch;
  return scratch.Get(bytes, header_bytes);
}

absl::Status ScratchError(int64_t bytes) {
  return absl::ResourceExhaustedError(
      absl::StrCat("cpu oriented conv: cannot allocate ", bytes,
                   " bytes of scratch per thread"));
}

// Runs fn(plan, begin, end, scratch) over the plan's work items in parallel,
// with a per-thread scratch of plan.scratch_bytes.
absl::Status RunPlane(const OrientedPlan& plan, cpu::OrientedItemsFn fn,
                      const ExecContext& ctx) {
  if (plan.num_items <= 0) return absl::OkStatus();
  std::atomic<bool> out_of_memory{false};
  cpu::ParallelFor(
      plan.num_items, 1, ctx.num_threads, [&](int64_t begin, int64_t end) {
        void* buffer = ScratchFor<OrientedPlan>(plan.scratch_bytes, 0);
        if (buffer == nullptr) {
          out_of_memory.store(true);
          return;
        }
        fn(plan, begin, end, buffer);
      });
  return out_of_memory.load() ? ScratchError(plan.scratch_bytes)
                              : absl::OkStatus();
}

// The blocked kernels take their items from a queue shared by the threads
// (see OrientedBlockedItemsFn), with a per-thread scratch of
// plan.scratch_bytes.
absl::Status RunBlocked(const cpu::OrientedBlockedPlan& plan,
                        const ExecContext& ctx) {
  if (plan.num_items <= 0) return absl::OkStatus();
  cpu::WorkQueue items(plan.num_items, cpu::ThreadsFor(ctx.num_threads));
  std::atomic<bool> out_of_memory{false};
  cpu::ParallelWorkers(plan.num_items, ctx.num_threads, [&] {
    void* buffer = ScratchFor<cpu::OrientedBlockedPlan>(
        plan.scratch_bytes, cpu::kOrientedBlockedHeaderBytes);
    if (buffer == nullptr) {
      out_of_memory.store(true);
      return;
    }
    BlockedKernels().run(plan, &items, buffer);
  });
  return out_of_memory.load() ? ScratchError(plan.scratch_bytes)
                              : absl::OkStatus();
}

// The tensors of one pass: forward x -> y (src, dst); input gradient
// dy -> dx (src, dst); weight gradient x (src) and dy, with the gradients
// wanted.
struct BlockedTensors {
  const void* src = nullptr;
  void* dst = nullptr;
  const void* dy = nullptr;
  bool want_dweight = false, want_dbias = false;
};

// A plane-kernel plan request for `op`; the caller adds the tensors.
OrientedPlanRequest PlaneRequest(OrientedOp op, const OrientedConvArgs& args,
                                 const OrientedConvShape& s,
                                 OrientedStorage storage,
                                 const OrientedTapSet& taps,
                                 const std::vector<double>* bias) {
  return OrientedPlanRequest{op,          s,
                             args.stride, args.layout == Layout::kNHWC,
                             storage,     LanesFor(storage),
                             &taps,       bias};
}

// Fills `blocked` and returns true when the blocked kernels run this pass:
// the forward, the stride-1 input gradient (the forward conv of dy with the
// mirrored taps) or the weight gradient.
bool PlanBlocked(cpu::OrientedPass pass, const OrientedConvArgs& args,
                 const OrientedConvShape& s, OrientedStorage storage,
                 const cpu::OrientedAngleTable& table,
                 const OrientedTapSet& taps, const std::vector<double>* bias,
                 const BlockedTensors& t,
                 cpu::OrientedBlockedPlanStorage* blocked) {
  const bool nhwc = args.layout == Layout::kNHWC;
  cpu::OrientedBlockedRequest r{cpu::OrientedBlockedOp::kForward,
                                storage,
                                nhwc,
                                t.src,
                                t.dst,
                                t.dy,
                                s.batch,
                                s.channels,
                                s.in_h,
                                s.in_w,
                                s.out_h,
                                s.out_w,
                                args.stride,
                                &table,
                                &taps,
                                bias,
                                &BlockedKernels()};
  switch (pass) {
    case cpu::OrientedPass::kForward:
      break;
    case cpu::OrientedPass::kBackwardInput:
      if (args.stride != 1) return false;
      r.op = cpu::OrientedBlockedOp::kInputGradient;
      r.src_h = s.out_h;
      r.src_w = s.out_w;
      r.dst_h = s.in_h;
      r.dst_w = s.in_w;
      break;
    case cpu::OrientedPass::kBackwardParams:
      r.op = cpu::OrientedBlockedOp::kWeightGradient;
      r.want_dweight = t.want_dweight;
      r.want_dbias = t.want_dbias;
      break;
  }
  return cpu::BuildOrientedBlockedPlan(r, blocked);
}

// Plans a forward or input-gradient call (src -> dst, the angles already in
// buffers->angles): the blocked plan, reused from the previous call when the
// key matches (returns true), or else the merged tap set and angle table for
// the plane kernels (returns false).
bool PlanConv(cpu::OrientedPass pass, const OrientedConvArgs& args,
              const OrientedConvShape& s, OrientedStorage storage,
              const TensorRef& weight, const std::vector<double>* bias,
              const void* src, void* dst, HostBuffers* buffers) {
  PlanKey(args, s, storage, bias != nullptr, buffers->angles, &buffers->key);
  if (!buffers->blocked_key.empty() && buffers->key == buffers->blocked_key) {
    // Both compared, so that neither copy is left stale.
    const bool same_weights =
        SameBytesElseCopy(weight, &buffers->merged_weight_bytes);
    const bool same_bias = SameBiasElseCopy(bias, &buffers->merged_bias);
    if (same_weights && same_bias) {
      // Merging was 16 us of a C=512 K=31 call whatever its size; comparing
      // C * K weights costs a few.
      buffers->blocked.Retarget(src, dst);
      return true;
    }
    // Channel by channel, the same sums as EffectiveWeights and
    // BuildOrientedTapSet form: no C * K arrays written and read back.
    buffers->channel_weights.resize(s.taps);
    double* effective = buffers->channel_weights.data();
    buffers->blocked.Refresh(
        [&](int64_t c, double* merged) {
          LoadDoubleRange(weight, c * s.taps, s.taps, effective);
          if (args.residual) effective[s.taps / 2] += 1.0;
          cpu::MergeChannelWeights(buffers->taps, buffers->table.angle_of[c],
                                   effective, merged);
        },
        bias, src, dst);
    return true;
  }
  buffers->blocked_key.clear();
  buffers->table = cpu::BuildOrientedAngleTable(
      buffers->angles, static_cast<int>(s.taps), args.tap_rule, args.dilation);
  EffectiveWeights(args, weight, s, &buffers->weights);
  cpu::BuildOrientedTapSet(buffers->table, s, args.stride, &buffers->weights,
                           &buffers->taps);
  BlockedTensors tensors;
  tensors.src = src;
  tensors.dst = dst;
  if (!PlanBlocked(pass, args, s, storage, buffers->table, buffers->taps, bias,
                   tensors, &buffers->blocked)) {
    return false;
  }
  buffers->blocked_key.swap(buffers->key);
  SameBytesElseCopy(weight, &buffers->merged_weight_bytes);
  SameBiasElseCopy(bias, &buffers->merged_bias);
  return true;
}

// The weight gradient's counterpart of PlanConv (the angles already in
// buffers->angles): the blocked plan, reused from the previous call when the
// key matches (returns true), or else the tap set for the plane kernels
// (returns false). The key covers the gradients wanted: its bias flag is
// want_dbias, and s.taps is 0 without dweight. Planning was 45-80 us of every
// C=512 K=31 call; the partial sums it allocates are rewritten by every run.
bool PlanWeightGradient(const OrientedConvArgs& args,
                        const OrientedConvShape& s, OrientedStorage storage,
                        const BlockedTensors& t, HostBuffers* buffers) {
  PlanKey(args, s, storage, t.want_dbias, buffers->angles, &buffers->key);
  if (!buffers->blocked_key.empty() && buffers->key == buffers->blocked_key) {
    buffers->blocked.RetargetGradient(t.src, t.dy);
    return true;
  }
  buffers->blocked_key.clear();
  buffers->table = cpu::BuildOrientedAngleTable(
      buffers->angles, static_cast<int>(s.taps), args.tap_rule, args.dilation);
  cpu::BuildOrientedTapSet(buffers->table, s, args.stride, nullptr,
                           &buffers->taps);
  if (!PlanBlocked(cpu::OrientedPass::kBackwardParams, args, s, storage,
                   buffers->table, buffers->taps, nullptr, t,
                   &buffers->blocked)) {
    return false;
  }
  buffers->blocked_key.swap(buffers->key);
  return true;
}

}  // namespace

absl::Status CpuBackend::OrientedConvForward(const OrientedConvArgs& args,
                                             const OrientedConvForwardIO& io,
                                             const ExecContext& ctx) const {
  OrientedConvShape s;
  TAPCONV_RETURN_IF_ERROR(ValidateOrientedConvForward(args, io, &s));
  OrientedStorage storage;
  if (!StorageOf(io.x.dtype, &storage)) {
    return NotSupported("OrientedConvForward",
                        absl::StrCat("dtype ", DTypeName(io.x.dtype),
                                     " (float32, float64, bfloat16 are)"));
  }
  thread_local HostBuffers buffers;
  TAPCONV_RETURN_IF_ERROR(LoadAngles(io.theta, &buffers.angles));
  if (io.y.numel() == 0) return absl::OkStatus();
  std::vector<double> bias;
  if (io.bias.has_value()) LoadDoublesInto(*io.bias, &bias);
  const std::vector<double>* bias_or_null =
      io.bias.has_value() ? &bias : nullptr;
  if (PlanConv(cpu::OrientedPass::kForward, args, s, storage, io.weight,
               bias_or_null, io.x.data, io.y.data, &buffers)) {
    return RunBlocked(buffers.blocked.plan(), ctx);
  }
  OrientedPlanRequest request = PlaneRequest(
      OrientedOp::kForward, args, s, storage, buffers.taps, bias_or_null);
  request.x = io.x.data;
  request.y = io.y.data;
  OrientedPlanner::Build(request, &buffers.plan);
  return RunPlane(buffers.plan.plan(), Kernels().forward, ctx);
}

absl::Status CpuBackend::OrientedConvBackwardInput(
    const OrientedConvArgs& args, const OrientedConvBackwardInputIO& io,
    const ExecContext& ctx) const {
  OrientedConvShape s;
  TAPCONV_RETURN_IF_ERROR(ValidateOrientedConvBackwardInput(args, io, &s));
  OrientedStorage storage;
  if (!StorageOf(io.dx.dtype, &storage)) {
    return NotSupported("OrientedConvBackwardInput",
                        absl::StrCat("dtype ", DTypeName(io.dx.dtype),
                                     " (float32, float64, bfloat16 are)"));
  }
  thread_local HostBuffers buffers;
  TAPCONV_RETURN_IF_ERROR(LoadAngles(io.theta, &buffers.angles));
  if (io.dx.numel() == 0) return absl::OkStatus();
  if (PlanConv(cpu::OrientedPass::kBackwardInput, args, s, storage, io.weight,
               nullptr, io.dy.data, io.dx.data, &buffers)) {
    return RunBlocked(buffers.blocked.plan(), ctx);
  }
  OrientedPlanRequest request = PlaneRequest(OrientedOp::kBackwardInput, args,
                                             s, storage, buffers.taps, nullptr);
  request.dy = io.dy.data;
  request.dx = io.dx.data;
  OrientedPlanner::Build(request, &buffers.plan);
  return RunPlane(buffers.plan.plan(), Kernels().backward_input, ctx);
}

absl::Status CpuBackend::OrientedConvBackwardParams(
    const OrientedConvArgs& args, const OrientedConvBackwardParamsIO& io,
    const ExecContext& ctx) const {
  OrientedConvShape s;
  TAPCONV_RETURN_IF_ERROR(ValidateOrientedConvBackwardParams(args, io, &s));
  OrientedStorage storage;
  if (!StorageOf(io.x.dtype, &storage)) {
    return NotSupported("OrientedConvBackwardParams",
                        absl::StrCat("dtype ", DTypeName(io.x.dtype),
                                     " (float32, float64, bfloat16 are)"));
  }
  // s.taps is 0 when only dbias is requested: the tap table is then not
  // needed, but theta is still checked.
  const int64_t k_taps = s.taps;
  thread_local HostBuffers buffers;
  TAPCONV_RETURN_IF_ERROR(LoadAngles(io.theta, &buffers.angles));
  std::vector<double> dweight, dbias;
  if (io.dy.numel() == 0) {
    // No output element: every gradient is an empty sum.
    dweight.assign(s.channels * k_taps, 0.0);
    dbias.assign(s.channels, 0.0);
  } else {
    const OrientedTapSet& taps = buffers.taps;
    std::vector<double>* dweight_out =
        io.dweight.has_value() ? &dweight : nullptr;
    std::vector<double>* dbias_out = io.dbias.has_value() ? &dbias : nullptr;
    BlockedTensors tensors;
    tensors.src = io.x.data;
    tensors.dy = io.dy.data;
    tensors.want_dweight = io.dweight.has_value();
    tensors.want_dbias = io.dbias.has_value();
    if (PlanWeightGradient(args, s, storage, tensors, &buffers)) {
      TAPCONV_RETURN_IF_ERROR(RunBlocked(buffers.blocked.plan(), ctx));
      buffers.blocked.CombineParams(taps, k_taps, dweight_out, dbias_out);
    } else {
      OrientedPlanRequest request = PlaneRequest(
          OrientedOp::kBackwardParams, args, s, storage, taps, nullptr);
      request.x = io.x.data;
      request.dy = io.dy.data;
      request.want_dweight = io.dweight.has_value();
      request.want_dbias = io.dbias.has_value();
      OrientedPlanner::Build(request, &buffers.plan);
      TAPCONV_RETURN_IF_ERROR(
          RunPlane(buffers.plan.plan(), Kernels().backward_params, ctx));
      OrientedPlanner::CombineParams(buffers.plan, taps, k_taps, dweight_out,
                                     dbias_out);
    }
  }
  if (io.dweight.has_value()) StoreDoubles(dweight, *io.dweight);
  if (io.dbias.has_value()) StoreDoubles(dbias, *io.dbias);
  return absl::OkStatus();
}

namespace cpu {

std::string OrientedKernelName(OrientedPass pass, const OrientedConvArgs& args,
                               const std::vector<double>& theta,
                               const OrientedConvShape& shape, DType dtype) {
  OrientedStorage storage;
  if (!StorageOf(dtype, &storage)) return "unimplemented";
  const OrientedAngleTable table = BuildOrientedAngleTable(
      theta, static_cast<int>(shape.taps), args.tap_rule, args.dilation);
  const std::vector<double> weights(shape.channels * shape.taps, 0.0);
  OrientedTapSet taps;
  BuildOrientedTapSet(table, shape, args.stride, &weights, &taps);
  OrientedBlockedPlanStorage blocked;
  BlockedTensors tensors;
  tensors.want_dweight = true;
  return PlanBlocked(pass, args, shape, storage, table, taps, nullptr, tensors,
                     &blocked)
             ? "blocked"
             : "plane";
}

}  // namespace cpu
}  // namespace tapconv
