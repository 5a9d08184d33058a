// ABI: communicators (mor_comm_*). Validation, serialisation and host staging live here, once for
// every backend; the backends (communicator.h) only move bytes between ranks.
#include <cstdlib>
#include <cstring>
#include <string>

#include "comm/communicator.h"
#include "core/abi_guard.h"
#include "core/dtype.h"
#include "core/handles.h"

using namespace mor;

namespace mor {

double comm_timeout_seconds() {
  const char* text = std::getenv("MOR_COMM_TIMEOUT_S");
  if (text == nullptr || *text == '\0') return 300.0;
  char* end = nullptr;
  const double seconds = std::strtod(text, &end);
  require(end != text && *end == '\0' && seconds > 0, MOR_ERR_INVALID_ARGUMENT,
          std::string("MOR_COMM_TIMEOUT_S must be a positive number of seconds, got '") + text + "'");
  return seconds;
}

void fail_timeout(int32_t rank, const std::string& operation, double seconds) {
  char secs[32];
  std::snprintf(secs, sizeof secs, "%g", seconds);
  fail(MOR_ERR_COMM, "rank " + std::to_string(rank) + ": " + operation + " timed out after " + secs +
                         " s (a peer rank probably died or stopped calling collectives; MOR_COMM_TIMEOUT_S sets the "
                         "limit). The communicator is unusable now: abort the job (mor_comm_abort).");
}

}  // namespace mor

namespace {

mor_comm_t* check_comm(mor_comm_t* comm, const char* what) {
  require(comm != nullptr, MOR_ERR_INVALID_ARGUMENT, std::string(what) + ": communicator is null");
  require(comm->magic == mor_comm_t::kMagic, MOR_ERR_INVALID_ARGUMENT,
          std::string(what) + ": communicator handle is invalid or destroyed");
  return comm;
}

void require_usable(const mor_comm_t* comm, const char* what) {
  require(!comm->impl->broken(), MOR_ERR_COMM,
          std::string(what) + ": rank " + std::to_string(comm->impl->rank()) +
              ": the communicator failed earlier (timeout or peer failure) and cannot be used again");
}

// The bytes [offset, offset+count) of `buf`, checked against its size and context.
struct Range {
  mor_context_t* ctx;
  NativeStream stream;
  char* data;
  size_t bytes;
};

Range check_range(mor_context_t* ctx, mor_stream_t* stream, mor_buffer_t* buf, int64_t offset, int64_t count,
                  const char* what) {
  check_context(ctx);
  check_buffer(buf, what);
  require(buf->ctx == ctx, MOR_ERR_INVALID_ARGUMENT, std::string(what) + ": the buffer belongs to another context");
  require(
      offset >= 0 && count >= 0, MOR_ERR_INVALID_ARGUMENT,
      std::string(what) + ": negative offset or count (" + std::to_string(offset) + ", " + std::to_string(count) + ")");
  require(offset <= buf->numel && count <= buf->numel - offset, MOR_ERR_SHAPE,
          std::string(what) + ": range [" + std::to_string(offset) + ", " + std::to_string(offset + count) +
              ") is outside the buffer of " + std::to_string(buf->numel) + " elements");
  const size_t elem = dtype_size(buf->dtype);
  return Range{ctx, resolve_stream(ctx, stream), static_cast<char*>(buf->data) + static_cast<size_t>(offset) * elem,
               static_cast<size_t>(count) * elem};
}

// Runs `op` on a pointer the backend accepts: the buffer itself, or a host copy of a CUDA range
// that is copied back afterwards (and synchronised, so the staging memory can be reused).
template <typename Op>
void with_backend_pointer(mor_comm_t* comm, const Range& r, bool copy_back, const char* what, Op&& op) {
  const bool on_device = r.ctx->backend->kind() == MOR_BACKEND_CUDA;
  Communicator& impl = *comm->impl;
  if (on_device ? impl.takes_device_pointers() : impl.takes_host_pointers()) {
    op(static_cast<void*>(r.data));
    return;
  }
  require(on_device, MOR_ERR_NOT_SUPPORTED,
          std::string(what) + ": the " + impl.backend_name() + " communicator takes CUDA buffers only");
  if (comm->staging.size() < r.bytes) comm->staging.resize(r.bytes);
  r.ctx->backend->copy_to_host(comm->staging.data(), r.data, r.bytes, r.stream);
  op(static_cast<void*>(comm->staging.data()));
  if (copy_back) {
    r.ctx->backend->copy_to_device(r.data, comm->staging.data(), r.bytes, r.stream);
    r.ctx->backend->synchronize(r.stream);
  }
}

}  // namespace

extern "C" {

MOR_API int32_t mor_comm_create_mpi(int32_t* argc_unused, mor_comm* out) {
  return abi_guard([&] {
    require(out != nullptr, MOR_ERR_INVALID_ARGUMENT, "out is null");
    require(argc_unused == nullptr, MOR_ERR_INVALID_ARGUMENT,
            "mor_comm_create_mpi: argc_unused is reserved, pass NULL");
    *out = nullptr;
    auto comm = std::make_unique<mor_comm_t>();
    comm->impl = create_mpi_communicator();
    *out = comm.release();
  });
}

MOR_API int32_t mor_comm_create_nccl(mor_comm bootstrap, mor_context ctx, mor_comm* out) {
  return abi_guard([&] {
    require(out != nullptr, MOR_ERR_INVALID_ARGUMENT, "out is null");
    *out = nullptr;
    check_comm(bootstrap, "mor_comm_create_nccl");
    check_context(ctx);
    std::lock_guard<std::mutex> lock(bootstrap->mutex);
    require_usable(bootstrap, "mor_comm_create_nccl");
    auto comm = std::make_unique<mor_comm_t>();
    comm->impl = create_nccl_communicator(*bootstrap->impl, ctx);
    *out = comm.release();
  });
}

MOR_API int32_t mor_comm_rank(mor_comm comm, int32_t* rank) {
  return abi_guard([&] {
    require(rank != nullptr, MOR_ERR_INVALID_ARGUMENT, "rank is null");
    *rank = check_comm(comm, "mor_comm_rank")->impl->rank();
  });
}

MOR_API int32_t mor_comm_size(mor_comm comm, int32_t* size) {
  return abi_guard([&] {
    require(size != nullptr, MOR_ERR_INVALID_ARGUMENT, "size is null");
    *size = check_comm(comm, "mor_comm_size")->impl->size();
  });
}

MOR_API int32_t mor_comm_allreduce_sum_f32(mor_comm comm, mor_context ctx, mor_stream stream, mor_buffer buf,
                                           int64_t offset, int64_t count) {
  return abi_guard([&] {
    const char* what = "mor_comm_allreduce_sum_f32";
    check_comm(comm, what);
    const Range r = check_range(ctx, stream, buf, offset, count, what);
    require(buf->dtype == MOR_DTYPE_F32, MOR_ERR_DTYPE,
            std::string(what) + ": expected an F32 buffer, got " + dtype_name(buf->dtype));
    std::lock_guard<std::mutex> lock(comm->mutex);
    require_usable(comm, what);
    if (count == 0 || comm->impl->size() == 1) return;  // nothing to sum with: no copies either
    with_backend_pointer(comm, r, /*copy_back=*/true, what,
                         [&](void* p) { comm->impl->allreduce_sum_f32(static_cast<float*>(p), count, r.stream); });
  });
}

MOR_API int32_t mor_comm_broadcast(mor_comm comm, mor_context ctx, mor_stream stream, mor_buffer buf, int64_t offset,
                                   int64_t count, int32_t root) {
  return abi_guard([&] {
    const char* what = "mor_comm_broadcast";
    check_comm(comm, what);
    const Range r = check_range(ctx, stream, buf, offset, count, what);
    std::lock_guard<std::mutex> lock(comm->mutex);
    const int32_t size = comm->impl->size();
    require(root >= 0 && root < size, MOR_ERR_INVALID_ARGUMENT,
            std::string(what) + ": root " + std::to_string(root) + " is not a rank of a communicator of " +
                std::to_string(size));
    require_usable(comm, what);
    if (count == 0 || size == 1) return;
    // Staged: copied to the host on every rank (only the root's bytes matter), back on the others.
    with_backend_pointer(comm, r, /*copy_back=*/comm->impl->rank() != root, what,
                         [&](void* p) { comm->impl->broadcast(p, static_cast<int64_t>(r.bytes), root, r.stream); });
  });
}

MOR_API int32_t mor_comm_barrier(mor_comm comm) {
  return abi_guard([&] {
    check_comm(comm, "mor_comm_barrier");
    std::lock_guard<std::mutex> lock(comm->mutex);
    require_usable(comm, "mor_comm_barrier");
    comm->impl->barrier();
  });
}

MOR_API int32_t mor_comm_abort(mor_comm comm, int32_t code) {
  return abi_guard([&] {
    // No lock: abort must work while another thread is stuck in a collective.
    check_comm(comm, "mor_comm_abort")->impl->abort(code);
  });
}

MOR_API int32_t mor_comm_destroy(mor_comm comm) {
  return abi_guard([&] {
    if (comm == nullptr) return;
    check_comm(comm, "mor_comm_destroy");
    {
      std::lock_guard<std::mutex> lock(comm->mutex);
      comm->impl.reset();
      comm->magic = 0;
    }
    delete comm;
  });
}

}  // extern "C"
