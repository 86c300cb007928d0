#include "backends/cpu/parallel.h"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace tapconv::cpu {
namespace {

thread_local bool inside_parallel_region = false;

// Tells the processor this is a spin-wait loop (saves power, frees the core's
// resources for the other hyperthread).
inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// How long a worker waiting for the next job, or the caller waiting for the
// workers, polls before it sleeps on a condition variable. Waking a sleeping
// thread took about 80 us on the development VM, more than a small op's
// whole work; back-to-back ops (forward, then both backward passes) come well
// within this window. Like OpenMP's spin-wait, only shorter, so that an idle
// pool does not compete long with the caller's own threads.
constexpr auto kSpin = std::chrono::microseconds(200);

// Polls done() until it is true (returns true) or kSpin has passed.
template <typename Done>
bool SpinUntil(Done done) {
  const auto deadline = std::chrono::steady_clock::now() + kSpin;
  while (true) {
    for (int i = 0; i < 64; ++i) {
      if (done()) return true;
      CpuRelax();
    }
    if (std::chrono::steady_clock::now() >= deadline) return done();
  }
}

// Workers wait for a job, run their share of its chunks, and report completion.
// One job at a time: concurrent callers serialise on job_mutex_. A job is
// published by advancing generation_ (release) after its fields are written;
// a worker reads them after seeing the new generation (acquire). The
// generation also carries the job's number of active workers, so that a
// worker idle in one job, still deciding so while the next is being set up,
// never mixes the two.
class Pool {
 public:
  explicit Pool(int threads) {
    threads = std::min<int>(threads, kActiveMask + 1);
    for (int i = 1; i < threads; ++i)
      workers_.emplace_back([this] { WorkerLoop(); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_.store(true, std::memory_order_relaxed);
      generation_.store(NextGeneration(0), std::memory_order_release);
    }
    wake_.notify_all();
    for (std::thread& t : workers_) t.join();
  }

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  void Run(int64_t chunks, int threads,
           const std::function<void(int64_t)>& chunk_fn) {
    std::lock_guard<std::mutex> job_lock(job_mutex_);
    chunk_fn_ = &chunk_fn;
    chunks_ = chunks;
    next_chunk_.store(0, std::memory_order_relaxed);
    const int active = std::min<int>(threads, size()) - 1;
    pending_.store(active, std::memory_order_relaxed);
    {
      // Under the mutex, so that a worker about to sleep either sees the new
      // generation or is woken by the notification below.
      std::lock_guard<std::mutex> lock(mutex_);
      generation_.store(NextGeneration(active), std::memory_order_release);
    }
    wake_.notify_all();
    DrainChunks();
    auto finished = [this] {
      return pending_.load(std::memory_order_acquire) == 0;
    };
    if (!SpinUntil(finished)) {
      std::unique_lock<std::mutex> lock(mutex_);
      done_.wait(lock, finished);
    }
    chunk_fn_ = nullptr;
  }

 private:
  // generation_ = job number << kActiveBits | active workers of the job.
  static constexpr int kActiveBits = 16;
  static constexpr uint64_t kActiveMask = (uint64_t{1} << kActiveBits) - 1;
  // Called with mutex_ held (the only writer), so the read is current.
  uint64_t NextGeneration(int active) const {
    const uint64_t job =
        generation_.load(std::memory_order_relaxed) >> kActiveBits;
    return (job + 1) << kActiveBits | static_cast<uint64_t>(active);
  }

  void DrainChunks() {
    inside_parallel_region = true;
    for (int64_t c = next_chunk_.fetch_add(1); c < chunks_;
         c = next_chunk_.fetch_add(1)) {
      (*chunk_fn_)(c);
    }
    inside_parallel_region = false;
  }

  void WorkerLoop() {
    const int index = worker_index_.fetch_add(1);
    uint64_t seen = 0;
    while (true) {
      auto published = [&] {
        return generation_.load(std::memory_order_acquire) != seen;
      };
      if (!SpinUntil(published)) {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, published);
      }
      seen = generation_.load(std::memory_order_acquire);
      if (stop_.load(std::memory_order_relaxed)) return;
      if (index >= static_cast<int>(seen & kActiveMask)) continue;
      DrainChunks();
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lock(mutex_);
        done_.notify_one();
      }
    }
  }

  std::vector<std::thread> workers_;
  std::mutex job_mutex_, mutex_;
  std::condition_variable wake_, done_;
  // Written by Run before the generation is published, read by workers after.
  const std::function<void(int64_t)>* chunk_fn_ = nullptr;
  int64_t chunks_ = 0;
  std::atomic<int64_t> next_chunk_{0};
  std::atomic<int> worker_index_{0};
  std::atomic<int> pending_{0};
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> stop_{false};
};

// The pool of this process. A child made by fork() inherits the pointer but
// none of the pool's threads, so waiting on them would hang (a DataLoader
// worker calling an op after the parent did). The child therefore drops the
// parent's pool without touching it (its mutexes may have been held by a
// thread that no longer exists; it is leaked on purpose) and builds its own
// on first use.
std::atomic<Pool*> current_pool{nullptr};
std::atomic<bool> forked_child{false};

void DropPoolInForkedChild() {
  current_pool.store(nullptr, std::memory_order_relaxed);
  forked_child.store(true, std::memory_order_relaxed);
}
// Registered when the library loads, so that any later fork() is seen.
[[maybe_unused]] const bool fork_handler_registered =
    pthread_atfork(nullptr, nullptr, DropPoolInForkedChild) == 0;

Pool& GlobalPool() {
  Pool* pool = current_pool.load(std::memory_order_acquire);
  if (pool != nullptr) return *pool;
  Pool* fresh = new Pool(DefaultThreadCount());
  if (current_pool.compare_exchange_strong(pool, fresh,
                                           std::memory_order_acq_rel)) {
    return *fresh;
  }
  delete fresh;  // another thread built one first
  return *pool;
}

}  // namespace

bool InForkedChild() { return forked_child.load(std::memory_order_relaxed); }

int DefaultThreadCount() {
  // Asked once: glibc reads /sys/devices/system/cpu/online on every call
  // (three system calls, a few microseconds per op otherwise).
  static const int count = [] {
    const unsigned hw = std::thread::hardware_concurrency();
    return hw == 0 ? 1 : static_cast<int>(hw);
  }();
  return count;
}

void ParallelFor(int64_t n, int64_t grain, int num_threads,
                 const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  const int threads = num_threads > 0 ? num_threads : DefaultThreadCount();
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
  if (used_chunks == 1 || threads == 1 || inside_parallel_region) {
    for (int64_t c = 0; c < used_chunks; ++c) run_chunk(c);
    return;
  }
  const std::function<void(int64_t)> chunk_fn = run_chunk;
  GlobalPool().Run(used_chunks, threads, chunk_fn);
}

}  // namespace tapconv::cpu
