#ifndef TAPCONV_OPS_PATH_CONV_H_
#define TAPCONV_OPS_PATH_CONV_H_

// Path convolution (seed 001): pixels are read along P space-filling paths and convolved in
// 1D. A path is a permutation perm[p, l] = r*W + c of the H*W pixels; inv is its inverse
// (inv[p, perm[p, l]] = l). docs/ops.md#path-ops.

#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "ops/exec_context.h"
#include "ops/tensor_ref.h"

namespace tapconv {

// Sizes read from validated tensors; `length` = H * W.
struct PathShape {
  int64_t batch, channels, height, width, paths, length;
};

// y[n, p*C + c, l] = x[n, c, perm[p, l]]: x (N, C, H, W), perm (P, H*W) int32/int64,
// y (N, P*C, H*W). Path-major channels, as upstream.
struct PathGatherIO {
  TensorRef x, perm;
  TensorRef y;
};

// The adjoint of gather: x[n, c, q] = sum_p y[n, p*C + c, inv[p, q]]. With one path it is the
// inverse of gather (unflatten). A gather through inv: no atomics, deterministic.
struct PathScatterIO {
  TensorRef y, inv;
  TensorRef x;
};

// Fused gather + depthwise 1D conv along each path, without materialising the gathered
// sequence: with G = P*C sequence channels and channel multiplier m = weight.dim(0) / G,
//   out[n, g*m + o, l'] = bias[g*m + o]
//       + sum_k weight[g*m + o, 0, k] * seq[n, g, stride*l' + k - padding],
//   seq[n, p*C + c, l] = x[n, c, perm[p, l]] for 0 <= l < H*W, and 0 outside,
// i.e. nn.Conv1d(G, G*m, K, stride, padding, groups=G) applied to gather(x).
struct PathConvArgs {
  int64_t stride = 1;
  int64_t padding = 0;  // zeros at both ends of every path; K/2 keeps the length at stride 1
};

struct PathConvShape {
  PathShape path;
  int64_t multiplier, taps, out_length;
};

struct PathConvForwardIO {
  TensorRef x, perm, weight;  // weight (P*C*m, 1, K)
  std::optional<TensorRef> bias;
  TensorRef y;  // (N, P*C*m, out_length), out_length = (H*W + 2*padding - K) / stride + 1
};

// dx[n, c, q] = sum over p, o, k of weight * dy at the output index whose tap k reads position
// inv[p, q] of path p: a gather through inv, deterministic.
struct PathConvBackwardInputIO {
  TensorRef dy, inv, weight;
  TensorRef dx;
};

struct PathConvBackwardParamsIO {
  TensorRef dy, x, perm;
  std::optional<TensorRef> dweight, dbias;
};

// Index tensors in host memory are verified to hold a permutation of [0, H*W) in every row
// (O(P*H*W), small next to the op); GPU kernels bound-check the indices they read instead.
absl::Status ValidatePathGather(const PathGatherIO& io, PathShape* shape = nullptr);
absl::Status ValidatePathScatter(const PathScatterIO& io, PathShape* shape = nullptr);
absl::Status ValidatePathConvForward(const PathConvArgs& args, const PathConvForwardIO& io,
                                     PathConvShape* shape = nullptr);
absl::Status ValidatePathConvBackwardInput(const PathConvArgs& args,
                                           const PathConvBackwardInputIO& io,
                                           PathConvShape* shape = nullptr);
absl::Status ValidatePathConvBackwardParams(const PathConvArgs& args,
                                            const PathConvBackwardParamsIO& io,
                                            PathConvShape* shape = nullptr);

namespace ops {

absl::Status PathGather(const PathGatherIO& io, const ExecContext& ctx = {});
absl::Status PathScatter(const PathScatterIO& io, const ExecContext& ctx = {});
absl::Status PathConvForward(const PathConvArgs& args, const PathConvForwardIO& io,
                             const ExecContext& ctx = {});
absl::Status PathConvBackwardInput(const PathConvArgs& args, const PathConvBackwardInputIO& io,
                                   const ExecContext& ctx = {});
absl::Status PathConvBackwardParams(const PathConvArgs& args, const PathConvBackwardParamsIO& io,
                                    const ExecContext& ctx = {});

}  // namespace ops
}  // namespace tapconv

#endif  // TAPCONV_OPS_PATH_CONV_H_
