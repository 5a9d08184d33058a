#include "cpu/cpu_vector_math.h"

#include <limits>

#include "cpu/cpu_target_clones.h"

namespace mor::cpu {

MOR_CPU_CLONES void exp_shifted(float* x, int64_t n, float shift) {
  for (int64_t i = 0; i < n; ++i) x[i] = exp_approx(x[i] - shift);
}

namespace {
template <class T, class Step>
T reduce_lanes(int64_t n, T init, Step step) {
  T acc[kLanes];
  for (T& a : acc) a = init;
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] = step(acc[l], i + l);
  for (int l = 0; i < n; ++i, ++l) acc[l] = step(acc[l], i);
  // Pairwise, in a fixed order.
  for (int width = kLanes / 2; width > 0; width /= 2)
    for (int l = 0; l < width; ++l) acc[l] = step.combine(acc[l], acc[l + width]);
  return acc[0];
}

template <class F, class C>
struct LaneStep {
  F f;
  C c;
  template <class T>
  T operator()(T acc, int64_t i) const {
    return f(acc, i);
  }
  template <class T>
  T combine(T a, T b) const {
    return c(a, b);
  }
};
template <class F, class C>
LaneStep<F, C> lane_step(F f, C c) {
  return {f, c};
}

inline float add(float a, float b) { return a + b; }
inline float larger(float a, float b) { return a < b ? b : a; }  // std::max: keeps a when b is NaN
}  // namespace

MOR_CPU_CLONES float sum_lanes(const float* x, int64_t n) {
  return reduce_lanes(n, 0.0f, lane_step([x](float acc, int64_t i) { return acc + x[i]; }, add));
}

MOR_CPU_CLONES float max_lanes(const float* x, int64_t n) {
  const float lowest = -std::numeric_limits<float>::infinity();
  return reduce_lanes(n, lowest, lane_step([x](float acc, int64_t i) { return larger(acc, x[i]); }, larger));
}

MOR_CPU_CLONES float dot_lanes(const float* a, const float* b, int64_t n) {
  return reduce_lanes(n, 0.0f, lane_step([a, b](float acc, int64_t i) { return acc + a[i] * b[i]; }, add));
}

MOR_CPU_CLONES float dot3_lanes(const float* a, const float* b, const float* c, int64_t n) {
  return reduce_lanes(n, 0.0f, lane_step([a, b, c](float acc, int64_t i) { return acc + a[i] * b[i] * c[i]; }, add));
}

MOR_CPU_CLONES double sum_lanes_f64(const float* x, int64_t n) {
  return reduce_lanes(n, 0.0,
                      lane_step([x](double acc, int64_t i) { return acc + static_cast<double>(x[i]); },
                                [](double a, double b) { return a + b; }));
}

MOR_CPU_CLONES void swiglu_forward_range(int64_t n, const float* gate, const float* up, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = gate[i] / (1.0f + exp_approx(-gate[i])) * up[i];
}

MOR_CPU_CLONES void swiglu_backward_range(int64_t n, const float* gate, const float* up, const float* dout,
                                          float* dgate, float* dup) {
  for (int64_t i = 0; i < n; ++i) {
    const float sig = 1.0f / (1.0f + exp_approx(-gate[i]));
    const float silu = gate[i] * sig;
    dup[i] += dout[i] * silu;
    dgate[i] += dout[i] * up[i] * sig * (1.0f + gate[i] * (1.0f - sig));
  }
}

}  // namespace mor::cpu
