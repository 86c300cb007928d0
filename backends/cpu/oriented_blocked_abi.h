#ifndef TAPCONV_BACKENDS_CPU_ORIENTED_BLOCKED_ABI_H_
#define TAPCONV_BACKENDS_CPU_ORIENTED_BLOCKED_ABI_H_

// The channel-blocked oriented conv: what its planner
// (oriented_blocked_planner.cc) hands to the per-ISA kernels
// (oriented_blocked_kernels_impl.h). Plain structs only, like
// oriented_kernel_abi.h.
//
// The plane kernels vectorise along a row, so every tap of an oblique line
// reads its vector at an unaligned, cache-line-splitting address: one load per
// multiply-add, at the split-load rate. The models give whole runs of
// channels one angle, so here a vector holds `lanes` channels of one pixel
// instead: every tap load is a whole aligned vector, and consecutive taps of
// a line reuse the vectors already loaded (see OrientedRun). NCHW activations
// are transposed into that layout while packing and back while storing; NHWC
// ones already have it.
//
// Scratch X of one work item (block b, image n, a band of output rows
// [p0, p0 + band)): x_rows x x_cols pixels of `lanes` compute-type elements;
// pixel (u, t) holds source channels [c0, c0 + lanes) at
//   source row    stride * p0 - pad_top + u
//   source column t - pad_left
// or zeros where that lies outside the source (lanes beyond the block's
// channels are zero too). Output (p, q) of the band reads tap (dh, dw) at X
// pixel (stride * (p - p0) + pad_top + dh, stride * q + pad_left + dw).
//
// Outputs are computed in tiles of `tile` consecutive outputs along a row
// (row tiles) or down a column (column tiles) into the staging buffer O
// (o_rows x o_cols pixels), then stored. For row tiles X and O are stored
// row-major, for column tiles column-major, so that the outputs of a tile, and
// the taps of a run, are always `stride` pixels apart in memory. Tiles may run
// past the band's last row or column: X and O are sized so that those extra
// outputs read and write inside the scratch, and they are never stored.

#include <cstdint>

#include "backends/cpu/oriented_kernel_abi.h"
#include "backends/cpu/work_queue.h"

namespace tapconv::cpu {

// Taps of one angle that reuse each other's loads: `length` taps whose X
// offsets are offset, offset + step, offset + 2 * step, ..., where step
// (stride pixels) is the distance between neighbouring outputs of a tile.
// Output r of a tile then reads tap j at X vector r + j: a run costs
// tile + length - 1 loads for tile * length multiply-adds.
struct OrientedRun {
  int64_t offset;     // X elements from the tile's first output's base pixel
  int32_t length;     // 1 .. kernels' longest run
  int32_t first_tap;  // index of the run's first tap in the block's weights
  // The run's source-pixel offset across the tile's line (dh for row tiles,
  // dw for column tiles), the same for all its taps. A geometry's runs are in
  // ascending order of it.
  int32_t across;
};

struct OrientedBlockGeometry {
  bool column_tiles;  // X and O column-major
  // Every tap on the one line through the tile's outputs (0° with row tiles,
  // 90° with column tiles): consecutive tiles along that line then share
  // most of their X vectors, where the next line's tile shares none.
  bool along_lines_first;
  // +1 or -1 for a diagonal line at stride 1 (row tiles, every run one tap,
  // tap j + 1 one row below tap j and one column right (+1) or left (-1)):
  // the forward then computes two rows per tile, so that each vector loaded
  // on a line serves a tap of either row (oriented_blocked_kernels_impl.h).
  // 0 otherwise.
  int diagonal;
  const OrientedRun* runs;
  int64_t num_runs;
  int64_t taps;  // sum of the runs' lengths
  // [taps]: each tap's (in run order) position in its channel's distinct taps.
  const int64_t* tap_index;
};

struct OrientedBlock {
  int64_t c0, channels;  // channels [c0, c0 + channels), channels <= lanes
  int64_t geometry;      // index into OrientedBlockedPlan::geometries
  const void* weights;   // taps x lanes, compute type, in run order; 0-padded
  const void* bias;      // lanes, compute type; null: no bias
  // Weight gradient: the tap-set index of channel c0's first tap (the block's
  // channels share one angle, so channel c0 + i's taps follow at i * taps).
  int64_t tap_base;
};

struct OrientedBlockedPlan {
  OrientedStorage storage;
  bool nhwc;
  // src -> dst: the forward reads x and writes y; the stride-1 input gradient
  // reads dy and writes dx (with mirrored taps). The weight gradient
  // (weight_gradient true) reads x as src and dy (dst_h x dst_w, in x's
  // layout), and writes only partial sums: item (group, part) adds images
  // [part * batch_per_part, ...) into dweight_partial[part * total_taps + u]
  // for tap-set index u and dbias_partial[part * channels + c] (either may be
  // null). dy is staged in O, with zeros past the band's outputs.
  const void* src;
  void* dst;
  bool weight_gradient;
  const void* dy;
  int64_t batch_parts, batch_per_part, total_taps, max_taps;
  double* dweight_partial;
  double* dbias_partial;
  int64_t batch, channels, src_h, src_w, dst_h, dst_w, stride;
  int64_t lanes;  // vector width of the compute type: the channels per pixel

  const OrientedBlock* blocks;
  int64_t num_blocks;
  const OrientedBlockGeometry* geometries;

  // Consecutive blocks a work item packs, computes and stores (or, for the
  // weight gradient, stages) together: 1, or 2 for channels-last activations,
  // whose neighbouring blocks' lines of a pixel are read and written in turn;
  // and the elements from one block's O to the next's in a work item's O.
  int64_t blocks_per_item;
  int64_t o_block;

  int64_t tile;  // outputs per tile
  int64_t pad_top, pad_left, x_rows, x_cols;
  int64_t o_rows, o_cols;
  int64_t band_rows, num_bands;
  // Forward / input gradient: each item's outputs are stored while the next
  // item's tiles run (defer_store, channels-first only), with non-temporal
  // stores where the planner found them to pay (stream_output).
  bool defer_store;
  bool stream_output;
  // Channels-first forward and input gradient: the next item's X is packed
  // during an item's tiles, items alternating between two X slots (x_block
  // bytes apart).
  bool pack_ahead;
  // Byte offsets in a work item's scratch of the kernels' headers, of X for
  // row tiles and for column tiles (each only as large as some geometry
  // needs; the item's next block's two X follow x_block bytes further), of O
  // and of a second O (defer_store: the previous item's outputs are stored from
  // one while the tiles fill the other; else the same as scratch_o), each with
  // the O's of an item's blocks, of the weight gradient's lane sums of each
  // block of an item, sums_block bytes apart ((max_taps + 1) x lanes in the
  // compute type, then as many doubles), and the scratch's size.
  int64_t scratch_x_rows, scratch_x_columns, x_block, scratch_o, scratch_o_next,
      scratch_sums, sums_block;
  int64_t scratch_bytes;
  // Forward and input gradient: item = (n * groups + group) * num_bands +
  // band, where group covers blocks [group * blocks_per_item, ...) of the
  // groups = ceil(num_blocks / blocks_per_item). Weight gradient: item =
  // group * batch_parts + part.
  int64_t num_items;
};

// The first kOrientedBlockedHeaderBytes of a work item's scratch belong to the
// kernels (they record what the zero borders of each X were written for); the
// caller zeroes them whenever it allocates a new buffer.
constexpr int64_t kOrientedBlockedHeaderBytes = 192;

// The most blocks a work item packs, computes and stores together.
constexpr int64_t kMaxBlocksPerItem = 2;

// Runs work items claimed from `items` (shared with the other threads of the
// call) until none is left. Items of different angles differ in cost:
// claimed as the threads become free, they keep both cores busy to the end of
// the call, where fixed chunks left one idle for 7% of a mixed-angle forward.
using OrientedBlockedItemsFn = void (*)(const OrientedBlockedPlan& plan,
                                        WorkQueue* items, void* scratch);

// Per instruction set. `tile` and `max_run` are the register tiling the
// kernels were compiled for; lanes 0 means the instruction set has no blocked
// kernels (scalar).
struct OrientedBlockedKernelTable {
  int lanes_f32, lanes_f64;
  int tile, max_run;
  OrientedBlockedItemsFn run;
};

namespace scalar {
const OrientedBlockedKernelTable& OrientedBlockedKernels();
}
namespace avx2 {
const OrientedBlockedKernelTable& OrientedBlockedKernels();
}
namespace avx512 {
const OrientedBlockedKernelTable& OrientedBlockedKernels();
}

}  // namespace tapconv::cpu

#endif  // TAPCONV_BACKENDS_CPU_ORIENTED_BLOCKED_ABI_H_
