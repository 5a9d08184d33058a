#include "cpu/cpu_vector_math.h"

#include "cpu/cpu_target_clones.h"

namespace mor::cpu {

MOR_CPU_CLONES void exp_shifted(float* x, int64_t n, float shift) {
  for (int64_t i = 0; i < n; ++i) x[i] = exp_approx(x[i] - shift);
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
