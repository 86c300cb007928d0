#ifndef TAPCONV_OPS_EXEC_CONTEXT_H_
#define TAPCONV_OPS_EXEC_CONTEXT_H_

#include <string>

namespace tapconv {

// How one op call runs. The defaults pick the fastest available backend for the
// tensors' device and its default stream and threading.
struct ExecContext {
  // Name of the backend to use ("reference", "cpu", "cuda", "hip"); empty = the
  // registered backend with the highest priority that is available for the
  // tensors' device.
  std::string backend;
  // cudaStream_t / hipStream_t the GPU backends enqueue on; nullptr = the
  // default stream.
  void* stream = nullptr;
  // Threads the cpu backend may use; 0 = all hardware threads.
  int num_threads = 0;
};

}  // namespace tapconv

#endif  // TAPCONV_OPS_EXEC_CONTEXT_H_
