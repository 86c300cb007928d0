#ifndef TAPCONV_BACKENDS_GPU_DRIVERS_PATH_DRIVER_H_
#define TAPCONV_BACKENDS_GPU_DRIVERS_PATH_DRIVER_H_

// Launch sequences of the path ops.

#include <cstdint>

#include "backends/gpu/drivers/driver_util.h"
#include "backends/gpu/kernels/path_kernels.h"

namespace tapconv::gpu {

// Outputs per tile of the path kernels whose stretch of the path
// (stride * (chunk - 1) + extra elements of Acc) must fit the shared budget
// together with `per_output` more elements per output; 0 if not even one does.
inline int64_t PathChunkFor(int64_t out_length, int64_t stride, int64_t extra,
                            int64_t per_output, size_t acc_size,
                            size_t fixed_bytes, const DeviceInfo& info,
                            const ArchTuning& tuning, int64_t target) {
  const int64_t budget = static_cast<int64_t>(SharedBudget(info, tuning));
  const int64_t room = (budget - static_cast<int64_t>(fixed_bytes)) /
                           static_cast<int64_t>(acc_size) -
                       16;  // alignment slack
  if (room < extra + per_output) return 0;
  // stride * (chunk - 1) + extra + per_output * chunk <= room
  int64_t chunk = (room - extra + stride) / (stride + per_output);
  chunk = Min(chunk, Min(target, out_length));
  return chunk < 1 ? 0 : chunk;
}

template <class RT, typename T>
Status PathGatherTyped(RT& rt, const PathProblem& p) {
  const PathGeometry g = PathGeometry::Of(p);
  PathGatherBody<T> body{static_cast<const T*>(p.x), p.perm,
                         static_cast<T*>(p.y), g};
  return LaunchElementwise(rt, body, g.batch * g.sequences() * g.length,
                           "path_gather");
}

template <class RT, typename T>
Status PathScatterTyped(RT& rt, const PathProblem& p) {
  const PathGeometry g = PathGeometry::Of(p);
  PathScatterBody<T> body{static_cast<const T*>(p.y_in), p.inv,
                          static_cast<T*>(p.x_out), g};
  return LaunchElementwise(rt, body, g.batch * g.channels * g.length,
                           "path_scatter");
}

template <class RT, typename T>
Status PathConvForwardTyped(RT& rt, const PathProblem& p) {
  using A = Acc<T>;
  const PathGeometry g = PathGeometry::Of(p);
  const int64_t count = g.batch * g.out_channels() * g.out_length;
  if (count == 0) return Status::Ok();
  const int threads = Min(rt.tuning().block_threads, kMaxBlockThreads);
  // Tiling pays when neighbouring outputs share most of their taps.
  const int64_t chunk =
      g.stride < g.taps + 8
          ? PathChunkFor(g.out_length, g.stride, g.taps, 0, sizeof(A), 0,
                         rt.info(), rt.tuning(), 4 * threads)
          : 0;
  if (chunk > 0) {
    PathConvForwardTiledKernel<T> k{};
    k.x = static_cast<const T*>(p.x);
    k.perm = p.perm;
    k.weight = static_cast<const T*>(p.weight);
    k.bias = static_cast<const T*>(p.bias);
    k.y = static_cast<T*>(p.y);
    k.g = g;
    k.chunk = chunk;
    k.chunks = CeilDiv(g.out_length, chunk);
    k.threads = threads;
    return rt.Launch(k, k.tiles(), k.threads, k.SharedBytes(),
                     "path_fprop_tiled");
  }
  PathConvForwardDirectBody<T> body{static_cast<const T*>(p.x),
                                    p.perm,
                                    static_cast<const T*>(p.weight),
                                    static_cast<const T*>(p.bias),
                                    static_cast<T*>(p.y),
                                    g};
  return LaunchElementwise(rt, body, count, "path_fprop_direct");
}

template <class RT, typename T>
Status PathConvBackwardInputTyped(RT& rt, const PathProblem& p) {
  const PathGeometry g = PathGeometry::Of(p);
  PathConvBackwardInputBody<T> body{static_cast<const T*>(p.dy), p.inv,
                                    static_cast<const T*>(p.weight),
                                    static_cast<T*>(p.dx), g};
  return LaunchElementwise(rt, body, g.batch * g.channels * g.length,
                           "path_dgrad");
}

template <class RT, typename T>
Status PathConvBackwardParamsTyped(RT& rt, const PathProblem& p) {
  using A = Acc<T>;
  PathGeometry g = PathGeometry::Of(p);
  T* dweight = static_cast<T*>(p.dweight);
  T* dbias = static_cast<T*>(p.dbias);
  const int64_t out_channels = g.out_channels();
  if (out_channels == 0) return Status::Ok();
  if (g.batch * g.out_length == 0) {
    TAPCONV_GPU_RETURN_IF_ERROR(
        ZeroOutput(rt, dweight, out_channels * g.taps, sizeof(T)));
    return ZeroOutput(rt, dbias, out_channels, sizeof(T));
  }
  if (dweight == nullptr) g.taps = 0;  // only the bias items
  const int64_t columns = out_channels * (g.taps + 1);
  const int threads = Min(rt.tuning().block_threads, kMaxBlockThreads);
  Workspace<RT> ws(rt);
  A* partials = nullptr;
  int64_t rows = 0;
  const int64_t items = g.multiplier * (g.taps + 1);
  const size_t sums_bytes =
      static_cast<size_t>(items <= threads ? (threads / items) * items
                                           : items) *
      sizeof(A);
  const int64_t chunk = items <= 4096 && g.stride < g.taps + 8
                            ? PathChunkFor(g.out_length, g.stride, g.taps + 1,
                                           g.multiplier, sizeof(A), sums_bytes,
                                           rt.info(), rt.tuning(), 4 * threads)
                            : 0;
  if (chunk > 0) {
    PathConvParamsTiledKernel<T> k{};
    k.x = static_cast<const T*>(p.x);
    k.perm = p.perm;
    k.dy = static_cast<const T*>(p.dy);
    k.g = g;
    k.chunk = chunk;
    k.chunks = CeilDiv(g.out_length, chunk);
    k.threads = threads;
    rows = k.rows();
    TAPCONV_GPU_RETURN_IF_ERROR(ws.Get(rows * columns, &partials));
    k.partials = partials;
    TAPCONV_GPU_RETURN_IF_ERROR(rt.Launch(k, k.tiles(), k.threads,
                                          k.SharedBytes(), "path_wgrad_tiled"));
  } else {
    PathConvParamsDirectKernel<T> k{};
    k.x = static_cast<const T*>(p.x);
    k.perm = p.perm;
    k.dy = static_cast<const T*>(p.dy);
    k.g = g;
    k.threads = threads;
    const int64_t terms = g.batch * g.out_length;
    k.chunk = ChunkFor(terms, columns, rt.info(), 32);
    k.chunks = CeilDiv(terms, k.chunk);
    rows = k.rows();
    TAPCONV_GPU_RETURN_IF_ERROR(ws.Get(rows * columns, &partials));
    k.partials = partials;
    TAPCONV_GPU_RETURN_IF_ERROR(
        rt.Launch(k, k.tiles(), k.threads, 0, "path_wgrad_direct"));
  }
  return LaunchReduce<RT, T>(rt, partials, rows, columns, out_channels * g.taps,
                             dweight, dbias, nullptr);
}

template <class RT>
Status RunPathGather(RT& rt, const PathProblem& p) {
  return DispatchElement(p.type, [&](auto tag) {
    return PathGatherTyped<RT, decltype(tag)>(rt, p);
  });
}
template <class RT>
Status RunPathScatter(RT& rt, const PathProblem& p) {
  return DispatchElement(p.type, [&](auto tag) {
    return PathScatterTyped<RT, decltype(tag)>(rt, p);
  });
}
template <class RT>
Status RunPathConvForward(RT& rt, const PathProblem& p) {
  return DispatchElement(p.type, [&](auto tag) {
    return PathConvForwardTyped<RT, decltype(tag)>(rt, p);
  });
}
template <class RT>
Status RunPathConvBackwardInput(RT& rt, const PathProblem& p) {
  return DispatchElement(p.type, [&](auto tag) {
    return PathConvBackwardInputTyped<RT, decltype(tag)>(rt, p);
  });
}
template <class RT>
Status RunPathConvBackwardParams(RT& rt, const PathProblem& p) {
  return DispatchElement(p.type, [&](auto tag) {
    return PathConvBackwardParamsTyped<RT, decltype(tag)>(rt, p);
  });
}

}  // namespace tapconv::gpu

#endif  // TAPCONV_BACKENDS_GPU_DRIVERS_PATH_DRIVER_H_
