// The interface every backend implements. Core code (ABI entry points, the caching allocator and
// the adapter op sequences in adapter_ops.cpp) is written once against it; a backend provides only
// memory primitives, GEMM and the small fused kernels. All pointers are backend-native (host on
// CPU, device on CUDA). Errors are reported by throwing mor::Error (see error.h).
#pragma once

#include <cstddef>
#include <cstdint>

#include "mor/mor.h"

namespace mor {

// Opaque per-backend stream; the CPU backend runs everything synchronously and ignores it.
using NativeStream = void*;

struct GemmArgs {
  bool trans_a = false, trans_b = false;
  int64_t m = 0, n = 0, k = 0;
  float alpha = 1.0f, beta = 0.0f;
  const void* a = nullptr;
  mor_dtype a_type = MOR_DTYPE_F32;
  int64_t lda = 0, stride_a = 0;
  const void* b = nullptr;
  mor_dtype b_type = MOR_DTYPE_F32;
  int64_t ldb = 0, stride_b = 0;
  void* c = nullptr;
  mor_dtype c_type = MOR_DTYPE_F32;
  int64_t ldc = 0, stride_c = 0;
  int64_t batch = 1;
  bool allow_tf32 = false;
};

// The gated rank-expansion shared by MoR and MoE-LoRA (MOR.md §2). hz is T×(R+N) with
// R = r (MoR: one h shared by all experts) or R = N·r (MoE-LoRA: expert i owns columns i·r..i·r+r-1).
// omega_a (N×r) is null for MoE-LoRA, meaning all ones.
// Attention geometry with raw pointers already offset (see mor_attention_dims in mor.h).
struct AttentionArgs {
  int64_t batch, q_len, kv_len, q_heads, kv_heads, head_dim;
  int64_t q_row_stride, kv_row_stride, kv_batch_stride;
  float scale;
  bool causal;
  // mor_context_set_allow_tf32: a backend may use reduced-precision (BF16 tensor-core) kernels.
  bool reduced_precision = false;
};

struct AdamWArgs {
  float lr, beta1, beta2, eps, weight_decay, grad_scale;
  int64_t step;
};

struct GateShape {
  int64_t T = 0, N = 0, r = 0;
  bool h_shared = true;
  int64_t R() const { return h_shared ? r : N * r; }
  int64_t ldhz() const { return R() + N; }
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual mor_backend kind() const = 0;
  virtual int32_t device() const = 0;

  // ---- memory (system level; the caching allocator sits on top) ----
  virtual void* raw_alloc(size_t bytes) = 0;  // throws Error(MOR_ERR_OUT_OF_MEMORY)
  virtual void raw_free(void* p) noexcept = 0;
  virtual NativeStream default_stream() = 0;
  virtual NativeStream create_stream() = 0;
  virtual void destroy_stream(NativeStream s) noexcept = 0;
  virtual void synchronize(NativeStream s) = 0;
  virtual void synchronize_device() = 0;
  // Makes this backend's device current on the calling thread (CUDA); no-op on CPU.
  virtual void activate() {}

  virtual void copy_to_device(void* dst, const void* host, size_t bytes, NativeStream s) = 0;
  virtual void copy_to_host(void* host, const void* src, size_t bytes, NativeStream s) = 0;  // synchronous
  virtual void copy_on_device(void* dst, const void* src, size_t bytes, NativeStream s) = 0;
  virtual void fill(void* dst, mor_dtype t, int64_t count, double value, NativeStream s) = 0;
  virtual void cast(void* dst, mor_dtype dst_type, const void* src, mor_dtype src_type, int64_t count,
                    NativeStream s) = 0;

  // ---- dense ----
  virtual void gemm(const GemmArgs& g, NativeStream s) = 0;

  // ---- fused kernels (all F32) ----
  // g = softmax(z) per token; P[t,(i,k)] = g[t,i]·ω_A[i,k]·h[t,·]. P is T×N·r.
  virtual void gate_forward(const GateShape& sh, const float* hz, const float* omega_a, float* g, float* p,
                            NativeStream s) = 0;
  // From dP (T×N·r): writes dhz (T×(R+N): [dh | dz]) and, if domega_a is not null, ACCUMULATES
  // dω_A[i,k] += Σ_t dP[t,(i,k)]·g[t,i]·h[t,k] with a fixed-order (deterministic) reduction.
  virtual void gate_backward(const GateShape& sh, const float* hz, const float* g, const float* omega_a,
                             const float* dp, float* dhz, float* domega_a, NativeStream s) = 0;
  // Q[j,(i,k)] = ω_B[i,j]·B[j,k]; Q is d_out×N·r.
  virtual void build_q(int64_t d_out, int64_t r, int64_t N, const float* b, const float* omega_b, float* q,
                       NativeStream s) = 0;
  // dB[j,k] += Σ_i dQ[j,(i,k)]·ω_B[i,j];  dω_B[i,j] += Σ_k dQ[j,(i,k)]·B[j,k].
  virtual void reduce_dq(int64_t d_out, int64_t r, int64_t N, const float* dq, const float* b, const float* omega_b,
                         float* db, float* domega_b, NativeStream s) = 0;

  // out[i] = Σ_j w[i,j]² (w F32 or BF16), out F32.
  virtual void row_norm2(int64_t rows, int64_t cols, const void* w, mor_dtype w_type, float* out, NativeStream s) = 0;
  // DoRA row norm: n_j = sqrt(max(0, w2_j + 2s·Σ_k B[j,k]·WAt[j,k] + s²·B_j G B_jᵀ)),
  // with WAt = W·Aᵀ (d_out×r) and G = A·Aᵀ (r×r).
  virtual void dora_norm(int64_t d_out, int64_t r, float scale, const float* w_norm2, const float* b, const float* wat,
                         const float* gram, float* norm, NativeStream s) = 0;
  // y[t,j] = (m_j / n_j)·u[t,j]
  virtual void dora_scale_forward(int64_t T, int64_t d_out, const float* m, const float* norm, const float* u, float* y,
                                  NativeStream s) = 0;
  // du[t,j] = dy[t,j]·m_j/n_j;  dm_j += Σ_t dy[t,j]·u[t,j] / n_j (fixed order over t).
  virtual void dora_scale_backward(int64_t T, int64_t d_out, const float* m, const float* norm, const float* u,
                                   const float* dy, float* du, float* dm, NativeStream s) = 0;

  // ---- transformer ops (F32 activations; every backward accumulates). The defaults report
  // MOR_ERR_NOT_SUPPORTED so a backend can be brought up op by op; both shipped backends override
  // all of them. ----
  virtual void rmsnorm_forward(int64_t T, int64_t C, float eps, const float* x, const float* w, float* y, float* rstd,
                               NativeStream s);
  virtual void rmsnorm_backward(int64_t T, int64_t C, const float* x, const float* w, const float* rstd,
                                const float* dy, float* dx, float* dw, NativeStream s);
  virtual void rope(int64_t T, int64_t H, int64_t D, float* x, int64_t ld, const int32_t* positions,
                    const float* inv_freq, bool inverse, NativeStream s);
  virtual void attention_forward(const AttentionArgs& a, const float* q, const float* k, const float* v, float* out,
                                 float* lse, NativeStream s);
  virtual void attention_backward(const AttentionArgs& a, const float* q, const float* k, const float* v,
                                  const float* out, const float* lse, const float* dout, float* dq, float* dk,
                                  float* dv, NativeStream s);
  virtual void swiglu_forward(int64_t n, const float* gate, const float* up, float* out, NativeStream s);
  virtual void swiglu_backward(int64_t n, const float* gate, const float* up, const float* dout, float* dgate,
                               float* dup, NativeStream s);
  virtual void embedding_forward(int64_t T, int64_t C, const int32_t* ids, const void* table, mor_dtype table_type,
                                 float* out, NativeStream s);
  virtual void embedding_backward(int64_t T, int64_t C, int64_t V, const int32_t* ids, const float* dout, float* dtable,
                                  NativeStream s);
  virtual void cross_entropy(int64_t T, int64_t V, float* logits, const int32_t* targets, int32_t ignore_index,
                             float* losses, float grad_scale, NativeStream s);
  virtual void adamw(int64_t n, float* params, const float* grads, float* m, float* v, const AdamWArgs& hp,
                     NativeStream s);
  virtual double sum_squares(int64_t n, const float* x, NativeStream s);  // synchronous
  virtual void axpy(int64_t n, float alpha, const float* x, float* y, NativeStream s);
  virtual void scale(int64_t n, float alpha, float* x, NativeStream s);
  // out[i] = keep(i) ? x[i] · inv_keep : 0 with keep(i) = dropout_keep(seed, offset + i, threshold)
  // (common/dropout_hash.h); x may alias out.
  virtual void dropout(int64_t n, uint64_t threshold, float inv_keep, uint64_t seed, uint64_t offset, const float* x,
                       float* out, NativeStream s);
};

}  // namespace mor
