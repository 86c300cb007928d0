// The cpu backend's path ops: int32 tables and the plan on the host
// (path_plan.cc), the vectorised work in path_kernels_<isa>.cc, chosen by the
// instruction set detected at run time, over a deterministic ParallelFor.

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/isa.h"
#include "backends/cpu/parallel.h"
#include "backends/cpu/path_kernel_abi.h"
#include "backends/cpu/path_plan.h"
#include "ops/status_macros.h"

namespace tapconv {
namespace {

using cpu::PathItemsFn;
using cpu::PathKernelTable;
using cpu::PathPlan;
using cpu::PathPlanTables;

const PathKernelTable& Kernels() {
  switch (cpu::ActiveIsa()) {
    case cpu::Isa::kAvx512:
      return cpu::avx512::PathKernels();
    case cpu::Isa::kAvx2:
      return cpu::avx2::PathKernels();
    case cpu::Isa::kScalar:
      break;
  }
  return cpu::scalar::PathKernels();
}

// A per-thread scratch buffer kept between calls (ParallelFor's threads are
// persistent): re-faulting fresh pages on every call would cost more than a
// small image's arithmetic.
class PathScratch {
 public:
  ~PathScratch() { std::free(data_); }
  void* Get(int64_t bytes) {
    if (bytes > size_) {
      std::free(data_);
      const size_t rounded = (static_cast<size_t>(bytes) + 63) / 64 * 64;
      data_ = std::aligned_alloc(64, rounded);
      size_ = data_ != nullptr ? bytes : 0;
    }
    return data_;
  }

 private:
  void* data_ = nullptr;
  int64_t size_ = 0;
};

absl::Status RunItems(const PathPlan& plan, PathItemsFn fn,
                      const ExecContext& ctx) {
  if (plan.num_items <= 0) return absl::OkStatus();
  std::atomic<bool> out_of_memory{false};
  cpu::ParallelFor(plan.num_items, 1, ctx.num_threads,
                   [&](int64_t begin, int64_t end) {
                     thread_local PathScratch scratch;
                     void* buffer = scratch.Get(plan.scratch_bytes);
                     if (buffer == nullptr) {
                       out_of_memory.store(true);
                       return;
                     }
                     // Kernels rely on the zero borders they never write.
                     std::memset(buffer, 0, plan.scratch_bytes);
                     fn(plan, begin, end, buffer);
                   });
  if (out_of_memory.load()) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cpu path ops: cannot allocate ", plan.scratch_bytes,
                     " bytes of scratch per thread"));
  }
  return absl::OkStatus();
}

}  // namespace

// The ops:: entry points have validated every argument, index values included;
// the shapes are re-derived without repeating the permutation scan.

absl::Status CpuBackend::PathGather(const PathGatherIO& io,
                                    const ExecContext& ctx) const {
  PathShape s;
  TAPCONV_RETURN_IF_ERROR(ValidatePathGather(io, &s, IndexCheck::kShapesOnly));
  PathPlanTables tables;
  const absl::Status built = tables.BuildGather(s, io, Kernels());
  if (absl::IsUnimplemented(built)) {
    return NotSupported("PathGather", built.message());
  }
  TAPCONV_RETURN_IF_ERROR(built);
  return RunItems(tables.plan(), Kernels().gather, ctx);
}

absl::Status CpuBackend::PathScatter(const PathScatterIO& io,
                                     const ExecContext& ctx) const {
  PathShape s;
  TAPCONV_RETURN_IF_ERROR(ValidatePathScatter(io, &s, IndexCheck::kShapesOnly));
  PathPlanTables tables;
  const absl::Status built = tables.BuildScatter(s, io, Kernels());
  if (absl::IsUnimplemented(built)) {
    return NotSupported("PathScatter", built.message());
  }
  TAPCONV_RETURN_IF_ERROR(built);
  if (s.paths == 0) {
    // An empty sum over paths.
    if (io.x.numel() != 0) {
      std::memset(io.x.data, 0, io.x.numel() * SizeOf(io.x.dtype));
    }
    return absl::OkStatus();
  }
  return RunItems(tables.plan(), Kernels().scatter, ctx);
}

absl::Status CpuBackend::PathConvForward(const PathConvArgs& args,
                                         const PathConvForwardIO& io,
                                         const ExecContext& ctx) const {
  PathConvShape s;
  TAPCONV_RETURN_IF_ERROR(
      ValidatePathConvForward(args, io, &s, IndexCheck::kShapesOnly));
  PathPlanTables tables;
  const absl::Status built = tables.BuildForward(args, s, io, Kernels());
  if (absl::IsUnimplemented(built)) {
    return NotSupported("PathConvForward", built.message());
  }
  TAPCONV_RETURN_IF_ERROR(built);
  return RunItems(tables.plan(), Kernels().forward, ctx);
}

absl::Status CpuBackend::PathConvBackwardInput(
    const PathConvArgs& args, const PathConvBackwardInputIO& io,
    const ExecContext& ctx) const {
  PathConvShape s;
  TAPCONV_RETURN_IF_ERROR(
      ValidatePathConvBackwardInput(args, io, &s, IndexCheck::kShapesOnly));
  PathPlanTables tables;
  const absl::Status built = tables.BuildBackwardInput(args, s, io, Kernels());
  if (absl::IsUnimplemented(built)) {
    return NotSupported("PathConvBackwardInput", built.message());
  }
  TAPCONV_RETURN_IF_ERROR(built);
  if (s.path.paths == 0) {
    if (io.dx.numel() != 0) {
      std::memset(io.dx.data, 0, io.dx.numel() * SizeOf(io.dx.dtype));
    }
    return absl::OkStatus();
  }
  return RunItems(tables.plan(), Kernels().backward_input, ctx);
}

absl::Status CpuBackend::PathConvBackwardParams(
    const PathConvArgs& args, const PathConvBackwardParamsIO& io,
    const ExecContext& ctx) const {
  PathConvShape s;
  TAPCONV_RETURN_IF_ERROR(
      ValidatePathConvBackwardParams(args, io, &s, IndexCheck::kShapesOnly));
  PathPlanTables tables;
  const absl::Status built = tables.BuildBackwardParams(args, s, io, Kernels());
  if (absl::IsUnimplemented(built)) {
    return NotSupported("PathConvBackwardParams", built.message());
  }
  TAPCONV_RETURN_IF_ERROR(built);
  TAPCONV_RETURN_IF_ERROR(
      RunItems(tables.plan(), Kernels().backward_params, ctx));
  tables.StoreParams(io);
  return absl::OkStatus();
}

}  // namespace tapconv
