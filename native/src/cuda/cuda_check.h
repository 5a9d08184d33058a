// Turning CUDA and cuBLAS status codes into mor::Error, and the per-launch check every kernel
// launcher runs (cudaGetLastError, plus a stream synchronisation under MOR_SYNC_LAUNCH=1 so that an
// asynchronous fault is reported by the launch that caused it).
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <climits>
#include <cstdint>
#include <string>

#include "core/error.h"

namespace mor::cuda {

// Clears the runtime's last-error slot (a failed call leaves its code there for the next
// cudaGetLastError to find) and throws MOR_ERR_CUDA naming the failed operation.
[[noreturn]] inline void throw_cuda(cudaError_t e, const std::string& what) {
  cudaGetLastError();
  fail(MOR_ERR_CUDA, what + " failed: " + cudaGetErrorString(e) + " (" + cudaGetErrorName(e) + ")");
}

inline void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw_cuda(e, what);
}

// cublasGetStatusString exists only from cuBLAS 11.4; our own table works with every version.
inline const char* cublas_status_name(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS:
      return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED:
      return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED:
      return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE:
      return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH:
      return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR:
      return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED:
      return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR:
      return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED:
      return "CUBLAS_STATUS_NOT_SUPPORTED";
    default:
      return "unknown cuBLAS status";
  }
}

inline void check(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS)
    fail(MOR_ERR_CUBLAS,
         std::string(what) + " failed: " + cublas_status_name(s) + " (" + std::to_string(static_cast<int>(s)) + ")");
}

// Where and how a launcher queues its kernels.
struct Launch {
  cudaStream_t stream = nullptr;
  bool sync = false;  // MOR_SYNC_LAUNCH=1: wait for every kernel and report its own fault

  void check(const char* what) const {
    const cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) throw_cuda(e, std::string(what) + " launch");
    if (sync) {
      const cudaError_t s = cudaStreamSynchronize(stream);
      if (s != cudaSuccess) throw_cuda(s, std::string(what) + " (MOR_SYNC_LAUNCH synchronisation)");
    }
  }
};

// Kernels index within a row (or a token's N·r block) with int; the dimensions that feed those
// indices are checked here so that an oversized request is an error, never a wrapped index.
inline int checked_int(int64_t v, const char* what) {
  if (v < 0 || v > INT_MAX)
    fail(MOR_ERR_NOT_SUPPORTED,
         std::string(what) + " = " + std::to_string(v) + " exceeds the CUDA kernels' 32-bit limit");
  return static_cast<int>(v);
}

}  // namespace mor::cuda
