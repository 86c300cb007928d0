#ifndef TAPCONV_BACKENDS_CPU_CONV_ND_KERNEL_ABI_H_
#define TAPCONV_BACKENDS_CPU_CONV_ND_KERNEL_ABI_H_

// What the generic "tap" convolution driver (conv_nd_direct.cc, used by the
// dense ConvNd fallback and the fused DCLS depthwise path) hands to its per-ISA
// kernels (conv_nd_kernels_<isa>.cc). The kernel units are compiled with ISA
// flags, so this header holds only plain structs, enums and declarations:
// nothing here may emit code (see simd.h).
//
// A convolution is expressed as "terms": (flat offset into a zero-padded
// scratch copy of the source planes, weight), and a list of output rows, each
// with its own source and destination offset (so one call can cover rows of
// several images, slabs or planes). The driver does every piece of geometry
// (padding, stride phases, dilation, groups, adjoint shifts); the kernels only
// load, multiply-add and store.

#include <cstdint>

namespace tapconv::cpu {

// Storage type of the tensors a kernel reads or writes. The compute type is
// float for kF32 and kBF16, double for kF64.
enum class TapStorage : int32_t { kF32 = 0, kF64 = 1, kBF16 = 2 };

// For r < rows, j < cols:
//   acc = init + sum_{t < terms} weight[t] * src[row_src[r] + off[t] + j]
//   dst[row_dst[r] + j * dst_col_stride] = acc   (rounded to storage)
// summing the terms in order t = 0, 1, ... for every element, so results do
// not depend on how rows and columns are tiled. src and weight hold the
// compute type, offsets count elements. The kernel may read src up to one
// vector past the last element any term reaches in a row (the driver leaves
// slack); those lanes are never stored.
struct TapAccumulateArgs {
  const void* src;
  const int64_t* row_src;
  const int64_t* off;
  const void* weight;
  int64_t terms;
  int64_t rows, cols;
  void* dst;
  const int64_t* row_dst;
  int64_t dst_col_stride;
  double init;
};

// For b < terms:
//   out[b] = sum_{r < rows, j < cols} dy[row_dy[r] + j] *
//            src[row_src[r] + off[b] + j]
// in a fixed order (lane-wise partial sums over the rows in order, then a
// fixed horizontal sum). dy, src and out hold the compute type; out is
// overwritten. Reads stay inside the rows (masked tails).
struct TapDotArgs {
  const void* dy;
  const int64_t* row_dy;
  const void* src;
  const int64_t* row_src;
  int64_t rows, cols;
  const int64_t* off;
  int64_t terms;
  void* out;
};

using TapAccumulateFn = void (*)(const TapAccumulateArgs& args);
using TapDotFn = void (*)(const TapDotArgs& args);

struct TapKernelTable {
  int lanes_f32, lanes_f64;
  TapAccumulateFn accumulate[3];  // indexed by TapStorage
  TapDotFn dot_f32, dot_f64;
};

namespace scalar {
const TapKernelTable& TapKernels();
}
namespace avx2 {
const TapKernelTable& TapKernels();
}
namespace avx512 {
const TapKernelTable& TapKernels();
}

}  // namespace tapconv::cpu

#endif  // TAPCONV_BACKENDS_CPU_CONV_ND_KERNEL_ABI_H_
