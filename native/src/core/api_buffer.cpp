// ABI: buffers, copies, fills and casts.
#include <string>

#include "core/abi_guard.h"
#include "core/dtype.h"
#include "core/handles.h"

using namespace mor;

namespace {

void check_range(const mor_buffer_t* buf, int64_t offset, int64_t count, const char* what) {
  require(
      offset >= 0 && count >= 0, MOR_ERR_INVALID_ARGUMENT,
      std::string(what) + ": negative offset or count (" + std::to_string(offset) + ", " + std::to_string(count) + ")");
  require(offset <= buf->numel && count <= buf->numel - offset, MOR_ERR_SHAPE,
          std::string(what) + ": range [" + std::to_string(offset) + ", " + std::to_string(offset + count) +
              ") is outside the buffer of " + std::to_string(buf->numel) + " elements");
}

char* element(const mor_buffer_t* buf, int64_t offset) {
  return static_cast<char*>(buf->data) + static_cast<size_t>(offset) * dtype_size(buf->dtype);
}

}  // namespace

extern "C" {

MOR_API int32_t mor_buffer_create(mor_context ctx, int32_t dtype, int64_t numel, mor_stream stream, mor_buffer* out) {
  return abi_guard([&] {
    require(out != nullptr, MOR_ERR_INVALID_ARGUMENT, "out is null");
    *out = nullptr;
    check_context(ctx);
    require(dtype_valid(dtype), MOR_ERR_DTYPE, "unknown dtype " + std::to_string(dtype));
    require(numel >= 0, MOR_ERR_INVALID_ARGUMENT, "negative element count " + std::to_string(numel));
    const auto type = static_cast<mor_dtype>(dtype);
    require(numel <= INT64_MAX / static_cast<int64_t>(dtype_size(type)), MOR_ERR_INVALID_ARGUMENT,
            "element count " + std::to_string(numel) + " overflows the byte size");
    NativeStream native = resolve_stream(ctx, stream);
    const size_t bytes = static_cast<size_t>(numel) * dtype_size(type);
    auto* buf = new mor_buffer_t();
    try {
      buf->data = ctx->allocator->allocate(bytes, native);
    } catch (...) {
      delete buf;
      throw;
    }
    buf->ctx = ctx;
    buf->dtype = type;
    buf->numel = numel;
    buf->stream = native;
    context_retain(ctx);
    handle_counters().buffers.fetch_add(1);
    *out = buf;
  });
}

MOR_API int32_t mor_buffer_destroy(mor_buffer buf) {
  return abi_guard([&] {
    if (buf == nullptr) return;
    check_buffer(buf, "mor_buffer_destroy");
    mor_context_t* ctx = buf->ctx;
    ctx->backend->activate();
    ctx->allocator->release(buf->data, buf->stream);
    buf->magic = 0;
    delete buf;
    handle_counters().buffers.fetch_sub(1);
    context_release(ctx);
  });
}

MOR_API int32_t mor_buffer_numel(mor_buffer buf, int64_t* numel) {
  return abi_guard([&] {
    require(numel != nullptr, MOR_ERR_INVALID_ARGUMENT, "numel is null");
    *numel = check_buffer(buf, "mor_buffer_numel")->numel;
  });
}

MOR_API int32_t mor_buffer_dtype(mor_buffer buf, int32_t* dtype) {
  return abi_guard([&] {
    require(dtype != nullptr, MOR_ERR_INVALID_ARGUMENT, "dtype is null");
    *dtype = check_buffer(buf, "mor_buffer_dtype")->dtype;
  });
}

MOR_API int32_t mor_buffer_data(mor_buffer buf, void** data) {
  return abi_guard([&] {
    require(data != nullptr, MOR_ERR_INVALID_ARGUMENT, "data is null");
    *data = check_buffer(buf, "mor_buffer_data")->data;
  });
}

MOR_API int32_t mor_buffer_upload(mor_buffer dst, int64_t dst_offset, const void* host, int64_t count,
                                  mor_stream stream) {
  return abi_guard([&] {
    check_buffer(dst, "mor_buffer_upload");
    check_range(dst, dst_offset, count, "mor_buffer_upload");
    require(host != nullptr || count == 0, MOR_ERR_INVALID_ARGUMENT, "mor_buffer_upload: host pointer is null");
    if (count == 0) return;
    mor_context_t* ctx = check_context(dst->ctx);
    ctx->backend->copy_to_device(element(dst, dst_offset), host, static_cast<size_t>(count) * dtype_size(dst->dtype),
                                 resolve_stream(ctx, stream));
  });
}

MOR_API int32_t mor_buffer_download(mor_buffer src, int64_t src_offset, void* host, int64_t count, mor_stream stream) {
  return abi_guard([&] {
    check_buffer(src, "mor_buffer_download");
    check_range(src, src_offset, count, "mor_buffer_download");
    require(host != nullptr || count == 0, MOR_ERR_INVALID_ARGUMENT, "mor_buffer_download: host pointer is null");
    if (count == 0) return;
    mor_context_t* ctx = check_context(src->ctx);
    ctx->backend->copy_to_host(host, element(src, src_offset), static_cast<size_t>(count) * dtype_size(src->dtype),
                               resolve_stream(ctx, stream));
  });
}

MOR_API int32_t mor_buffer_copy(mor_buffer dst, int64_t dst_offset, mor_buffer src, int64_t src_offset, int64_t count,
                                mor_stream stream) {
  return abi_guard([&] {
    check_buffer(dst, "mor_buffer_copy dst");
    check_buffer(src, "mor_buffer_copy src");
    require(dst->ctx == src->ctx, MOR_ERR_INVALID_ARGUMENT, "mor_buffer_copy: buffers belong to different contexts");
    require(dst->dtype == src->dtype, MOR_ERR_DTYPE,
            std::string("mor_buffer_copy: dtypes differ (") + dtype_name(dst->dtype) + " vs " + dtype_name(src->dtype) +
                "); use mor_cast");
    check_range(dst, dst_offset, count, "mor_buffer_copy dst");
    check_range(src, src_offset, count, "mor_buffer_copy src");
    if (count == 0) return;
    mor_context_t* ctx = check_context(dst->ctx);
    ctx->backend->copy_on_device(element(dst, dst_offset), element(src, src_offset),
                                 static_cast<size_t>(count) * dtype_size(dst->dtype), resolve_stream(ctx, stream));
  });
}

MOR_API int32_t mor_buffer_fill(mor_buffer buf, int64_t offset, int64_t count, double value, mor_stream stream) {
  return abi_guard([&] {
    check_buffer(buf, "mor_buffer_fill");
    check_range(buf, offset, count, "mor_buffer_fill");
    if (count == 0) return;
    mor_context_t* ctx = check_context(buf->ctx);
    ctx->backend->fill(element(buf, offset), buf->dtype, count, value, resolve_stream(ctx, stream));
  });
}

MOR_API int32_t mor_cast(mor_buffer dst, mor_buffer src, mor_stream stream) {
  return abi_guard([&] {
    check_buffer(dst, "mor_cast dst");
    check_buffer(src, "mor_cast src");
    require(dst->ctx == src->ctx, MOR_ERR_INVALID_ARGUMENT, "mor_cast: buffers belong to different contexts");
    require(dtype_is_float(dst->dtype) && dtype_is_float(src->dtype), MOR_ERR_DTYPE,
            std::string("mor_cast: only F32/F16/BF16 convert, got ") + dtype_name(src->dtype) + " -> " +
                dtype_name(dst->dtype));
    require(
        dst->numel == src->numel, MOR_ERR_SHAPE,
        "mor_cast: element counts differ (" + std::to_string(src->numel) + " -> " + std::to_string(dst->numel) + ")");
    if (src->numel == 0) return;
    mor_context_t* ctx = check_context(dst->ctx);
    ctx->backend->cast(dst->data, dst->dtype, src->data, src->dtype, src->numel, resolve_stream(ctx, stream));
  });
}

}  // extern "C"
