// The CPU backend: host memory, synchronous "streams", BLAS GEMM and OpenMP kernels. It is the
// readable reference the CUDA backend is tested against, and a first-class training target.
#pragma once

#include "core/backend.h"

namespace mor::cpu {

void gemm(const GemmArgs& g);
// Row-major C[m×n] = alpha·op(A)·op(B) + beta·C on F32 host arrays (BLAS when loaded, else built in), for
// kernels that are GEMMs inside (attention).
void sgemm_f32(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
               const float* b, int64_t ldb, float beta, float* c, int64_t ldc);
// C[m×n] = alpha·X·Wᵀ + beta·C, X F32 [m×k] (rounded to BF16), W BF16 [n×k]: the few-row path (decode).
void gemm_rows_bf16_weight(int64_t m, int64_t n, int64_t k, float alpha, const float* x, int64_t ldx, const uint16_t* w,
                           int64_t ldw, float beta, float* c, int64_t ldc);

void gate_forward(const GateShape& sh, const float* hz, const float* omega_a, float* g, float* p);
void gate_backward(const GateShape& sh, const float* hz, const float* g, const float* omega_a, const float* dp,
                   float* dhz, float* domega_a);
void build_q(int64_t d_out, int64_t r, int64_t N, const float* b, const float* omega_b, float* q);
void reduce_dq(int64_t d_out, int64_t r, int64_t N, const float* dq, const float* b, const float* omega_b, float* db,
               float* domega_b);
void row_norm2(int64_t rows, int64_t cols, const void* w, mor_dtype w_type, float* out);
void dora_norm(int64_t d_out, int64_t r, float scale, const float* w_norm2, const float* b, const float* wat,
               const float* gram, float* norm);
void dora_scale_forward(int64_t T, int64_t d_out, const float* m, const float* norm, const float* u, float* y);
void dora_scale_backward(int64_t T, int64_t d_out, const float* m, const float* norm, const float* u, const float* dy,
                         float* du, float* dm);

void rmsnorm_forward(int64_t T, int64_t C, float eps, const float* x, const float* w, float* y, float* rstd);
void rmsnorm_backward(int64_t T, int64_t C, const float* x, const float* w, const float* rstd, const float* dy,
                      float* dx, float* dw);
void rope(int64_t T, int64_t H, int64_t D, float* x, int64_t ld, const int32_t* positions, const float* inv_freq,
          bool inverse);
void attention_forward(const AttentionArgs& a, const float* q, const float* k, const float* v, float* out, float* lse);
void attention_backward(const AttentionArgs& a, const float* q, const float* k, const float* v, const float* out,
                        const float* lse, const float* dout, float* dq, float* dk, float* dv);
void swiglu_forward(int64_t n, const float* gate, const float* up, float* out);
void swiglu_backward(int64_t n, const float* gate, const float* up, const float* dout, float* dgate, float* dup);
void embedding_forward(int64_t T, int64_t C, const int32_t* ids, const void* table, mor_dtype table_type, float* out);
void embedding_backward(int64_t T, int64_t C, const int32_t* ids, const float* dout, float* dtable);
void cross_entropy(int64_t T, int64_t V, float* logits, const int32_t* targets, int32_t ignore_index, float* losses,
                   float grad_scale);
void adamw(int64_t n, float* p, const float* g, float* m, float* v, const AdamWArgs& hp);
double sum_squares(int64_t n, const float* x);
void axpy(int64_t n, float alpha, const float* x, float* y);
void scale(int64_t n, float alpha, float* x);
void dropout(int64_t n, uint64_t threshold, float inv_keep, uint64_t seed, uint64_t offset, const float* x, float* out);

void fill(void* dst, mor_dtype t, int64_t count, double value);
void cast(void* dst, mor_dtype dst_type, const void* src, mor_dtype src_type, int64_t count);

}  // namespace mor::cpu
