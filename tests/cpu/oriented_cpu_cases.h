#ifndef TAPCONV_TESTS_CPU_ORIENTED_CPU_CASES_H_
#define TAPCONV_TESTS_CPU_ORIENTED_CPU_CASES_H_

#include <vector>

#include "tests/conformance/op_cases.h"

namespace tapconv::testing {

// The oriented-conv configurations the cpu backend is checked on against the
// reference: every K in {1, 3, 7, 13, 15, 31} x stride 1-3 x layout x dtype,
// strides from 4 to beyond the image and near the int64 limit,
// model, oblique and duplicate-tap angles, 1x1 / 1xN / Nx1 / ragged sizes,
// dilation, bias and residual, channel counts that leave partial NHWC groups,
// planes large enough to be processed in several row bands, and few-channel
// batches whose weight gradient is split over the batch.
std::vector<conformance::OrientedConfig> CpuOrientedConfigs();

}  // namespace tapconv::testing

#endif  // TAPCONV_TESTS_CPU_ORIENTED_CPU_CASES_H_
