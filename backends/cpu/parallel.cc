#include "backends/cpu/parallel.h"

#include <omp.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>

namespace tapconv::cpu {
namespace {

thread_local bool inside_parallel_region = false;

std::atomic<bool> forked_child{false};
void NoteForkedChild() { forked_child.store(true, std::memory_order_relaxed); }
// Registered when the library loads, so that any later fork() is seen.
[[maybe_unused]] const bool fork_handler_registered =
    pthread_atfork(nullptr, nullptr, NoteForkedChild) == 0;

// Runs chunk_fn(c) for every c in [0, chunks) on an OpenMP team of `threads`,
// each chunk on one thread, handed out in order as threads become free.
//
// OpenMP rather than a pool of our own: PyTorch runs its CPU ops on the same
// OpenMP runtime (libgomp), whose threads spin for a while after every
// parallel op. A pool of our own competed with them for the cores: a
// depthwise oriented conv right after a small parallel torch op took 1.7x as
// long, and the oriented forward + backward 1.4x (7.4 against 5.3 ms at
// N2 C512 56² K31, in one run). Sharing the runtime, those spinning threads
// are the ones that pick up our chunks.
template <typename ChunkFn>
void RunOnTeam(int64_t chunks, int threads, const ChunkFn& chunk_fn) {
  std::atomic<int64_t> next{0};
#pragma omp parallel num_threads(threads)
  {
    inside_parallel_region = true;
    for (int64_t c = next.fetch_add(1); c < chunks; c = next.fetch_add(1)) {
      chunk_fn(c);
    }
    inside_parallel_region = false;
  }
}

// Nested calls, calls from inside the caller's own OpenMP region, and calls
// in a forked child, where libgomp's team of the parent is gone and a region
// of more than one thread would hang, run in the calling thread.
bool MustRunSerially() {
  return inside_parallel_region || omp_in_parallel() || InForkedChild();
}

}  // namespace

bool InForkedChild() { return forked_child.load(std::memory_order_relaxed); }

int DefaultThreadCount() {
  // The OpenMP runtime's setting for this thread: what torch.set_num_threads
  // (which calls omp_set_num_threads) and OMP_NUM_THREADS ask for, else one
  // thread per hardware thread. A read of a runtime variable, where
  // std::thread::hardware_concurrency() made glibc read
  // /sys/devices/system/cpu/online (three system calls) on every op.
  return std::max(1, omp_get_max_threads());
}

void ParallelFor(int64_t n, int64_t grain, int num_threads,
                 const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  const int threads = ThreadsFor(num_threads);
  // Chunks depend only on n, grain and the requested thread count: a few per
  // thread so that uneven chunks balance, never shorter than grain.
  const int64_t max_chunks = std::max<int64_t>(1, (n + grain - 1) / grain);
  const int64_t chunks = std::min<int64_t>(max_chunks, int64_t{threads} * 4);
  const int64_t chunk_size = (n + chunks - 1) / chunks;
  const int64_t used_chunks = (n + chunk_size - 1) / chunk_size;
  auto run_chunk = [&](int64_t c) {
    const int64_t begin = c * chunk_size;
    fn(begin, std::min(n, begin + chunk_size));
  };
  if (used_chunks == 1 || threads == 1 || MustRunSerially()) {
    for (int64_t c = 0; c < used_chunks; ++c) run_chunk(c);
    return;
  }
  RunOnTeam(used_chunks,
            static_cast<int>(std::min<int64_t>(threads, used_chunks)),
            run_chunk);
}

void ParallelWorkers(int64_t max_workers, int num_threads,
                     const std::function<void()>& worker) {
  if (max_workers <= 0) return;
  const int threads = ThreadsFor(num_threads);
  const int64_t workers = std::min<int64_t>(threads, max_workers);
  if (workers == 1 || MustRunSerially()) {
    worker();
    return;
  }
  RunOnTeam(workers, static_cast<int>(workers), [&](int64_t) { worker(); });
}

}  // namespace tapconv::cpu
