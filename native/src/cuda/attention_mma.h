// Tensor-core (BF16 mma.sync, F32 accumulation) flash attention for sm_80+: the fast path behind
// cuda::attention_forward/backward (transformer.cu), taken only when the problem fits it and the
// caller allows reduced precision (see attention_mma_selected). Same semantics, layouts and
// outputs as the F32 kernels; inputs are F32 and rounded to BF16 as tiles enter shared memory.
// Deterministic: no atomics, every reduction order depends on the shapes only.
#pragma once

#include <cstdint>

#include "core/backend.h"
#include "cuda/cuda_check.h"

namespace mor::cuda {

// True when the BF16 kernels run this problem: AttentionArgs::reduced_precision set (the context's
// mor_context_set_allow_tf32), MOR_ATTENTION != "f32", a device of compute capability >= 8.0,
// head_dim 64 or 128, q_len >= 16 (decode-sized problems stay on the exact F32 kernels), row and
// batch strides that are multiples of 4 floats and 16-byte aligned pointers (float4 loads).
bool attention_mma_selected(const AttentionArgs& a, bool aligned_ptrs);

void attention_mma_forward(const Launch& l, const AttentionArgs& a, const float* q, const float* k, const float* v,
                           float* out, float* lse);

// di: D_i = Σ_d dout·out per (batch, q head, query) at (b·q_heads + h)·q_len + t, already computed.
// Accumulates into dq, dk and dv.
void attention_mma_backward(const Launch& l, const AttentionArgs& a, const float* q, const float* k, const float* v,
                            const float* dout, const float* lse, const float* di, float* dq, float* dk, float* dv);

}  // namespace mor::cuda
