// Host-side launchers of the CUDA kernels (elementwise.cu, mor.cu, dora.cu). Each queues its
// kernels on l.stream and checks every launch through l.check; none allocates. Ops that need a
// temporary (the two-phase reductions) take a backend-owned scratch of the size their
// *_scratch_bytes function asks for, used stream-ordered.
//
// Determinism: no kernel uses atomics. Every reduction has a fixed shape that depends only on the
// problem dimensions (token chunks of a constant size, warp butterflies, sequential loops), never
// on the GPU model, SM count or launch timing, so a run repeats bit for bit on the same GPU.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/backend.h"
#include "cuda/cuda_check.h"

namespace mor::cuda {

// ---- elementwise.cu ----
// Throws MOR_ERR_NO_DEVICE when this build holds no kernel image the device can run (a GPU older
// than the oldest compiled architecture), so that shows at context creation, not at the first op.
void check_kernel_image(int32_t device);
// Writes `count` copies of the low `elem_size` (2, 4 or 8) bytes of `pattern`.
void fill_pattern(const Launch& l, void* dst, size_t elem_size, uint64_t pattern, int64_t count);
// F32/F16/BF16 in any direction (not same-type: the caller copies), round to nearest even.
void cast(const Launch& l, void* dst, mor_dtype dst_type, const void* src, mor_dtype src_type, int64_t count);
// Rounds `batch` F32 rows×cols matrices (leading dimension ld, `stride` apart) to dst_type (F16 or
// BF16) into a dense buffer: matrix b, row i, column j lands at (b·rows + i)·cols + j.
void pack_rounded(const Launch& l, void* dst, mor_dtype dst_type, const float* src, int64_t rows, int64_t cols,
                  int64_t ld, int64_t stride, int64_t batch);
// C_b = beta·C_b for `batch` m×n matrices (ldc, stride_c); beta == 0 writes zeros without reading
// C (BLAS semantics). What a GEMM with k = 0 computes.
void scale_matrix(const Launch& l, void* c, mor_dtype c_type, int64_t m, int64_t n, int64_t ldc, int64_t stride_c,
                  int64_t batch, float beta);

// ---- mor.cu: the gated rank expansion shared by MoR and MoE-LoRA ----
void gate_forward(const Launch& l, const GateShape& sh, const float* hz, const float* omega_a, float* g, float* p);
size_t gate_backward_scratch_bytes(const GateShape& sh);
void gate_backward(const Launch& l, const GateShape& sh, const float* hz, const float* g, const float* omega_a,
                   const float* dp, float* dhz, float* domega_a, float* scratch);
void build_q(const Launch& l, int64_t d_out, int64_t r, int64_t N, const float* b, const float* omega_b, float* q);
void reduce_dq(const Launch& l, int64_t d_out, int64_t r, int64_t N, const float* dq, const float* b,
               const float* omega_b, float* db, float* domega_b);

// ---- dora.cu ----
void row_norm2(const Launch& l, int64_t rows, int64_t cols, const void* w, mor_dtype w_type, float* out);
void dora_norm(const Launch& l, int64_t d_out, int64_t r, float scale, const float* w_norm2, const float* b,
               const float* wat, const float* gram, float* norm);
void dora_scale_forward(const Launch& l, int64_t T, int64_t d_out, const float* m, const float* norm, const float* u,
                        float* y);
size_t dora_scale_backward_scratch_bytes(int64_t T, int64_t d_out);
void dora_scale_backward(const Launch& l, int64_t T, int64_t d_out, const float* m, const float* norm, const float* u,
                         const float* dy, float* du, float* dm, float* scratch);

}  // namespace mor::cuda
