#ifndef TAPCONV_BACKENDS_CPU_ORIENTED_KERNEL_ABI_H_
#define TAPCONV_BACKENDS_CPU_ORIENTED_KERNEL_ABI_H_

// What the generic oriented-conv driver (oriented.cc, oriented_planner.cc)
// hands to the per-ISA kernels (oriented_kernels_<isa>.cc). The kernel units
// are compiled with ISA flags, so this header holds only plain structs, enums
// and function declarations: nothing here may emit code (see simd.h).
//
// The plan describes the problem after the geometry work is done: for every
// channel, its distinct taps that reach the image, as flat element offsets into
// a zero-bordered scratch copy of the source plane, with their merged weights.
// The kernels only copy, multiply-add and store.
//
// Scratch layout of one plane (of x for the forward and the weight gradient,
// of dy for the input gradient): `phases` column phases of `rows` rows of
// `row_pitch` elements each; scratch (phase r, row u, column t) holds
//   source row    row_origin + band_first_row * row_step + u
//   source column col_step * (t + col_origin) + residue[r]
// or 0 where that lies outside the source. For x, col_step is the stride and
// the phases are the column residues (mod stride) the taps use, so a strided
// conv reads every phase contiguously; for dy, col_step = 1 and one phase.
// A tap with offset `off` contributes src[(row_step * row_pitch) * i + j +
// off] to output (i, j) of the band (forward, weight gradient) or to dx
// sub-grid element (i, j) (input gradient, whose row_step is 1).

#include <cstdint>

namespace tapconv::cpu {

// Storage type of the activations (compute type: float, double for kF64).
enum class OrientedStorage : int32_t { kF32 = 0, kF64 = 1, kBF16 = 2 };

struct OrientedGroupLayout {
  int64_t phases;          // column phases stored
  int64_t col_step;        // source columns between a phase's neighbours
  const int64_t* residue;  // [phases]: source column residue of each phase
  int64_t row_pitch;       // elements per scratch row
  int64_t phase_pitch;     // elements per phase (rows * row_pitch)
  // A band of b rows needs row_step * (b - 1) + row_span scratch rows.
  int64_t row_span;
  int64_t row_origin, col_origin;  // see above
};

struct OrientedPlan {
  OrientedStorage storage;
  bool nhwc;
  int64_t batch, channels, in_h, in_w, out_h, out_w, stride;

  // Activations in storage type, in the layout `nhwc` says. Forward: x -> y.
  // Input gradient: dy -> dx. Weight gradient: x, dy -> partial sums.
  const void* x;
  const void* dy;
  void* y;
  void* dx;

  // Channels are processed in groups: group g is channels [g * group_channels,
  // min(C, (g + 1) * group_channels)), all packed into one scratch (NCHW: one
  // channel per group; NHWC: a block, so a pixel's channels are read together).
  int64_t group_channels, num_groups;
  const OrientedGroupLayout* layout;  // [num_groups]
  int64_t plane_pitch;  // scratch elements per plane (>= any group's)

  // Rows are processed in bands of band_rows output rows (forward, weight
  // gradient) or dx sub-grid rows (input gradient: dx rows
  // [stride * band_first_row, stride * (band_first_row + band_rows))).
  int64_t band_rows, num_bands;

  // Forward, weight gradient: the taps of channel c are [tap_begin[c],
  // tap_begin[c + 1]). Input gradient: channel c's dx phases that have taps
  // are entries [phase_begin[c], phase_begin[c + 1]); entry e is the dx
  // sub-grid of rows = phase_row[e] and columns = phase_col[e] (mod stride),
  // and owns taps [phase_tap[e], phase_tap[e + 1]). dx elements of other
  // phases are 0.
  const int64_t* tap_begin;
  const int64_t* phase_begin;
  const int64_t* phase_row;
  const int64_t* phase_col;
  const int64_t* phase_tap;
  const int64_t* tap_offset;
  const void* tap_weight;  // compute type
  const void* bias;        // compute type, [C], or nullptr

  // Weight gradient: item (g, part) sums batch entries [part * batch_per_part,
  // ...) into dweight_partial[part * total_taps + tap] and dbias_partial[part *
  // C + c] (either may be null).
  int64_t batch_parts, batch_per_part, total_taps;
  int64_t max_channel_taps;  // most taps any channel has
  double* dweight_partial;
  double* dbias_partial;

  // Elements per row of the compute-type row buffers: out_w, resp. in_w,
  // rounded up to the vector width.
  int64_t buffer_pitch, in_buffer_pitch;
  // Byte offsets of the scratch regions inside one work item's scratch, and the
  // total (every region 64-byte aligned):
  //   src:  group_channels planes of plane_pitch elements (x, resp. dy)
  //   aux:  forward: group_channels x band_rows x buffer_pitch outputs
  //         (NHWC, or streamed NCHW);
  //         input gradient: one band_rows x buffer_pitch phase buffer (stride >
  //         1), or a band of dx rows (streamed);
  //         weight gradient: group_channels x band_rows x buffer_pitch of dy
  //   aux2: input gradient NHWC: group_channels x (stride * band_rows) x
  //         in_buffer_pitch dx rows; weight gradient: group_channels x
  //         (max_channel_taps + 1) vectors of lane-wise partial sums
  int64_t scratch_src, scratch_aux, scratch_aux2, scratch_bytes;
  // NCHW forward and stride-1 input gradient: outputs far larger than the
  // caches are staged in aux and written with non-temporal stores.
  bool stream_output;
  int64_t num_items;
};

// One work item range [begin, end) of a plan; `scratch` holds
// plan.scratch_bytes bytes, 64-byte aligned.
using OrientedItemsFn = void (*)(const OrientedPlan& plan, int64_t begin,
                                 int64_t end, void* scratch);

struct OrientedKernelTable {
  int lanes_f32, lanes_f64;
  OrientedItemsFn forward, backward_input, backward_params;
};

namespace scalar {
const OrientedKernelTable& OrientedKernels();
}
namespace avx2 {
const OrientedKernelTable& OrientedKernels();
}
namespace avx512 {
const OrientedKernelTable& OrientedKernels();
}

}  // namespace tapconv::cpu

#endif  // TAPCONV_BACKENDS_CPU_ORIENTED_KERNEL_ABI_H_
