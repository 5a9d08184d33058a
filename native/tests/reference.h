// Float64 references for every op, written from the per-token formulas of MOR.md (sums over experts
// and ranks spelled out), NOT from the rank-expanded GEMM form the library uses, so the two are
// independent. The references are themselves checked against central finite differences.
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

namespace ref {

using Vec = std::vector<double>;

// C[m×n] = op(A)·op(B), row-major, dense (ld = stored cols).
inline Vec gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const Vec& a, const Vec& b) {
  Vec c((size_t)(m * n), 0.0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t p = 0; p < k; ++p) s += (ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);
      c[i * n + j] = s;
    }
  return c;
}

struct Dims {
  int64_t T, d_in, d_out, r, N;
  double s;
};

inline Vec softmax_row(const double* z, int64_t N) {
  double mx = z[0];
  for (int64_t i = 1; i < N; ++i) mx = std::max(mx, z[i]);
  Vec g((size_t)N);
  double sum = 0;
  for (int64_t i = 0; i < N; ++i) sum += g[i] = std::exp(z[i] - mx);
  for (auto& v : g) v /= sum;
  return g;
}

// ---- LoRA: y = s·B(A x). Params {A r×d_in, B d_out×r}. ----
inline Vec lora_forward(const Dims& d, const std::vector<Vec>& p, const Vec& x) {
  const Vec &A = p[0], &B = p[1];
  Vec y((size_t)(d.T * d.d_out), 0.0);
  for (int64_t t = 0; t < d.T; ++t) {
    Vec h((size_t)d.r, 0.0);
    for (int64_t k = 0; k < d.r; ++k)
      for (int64_t c = 0; c < d.d_in; ++c) h[k] += A[k * d.d_in + c] * x[t * d.d_in + c];
    for (int64_t j = 0; j < d.d_out; ++j)
      for (int64_t k = 0; k < d.r; ++k) y[t * d.d_out + j] += d.s * B[j * d.r + k] * h[k];
  }
  return y;
}
// Returns {dA, dB, dx}.
inline std::vector<Vec> lora_backward(const Dims& d, const std::vector<Vec>& p, const Vec& x, const Vec& dy) {
  const Vec &A = p[0], &B = p[1];
  Vec dA(A.size(), 0.0), dB(B.size(), 0.0), dx(x.size(), 0.0);
  for (int64_t t = 0; t < d.T; ++t) {
    Vec h((size_t)d.r, 0.0), dh((size_t)d.r, 0.0);
    for (int64_t k = 0; k < d.r; ++k)
      for (int64_t c = 0; c < d.d_in; ++c) h[k] += A[k * d.d_in + c] * x[t * d.d_in + c];
    for (int64_t j = 0; j < d.d_out; ++j)
      for (int64_t k = 0; k < d.r; ++k) {
        dB[j * d.r + k] += d.s * dy[t * d.d_out + j] * h[k];
        dh[k] += d.s * dy[t * d.d_out + j] * B[j * d.r + k];
      }
    for (int64_t k = 0; k < d.r; ++k)
      for (int64_t c = 0; c < d.d_in; ++c) {
        dA[k * d.d_in + c] += dh[k] * x[t * d.d_in + c];
        dx[t * d.d_in + c] += dh[k] * A[k * d.d_in + c];
      }
  }
  return {dA, dB, dx};
}

// ---- MoR. Params {A r×d_in, W_g N×d_in, ω_A N×r, B d_out×r, ω_B N×d_out}. ----
struct MorToken {
  Vec h, g;
};
inline MorToken mor_token(const Dims& d, const std::vector<Vec>& p, const double* x) {
  const Vec &A = p[0], &Wg = p[1];
  MorToken tk{Vec((size_t)d.r, 0.0), Vec()};
  Vec z((size_t)d.N, 0.0);
  for (int64_t c = 0; c < d.d_in; ++c) {
    for (int64_t k = 0; k < d.r; ++k) tk.h[k] += A[k * d.d_in + c] * x[c];
    for (int64_t i = 0; i < d.N; ++i) z[i] += Wg[i * d.d_in + c] * x[c];
  }
  tk.g = softmax_row(z.data(), d.N);
  return tk;
}
inline Vec mor_forward(const Dims& d, const std::vector<Vec>& p, const Vec& x) {
  const Vec &wA = p[2], &B = p[3], &wB = p[4];
  Vec y((size_t)(d.T * d.d_out), 0.0);
  for (int64_t t = 0; t < d.T; ++t) {
    MorToken tk = mor_token(d, p, &x[t * d.d_in]);
    for (int64_t i = 0; i < d.N; ++i)
      for (int64_t j = 0; j < d.d_out; ++j) {
        double e = 0;  // (B Λ_A,i h)_j
        for (int64_t k = 0; k < d.r; ++k) e += B[j * d.r + k] * wA[i * d.r + k] * tk.h[k];
        y[t * d.d_out + j] += d.s * tk.g[i] * wB[i * d.d_out + j] * e;
      }
  }
  return y;
}
// Returns {dA, dW_g, dω_A, dB, dω_B, dx}.
inline std::vector<Vec> mor_backward(const Dims& d, const std::vector<Vec>& p, const Vec& x, const Vec& dy) {
  const Vec &A = p[0], &Wg = p[1], &wA = p[2], &B = p[3], &wB = p[4];
  Vec dA(A.size(), 0.0), dWg(Wg.size(), 0.0), dwA(wA.size(), 0.0), dB(B.size(), 0.0), dwB(wB.size(), 0.0),
      dx(x.size(), 0.0);
  for (int64_t t = 0; t < d.T; ++t) {
    const double* xt = &x[t * d.d_in];
    MorToken tk = mor_token(d, p, xt);
    Vec dh((size_t)d.r, 0.0), dg((size_t)d.N, 0.0);
    for (int64_t i = 0; i < d.N; ++i)
      for (int64_t j = 0; j < d.d_out; ++j) {
        const double G = d.s * dy[t * d.d_out + j];
        double e = 0;
        for (int64_t k = 0; k < d.r; ++k) e += B[j * d.r + k] * wA[i * d.r + k] * tk.h[k];
        dwB[i * d.d_out + j] += G * tk.g[i] * e;
        dg[i] += G * wB[i * d.d_out + j] * e;
        const double c = G * tk.g[i] * wB[i * d.d_out + j];
        for (int64_t k = 0; k < d.r; ++k) {
          dB[j * d.r + k] += c * wA[i * d.r + k] * tk.h[k];
          dwA[i * d.r + k] += c * B[j * d.r + k] * tk.h[k];
          dh[k] += c * B[j * d.r + k] * wA[i * d.r + k];
        }
      }
    double dot = 0;
    for (int64_t i = 0; i < d.N; ++i) dot += tk.g[i] * dg[i];
    for (int64_t c = 0; c < d.d_in; ++c) {
      for (int64_t k = 0; k < d.r; ++k) {
        dA[k * d.d_in + c] += dh[k] * xt[c];
        dx[t * d.d_in + c] += dh[k] * A[k * d.d_in + c];
      }
      for (int64_t i = 0; i < d.N; ++i) {
        const double dz = tk.g[i] * (dg[i] - dot);
        dWg[i * d.d_in + c] += dz * xt[c];
        dx[t * d.d_in + c] += dz * Wg[i * d.d_in + c];
      }
    }
  }
  return {dA, dWg, dwA, dB, dwB, dx};
}

// ---- MoE-LoRA. Params {A_cat N·r×d_in, W_g N×d_in, B_cat d_out×N·r (column block i = B_i)}. ----
inline Vec moe_forward(const Dims& d, const std::vector<Vec>& p, const Vec& x) {
  const Vec &A = p[0], &Wg = p[1], &B = p[2];
  const int64_t K = d.N * d.r;
  Vec y((size_t)(d.T * d.d_out), 0.0);
  for (int64_t t = 0; t < d.T; ++t) {
    const double* xt = &x[t * d.d_in];
    Vec h((size_t)K, 0.0), z((size_t)d.N, 0.0);
    for (int64_t c = 0; c < d.d_in; ++c) {
      for (int64_t q = 0; q < K; ++q) h[q] += A[q * d.d_in + c] * xt[c];
      for (int64_t i = 0; i < d.N; ++i) z[i] += Wg[i * d.d_in + c] * xt[c];
    }
    Vec g = softmax_row(z.data(), d.N);
    for (int64_t i = 0; i < d.N; ++i)
      for (int64_t j = 0; j < d.d_out; ++j)
        for (int64_t k = 0; k < d.r; ++k) y[t * d.d_out + j] += d.s * g[i] * B[j * K + i * d.r + k] * h[i * d.r + k];
  }
  return y;
}
// Returns {dA_cat, dW_g, dB_cat, dx}.
inline std::vector<Vec> moe_backward(const Dims& d, const std::vector<Vec>& p, const Vec& x, const Vec& dy) {
  const Vec &A = p[0], &Wg = p[1], &B = p[2];
  const int64_t K = d.N * d.r;
  Vec dA(A.size(), 0.0), dWg(Wg.size(), 0.0), dB(B.size(), 0.0), dx(x.size(), 0.0);
  for (int64_t t = 0; t < d.T; ++t) {
    const double* xt = &x[t * d.d_in];
    Vec h((size_t)K, 0.0), z((size_t)d.N, 0.0), dh((size_t)K, 0.0), dg((size_t)d.N, 0.0);
    for (int64_t c = 0; c < d.d_in; ++c) {
      for (int64_t q = 0; q < K; ++q) h[q] += A[q * d.d_in + c] * xt[c];
      for (int64_t i = 0; i < d.N; ++i) z[i] += Wg[i * d.d_in + c] * xt[c];
    }
    Vec g = softmax_row(z.data(), d.N);
    for (int64_t i = 0; i < d.N; ++i)
      for (int64_t j = 0; j < d.d_out; ++j) {
        const double G = d.s * dy[t * d.d_out + j];
        for (int64_t k = 0; k < d.r; ++k) {
          const int64_t q = i * d.r + k;
          dB[j * K + q] += G * g[i] * h[q];
          dh[q] += G * g[i] * B[j * K + q];
          dg[i] += G * B[j * K + q] * h[q];
        }
      }
    double dot = 0;
    for (int64_t i = 0; i < d.N; ++i) dot += g[i] * dg[i];
    for (int64_t c = 0; c < d.d_in; ++c) {
      for (int64_t q = 0; q < K; ++q) {
        dA[q * d.d_in + c] += dh[q] * xt[c];
        dx[t * d.d_in + c] += dh[q] * A[q * d.d_in + c];
      }
      for (int64_t i = 0; i < d.N; ++i) {
        const double dz = g[i] * (dg[i] - dot);
        dWg[i * d.d_in + c] += dz * xt[c];
        dx[t * d.d_in + c] += dz * Wg[i * d.d_in + c];
      }
    }
  }
  return {dA, dWg, dB, dx};
}

// ---- DoRA (norm detached). Params {A r×d_in, B d_out×r, m d_out}; W frozen d_out×d_in. ----
inline Vec dora_norm(const Dims& d, const Vec& W, const Vec& A, const Vec& B) {
  Vec n((size_t)d.d_out, 0.0);
  for (int64_t j = 0; j < d.d_out; ++j) {
    double s = 0;
    for (int64_t c = 0; c < d.d_in; ++c) {
      double v = W[j * d.d_in + c];
      for (int64_t k = 0; k < d.r; ++k) v += d.s * B[j * d.r + k] * A[k * d.d_in + c];
      s += v * v;
    }
    n[j] = std::sqrt(s);
  }
  return n;
}
// u = W x + s B A x;  y = (m / norm) ⊙ u with `norm` given (held constant, as PEFT detaches it).
inline Vec dora_forward(const Dims& d, const Vec& W, const Vec& norm, const std::vector<Vec>& p, const Vec& x) {
  Vec u = lora_forward(d, {p[0], p[1]}, x);
  for (int64_t t = 0; t < d.T; ++t)
    for (int64_t j = 0; j < d.d_out; ++j) {
      double wx = 0;
      for (int64_t c = 0; c < d.d_in; ++c) wx += W[j * d.d_in + c] * x[t * d.d_in + c];
      u[t * d.d_out + j] = p[2][j] / norm[j] * (u[t * d.d_out + j] + wx);
    }
  return u;
}
// Returns {dA, dB, dm, dx}.
inline std::vector<Vec> dora_backward(const Dims& d, const Vec& W, const Vec& norm, const std::vector<Vec>& p,
                                      const Vec& x, const Vec& dy) {
  Vec u = lora_forward(d, {p[0], p[1]}, x), du(dy.size()), dm((size_t)d.d_out, 0.0);
  for (int64_t t = 0; t < d.T; ++t)
    for (int64_t j = 0; j < d.d_out; ++j) {
      double wx = 0;
      for (int64_t c = 0; c < d.d_in; ++c) wx += W[j * d.d_in + c] * x[t * d.d_in + c];
      const double ut = u[t * d.d_out + j] + wx;
      dm[j] += dy[t * d.d_out + j] * ut / norm[j];
      du[t * d.d_out + j] = dy[t * d.d_out + j] * p[2][j] / norm[j];
    }
  std::vector<Vec> lg = lora_backward(d, {p[0], p[1]}, x, du);
  for (int64_t t = 0; t < d.T; ++t)
    for (int64_t c = 0; c < d.d_in; ++c)
      for (int64_t j = 0; j < d.d_out; ++j) lg[2][t * d.d_in + c] += du[t * d.d_out + j] * W[j * d.d_in + c];
  return {lg[0], lg[1], dm, lg[2]};
}

// Central finite differences of L = Σ forward(p, x) ⊙ R with respect to every entry of p and x;
// returns the max relative error against the analytic gradients `grads` ({dp..., dx}).
inline double fd_max_rel_error(std::vector<Vec> p, Vec x, const Vec& R,
                               const std::function<Vec(const std::vector<Vec>&, const Vec&)>& forward,
                               const std::vector<Vec>& grads, double eps = 1e-6) {
  auto loss = [&](const std::vector<Vec>& pp, const Vec& xx) {
    Vec y = forward(pp, xx);
    double l = 0;
    for (size_t i = 0; i < y.size(); ++i) l += y[i] * R[i];
    return l;
  };
  double worst = 0;
  auto check = [&](double& slot, double analytic) {
    const double keep = slot;
    slot = keep + eps;
    const double lp = loss(p, x);
    slot = keep - eps;
    const double lm = loss(p, x);
    slot = keep;
    const double numeric = (lp - lm) / (2 * eps);
    worst = std::max(worst, std::fabs(numeric - analytic) / std::max(1.0, std::fabs(analytic)));
  };
  for (size_t k = 0; k < p.size(); ++k)
    for (size_t i = 0; i < p[k].size(); ++i) check(p[k][i], grads[k][i]);
  for (size_t i = 0; i < x.size(); ++i) check(x[i], grads.back()[i]);
  return worst;
}

}  // namespace ref
