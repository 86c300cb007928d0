#include "backends/cpu/oriented_blocked_planner.h"

#include <algorithm>
#include <cstdlib>
#include <string>

namespace tapconv::cpu {
namespace {

// X of one band should stay in a core's L2 while its tiles sweep over it.
constexpr int64_t kBandBudgetBytes = int64_t{1} << 20;
// Beyond this the plane kernels, which tile more finely, are used instead.
constexpr int64_t kMaxScratchBytes = int64_t{32} << 20;
// Enough work items for the threads: more bands are cut when blocks and
// images alone give fewer. Bands change no result (every output is reduced
// by one thread in its block's run order whatever the banding).
constexpr int64_t kMinItems = 8;
// Channels-first outputs are written with non-temporal stores when they are
// at least this large (they would only evict the inputs still to be read)...
constexpr int64_t kStreamOutputBytes = int64_t{16} << 20;
// ... or when each output plane is at most this large: the 16 planes of a
// block are then written as 16 streams too short for the hardware
// prefetchers to fetch ahead of ordinary stores (measured during development:
// 28x28 planes about 20% faster with non-temporal stores, 56x56 ones 5-8%
// slower).
constexpr int64_t kShortStreamPlaneBytes = 4096;
// Channels-last outputs: each pixel's block of channels is a line of its own,
// C elements from the next pixel's, so ordinary stores read every line before
// writing it. Non-temporal stores measured 1.2-1.8x faster from 1 MiB of
// output up (during development; below that, ordinary stores were faster).
constexpr int64_t kStreamNhwcOutputBytes = int64_t{1} << 20;
// Channels-first forward and input gradient: the next item's X is packed
// during an item's tiles when both X slots and both O sets fit in this many
// bytes of L2 beside the lines in flight. Measured on the forward, N C512
// K31, the models' angles, in one process with and without: 2-6% faster at
// 56² (1.37 MB), 6-9% at 28² and 14²; 2% slower at 112² (3.3 MB).
constexpr int64_t kPackAheadBudgetBytes = int64_t{3} << 19;

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t RoundUp(int64_t a, int64_t m) { return CeilDiv(a, m) * m; }

struct Tap {
  int64_t dh, dw;
  int64_t index;  // position in its channel's distinct taps
};

// Taps split into runs along rows (column_tiles false: equal dh, dw growing
// by `step`) or down columns: `order` lists the taps run by run, `runs` holds
// (first position in order, length), `loads` what the tiles will load.
struct RunSplit {
  std::vector<int64_t> order;
  std::vector<std::pair<int64_t, int32_t>> runs;
  int64_t loads = 0;
};

RunSplit SplitIntoRuns(const std::vector<Tap>& taps, bool column_tiles,
                       int64_t step, int tile, int max_run) {
  auto across = [&](int64_t i) {
    return column_tiles ? taps[i].dw : taps[i].dh;
  };
  auto along = [&](int64_t i) {
    return column_tiles ? taps[i].dh : taps[i].dw;
  };
  RunSplit split;
  const int64_t n = static_cast<int64_t>(taps.size());
  split.order.resize(n);
  for (int64_t i = 0; i < n; ++i) split.order[i] = i;
  std::sort(split.order.begin(), split.order.end(), [&](int64_t a, int64_t b) {
    return across(a) != across(b) ? across(a) < across(b) : along(a) < along(b);
  });
  for (int64_t i = 0; i < n;) {
    int64_t e = i + 1;
    while (e < n && e - i < max_run &&
           across(split.order[e]) == across(split.order[i]) &&
           along(split.order[e]) == along(split.order[i]) + (e - i) * step) {
      ++e;
    }
    const int32_t length = static_cast<int32_t>(e - i);
    split.runs.emplace_back(i, length);
    // The tile's loads of the source, plus the run's weights.
    split.loads += tile + length - 1 + length;
    i = e;
  }
  return split;
}

// OrientedBlockGeometry::diagonal for runs in line order: +1 or -1 when
// every run is one tap and each next one lies one X row down and one column
// right or left (x_cols pixels per X row), at stride 1 with row tiles; else
// 0.
int DiagonalDirection(const std::vector<OrientedRun>& runs, bool column_tiles,
                      int64_t stride, int64_t x_cols, int64_t lanes) {
  if (column_tiles || stride != 1 || runs.size() < 2) return 0;
  const int64_t step = runs[1].offset - runs[0].offset;
  int direction = 0;
  if (step == (x_cols + 1) * lanes) direction = 1;
  if (step == (x_cols - 1) * lanes) direction = -1;
  for (size_t k = 0; direction != 0 && k < runs.size(); ++k) {
    if (runs[k].length != 1 || runs[k].first_tap != static_cast<int32_t>(k) ||
        (k > 0 && runs[k].offset - runs[k - 1].offset != step)) {
      direction = 0;
    }
  }
  return direction;
}

// The blocks' weights (taps x lanes, in run order) and biases (lanes), zero
// in the lanes past a block's channels, into `values` at weight_at / bias_at
// (bias_at < 0: none); the weights only with_weights, channel c's merged ones
// (one per distinct tap) from merged_of(c). Returns values->data().
template <typename T, typename MergedOf>
const T* FillBlockValues(MergedOf merged_of, const std::vector<double>* bias,
                         const std::vector<OrientedBlock>& blocks,
                         const std::vector<OrientedBlockGeometry>& geometries,
                         const std::vector<int64_t>& weight_at,
                         const std::vector<int64_t>& bias_at,
                         int64_t value_count, int64_t lanes, bool with_weights,
                         std::vector<T>* values) {
  // Only the lanes past a block's channels need zeros: the rest is written.
  values->resize(value_count);
  T* out = values->data();
  for (size_t b = 0; b < blocks.size(); ++b) {
    const OrientedBlock& block = blocks[b];
    if (with_weights) {
      // The block's taps in run order, as indices into its channels' taps.
      const OrientedBlockGeometry& g = geometries[block.geometry];
      const int64_t* index = g.tap_index;
      const int64_t n = g.taps;
      T* w = out + weight_at[b];
      // Channel by channel: each reads its own taps from one short range.
      for (int64_t lane = 0; lane < block.channels; ++lane) {
        const double* from = merged_of(block.c0 + lane);
        for (int64_t i = 0; i < n; ++i) {
          w[i * lanes + lane] = static_cast<T>(from[index[i]]);
        }
      }
      for (int64_t lane = block.channels; lane < lanes; ++lane) {
        for (int64_t i = 0; i < n; ++i) w[i * lanes + lane] = T(0);
      }
    }
    if (bias_at[b] >= 0) {
      for (int64_t lane = 0; lane < lanes; ++lane) {
        out[bias_at[b] + lane] = lane < block.channels
                                     ? static_cast<T>((*bias)[block.c0 + lane])
                                     : T(0);
      }
    }
  }
  return out;
}

enum class Override { kNone, kNever, kWherePossible };

Override EnvironmentOverride() {
  static const Override value = [] {
    const char* v = std::getenv("TAPCONV_CPU_ORIENTED_BLOCKED");
    if (v == nullptr) return Override::kNone;
    if (std::string(v) == "0") return Override::kNever;
    if (std::string(v) == "1") return Override::kWherePossible;
    return Override::kNone;
  }();
  return value;
}

}  // namespace

bool BuildOrientedBlockedPlan(const OrientedBlockedRequest& r,
                              OrientedBlockedPlanStorage* st) {
  const bool f64 = r.storage == OrientedStorage::kF64;
  const int64_t lanes = f64 ? r.kernels->lanes_f64 : r.kernels->lanes_f32;
  const bool weight_gradient = r.op == OrientedBlockedOp::kWeightGradient;
  const bool mirrored = r.op == OrientedBlockedOp::kInputGradient;
  const Override forced = EnvironmentOverride();
  if (forced == Override::kNever || lanes == 0 || r.kernels->run == nullptr ||
      r.stride > kMaxBlockedStride || r.channels == 0 || r.dst_h == 0 ||
      r.dst_w == 0 || r.src_h > kMaxBlockedSide || r.src_w > kMaxBlockedSide ||
      r.dst_h > kMaxBlockedSide || r.dst_w > kMaxBlockedSide) {
    return false;
  }
  const int64_t C = r.channels, s = r.stride;
  const int tile = r.kernels->tile;
  const OrientedTapSet& ts = *r.taps;
  const std::vector<int64_t>& angle_of = r.angles->angle_of;

  // Blocks: runs of channels of one angle, cut into vectors.
  std::vector<OrientedBlock>& blocks = st->blocks_;
  blocks.clear();
  for (int64_t c = 0; c < C;) {
    int64_t e = c + 1;
    while (e < C && angle_of[e] == angle_of[c]) ++e;
    for (int64_t c0 = c; c0 < e; c0 += lanes) {
      OrientedBlock block{};
      block.c0 = c0;
      block.channels = std::min(lanes, e - c0);
      blocks.push_back(block);
    }
    c = e;
  }
  const int64_t num_blocks = static_cast<int64_t>(blocks.size());
  if (2 * C < num_blocks * lanes) return false;  // vectors less than half full
  const bool few_taps = kMinBlockedNchwTaps * C > ts.begin[C];
  const bool tiny_planes = r.dst_h * r.dst_w <= kMaxTinyPlane;
  if (!r.nhwc && forced != Override::kWherePossible &&
      (r.storage == OrientedStorage::kBF16 ||
       (few_taps && !tiny_planes && !weight_gradient))) {
    return false;
  }

  // Each used angle's taps (as its first channel lists them), mirrored for
  // the input gradient, and their extent.
  std::vector<int64_t> geometry_of_angle(r.angles->table.channels, -1);
  std::vector<std::vector<Tap>> angle_taps;
  int64_t dh_min = 0, dh_max = 0, dw_min = 0, dw_max = 0;
  for (OrientedBlock& block : blocks) {
    const int64_t a = angle_of[block.c0];
    if (geometry_of_angle[a] < 0) {
      geometry_of_angle[a] = static_cast<int64_t>(angle_taps.size());
      std::vector<Tap> taps;
      for (int64_t u = ts.begin[block.c0]; u < ts.begin[block.c0 + 1]; ++u) {
        const int64_t dh = mirrored ? -ts.dh[u] : ts.dh[u];
        const int64_t dw = mirrored ? -ts.dw[u] : ts.dw[u];
        dh_min = std::min(dh_min, dh);
        dh_max = std::max(dh_max, dh);
        dw_min = std::min(dw_min, dw);
        dw_max = std::max(dw_max, dw);
        taps.push_back(Tap{dh, dw, u - ts.begin[block.c0]});
      }
      angle_taps.push_back(std::move(taps));
    }
    block.geometry = geometry_of_angle[a];
    block.tap_base = ts.begin[block.c0];
  }

  // Scratch layout: zero borders wide enough for every tap, and for the
  // tiles that run past the last output row or column.
  OrientedBlockedPlan& p = st->plan_;
  p = OrientedBlockedPlan{};
  const int64_t elem = f64 ? 8 : 4;
  p.tile = tile;
  p.pad_top = -dh_min;
  p.pad_left = -dw_min;
  p.x_cols = std::max(p.pad_left + r.src_w, s * (RoundUp(r.dst_w, tile) - 1) +
                                                p.pad_left + dw_max + 1);
  auto x_rows_for = [&](int64_t band) {
    return s * (RoundUp(band, tile) - 1) + p.pad_top + dh_max + 1;
  };
  const int64_t row_bytes = p.x_cols * lanes * elem;
  int64_t band = r.dst_h;
  if (x_rows_for(band) * row_bytes > kBandBudgetBytes) {
    const int64_t fit =
        (kBandBudgetBytes / row_bytes - p.pad_top - dh_max - 1) / s + 1;
    band = std::max<int64_t>(tile, fit / tile * tile);
  }
  // Channels-last items take two blocks: each pixel's lines of the two are
  // neighbours, read (PackNhwc, StageGradient) and written (NhwcStorer) in
  // turn.
  const int64_t blocks_per_item =
      r.nhwc && num_blocks > 1 ? kMaxBlocksPerItem : 1;
  const int64_t groups = CeilDiv(num_blocks, blocks_per_item);
  // The weight gradient spreads over groups of blocks and parts of the batch;
  // the others over groups, images and bands.
  int64_t parts = 1;
  if (weight_gradient) {
    parts = std::min(r.batch, CeilDiv(kMinItems, groups));
    p.batch_per_part = CeilDiv(r.batch, parts);
    parts = CeilDiv(r.batch, p.batch_per_part);
    p.batch_parts = parts;
  }
  const int64_t per_band = r.batch * groups;
  if (!weight_gradient && per_band * CeilDiv(r.dst_h, band) < kMinItems) {
    const int64_t bands = CeilDiv(kMinItems, per_band);
    band = std::min(band, RoundUp(CeilDiv(r.dst_h, bands), tile));
  }
  band = std::min(band, r.dst_h);
  p.band_rows = band;
  p.num_bands = CeilDiv(r.dst_h, band);
  // Column tiles keep X and O column-major, x_rows and o_rows pixels from
  // one column to the next: odd pitches spread a row's pixels over all the
  // L1's sets, where 56 (a 56² band) put them in 8 of its 64 (the forward
  // at 67.5°, N2 C512 56² K31, took 3% longer).
  p.x_rows = x_rows_for(band) | 1;
  p.o_rows = RoundUp(band, tile) | 1;
  p.o_cols = RoundUp(r.dst_w, tile);

  // Runs: per angle, along the direction that loads less.
  std::vector<OrientedBlockGeometry>& geometries = st->geometries_;
  geometries.assign(angle_taps.size(), OrientedBlockGeometry{});
  st->runs_.assign(angle_taps.size(), {});
  st->tap_index_.assign(angle_taps.size(), {});
  bool any_rows = false, any_columns = false;
  for (size_t a = 0; a < angle_taps.size(); ++a) {
    const std::vector<Tap>& taps = angle_taps[a];
    RunSplit rows = SplitIntoRuns(taps, false, s, tile, r.kernels->max_run);
    RunSplit columns = SplitIntoRuns(taps, true, s, tile, r.kernels->max_run);
    const bool column_tiles = columns.loads < rows.loads;
    const RunSplit& best = column_tiles ? columns : rows;
    // X is row-major for row tiles and column-major for column tiles.
    const int64_t row_pitch = column_tiles ? 1 : p.x_cols;
    const int64_t col_pitch = column_tiles ? p.x_rows : 1;
    for (const auto& [first, length] : best.runs) {
      const Tap& t = taps[best.order[first]];
      st->runs_[a].push_back(
          OrientedRun{(t.dh * row_pitch + t.dw * col_pitch) * lanes, length,
                      static_cast<int32_t>(first),
                      static_cast<int32_t>(column_tiles ? t.dw : t.dh)});
    }
    OrientedBlockGeometry& g = geometries[a];
    g.column_tiles = column_tiles;
    g.along_lines_first =
        std::all_of(taps.begin(), taps.end(), [&](const Tap& t) {
          return (column_tiles ? t.dw : t.dh) ==
                 (column_tiles ? taps[0].dw : taps[0].dh);
        });
    g.diagonal =
        DiagonalDirection(st->runs_[a], column_tiles, s, p.x_cols, lanes);
    g.runs = st->runs_[a].data();
    g.num_runs = static_cast<int64_t>(st->runs_[a].size());
    g.taps = static_cast<int64_t>(taps.size());
    for (int64_t k : best.order) st->tap_index_[a].push_back(taps[k].index);
    g.tap_index = st->tap_index_[a].data();
    p.max_taps = std::max(p.max_taps, g.taps);
    (column_tiles ? any_columns : any_rows) = true;
  }

  const int64_t x_bytes = RoundUp(p.x_rows * row_bytes, 64);
  const int64_t o_bytes = RoundUp(p.o_rows * p.o_cols * lanes * elem, 64);
  const int64_t o_set_bytes = blocks_per_item * o_bytes;
  p.defer_store = !weight_gradient;
  p.pack_ahead = !r.nhwc && !weight_gradient &&
                 2 * x_bytes + 2 * o_set_bytes <= kPackAheadBudgetBytes;
  const int64_t x_slots = p.pack_ahead ? 2 : blocks_per_item;
  p.scratch_x_rows = kOrientedBlockedHeaderBytes;
  p.scratch_x_columns = p.scratch_x_rows + (any_rows ? x_bytes : 0);
  p.x_block =
      p.scratch_x_columns + (any_columns ? x_bytes : 0) - p.scratch_x_rows;
  p.scratch_o = p.scratch_x_rows + x_slots * p.x_block;
  p.scratch_o_next = p.scratch_o + (p.defer_store ? o_set_bytes : 0);
  const int64_t storage_bytes = r.storage == OrientedStorage::kBF16 ? 2 : elem;
  const int64_t plane_bytes = r.dst_h * r.dst_w * storage_bytes;
  const int64_t out_bytes = r.batch * C * plane_bytes;
  if (weight_gradient) {
    p.stream_output = false;
  } else if (r.nhwc) {
    p.stream_output = out_bytes >= kStreamNhwcOutputBytes;
  } else {
    p.stream_output = out_bytes >= kStreamOutputBytes ||
                      plane_bytes <= kShortStreamPlaneBytes;
  }
  p.blocks_per_item = blocks_per_item;
  p.o_block = o_bytes / elem;
  p.scratch_sums = p.scratch_o_next + o_set_bytes;
  p.sums_block = RoundUp((p.max_taps + 1) * lanes * (elem + 8), 64);
  const int64_t sum_bytes =
      weight_gradient ? blocks_per_item * p.sums_block : 0;
  p.scratch_bytes = p.scratch_sums + RoundUp(sum_bytes, 64);
  if (p.scratch_bytes > kMaxScratchBytes) return false;

  // Weights (taps x lanes, in run order) and biases (lanes) of every block,
  // zero in the lanes past its channels, written straight in the compute type
  // (this runs on every call); the weight gradient has neither.
  std::vector<int64_t>& weight_at = st->weight_at_;
  std::vector<int64_t>& bias_at = st->bias_at_;
  weight_at.assign(num_blocks, 0);
  bias_at.assign(num_blocks, -1);
  int64_t value_count = 0;
  for (int64_t b = 0; b < num_blocks; ++b) {
    weight_at[b] = value_count;
    if (weight_gradient) continue;
    value_count +=
        static_cast<int64_t>(angle_taps[blocks[b].geometry].size()) * lanes;
    if (r.bias != nullptr) {
      bias_at[b] = value_count;
      value_count += lanes;
    }
  }
  st->value_count_ = value_count;

  p.storage = r.storage;
  p.nhwc = r.nhwc;
  p.src = r.src;
  p.dst = r.dst;
  p.batch = r.batch;
  p.channels = C;
  p.src_h = r.src_h;
  p.src_w = r.src_w;
  p.dst_h = r.dst_h;
  p.dst_w = r.dst_w;
  p.stride = s;
  p.lanes = lanes;
  p.blocks = blocks.data();
  p.num_blocks = num_blocks;
  p.geometries = geometries.data();
  st->FillValues([&ts](int64_t c) { return ts.weight.data() + ts.begin[c]; },
                 r.bias, !weight_gradient);
  p.num_items = r.batch * groups * p.num_bands;
  if (weight_gradient) {
    p.weight_gradient = true;
    p.dy = r.dy;
    p.total_taps = ts.begin[C];
    st->dweight_partial_.assign(r.want_dweight ? parts * p.total_taps : 0, 0.0);
    st->dbias_partial_.assign(r.want_dbias ? parts * C : 0, 0.0);
    p.dweight_partial = r.want_dweight ? st->dweight_partial_.data() : nullptr;
    p.dbias_partial = r.want_dbias ? st->dbias_partial_.data() : nullptr;
    p.num_items = groups * parts;
  }
  return true;
}

template <typename MergedOf>
void OrientedBlockedPlanStorage::FillValues(MergedOf merged_of,
                                            const std::vector<double>* bias,
                                            bool with_weights) {
  const bool f64 = plan_.storage == OrientedStorage::kF64;
  const int64_t elem = f64 ? 8 : 4;
  const void* base =
      f64 ? static_cast<const void*>(FillBlockValues(
                merged_of, bias, blocks_, geometries_, weight_at_, bias_at_,
                value_count_, plan_.lanes, with_weights, &values_f64_))
          : static_cast<const void*>(FillBlockValues(
                merged_of, bias, blocks_, geometries_, weight_at_, bias_at_,
                value_count_, plan_.lanes, with_weights, &values_f32_));
  for (size_t b = 0; b < blocks_.size(); ++b) {
    blocks_[b].weights = static_cast<const char*>(base) + weight_at_[b] * elem;
    blocks_[b].bias = bias_at_[b] < 0
                          ? nullptr
                          : static_cast<const char*>(base) + bias_at_[b] * elem;
  }
}

void OrientedBlockedPlanStorage::Refresh(
    absl::FunctionRef<void(int64_t c, double* merged)> merge_channel,
    const std::vector<double>* bias, const void* src, void* dst) {
  merged_.resize(plan_.max_taps);
  FillValues(
      [&](int64_t c) {
        merge_channel(c, merged_.data());
        return static_cast<const double*>(merged_.data());
      },
      bias, true);
  Retarget(src, dst);
}

void OrientedBlockedPlanStorage::CombineParams(
    const OrientedTapSet& taps, int64_t taps_per_channel,
    std::vector<double>* dweight, std::vector<double>* dbias) const {
  const OrientedBlockedPlan& p = plan_;
  CombineParamPartials(p.dweight_partial, p.dbias_partial, p.batch_parts,
                       p.total_taps, p.channels, taps, taps_per_channel,
                       dweight, dbias);
}

}  // namespace tapconv::cpu
