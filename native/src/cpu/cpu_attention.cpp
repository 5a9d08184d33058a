// CPU attention: per (batch, head) and per block of query rows, the scores are a GEMM (Q·Kᵀ), the
// softmax runs on the block's rows, and the output is a second GEMM (P·V); backward is five GEMMs per
// block with the probabilities recomputed from the saved log-sum-exp. On a CPU the kQueryBlock × kv_len
// score block fits in cache and BLAS does the FLOPs at full width — the tiled online-softmax form
// exists for GPUs, where the T×T matrix must not leave shared memory.
//
// Heads and blocks run in a fixed order (the GEMMs use the BLAS threads), so dK/dV of grouped heads
// accumulate in the same order on every run: bit-identical results.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "cpu/cpu_backend.h"
#include "cpu/cpu_vector_math.h"

namespace mor::cpu {

namespace {
constexpr int64_t kQueryBlock = 128;

// The last key position query row t of a q_len-row block may attend to (causal: its own position).
int64_t last_key(const AttentionArgs& a, int64_t t) { return a.causal ? a.kv_len - a.q_len + t : a.kv_len - 1; }

// Keys a block of query rows [t0, t1) needs: up to the last row's last key.
int64_t keys_for_block(const AttentionArgs& a, int64_t t1) { return last_key(a, t1 - 1) + 1; }

struct HeadView {
  const float *q, *k, *v;
  int64_t q_ld, kv_ld;
};

HeadView head_view(const AttentionArgs& a, const float* q, const float* k, const float* v, int64_t b, int64_t h) {
  const int64_t kvh = h / (a.q_heads / a.kv_heads);
  const int64_t kv_off = b * a.kv_batch_stride + kvh * a.head_dim;
  return {q + b * a.q_len * a.q_row_stride + h * a.head_dim, k + kv_off, v + kv_off, a.q_row_stride, a.kv_row_stride};
}
}  // namespace

void attention_forward(const AttentionArgs& a, const float* q, const float* k, const float* v, float* out, float* lse) {
  const int64_t D = a.head_dim, out_ld = a.q_heads * D;
  std::vector<float> scores(static_cast<size_t>(std::min(kQueryBlock, a.q_len) * a.kv_len));
  for (int64_t b = 0; b < a.batch; ++b)
    for (int64_t h = 0; h < a.q_heads; ++h) {
      const HeadView hv = head_view(a, q, k, v, b, h);
      for (int64_t t0 = 0; t0 < a.q_len; t0 += kQueryBlock) {
        const int64_t t1 = std::min(a.q_len, t0 + kQueryBlock), rows = t1 - t0, L = keys_for_block(a, t1);
        float* s = scores.data();
        sgemm_f32(false, true, rows, L, D, a.scale, hv.q + t0 * hv.q_ld, hv.q_ld, hv.k, hv.kv_ld, 0.0f, s, L);
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < rows; ++i) {
          float* row = s + i * L;
          const int64_t last = last_key(a, t0 + i);
          float m = -std::numeric_limits<float>::infinity();
          for (int64_t j = 0; j <= last; ++j) m = std::max(m, row[j]);
          exp_shifted(row, last + 1, m);
          float sum = 0.0f;
          for (int64_t j = 0; j <= last; ++j) sum += row[j];
          const float inv = 1.0f / sum;
          for (int64_t j = 0; j <= last; ++j) row[j] *= inv;
          std::fill(row + last + 1, row + L, 0.0f);
          lse[(b * a.q_heads + h) * a.q_len + t0 + i] = m + std::log(sum);
        }
        sgemm_f32(false, false, rows, D, L, 1.0f, s, L, hv.v, hv.kv_ld, 0.0f,
                  out + ((b * a.q_len + t0) * a.q_heads + h) * D, out_ld);
      }
    }
}

void attention_backward(const AttentionArgs& a, const float* q, const float* k, const float* v,
                        const float* /*out: D_i comes from P and dP*/, const float* lse, const float* dout, float* dq,
                        float* dk, float* dv) {
  const int64_t D = a.head_dim, o_ld = a.q_heads * D;
  const size_t block = static_cast<size_t>(std::min(kQueryBlock, a.q_len) * a.kv_len);
  std::vector<float> p(block), ds(block);
  for (int64_t b = 0; b < a.batch; ++b)
    for (int64_t h = 0; h < a.q_heads; ++h) {
      const HeadView hv = head_view(a, q, k, v, b, h);
      const int64_t q_off = b * a.q_len * a.q_row_stride + h * D;
      const int64_t kv_off = hv.k - k;
      for (int64_t t0 = 0; t0 < a.q_len; t0 += kQueryBlock) {
        const int64_t t1 = std::min(a.q_len, t0 + kQueryBlock), rows = t1 - t0, L = keys_for_block(a, t1);
        const float* qb = hv.q + t0 * hv.q_ld;
        const float* dob = dout + ((b * a.q_len + t0) * a.q_heads + h) * D;
        // P = exp(scale·Q·Kᵀ − lse), zero past each row's last key.
        sgemm_f32(false, true, rows, L, D, a.scale, qb, hv.q_ld, hv.k, hv.kv_ld, 0.0f, p.data(), L);
        // dP = dO·Vᵀ
        sgemm_f32(false, true, rows, L, D, 1.0f, dob, o_ld, hv.v, hv.kv_ld, 0.0f, ds.data(), L);
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < rows; ++i) {
          float *pr = p.data() + i * L, *dr = ds.data() + i * L;
          const int64_t last = last_key(a, t0 + i);
          const float row_lse = lse[(b * a.q_heads + h) * a.q_len + t0 + i];
          // D_i = Σ_d dO·O, taken as Σ_j P·dP (equal, as O = P·V) so that it rounds like dP itself: with one
          // visible key dS is then exactly 0, as it is mathematically.
          exp_shifted(pr, last + 1, row_lse);
          float di = 0.0f;
          for (int64_t j = 0; j <= last; ++j) di += pr[j] * dr[j];
          for (int64_t j = 0; j <= last; ++j) dr[j] = pr[j] * (dr[j] - di) * a.scale;  // dS
          std::fill(pr + last + 1, pr + L, 0.0f);
          std::fill(dr + last + 1, dr + L, 0.0f);
        }
        sgemm_f32(true, false, L, D, rows, 1.0f, p.data(), L, dob, o_ld, 1.0f, dv + kv_off, hv.kv_ld);  // dV += Pᵀ·dO
        sgemm_f32(false, false, rows, D, L, 1.0f, ds.data(), L, hv.k, hv.kv_ld, 1.0f, dq + q_off + t0 * hv.q_ld,
                  hv.q_ld);  // dQ += dS·K
        sgemm_f32(true, false, L, D, rows, 1.0f, ds.data(), L, qb, hv.q_ld, 1.0f, dk + kv_off,
                  hv.kv_ld);  // dK += dSᵀ·Q
      }
    }
}

}  // namespace mor::cpu
