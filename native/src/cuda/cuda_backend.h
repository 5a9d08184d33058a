// The CUDA backend: device memory through cudaMalloc (the core's caching allocator sits on top),
// non-blocking streams, cuBLAS GEMMs and the fused kernels of kernels.h.
//
// Per stream the backend keeps a fixed cuBLAS workspace (cuBLAS then picks the same algorithm every
// call, which keeps GEMMs bit-reproducible, and two streams never share one) and a growable scratch
// for ops that need a temporary (mixed-type GEMM operands, two-phase reductions). Both are used
// stream-ordered; the scratch grows only after its stream has drained.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "core/backend.h"
#include "cuda/cuda_check.h"

namespace mor::cuda {

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(int32_t device);
  ~CudaBackend() override;
  CudaBackend(const CudaBackend&) = delete;
  CudaBackend& operator=(const CudaBackend&) = delete;

  mor_backend kind() const override { return MOR_BACKEND_CUDA; }
  int32_t device() const override { return device_; }

  void* raw_alloc(size_t bytes) override;
  void raw_free(void* p) noexcept override;
  NativeStream default_stream() override { return default_stream_; }
  NativeStream create_stream() override;
  void destroy_stream(NativeStream s) noexcept override;
  void synchronize(NativeStream s) override;
  void synchronize_device() override;
  void activate() override;

  void copy_to_device(void* dst, const void* host, size_t bytes, NativeStream s) override;
  void copy_to_host(void* host, const void* src, size_t bytes, NativeStream s) override;
  void copy_on_device(void* dst, const void* src, size_t bytes, NativeStream s) override;
  void fill(void* dst, mor_dtype t, int64_t count, double value, NativeStream s) override;
  void cast(void* dst, mor_dtype dst_type, const void* src, mor_dtype src_type, int64_t count, NativeStream s) override;

  void gemm(const GemmArgs& g, NativeStream s) override;  // cuda_gemm.cpp

  void gate_forward(const GateShape& sh, const float* hz, const float* omega_a, float* g, float* p,
                    NativeStream s) override;
  void gate_backward(const GateShape& sh, const float* hz, const float* g, const float* omega_a, const float* dp,
                     float* dhz, float* domega_a, NativeStream s) override;
  void build_q(int64_t d_out, int64_t r, int64_t N, const float* b, const float* omega_b, float* q,
               NativeStream s) override;
  void reduce_dq(int64_t d_out, int64_t r, int64_t N, const float* dq, const float* b, const float* omega_b, float* db,
                 float* domega_b, NativeStream s) override;
  void row_norm2(int64_t rows, int64_t cols, const void* w, mor_dtype w_type, float* out, NativeStream s) override;
  void dora_norm(int64_t d_out, int64_t r, float scale, const float* w_norm2, const float* b, const float* wat,
                 const float* gram, float* norm, NativeStream s) override;
  void dora_scale_forward(int64_t T, int64_t d_out, const float* m, const float* norm, const float* u, float* y,
                          NativeStream s) override;
  void dora_scale_backward(int64_t T, int64_t d_out, const float* m, const float* norm, const float* u, const float* dy,
                           float* du, float* dm, NativeStream s) override;

 private:
  struct StreamResources {
    void* cublas_workspace = nullptr;
    void* scratch = nullptr;
    size_t scratch_bytes = 0;
  };

  cudaStream_t stream_of(NativeStream s) const { return s != nullptr ? static_cast<cudaStream_t>(s) : default_stream_; }
  Launch launch(cudaStream_t s) const { return Launch{s, sync_launch_}; }
  // Both need mu_ held.
  StreamResources& resources_locked(cudaStream_t s);
  void* scratch_locked(cudaStream_t s, size_t bytes);
  void* scratch(cudaStream_t s, size_t bytes);
  void release_all() noexcept;

  int32_t device_;
  bool sync_launch_ = false;
  size_t cublas_workspace_bytes_ = 4u << 20;
  cudaStream_t default_stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  std::mutex mu_;  // guards resources_ and the cuBLAS handle (its stream/workspace are per call)
  std::unordered_map<cudaStream_t, StreamResources> resources_;
};

}  // namespace mor::cuda
