#ifndef TAPCONV_OPS_ORIENTED_CONV_H_
#define TAPCONV_OPS_ORIENTED_CONV_H_

// Oriented 1D depthwise convolution (seed 000): every channel c convolves with
// K taps laid on a line at angle theta[c]. Exact semantics and formulas:
// docs/ops.md ("Oriented 1D depthwise convolution").

#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "ops/exec_context.h"
#include "ops/geometry/oriented_taps.h"
#include "ops/tensor_ref.h"

namespace tapconv {

enum class Layout : uint8_t {
  kNCHW,  // x, y: (N, C, H, W) contiguous
  kNHWC,  // x, y: (N, H, W, C) contiguous (channels last)
};

struct OrientedConvArgs {
  int64_t stride = 1;    // same along H and W; output is ceil(H/s) x ceil(W/s)
  int64_t dilation = 1;  // tap offsets are multiplied by it
  TapRule tap_rule = TapRule::kTrunc;
  Layout layout = Layout::kNCHW;
  // Fused identity residual: the centre tap's weight gets +1, so y = x +
  // conv(x) at stride 1.
  bool residual = false;
};

// Sizes an oriented conv works on, read from validated tensors.
struct OrientedConvShape {
  int64_t batch, channels, in_h, in_w, out_h, out_w, taps;
};

// y = conv(x) (+ bias). weight (C, 1, 1, K) with K odd; theta (C) or (C, 1),
// float32 or float64, in radians; bias (C); x and y in args.layout. Same dtype
// for x, weight, bias, y.
struct OrientedConvForwardIO {
  TensorRef x, weight, theta;
  std::optional<TensorRef> bias;
  TensorRef y;
};

// dx = exact adjoint of the forward applied to dy.
struct OrientedConvBackwardInputIO {
  TensorRef dy, weight, theta;
  TensorRef dx;
};

// dweight[c, k] = sum over n, p, q of dy * x at tap k; dbias[c] = sum of dy. At
// least one of dweight and dbias is requested. Outputs are overwritten, never
// accumulated into.
struct OrientedConvBackwardParamsIO {
  TensorRef dy, x, theta;
  std::optional<TensorRef> dweight, dbias;
};

// Output size along one axis: ceil(in / stride), written so that no stride
// overflows it.
inline int64_t OrientedOutputSize(int64_t in, int64_t stride) {
  return in <= 0 ? 0 : (in - 1) / stride + 1;
}

// Validation shared by every backend: InvalidArgument naming the bad argument.
absl::Status ValidateOrientedConvForward(const OrientedConvArgs& args,
                                         const OrientedConvForwardIO& io,
                                         OrientedConvShape* shape = nullptr);
absl::Status ValidateOrientedConvBackwardInput(
    const OrientedConvArgs& args, const OrientedConvBackwardInputIO& io,
    OrientedConvShape* shape = nullptr);
absl::Status ValidateOrientedConvBackwardParams(
    const OrientedConvArgs& args, const OrientedConvBackwardParamsIO& io,
    OrientedConvShape* shape = nullptr);

// theta's values, which the Validate* functions above cannot read (theta may
// live in device memory): every angle must be finite and within float32 range
// (the trunc rule computes in float32). A backend calls this on the host copy
// it builds its tap table from, before using it.
absl::Status ValidateOrientedAngles(absl::Span<const double> theta);

namespace ops {

// Validate, then run on the backend chosen by ctx (or by the tensors' device).
absl::Status OrientedConv2dForward(const OrientedConvArgs& args,
                                   const OrientedConvForwardIO& io,
                                   const ExecContext& ctx = {});
absl::Status OrientedConv2dBackwardInput(const OrientedConvArgs& args,
                                         const OrientedConvBackwardInputIO& io,
                                         const ExecContext& ctx = {});
absl::Status OrientedConv2dBackwardParams(
    const OrientedConvArgs& args, const OrientedConvBackwardParamsIO& io,
    const ExecContext& ctx = {});

}  // namespace ops
}  // namespace tapconv

#endif  // TAPCONV_OPS_ORIENTED_CONV_H_
