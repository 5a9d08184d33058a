// Few-row products with a BF16 weight: C[m×n] = α·X·Wᵀ + β·C for X F32 [m×k] (rounded to BF16 first, the
// mixed-type rule of mor_gemm) and W BF16 [n×k] row-major — a decode step, or the LM head on a handful of rows.
// OpenBLAS's sbgemm packs all of W on every call, which for m = 1 costs ~100× the arithmetic; here each weight
// row is streamed once per call and read as it is stored, so the product runs at memory bandwidth.
//
// The dot products keep 16 partial sums in a fixed order (vectorisable without reassociation flags), so
// results do not depend on the thread count (thread_pool.h). target_clones compiles AVX-512 and AVX2 bodies next to the
// portable one and picks at load time.
#include <vector>

#include "common/float16.h"
#include "cpu/cpu_backend.h"
#include "cpu/cpu_target_clones.h"
#include "cpu/thread_pool.h"

namespace mor::cpu {

namespace {
constexpr int kLanes = 16;

MOR_CPU_CLONES float dot_bf16(const float* x, const uint16_t* w, int64_t k) {
  float acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= k; i += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] += x[i + l] * bf16_to_f32(w[i + l]);
  float tail = 0.0f;
  for (; i < k; ++i) tail += x[i] * bf16_to_f32(w[i]);
  float sum = 0.0f;
  for (int l = 0; l < kLanes; ++l) sum += acc[l];
  return sum + tail;
}
}  // namespace

void gemm_rows_bf16_weight(int64_t m, int64_t n, int64_t k, float alpha, const float* x, int64_t ldx, const uint16_t* w,
                           int64_t ldw, float beta, float* c, int64_t ldc) {
  std::vector<float> xr(static_cast<size_t>(m * k));
  for (int64_t r = 0; r < m; ++r)
    for (int64_t i = 0; i < k; ++i) xr[r * k + i] = bf16_to_f32(f32_to_bf16(x[r * ldx + i]));
  parallel_for_each(n, m * k, [&](int64_t j) {
    const uint16_t* wj = w + j * ldw;
    for (int64_t r = 0; r < m; ++r) {
      const float v = alpha * dot_bf16(xr.data() + r * k, wj, k);
      float& out = c[r * ldc + j];
      out = beta == 0.0f ? v : v + beta * out;
    }
  });
}

}  // namespace mor::cpu
