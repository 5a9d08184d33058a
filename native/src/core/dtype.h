#pragma once

#include <cstddef>
#include <cstdint>

#include "mor/mor.h"

namespace mor {

inline bool dtype_valid(int32_t t) { return t >= MOR_DTYPE_F32 && t <= MOR_DTYPE_I64; }
inline bool dtype_is_float(mor_dtype t) { return t == MOR_DTYPE_F32 || t == MOR_DTYPE_F16 || t == MOR_DTYPE_BF16; }

inline size_t dtype_size(mor_dtype t) {
  switch (t) {
    case MOR_DTYPE_F32:
      return 4;
    case MOR_DTYPE_F16:
      return 2;
    case MOR_DTYPE_BF16:
      return 2;
    case MOR_DTYPE_I32:
      return 4;
    case MOR_DTYPE_I64:
      return 8;
  }
  return 0;
}

inline const char* dtype_name(mor_dtype t) {
  switch (t) {
    case MOR_DTYPE_F32:
      return "F32";
    case MOR_DTYPE_F16:
      return "F16";
    case MOR_DTYPE_BF16:
      return "BF16";
    case MOR_DTYPE_I32:
      return "I32";
    case MOR_DTYPE_I64:
      return "I64";
  }
  return "?";
}

}  // namespace mor
