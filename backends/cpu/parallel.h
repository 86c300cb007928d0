#ifndef TAPCONV_BACKENDS_CPU_PARALLEL_H_
#define TAPCONV_BACKENDS_CPU_PARALLEL_H_

// A fork-join helper over the OpenMP runtime's persistent threads (the ones
// PyTorch's CPU ops run on; see parallel.cc for why). The split of [0, n) into
// chunks depends only on n, grain and the thread count, and every chunk is
// processed by exactly one thread; kernels keep each output element's reduction
// inside one chunk, so results are bit-identical from run to run.

#include <cstdint>
#include <functional>

namespace tapconv::cpu {

// Calls fn(begin, end) on disjoint chunks covering [0, n), each at least
// `grain` long (except the last), using up to ThreadsFor(num_threads)
// threads. Returns when all chunks are done. Nested calls, calls
// from inside an OpenMP region and calls in a forked child run serially in the
// calling thread.
void ParallelFor(int64_t n, int64_t grain, int num_threads,
                 const std::function<void(int64_t begin, int64_t end)>& fn);

// Runs worker() once on each of up to ThreadsFor(num_threads) threads (never
// more than max_workers) at once and returns when all
// have returned; the workers share out their work themselves (a WorkQueue).
// Serially, in the same cases as ParallelFor: worker() once, in the calling
// thread.
void ParallelWorkers(int64_t max_workers, int num_threads,
                     const std::function<void()>& worker);

// Threads the ops use by default: the OpenMP runtime's thread count for the
// calling thread (torch.set_num_threads and OMP_NUM_THREADS set it; one per
// hardware thread otherwise).
int DefaultThreadCount();

// The threads a call asking for `requested` uses: that many, or
// DefaultThreadCount() for 0.
inline int ThreadsFor(int requested) {
  return requested > 0 ? requested : DefaultThreadCount();
}

// Whether this process was made by fork() from one that had this library
// loaded. OpenMP (libgomp: ParallelFor, oneDNN and PyTorch run on it) does not
// survive fork(): a region of more than one thread hangs in the child if the
// parent had used one, so ParallelFor and oneDNN run on one thread there (as
// PyTorch's DataLoader workers do).
bool InForkedChild();

}  // namespace tapconv::cpu

#endif  // TAPCONV_BACKENDS_CPU_PARALLEL_H_
