#ifndef TAPCONV_BACKENDS_CPU_CONV_ND_ARRAYS_H_
#define TAPCONV_BACKENDS_CPU_CONV_ND_ARRAYS_H_

// Small host tensors (weights, biases, DCLS parameters, reduced gradients)
// converted to a compute type and back. Not for activations: those go through
// the kernels' own packing.

#include <cstdint>
#include <vector>

#include "ops/tensor_ref.h"

namespace tapconv::cpu {

// Every element of the contiguous host tensor `t` (any floating dtype) as T
// (float or double).
template <typename T>
std::vector<T> LoadAs(const TensorRef& t);

// out[i] = t[offset + i] for i < n, as double.
void LoadDoubles(const TensorRef& t, int64_t offset, int64_t n, double* out);

// t[offset + i] = v[i] for i < n, rounded to t's floating dtype.
void StoreRounded(const double* v, int64_t n, const TensorRef& t,
                  int64_t offset = 0);
inline void StoreRounded(const std::vector<double>& v, const TensorRef& t) {
  StoreRounded(v.data(), static_cast<int64_t>(v.size()), t);
}

}  // namespace tapconv::cpu

#endif  // TAPCONV_BACKENDS_CPU_CONV_ND_ARRAYS_H_
