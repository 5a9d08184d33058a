// CPU attention: per (batch, head) and per block of query rows, the scores are a GEMM (Q·Kᵀ), the
// softmax runs on the block's rows, and the output is a second GEMM (P·V); backward is five GEMMs per
// block with the probabilities recomputed from the saved log-sum-exp. On a CPU the kQueryBlock × kv_len
// score block fits in cache and BLAS does the FLOPs at full width — the tiled online-softmax form
// exists for GPUs, where the T×T matrix must not leave shared memory.
//
// The blocks are tasks on the thread pool, each running its GEMMs single-threaded (a GEMM inside a parallel
// loop runs inline, thread_pool.h): forward, one task per (batch, head, query block); backward, one task per
// (batch, head), which walks its query blocks in order. Query heads that share a key/value head (GQA) write
// their dK/dV to their own partial buffers, summed afterwards in head order — so every sum runs in an order
// fixed by the shape, and results are bit-identical whatever the thread count.
#include <algorithm>
#include <cmath>
#include <vector>

#include "cpu/cpu_backend.h"
#include "cpu/cpu_vector_math.h"
#include "cpu/thread_pool.h"

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

int64_t query_blocks(const AttentionArgs& a) { return (a.q_len + kQueryBlock - 1) / kQueryBlock; }

// A task's cost in the pool's element operations (thread_pool.h): its GEMM FLOPs at ~64 per element operation
// (BLAS runs far more FLOPs per cycle than a streaming loop), its softmax passes, and a fixed cost per GEMM call.
int64_t task_work(int64_t gemm_flops, int64_t score_elements, int64_t gemm_calls) {
  return gemm_flops / 64 + 4 * score_elements + 2000 * gemm_calls;
}

// A thread's score-sized scratch (kQueryBlock × kv_len floats), kept between calls so steps allocate nothing.
float* scratch(std::vector<float>& buffer, int64_t floats) {
  if (static_cast<int64_t>(buffer.size()) < floats) buffer.resize(static_cast<size_t>(floats));
  return buffer.data();
}
}  // namespace

void attention_forward(const AttentionArgs& a, const float* q, const float* k, const float* v, float* out, float* lse) {
  const int64_t D = a.head_dim, out_ld = a.q_heads * D, blocks = query_blocks(a);
  const int64_t rows_max = std::min(kQueryBlock, a.q_len);
  const int64_t work = task_work(4 * rows_max * a.kv_len * D, rows_max * a.kv_len, 2);
  parallel_for_each(a.batch * a.q_heads * blocks, work, [&](int64_t task) {
    const int64_t b = task / (a.q_heads * blocks), h = task / blocks % a.q_heads, t0 = task % blocks * kQueryBlock;
    const HeadView hv = head_view(a, q, k, v, b, h);
    const int64_t t1 = std::min(a.q_len, t0 + kQueryBlock), rows = t1 - t0, L = keys_for_block(a, t1);
    thread_local std::vector<float> buffer;
    float* s = scratch(buffer, rows * L);
    sgemm_f32(false, true, rows, L, D, a.scale, hv.q + t0 * hv.q_ld, hv.q_ld, hv.k, hv.kv_ld, 0.0f, s, L);
    for (int64_t i = 0; i < rows; ++i) {
      float* row = s + i * L;
      const int64_t last = last_key(a, t0 + i);
      const float m = max_lanes(row, last + 1);
      exp_shifted(row, last + 1, m);
      const float sum = sum_lanes(row, last + 1);
      const float inv = 1.0f / sum;
      for (int64_t j = 0; j <= last; ++j) row[j] *= inv;
      std::fill(row + last + 1, row + L, 0.0f);
      lse[(b * a.q_heads + h) * a.q_len + t0 + i] = m + std::log(sum);
    }
    sgemm_f32(false, false, rows, D, L, 1.0f, s, L, hv.v, hv.kv_ld, 0.0f,
              out + ((b * a.q_len + t0) * a.q_heads + h) * D, out_ld);
  });
}

void attention_backward(const AttentionArgs& a, const float* q, const float* k, const float* v,
                        const float* /*out: D_i comes from P and dP*/, const float* lse, const float* dout, float* dq,
                        float* dk, float* dv) {
  const int64_t D = a.head_dim, o_ld = a.q_heads * D, group = a.q_heads / a.kv_heads;
  const int64_t rows_max = std::min(kQueryBlock, a.q_len);
  // Grouped heads: each query head's dK/dV go to its own kv_len × D partials first.
  const int64_t partial_floats = a.kv_len * D;
  thread_local std::vector<float> partials;
  float* dkv_partials = group > 1 ? scratch(partials, 2 * a.batch * a.q_heads * partial_floats) : nullptr;

  const int64_t blocks = query_blocks(a);
  const int64_t work = task_work(10 * a.q_len * a.kv_len * D, 2 * a.q_len * a.kv_len, 5 * blocks);
  parallel_for_each(a.batch * a.q_heads, work, [&](int64_t task) {
    const int64_t b = task / a.q_heads, h = task % a.q_heads;
    const HeadView hv = head_view(a, q, k, v, b, h);
    const int64_t q_off = b * a.q_len * a.q_row_stride + h * D;
    float *dk_h = dk + (hv.k - k), *dv_h = dv + (hv.k - k);
    int64_t dkv_ld = hv.kv_ld;
    if (dkv_partials != nullptr) {
      dk_h = dkv_partials + 2 * task * partial_floats;
      dv_h = dk_h + partial_floats;
      dkv_ld = D;
      std::fill(dk_h, dk_h + 2 * partial_floats, 0.0f);
    }
    thread_local std::vector<float> buffer;
    float* p = scratch(buffer, 2 * rows_max * a.kv_len);
    float* ds = p + rows_max * a.kv_len;
    for (int64_t t0 = 0; t0 < a.q_len; t0 += kQueryBlock) {
      const int64_t t1 = std::min(a.q_len, t0 + kQueryBlock), rows = t1 - t0, L = keys_for_block(a, t1);
      const float* qb = hv.q + t0 * hv.q_ld;
      const float* dob = dout + ((b * a.q_len + t0) * a.q_heads + h) * D;
      // P = exp(scale·Q·Kᵀ − lse), zero past each row's last key.
      sgemm_f32(false, true, rows, L, D, a.scale, qb, hv.q_ld, hv.k, hv.kv_ld, 0.0f, p, L);
      // dP = dO·Vᵀ
      sgemm_f32(false, true, rows, L, D, 1.0f, dob, o_ld, hv.v, hv.kv_ld, 0.0f, ds, L);
      for (int64_t i = 0; i < rows; ++i) {
        float *pr = p + i * L, *dr = ds + i * L;
        const int64_t last = last_key(a, t0 + i);
        const float row_lse = lse[(b * a.q_heads + h) * a.q_len + t0 + i];
        // D_i = Σ_d dO·O, taken as Σ_j P·dP (equal, as O = P·V) so that it rounds like dP itself: with one
        // visible key dS is then exactly 0, as it is mathematically.
        exp_shifted(pr, last + 1, row_lse);
        const float di = dot_lanes(pr, dr, last + 1);
        for (int64_t j = 0; j <= last; ++j) dr[j] = pr[j] * (dr[j] - di) * a.scale;  // dS
        std::fill(pr + last + 1, pr + L, 0.0f);
        std::fill(dr + last + 1, dr + L, 0.0f);
      }
      sgemm_f32(true, false, L, D, rows, 1.0f, p, L, dob, o_ld, 1.0f, dv_h, dkv_ld);  // dV += Pᵀ·dO
      sgemm_f32(false, false, rows, D, L, 1.0f, ds, L, hv.k, hv.kv_ld, 1.0f, dq + q_off + t0 * hv.q_ld,
                hv.q_ld);                                                                // dQ += dS·K
      sgemm_f32(true, false, L, D, rows, 1.0f, ds, L, qb, hv.q_ld, 1.0f, dk_h, dkv_ld);  // dK += dSᵀ·Q
    }
  });
  if (dkv_partials == nullptr) return;

  // dK/dV of each key/value head += its query heads' partials, in head order; parallel over (batch, kv head, key).
  parallel_for_each(a.batch * a.kv_heads * a.kv_len, 4 * group * D, [&](int64_t item) {
    const int64_t b = item / (a.kv_heads * a.kv_len), kvh = item / a.kv_len % a.kv_heads, j = item % a.kv_len;
    const int64_t off = b * a.kv_batch_stride + j * a.kv_row_stride + kvh * D;
    for (int64_t g = 0; g < group; ++g) {
      const float* pk = dkv_partials + 2 * (b * a.q_heads + kvh * group + g) * partial_floats + j * D;
      const float* pv = pk + partial_floats;
      for (int64_t d = 0; d < D; ++d) dk[off + d] += pk[d], dv[off + d] += pv[d];
    }
  });
}

}  // namespace mor::cpu
