#include "backends/cpu/conv_nd_direct.h"

#include <algorithm>

#include "backends/cpu/conv_nd_packing.h"
#include "backends/cpu/isa.h"
#include "backends/cpu/parallel.h"
#include "ops/float16.h"

namespace tapconv::cpu {
namespace {

// Elements after the last scratch slot: a kernel's vector loads may run up to
// one vector (16 floats) past a row's last element.
constexpr int64_t kSlack = 64;
// Items per thread the forward and input gradient aim for.
constexpr int64_t kItemsPerThread = 4;
// Output channels whose term gradients share one packed input.
constexpr int64_t kGradientChannelBlock = 8;
// Work items of the term gradient: the batch split that gives them depends on
// the shape only, never on the thread count, so the sums do not either.
constexpr int64_t kGradientItems = 16;
// Bytes of packed source planes a work item keeps: small planes are batched
// so that one kernel call covers many rows.
constexpr int64_t kScratchBudget = 256 * 1024;

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// The padded input the forward reads: extent = (out - 1) * stride + (kernel -
// 1) * dilation + 1 from -padding, stride phases along the last axis.
PlaneLayout SourceLayout(const TapGeometry& g) {
  int64_t extent[3];
  for (int a = 0; a < 3; ++a) {
    extent[a] =
        (g.out[a] - 1) * g.stride[a] + (g.kernel[a] - 1) * g.dilation[a] + 1;
  }
  return MakePlaneLayout(extent, g.padding, g.stride[2]);
}

int64_t KernelVolume(const TapGeometry& g) {
  return g.kernel[0] * g.kernel[1] * g.kernel[2];
}

// Position of kernel cell k (inside one plane) in SourceLayout.
int64_t SourceCellPosition(const TapGeometry& g, const PlaneLayout& l,
                           int64_t k) {
  const int64_t k2 = k % g.kernel[2];
  const int64_t k1 = (k / g.kernel[2]) % g.kernel[1];
  const int64_t k0 = k / (g.kernel[2] * g.kernel[1]);
  const int64_t e2 = k2 * g.dilation[2];
  return k0 * g.dilation[0] * l.slab_pitch + k1 * g.dilation[1] * l.row_pitch +
         (e2 % l.phases) * l.phase_cols + e2 / l.phases;
}

// Element offsets in the packed source of every term's cell (channel c of
// the group at c * slot): the position of each of the kernel's cells is
// computed once, where a position per term cost five divisions (DCLS layers
// have about a hundred terms per channel: the N16 C768 7x7 S=17 forward took
// 17% longer).
std::vector<int64_t> TermOffsets(const TapGeometry& g, const PlaneLayout& l,
                                 const std::vector<int64_t>& cells,
                                 int64_t in_per_group, int64_t slot,
                                 int64_t lanes) {
  const int64_t kvol = KernelVolume(g);
  std::vector<int64_t> position(kvol);
  for (int64_t k = 0; k < kvol; ++k)
    position[k] = SourceCellPosition(g, l, k) * lanes;
  std::vector<int64_t> off(cells.size());
  for (size_t i = 0; i < cells.size(); ++i) {
    const int64_t c = in_per_group == 1 ? 0 : cells[i] / kvol;
    off[i] = c * slot + position[cells[i] - c * kvol];
  }
  return off;
}

// Lane groups (of `interleave` images) per block whose packed planes
// (`planes` slots of `slot` elements each per lane group) fit the budget.
int64_t GroupsPerBlock(int64_t planes, int64_t slot, size_t element_bytes,
                       int64_t lane_groups) {
  const int64_t bytes =
      std::max<int64_t>(1, planes * slot * static_cast<int64_t>(element_bytes));
  return std::max<int64_t>(1, std::min(lane_groups, kScratchBudget / bytes));
}

// Packs channels [c0, c0 + channels) of images [n0, n0 + count) of `tensor`
// (channels_total channels of `plane` elements) into `channels` slots of
// `slot` elements, image b in lane b. Lanes past `count` are zeroed.
template <typename T>
void PackGroup(const PlaneLayout& l, const int64_t in[3], TapStorage s,
               const char* tensor, int64_t channels_total, int64_t plane,
               int64_t n0, int64_t count, int64_t interleave, int64_t c0,
               int64_t channels, int64_t slot, T* dst) {
  if (count < interleave) std::fill(dst, dst + channels * slot, T(0));
  const size_t es = StorageBytes(s);
  for (int64_t c = 0; c < channels; ++c) {
    for (int64_t b = 0; b < count; ++b) {
      PackPlane(l, in, s,
                tensor + ((n0 + b) * channels_total + c0 + c) * plane * es,
                interleave, b, dst + c * slot);
    }
  }
}

}  // namespace

TapGeometry TapGeometryOf(const ConvNdShape& s) {
  TapGeometry g;
  const int lead = 3 - s.spatial_rank;
  for (int a = 0; a < 3; ++a) {
    const bool present = a >= lead;
    const int i = a - lead;
    g.in[a] = present ? s.in[i] : 1;
    g.out[a] = present ? s.out[i] : 1;
    g.kernel[a] = present ? s.kernel[i] : 1;
    g.stride[a] = present ? s.stride[i] : 1;
    g.padding[a] = present ? s.padding[i] : 0;
    g.dilation[a] = present ? s.dilation[i] : 1;
  }
  return g;
}

bool TapStorageOf(DType dtype, TapStorage* storage) {
  switch (dtype) {
    case DType::kF32:
      *storage = TapStorage::kF32;
      return true;
    case DType::kF64:
      *storage = TapStorage::kF64;
      return true;
    case DType::kBF16:
      *storage = TapStorage::kBF16;
      return true;
    default:
      return false;
  }
}

const TapKernelTable& ActiveTapKernels() {
  switch (ActiveIsa()) {
    case Isa::kAvx512:
      return avx512::TapKernels();
    case Isa::kAvx2:
      return avx2::TapKernels();
    case Isa::kScalar:
      break;
  }
  return scalar::TapKernels();
}

template <typename T>
void TapForward(const TapProblem& p, const TapTerms<T>& terms, const void* x,
                const T* bias, void* y) {
  const TapGeometry& g = p.geometry;
  const PlaneLayout l = SourceLayout(g);
  const int64_t lanes = InterleaveFor(g.out[2], p.batch, p.storage);
  const int64_t slot = l.plane_pitch * lanes;
  const int64_t group_pitch = p.in_per_group * slot;
  const std::vector<int64_t> off =
      TermOffsets(g, l, terms.cell, p.in_per_group, slot, lanes);
  // Items: (group, block of lane groups, block of rows); blocks shrink until
  // every thread has a few items. The split does not change any result.
  const int64_t want = kItemsPerThread * ThreadsFor(p.num_threads);
  const int64_t lane_groups = CeilDiv(p.batch, lanes);
  int64_t per_block =
      GroupsPerBlock(p.in_per_group, slot, sizeof(T), lane_groups);
  while (per_block > 1 && p.groups * CeilDiv(lane_groups, per_block) < want)
    per_block = CeilDiv(per_block, 2);
  const int64_t blocks = CeilDiv(lane_groups, per_block);
  const int64_t rows = g.out[0] * g.out[1];
  int64_t rows_per_part = rows;
  if (p.groups * blocks < want)
    rows_per_part = CeilDiv(rows, CeilDiv(want, p.groups * blocks));
  const int64_t parts = CeilDiv(rows, rows_per_part);

  const int64_t cols = g.out[2] * lanes;
  const TapAccumulateFn kernel =
      KernelsForWidth(cols, p.storage).accumulate[static_cast<int>(p.storage)];
  const size_t es = StorageBytes(p.storage);
  const int64_t in_plane = g.in[0] * g.in[1] * g.in[2];
  const int64_t out_plane = g.out[0] * g.out[1] * g.out[2];
  const int64_t cin = p.groups * p.in_per_group;
  const int64_t cout = p.groups * p.out_per_group;
  const char* xb = static_cast<const char*>(x);
  char* yb = static_cast<char*>(y);
  ParallelFor(
      p.groups * blocks * parts, 1, p.num_threads,
      [&](int64_t begin, int64_t end) {
        std::vector<T> scratch(per_block * group_pitch + kSlack, T(0));
        // Interleaved outputs before they are split into images.
        std::vector<char> staging(
            lanes > 1 ? per_block * rows_per_part * cols * es : 0);
        std::vector<int64_t> row_src, row_dst;
        int64_t loaded = -1;
        for (int64_t item = begin; item < end; ++item) {
          const int64_t part = item % parts;
          const int64_t block = item / parts;
          const int64_t grp = block / blocks;
          const int64_t q0 = (block % blocks) * per_block;
          const int64_t nq = std::min(per_block, lane_groups - q0);
          if (block != loaded) {
            for (int64_t q = 0; q < nq; ++q) {
              const int64_t n0 = (q0 + q) * lanes;
              PackGroup(l, g.in, p.storage, xb, cin, in_plane, n0,
                        std::min(lanes, p.batch - n0), lanes,
                        grp * p.in_per_group, p.in_per_group, slot,
                        scratch.data() + q * group_pitch);
            }
            loaded = block;
          }
          const int64_t r_begin = part * rows_per_part;
          const int64_t r_end = std::min(rows, r_begin + rows_per_part);
          const int64_t nr = r_end - r_begin;
          row_src.clear();
          row_dst.clear();
          for (int64_t q = 0; q < nq; ++q) {
            for (int64_t r = r_begin; r < r_end; ++r) {
              const int64_t od = r / g.out[1], oh = r % g.out[1];
              row_src.push_back(q * group_pitch +
                                (od * g.stride[0] * l.slab_pitch +
                                 oh * g.stride[1] * l.row_pitch) *
                                    lanes);
              row_dst.push_back(lanes == 1
                                    ? (q0 + q) * cout * out_plane + r * g.out[2]
                                    : (q * nr + r - r_begin) * cols);
            }
          }
          for (int64_t ol = 0; ol < p.out_per_group; ++ol) {
            const int64_t o = grp * p.out_per_group + ol;
            TapAccumulateArgs a;
            a.src = scratch.data();
            a.row_src = row_src.data();
            a.off = off.data() + terms.begin[o];
            a.weight = terms.weight.data() + terms.begin[o];
            a.terms = terms.begin[o + 1] - terms.begin[o];
            a.rows = static_cast<int64_t>(row_src.size());
            a.cols = cols;
            a.dst = lanes == 1 ? yb + o * out_plane * es : staging.data();
            a.row_dst = row_dst.data();
            a.dst_col_stride = 1;
            a.init = bias != nullptr ? static_cast<double>(bias[o]) : 0.0;
            kernel(a);
            if (lanes == 1) continue;
            for (int64_t q = 0; q < nq; ++q) {
              const int64_t n0 = (q0 + q) * lanes;
              const int64_t count = std::min(lanes, p.batch - n0);
              for (int64_t b = 0; b < count; ++b) {
                for (int64_t r = r_begin; r < r_end; ++r) {
                  ExtractLane(
                      p.storage,
                      staging.data() + (q * nr + r - r_begin) * cols * es,
                      lanes, b, g.out[2],
                      yb + (((n0 + b) * cout + o) * out_plane + r * g.out[2]) *
                               es,
                      1);
                }
              }
            }
          }
        }
      });
}

template <typename T>
void TapBackwardInput(const TapProblem& p, const TapTerms<T>& terms,
                      const void* dy, void* dx) {
  const TapGeometry& g = p.geometry;
  const int64_t kvol = KernelVolume(g);
  // dy zero-bordered: `lead` = the largest (cell * dilation) / stride before
  // it, up to the largest output index any dx position maps to.
  int64_t lead[3], extent[3], origin[3];
  for (int a = 0; a < 3; ++a) {
    lead[a] = (g.kernel[a] - 1) * g.dilation[a] / g.stride[a];
    const int64_t last = (g.in[a] - 1 + g.padding[a]) / g.stride[a];
    extent[a] = last + lead[a] + 1;
    origin[a] = lead[a];
  }
  const PlaneLayout l = MakePlaneLayout(extent, origin, 1);
  const int64_t width = CeilDiv(g.in[2], g.stride[2]);  // widest phase row
  const int64_t lanes = InterleaveFor(width, p.batch, p.storage);
  const int64_t slot = l.plane_pitch * lanes;
  const int64_t pitch[3] = {l.slab_pitch * lanes, l.row_pitch * lanes, lanes};

  // dx position i along an axis with phase f = (i + padding) mod stride is
  // u = (i + padding - f) / stride; a cell with e = cell * dilation and
  // e mod stride = f adds weight * dy[u - e / stride] to it.
  const int64_t phases = g.stride[0] * g.stride[1] * g.stride[2];
  const int64_t cin = p.groups * p.in_per_group;
  const int64_t cout = p.groups * p.out_per_group;
  // Each kernel cell's phase and dy shift, computed once (per term they
  // cost eleven divisions).
  std::vector<int64_t> cell_phase(kvol), cell_shift(kvol);
  for (int64_t k = 0; k < kvol; ++k) {
    const int64_t k_axis[3] = {k / (g.kernel[1] * g.kernel[2]),
                               (k / g.kernel[2]) % g.kernel[1],
                               k % g.kernel[2]};
    int64_t phase = 0, shift = 0;
    for (int a = 0; a < 3; ++a) {
      const int64_t e = k_axis[a] * g.dilation[a];
      phase = phase * g.stride[a] + e % g.stride[a];
      shift += (lead[a] - e / g.stride[a]) * pitch[a];
    }
    cell_phase[k] = phase;
    cell_shift[k] = shift;
  }
  // Terms regrouped by (input channel, phase), in (output channel, term)
  // order.
  std::vector<int64_t> bucket_of(terms.cell.size());
  std::vector<int64_t> bucket_begin(cin * phases + 1, 0);
  std::vector<int64_t> entry_off(terms.cell.size());
  for (int64_t o = 0; o < cout; ++o) {
    const int64_t grp = o / p.out_per_group;
    const int64_t o_shift = (o % p.out_per_group) * slot;
    for (int64_t t = terms.begin[o]; t < terms.begin[o + 1]; ++t) {
      const int64_t c = p.in_per_group == 1 ? 0 : terms.cell[t] / kvol;
      const int64_t k = terms.cell[t] - c * kvol;
      bucket_of[t] = (grp * p.in_per_group + c) * phases + cell_phase[k];
      entry_off[t] = o_shift + cell_shift[k];
      ++bucket_begin[bucket_of[t] + 1];
    }
  }
  for (size_t b = 1; b < bucket_begin.size(); ++b)
    bucket_begin[b] += bucket_begin[b - 1];
  std::vector<int64_t> off(terms.cell.size());
  std::vector<T> weight(terms.cell.size());
  {
    std::vector<int64_t> fill(bucket_begin.begin(), bucket_begin.end() - 1);
    for (int64_t o = 0; o < cout; ++o) {
      for (int64_t t = terms.begin[o]; t < terms.begin[o + 1]; ++t) {
        const int64_t at = fill[bucket_of[t]]++;
        off[at] = entry_off[t];
        weight[at] = terms.weight[t];
      }
    }
  }
  // Per axis and phase: first u, count and first dx index.
  struct AxisPhase {
    int64_t u0, count, i0;
  };
  std::vector<AxisPhase> axis_phase[3];
  int64_t most_rows = 1;
  for (int a = 0; a < 3; ++a) {
    int64_t most = 0;
    for (int64_t f = 0; f < g.stride[a]; ++f) {
      AxisPhase ap{0, 0, 0};
      const int64_t lo = g.padding[a] - f;  // i = stride * u - lo >= 0
      const int64_t hi = g.in[a] - 1 + g.padding[a] - f;
      ap.u0 = lo <= 0 ? 0 : CeilDiv(lo, g.stride[a]);
      if (hi >= 0) {
        const int64_t u1 = hi / g.stride[a];
        ap.count = std::max<int64_t>(0, u1 - ap.u0 + 1);
      }
      ap.i0 = g.stride[a] * ap.u0 - lo;
      axis_phase[a].push_back(ap);
      most = std::max(most, ap.count);
    }
    if (a < 2) most_rows *= most;
  }

  const int64_t want = kItemsPerThread * ThreadsFor(p.num_threads);
  const int64_t lane_groups = CeilDiv(p.batch, lanes);
  const int64_t group_pitch = p.out_per_group * slot;
  int64_t per_block =
      GroupsPerBlock(p.out_per_group, slot, sizeof(T), lane_groups);
  while (per_block > 1 && cin * CeilDiv(lane_groups, per_block) < want)
    per_block = CeilDiv(per_block, 2);
  const int64_t blocks = CeilDiv(lane_groups, per_block);
  const TapAccumulateFn kernel = KernelsForWidth(width * lanes, p.storage)
                                     .accumulate[static_cast<int>(p.storage)];
  const size_t es = StorageBytes(p.storage);
  const int64_t in_plane = g.in[0] * g.in[1] * g.in[2];
  const int64_t out_plane = g.out[0] * g.out[1] * g.out[2];
  const char* dyb = static_cast<const char*>(dy);
  char* dxb = static_cast<char*>(dx);
  ParallelFor(blocks * cin, 1, p.num_threads, [&](int64_t begin, int64_t end) {
    std::vector<T> scratch(per_block * group_pitch + kSlack, T(0));
    std::vector<char> staging(
        lanes > 1 ? per_block * most_rows * width * lanes * es : 0);
    std::vector<int64_t> row_src, row_dst;
    int64_t loaded = -1;
    for (int64_t item = begin; item < end; ++item) {
      const int64_t block = item / cin, c = item % cin;
      const int64_t grp = c / p.in_per_group;
      const int64_t q0 = block * per_block;
      const int64_t nq = std::min(per_block, lane_groups - q0);
      const int64_t key = block * p.groups + grp;
      if (key != loaded) {
        for (int64_t q = 0; q < nq; ++q) {
          const int64_t n0 = (q0 + q) * lanes;
          PackGroup(l, g.out, p.storage, dyb, cout, out_plane, n0,
                    std::min(lanes, p.batch - n0), lanes, grp * p.out_per_group,
                    p.out_per_group, slot, scratch.data() + q * group_pitch);
        }
        loaded = key;
      }
      for (int64_t f0 = 0; f0 < g.stride[0]; ++f0) {
        const AxisPhase& p0 = axis_phase[0][f0];
        for (int64_t f1 = 0; f1 < g.stride[1]; ++f1) {
          const AxisPhase& p1 = axis_phase[1][f1];
          for (int64_t f2 = 0; f2 < g.stride[2]; ++f2) {
            const AxisPhase& p2 = axis_phase[2][f2];
            if (p0.count == 0 || p1.count == 0 || p2.count == 0) continue;
            const int64_t cols = p2.count * lanes;
            // dx element offset of phase row (u, v) of image n.
            auto dx_row = [&](int64_t n, int64_t u, int64_t v) {
              return (n * cin + c) * in_plane +
                     ((p0.i0 + u * g.stride[0]) * g.in[1] + p1.i0 +
                      v * g.stride[1]) *
                         g.in[2] +
                     p2.i0;
            };
            row_src.clear();
            row_dst.clear();
            for (int64_t q = 0; q < nq; ++q) {
              for (int64_t u = 0; u < p0.count; ++u) {
                for (int64_t v = 0; v < p1.count; ++v) {
                  row_src.push_back(q * group_pitch + (p0.u0 + u) * pitch[0] +
                                    (p1.u0 + v) * pitch[1] + p2.u0 * lanes);
                  row_dst.push_back(
                      lanes == 1 ? dx_row(q0 + q, u, v)
                                 : static_cast<int64_t>(row_dst.size()) * cols);
                }
              }
            }
            const int64_t bucket =
                c * phases + (f0 * g.stride[1] + f1) * g.stride[2] + f2;
            TapAccumulateArgs a;
            a.src = scratch.data();
            a.row_src = row_src.data();
            a.off = off.data() + bucket_begin[bucket];
            a.weight = weight.data() + bucket_begin[bucket];
            a.terms = bucket_begin[bucket + 1] - bucket_begin[bucket];
            a.rows = static_cast<int64_t>(row_src.size());
            a.cols = cols;
            a.dst = lanes == 1 ? dx : static_cast<void*>(staging.data());
            a.row_dst = row_dst.data();
            a.dst_col_stride = lanes == 1 ? g.stride[2] : 1;
            a.init = 0.0;
            kernel(a);
            if (lanes == 1) continue;
            int64_t row = 0;
            for (int64_t q = 0; q < nq; ++q) {
              const int64_t n0 = (q0 + q) * lanes;
              const int64_t count = std::min(lanes, p.batch - n0);
              for (int64_t u = 0; u < p0.count; ++u) {
                for (int64_t v = 0; v < p1.count; ++v, ++row) {
                  for (int64_t b = 0; b < count; ++b) {
                    ExtractLane(p.storage, staging.data() + row * cols * es,
                                lanes, b, p2.count,
                                dxb + dx_row(n0 + b, u, v) * es, g.stride[2]);
                  }
                }
              }
            }
          }
        }
      }
    }
  });
}

template <typename T>
void TapTermGradient(const TapProblem& p, const TapTerms<T>& terms,
                     const void* dy, const void* x, std::vector<double>* out) {
  const TapGeometry& g = p.geometry;
  const PlaneLayout l = SourceLayout(g);
  const int64_t lanes = InterleaveFor(g.out[2], p.batch, p.storage);
  const int64_t slot = l.plane_pitch * lanes;
  const int64_t group_pitch = p.in_per_group * slot;
  const int64_t total = static_cast<int64_t>(terms.cell.size());
  const std::vector<int64_t> off =
      TermOffsets(g, l, terms.cell, p.in_per_group, slot, lanes);
  int64_t most_terms = 0;
  const int64_t cin = p.groups * p.in_per_group;
  const int64_t cout = p.groups * p.out_per_group;
  for (int64_t o = 0; o < cout; ++o)
    most_terms = std::max(most_terms, terms.begin[o + 1] - terms.begin[o]);
  // Items (group, block of output channels, part of the lane groups), each
  // part in blocks of lane groups: all of it depends on the shape only, so
  // the order of every sum does too.
  const int64_t lane_groups = CeilDiv(p.batch, lanes);
  const int64_t channel_block =
      std::min(p.out_per_group, kGradientChannelBlock);
  const int64_t channel_blocks = CeilDiv(p.out_per_group, channel_block);
  const int64_t wanted_parts =
      std::max<int64_t>(1, kGradientItems / (p.groups * channel_blocks));
  const int64_t per_part =
      CeilDiv(lane_groups, std::min<int64_t>(wanted_parts, lane_groups));
  const int64_t parts = CeilDiv(lane_groups, per_part);
  const int64_t per_block = std::min(
      per_part, GroupsPerBlock(p.in_per_group, slot, sizeof(T), lane_groups));
  std::vector<double> partial(parts * total, 0.0);

  const int64_t cols = g.out[2] * lanes;
  const int64_t rows = g.out[0] * g.out[1];
  const TapKernelTable& kernels = KernelsForWidth(cols, p.storage);
  const TapDotFn dot =
      p.storage == TapStorage::kF64 ? kernels.dot_f64 : kernels.dot_f32;
  // dy is read in place when it already holds the compute type and needs no
  // interleaving; otherwise it is packed like x (without a border).
  const bool pack_dy = lanes > 1 || p.storage == TapStorage::kBF16;
  const int64_t dy_extent[3] = {g.out[0], g.out[1], g.out[2]};
  const int64_t no_origin[3] = {0, 0, 0};
  const PlaneLayout dy_layout = MakePlaneLayout(dy_extent, no_origin, 1);
  const int64_t dy_slot = dy_layout.plane_pitch * lanes;
  const int64_t in_plane = g.in[0] * g.in[1] * g.in[2];
  const int64_t out_plane = g.out[0] * g.out[1] * g.out[2];
  const char* dyb = static_cast<const char*>(dy);
  const char* xb = static_cast<const char*>(x);
  ParallelFor(
      p.groups * channel_blocks * parts, 1, p.num_threads,
      [&](int64_t begin, int64_t end) {
        std::vector<T> scratch(per_block * group_pitch + kSlack, T(0));
        std::vector<T> dy_scratch(pack_dy ? per_block * dy_slot : 0, T(0));
        std::vector<T> sums(most_terms);
        std::vector<int64_t> row_src, row_dy;
        for (int64_t item = begin; item < end; ++item) {
          const int64_t part = item % parts;
          const int64_t ob = (item / parts) % channel_blocks;
          const int64_t grp = item / (parts * channel_blocks);
          const int64_t part_end = std::min(lane_groups, (part + 1) * per_part);
          for (int64_t q0 = part * per_part; q0 < part_end; q0 += per_block) {
            const int64_t nq = std::min(per_block, part_end - q0);
            row_src.clear();
            for (int64_t q = 0; q < nq; ++q) {
              const int64_t n0 = (q0 + q) * lanes;
              PackGroup(l, g.in, p.storage, xb, cin, in_plane, n0,
                        std::min(lanes, p.batch - n0), lanes,
                        grp * p.in_per_group, p.in_per_group, slot,
                        scratch.data() + q * group_pitch);
              for (int64_t r = 0; r < rows; ++r) {
                const int64_t od = r / g.out[1], oh = r % g.out[1];
                row_src.push_back(q * group_pitch +
                                  (od * g.stride[0] * l.slab_pitch +
                                   oh * g.stride[1] * l.row_pitch) *
                                      lanes);
              }
            }
            const int64_t ol_end =
                std::min(p.out_per_group, (ob + 1) * channel_block);
            for (int64_t ol = ob * channel_block; ol < ol_end; ++ol) {
              const int64_t o = grp * p.out_per_group + ol;
              row_dy.clear();
              for (int64_t q = 0; q < nq; ++q) {
                const int64_t n0 = (q0 + q) * lanes;
                if (pack_dy) {
                  PackGroup(dy_layout, g.out, p.storage, dyb, cout, out_plane,
                            n0, std::min(lanes, p.batch - n0), lanes, o, 1,
                            dy_slot, dy_scratch.data() + q * dy_slot);
                }
                for (int64_t r = 0; r < rows; ++r) {
                  row_dy.push_back(pack_dy ? q * dy_slot + r * cols
                                           : (n0 * cout + o) * out_plane +
                                                 r * g.out[2]);
                }
              }
              TapDotArgs a;
              a.dy =
                  pack_dy ? static_cast<const void*>(dy_scratch.data()) : dyb;
              a.row_dy = row_dy.data();
              a.src = scratch.data();
              a.row_src = row_src.data();
              a.rows = static_cast<int64_t>(row_src.size());
              a.cols = cols;
              a.off = off.data() + terms.begin[o];
              a.terms = terms.begin[o + 1] - terms.begin[o];
              a.out = sums.data();
              dot(a);
              double* acc = partial.data() + part * total + terms.begin[o];
              for (int64_t t = 0; t < a.terms; ++t)
                acc[t] += static_cast<double>(sums[t]);
            }
          }
        }
      });
  out->assign(total, 0.0);
  for (int64_t part = 0; part < parts; ++part) {
    for (int64_t t = 0; t < total; ++t) (*out)[t] += partial[part * total + t];
  }
}

void TapBiasGradient(const TapProblem& p, const void* dy,
                     std::vector<double>* out) {
  const TapGeometry& g = p.geometry;
  const int64_t cout = p.groups * p.out_per_group;
  const int64_t out_plane = g.out[0] * g.out[1] * g.out[2];
  const size_t es = StorageBytes(p.storage);
  const char* dyb = static_cast<const char*>(dy);
  out->assign(cout, 0.0);
  ParallelFor(cout, 1, p.num_threads, [&](int64_t begin, int64_t end) {
    std::vector<double> plane(out_plane);
    for (int64_t o = begin; o < end; ++o) {
      double sum = 0.0;
      for (int64_t n = 0; n < p.batch; ++n) {
        LoadRow(p.storage, dyb + (n * cout + o) * out_plane * es, out_plane,
                plane.data());
        double plane_sum = 0.0;
        for (double v : plane) plane_sum += v;
        sum += plane_sum;
      }
      (*out)[o] = sum;
    }
  });
}

template <typename T>
TapTerms<T> DenseTapTerms(const TapProblem& p, const void* weight) {
  const int64_t per_channel = p.in_per_group * KernelVolume(p.geometry);
  const int64_t cout = p.groups * p.out_per_group;
  TapTerms<T> terms;
  terms.begin.resize(cout + 1);
  for (int64_t o = 0; o <= cout; ++o) terms.begin[o] = o * per_channel;
  terms.cell.resize(cout * per_channel);
  for (int64_t i = 0; i < cout * per_channel; ++i)
    terms.cell[i] = i % per_channel;
  terms.weight.resize(cout * per_channel);
  LoadRow(p.storage, static_cast<const char*>(weight), cout * per_channel,
          terms.weight.data());
  return terms;
}

template void TapForward<float>(const TapProblem&, const TapTerms<float>&,
                                const void*, const float*, void*);
template void TapForward<double>(const TapProblem&, const TapTerms<double>&,
                                 const void*, const double*, void*);
template void TapBackwardInput<float>(const TapProblem&, const TapTerms<float>&,
                                      const void*, void*);
template void TapBackwardInput<double>(const TapProblem&,
                                       const TapTerms<double>&, const void*,
                                       void*);
template void TapTermGradient<float>(const TapProblem&, const TapTerms<float>&,
                                     const void*, const void*,
                                     std::vector<double>*);
template void TapTermGradient<double>(const TapProblem&,
                                      const TapTerms<double>&, const void*,
                                      const void*, std::vector<double>*);
template TapTerms<float> DenseTapTerms<float>(const TapProblem&, const void*);
template TapTerms<double> DenseTapTerms<double>(const TapProblem&, const void*);

}  // namespace tapconv::cpu
