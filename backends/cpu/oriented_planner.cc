#include "backends/cpu/oriented_planner.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace tapconv::cpu {
namespace {

// Scratch a work item may use: one NCHW plane band, resp. one NHWC channel
// group. A core's L2 is 1-2 MB; the kernels' L1 working set is bounded
// separately by their column strips.
constexpr int64_t kPlaneBudgetBytes = 512 * 1024;
constexpr int64_t kGroupBudgetBytes = 1024 * 1024;
// NHWC: channels packed together, so that a pixel's cache line (16 f32
// channels) is read once.
constexpr int64_t kMaxGroupChannels = 16;
// The weight gradient splits the batch when there are fewer channel groups than
// this, so both cores stay busy on few-channel problems. A function of the
// shape only: the reduction order must not depend on the thread count.
constexpr int64_t kMinParamItems = 8;
// NCHW weight gradient: bytes of consecutive planes an item reads per image.
constexpr int64_t kParamsRunBytes = 64 * 1024;
// Outputs at least this large are written with non-temporal stores: they
// cannot stay in cache for the next op anyway.
constexpr int64_t kStreamOutputBytes = 16 << 20;

// floor(a / b) for b > 0, without overflow for any b.
int64_t FloorDiv(int64_t a, int64_t b) {
  return a >= 0 ? a / b : -((-a - 1) / b) - 1;
}
// ceil(a / b) for b > 0, without overflow for any b.
int64_t CeilDiv(int64_t a, int64_t b) {
  return a > 0 ? (a - 1) / b + 1 : -(-a / b);
}
int64_t RoundUp(int64_t a, int64_t m) { return CeilDiv(a, m) * m; }

// Whether offset d along an axis reads inside [0, in) for some output index
// p in [0, out): the first p with s*p + d >= 0 must also have s*p + d < in.
bool Reaches(int64_t d, int64_t in, int64_t out, int64_t s) {
  const int64_t p = d >= 0 ? 0 : CeilDiv(-d, s);
  return p < out && s * p + d < in;
}

struct Bounds {
  int64_t row_min = 0, row_max = 0, col_min = 0, col_max = 0;
};

}  // namespace

OrientedAngleTable BuildOrientedAngleTable(const std::vector<double>& theta,
                                           int taps, TapRule rule,
                                           int64_t dilation) {
  OrientedAngleTable angles;
  std::vector<double> distinct;
  angles.angle_of.resize(theta.size());
  for (size_t c = 0; c < theta.size(); ++c) {
    // Contiguous blocks of one angle are the common case: try the previous
    // channel's first.
    int64_t index = -1;
    if (c > 0 && theta[c] == theta[c - 1]) index = angles.angle_of[c - 1];
    for (size_t a = 0; index < 0 && a < distinct.size(); ++a) {
      if (distinct[a] == theta[c]) index = static_cast<int64_t>(a);
    }
    if (index < 0) {
      index = static_cast<int64_t>(distinct.size());
      distinct.push_back(theta[c]);
    }
    angles.angle_of[c] = index;
  }
  angles.table = BuildOrientedTapTable(distinct, taps, rule, dilation);
  return angles;
}

void BuildOrientedTapSet(const OrientedAngleTable& angles,
                         const OrientedConvShape& shape, int64_t stride,
                         const std::vector<double>* weights,
                         OrientedTapSet* out) {
  const int64_t channels = shape.channels, k_taps = shape.taps;
  const OrientedTapTable& table = angles.table;
  // Per angle: its distinct reaching taps, and where each tap k went (-1: it
  // never reaches the image).
  std::vector<std::vector<TapOffset>> distinct(table.channels);
  std::vector<int64_t> slot(table.channels * k_taps, -1);
  for (int64_t a = 0; a < table.channels; ++a) {
    for (int k = 0; k < k_taps; ++k) {
      const TapOffset o = table.at(a, k);
      if (!Reaches(o.dh, shape.in_h, shape.out_h, stride) ||
          !Reaches(o.dw, shape.in_w, shape.out_w, stride)) {
        continue;
      }
      std::vector<TapOffset>& d = distinct[a];
      int64_t index = -1;
      for (size_t u = 0; u < d.size(); ++u) {
        if (d[u].dh == o.dh && d[u].dw == o.dw) index = static_cast<int64_t>(u);
      }
      if (index < 0) {
        index = static_cast<int64_t>(d.size());
        d.push_back(o);
      }
      slot[a * k_taps + k] = index;
    }
  }
  // The same per angle in flat arrays, angle a's taps from first[a]: dh and
  // dw; the first original tap each distinct one merges (leading[first[a] +
  // u]); and the few further ones as (u, k) pairs from extras_at[a], all
  // second taps before all third ones, so that adding them in list order adds
  // each distinct tap's weights in tap order. One straight pass over the
  // taps then a short list, where a loop per tap mispredicted its varying
  // trip count.
  OrientedTapSet& set = *out;
  std::vector<int64_t>& first = set.merge_first;
  first.assign(table.channels + 1, 0);
  for (int64_t a = 0; a < table.channels; ++a) {
    first[a + 1] = first[a] + static_cast<int64_t>(distinct[a].size());
  }
  const int64_t angle_taps = first[table.channels];
  std::vector<int32_t> angle_dh(angle_taps), angle_dw(angle_taps);
  std::vector<int64_t>& leading = set.merge_leading;
  std::vector<int64_t>& extras_at = set.merge_extras_at;
  std::vector<std::pair<int64_t, int64_t>>& extras = set.merge_extras;
  leading.resize(angle_taps);
  extras_at.assign(table.channels + 1, 0);
  extras.clear();
  std::vector<int64_t> count(k_taps);
  for (int64_t a = 0; a < table.channels; ++a) {
    for (size_t u = 0; u < distinct[a].size(); ++u) {
      angle_dh[first[a] + u] = distinct[a][u].dh;
      angle_dw[first[a] + u] = distinct[a][u].dw;
    }
    std::fill(count.begin(), count.end(), 0);
    const size_t extras_begin = extras.size();
    int64_t most = 0;
    for (int k = 0; k < k_taps; ++k) {
      const int64_t u = slot[a * k_taps + k];
      if (u < 0) continue;
      if (count[u] == 0) leading[first[a] + u] = k;
      most = std::max(most, ++count[u]);
    }
    for (int64_t rank = 1; rank < most; ++rank) {
      std::fill(count.begin(), count.end(), 0);
      for (int k = 0; k < k_taps; ++k) {
        const int64_t u = slot[a * k_taps + k];
        if (u >= 0 && count[u]++ == rank) extras.emplace_back(u, k);
      }
    }
    extras_at[a] = static_cast<int64_t>(extras_begin);
    extras_at[a + 1] = static_cast<int64_t>(extras.size());
  }
  // Sized once and filled by index: this runs on every call, for C * K taps.
  set.begin.resize(channels + 1);
  if (weights == nullptr) {
    set.distinct_of.assign(channels * k_taps, -1);
  } else {
    set.distinct_of.clear();
  }
  int64_t total = 0;
  for (int64_t c = 0; c < channels; ++c) {
    set.begin[c] = total;
    total += static_cast<int64_t>(distinct[angles.angle_of[c]].size());
  }
  set.begin[channels] = total;
  set.dh.resize(total);
  set.dw.resize(total);
  for (int64_t c = 0; c < channels; ++c) {
    const int64_t a = angles.angle_of[c];
    const int64_t at = set.begin[c];
    const int64_t taps = first[a + 1] - first[a];
    // A bias-only weight gradient has no taps, and memcpy may not be handed
    // the null data() of empty vectors even for zero bytes.
    if (taps > 0) {
      std::memcpy(set.dh.data() + at, angle_dh.data() + first[a],
                  taps * sizeof(int32_t));
      std::memcpy(set.dw.data() + at, angle_dw.data() + first[a],
                  taps * sizeof(int32_t));
    }
    if (weights == nullptr) {
      const int64_t* slots = slot.data() + a * k_taps;
      int64_t* to = set.distinct_of.data() + c * k_taps;
      for (int k = 0; k < k_taps; ++k) {
        if (slots[k] >= 0) to[k] = at + slots[k];
      }
    }
  }
  if (weights == nullptr) {
    set.weight.clear();
    return;
  }
  set.weight.resize(total);
  for (int64_t c = 0; c < channels; ++c) {
    MergeChannelWeights(set, angles.angle_of[c], weights->data() + c * k_taps,
                        set.weight.data() + set.begin[c]);
  }
}

void MergeChannelWeights(const OrientedTapSet& set, int64_t angle,
                         const double* weights, double* merged) {
  // Taps on one pixel add their weights, in tap order, starting from +0.0
  // (so that a lone -0.0 weight merges to +0.0, as it always has).
  const int64_t first = set.merge_first[angle];
  const int64_t* lead = set.merge_leading.data() + first;
  const int64_t n = set.merge_first[angle + 1] - first;
  for (int64_t u = 0; u < n; ++u) merged[u] = 0.0 + weights[lead[u]];
  for (int64_t e = set.merge_extras_at[angle];
       e < set.merge_extras_at[angle + 1]; ++e) {
    merged[set.merge_extras[e].first] += weights[set.merge_extras[e].second];
  }
}

void OrientedPlanner::Build(const OrientedPlanRequest& r,
                            OrientedPlanStorage* st) {
  OrientedPlan& p = st->plan_;
  p = OrientedPlan{};
  const OrientedConvShape& sh = r.shape;
  const OrientedTapSet& ts = *r.taps;
  const int64_t s = r.stride, C = sh.channels, L = r.lanes;
  const bool input_grad = r.op == OrientedOp::kBackwardInput;
  const int64_t elem = r.storage == OrientedStorage::kF64 ? 8 : 4;

  p.storage = r.storage;
  p.nhwc = r.nhwc;
  p.batch = sh.batch;
  p.channels = C;
  p.in_h = sh.in_h;
  p.in_w = sh.in_w;
  p.out_h = sh.out_h;
  p.out_w = sh.out_w;
  p.stride = s;
  p.x = r.x;
  p.dy = r.dy;
  p.y = r.y;
  p.dx = r.dx;

  // Where a tap reads in the scratch's terms. Forward and weight gradient: x
  // row dh, column phase dw mod s, phase column floor(dw / s). Input gradient
  // (dx sub-grid of phase (dh mod s, dw mod s)): dy row and column
  // -floor(d / s) from the sub-grid element.
  const int64_t total = ts.begin[C];
  std::vector<int64_t> tap_row(total), tap_col(total), row_phase(total),
      col_phase(total);
  for (int64_t u = 0; u < total; ++u) {
    const int64_t dh = ts.dh[u], dw = ts.dw[u];
    const int64_t qh = s == 1 ? dh : FloorDiv(dh, s);
    const int64_t qw = s == 1 ? dw : FloorDiv(dw, s);
    row_phase[u] = dh - s * qh;
    col_phase[u] = dw - s * qw;
    tap_row[u] = input_grad ? -qh : dh;
    tap_col[u] = input_grad ? -qw : qw;
  }
  auto bounds_of = [&](int64_t tap_lo, int64_t tap_hi) {
    Bounds b;
    for (int64_t u = tap_lo; u < tap_hi; ++u) {
      const int64_t row = tap_row[u], col = tap_col[u];
      if (u == tap_lo) b = Bounds{row, row, col, col};
      b.row_min = std::min(b.row_min, row);
      b.row_max = std::max(b.row_max, row);
      b.col_min = std::min(b.col_min, col);
      b.col_max = std::max(b.col_max, col);
    }
    return b;
  };
  // Forward and weight gradient read x rows s * p + dh (with a single output
  // row, s never multiplies anything but 0: use 1, which cannot overflow).
  const int64_t row_step = input_grad || sh.out_h == 1 ? 1 : s;
  // Column phases: the distinct residues dw mod s the taps use (at most K of
  // them, whatever the stride). The input gradient reads dy in one phase.
  // (Few distinct residues, many taps: kept sorted as they come.)
  auto residues_of = [&](int64_t tap_lo, int64_t tap_hi) {
    std::vector<int64_t> res;
    if (!input_grad) {
      for (int64_t u = tap_lo; u < tap_hi; ++u) {
        const auto at = std::lower_bound(res.begin(), res.end(), col_phase[u]);
        if (at == res.end() || *at != col_phase[u])
          res.insert(at, col_phase[u]);
      }
    }
    if (res.empty()) res.push_back(0);
    return res;
  };
  // Bands run over output rows, or over dx sub-grid rows (ceil(H/s) = out_h).
  const int64_t band_total = sh.out_h;
  p.buffer_pitch = RoundUp(sh.out_w, L);
  p.in_buffer_pitch = RoundUp(sh.in_w, L);

  // Bands and groups are sized from the bounds over all channels, an upper
  // bound for every group's own layout.
  const Bounds all = bounds_of(0, total);
  const int64_t phases_max = static_cast<int64_t>(residues_of(0, total).size());
  const int64_t pitch_max = p.buffer_pitch + all.col_max - all.col_min;
  const int64_t span_max = all.row_max - all.row_min + 1;
  const int64_t row_bytes = phases_max * pitch_max * elem;
  auto plane_bytes = [&](int64_t band) {
    return row_bytes * (row_step * (band - 1) + span_max);
  };
  const int64_t group_cap = r.nhwc ? std::min(C, kMaxGroupChannels) : 1;
  const int64_t budget =
      r.nhwc ? kGroupBudgetBytes / group_cap : kPlaneBudgetBytes;
  const int64_t band_fit = (budget / row_bytes - span_max) / row_step + 1;
  // Never let the halo rows outnumber the band's own rows by much: a long
  // kernel on a wide image overflows the budget rather than re-packing its
  // halo for every few rows.
  const int64_t band_min = CeilDiv(span_max, row_step);
  p.band_rows =
      std::max<int64_t>(1, std::min(band_total, std::max(band_fit, band_min)));
  p.num_bands = CeilDiv(band_total, p.band_rows);
  if (r.nhwc) {
    p.group_channels = std::clamp<int64_t>(
        kGroupBudgetBytes / plane_bytes(p.band_rows), 1, group_cap);
  } else if (r.op == OrientedOp::kBackwardParams) {
    // The weight gradient walks the batch inside an item: group channels so
    // that each image contributes a contiguous run of planes rather than one
    // small plane followed by a jump of a whole image, while keeping enough
    // groups for the threads.
    const int64_t image_plane_bytes = sh.in_h * sh.in_w * elem;
    p.group_channels = std::clamp<int64_t>(
        CeilDiv(kParamsRunBytes, std::max<int64_t>(1, image_plane_bytes)), 1,
        std::max<int64_t>(1, C / kMinParamItems));
  } else {
    p.group_channels = 1;
  }
  p.num_groups = CeilDiv(C, p.group_channels);

  // Whether tap ranges [a0, a1) and [b0, b1) of the set are the same taps.
  // Runs of channels of one angle (as the models have) repeat their taps:
  // their layouts, offsets and phase lists are computed once and copied.
  auto same_taps = [&](int64_t a0, int64_t a1, int64_t b0, int64_t b1) {
    return a1 - a0 == b1 - b0 &&
           std::equal(ts.dh.begin() + a0, ts.dh.begin() + a1,
                      ts.dh.begin() + b0) &&
           std::equal(ts.dw.begin() + a0, ts.dw.begin() + a1,
                      ts.dw.begin() + b0);
  };

  // Group layouts. Residue lists are collected first and pointed to after,
  // once their storage no longer moves.
  st->layouts_.assign(p.num_groups, OrientedGroupLayout{});
  st->residues_.clear();
  std::vector<int64_t> residue_start(p.num_groups);
  std::vector<Bounds> group_bounds(p.num_groups);
  std::vector<bool> layout_copied(p.num_groups, false);
  int64_t plane_pitch = 0;
  for (int64_t g = 0; g < p.num_groups; ++g) {
    const int64_t c0 = g * p.group_channels;
    const int64_t c1 = std::min(C, c0 + p.group_channels);
    if (g > 0 && same_taps(ts.begin[c0], ts.begin[c1],
                           ts.begin[c0 - p.group_channels], ts.begin[c0])) {
      group_bounds[g] = group_bounds[g - 1];
      residue_start[g] = residue_start[g - 1];
      st->layouts_[g] = st->layouts_[g - 1];
      layout_copied[g] = true;
      continue;
    }
    const Bounds b = bounds_of(ts.begin[c0], ts.begin[c1]);
    const std::vector<int64_t> res = residues_of(ts.begin[c0], ts.begin[c1]);
    group_bounds[g] = b;
    residue_start[g] = static_cast<int64_t>(st->residues_.size());
    st->residues_.insert(st->residues_.end(), res.begin(), res.end());
    OrientedGroupLayout& lay = st->layouts_[g];
    lay.phases = static_cast<int64_t>(res.size());
    lay.col_step = input_grad ? 1 : s;
    lay.row_pitch = p.buffer_pitch + b.col_max - b.col_min;
    lay.row_span = b.row_max - b.row_min + 1;
    lay.phase_pitch =
        (row_step * (p.band_rows - 1) + lay.row_span) * lay.row_pitch;
    lay.row_origin = b.row_min;
    lay.col_origin = b.col_min;
    plane_pitch =
        std::max(plane_pitch, RoundUp(lay.phases * lay.phase_pitch, 16));
  }
  for (int64_t g = 0; g < p.num_groups; ++g)
    st->layouts_[g].residue = st->residues_.data() + residue_start[g];
  p.layout = st->layouts_.data();
  p.plane_pitch = plane_pitch;
  // Channel c's taps, offsets and phases equal those of channel c - gc (the
  // same position in the previous group) when its group's layout was copied
  // and its taps are the same.
  auto repeats_previous_group = [&](int64_t c) {
    const int64_t gc = p.group_channels;
    return c >= gc && layout_copied[c / gc] &&
           same_taps(ts.begin[c], ts.begin[c + 1], ts.begin[c - gc],
                     ts.begin[c - gc + 1]);
  };

  // Taps: flat scratch offsets, and weights in the compute type.
  std::vector<double> weights;
  st->tap_begin_.clear();
  st->tap_offset_.clear();
  st->phase_begin_.clear();
  st->phase_row_.clear();
  st->phase_col_.clear();
  st->phase_tap_.clear();
  auto offset_of = [&](int64_t u, int64_t c) {
    const int64_t g = c / p.group_channels;
    const OrientedGroupLayout& lay = st->layouts_[g];
    const Bounds& b = group_bounds[g];
    int64_t phase = 0;
    if (!input_grad) {
      phase = std::lower_bound(lay.residue, lay.residue + lay.phases,
                               col_phase[u]) -
              lay.residue;
    }
    return phase * lay.phase_pitch + (tap_row[u] - b.row_min) * lay.row_pitch +
           (tap_col[u] - b.col_min);
  };
  st->tap_offset_.reserve(total);
  weights.reserve(total);
  if (!input_grad) {
    st->tap_begin_ = ts.begin;
    for (int64_t c = 0; c < C; ++c) {
      if (repeats_previous_group(c)) {
        const int64_t from = ts.begin[c - p.group_channels];
        const int64_t n = ts.begin[c + 1] - ts.begin[c];
        for (int64_t i = 0; i < n; ++i)
          st->tap_offset_.push_back(st->tap_offset_[from + i]);
        continue;
      }
      for (int64_t u = ts.begin[c]; u < ts.begin[c + 1]; ++u)
        st->tap_offset_.push_back(offset_of(u, c));
    }
    weights = ts.weight;
  } else {
    // Grouped by the dx phase (dh mod s, dw mod s) each tap feeds; only
    // phases with taps get an entry. A tap that reaches the image has
    // residues below H and W, so every entry's sub-grid is non-empty.
    std::vector<std::pair<int64_t, int64_t>> phases;
    // Each channel's taps in the order they were emitted (as indices into
    // its own taps), to repeat for a channel with the same taps.
    std::vector<int64_t> emitted(total);
    for (int64_t c = 0; c < C; ++c) {
      st->phase_begin_.push_back(static_cast<int64_t>(st->phase_row_.size()));
      if (repeats_previous_group(c)) {
        const int64_t prev = c - p.group_channels;
        const int64_t last_entry = st->phase_begin_[prev + 1];
        for (int64_t e = st->phase_begin_[prev]; e < last_entry; ++e) {
          st->phase_row_.push_back(st->phase_row_[e]);
          st->phase_col_.push_back(st->phase_col_[e]);
          st->phase_tap_.push_back(
              static_cast<int64_t>(st->tap_offset_.size()));
          // Entry e's taps end where entry e + 1's begin; for the previous
          // group's last entry that is the entry just pushed.
          for (int64_t t = st->phase_tap_[e]; t < st->phase_tap_[e + 1]; ++t) {
            emitted[st->tap_offset_.size()] = emitted[t];
            st->tap_offset_.push_back(st->tap_offset_[t]);
            weights.push_back(ts.weight[ts.begin[c] + emitted[t]]);
          }
        }
        continue;
      }
      phases.clear();
      for (int64_t u = ts.begin[c]; u < ts.begin[c + 1]; ++u) {
        if (row_phase[u] < sh.in_h && col_phase[u] < sh.in_w)
          phases.emplace_back(row_phase[u], col_phase[u]);
      }
      std::sort(phases.begin(), phases.end());
      phases.erase(std::unique(phases.begin(), phases.end()), phases.end());
      for (const auto& [rh, rw] : phases) {
        st->phase_row_.push_back(rh);
        st->phase_col_.push_back(rw);
        st->phase_tap_.push_back(static_cast<int64_t>(st->tap_offset_.size()));
        for (int64_t u = ts.begin[c]; u < ts.begin[c + 1]; ++u) {
          if (row_phase[u] != rh || col_phase[u] != rw) continue;
          emitted[st->tap_offset_.size()] = u - ts.begin[c];
          st->tap_offset_.push_back(offset_of(u, c));
          weights.push_back(ts.weight[u]);
        }
      }
    }
    st->phase_begin_.push_back(static_cast<int64_t>(st->phase_row_.size()));
    st->phase_tap_.push_back(static_cast<int64_t>(st->tap_offset_.size()));
    p.phase_begin = st->phase_begin_.data();
    p.phase_row = st->phase_row_.data();
    p.phase_col = st->phase_col_.data();
    p.phase_tap = st->phase_tap_.data();
  }
  p.tap_begin = st->tap_begin_.data();
  p.tap_offset = st->tap_offset_.data();
  const bool f64 = r.storage == OrientedStorage::kF64;
  if (f64) {
    st->weight_f64_ = weights;
    p.tap_weight = st->weight_f64_.data();
  } else {
    st->weight_f32_.assign(weights.begin(), weights.end());
    p.tap_weight = st->weight_f32_.data();
  }
  p.bias = nullptr;
  if (r.bias != nullptr) {
    if (f64) {
      st->bias_f64_ = *r.bias;
      p.bias = st->bias_f64_.data();
    } else {
      st->bias_f32_.assign(r.bias->begin(), r.bias->end());
      p.bias = st->bias_f32_.data();
    }
  }

  const int64_t gc = p.group_channels, band = p.band_rows;
  int64_t aux_bytes = 0, aux2_bytes = 0;
  const int64_t out_bytes =
      sh.batch * C * (input_grad ? sh.in_h * sh.in_w : sh.out_h * sh.out_w) *
      (r.storage == OrientedStorage::kBF16 ? 2 : elem);
  // NHWC writes each pixel's group of channels separately, and streaming
  // those scattered lines measured slower than caching them.
  p.stream_output = !r.nhwc && out_bytes >= kStreamOutputBytes &&
                    (r.op == OrientedOp::kForward || (input_grad && s == 1));
  switch (r.op) {
    case OrientedOp::kForward:
      aux_bytes = (r.nhwc ? gc : 1) * band * p.buffer_pitch * elem;
      p.num_items = sh.batch * p.num_groups * p.num_bands;
      break;
    case OrientedOp::kBackwardInput:
      if (s > 1) aux_bytes = band * p.buffer_pitch * elem;
      if (p.stream_output && !r.nhwc) aux_bytes = band * sh.in_w * elem;
      if (r.nhwc) {
        // dx rows of a band: s * band, but never more than H.
        const int64_t dx_rows =
            s >= sh.in_h ? sh.in_h : std::min(sh.in_h, s * band);
        aux2_bytes = gc * dx_rows * p.in_buffer_pitch * elem;
      }
      p.num_items = sh.batch * p.num_groups * p.num_bands;
      break;
    case OrientedOp::kBackwardParams: {
      // NCHW packs one channel at a time; NHWC the whole group.
      aux_bytes = (r.nhwc ? gc : 1) * band * p.buffer_pitch * elem;
      for (int64_t c = 0; c < C; ++c) {
        p.max_channel_taps =
            std::max(p.max_channel_taps, ts.begin[c + 1] - ts.begin[c]);
      }
      aux2_bytes = gc * (p.max_channel_taps + 1) * L * elem;
      int64_t parts = std::min<int64_t>(
          sh.batch,
          std::max<int64_t>(1, CeilDiv(kMinParamItems, p.num_groups)));
      p.batch_per_part = CeilDiv(sh.batch, parts);
      parts = CeilDiv(sh.batch, p.batch_per_part);
      p.batch_parts = parts;
      p.total_taps = ts.begin[C];
      st->dweight_partial_.assign(r.want_dweight ? parts * p.total_taps : 0,
                                  0.0);
      st->dbias_partial_.assign(r.want_dbias ? parts * C : 0, 0.0);
      p.dweight_partial =
          r.want_dweight ? st->dweight_partial_.data() : nullptr;
      p.dbias_partial = r.want_dbias ? st->dbias_partial_.data() : nullptr;
      p.num_items = p.num_groups * parts;
      break;
    }
  }
  p.scratch_src = 0;
  const int64_t packed_planes =
      r.op == OrientedOp::kBackwardParams && !r.nhwc ? 1 : gc;
  p.scratch_aux = RoundUp(packed_planes * p.plane_pitch * elem, 64);
  p.scratch_aux2 = p.scratch_aux + RoundUp(aux_bytes, 64);
  p.scratch_bytes = p.scratch_aux2 + RoundUp(aux2_bytes, 64);
}

void CombineParamPartials(const double* dweight_partial,
                          const double* dbias_partial, int64_t parts,
                          int64_t total_taps, int64_t channels,
                          const OrientedTapSet& taps, int64_t taps_per_channel,
                          std::vector<double>* dweight,
                          std::vector<double>* dbias) {
  if (dweight != nullptr) {
    dweight->assign(channels * taps_per_channel, 0.0);
    for (int64_t i = 0; i < channels * taps_per_channel; ++i) {
      const int64_t u = taps.distinct_of[i];
      if (u < 0) continue;
      double sum = 0.0;
      for (int64_t part = 0; part < parts; ++part)
        sum += dweight_partial[part * total_taps + u];
      (*dweight)[i] = sum;
    }
  }
  if (dbias != nullptr) {
    dbias->assign(channels, 0.0);
    for (int64_t c = 0; c < channels; ++c) {
      double sum = 0.0;
      for (int64_t part = 0; part < parts; ++part)
        sum += dbias_partial[part * channels + c];
      (*dbias)[c] = sum;
    }
  }
}

void OrientedPlanner::CombineParams(const OrientedPlanStorage& storage,
                                    const OrientedTapSet& taps,
                                    int64_t taps_per_channel,
                                    std::vector<double>* dweight,
                                    std::vector<double>* dbias) {
  const OrientedPlan& p = storage.plan();
  CombineParamPartials(p.dweight_partial, p.dbias_partial, p.batch_parts,
                       p.total_taps, p.channels, taps, taps_per_channel,
                       dweight, dbias);
}

}  // namespace tapconv::cpu
