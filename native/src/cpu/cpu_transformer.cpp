// CPU transformer ops: the readable reference for the CUDA kernels. Every reduction runs in an order
// fixed by the data shape (never by the thread count), so results are bit-identical run to run.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "common/dropout_hash.h"
#include "common/float16.h"
#include "core/error.h"
#include "cpu/cpu_backend.h"
#include "cpu/cpu_vector_math.h"

namespace mor::cpu {

namespace {
constexpr int64_t kTokenChunk = 64;     // rows per partial sum in two-phase column reductions
constexpr int64_t kReduceChunk = 4096;  // elements per partial sum in sum_squares

float dot(const float* a, const float* b, int64_t n) {
  float s = 0.0f;
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}
}  // namespace

void rmsnorm_forward(int64_t T, int64_t C, float eps, const float* x, const float* w, float* y, float* rstd) {
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < T; ++t) {
    const float* xt = x + t * C;
    const float r = 1.0f / std::sqrt(dot(xt, xt, C) / static_cast<float>(C) + eps);
    rstd[t] = r;
    for (int64_t c = 0; c < C; ++c) y[t * C + c] = xt[c] * r * w[c];
  }
}

void rmsnorm_backward(int64_t T, int64_t C, const float* x, const float* w, const float* rstd, const float* dy,
                      float* dx, float* dw) {
  const int64_t chunks = (T + kTokenChunk - 1) / kTokenChunk;
  std::vector<float> partial(dw ? static_cast<size_t>(chunks * C) : 0, 0.0f);
#pragma omp parallel for schedule(static)
  for (int64_t ch = 0; ch < chunks; ++ch) {
    for (int64_t t = ch * kTokenChunk; t < std::min(T, (ch + 1) * kTokenChunk); ++t) {
      const float *xt = x + t * C, *dyt = dy + t * C;
      const float r = rstd[t];
      float wdx = 0.0f;  // Σ_c w_c dy_c x_c
      for (int64_t c = 0; c < C; ++c) wdx += w[c] * dyt[c] * xt[c];
      const float k = wdx * r * r * r / static_cast<float>(C);
      for (int64_t c = 0; c < C; ++c) dx[t * C + c] += w[c] * dyt[c] * r - xt[c] * k;
      if (dw)
        for (int64_t c = 0; c < C; ++c) partial[ch * C + c] += dyt[c] * xt[c] * r;
    }
  }
  if (dw)
    for (int64_t ch = 0; ch < chunks; ++ch)
      for (int64_t c = 0; c < C; ++c) dw[c] += partial[ch * C + c];
}

void rope(int64_t T, int64_t H, int64_t D, float* x, int64_t ld, const int32_t* positions, const float* inv_freq,
          bool inverse) {
  const int64_t half = D / 2;
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < T; ++t) {
    std::vector<float> cs(static_cast<size_t>(half)), sn(static_cast<size_t>(half));
    for (int64_t i = 0; i < half; ++i) {
      // F32 product as HF computes freqs; cos/sin in double so large positions stay accurate.
      const float angle = static_cast<float>(positions[t]) * inv_freq[i];
      cs[i] = static_cast<float>(std::cos(static_cast<double>(angle)));
      sn[i] = static_cast<float>(std::sin(static_cast<double>(angle))) * (inverse ? -1.0f : 1.0f);
    }
    for (int64_t h = 0; h < H; ++h) {
      float* v = x + t * ld + h * D;
      for (int64_t i = 0; i < half; ++i) {
        const float a = v[i], b = v[i + half];
        v[i] = a * cs[i] - b * sn[i];
        v[i + half] = b * cs[i] + a * sn[i];
      }
    }
  }
}

namespace {
constexpr int64_t kElementChunk = 16384;  // elements per task in the element-wise loops
}

void swiglu_forward(int64_t n, const float* gate, const float* up, float* out) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i += kElementChunk)
    swiglu_forward_range(std::min(kElementChunk, n - i), gate + i, up + i, out + i);
}

void swiglu_backward(int64_t n, const float* gate, const float* up, const float* dout, float* dgate, float* dup) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i += kElementChunk)
    swiglu_backward_range(std::min(kElementChunk, n - i), gate + i, up + i, dout + i, dgate + i, dup + i);
}

void embedding_forward(int64_t T, int64_t C, const int32_t* ids, const void* table, mor_dtype table_type, float* out) {
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < T; ++t) {
    const int64_t row = ids[t];
    for (int64_t c = 0; c < C; ++c)
      out[t * C + c] = table_type == MOR_DTYPE_BF16 ? bf16_to_f32(static_cast<const uint16_t*>(table)[row * C + c])
                                                    : static_cast<const float*>(table)[row * C + c];
  }
}

void embedding_backward(int64_t T, int64_t C, const int32_t* ids, const float* dout, float* dtable) {
  // Threads split the columns; each walks the tokens in order: deterministic, no atomics.
#pragma omp parallel for schedule(static)
  for (int64_t c0 = 0; c0 < C; c0 += 64) {
    const int64_t c1 = std::min(C, c0 + 64);
    for (int64_t t = 0; t < T; ++t)
      for (int64_t c = c0; c < c1; ++c) dtable[static_cast<int64_t>(ids[t]) * C + c] += dout[t * C + c];
  }
}

void cross_entropy(int64_t T, int64_t V, float* logits, const int32_t* targets, int32_t ignore_index, float* losses,
                   float grad_scale) {
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < T; ++t) {
    float* row = logits + t * V;
    const int32_t target = targets[t];
    if (target == ignore_index) {
      losses[t] = 0.0f;
      if (grad_scale != 0.0f) std::fill(row, row + V, 0.0f);
      continue;
    }
    float mx = row[0];
    for (int64_t j = 1; j < V; ++j) mx = std::max(mx, row[j]);
    const float target_logit = row[target];
    // exp (vectorised) then a double sum in index order. With a gradient the exps are made in place and the
    // gradient is exp / sum, no second exp; without one the logits must survive, so a per-thread copy is used.
    thread_local std::vector<float> scratch;
    float* e = row;
    if (grad_scale == 0.0f) {
      scratch.assign(row, row + V);
      e = scratch.data();
    }
    exp_shifted(e, V, mx);
    double sum = 0.0;
    for (int64_t j = 0; j < V; ++j) sum += e[j];
    losses[t] = mx + static_cast<float>(std::log(sum)) - target_logit;
    if (grad_scale != 0.0f) {
      const float k = grad_scale / static_cast<float>(sum);
      for (int64_t j = 0; j < V; ++j) row[j] *= k;
      row[target] -= grad_scale;
    }
  }
}

void adamw(int64_t n, float* p, const float* g, float* m, float* v, const AdamWArgs& hp) {
  const float bc1 = 1.0f - static_cast<float>(std::pow(static_cast<double>(hp.beta1), static_cast<double>(hp.step)));
  const float bc2 = 1.0f - static_cast<float>(std::pow(static_cast<double>(hp.beta2), static_cast<double>(hp.step)));
  const float decay = 1.0f - hp.lr * hp.weight_decay;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const float gi = g[i] * hp.grad_scale;
    m[i] = hp.beta1 * m[i] + (1.0f - hp.beta1) * gi;
    v[i] = hp.beta2 * v[i] + (1.0f - hp.beta2) * gi * gi;
    const float mhat = m[i] / bc1, vhat = v[i] / bc2;
    p[i] = p[i] * decay - hp.lr * mhat / (std::sqrt(vhat) + hp.eps);  // PyTorch AdamW order
  }
}

double sum_squares(int64_t n, const float* x) {
  const int64_t chunks = (n + kReduceChunk - 1) / kReduceChunk;
  std::vector<double> partial(static_cast<size_t>(chunks), 0.0);
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    double s = 0.0;
    for (int64_t i = c * kReduceChunk; i < std::min(n, (c + 1) * kReduceChunk); ++i)
      s += static_cast<double>(x[i]) * x[i];
    partial[c] = s;
  }
  double total = 0.0;
  for (double s : partial) total += s;
  return total;
}

void axpy(int64_t n, float alpha, const float* x, float* y) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

void scale(int64_t n, float alpha, float* x) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) x[i] *= alpha;
}

void dropout(int64_t n, uint64_t threshold, float inv_keep, uint64_t seed, uint64_t offset, const float* x,
             float* out) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i)
    out[i] = dropout_keep(seed, offset + static_cast<uint64_t>(i), threshold) ? x[i] * inv_keep : 0.0f;
}

}  // namespace mor::cpu
