#include "core/caching_allocator.h"

#include <string>
#include <vector>

#include "core/error.h"

namespace mor {

namespace {
constexpr size_t kSmall = 1u << 20;         // below 1 MiB: 512-byte granules
constexpr size_t kLargeGranule = 2u << 20;  // above: 2 MiB granules (bounded waste, good reuse)
// A cached block is reused for a request if it is at most this much larger (keeps waste bounded).
constexpr double kMaxSlack = 1.25;
}  // namespace

size_t CachingAllocator::round_size(size_t bytes) {
  if (bytes == 0) bytes = 1;
  if (bytes < kSmall) return (bytes + 511) / 512 * 512;
  return (bytes + kLargeGranule - 1) / kLargeGranule * kLargeGranule;
}

CachingAllocator::~CachingAllocator() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [stream, pool] : free_)
    for (auto& [size, p] : pool) backend_.raw_free(p);
  // Live blocks at destruction belong to buffers that still hold a context reference, so this
  // only happens at process teardown; free them anyway.
  for (auto& [p, block] : live_) backend_.raw_free(p);
}

void* CachingAllocator::allocate(size_t bytes, NativeStream stream) {
  const size_t size = round_size(bytes);
  std::lock_guard<std::mutex> lock(mu_);
  void* p = nullptr;
  auto pool_it = free_.find(stream);
  if (pool_it != free_.end()) {
    auto& pool = pool_it->second;
    auto it = pool.lower_bound(size);
    if (it != pool.end() && static_cast<double>(it->first) <= kMaxSlack * static_cast<double>(size)) {
      p = it->second;
      cached_bytes_ -= static_cast<int64_t>(it->first);
      live_[p] = Block{it->first, bytes};
      pool.erase(it);
    }
  }
  if (p == nullptr) {
    try {
      p = backend_.raw_alloc(size);
    } catch (const Error& e) {
      if (e.status() != MOR_ERR_OUT_OF_MEMORY || cached_bytes_ == 0) throw;
      // Give the cache back and try once more before reporting out-of-memory.
      backend_.synchronize_device();
      for (auto& [s, pool] : free_)
        for (auto& [sz, q] : pool) {
          backend_.raw_free(q);
          reserved_bytes_ -= static_cast<int64_t>(sz);
        }
      free_.clear();
      cached_bytes_ = 0;
      p = backend_.raw_alloc(size);
    }
    ++system_allocs_;
    reserved_bytes_ += static_cast<int64_t>(size);
    live_[p] = Block{size, bytes};
  }
  live_bytes_ += static_cast<int64_t>(bytes);
  if (live_bytes_ > peak_bytes_) peak_bytes_ = live_bytes_;
  return p;
}

void CachingAllocator::release(void* p, NativeStream stream) noexcept {
  if (p == nullptr) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_.find(p);
  if (it == live_.end()) return;
  auto retired = retired_streams_.find(stream);
  if (retired != retired_streams_.end()) stream = retired->second;
  live_bytes_ -= static_cast<int64_t>(it->second.requested);
  cached_bytes_ += static_cast<int64_t>(it->second.size);
  free_[stream].emplace(it->second.size, p);
  live_.erase(it);
}

void CachingAllocator::register_stream(NativeStream stream) {
  std::lock_guard<std::mutex> lock(mu_);
  retired_streams_.erase(stream);  // a new stream may reuse a destroyed one's address
}

void CachingAllocator::forget_stream(NativeStream stream, NativeStream fallback) {
  std::lock_guard<std::mutex> lock(mu_);
  retired_streams_[stream] = fallback;
  auto it = free_.find(stream);
  if (it == free_.end()) return;
  auto& target = free_[fallback];
  for (auto& entry : it->second) target.insert(entry);
  free_.erase(stream);
}

void CachingAllocator::trim() {
  std::lock_guard<std::mutex> lock(mu_);
  backend_.synchronize_device();
  for (auto& [stream, pool] : free_)
    for (auto& [size, p] : pool) {
      backend_.raw_free(p);
      reserved_bytes_ -= static_cast<int64_t>(size);
    }
  free_.clear();
  cached_bytes_ = 0;
}

void CachingAllocator::reset_peak() {
  std::lock_guard<std::mutex> lock(mu_);
  peak_bytes_ = live_bytes_;
}

mor_allocator_stats CachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  mor_allocator_stats s{};
  s.live_bytes = live_bytes_;
  s.live_allocations = static_cast<int64_t>(live_.size());
  s.peak_bytes = peak_bytes_;
  s.cached_bytes = cached_bytes_;
  s.reserved_bytes = reserved_bytes_;
  s.system_allocations = system_allocs_;
  return s;
}

}  // namespace mor
