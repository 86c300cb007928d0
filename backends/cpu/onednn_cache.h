#ifndef TAPCONV_BACKENDS_CPU_ONEDNN_CACHE_H_
#define TAPCONV_BACKENDS_CPU_ONEDNN_CACHE_H_

// A small thread-safe least-recently-used cache of immutable values (oneDNN
// primitives and their layouts), keyed by a string that spells out the whole
// problem. Values are shared: a caller keeps its entry alive while using it,
// even if another thread evicts it meanwhile.

#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

namespace tapconv::cpu {

template <typename Value>
class LruCache {
 public:
  explicit LruCache(size_t capacity) : capacity_(capacity) {}

  // The cached value for `key`, or make()'s result, which is then cached.
  // make() runs without the lock, so two threads missing on one key at once
  // may both build it; the first one stored wins.
  std::shared_ptr<const Value> GetOrCreate(
      const std::string& key,
      const std::function<std::shared_ptr<const Value>()>& make) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = index_.find(key);
      if (it != index_.end()) {
        order_.splice(order_.begin(), order_, it->second);
        return it->second->second;
      }
    }
    std::shared_ptr<const Value> value = make();
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = index_.find(key);
    if (it != index_.end()) {
      order_.splice(order_.begin(), order_, it->second);
      return it->second->second;
    }
    order_.emplace_front(key, value);
    index_[key] = order_.begin();
    while (order_.size() > capacity_) {
      index_.erase(order_.back().first);
      order_.pop_back();
    }
    return value;
  }

  size_t size() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return order_.size();
  }

 private:
  using Entry = std::pair<std::string, std::shared_ptr<const Value>>;
  const size_t capacity_;
  mutable std::mutex mutex_;
  std::list<Entry> order_;  // most recently used first
  std::unordered_map<std::string, typename std::list<Entry>::iterator> index_;
};

}  // namespace tapconv::cpu

#endif  // TAPCONV_BACKENDS_CPU_ONEDNN_CACHE_H_
