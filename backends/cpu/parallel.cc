#include "backends/cpu/parallel.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace tapconv::cpu {
namespace {

thread_local bool inside_parallel_region = false;

// Workers wait for a job, run their share of its chunks, and report completion.
// One job at a time: concurrent callers serialise on job_mutex_.
class Pool {
 public:
  explicit Pool(int threads) {
    for (int i = 1; i < threads; ++i)
      workers_.emplace_back([this] { WorkerLoop(); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : workers_) t.join();
  }

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  void Run(int64_t chunks, int threads,
           const std::function<void(int64_t)>& chunk_fn) {
    std::lock_guard<std::mutex> job_lock(job_mutex_);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      chunk_fn_ = &chunk_fn;
      chunks_ = chunks;
      next_chunk_.store(0);
      active_workers_ = std::min<int>(threads, size()) - 1;
      pending_ = active_workers_;
      ++generation_;
    }
    wake_.notify_all();
    DrainChunks();
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return pending_ == 0; });
    chunk_fn_ = nullptr;
  }

 private:
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
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
        if (index >= active_workers_) continue;
      }
      DrainChunks();
      std::lock_guard<std::mutex> lock(mutex_);
      if (--pending_ == 0) done_.notify_one();
    }
  }

  std::vector<std::thread> workers_;
  std::mutex job_mutex_, mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(int64_t)>* chunk_fn_ = nullptr;
  int64_t chunks_ = 0;
  std::atomic<int64_t> next_chunk_{0};
  std::atomic<int> worker_index_{0};
  int active_workers_ = 0;
  int pending_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
};

Pool& GlobalPool() {
  static Pool* pool = new Pool(DefaultThreadCount());
  return *pool;
}

}  // namespace

int DefaultThreadCount() {
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
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
