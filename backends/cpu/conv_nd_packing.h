#ifndef TAPCONV_BACKENDS_CPU_CONV_ND_PACKING_H_
#define TAPCONV_BACKENDS_CPU_CONV_ND_PACKING_H_

// How the direct convolution driver (conv_nd_direct.cc) lays source planes
// out for its kernels: zero-bordered copies in the compute type, strided
// columns de-interleaved into phases, and, for narrow planes, several images
// interleaved element by element ("lanes") so that a kernel row is long and
// contiguous instead of one partly used vector.

#include <cstddef>
#include <cstdint>

#include "backends/cpu/conv_nd_kernel_abi.h"

namespace tapconv::cpu {

// One image's zero-bordered plane. Padded coordinates z (z = input index +
// origin, per axis) cover [0, extent); columns are de-interleaved into
// `phases` stride phases (padded column z2 = phases * t + r sits in phase r at
// t). Offsets are in positions; with `interleave` images per scratch slot,
// every position holds that many consecutive elements.
struct PlaneLayout {
  int64_t extent[3];
  int64_t origin[3];
  int64_t phases, phase_cols, row_pitch, slab_pitch, plane_pitch;
};

PlaneLayout MakePlaneLayout(const int64_t extent[3], const int64_t origin[3],
                            int64_t phases);

size_t StorageBytes(TapStorage storage);

// Images interleaved per scratch slot in the term gradient for rows `width`
// outputs wide: 1, unless a row fits one 256-bit vector (8 floats, 4
// doubles), then up to a vector's lanes (at most `batch`). Narrower rows would
// spend more on per-row work than on multiply-adds; wider ones gain nothing
// (and the forward kernels lose L1 locality when planes are interleaved).
int64_t InterleaveFor(int64_t width, int64_t batch, TapStorage storage);

// The kernels for rows `cols` elements wide. On an AVX-512 processor, rows
// that fit one 256-bit vector use the AVX2 kernels: a 512-bit vector would
// leave more than half its lanes idle, and 256-bit FMAs are at least as fast
// lane for lane.
const TapKernelTable& KernelsForWidth(int64_t cols, TapStorage storage);

// n consecutive storage elements to the compute type T (float or double).
template <typename T>
void LoadRow(TapStorage storage, const char* src, int64_t n, T* dst);

// Copies the plane `src` (dims `in`, storage type) into lane `lane` of the
// slot `dst` laid out as `l` with `interleave` lanes. Only data positions are
// written: the zero border of a slot is written once (when the scratch is
// zeroed) and stays, since every plane of one layout has the same data
// positions.
template <typename T>
void PackPlane(const PlaneLayout& l, const int64_t in[3], TapStorage storage,
               const char* src, int64_t interleave, int64_t lane, T* dst);

// dst[i * dst_stride] = lanes[i * interleave + lane] for i < n: one image's
// row out of an interleaved row of storage elements (raw copies).
void ExtractLane(TapStorage storage, const char* lanes, int64_t interleave,
                 int64_t lane, int64_t n, char* dst, int64_t dst_stride);

}  // namespace tapconv::cpu

#endif  // TAPCONV_BACKENDS_CPU_CONV_ND_PACKING_H_
