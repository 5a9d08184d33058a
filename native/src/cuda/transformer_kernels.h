// Host-side launchers of the transformer-op kernels (transformer.cu), in the style of kernels.h:
// each queues its kernels on l.stream and checks every launch through l.check; none allocates.
// Ops that need a temporary take a backend-owned scratch of at least the size their
// *_scratch_bytes function returns, used stream-ordered. Semantics are exactly those of the CPU
// reference (cpu/cpu_transformer.cpp); every *_backward ACCUMULATES into its outputs.
//
// Determinism: no kernel uses float atomics. Every reduction has a fixed shape that depends only on
// the problem dimensions (64-token chunks, 4096-element chunks, warp butterflies, loops in index
// order), never on the GPU model or on timing, so a run repeats bit for bit on the same GPU.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/backend.h"
#include "cuda/cuda_check.h"

namespace mor::cuda {

// ---- RMSNorm ----
void rmsnorm_forward(const Launch& l, int64_t T, int64_t C, float eps, const float* x, const float* w, float* y,
                     float* rstd);
// Scratch only when dw != nullptr (per-64-token-chunk partial sums of dw).
size_t rmsnorm_backward_scratch_bytes(int64_t T, int64_t C);
void rmsnorm_backward(const Launch& l, int64_t T, int64_t C, const float* x, const float* w, const float* rstd,
                      const float* dy, float* dx, float* dw, float* scratch);

// ---- RoPE (in place; x already offset, row t at x + t·ld) ----
void rope(const Launch& l, int64_t T, int64_t H, int64_t D, float* x, int64_t ld, const int32_t* positions,
          const float* inv_freq, bool inverse);

// ---- attention (pointers already offset, see AttentionArgs). head_dim <= 256. ----
void attention_forward(const Launch& l, const AttentionArgs& a, const float* q, const float* k, const float* v,
                       float* out, float* lse);
// Scratch: D_i = Σ_d dout·out per (batch, q head, query), batch×q_heads×q_len floats.
size_t attention_backward_scratch_bytes(const AttentionArgs& a);
void attention_backward(const Launch& l, const AttentionArgs& a, const float* q, const float* k, const float* v,
                        const float* out, const float* lse, const float* dout, float* dq, float* dk, float* dv,
                        float* scratch);

// ---- SwiGLU ----
void swiglu_forward(const Launch& l, int64_t n, const float* gate, const float* up, float* out);
void swiglu_backward(const Launch& l, int64_t n, const float* gate, const float* up, const float* dout, float* dgate,
                     float* dup);

// ---- embedding ----
void embedding_forward(const Launch& l, int64_t T, int64_t C, const int32_t* ids, const void* table,
                       mor_dtype table_type, float* out);
// Scratch: a stable radix sort of (id, token) pairs (cub) plus its temporary storage.
size_t embedding_backward_scratch_bytes(int64_t T, int64_t V);
void embedding_backward(const Launch& l, int64_t T, int64_t C, int64_t V, const int32_t* ids, const float* dout,
                        float* dtable, void* scratch, size_t scratch_bytes);

// ---- fused cross-entropy (losses, and the in-place gradient when grad_scale != 0) ----
void cross_entropy(const Launch& l, int64_t T, int64_t V, float* logits, const int32_t* targets, int32_t ignore_index,
                   float* losses, float grad_scale);

// ---- optimizer and reductions ----
void adamw(const Launch& l, int64_t n, float* params, const float* grads, float* m, float* v, const AdamWArgs& hp);
// Per-4096-element double partials, then one block sums them in order. Synchronous: copies the
// result to the host and waits for l.stream.
size_t sum_squares_scratch_bytes(int64_t n);
double sum_squares(const Launch& l, int64_t n, const float* x, void* scratch);
void axpy(const Launch& l, int64_t n, float alpha, const float* x, float* y);
void scale(const Launch& l, int64_t n, float alpha, float* x);
// Counter-based dropout (common/dropout_hash.h), bit-identical to the CPU backend's; x may alias out.
void dropout(const Launch& l, int64_t n, uint64_t threshold, float inv_keep, uint64_t seed, uint64_t offset,
             const float* x, float* out);

}  // namespace mor::cuda
