#ifndef TAPCONV_BACKENDS_GPU_KERNELS_COMMON_H_
#define TAPCONV_BACKENDS_GPU_KERNELS_COMMON_H_

// The kernel model every GPU kernel here follows, so that the emulation tests
// can run the very same code on the host:
//
//   a kernel is a copyable struct K with
//     static constexpr int kPhases;
//     void Phase(int phase, int64_t tile, int thread, unsigned char* smem)
//     const;
//
//   The launcher runs, for each tile (a thread block's unit of work; tiles
//   beyond the grid are visited grid-stride), phase 0 on every thread, a
//   barrier, phase 1 on every thread, a barrier, ... Threads share data only
//   through shared memory (smem) and global memory, never through registers
//   kept across a phase boundary, and use no warp-level primitives. So a host
//   loop "all threads of phase 0, then all threads of phase 1" computes exactly
//   what the device computes.

#include <cstdint>

#include "backends/gpu/portability.h"

namespace tapconv::gpu {

// One item per thread: tile t covers items [t * threads, (t + 1) * threads).
template <typename Body>
struct ElementwiseKernel {
  static constexpr int kPhases = 1;
  Body body;
  int64_t count;
  int threads;

  TAPCONV_GPU_FN void Phase(int, int64_t tile, int thread,
                            unsigned char*) const {
    const int64_t i = tile * threads + thread;
    if (i < count) body(i);
  }
  TAPCONV_GPU_FN int64_t tiles() const {
    return count <= 0 ? 0 : (count - 1) / threads + 1;
  }
};

// Deterministic column sums of a row-major (rows x columns) matrix of partial
// results: out[m] = sum over r = 0, 1, ... of partials[r][m], always in that
// order. Column m < weight_columns goes to weight_out[m], the others to
// bias_out[m - weight_columns]; either may be null (not requested). With
// acc_out set, every column goes there unrounded instead.
template <typename T>
struct ReducePartialsKernel {
  using A = Acc<T>;
  static constexpr int kPhases = 2;
  static constexpr int kColumns = 32;  // columns per tile
  const A* partials;
  int64_t rows, columns, weight_columns;
  T* weight_out;
  T* bias_out;
  A* acc_out;
  int threads;  // a multiple of kColumns

  TAPCONV_GPU_FN size_t SharedBytes() const {
    return static_cast<size_t>(threads) * sizeof(A);
  }
  TAPCONV_GPU_FN int64_t tiles() const {
    return (columns + kColumns - 1) / kColumns;
  }

  TAPCONV_GPU_FN void Phase(int phase, int64_t tile, int thread,
                            unsigned char* smem) const {
    A* slice_sums = At<A>(smem, 0);
    const int col = thread % kColumns;
    const int slices = threads / kColumns;
    const int64_t m = tile * kColumns + col;
    if (phase == 0) {
      const int slice = thread / kColumns;
      A sum = A(0);
      if (m < columns) {
        for (int64_t r = slice; r < rows; r += slices)
          sum += partials[r * columns + m];
      }
      slice_sums[thread] = sum;
      return;
    }
    if (thread >= kColumns || m >= columns) return;
    A sum = A(0);
    for (int s = 0; s < slices; ++s) sum += slice_sums[s * kColumns + col];
    if (acc_out != nullptr) {
      acc_out[m] = sum;
    } else if (m < weight_columns) {
      if (weight_out != nullptr) Store(weight_out, m, sum);
    } else if (bias_out != nullptr) {
      Store(bias_out, m - weight_columns, sum);
    }
  }
};

// out[i] = value for i < count (fills of requested outputs, e.g. gradients of
// empty sums).
template <typename T>
struct FillBody {
  T* out;
  Acc<T> value;
  TAPCONV_GPU_FN void operator()(int64_t i) const { Store(out, i, value); }
};

}  // namespace tapconv::gpu

#endif  // TAPCONV_BACKENDS_GPU_KERNELS_COMMON_H_
