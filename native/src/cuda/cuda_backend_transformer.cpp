// CudaBackend's transformer ops: thin dispatch onto the launchers of transformer_kernels.h
// (transformer.cu), with the stream resolved and any temporary taken from the stream's scratch.
#include "cuda/cuda_backend.h"
#include "cuda/transformer_kernels.h"

namespace mor::cuda {

void CudaBackend::rmsnorm_forward(int64_t T, int64_t C, float eps, const float* x, const float* w, float* y,
                                  float* rstd, NativeStream s) {
  cuda::rmsnorm_forward(launch(stream_of(s)), T, C, eps, x, w, y, rstd);
}

void CudaBackend::rmsnorm_backward(int64_t T, int64_t C, const float* x, const float* w, const float* rstd,
                                   const float* dy, float* dx, float* dw, NativeStream ns) {
  if (T <= 0 || C <= 0) return;
  const cudaStream_t s = stream_of(ns);
  float* partial = nullptr;
  if (dw != nullptr) partial = static_cast<float*>(scratch(s, rmsnorm_backward_scratch_bytes(T, C)));
  cuda::rmsnorm_backward(launch(s), T, C, x, w, rstd, dy, dx, dw, partial);
}

void CudaBackend::rope(int64_t T, int64_t H, int64_t D, float* x, int64_t ld, const int32_t* positions,
                       const float* inv_freq, bool inverse, NativeStream s) {
  cuda::rope(launch(stream_of(s)), T, H, D, x, ld, positions, inv_freq, inverse);
}

void CudaBackend::attention_forward(const AttentionArgs& a, const float* q, const float* k, const float* v, float* out,
                                    float* lse, NativeStream s) {
  cuda::attention_forward(launch(stream_of(s)), a, q, k, v, out, lse);
}

void CudaBackend::attention_backward(const AttentionArgs& a, const float* q, const float* k, const float* v,
                                     const float* out, const float* lse, const float* dout, float* dq, float* dk,
                                     float* dv, NativeStream ns) {
  const size_t bytes = attention_backward_scratch_bytes(a);
  if (bytes == 0) return;  // no queries: nothing to add
  const cudaStream_t s = stream_of(ns);
  float* di = static_cast<float*>(scratch(s, bytes));
  cuda::attention_backward(launch(s), a, q, k, v, out, lse, dout, dq, dk, dv, di);
}

void CudaBackend::swiglu_forward(int64_t n, const float* gate, const float* up, float* out, NativeStream s) {
  cuda::swiglu_forward(launch(stream_of(s)), n, gate, up, out);
}

void CudaBackend::swiglu_backward(int64_t n, const float* gate, const float* up, const float* dout, float* dgate,
                                  float* dup, NativeStream s) {
  cuda::swiglu_backward(launch(stream_of(s)), n, gate, up, dout, dgate, dup);
}

void CudaBackend::embedding_forward(int64_t T, int64_t C, const int32_t* ids, const void* table, mor_dtype table_type,
                                    float* out, NativeStream s) {
  cuda::embedding_forward(launch(stream_of(s)), T, C, ids, table, table_type, out);
}

void CudaBackend::embedding_backward(int64_t T, int64_t C, int64_t V, const int32_t* ids, const float* dout,
                                     float* dtable, NativeStream ns) {
  if (T <= 0 || C <= 0) return;
  const cudaStream_t s = stream_of(ns);
  const size_t bytes = embedding_backward_scratch_bytes(T, V);
  void* tmp = scratch(s, bytes);
  cuda::embedding_backward(launch(s), T, C, V, ids, dout, dtable, tmp, bytes);
}

void CudaBackend::cross_entropy(int64_t T, int64_t V, float* logits, const int32_t* targets, int32_t ignore_index,
                                float* losses, float grad_scale, NativeStream s) {
  cuda::cross_entropy(launch(stream_of(s)), T, V, logits, targets, ignore_index, losses, grad_scale);
}

void CudaBackend::adamw(int64_t n, float* params, const float* grads, float* m, float* v, const AdamWArgs& hp,
                        NativeStream s) {
  cuda::adamw(launch(stream_of(s)), n, params, grads, m, v, hp);
}

double CudaBackend::sum_squares(int64_t n, const float* x, NativeStream ns) {
  if (n <= 0) return 0.0;
  const cudaStream_t s = stream_of(ns);
  void* tmp = scratch(s, sum_squares_scratch_bytes(n));
  return cuda::sum_squares(launch(s), n, x, tmp);
}

void CudaBackend::axpy(int64_t n, float alpha, const float* x, float* y, NativeStream s) {
  cuda::axpy(launch(stream_of(s)), n, alpha, x, y);
}

void CudaBackend::scale(int64_t n, float alpha, float* x, NativeStream s) {
  cuda::scale(launch(stream_of(s)), n, alpha, x);
}

void CudaBackend::dropout(int64_t n, uint64_t threshold, float inv_keep, uint64_t seed, uint64_t offset, const float* x,
                          float* out, NativeStream s) {
  cuda::dropout(launch(stream_of(s)), n, threshold, inv_keep, seed, offset, x, out);
}

}  // namespace mor::cuda
