#ifndef TAPCONV_BACKENDS_CPU_PATH_KERNELS_IMPL_H_
#define TAPCONV_BACKENDS_CPU_PATH_KERNELS_IMPL_H_

// The path-op kernels, written once over the SIMD layer and compiled once per
// ISA (path_kernels_<isa>.cc include this; see simd.h for why everything lives
// in tapconv::cpu::TAPCONV_SIMD_NS and uses raw pointers only). The data flow
// is described in path_kernel_abi.h.
//
// Two families: channel-blocked kernels (path_kernels_blocked.h) whenever
// there are at least as many channels as vector lanes, per-channel kernels
// with gather instructions (path_kernels_rows.h) below that.
//
// PyTorch's composition (index_select, then a depthwise conv1d, and in
// backward the conv's two gradients and an index_add_) materialises the
// (N, P*C, L) sequence tensor and its gradient in memory and reduces the input
// gradient with a scatter. Here the sequence of one (plane, path) lives in an
// L1-resident buffer between its gather and its taps, the input gradient is a
// gather through inv, and the weight gradient is a dot product per tap kept in
// registers.

#include <cstdint>

#include "backends/cpu/path_kernel_abi.h"
#include "backends/cpu/path_kernels_blocked.h"
#include "backends/cpu/path_kernels_rows.h"

namespace tapconv::cpu::TAPCONV_SIMD_NS {
namespace path_internal {

// The item functions of the table: one instantiation per storage type and
// kernel family (blocked when the plan says so).
#define TAPCONV_PATH_BY_STORAGE(NAME)                                        \
  inline void NAME##Any(const PathPlan& plan, int64_t begin, int64_t end,    \
                        void* scratch) {                                     \
    switch (plan.storage) {                                                  \
      case PathStorage::kF32:                                                \
        return plan.blocked                                                  \
                   ? Block##NAME<float, float>(plan, begin, end, scratch)    \
                   : NAME<float, float>(plan, begin, end, scratch);          \
      case PathStorage::kF64:                                                \
        return plan.blocked                                                  \
                   ? Block##NAME<double, double>(plan, begin, end, scratch)  \
                   : NAME<double, double>(plan, begin, end, scratch);        \
      case PathStorage::kBF16:                                               \
        return plan.blocked                                                  \
                   ? Block##NAME<uint16_t, float>(plan, begin, end, scratch) \
                   : NAME<uint16_t, float>(plan, begin, end, scratch);       \
    }                                                                        \
  }
TAPCONV_PATH_BY_STORAGE(GatherItems)
TAPCONV_PATH_BY_STORAGE(ScatterItems)
TAPCONV_PATH_BY_STORAGE(ForwardItems)
TAPCONV_PATH_BY_STORAGE(BackwardInputItems)
TAPCONV_PATH_BY_STORAGE(BackwardParamsItems)
#undef TAPCONV_PATH_BY_STORAGE

inline constexpr PathKernelTable kPathKernelTable = {
    Vec<float>::kLanes,     Vec<double>::kLanes, &GatherItemsAny,
    &ScatterItemsAny,       &ForwardItemsAny,    &BackwardInputItemsAny,
    &BackwardParamsItemsAny};

}  // namespace path_internal
}  // namespace tapconv::cpu::TAPCONV_SIMD_NS

#endif  // TAPCONV_BACKENDS_CPU_PATH_KERNELS_IMPL_H_
