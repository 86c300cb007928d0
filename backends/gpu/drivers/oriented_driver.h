#ifndef TAPCONV_BACKENDS_GPU_DRIVERS_ORIENTED_DRIVER_H_
#define TAPCONV_BACKENDS_GPU_DRIVERS_ORIENTED_DRIVER_H_

// Launch sequences of the oriented conv ops: tap table, then the tiled kernel
// where its tile fits the shared-memory budget (NCHW), the direct kernel
// otherwise (NHWC, huge K); parameter gradients as per-tile partial sums
// reduced in a fixed order.

#include <cstdint>

#include "backends/gpu/drivers/driver_util.h"
#include "backends/gpu/kernels/oriented_kernels.h"

namespace tapconv::gpu {

// A planned tile of the oriented tiled kernels, or `tiled = false`.
struct OrientedTilePlan {
  bool tiled = false;
  int64_t tile_h = 0, tile_w = 0, tiles_h = 0, tiles_w = 0;
  int64_t alloc_rows = 0, alloc_cols = 0;
  int threads = 0;
  size_t smem = 0;
};

// Tile of the correlation kernel over a grid_h x grid_w output grid read with
// input step `in_step`, for offsets spanning at most span_h x span_w. The
// buffer is sized for the worst angle (offsets within +-dilation*(K/2)), so
// a tile that fits here fits every channel; each block still loads only the
// rows and columns its own channel's taps touch.
template <typename T>
OrientedTilePlan PlanOrientedCorrTile(int64_t grid_h, int64_t grid_w,
                                      int64_t in_step, int64_t span_h,
                                      int64_t span_w, int64_t taps,
                                      const DeviceInfo& info,
                                      const ArchTuning& tuning) {
  OrientedTilePlan plan;
  // Large strides share no input between neighbouring outputs: direct kernel.
  if (grid_h <= 0 || grid_w <= 0 || in_step > 8) return plan;
  const size_t budget = SharedBudget(info, tuning);
  const int64_t max_threads =
      Min<int64_t>(tuning.block_threads, kMaxBlockThreads);
  const int64_t per_thread =
      Min<int64_t>(tuning.outputs_per_thread, kMaxOutputsPerThread);
  const int64_t max_outputs = max_threads * per_thread;
  int64_t tile_w = CeilDiv(grid_w, CeilDiv(grid_w, tuning.max_tile_w));
  int64_t tile_h = Max<int64_t>(1, max_outputs / tile_w);
  tile_h = CeilDiv(grid_h, CeilDiv(grid_h, tile_h));
  OrientedCorrTiledKernel<T> probe{};
  probe.taps = taps;
  for (;;) {
    probe.alloc_rows = in_step * (tile_h - 1) + 1 + span_h;
    probe.alloc_cols = in_step * (tile_w - 1) + 1 + span_w;
    if (probe.SharedBytes() <= budget) break;
    if (tile_h > 1) {
      tile_h = (tile_h + 1) / 2;
    } else if (tile_w > 8) {
      tile_w = (tile_w + 1) / 2;
    } else {
      return plan;  // does not fit even as a sliver: direct kernel
    }
  }
  // A tile this small spends most of its loads on the halo.
  if (tile_h * tile_w < 16 && tile_h * tile_w < grid_h * grid_w) return plan;
  plan.tiled = true;
  plan.tile_h = tile_h;
  plan.tile_w = tile_w;
  plan.tiles_h = CeilDiv(grid_h, tile_h);
  plan.tiles_w = CeilDiv(grid_w, tile_w);
  plan.alloc_rows = probe.alloc_rows;
  plan.alloc_cols = probe.alloc_cols;
  plan.threads = ThreadsFor(CeilDiv(tile_h * tile_w, per_thread),
                            info.warp_size, static_cast<int>(max_threads));
  plan.smem = probe.SharedBytes();
  return plan;
}

// Tile of the tiled parameter-gradient kernel over the P x Q output grid.
template <typename T>
OrientedTilePlan PlanOrientedParamsTile(int64_t out_h, int64_t out_w,
                                        int64_t stride, int64_t span,
                                        int64_t taps, const DeviceInfo& info,
                                        const ArchTuning& tuning) {
  OrientedTilePlan plan;
  if (out_h <= 0 || out_w <= 0 || stride > 8) return plan;
  const size_t budget = SharedBudget(info, tuning);
  const int threads = Min(tuning.block_threads, kMaxBlockThreads);
  const int64_t max_outputs = static_cast<int64_t>(threads) * 16;
  int64_t tile_w = CeilDiv(out_w, CeilDiv(out_w, tuning.max_tile_w));
  int64_t tile_h = Max<int64_t>(1, max_outputs / tile_w);
  tile_h = CeilDiv(out_h, CeilDiv(out_h, tile_h));
  OrientedParamsTiledKernel<T> probe{};
  probe.taps = taps;
  probe.threads = threads;
  for (;;) {
    probe.tile_h = tile_h;
    probe.tile_w = tile_w;
    probe.alloc_rows = stride * (tile_h - 1) + 1 + span;
    probe.alloc_cols = stride * (tile_w - 1) + 1 + span;
    if (probe.SharedBytes() <= budget) break;
    if (tile_h > 1) {
      tile_h = (tile_h + 1) / 2;
    } else if (tile_w > 8) {
      tile_w = (tile_w + 1) / 2;
    } else {
      return plan;
    }
  }
  if (tile_h * tile_w < 16 && tile_h * tile_w < out_h * out_w) return plan;
  plan.tiled = true;
  plan.tile_h = tile_h;
  plan.tile_w = tile_w;
  plan.tiles_h = CeilDiv(out_h, tile_h);
  plan.tiles_w = CeilDiv(out_w, tile_w);
  plan.alloc_rows = probe.alloc_rows;
  plan.alloc_cols = probe.alloc_cols;
  plan.threads = threads;
  plan.smem = probe.SharedBytes();
  return plan;
}

template <class RT, typename T>
Status BuildOrientedTapTable(RT& rt, Workspace<RT>& ws,
                             const OrientedProblem& p, bool with_weights,
                             OrientedTapTable<Acc<T>>* t) {
  const int64_t n = p.taps * p.channels;
  TAPCONV_GPU_RETURN_IF_ERROR(ws.Get(n, &t->dh));
  TAPCONV_GPU_RETURN_IF_ERROR(ws.Get(n, &t->dw));
  t->weight = nullptr;
  if (with_weights) TAPCONV_GPU_RETURN_IF_ERROR(ws.Get(n, &t->weight));
  TAPCONV_GPU_RETURN_IF_ERROR(ws.Get(4 * p.channels, &t->bbox));
  TAPCONV_GPU_RETURN_IF_ERROR(ws.Get(p.channels, &t->valid));
  OrientedTapTableKernel<T> k{};
  k.table = *t;
  k.theta = p.theta;
  k.theta_is_f64 = p.theta_is_f64;
  k.weight = static_cast<const T*>(p.weight);
  k.residual = p.residual;
  k.rule = p.rule;
  k.channels = p.channels;
  k.taps = p.taps;
  k.dilation = p.dilation;
  k.threads = ThreadsFor(p.taps, rt.info().warp_size, kMaxBlockThreads);
  return rt.Launch(k, k.tiles(), k.threads, k.SharedBytes(), "oriented_taps");
}

inline ActivationIndexer OrientedIndexer(const OrientedProblem& p, int64_t h,
                                         int64_t w) {
  return ActivationIndexer{p.layout == ActivationLayout::kNHWC, p.channels, h,
                           w};
}

// Largest |offset| of any tap along either axis.
inline int64_t OrientedReach(const OrientedProblem& p) {
  return p.dilation * (p.taps / 2);
}

template <class RT, typename T>
Status OrientedCorrelate(RT& rt, const OrientedProblem& p, bool backward) {
  using A = Acc<T>;
  const int64_t out_h = backward ? p.in_h : p.out_h;
  const int64_t out_w = backward ? p.in_w : p.out_w;
  const int64_t out_count = p.batch * p.channels * out_h * out_w;
  if (out_count == 0) return Status::Ok();
  Workspace<RT> ws(rt);
  OrientedTapTable<A> table{};
  TAPCONV_GPU_RETURN_IF_ERROR(
      (BuildOrientedTapTable<RT, T>(rt, ws, p, true, &table)));
  const T* in = static_cast<const T*>(backward ? p.dy : p.x);
  T* out = static_cast<T*>(backward ? p.dx : p.y);
  const int64_t in_h = backward ? p.out_h : p.in_h;
  const int64_t in_w = backward ? p.out_w : p.in_w;
  const int64_t reach = OrientedReach(p);
  OrientedTilePlan plan;
  const bool phase_split_ok = !backward || p.stride <= 4;
  if (p.layout == ActivationLayout::kNCHW && phase_split_ok) {
    if (!backward) {
      plan = PlanOrientedCorrTile<T>(p.out_h, p.out_w, p.stride, 2 * reach,
                                     2 * reach, p.taps, rt.info(), rt.tuning());
    } else {
      const int64_t span = 2 * reach / p.stride + 1;
      plan = PlanOrientedCorrTile<T>(CeilDiv(p.in_h, p.stride),
                                     CeilDiv(p.in_w, p.stride), 1, span, span,
                                     p.taps, rt.info(), rt.tuning());
    }
  }
  if (plan.tiled) {
    OrientedCorrTiledKernel<T> k{};
    k.in = in;
    k.out = out;
    k.bias = backward ? nullptr : static_cast<const T*>(p.bias);
    k.table = table;
    k.backward = backward;
    k.batch = p.batch;
    k.channels = p.channels;
    k.in_h = in_h;
    k.in_w = in_w;
    k.out_h = out_h;
    k.out_w = out_w;
    k.stride = p.stride;
    k.taps = p.taps;
    k.phases_h = backward ? Min(p.stride, p.in_h) : 1;
    k.phases_w = backward ? Min(p.stride, p.in_w) : 1;
    k.tile_h = plan.tile_h;
    k.tile_w = plan.tile_w;
    k.tiles_h = plan.tiles_h;
    k.tiles_w = plan.tiles_w;
    k.alloc_rows = plan.alloc_rows;
    k.alloc_cols = plan.alloc_cols;
    k.threads = plan.threads;
    return rt.Launch(
        k, k.tiles(), k.threads, plan.smem,
        backward ? "oriented_dgrad_tiled" : "oriented_fprop_tiled");
  }
  OrientedCorrDirectBody<T> body{};
  body.in = in;
  body.out = out;
  body.bias = backward ? nullptr : static_cast<const T*>(p.bias);
  body.table = table;
  body.backward = backward;
  body.in_index = OrientedIndexer(p, in_h, in_w);
  body.out_index = OrientedIndexer(p, out_h, out_w);
  body.stride = p.stride;
  body.taps = p.taps;
  return LaunchElementwise(
      rt, body, out_count,
      backward ? "oriented_dgrad_direct" : "oriented_fprop_direct");
}

template <class RT, typename T>
Status OrientedParams(RT& rt, const OrientedProblem& p) {
  using A = Acc<T>;
  T* dweight = static_cast<T*>(p.dweight);
  T* dbias = static_cast<T*>(p.dbias);
  const int64_t terms = p.batch * p.out_h * p.out_w;
  if (p.channels == 0) return Status::Ok();
  if (terms == 0) {
    TAPCONV_GPU_RETURN_IF_ERROR(
        ZeroOutput(rt, dweight, p.channels * p.taps, sizeof(T)));
    return ZeroOutput(rt, dbias, p.channels, sizeof(T));
  }
  // Without dweight only the bias item is summed.
  const int64_t taps = dweight != nullptr ? p.taps : 0;
  Workspace<RT> ws(rt);
  OrientedTapTable<A> table{};
  OrientedProblem q = p;
  q.taps = Max<int64_t>(taps, 1);
  TAPCONV_GPU_RETURN_IF_ERROR(
      (BuildOrientedTapTable<RT, T>(rt, ws, q, false, &table)));
  const int64_t columns = p.channels * (taps + 1);
  A* partials = nullptr;
  int64_t rows = 0;
  OrientedTilePlan plan;
  if (p.layout == ActivationLayout::kNCHW && taps > 0) {
    plan = PlanOrientedParamsTile<T>(p.out_h, p.out_w, p.stride,
                                     2 * OrientedReach(p), taps, rt.info(),
                                     rt.tuning());
  }
  if (plan.tiled) {
    OrientedParamsTiledKernel<T> k{};
    k.x = static_cast<const T*>(p.x);
    k.dy = static_cast<const T*>(p.dy);
    k.table = table;
    k.batch = p.batch;
    k.channels = p.channels;
    k.in_h = p.in_h;
    k.in_w = p.in_w;
    k.out_h = p.out_h;
    k.out_w = p.out_w;
    k.stride = p.stride;
    k.taps = taps;
    k.tile_h = plan.tile_h;
    k.tile_w = plan.tile_w;
    k.tiles_h = plan.tiles_h;
    k.tiles_w = plan.tiles_w;
    k.alloc_rows = plan.alloc_rows;
    k.alloc_cols = plan.alloc_cols;
    k.threads = plan.threads;
    rows = k.rows();
    TAPCONV_GPU_RETURN_IF_ERROR(ws.Get(rows * columns, &partials));
    k.partials = partials;
    TAPCONV_GPU_RETURN_IF_ERROR(
        rt.Launch(k, k.tiles(), k.threads, plan.smem, "oriented_wgrad_tiled"));
  } else {
    OrientedParamsDirectKernel<T> k{};
    k.x = static_cast<const T*>(p.x);
    k.dy = static_cast<const T*>(p.dy);
    k.table = table;
    k.x_index = OrientedIndexer(p, p.in_h, p.in_w);
    k.dy_index = OrientedIndexer(p, p.out_h, p.out_w);
    k.batch = p.batch;
    k.stride = p.stride;
    k.taps = taps;
    k.threads = Min(rt.tuning().block_threads, kMaxBlockThreads);
    k.group_channels = Min<int64_t>(p.channels, 32);
    k.groups = CeilDiv(p.channels, k.group_channels);
    k.chunk = ChunkFor(terms, columns, rt.info(), 64);
    k.chunks = CeilDiv(terms, k.chunk);
    rows = k.rows();
    TAPCONV_GPU_RETURN_IF_ERROR(ws.Get(rows * columns, &partials));
    k.partials = partials;
    TAPCONV_GPU_RETURN_IF_ERROR(
        rt.Launch(k, k.tiles(), k.threads, 0, "oriented_wgrad_direct"));
  }
  return LaunchReduce<RT, T>(rt, partials, rows, columns, p.channels * taps,
                             dweight, dbias, nullptr);
}

template <class RT>
Status RunOrientedForward(RT& rt, const OrientedProblem& p) {
  return DispatchElement(p.type, [&](auto tag) {
    return OrientedCorrelate<RT, decltype(tag)>(rt, p, false);
  });
}
template <class RT>
Status RunOrientedBackwardInput(RT& rt, const OrientedProblem& p) {
  return DispatchElement(p.type, [&](auto tag) {
    return OrientedCorrelate<RT, decltype(tag)>(rt, p, true);
  });
}
template <class RT>
Status RunOrientedBackwardParams(RT& rt, const OrientedProblem& p) {
  return DispatchElement(p.type, [&](auto tag) {
    return OrientedParams<RT, decltype(tag)>(rt, p);
  });
}

}  // namespace tapconv::gpu

#endif  // TAPCONV_BACKENDS_GPU_DRIVERS_ORIENTED_DRIVER_H_
