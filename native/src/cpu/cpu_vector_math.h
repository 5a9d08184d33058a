// Element-wise loops the CPU backend spends its non-GEMM time in (exp for softmax, cross-entropy and SiLU),
// written so the compiler vectorises them, with AVX-512 / AVX2 clones picked at load time. exp is a
// Cephes-style polynomial (≤ 2 ulp against std::exp over the float range, NaN in -> NaN out), because
// libm's scalar expf keeps these loops from vectorising at all.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace mor::cpu {

// x[i] = exp(x[i] - shift) for i < n.
void exp_shifted(float* x, int64_t n, float shift);

// Reductions over n floats in kLanes interleaved partial results combined in a fixed order: they vectorise
// without reassociation flags and give the same bits on every run and thread count (not the bits of a
// left-to-right loop). max ignores NaN as std::max(m, x) does; the sums propagate it.
constexpr int kLanes = 16;
float sum_lanes(const float* x, int64_t n);
float max_lanes(const float* x, int64_t n);
float dot_lanes(const float* a, const float* b, int64_t n);
// Σ a·b·c.
float dot3_lanes(const float* a, const float* b, const float* c, int64_t n);
// Σ x in double.
double sum_lanes_f64(const float* x, int64_t n);

// out[i] = silu(gate[i]) * up[i].
void swiglu_forward_range(int64_t n, const float* gate, const float* up, float* out);

// dup[i] += dout[i]·silu(gate[i]); dgate[i] += dout[i]·up[i]·silu'(gate[i]).
void swiglu_backward_range(int64_t n, const float* gate, const float* up, const float* dout, float* dgate, float* dup);

// exp(x) = 2^n · e^r with n = round(x·log2 e), r = x − n·ln 2 (ln 2 split in two for exactness), e^r from
// Cephes' degree-6 polynomial on |r| ≤ ln2/2. Inputs are clamped to the finite float range first (so −inf
// gives ~1e-38, not 0: callers mask explicitly); NaN is passed through, as the non-finite checks need.
inline float exp_approx(float x) {
  // NaN is replaced before the float -> int conversion (undefined for NaN, which would let the compiler
  // assume x is not NaN and drop the pass-through below) and restored at the end.
  const float clamped = x < -87.3365448f ? -87.3365448f : (x > 88.7f ? 88.7f : (x == x ? x : 0.0f));
  const float n = std::floor(clamped * 1.44269504088896341f + 0.5f);
  float r = clamped - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  // 2^n in two factors: n reaches 128 near the top of the range, one past the largest float exponent.
  const int32_t ni = static_cast<int32_t>(n), half = ni / 2;
  const int32_t bits_a = (half + 127) << 23, bits_b = (ni - half + 127) << 23;
  float scale_a, scale_b;
  std::memcpy(&scale_a, &bits_a, sizeof scale_a);
  std::memcpy(&scale_b, &bits_b, sizeof scale_b);
  return x != x ? x : p * scale_a * scale_b;
}

}  // namespace mor::cpu
