#ifndef TAPCONV_OPS_PATH_CONV_H_
#define TAPCONV_OPS_PATH_CONV_H_

// Path convolution (seed 001): pixels are read along P space-filling paths and
// convolved in 1D. A path is a permutation perm[p, l] = r*W + c of the H*W
// pixels; inv is its inverse (inv[p, perm[p, l]] = l). docs/ops.md ("Path
// ops").

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

// y[n, p*C + c, l] = x[n, c, perm[p, l]]: x (N, C, H, W), perm (P, H*W)
// int32/int64, y (N, P*C, H*W). Path-major channels, as upstream.
struct PathGatherIO {
  TensorRef x, perm;
  TensorRef y;
};

// The adjoint of gather: x[n, c, q] = sum_p y[n, p*C + c, inv[p, q]]. With one
// path it is the inverse of gather (unflatten). A gather through inv: no
// atomics, deterministic.
struct PathScatterIO {
  TensorRef y, inv;
  TensorRef x;
};

// Fused gather + depthwise 1D conv along each path, without materialising the
// gathered sequence: with G = P*C sequence channels and channel multiplier m =
// weight.dim(0) / G,
//   out[n, g*m + o, l'] = bias[g*m + o]
//       + sum_k weight[g*m + o, 0, k] * seq[n, g, stride*l' + k - padding],
//   seq[n, p*C + c, l] = x[n, c, perm[p, l]] for 0 <= l < H*W, and 0 outside,
// i.e. nn.Conv1d(G, G*m, K, stride, padding, groups=G) applied to gather(x).
struct PathConvArgs {
  int64_t stride = 1;   // >= 1
  int64_t padding = 0;  // >= 0: zeros at both ends of every path; K/2 keeps the
                        // length at stride 1
};

struct PathConvShape {
  PathShape path;
  int64_t multiplier, taps, out_length;
};

struct PathConvForwardIO {
  TensorRef x, perm, weight;  // weight (P*C*m, 1, K)
  std::optional<TensorRef> bias;
  TensorRef y;  // (N, P*C*m, out_length), out_length = (H*W + 2*padding - K) /
                // stride + 1
};

// dx[n, c, q] = sum over p, o, k of weight[g*m + o, 0, k] * dy[n, g*m + o, l']
// with g = p*C + c and stride*l' + k - padding = inv[p, q] (integer l' in [0,
// out_length)): the output positions whose tap k read pixel q along path p. A
// gather through inv, deterministic, no atomics. dx (N, C, H, W) gives the
// image size; dy (N, P*C*m, out_length).
struct PathConvBackwardInputIO {
  TensorRef dy, inv, weight;
  TensorRef dx;
};

// dweight[g*m + o, 0, k] = sum over n, l' of dy[n, g*m + o, l'] * seq[n, g,
// stride*l' + k - padding]; dbias[g*m + o] = sum over n, l' of dy[n, g*m + o,
// l']. At least one is requested; outputs are overwritten, never accumulated
// into.
struct PathConvBackwardParamsIO {
  TensorRef dy, x, perm;
  std::optional<TensorRef> dweight, dbias;
};

// What validation reads of the index tensors (perm, inv).
enum class IndexCheck : uint8_t {
  // Host-memory (cpu) index tensors are verified to hold a permutation of [0,
  // H*W) in every
  // row: O(P*H*W) with a bitmap, small next to the op. Device-memory ones
  // cannot be read here;
  // GPU kernels bound-check the indices they load instead. What the ops:: entry
  // points use.
  kValues,
  // Shapes, dtypes and devices only: for a backend re-deriving the shape of
  // arguments the entry
  // point has already validated, without repeating the scan.
  kShapesOnly,
};

// InvalidArgument naming the bad argument; on success *shape (if given) holds
// the sizes.
absl::Status ValidatePathGather(const PathGatherIO& io,
                                PathShape* shape = nullptr,
                                IndexCheck check = IndexCheck::kValues);
absl::Status ValidatePathScatter(const PathScatterIO& io,
                                 PathShape* shape = nullptr,
                                 IndexCheck check = IndexCheck::kValues);
absl::Status ValidatePathConvForward(const PathConvArgs& args,
                                     const PathConvForwardIO& io,
                                     PathConvShape* shape = nullptr,
                                     IndexCheck check = IndexCheck::kValues);
absl::Status ValidatePathConvBackwardInput(
    const PathConvArgs& args, const PathConvBackwardInputIO& io,
    PathConvShape* shape = nullptr, IndexCheck check = IndexCheck::kValues);
// Without dweight the kernel size is unknown: shape->taps is 0 and dy's length
// only has to be one the forward can produce, 1 <= L_out <= (H*W + 2*padding -
// 1) / stride + 1.
absl::Status ValidatePathConvBackwardParams(
    const PathConvArgs& args, const PathConvBackwardParamsIO& io,
    PathConvShape* shape = nullptr, IndexCheck check = IndexCheck::kValues);

// out_length = (length + 2*padding - taps) / stride + 1 of a validated
// configuration.
inline int64_t PathConvOutputLength(int64_t length, int64_t taps,
                                    const PathConvArgs& args) {
  return (length + 2 * args.padding - taps) / args.stride + 1;
}

namespace ops {

absl::Status PathGather(const PathGatherIO& io, const ExecContext& ctx = {});
absl::Status PathScatter(const PathScatterIO& io, const ExecContext& ctx = {});
absl::Status PathConvForward(const PathConvArgs& args,
                             const PathConvForwardIO& io,
                             const ExecContext& ctx = {});
absl::Status PathConvBackwardInput(const PathConvArgs& args,
                                   const PathConvBackwardInputIO& io,
                                   const ExecContext& ctx = {});
absl::Status PathConvBackwardParams(const PathConvArgs& args,
                                    const PathConvBackwardParamsIO& io,
                                    const ExecContext& ctx = {});

}  // namespace ops
}  // namespace tapconv

#endif  // TAPCONV_OPS_PATH_CONV_H_
