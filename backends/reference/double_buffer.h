#ifndef TAPCONV_BACKENDS_REFERENCE_DOUBLE_BUFFER_H_
#define TAPCONV_BACKENDS_REFERENCE_DOUBLE_BUFFER_H_

// The reference backend computes on double copies of its (contiguous, host)
// tensors: load converts any floating dtype to double, store rounds back to the
// tensor's dtype.

#include <cstdint>
#include <vector>

#include "ops/tensor_ref.h"

namespace tapconv::reference {

std::vector<double> LoadDoubles(const TensorRef& t);
void StoreDoubles(const std::vector<double>& values, const TensorRef& t);

// Integer tensors (path permutations) as int64.
std::vector<int64_t> LoadIndices(const TensorRef& t);

}  // namespace tapconv::reference

#endif  // TAPCONV_BACKENDS_REFERENCE_DOUBLE_BUFFER_H_
