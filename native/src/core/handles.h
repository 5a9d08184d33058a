// What the opaque ABI handles point to. Contexts are reference counted: streams and buffers hold a
// reference, so destroying a context while buffers are alive is safe (the memory goes when the
// last buffer does). Each object carries a magic number so a stale or foreign pointer is reported
// as MOR_ERR_INVALID_ARGUMENT instead of crashing where possible.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "core/backend.h"
#include "core/caching_allocator.h"

struct mor_context_t {
  static constexpr uint32_t kMagic = 0x4d6f5243;  // "MoRC"
  uint32_t magic = kMagic;
  std::atomic<int64_t> refs{1};
  std::atomic<bool> allow_tf32{false};  // for the GEMMs inside fused ops
  std::unique_ptr<mor::Backend> backend;
  std::unique_ptr<mor::CachingAllocator> allocator;
};

struct mor_stream_t {
  static constexpr uint32_t kMagic = 0x4d6f5253;  // "MoRS"
  uint32_t magic = kMagic;
  mor_context_t* ctx = nullptr;
  mor::NativeStream native = nullptr;
};

struct mor_buffer_t {
  static constexpr uint32_t kMagic = 0x4d6f5242;  // "MoRB"
  uint32_t magic = kMagic;
  mor_context_t* ctx = nullptr;
  void* data = nullptr;
  mor_dtype dtype = MOR_DTYPE_F32;
  int64_t numel = 0;
  mor::NativeStream stream = nullptr;  // creation stream: the free is ordered after its work
};

namespace mor {

// Process-wide live-handle counters (mor_handle_stats_get).
struct HandleCounters {
  std::atomic<int64_t> contexts{0}, streams{0}, buffers{0};
};
HandleCounters& handle_counters();

void context_retain(mor_context_t* ctx);
void context_release(mor_context_t* ctx);

// Validation helpers used by every entry point; they throw mor::Error with a message naming `what`.
mor_context_t* check_context(mor_context_t* ctx);
mor_buffer_t* check_buffer(mor_buffer_t* buf, const char* what);
// Returns the native stream for `s` (default stream when null) after checking it belongs to ctx.
NativeStream resolve_stream(mor_context_t* ctx, mor_stream_t* s);

// Backend factories. create_cuda_backend is provided by the CUDA backend, or by a stub that fails
// with MOR_ERR_NO_DEVICE when the library was built without it.
std::unique_ptr<Backend> create_cpu_backend();
std::unique_ptr<Backend> create_cuda_backend(int32_t device);
int32_t cuda_device_count(std::string* why_zero);
void cuda_device_info(int32_t device, mor_device_info* out);
void cuda_memory_info(int32_t device, int64_t* free_bytes, int64_t* total_bytes);
const char* cuda_build_info();

}  // namespace mor
