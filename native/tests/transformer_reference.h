// Float64 references for the transformer ops, written the naive way (attention materialises the
// full score matrix) so they share nothing with the library's fused/online implementations.
#pragma once

#include <cmath>
#include <vector>

#include "reference.h"

namespace ref {

inline Vec rmsnorm(int64_t T, int64_t C, double eps, const Vec& x, const Vec& w) {
  Vec y(x.size());
  for (int64_t t = 0; t < T; ++t) {
    double ms = 0;
    for (int64_t c = 0; c < C; ++c) ms += x[t * C + c] * x[t * C + c];
    const double r = 1.0 / std::sqrt(ms / C + eps);
    for (int64_t c = 0; c < C; ++c) y[t * C + c] = x[t * C + c] * r * w[c];
  }
  return y;
}

// Rotation of T rows of H heads (dense, ld = H·D) by positions·inv_freq; sign -1 = inverse.
inline Vec rope(int64_t T, int64_t H, int64_t D, const Vec& x, const std::vector<int32_t>& pos,
                const std::vector<float>& inv_freq, double sign = 1.0) {
  Vec y(x);
  const int64_t half = D / 2;
  for (int64_t t = 0; t < T; ++t)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < half; ++i) {
        const double angle = (double)(float)((float)pos[t] * inv_freq[i]);
        const double c = std::cos(angle), s = sign * std::sin(angle);
        const double a = x[t * H * D + h * D + i], b = x[t * H * D + h * D + i + half];
        y[t * H * D + h * D + i] = a * c - b * s;
        y[t * H * D + h * D + i + half] = b * c + a * s;
      }
  return y;
}

// Dense causal GQA attention: q B×Tq×Hq×D, k/v B×Tk×Hkv×D, out B×Tq×Hq×D.
inline Vec attention(int64_t B, int64_t Tq, int64_t Tk, int64_t Hq, int64_t Hkv, int64_t D, double scale, bool causal,
                     const Vec& q, const Vec& k, const Vec& v) {
  Vec out((size_t)(B * Tq * Hq * D), 0.0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < Hq; ++h) {
      const int64_t kvh = h / (Hq / Hkv);
      for (int64_t t = 0; t < Tq; ++t) {
        Vec s((size_t)Tk, -INFINITY);
        double mx = -INFINITY;
        for (int64_t j = 0; j < Tk; ++j) {
          if (causal && j > Tk - Tq + t) continue;
          double d = 0;
          for (int64_t e = 0; e < D; ++e)
            d += q[((b * Tq + t) * Hq + h) * D + e] * k[((b * Tk + j) * Hkv + kvh) * D + e];
          s[j] = scale * d;
          mx = std::max(mx, s[j]);
        }
        double sum = 0;
        for (auto& x : s) sum += x = std::exp(x - mx);
        for (int64_t j = 0; j < Tk; ++j)
          for (int64_t e = 0; e < D; ++e)
            out[((b * Tq + t) * Hq + h) * D + e] += s[j] / sum * v[((b * Tk + j) * Hkv + kvh) * D + e];
      }
    }
  return out;
}

inline Vec swiglu(const Vec& gate, const Vec& up) {
  Vec y(gate.size());
  for (size_t i = 0; i < y.size(); ++i) y[i] = gate[i] / (1 + std::exp(-gate[i])) * up[i];
  return y;
}

// Mean-free per-row cross-entropy losses (0 where ignored).
inline Vec cross_entropy(int64_t T, int64_t V, const Vec& logits, const std::vector<int32_t>& targets, int32_t ignore) {
  Vec loss((size_t)T, 0.0);
  for (int64_t t = 0; t < T; ++t) {
    if (targets[t] == ignore) continue;
    double mx = -INFINITY, sum = 0;
    for (int64_t j = 0; j < V; ++j) mx = std::max(mx, logits[t * V + j]);
    for (int64_t j = 0; j < V; ++j) sum += std::exp(logits[t * V + j] - mx);
    loss[t] = mx + std::log(sum) - logits[t * V + targets[t]];
  }
  return loss;
}

// Central differences of L = Σ f(x)·R with respect to x.
template <typename F>
Vec numeric_grad(const F& f, Vec x, const Vec& R, double eps = 1e-6) {
  Vec g(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double keep = x[i];
    x[i] = keep + eps;
    Vec yp = f(x);
    x[i] = keep - eps;
    Vec ym = f(x);
    x[i] = keep;
    double d = 0;
    for (size_t j = 0; j < yp.size(); ++j) d += (yp[j] - ym[j]) * R[j];
    g[i] = d / (2 * eps);
  }
  return g;
}

}  // namespace ref
