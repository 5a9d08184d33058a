// CPU transformer ops: the readable reference for the CUDA kernels. Loops run on the thread pool
// (thread_pool.h); every reduction runs in an order fixed by the data shape (never by the thread count), so
// results are bit-identical run to run.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "common/dropout_hash.h"
#include "common/float16.h"
#include "core/error.h"
#include "cpu/cpu_backend.h"
#include "cpu/cpu_vector_math.h"
#include "cpu/thread_pool.h"

namespace mor::cpu {

namespace {
constexpr int64_t kTokenChunk = 64;       // rows per partial sum in two-phase column reductions
constexpr int64_t kReduceChunk = 4096;    // elements per partial sum in sum_squares
constexpr int64_t kElementChunk = 16384;  // elements per chunk in the element-wise loops

}  // namespace

void rmsnorm_forward(int64_t T, int64_t C, float eps, const float* x, const float* w, float* y, float* rstd) {
  parallel_for_each(T, 3 * C, [&](int64_t t) {
    const float* xt = x + t * C;
    const float r = 1.0f / std::sqrt(dot_lanes(xt, xt, C) / static_cast<float>(C) + eps);
    rstd[t] = r;
    for (int64_t c = 0; c < C; ++c) y[t * C + c] = xt[c] * r * w[c];
  });
}

void rmsnorm_backward(int64_t T, int64_t C, const float* x, const float* w, const float* rstd, const float* dy,
                      float* dx, float* dw) {
  const int64_t chunks = (T + kTokenChunk - 1) / kTokenChunk;
  std::vector<float> partial(dw ? static_cast<size_t>(chunks * C) : 0, 0.0f);
  parallel_for_each(chunks, kTokenChunk * 8 * C, [&](int64_t ch) {
    for (int64_t t = ch * kTokenChunk; t < std::min(T, (ch + 1) * kTokenChunk); ++t) {
      const float *xt = x + t * C, *dyt = dy + t * C;
      const float r = rstd[t];
      const float wdx = dot3_lanes(w, dyt, xt, C);  // Σ_c w_c dy_c x_c
      const float k = wdx * r * r * r / static_cast<float>(C);
      for (int64_t c = 0; c < C; ++c) dx[t * C + c] += w[c] * dyt[c] * r - xt[c] * k;
      if (dw)
        for (int64_t c = 0; c < C; ++c) partial[ch * C + c] += dyt[c] * xt[c] * r;
    }
  });
  if (dw)
    for (int64_t ch = 0; ch < chunks; ++ch)
      for (int64_t c = 0; c < C; ++c) dw[c] += partial[ch * C + c];
}

namespace {
// cos and sin of position·inv_freq[i] for positions 0..positions-1 (row-major, `half` per position). RoPE runs
// on q and k of every layer, forward and backward, with the same frequencies and positions 0..seq-1 each time,
// so the table is built once per calling thread and reused while the frequencies are unchanged: the trig
// (in double, so large positions stay accurate) otherwise costs more than the rotation itself.
struct RopeTable {
  std::vector<float> inv_freq, cos, sin;
  int64_t positions = 0;
};

void rope_angles(int64_t half, const float* inv_freq, int32_t position, float* cs, float* sn) {
  for (int64_t i = 0; i < half; ++i) {
    // F32 product as HF computes freqs; cos/sin in double.
    const float angle = static_cast<float>(position) * inv_freq[i];
    cs[i] = static_cast<float>(std::cos(static_cast<double>(angle)));
    sn[i] = static_cast<float>(std::sin(static_cast<double>(angle)));
  }
}

const RopeTable& rope_table(int64_t half, const float* inv_freq, int64_t positions) {
  thread_local RopeTable table;
  const bool same_freq = static_cast<int64_t>(table.inv_freq.size()) == half &&
                         std::memcmp(table.inv_freq.data(), inv_freq, static_cast<size_t>(half) * sizeof(float)) == 0;
  if (same_freq && table.positions >= positions) return table;
  table.inv_freq.assign(inv_freq, inv_freq + half);
  table.positions = positions;
  table.cos.resize(static_cast<size_t>(positions * half));
  table.sin.resize(static_cast<size_t>(positions * half));
  // Pointers, not `table`: a thread_local named inside the lambda would be each worker's own (empty) table.
  float *cs = table.cos.data(), *sn = table.sin.data();
  parallel_for_each(positions, 40 * half, [&](int64_t p) {
    rope_angles(half, inv_freq, static_cast<int32_t>(p), cs + p * half, sn + p * half);
  });
  return table;
}

void rotate(int64_t H, int64_t D, float* xt, const float* cs, const float* sn, float sign) {
  const int64_t half = D / 2;
  for (int64_t h = 0; h < H; ++h) {
    float* v = xt + h * D;
    for (int64_t i = 0; i < half; ++i) {
      const float a = v[i], b = v[i + half], s = sn[i] * sign;
      v[i] = a * cs[i] - b * s;
      v[i + half] = b * cs[i] + a * s;
    }
  }
}
}  // namespace

void rope(int64_t T, int64_t H, int64_t D, float* x, int64_t ld, const int32_t* positions, const float* inv_freq,
          bool inverse) {
  const int64_t half = D / 2;
  const float sign = inverse ? -1.0f : 1.0f;
  int32_t lowest = 0, highest = 0;
  for (int64_t t = 0; t < T; ++t) lowest = std::min(lowest, positions[t]), highest = std::max(highest, positions[t]);
  // A table when the positions are few compared with the tokens (training: 0..seq-1 per sequence).
  if (lowest >= 0 && highest < 2 * T + 4096) {
    const RopeTable& table = rope_table(half, inv_freq, int64_t{highest} + 1);
    parallel_for_each(T, 3 * H * D, [&](int64_t t) {
      const int64_t p = positions[t];
      rotate(H, D, x + t * ld, &table.cos[p * half], &table.sin[p * half], sign);
    });
    return;
  }
  parallel_for(T, grain_for(3 * H * D + 40 * half), [&](int64_t t0, int64_t t1) {
    std::vector<float> cs(static_cast<size_t>(half)), sn(static_cast<size_t>(half));
    for (int64_t t = t0; t < t1; ++t) {
      rope_angles(half, inv_freq, positions[t], cs.data(), sn.data());
      rotate(H, D, x + t * ld, cs.data(), sn.data(), sign);
    }
  });
}

void swiglu_forward(int64_t n, const float* gate, const float* up, float* out) {
  parallel_for(n, kElementChunk,
               [&](int64_t i, int64_t end) { swiglu_forward_range(end - i, gate + i, up + i, out + i); });
}

void swiglu_backward(int64_t n, const float* gate, const float* up, const float* dout, float* dgate, float* dup) {
  parallel_for(n, kElementChunk, [&](int64_t i, int64_t end) {
    swiglu_backward_range(end - i, gate + i, up + i, dout + i, dgate + i, dup + i);
  });
}

void embedding_forward(int64_t T, int64_t C, const int32_t* ids, const void* table, mor_dtype table_type, float* out) {
  parallel_for_each(T, C, [&](int64_t t) {
    const int64_t row = ids[t];
    if (table_type == MOR_DTYPE_BF16) {
      const uint16_t* src = static_cast<const uint16_t*>(table) + row * C;
      for (int64_t c = 0; c < C; ++c) out[t * C + c] = bf16_to_f32(src[c]);
    } else {
      std::memcpy(out + t * C, static_cast<const float*>(table) + row * C, static_cast<size_t>(C) * sizeof(float));
    }
  });
}

void embedding_backward(int64_t T, int64_t C, const int32_t* ids, const float* dout, float* dtable) {
  // Threads split the columns; each walks the tokens in order: deterministic, no atomics.
  parallel_for_each((C + 63) / 64, 64 * T, [&](int64_t block) {
    const int64_t c0 = block * 64, c1 = std::min(C, c0 + 64);
    for (int64_t t = 0; t < T; ++t)
      for (int64_t c = c0; c < c1; ++c) dtable[static_cast<int64_t>(ids[t]) * C + c] += dout[t * C + c];
  });
}

void cross_entropy(int64_t T, int64_t V, float* logits, const int32_t* targets, int32_t ignore_index, float* losses,
                   float grad_scale) {
  parallel_for_each(T, 6 * V, [&](int64_t t) {
    float* row = logits + t * V;
    const int32_t target = targets[t];
    if (target == ignore_index) {
      losses[t] = 0.0f;
      if (grad_scale != 0.0f) std::fill(row, row + V, 0.0f);
      return;
    }
    const float mx = max_lanes(row, V);
    const float target_logit = row[target];
    // exp (vectorised) then a double sum in fixed lanes (cpu_vector_math.h). With a gradient the exps are made in place
    // and the gradient is exp / sum, no second exp; without one the logits must survive, so a per-thread copy is used.
    thread_local std::vector<float> scratch;
    float* e = row;
    if (grad_scale == 0.0f) {
      scratch.assign(row, row + V);
      e = scratch.data();
    }
    exp_shifted(e, V, mx);
    const double sum = sum_lanes_f64(e, V);
    losses[t] = mx + static_cast<float>(std::log(sum)) - target_logit;
    if (grad_scale != 0.0f) {
      const float k = grad_scale / static_cast<float>(sum);
      for (int64_t j = 0; j < V; ++j) row[j] *= k;
      row[target] -= grad_scale;
    }
  });
}

void adamw(int64_t n, float* p, const float* g, float* m, float* v, const AdamWArgs& hp) {
  const float bc1 = 1.0f - static_cast<float>(std::pow(static_cast<double>(hp.beta1), static_cast<double>(hp.step)));
  const float bc2 = 1.0f - static_cast<float>(std::pow(static_cast<double>(hp.beta2), static_cast<double>(hp.step)));
  const float decay = 1.0f - hp.lr * hp.weight_decay;
  parallel_for(n, kElementChunk / 4, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float gi = g[i] * hp.grad_scale;
      m[i] = hp.beta1 * m[i] + (1.0f - hp.beta1) * gi;
      v[i] = hp.beta2 * v[i] + (1.0f - hp.beta2) * gi * gi;
      const float mhat = m[i] / bc1, vhat = v[i] / bc2;
      p[i] = p[i] * decay - hp.lr * mhat / (std::sqrt(vhat) + hp.eps);  // PyTorch AdamW order
    }
  });
}

double sum_squares(int64_t n, const float* x) {
  const int64_t chunks = (n + kReduceChunk - 1) / kReduceChunk;
  std::vector<double> partial(static_cast<size_t>(chunks), 0.0);
  parallel_for_each(chunks, 2 * kReduceChunk, [&](int64_t c) {
    double s = 0.0;
    for (int64_t i = c * kReduceChunk; i < std::min(n, (c + 1) * kReduceChunk); ++i)
      s += static_cast<double>(x[i]) * x[i];
    partial[c] = s;
  });
  double total = 0.0;
  for (double s : partial) total += s;
  return total;
}

void axpy(int64_t n, float alpha, const float* x, float* y) {
  parallel_for(n, kElementChunk, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) y[i] += alpha * x[i];
  });
}

void scale(int64_t n, float alpha, float* x) {
  parallel_for(n, kElementChunk, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) x[i] *= alpha;
  });
}

void dropout(int64_t n, uint64_t threshold, float inv_keep, uint64_t seed, uint64_t offset, const float* x,
             float* out) {
  parallel_for(n, kElementChunk / 4, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      out[i] = dropout_keep(seed, offset + static_cast<uint64_t>(i), threshold) ? x[i] * inv_keep : 0.0f;
  });
}

}  // namespace mor::cpu
