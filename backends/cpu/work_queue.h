#ifndef TAPCONV_BACKENDS_CPU_WORK_QUEUE_H_
#define TAPCONV_BACKENDS_CPU_WORK_QUEUE_H_

// Work items handed out one at a time to whichever thread asks first. Used
// where items cost unequal amounts (the oriented kernels' blocks of different
// angles): fixed chunks left one core idle for up to a chunk at the end of a
// call. Header-only, so that the per-ISA kernels claim items themselves.

#include <atomic>
#include <cstdint>

namespace tapconv::cpu {

class WorkQueue {
 public:
  explicit WorkQueue(int64_t num_items) : num_items_(num_items) {}
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // The lowest item not yet claimed by anyone, or -1 once all are.
  int64_t Claim() {
    const int64_t item = next_.fetch_add(1, std::memory_order_relaxed);
    return item < num_items_ ? item : -1;
  }

  int64_t num_items() const { return num_items_; }

 private:
  std::atomic<int64_t> next_{0};
  const int64_t num_items_;
};

}  // namespace tapconv::cpu

#endif  // TAPCONV_BACKENDS_CPU_WORK_QUEUE_H_
