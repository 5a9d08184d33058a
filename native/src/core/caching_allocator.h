// Stream-ordered caching allocator over a backend's raw_alloc/raw_free. A freed block goes back to
// the pool of the stream it was last used on; work queued later on that stream may reuse it at once
// (stream order makes that safe). Other streams only get it after a trim (which synchronises).
// Steady-state training steps therefore do no system allocations, which the stats make testable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <unordered_map>

#include "core/backend.h"

namespace mor {

class CachingAllocator {
 public:
  explicit CachingAllocator(Backend& backend) : backend_(backend) {}
  ~CachingAllocator();
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  void* allocate(size_t bytes, NativeStream stream);
  void release(void* p, NativeStream stream) noexcept;
  void register_stream(NativeStream stream);
  // Blocks cached for a stream that is going away move to the default stream's pool; later frees
  // that name it land there too.
  void forget_stream(NativeStream stream, NativeStream fallback);
  void trim();
  void reset_peak();
  mor_allocator_stats stats() const;

  static size_t round_size(size_t bytes);

 private:
  struct Block {
    size_t size;  // rounded size, as obtained from the system
    size_t requested;
  };
  Backend& backend_;
  mutable std::mutex mu_;
  std::unordered_map<void*, Block> live_;
  std::unordered_map<NativeStream, NativeStream> retired_streams_;       // destroyed stream -> fallback
  std::unordered_map<NativeStream, std::multimap<size_t, void*>> free_;  // per stream: size -> block
  int64_t live_bytes_ = 0, peak_bytes_ = 0, cached_bytes_ = 0, reserved_bytes_ = 0, system_allocs_ = 0;
};

}  // namespace mor
