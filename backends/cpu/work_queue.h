#ifndef TAPCONV_BACKENDS_CPU_WORK_QUEUE_H_
#define TAPCONV_BACKENDS_CPU_WORK_QUEUE_H_

// Work items handed out to whichever thread asks first, in ranges that shrink
// as the queue empties (guided scheduling). Used where items cost unequal
// amounts (the oriented kernels' blocks of different angles): fixed chunks
// left one core idle for up to a chunk at the end of a call, while claiming
// every item on its own cost a contended atomic per item (N32 C512 14²: 1024
// items, 7% slower). Large ranges first keep each thread's items together;
// the last ones are single items, so both threads finish within an item of
// each other. Header-only, so that the per-ISA kernels claim items themselves.

#include <algorithm>
#include <atomic>
#include <cstdint>

namespace tapconv::cpu {

class WorkQueue {
 public:
  // `workers`: how many threads will claim (sizes the ranges).
  WorkQueue(int64_t num_items, int64_t workers)
      : num_items_(num_items), divisor_(2 * std::max<int64_t>(1, workers)) {}
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // The lowest unclaimed items [*begin, *end), a 1/(2 * workers) share of
  // those left (at least one), or false once all are claimed.
  bool Claim(int64_t* begin, int64_t* end) {
    int64_t start = next_.load(std::memory_order_relaxed);
    while (start < num_items_) {
      const int64_t size =
          std::max<int64_t>(1, (num_items_ - start) / divisor_);
      if (next_.compare_exchange_weak(start, start + size,
                                      std::memory_order_relaxed)) {
        *begin = start;
        *end = start + size;
        return true;
      }
    }
    return false;
  }

  int64_t num_items() const { return num_items_; }

 private:
  std::atomic<int64_t> next_{0};
  const int64_t num_items_;
  const int64_t divisor_;
};

// One thread's items of a WorkQueue, one at a time, claiming a new range
// whenever the last is used up.
class WorkCursor {
 public:
  explicit WorkCursor(WorkQueue* queue) : queue_(queue) {}

  // The next item of this thread, or -1 once the queue is empty.
  int64_t Next() {
    if (next_ == end_ && !queue_->Claim(&next_, &end_)) return -1;
    return next_++;
  }

 private:
  WorkQueue* queue_;
  int64_t next_ = 0, end_ = 0;
};

}  // namespace tapconv::cpu

#endif  // TAPCONV_BACKENDS_CPU_WORK_QUEUE_H_
