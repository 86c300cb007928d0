#ifndef TAPCONV_BACKENDS_CPU_CONV_ND_DIRECT_H_
#define TAPCONV_BACKENDS_CPU_CONV_ND_DIRECT_H_

// The cpu backend's own direct convolution: any N-D (N <= 3) grouped conv with
// stride, padding and dilation, written as lists of weighted kernel cells
// ("terms") per output channel. The dense ConvNd uses it where oneDNN has no
// fast deterministic kernel (float64, depthwise and other shapes oneDNN runs
// through its slow gemm path, every weight gradient that oneDNN would reduce in
// a thread-count-dependent order); the fused DCLS depthwise path uses it with
// the <= 2^M * K bilinear taps of each channel instead of a dense kernel.
//
// Work split: the forward and input gradient compute every output element in
// one thread, summing its terms in table order; the term gradients reduce over
// a batch split that depends only on the problem's shape. Results are therefore
// bit-identical for any thread count.

#include <cstdint>
#include <vector>

#include "backends/cpu/conv_nd_kernel_abi.h"
#include "ops/conv_nd.h"
#include "ops/dtype.h"

namespace tapconv::cpu {

// Spatial rank 1-3 as 3-D: leading axes of size 1 (stride 1, no padding).
struct TapGeometry {
  int64_t in[3], out[3], kernel[3], stride[3], padding[3], dilation[3];
};

TapGeometry TapGeometryOf(const ConvNdShape& shape);

struct TapProblem {
  TapGeometry geometry;
  int64_t batch, groups, in_per_group, out_per_group;
  TapStorage storage;
  int num_threads;  // 0 = all hardware threads
};

// Terms of output channel o are [begin[o], begin[o + 1]): the kernel cell
//   cell = c * kernel_volume + (k0 * kernel[1] + k1) * kernel[2] + k2
// (c < in_per_group, the input channel inside o's group) with `weight`.
// T is the compute type: float for f32/bf16 storage, double for f64.
template <typename T>
struct TapTerms {
  std::vector<int64_t> begin;
  std::vector<int64_t> cell;
  std::vector<T> weight;
};

// Maps a tensor dtype to kernel storage; false for dtypes the kernels lack
// (float16).
bool TapStorageOf(DType dtype, TapStorage* storage);

// The kernels for the instruction set in use (isa.h).
const TapKernelTable& ActiveTapKernels();

// y (N, C_out, *out) = bias + sum over each output channel's terms of
// weight * x (N, C_in, *in) shifted by the cell. bias may be null.
template <typename T>
void TapForward(const TapProblem& p, const TapTerms<T>& terms, const void* x,
                const T* bias, void* y);

// dx = the adjoint of TapForward (without bias) applied to dy; every element
// of dx is written.
template <typename T>
void TapBackwardInput(const TapProblem& p, const TapTerms<T>& terms,
                      const void* dy, void* dx);

// out[t] = d <y, dy> / d weight[t] for every term t, i.e. the sum over the
// batch and every output position of dy * (the input the term reads).
template <typename T>
void TapTermGradient(const TapProblem& p, const TapTerms<T>& terms,
                     const void* dy, const void* x, std::vector<double>* out);

// out[o] = sum of dy[:, o] (float64 sums, one thread per channel).
void TapBiasGradient(const TapProblem& p, const void* dy,
                     std::vector<double>* out);

// Terms of a dense weight tensor (C_out, C_in/g, *kernel): every cell, in
// memory order, with the weights converted to T.
template <typename T>
TapTerms<T> DenseTapTerms(const TapProblem& p, const void* weight);

}  // namespace tapconv::cpu

#endif  // TAPCONV_BACKENDS_CPU_CONV_ND_DIRECT_H_
