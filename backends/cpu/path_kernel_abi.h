#ifndef TAPCONV_BACKENDS_CPU_PATH_KERNEL_ABI_H_
#define TAPCONV_BACKENDS_CPU_PATH_KERNEL_ABI_H_

// What the generic path-op driver (path.cc, path_plan.cc) hands to the per-ISA
// kernels (path_kernels_<isa>.cc). The kernel units are compiled with ISA
// flags, so this header holds only plain structs, enums and function
// declarations: nothing here may emit code (see simd.h).
//
// The driver turns the index tensors into int32 tables once per call; the
// kernels then work one image plane (n, c) or one sequence channel g at a time
// with every buffer L1/L2-resident:
//   forward, weight gradient: gather the plane along path p into `phases`
//     zero-bordered sequence buffers (phase r, entry t holds seq[base + r +
//     stride * t], so a strided conv reads each tap's operands contiguously),
//     then run the taps over them in registers;
//   input gradient: the transposed conv of every (p, o) dy row along the path,
//     in sequence order and split by (position mod stride), then one gather
//     per path through inv summed in path order: no scatter, no atomics.
// Every output element is produced by one work item in a fixed order, so
// results do not depend on the thread count or timing.

#include <cstdint>

namespace tapconv::cpu {

// Storage type of the float tensors (compute type: float, double for kF64).
enum class PathStorage : int32_t { kF32 = 0, kF64 = 1, kBF16 = 2 };

// Input gradient, one residue class rho = i mod stride of sequence positions i:
// z[u] (position i = stride * u + rho) =
//   sum over o < m, a < taps of w[g*m + o, first_tap + stride * a]
//     * dy_buffer_o[u + offset - a],
// where dy_buffer_o holds dy[n, g*m + o, l'] at l' + dy_front and zeros
// around. Entries u >= length are zero.
struct PathInputPhase {
  int64_t first_tap, taps, offset, length;
};

struct PathPlan {
  PathStorage storage;
  // Channel-blocked kernels: `lanes` channels per vector (a transposed copy
  // of each block in scratch, position-major), so that a gather is one vector
  // copy per position and every tap reads aligned vectors. Otherwise (fewer
  // channels than lanes) one channel at a time with gather instructions, and
  // lanes is 1.
  int32_t blocked;
  int64_t lanes;
  int64_t batch, channels, paths, length;  // N, C, P, L = H * W
  int64_t multiplier, taps, stride, padding, out_length;

  // Contiguous tensors in storage type, unless said otherwise.
  const void* x;       // gather, forward, weight gradient: (N, C, L)
  const void* y;       // scatter: (N, P*C, L)
  const void* dy;      // input / weight gradient: (N, P*C*m, out_length)
  void* out;           // gather y, scatter x, forward y, input gradient dx
  const void* weight;  // compute type, (P*C*m, K)
  const void* bias;    // compute type, (P*C*m), or null
  double* dweight;     // weight gradient: (P*C*m, K), zeroed, or null
  double* dbias;       // weight gradient: (P*C*m), zeroed, or null

  // Gather: perm; scatter: inv; entry [p * length + l].
  const int32_t* index;

  // Forward and weight gradient. Outputs l' in [first_out, first_out +
  // valid_out) have a window that meets the path; the others read only
  // padding. Output first_out + j, tap k reads phase k mod stride, entry j + k
  // / stride, i.e. position base + stride * (j + k / stride) + k mod stride
  // with base = stride * first_out - padding.
  int64_t first_out, valid_out;
  int64_t seq_phases, seq_pitch;  // min(stride, K) buffers of seq_pitch
  // Phase r holds path positions in entries [seq_lo[r], seq_hi[r]); the rest
  // is zero. seq_index[(p * seq_phases + r) * seq_pitch + t] is the pixel of
  // entry t.
  const int64_t* seq_lo;
  const int64_t* seq_hi;
  const int32_t* seq_index;

  // Input gradient.
  int64_t dy_front, dy_pitch;     // dy row buffers: m of dy_pitch elements
  int64_t z_phases, z_pitch;      // per path: z_phases buffers of z_pitch
  const PathInputPhase* z_phase;  // [z_phases]
  // Entry [p * length + q]: (i mod stride) * z_pitch + i / stride, i = inv[p,
  // q].
  const int32_t* z_index;

  // Byte offsets of the scratch regions of one work-item range (64-byte
  // aligned; unused ones are empty), and the total:
  //   plane: one image plane (bfloat16: in float32), or P rows (scatter)
  //   seq:   forward / weight gradient sequence phases
  //   dyb:   input gradient dy row buffers
  //   z:     input gradient z buffers of all paths
  //   taps:  tap lists: max_tap_list pointers, then as many weights
  //   rows:  P row pointers (scatter, input gradient)
  //   chunk: blocked: kPathChunk positions of one block, for the transposes
  // Every region holds `lanes` elements per position.
  int64_t scratch_plane, scratch_seq, scratch_dyb, scratch_z, scratch_taps,
      scratch_rows, scratch_chunk;
  int64_t scratch_bytes, max_tap_list;
  int64_t num_items;
};

// Positions per transpose chunk of the blocked kernels: a multiple of every
// ISA's lanes, small enough for the chunk to stay in L1.
inline constexpr int64_t kPathChunk = 128;

// Work items [begin, end) of a plan. `scratch` holds plan.scratch_bytes bytes,
// 64-byte aligned and zeroed by the caller (kernels rely on the zero borders
// they never write).
using PathItemsFn = void (*)(const PathPlan& plan, int64_t begin, int64_t end,
                             void* scratch);

// Items: gather, scatter, forward, input gradient: (n, c) planes, item n * C +
// c (blocked: (n, channel block), item n * blocks + b). Weight gradient:
// channels c, resp. channel blocks, with their P*m weight rows, over the whole
// batch.
struct PathKernelTable {
  int lanes_f32, lanes_f64;
  PathItemsFn gather, scatter, forward, backward_input, backward_params;
};

namespace scalar {
const PathKernelTable& PathKernels();
}
namespace avx2 {
const PathKernelTable& PathKernels();
}
namespace avx512 {
const PathKernelTable& PathKernels();
}

}  // namespace tapconv::cpu

#endif  // TAPCONV_BACKENDS_CPU_PATH_KERNEL_ABI_H_
