#include "backends/cpu/conv_nd_packing.h"

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "backends/cpu/conv_nd_direct.h"
#include "backends/cpu/isa.h"
#include "ops/float16.h"

namespace tapconv::cpu {
namespace {

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

template <typename T>
T LoadElement(TapStorage s, const char* base, int64_t i) {
  switch (s) {
    case TapStorage::kF32:
      return static_cast<T>(reinterpret_cast<const float*>(base)[i]);
    case TapStorage::kF64:
      return static_cast<T>(reinterpret_cast<const double*>(base)[i]);
    case TapStorage::kBF16:
      return static_cast<T>(FloatFromBits(
          uint32_t{reinterpret_cast<const uint16_t*>(base)[i]} << 16));
  }
  return T(0);
}

template <typename E>
void ExtractTyped(const E* lanes, int64_t interleave, int64_t lane, int64_t n,
                  E* dst, int64_t dst_stride) {
  for (int64_t i = 0; i < n; ++i)
    dst[i * dst_stride] = lanes[i * interleave + lane];
}

}  // namespace

PlaneLayout MakePlaneLayout(const int64_t extent[3], const int64_t origin[3],
                            int64_t phases) {
  PlaneLayout l;
  for (int a = 0; a < 3; ++a) {
    l.extent[a] = extent[a];
    l.origin[a] = origin[a];
  }
  l.phases = phases;
  l.phase_cols = CeilDiv(extent[2], phases);
  l.row_pitch = phases * l.phase_cols;
  l.slab_pitch = extent[1] * l.row_pitch;
  l.plane_pitch = CeilDiv(extent[0] * l.slab_pitch, 16) * 16;
  return l;
}

size_t StorageBytes(TapStorage s) {
  switch (s) {
    case TapStorage::kF32:
      return 4;
    case TapStorage::kF64:
      return 8;
    case TapStorage::kBF16:
      return 2;
  }
  return 4;
}

int64_t InterleaveFor(int64_t width, int64_t batch, TapStorage storage) {
  const TapKernelTable& k = ActiveTapKernels();
  const int64_t lanes = storage == TapStorage::kF64 ? k.lanes_f64 : k.lanes_f32;
  const int64_t narrow = storage == TapStorage::kF64 ? 4 : 8;
  if (lanes <= 1 || batch <= 1 || width > narrow) return 1;
  return std::min(lanes, batch);
}

const TapKernelTable& KernelsForWidth(int64_t cols, TapStorage storage) {
  if (ActiveIsa() == Isa::kAvx512 &&
      cols <= (storage == TapStorage::kF64 ? 4 : 8)) {
    return avx2::TapKernels();
  }
  return ActiveTapKernels();
}

template <typename T>
void LoadRow(TapStorage s, const char* src, int64_t n, T* dst) {
  if (n == 0) return;  // dst may be null: memcpy must not see it even for 0 bytes
  switch (s) {
    case TapStorage::kF32: {
      if constexpr (std::is_same_v<T, float>) {
        std::memcpy(dst, src, n * sizeof(float));
        return;
      }
      const float* f = reinterpret_cast<const float*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<T>(f[i]);
      return;
    }
    case TapStorage::kF64: {
      if constexpr (std::is_same_v<T, double>) {
        std::memcpy(dst, src, n * sizeof(double));
        return;
      }
      const double* f = reinterpret_cast<const double*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<T>(f[i]);
      return;
    }
    case TapStorage::kBF16: {
      const uint16_t* h = reinterpret_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i)
        dst[i] = static_cast<T>(FloatFromBits(uint32_t{h[i]} << 16));
      return;
    }
  }
}

template <typename T>
void PackPlane(const PlaneLayout& l, const int64_t in[3], TapStorage s,
               const char* src, int64_t interleave, int64_t lane, T* dst) {
  const size_t es = StorageBytes(s);
  int64_t lo[3], hi[3];
  for (int a = 0; a < 3; ++a) {
    lo[a] = std::max<int64_t>(0, -l.origin[a]);
    hi[a] = std::min(in[a], l.extent[a] - l.origin[a]);
  }
  if (hi[2] <= lo[2]) return;
  for (int64_t i0 = lo[0]; i0 < hi[0]; ++i0) {
    for (int64_t i1 = lo[1]; i1 < hi[1]; ++i1) {
      T* row = dst +
               ((i0 + l.origin[0]) * l.slab_pitch +
                (i1 + l.origin[1]) * l.row_pitch) *
                   interleave +
               lane;
      const char* line = src + ((i0 * in[1] + i1) * in[2]) * es;
      if (l.phases == 1 && interleave == 1) {
        LoadRow(s, line + lo[2] * es, hi[2] - lo[2], row + lo[2] + l.origin[2]);
      } else {
        for (int64_t i2 = lo[2]; i2 < hi[2]; ++i2) {
          const int64_t z2 = i2 + l.origin[2];
          const int64_t position =
              (z2 % l.phases) * l.phase_cols + z2 / l.phases;
          row[position * interleave] = LoadElement<T>(s, line, i2);
        }
      }
    }
  }
}

void ExtractLane(TapStorage s, const char* lanes, int64_t interleave,
                 int64_t lane, int64_t n, char* dst, int64_t dst_stride) {
  switch (s) {
    case TapStorage::kF32:
      ExtractTyped(reinterpret_cast<const float*>(lanes), interleave, lane, n,
                   reinterpret_cast<float*>(dst), dst_stride);
      return;
    case TapStorage::kF64:
      ExtractTyped(reinterpret_cast<const double*>(lanes), interleave, lane, n,
                   reinterpret_cast<double*>(dst), dst_stride);
      return;
    case TapStorage::kBF16:
      ExtractTyped(reinterpret_cast<const uint16_t*>(lanes), interleave, lane,
                   n, reinterpret_cast<uint16_t*>(dst), dst_stride);
      return;
  }
}

template void LoadRow<float>(TapStorage, const char*, int64_t, float*);
template void LoadRow<double>(TapStorage, const char*, int64_t, double*);
template void PackPlane<float>(const PlaneLayout&, const int64_t[3], TapStorage,
                               const char*, int64_t, int64_t, float*);
template void PackPlane<double>(const PlaneLayout&, const int64_t[3],
                                TapStorage, const char*, int64_t, int64_t,
                                double*);

}  // namespace tapconv::cpu
