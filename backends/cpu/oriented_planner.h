#ifndef TAPCONV_BACKENDS_CPU_ORIENTED_PLANNER_H_
#define TAPCONV_BACKENDS_CPU_ORIENTED_PLANNER_H_

// Turns one validated oriented-conv call into an OrientedPlan for the per-ISA
// kernels: distinct taps per channel (duplicates merged, taps that can never
// reach the image dropped), scratch layouts with stride phases, tap offsets,
// row bands and channel groups sized for the caches, and work items.

#include <cstdint>
#include <utility>
#include <vector>

#include "backends/cpu/oriented_kernel_abi.h"
#include "ops/geometry/oriented_taps.h"
#include "ops/oriented_conv.h"

namespace tapconv::cpu {

// The distinct taps of every channel that reach the image for some output.
struct OrientedTapSet {
  std::vector<int64_t> begin;  // [C + 1]: channel c has [begin[c], begin[c+1])
  std::vector<int32_t> dh, dw;
  std::vector<double> weight;  // merged effective weights (when requested)
  // [C * K], only without weights (the weight gradient, which maps the
  // distinct taps' gradients back): the distinct tap original tap k of
  // channel c went to, or -1 when it never reaches the image.
  std::vector<int64_t> distinct_of;
  // How the weights merge (with weights only), per angle a of the table the
  // set was built from: its distinct taps from merge_first[a] in a flat
  // numbering; distinct tap u starts from original tap
  // merge_leading[merge_first[a] + u] and adds the further ones, (u, k)
  // pairs merge_extras[merge_extras_at[a], merge_extras_at[a + 1]).
  std::vector<int64_t> merge_first, merge_leading, merge_extras_at;
  std::vector<std::pair<int64_t, int64_t>> merge_extras;
};

// Channels that share an angle share their tap geometry: `table` holds one
// row per distinct angle, and angle_of[c] is channel c's row.
struct OrientedAngleTable {
  OrientedTapTable table;
  std::vector<int64_t> angle_of;
};

// Deduplicates the angles (models use a few, in contiguous channel blocks),
// so that the trigonometry and the tap merging run once per angle.
OrientedAngleTable BuildOrientedAngleTable(const std::vector<double>& theta,
                                           int taps, TapRule rule,
                                           int64_t dilation);

// `weights` (C * K effective weights, residual included) may be null: then
// OrientedTapSet::weight stays empty and distinct_of is filled instead.
// Overwrites *set, reusing its arrays' memory.
void BuildOrientedTapSet(const OrientedAngleTable& angles,
                         const OrientedConvShape& shape, int64_t stride,
                         const std::vector<double>* weights,
                         OrientedTapSet* set);

// Merges one channel's K effective weights `weights`, for a channel of angle
// `angle` (its row in the table `set` was built from, with weights), onto its
// distinct taps: merged[u] for u in [0, set.begin[c + 1] - set.begin[c]).
void MergeChannelWeights(const OrientedTapSet& set, int64_t angle,
                         const double* weights, double* merged);

// An OrientedPlan together with the arrays it points into. Not copyable
// (the plan points into its own members).
class OrientedPlanStorage {
 public:
  OrientedPlanStorage() = default;
  OrientedPlanStorage(const OrientedPlanStorage&) = delete;
  OrientedPlanStorage& operator=(const OrientedPlanStorage&) = delete;

  const OrientedPlan& plan() const { return plan_; }

 private:
  friend class OrientedPlanner;
  OrientedPlan plan_{};
  std::vector<OrientedGroupLayout> layouts_;
  std::vector<int64_t> residues_, tap_begin_, tap_offset_;
  std::vector<int64_t> phase_begin_, phase_row_, phase_col_, phase_tap_;
  std::vector<float> weight_f32_, bias_f32_;
  std::vector<double> weight_f64_, bias_f64_;
  std::vector<double> dweight_partial_, dbias_partial_;
};

enum class OrientedOp { kForward, kBackwardInput, kBackwardParams };

struct OrientedPlanRequest {
  OrientedOp op;
  OrientedConvShape shape;
  int64_t stride;
  bool nhwc;
  OrientedStorage storage;
  int lanes;  // vector lanes of the compute type on the active ISA
  const OrientedTapSet* taps;
  const std::vector<double>* bias;  // forward only; may be null
  // Activations (storage type): forward x -> y; input gradient dy -> dx;
  // weight gradient x, dy.
  const void* x = nullptr;
  const void* dy = nullptr;
  void* y = nullptr;
  void* dx = nullptr;
  bool want_dweight = false, want_dbias = false;
};

// Sums per-part partial gradients, in part order (so that the result does not
// depend on how work items were spread over threads), into dweight[c * K + k]
// (the distinct tap original tap k went to; 0 if none) and dbias[c]. Either
// output, and its partials, may be null.
void CombineParamPartials(const double* dweight_partial,
                          const double* dbias_partial, int64_t parts,
                          int64_t total_taps, int64_t channels,
                          const OrientedTapSet& taps, int64_t taps_per_channel,
                          std::vector<double>* dweight,
                          std::vector<double>* dbias);

class OrientedPlanner {
 public:
  // Fills `storage`; the plan stays valid while storage and the request's
  // tensors live.
  static void Build(const OrientedPlanRequest& request,
                    OrientedPlanStorage* storage);

  // Weight gradient: sums the per-part partials (in part order, so the result
  // does not depend on how items were spread over threads) into dweight[c * K
  // + k] and dbias[c].
  static void CombineParams(const OrientedPlanStorage& storage,
                            const OrientedTapSet& taps,
                            int64_t taps_per_channel,
                            std::vector<double>* dweight,
                            std::vector<double>* dbias);
};

}  // namespace tapconv::cpu

#endif  // TAPCONV_BACKENDS_CPU_ORIENTED_PLANNER_H_
