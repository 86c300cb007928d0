#ifndef TAPCONV_BACKENDS_CPU_DCLS_CONSTRUCT_H_
#define TAPCONV_BACKENDS_CPU_DCLS_CONSTRUCT_H_

// DCLS kernel construction and its gradients on the cpu backend, every
// interpolation and variant. The per-element geometry (centring, axis order,
// interpolants, normalisation and their derivatives) comes from
// ops/geometry/dcls_interpolation.h; this file only evaluates it per axis over
// each element's support and combines the axes (the interpolants are
// separable), in float64, rounding each output once.
//
// Work is split over blocks (o, i, dense tap): a block's K elements write only
// its own S_1 x ... x S_M slice, so each output is summed by one thread in
// element order, whatever the thread count.

#include "absl/status/status.h"
#include "ops/dcls.h"

namespace tapconv::cpu {

// `shape` from ValidateDclsConstruct; any floating dtype.
absl::Status DclsConstructKernel(const DclsArgs& args, const DclsShape& shape,
                                 const DclsConstructIO& io, int num_threads);

// `shape` from ValidateDclsConstructBackward; fills the requested outputs.
absl::Status DclsConstructKernelBackward(const DclsArgs& args,
                                         const DclsShape& shape,
                                         const DclsConstructBackwardIO& io,
                                         int num_threads);

}  // namespace tapconv::cpu

#endif  // TAPCONV_BACKENDS_CPU_DCLS_CONSTRUCT_H_
