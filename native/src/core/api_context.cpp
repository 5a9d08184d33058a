// ABI: library info, devices, contexts, streams, allocator statistics.
#include <cstring>
#include <string>

#include "comm/communicator.h"
#include "core/abi_guard.h"
#include "core/handles.h"
#include "cpu/cpu_blas.h"
#include "cpu/thread_pool.h"

#ifndef MOR_VERSION_STRING
#define MOR_VERSION_STRING "0.0.0"
#endif

namespace mor {

HandleCounters& handle_counters() {
  static HandleCounters counters;
  return counters;
}

void context_retain(mor_context_t* ctx) { ctx->refs.fetch_add(1, std::memory_order_relaxed); }

void context_release(mor_context_t* ctx) {
  if (ctx->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    ctx->backend->activate();
    ctx->allocator.reset();  // frees cached blocks through the backend, before the backend goes
    ctx->magic = 0;
    delete ctx;
    handle_counters().contexts.fetch_sub(1);
  }
}

mor_context_t* check_context(mor_context_t* ctx) {
  require(ctx != nullptr, MOR_ERR_INVALID_ARGUMENT, "context is null");
  require(ctx->magic == mor_context_t::kMagic, MOR_ERR_INVALID_ARGUMENT, "context handle is invalid or destroyed");
  ctx->backend->activate();
  return ctx;
}

mor_buffer_t* check_buffer(mor_buffer_t* buf, const char* what) {
  require(buf != nullptr, MOR_ERR_INVALID_ARGUMENT, std::string(what) + ": buffer is null");
  require(buf->magic == mor_buffer_t::kMagic, MOR_ERR_INVALID_ARGUMENT,
          std::string(what) + ": buffer handle is invalid or destroyed");
  return buf;
}

NativeStream resolve_stream(mor_context_t* ctx, mor_stream_t* s) {
  if (s == nullptr) return ctx->backend->default_stream();
  require(s->magic == mor_stream_t::kMagic, MOR_ERR_INVALID_ARGUMENT, "stream handle is invalid or destroyed");
  require(s->ctx == ctx, MOR_ERR_INVALID_ARGUMENT, "stream belongs to another context");
  return s->native;
}

}  // namespace mor

using namespace mor;

extern "C" {

MOR_API int32_t mor_abi_version(void) { return MOR_ABI_VERSION; }

MOR_API int32_t mor_build_info(const char** out) {
  return abi_guard([&] {
    require(out != nullptr, MOR_ERR_INVALID_ARGUMENT, "out is null");
    static const std::string info = std::string("mor ") + MOR_VERSION_STRING + "; abi " +
                                    std::to_string(MOR_ABI_VERSION) + "; cpu: " + cpu::cpu_blas().description +
                                    ", single-threaded, on the library's thread pool" + "; cuda: " + cuda_build_info() +
                                    "; comm: " + comm_build_info();
    *out = info.c_str();
  });
}

MOR_API int32_t mor_handle_stats_get(mor_handle_stats* out) {
  return abi_guard([&] {
    require(out != nullptr, MOR_ERR_INVALID_ARGUMENT, "out is null");
    out->contexts = handle_counters().contexts.load();
    out->streams = handle_counters().streams.load();
    out->buffers = handle_counters().buffers.load();
  });
}

MOR_API int32_t mor_cpu_set_threads(int32_t threads) {
  return abi_guard([&] {
    require(threads >= 0 && threads <= 4096, MOR_ERR_INVALID_ARGUMENT,
            "threads must be 0 (the default) or 1..4096, got " + std::to_string(threads));
    cpu::set_thread_count(threads);
  });
}

MOR_API int32_t mor_cpu_get_threads(int32_t* threads) {
  return abi_guard([&] {
    require(threads != nullptr, MOR_ERR_INVALID_ARGUMENT, "threads is null");
    *threads = cpu::thread_count();
  });
}

MOR_API int32_t mor_cpu_thread_stats_get(mor_cpu_thread_stats* out) {
  return abi_guard([&] {
    require(out != nullptr, MOR_ERR_INVALID_ARGUMENT, "out is null");
    const cpu::ThreadStats s = cpu::thread_stats();
    *out = {s.serial_loops, s.parallel_loops, s.inline_loops, s.worker_sleeps, s.threads, s.workers};
  });
}

MOR_API int32_t mor_device_count(int32_t backend, int32_t* count) {
  int32_t n = 0;
  std::string why;
  int32_t status = abi_guard([&] {
    require(count != nullptr, MOR_ERR_INVALID_ARGUMENT, "count is null");
    if (backend == MOR_BACKEND_CPU) {
      n = 1;
    } else if (backend == MOR_BACKEND_CUDA) {
      n = cuda_device_count(&why);
    } else {
      fail(MOR_ERR_INVALID_ARGUMENT, "unknown backend " + std::to_string(backend));
    }
    *count = n;
  });
  // Zero devices is an answer, not a failure; the reason is still left for whoever asks.
  if (status == MOR_OK && n == 0 && !why.empty()) set_last_error(why);
  return status;
}

MOR_API int32_t mor_device_info_get(int32_t backend, int32_t device, mor_device_info* out) {
  return abi_guard([&] {
    require(out != nullptr, MOR_ERR_INVALID_ARGUMENT, "out is null");
    std::memset(out, 0, sizeof(*out));
    if (backend == MOR_BACKEND_CPU) {
      require(device == 0, MOR_ERR_NO_DEVICE, "CPU device index must be 0");
      std::strncpy(out->name, "cpu", sizeof(out->name) - 1);
      return;
    }
    require(backend == MOR_BACKEND_CUDA, MOR_ERR_INVALID_ARGUMENT, "unknown backend " + std::to_string(backend));
    cuda_device_info(device, out);
  });
}

MOR_API int32_t mor_device_memory_get(int32_t backend, int32_t device, int64_t* free_bytes, int64_t* total_bytes) {
  return abi_guard([&] {
    require(free_bytes != nullptr && total_bytes != nullptr, MOR_ERR_INVALID_ARGUMENT,
            "free_bytes or total_bytes is null");
    *free_bytes = 0;
    *total_bytes = 0;
    if (backend == MOR_BACKEND_CPU)
      fail(MOR_ERR_NOT_SUPPORTED, "the CPU's memory is the operating system's to report (MemAvailable, cgroup limits)");
    require(backend == MOR_BACKEND_CUDA, MOR_ERR_INVALID_ARGUMENT, "unknown backend " + std::to_string(backend));
    cuda_memory_info(device, free_bytes, total_bytes);
  });
}

MOR_API int32_t mor_context_create(int32_t backend, int32_t device, mor_context* out) {
  return abi_guard([&] {
    require(out != nullptr, MOR_ERR_INVALID_ARGUMENT, "out is null");
    *out = nullptr;
    std::unique_ptr<Backend> impl;
    if (backend == MOR_BACKEND_CPU) {
      require(device == 0, MOR_ERR_NO_DEVICE, "CPU device index must be 0, got " + std::to_string(device));
      impl = create_cpu_backend();
    } else if (backend == MOR_BACKEND_CUDA) {
      impl = create_cuda_backend(device);
    } else {
      fail(MOR_ERR_INVALID_ARGUMENT, "unknown backend " + std::to_string(backend));
    }
    auto* ctx = new mor_context_t();
    ctx->backend = std::move(impl);
    ctx->allocator = std::make_unique<CachingAllocator>(*ctx->backend);
    handle_counters().contexts.fetch_add(1);
    *out = ctx;
  });
}

MOR_API int32_t mor_context_destroy(mor_context ctx) {
  return abi_guard([&] {
    if (ctx == nullptr) return;
    check_context(ctx);
    context_release(ctx);
  });
}

MOR_API int32_t mor_context_backend(mor_context ctx, int32_t* backend) {
  return abi_guard([&] {
    require(backend != nullptr, MOR_ERR_INVALID_ARGUMENT, "backend is null");
    *backend = check_context(ctx)->backend->kind();
  });
}

MOR_API int32_t mor_context_synchronize(mor_context ctx) {
  return abi_guard([&] { check_context(ctx)->backend->synchronize_device(); });
}

MOR_API int32_t mor_context_set_allow_tf32(mor_context ctx, int32_t allow) {
  return abi_guard([&] { check_context(ctx)->allow_tf32.store(allow != 0); });
}

MOR_API int32_t mor_stream_create(mor_context ctx, mor_stream* out) {
  return abi_guard([&] {
    require(out != nullptr, MOR_ERR_INVALID_ARGUMENT, "out is null");
    check_context(ctx);
    auto* s = new mor_stream_t();
    s->ctx = ctx;
    s->native = ctx->backend->create_stream();
    ctx->allocator->register_stream(s->native);
    context_retain(ctx);
    handle_counters().streams.fetch_add(1);
    *out = s;
  });
}

MOR_API int32_t mor_stream_destroy(mor_stream stream) {
  return abi_guard([&] {
    if (stream == nullptr) return;
    require(stream->magic == mor_stream_t::kMagic, MOR_ERR_INVALID_ARGUMENT, "stream handle is invalid or destroyed");
    mor_context_t* ctx = stream->ctx;
    ctx->backend->activate();
    ctx->backend->synchronize(stream->native);
    ctx->allocator->forget_stream(stream->native, ctx->backend->default_stream());
    ctx->backend->destroy_stream(stream->native);
    stream->magic = 0;
    delete stream;
    handle_counters().streams.fetch_sub(1);
    context_release(ctx);
  });
}

MOR_API int32_t mor_stream_synchronize(mor_stream stream) {
  return abi_guard([&] {
    require(stream != nullptr && stream->magic == mor_stream_t::kMagic, MOR_ERR_INVALID_ARGUMENT,
            "stream handle is null, invalid or destroyed");
    stream->ctx->backend->activate();
    stream->ctx->backend->synchronize(stream->native);
  });
}

MOR_API int32_t mor_allocator_stats_get(mor_context ctx, mor_allocator_stats* out) {
  return abi_guard([&] {
    require(out != nullptr, MOR_ERR_INVALID_ARGUMENT, "out is null");
    *out = check_context(ctx)->allocator->stats();
  });
}

MOR_API int32_t mor_allocator_reset_peak(mor_context ctx) {
  return abi_guard([&] { check_context(ctx)->allocator->reset_peak(); });
}

MOR_API int32_t mor_allocator_trim(mor_context ctx) {
  return abi_guard([&] { check_context(ctx)->allocator->trim(); });
}

}  // extern "C"
