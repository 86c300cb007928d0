#ifndef TAPCONV_BACKENDS_CPU_ORIENTED_BLOCKED_PLANNER_H_
#define TAPCONV_BACKENDS_CPU_ORIENTED_BLOCKED_PLANNER_H_

// Decides whether an oriented-conv call runs on the channel-blocked kernels
// (oriented_blocked_abi.h) and builds their plan: channel blocks of one
// angle, each angle's taps split into runs along the better tile direction,
// the weights per block, the scratch layout and the row bands.

#include <cstdint>
#include <vector>

#include "absl/functional/function_ref.h"
#include "backends/cpu/oriented_blocked_abi.h"
#include "backends/cpu/oriented_planner.h"

namespace tapconv::cpu {

enum class OrientedBlockedOp { kForward, kInputGradient, kWeightGradient };

struct OrientedBlockedRequest {
  OrientedBlockedOp op;
  OrientedStorage storage;
  bool nhwc;
  // Forward: x (src_h x src_w) -> y (dst_h x dst_w). Input gradient, stride 1
  // only: dy -> dx, with the taps mirrored. Weight gradient: src = x, dst
  // null, dy (dst_h x dst_w) in `dy`.
  const void* src;
  void* dst;
  const void* dy;
  int64_t batch, channels, src_h, src_w, dst_h, dst_w, stride;
  const OrientedAngleTable* angles;
  const OrientedTapSet*
      taps;  // with merged weights, except for kWeightGradient
  const std::vector<double>* bias;  // [C] or null
  const OrientedBlockedKernelTable* kernels;
  bool want_dweight = false, want_dbias = false;  // kWeightGradient
};

// An OrientedBlockedPlan with the arrays it points into. Not copyable.
class OrientedBlockedPlanStorage {
 public:
  OrientedBlockedPlanStorage() = default;
  OrientedBlockedPlanStorage(const OrientedBlockedPlanStorage&) = delete;
  OrientedBlockedPlanStorage& operator=(const OrientedBlockedPlanStorage&) =
      delete;

  const OrientedBlockedPlan& plan() const { return plan_; }

  // The plan of the last BuildOrientedBlockedPlan (which returned true) for
  // new weights, biases and tensors, in a call with the same angles, shapes,
  // stride, dtype and layout, with or without a bias as before: channel c's
  // merged weights (one per distinct tap, as in OrientedTapSet::weight) from
  // merge_channel(c, merged). Forward and input gradient only.
  void Refresh(absl::FunctionRef<void(int64_t c, double* merged)> merge_channel,
               const std::vector<double>* bias, const void* src, void* dst);
  // The same plan, weights and biases for new tensors only.
  void Retarget(const void* src, void* dst) {
    plan_.src = src;
    plan_.dst = dst;
  }
  // The same weight-gradient plan for new x (src) and dy: its items rewrite
  // every partial sum they own.
  void RetargetGradient(const void* src, const void* dy) {
    plan_.src = src;
    plan_.dy = dy;
  }

  // Weight gradient: the parts' sums into dweight[c * K + k] and dbias[c]
  // (see CombineParamPartials).
  void CombineParams(const OrientedTapSet& taps, int64_t taps_per_channel,
                     std::vector<double>* dweight,
                     std::vector<double>* dbias) const;

 private:
  friend bool BuildOrientedBlockedPlan(const OrientedBlockedRequest&,
                                       OrientedBlockedPlanStorage*);
  // The blocks' weights and biases in the compute type, channel c's merged
  // weights from merged_of(c).
  template <typename MergedOf>
  void FillValues(MergedOf merged_of, const std::vector<double>* bias,
                  bool with_weights);

  OrientedBlockedPlan plan_{};
  std::vector<OrientedBlock> blocks_;
  std::vector<OrientedBlockGeometry> geometries_;
  std::vector<std::vector<OrientedRun>> runs_;
  std::vector<std::vector<int64_t>> tap_index_;
  std::vector<double> dweight_partial_, dbias_partial_;
  // Where each block's weights and bias (-1: none) start in the values.
  std::vector<int64_t> weight_at_, bias_at_;
  int64_t value_count_ = 0;
  std::vector<double> merged_;     // one channel's, for Refresh
  std::vector<float> values_f32_;  // weights, then biases
  std::vector<double> values_f64_;
};

// Fills `storage` and returns true when the blocked kernels apply and are
// expected to be faster (measured on the benchmark shapes):
//   - an instruction set with blocked kernels for the dtype (AVX2, AVX-512);
//   - channel runs of one angle that fill at least half of their vectors;
//   - channels-last activations, which the plane kernels must transpose; or
//     channels-first float32/float64 for the weight gradient (which has no
//     output to transpose back), or with at least kMinBlockedNchwTaps
//     distinct taps per channel on average, where the arithmetic outweighs
//     the transposes into and out of the blocked layout (with fewer taps, and
//     for bfloat16, the plane kernels were as fast or faster), or with output
//     planes of at most kMaxTinyPlane pixels (7x7), where the plane kernels'
//     per-plane set-up dominates;
//   - a stride of at most kMaxBlockedStride, sides of at most kMaxBlockedSide
//     (so that no scratch size overflows) and a bounded scratch.
// Otherwise returns false and the plane kernels run. The environment
// variable TAPCONV_CPU_ORIENTED_BLOCKED (read once) overrides the choice:
// 0 never uses the blocked kernels, 1 uses them wherever they apply.
bool BuildOrientedBlockedPlan(const OrientedBlockedRequest& request,
                              OrientedBlockedPlanStorage* storage);

constexpr int64_t kMaxBlockedStride = 16;
constexpr int64_t kMaxBlockedSide = int64_t{1} << 20;
constexpr int64_t kMinBlockedNchwTaps = 20;
constexpr int64_t kMaxTinyPlane = 64;

}  // namespace tapconv::cpu

#endif  // TAPCONV_BACKENDS_CPU_ORIENTED_BLOCKED_PLANNER_H_
