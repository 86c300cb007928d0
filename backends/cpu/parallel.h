#ifndef TAPCONV_BACKENDS_CPU_PARALLEL_H_
#define TAPCONV_BACKENDS_CPU_PARALLEL_H_

// A fork-join helper over a persistent thread pool. The split of [0, n) into
// chunks depends only on n, grain and the thread count, and every chunk is
// processed by exactly one thread; kernels keep each output element's reduction
// inside one chunk, so results are bit-identical from run to run.

#include <cstdint>
#include <functional>

namespace tapconv::cpu {

// Calls fn(begin, end) on disjoint chunks covering [0, n), each at least
// `grain` long (except the last), using up to `num_threads` threads (0 = all
// hardware threads). Returns when all chunks are done. Nested calls run
// serially in the calling thread.
void ParallelFor(int64_t n, int64_t grain, int num_threads,
                 const std::function<void(int64_t begin, int64_t end)>& fn);

// Hardware threads the pool uses by default.
int DefaultThreadCount();

// Whether this process was made by fork() from one that had this library
// loaded. The pool starts afresh in such a child; OpenMP (libgomp, which
// oneDNN and PyTorch run on) does not, and hangs there on any region of more
// than one thread if the parent had used one.
bool InForkedChild();

}  // namespace tapconv::cpu

#endif  // TAPCONV_BACKENDS_CPU_PARALLEL_H_
