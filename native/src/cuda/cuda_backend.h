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

  // ---- transformer ops (cuda_backend_transformer.cpp; kernels in transformer.cu) ----
  void rmsnorm_forward(int64_t T, int64_t C, float eps, const float* x, const float* w, float* y, float* rstd,
                       NativeStream s) override;
  void rmsnorm_backward(int64_t T, int64_t C, const float* x, const float* w, const float* rstd, const float* dy,
                        float* dx, float* dw, NativeStream s) override;
  void rope(int64_t T, int64_t H, int64_t D, float* x, int64_t ld, const int32_t* positions, const float* inv_freq,
            bool inverse, NativeStream s) override;
  void attention_forward(const AttentionArgs& a, const float* q, const float* k, const float* v, float* out, float* lse,
                         NativeStream s) override;
  void attention_backward(const AttentionArgs& a, const float* q, const float* k, const float* v, const float* out,
                          const float* lse, const float* dout, float* dq, float* dk, float* dv,
                          NativeStream s) override;
  void swiglu_forward(int64_t n, const float* gate, const float* up, float* out, NativeStream s) override;
  void swiglu_backward(int64_t n, const float* gate, const float* up, const float* dout, float* dgate, float* dup,
                       NativeStream s) override;
  void embedding_forward(int64_t T, int64_t C, const int32_t* ids, const void* table, mor_dtype table_type, float* out,
                         NativeStream s) override;
  void embedding_backward(int64_t T, int64_t C, int64_t V, const int32_t* ids, const float* dout, float* dtable,
                          NativeStream s) override;
  void cross_entropy(int64_t T, int64_t V, float* logits, const int32_t* targets, int32_t ignore_index, float* losses,
                     float grad_scale, NativeStream s) override;
  void adamw(int64_t n, float* params, const float* grads, float* m, float* v, const AdamWArgs& hp,
             NativeStream s) override;
  double sum_squares(int64_t n, const float* x, NativeStream s) override;  // synchronous
  void axpy(int64_t n, float alpha, const float* x, float* y, NativeStream s) override;
  void scale(int64_t n, float alpha, float* x, NativeStream s) override;
  void dropout(int64_t n, uint64_t threshold, float inv_keep, uint64_t seed, uint64_t offset, const float* x,
               float* out, NativeStream s) override;

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
