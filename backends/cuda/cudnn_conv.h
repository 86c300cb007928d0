#ifndef TAPCONV_BACKENDS_CUDA_CUDNN_CONV_H_
#define TAPCONV_BACKENDS_CUDA_CUDNN_CONV_H_

// Dense N-D convolution through cuDNN's legacy API. Algorithms are chosen like
// torch.backends.cudnn.benchmark = True (cudnnFind*, cached per shape), among
// deterministic ones only, and float32 never uses TF32 (FMA math), so results
// stay within float32 tolerances and repeat bit for bit.

#include <string>

#include "absl/status/status.h"
#include "backends/gpu/gpu_api.h"

namespace tapconv::cudnn {

enum class Pass { kForward, kBackwardData, kBackwardFilter };

// Runs `pass` (forward: y from x, weight; backward data: dx from dy, weight;
// backward filter: dweight from dy, x) with beta = 0. Bias is not handled
// here. Returns FailedPrecondition when cuDNN is not found. Sets *declined
// (and returns OK without touching memory) when cuDNN cannot run this
// configuration: sizes beyond its 32-bit descriptors, or no supported
// deterministic algorithm.
absl::Status Run(Pass pass, const gpu::ConvProblem& p,
                 const gpu::LaunchEnv& env, bool* declined);

// Whether cuDNN could be opened, and why not (for tools and benchmarks).
bool Available(std::string* why);

}  // namespace tapconv::cudnn

#endif  // TAPCONV_BACKENDS_CUDA_CUDNN_CONV_H_
