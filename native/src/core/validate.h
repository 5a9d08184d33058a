// Shape checks shared by the op entry points: every buffer is checked against the dimensions it
// must hold before anything is launched, so a wrong shape is an error message, never a stray write.
#pragma once

#include <string>

#include "core/dtype.h"
#include "core/error.h"
#include "core/handles.h"

namespace mor {

inline void require_dims(std::initializer_list<std::pair<const char*, int64_t>> dims, const char* op) {
  for (const auto& [name, value] : dims)
    require(value >= 0, MOR_ERR_INVALID_ARGUMENT,
            std::string(op) + ": " + name + " must be non-negative, got " + std::to_string(value));
}

// A rows×cols row-major matrix with leading dimension ld, `batch` of them `stride` apart, from `offset`.
inline void require_matrix(const mor_buffer_t* buf, int64_t offset, int64_t rows, int64_t cols, int64_t ld,
                           int64_t stride, int64_t batch, const char* what) {
  require(offset >= 0, MOR_ERR_INVALID_ARGUMENT, std::string(what) + ": negative offset");
  require(ld >= (cols > 0 ? cols : 1), MOR_ERR_INVALID_ARGUMENT,
          std::string(what) + ": leading dimension " + std::to_string(ld) + " is smaller than the " +
              std::to_string(cols) + " columns");
  if (rows == 0 || cols == 0 || batch == 0) return;
  require(stride >= 0, MOR_ERR_INVALID_ARGUMENT, std::string(what) + ": negative batch stride");
  const long double last = static_cast<long double>(offset) + static_cast<long double>(batch - 1) * stride +
                           static_cast<long double>(rows - 1) * ld + cols;
  require(last <= static_cast<long double>(buf->numel), MOR_ERR_SHAPE,
          std::string(what) + ": a " + std::to_string(rows) + "x" + std::to_string(cols) +
              (batch > 1 ? " (x" + std::to_string(batch) + " batch)" : std::string()) + " matrix (ld " +
              std::to_string(ld) + ", offset " + std::to_string(offset) + ") does not fit in a buffer of " +
              std::to_string(buf->numel) + " elements");
}

// A dense F32 tensor of exactly `numel` elements (adapter parameters, activations, gradients).
inline void require_f32(const mor_buffer_t* buf, int64_t numel, const char* what) {
  require(buf != nullptr, MOR_ERR_INVALID_ARGUMENT, std::string(what) + " is null");
  require(buf->magic == mor_buffer_t::kMagic, MOR_ERR_INVALID_ARGUMENT,
          std::string(what) + ": buffer handle is invalid or destroyed");
  require(buf->dtype == MOR_DTYPE_F32, MOR_ERR_DTYPE,
          std::string(what) + ": expected F32, got " + dtype_name(buf->dtype));
  require(
      buf->numel >= numel, MOR_ERR_SHAPE,
      std::string(what) + ": needs " + std::to_string(numel) + " elements, buffer has " + std::to_string(buf->numel));
}

inline void require_same_context(const mor_context_t* ctx, std::initializer_list<const mor_buffer_t*> bufs,
                                 const char* op) {
  for (const mor_buffer_t* b : bufs)
    if (b != nullptr)
      require(b->ctx == ctx, MOR_ERR_INVALID_ARGUMENT, std::string(op) + ": a buffer belongs to another context");
}

}  // namespace mor
