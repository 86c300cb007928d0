#ifndef TAPCONV_BACKENDS_CPU_PATH_PLAN_H_
#define TAPCONV_BACKENDS_CPU_PATH_PLAN_H_

// Host-side set-up of the cpu path kernels: turns validated tensors into a
// PathPlan (path_kernel_abi.h) and the int32 tables it points to. O(P * (H*W +
// K)) per call, next to the O(N * C * P * H*W * K) of the kernels.

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "backends/cpu/path_kernel_abi.h"
#include "ops/path_conv.h"
#include "ops/tensor_ref.h"

namespace tapconv::cpu {

// A PathPlan and the tables it points into. Built in place, never moved.
class PathPlanTables {
 public:
  PathPlanTables() = default;
  PathPlanTables(const PathPlanTables&) = delete;
  PathPlanTables& operator=(const PathPlanTables&) = delete;

  const PathPlan& plan() const { return plan_; }

  // Unimplemented for float16 (and for sizes the int32 tables cannot
  // address); the shapes must come from the matching Validate* call.
  // `kernels` gives the vector widths the layout is planned for.
  absl::Status BuildGather(const PathShape& s, const PathGatherIO& io,
                           const PathKernelTable& kernels);
  absl::Status BuildScatter(const PathShape& s, const PathScatterIO& io,
                            const PathKernelTable& kernels);
  absl::Status BuildForward(const PathConvArgs& args, const PathConvShape& s,
                            const PathConvForwardIO& io,
                            const PathKernelTable& kernels);
  absl::Status BuildBackwardInput(const PathConvArgs& args,
                                  const PathConvShape& s,
                                  const PathConvBackwardInputIO& io,
                                  const PathKernelTable& kernels);
  // dweight / dbias accumulate into double tables (zeroed here); StoreParams
  // rounds them into the requested outputs once the kernels are done.
  absl::Status BuildBackwardParams(const PathConvArgs& args,
                                   const PathConvShape& s,
                                   const PathConvBackwardParamsIO& io,
                                   const PathKernelTable& kernels);
  void StoreParams(const PathConvBackwardParamsIO& io) const;

 private:
  absl::Status SetCommon(const PathShape& s, DType dtype,
                         const PathKernelTable& kernels);
  // (n, c) items per image: channels, or channel blocks.
  int64_t ImageItemsPerImage() const;
  // Positions the plane scratch needs for `positions` source positions.
  int64_t PlanePositions(int64_t positions) const;
  // Forward / weight-gradient sequence phases of path positions.
  void SetSequenceLayout(const PathConvArgs& args, const PathConvShape& s,
                         const TensorRef& perm);
  absl::Status SetInputGradientLayout(const PathConvArgs& args,
                                      const PathConvShape& s,
                                      const TensorRef& inv);
  // weight / bias in the compute type (copies only for bfloat16).
  void SetParameters(const TensorRef& weight, const TensorRef* bias);
  // Lays the scratch regions out once the plan's sizes are set.
  void SetScratch(int64_t plane_positions, int64_t rows);

  PathPlan plan_{};
  int64_t compute_bytes_ = 4;
  std::vector<int32_t> index_, seq_index_, z_index_;
  std::vector<int64_t> seq_lo_, seq_hi_;
  std::vector<PathInputPhase> z_phase_;
  std::vector<float> weight_f32_, bias_f32_;
  std::vector<double> dweight_, dbias_;
};

}  // namespace tapconv::cpu

#endif  // TAPCONV_BACKENDS_CPU_PATH_PLAN_H_
