#ifndef TAPCONV_BACKENDS_GPU_DRIVERS_CONV_DCLS_DRIVER_H_
#define TAPCONV_BACKENDS_GPU_DRIVERS_CONV_DCLS_DRIVER_H_

// Launch sequences of the direct dense conv and of the DCLS ops.

#include <cstdint>

#include "backends/gpu/drivers/driver_util.h"
#include "backends/gpu/kernels/conv_kernels.h"
#include "backends/gpu/kernels/dcls_kernels.h"

namespace tapconv::gpu {

template <class RT, typename T>
Status ConvForwardTyped(RT& rt, const ConvProblem& p) {
  ConvForwardBody<T> body{
      static_cast<const T*>(p.x), static_cast<const T*>(p.weight),
      static_cast<const T*>(p.bias), static_cast<T*>(p.y), ConvGeometry::Of(p)};
  const ConvGeometry& g = body.g;
  return LaunchElementwise(rt, body, g.batch * g.out_channels * g.out_volume(),
                           "conv_fprop_direct");
}

template <class RT, typename T>
Status ConvBackwardInputTyped(RT& rt, const ConvProblem& p) {
  ConvBackwardInputBody<T> body{static_cast<const T*>(p.dy),
                                static_cast<const T*>(p.weight),
                                static_cast<T*>(p.dx), ConvGeometry::Of(p)};
  const ConvGeometry& g = body.g;
  return LaunchElementwise(rt, body, g.batch * g.in_channels * g.in_volume(),
                           "conv_dgrad_direct");
}

template <class RT, typename T>
Status ConvBackwardParamsTyped(RT& rt, const ConvProblem& p) {
  using A = Acc<T>;
  const ConvGeometry g = ConvGeometry::Of(p);
  T* dweight = static_cast<T*>(p.dweight);
  T* dbias = static_cast<T*>(p.dbias);
  const int64_t terms = g.batch * g.out_volume();
  if (terms == 0) {
    TAPCONV_GPU_RETURN_IF_ERROR(ZeroOutput(
        rt, dweight, g.out_channels * g.in_per_group() * g.kernel_volume(),
        sizeof(T)));
    return ZeroOutput(rt, dbias, g.out_channels, sizeof(T));
  }
  ConvParamsKernel<T> k{};
  k.x = static_cast<const T*>(p.x);
  k.dy = static_cast<const T*>(p.dy);
  k.g = g;
  k.with_weight = dweight != nullptr;
  k.with_bias = dbias != nullptr;
  k.threads = Min(rt.tuning().block_threads, kMaxBlockThreads);
  const int64_t columns = k.items();
  if (columns == 0) return Status::Ok();
  k.chunk = ChunkFor(terms, columns, rt.info(), 32);
  k.chunks = CeilDiv(terms, k.chunk);
  Workspace<RT> ws(rt);
  A* partials = nullptr;
  TAPCONV_GPU_RETURN_IF_ERROR(ws.Get(k.chunks * columns, &partials));
  k.partials = partials;
  TAPCONV_GPU_RETURN_IF_ERROR(
      rt.Launch(k, k.tiles(), k.threads, 0, "conv_wgrad_direct"));
  return LaunchReduce<RT, T>(rt, partials, k.chunks, columns, k.weight_items(),
                             dweight, dbias, nullptr);
}

template <class RT, typename T>
Status AddBiasTyped(RT& rt, const ConvProblem& p) {
  const ConvGeometry g = ConvGeometry::Of(p);
  AddBiasBody<T> body{static_cast<T*>(p.y), static_cast<const T*>(p.bias),
                      g.out_channels, g.out_volume()};
  return LaunchElementwise(rt, body, g.batch * g.out_channels * g.out_volume(),
                           "add_bias");
}

// ---------------------------------------------------------------------------
// DCLS construct.

template <class RT, typename T>
Status PrepareDclsElements(RT& rt, Workspace<RT>& ws, const DclsProblem& p,
                           DclsElement<Acc<T>>** elements) {
  using A = Acc<T>;
  const int64_t count = p.blocks * p.kernel_count;
  TAPCONV_GPU_RETURN_IF_ERROR(ws.Get(count, elements));
  DclsPrepareBody<T> body{};
  body.elements = *elements;
  body.positions = static_cast<const T*>(p.positions);
  body.sigma = static_cast<const T*>(p.sigma);
  body.interpolation = p.interpolation;
  body.order = p.axis_order;
  body.rank = p.learnable_rank;
  for (int a = 0; a < kMaxDclsAxes; ++a) body.size[a] = p.dilated_size[a];
  body.element_count = count;
  body.sigma_floor = static_cast<A>(p.sigma_floor);
  body.epsilon = static_cast<A>(p.epsilon);
  return LaunchElementwise(rt, body, count, "dcls_prepare");
}

inline int64_t DclsBox(const DclsProblem& p) {
  int64_t box = 1;
  for (int a = 0; a < p.learnable_rank; ++a) box *= p.dilated_size[a];
  return box;
}

template <class RT, typename T>
Status DclsConstructTyped(RT& rt, const DclsProblem& p) {
  using A = Acc<T>;
  const int64_t box = DclsBox(p);
  if (p.blocks * box == 0) return Status::Ok();
  Workspace<RT> ws(rt);
  DclsElement<A>* elements = nullptr;
  TAPCONV_GPU_RETURN_IF_ERROR(
      (PrepareDclsElements<RT, T>(rt, ws, p, &elements)));
  DclsConstructBody<T> body{};
  body.elements = elements;
  body.weight = static_cast<const T*>(p.weight);
  body.kernel = static_cast<T*>(p.kernel);
  body.rank = p.learnable_rank;
  for (int a = 0; a < kMaxDclsAxes; ++a) body.size[a] = p.dilated_size[a];
  body.box = box;
  body.kernel_count = p.kernel_count;
  return LaunchElementwise(rt, body, p.blocks * box, "dcls_construct");
}

template <class RT, typename T>
Status DclsConstructBackwardTyped(RT& rt, const DclsProblem& p) {
  using A = Acc<T>;
  const int64_t count = p.blocks * p.kernel_count;
  if (count == 0) return Status::Ok();
  Workspace<RT> ws(rt);
  DclsElement<A>* elements = nullptr;
  TAPCONV_GPU_RETURN_IF_ERROR(
      (PrepareDclsElements<RT, T>(rt, ws, p, &elements)));
  DclsConstructBackwardBody<T> body{};
  body.elements = elements;
  body.weight = static_cast<const T*>(p.weight);
  body.dkernel = static_cast<const T*>(p.dkernel);
  body.dweight = static_cast<T*>(p.dweight);
  body.dpositions = static_cast<T*>(p.dpositions);
  body.dsigma = static_cast<T*>(p.dsigma);
  body.rank = p.learnable_rank;
  for (int a = 0; a < kMaxDclsAxes; ++a) body.size[a] = p.dilated_size[a];
  body.box = DclsBox(p);
  body.kernel_count = p.kernel_count;
  body.element_count = count;
  return LaunchElementwise(rt, body, count, "dcls_construct_backward");
}

// ---------------------------------------------------------------------------
// Fused depthwise DCLS.

inline DclsDepthwiseGeometry DepthwiseGeometryOf(
    const DclsDepthwiseProblem& p) {
  DclsDepthwiseGeometry g{};
  g.conv = ConvGeometry::Of(p.conv);
  g.order = p.axis_order;
  g.dense_rank = p.dense_rank;
  g.learnable_rank = p.learnable_rank;
  const int rank = p.dense_rank + p.learnable_rank;
  g.dense_volume = 1;
  for (int a = 0; a < 3; ++a) g.dense_size[a] = g.learnable_size[a] = 1;
  for (int a = 0; a < rank; ++a) {
    const int64_t size = p.conv.kernel[3 - rank + a];
    if (a < p.dense_rank) {
      g.dense_size[a] = size;
      g.dense_volume *= size;
    } else {
      g.learnable_size[a - p.dense_rank] = size;
    }
  }
  g.kernel_count = p.kernel_count;
  return g;
}

template <class RT, typename T>
Status BuildDclsTaps(RT& rt, Workspace<RT>& ws, const DclsDepthwiseProblem& p,
                     const DclsDepthwiseGeometry& g, DclsTap<Acc<T>>** taps) {
  const int64_t count = g.conv.out_channels * g.taps();
  TAPCONV_GPU_RETURN_IF_ERROR(ws.Get(count, taps));
  DclsTapBuildBody<T> body{*taps, static_cast<const T*>(p.dcls_weight),
                           static_cast<const T*>(p.positions), g};
  return LaunchElementwise(rt, body, count, "dcls_depthwise_taps");
}

template <class RT, typename T>
Status DclsDepthwiseForwardTyped(RT& rt, const DclsDepthwiseProblem& p) {
  using A = Acc<T>;
  const DclsDepthwiseGeometry g = DepthwiseGeometryOf(p);
  const int64_t count =
      g.conv.batch * g.conv.out_channels * g.conv.out_volume();
  if (count == 0) return Status::Ok();
  Workspace<RT> ws(rt);
  DclsTap<A>* taps = nullptr;
  TAPCONV_GPU_RETURN_IF_ERROR((BuildDclsTaps<RT, T>(rt, ws, p, g, &taps)));
  DclsDepthwiseForwardBody<T> body{taps, static_cast<const T*>(p.conv.x),
                                   static_cast<const T*>(p.conv.bias),
                                   static_cast<T*>(p.conv.y), g};
  return LaunchElementwise(rt, body, count, "dcls_depthwise_fprop");
}

template <class RT, typename T>
Status DclsDepthwiseBackwardInputTyped(RT& rt, const DclsDepthwiseProblem& p) {
  using A = Acc<T>;
  const DclsDepthwiseGeometry g = DepthwiseGeometryOf(p);
  const int64_t count = g.conv.batch * g.conv.in_channels * g.conv.in_volume();
  if (count == 0) return Status::Ok();
  Workspace<RT> ws(rt);
  DclsTap<A>* taps = nullptr;
  TAPCONV_GPU_RETURN_IF_ERROR((BuildDclsTaps<RT, T>(rt, ws, p, g, &taps)));
  DclsDepthwiseBackwardInputBody<T> body{taps, static_cast<const T*>(p.conv.dy),
                                         static_cast<T*>(p.conv.dx), g};
  return LaunchElementwise(rt, body, count, "dcls_depthwise_dgrad");
}

template <class RT, typename T>
Status DclsDepthwiseBackwardParamsTyped(RT& rt, const DclsDepthwiseProblem& p) {
  using A = Acc<T>;
  const DclsDepthwiseGeometry g = DepthwiseGeometryOf(p);
  T* dweight = static_cast<T*>(p.conv.dweight);
  T* dpositions = static_cast<T*>(p.dpositions);
  T* dbias = static_cast<T*>(p.conv.dbias);
  const int64_t channels = g.conv.out_channels;
  if (channels == 0) return Status::Ok();
  const int64_t terms = g.conv.batch * g.conv.out_volume();
  if (terms == 0) {
    TAPCONV_GPU_RETURN_IF_ERROR(
        ZeroOutput(rt, dweight, g.elements(), sizeof(T)));
    TAPCONV_GPU_RETURN_IF_ERROR(
        ZeroOutput(rt, dpositions, g.elements() * g.learnable_rank, sizeof(T)));
    return ZeroOutput(rt, dbias, channels, sizeof(T));
  }
  Workspace<RT> ws(rt);
  DclsTap<A>* taps = nullptr;
  TAPCONV_GPU_RETURN_IF_ERROR((BuildDclsTaps<RT, T>(rt, ws, p, g, &taps)));
  DclsDepthwiseParamsKernel<T> k{};
  k.taps = taps;
  k.x = static_cast<const T*>(p.conv.x);
  k.dy = static_cast<const T*>(p.conv.dy);
  k.g = g;
  k.threads = Min(rt.tuning().block_threads, kMaxBlockThreads);
  const int64_t columns = channels * (g.taps() + 1);
  k.chunk = ChunkFor(terms, columns, rt.info(), 32);
  k.chunks = CeilDiv(terms, k.chunk);
  A* partials = nullptr;
  A* grad = nullptr;
  TAPCONV_GPU_RETURN_IF_ERROR(ws.Get(k.chunks * columns, &partials));
  TAPCONV_GPU_RETURN_IF_ERROR(ws.Get(columns, &grad));
  k.partials = partials;
  TAPCONV_GPU_RETURN_IF_ERROR(
      rt.Launch(k, k.tiles(), k.threads, 0, "dcls_depthwise_wgrad"));
  TAPCONV_GPU_RETURN_IF_ERROR((LaunchReduce<RT, T>(
      rt, partials, k.chunks, columns, columns, nullptr, nullptr, grad)));
  DclsDepthwiseFinalizeBody<T> body{grad,
                                    static_cast<const T*>(p.dcls_weight),
                                    static_cast<const T*>(p.positions),
                                    dweight,
                                    dpositions,
                                    dbias,
                                    g};
  return LaunchElementwise(rt, body, g.elements() + channels,
                           "dcls_depthwise_finalize");
}

// ---------------------------------------------------------------------------

template <class RT>
Status RunConvForward(RT& rt, const ConvProblem& p) {
  return DispatchElement(p.type, [&](auto tag) {
    return ConvForwardTyped<RT, decltype(tag)>(rt, p);
  });
}
template <class RT>
Status RunConvBackwardInput(RT& rt, const ConvProblem& p) {
  return DispatchElement(p.type, [&](auto tag) {
    return ConvBackwardInputTyped<RT, decltype(tag)>(rt, p);
  });
}
template <class RT>
Status RunConvBackwardParams(RT& rt, const ConvProblem& p) {
  return DispatchElement(p.type, [&](auto tag) {
    return ConvBackwardParamsTyped<RT, decltype(tag)>(rt, p);
  });
}
template <class RT>
Status RunAddBias(RT& rt, const ConvProblem& p) {
  return DispatchElement(
      p.type, [&](auto tag) { return AddBiasTyped<RT, decltype(tag)>(rt, p); });
}
template <class RT>
Status RunDclsConstruct(RT& rt, const DclsProblem& p) {
  return DispatchElement(p.type, [&](auto tag) {
    return DclsConstructTyped<RT, decltype(tag)>(rt, p);
  });
}
template <class RT>
Status RunDclsConstructBackward(RT& rt, const DclsProblem& p) {
  return DispatchElement(p.type, [&](auto tag) {
    return DclsConstructBackwardTyped<RT, decltype(tag)>(rt, p);
  });
}
template <class RT>
Status RunDclsDepthwiseForward(RT& rt, const DclsDepthwiseProblem& p) {
  return DispatchElement(p.conv.type, [&](auto tag) {
    return DclsDepthwiseForwardTyped<RT, decltype(tag)>(rt, p);
  });
}
template <class RT>
Status RunDclsDepthwiseBackwardInput(RT& rt, const DclsDepthwiseProblem& p) {
  return DispatchElement(p.conv.type, [&](auto tag) {
    return DclsDepthwiseBackwardInputTyped<RT, decltype(tag)>(rt, p);
  });
}
template <class RT>
Status RunDclsDepthwiseBackwardParams(RT& rt, const DclsDepthwiseProblem& p) {
  return DispatchElement(p.conv.type, [&](auto tag) {
    return DclsDepthwiseBackwardParamsTyped<RT, decltype(tag)>(rt, p);
  });
}

}  // namespace tapconv::gpu

#endif  // TAPCONV_BACKENDS_GPU_DRIVERS_CONV_DCLS_DRIVER_H_
