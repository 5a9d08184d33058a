// The CPU backend: host memory, synchronous "streams", BLAS GEMM and OpenMP kernels. It is the
// readable reference the CUDA backend is tested against, and a first-class training target.
#pragma once

#include "core/backend.h"

namespace mor::cpu {

void gemm(const GemmArgs& g);

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

void fill(void* dst, mor_dtype t, int64_t count, double value);
void cast(void* dst, mor_dtype dst_type, const void* src, mor_dtype src_type, int64_t count);

}  // namespace mor::cpu
