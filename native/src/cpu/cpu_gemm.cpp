// CPU GEMM: row-major over the CBLAS found at run time (cpu_blas.h: OpenBLAS with its native BF16
// sbgemm when present), or a built-in OpenMP kernel when there is none. 16-bit operands follow
// mor.h: a mixed F32×16-bit product first rounds the F32 operand to the 16-bit type, so CPU and CUDA
// multiply the same numbers.
#include <algorithm>
#include <climits>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/float16.h"
#include "core/error.h"
#include "cpu/cpu_backend.h"
#include "cpu/cpu_blas.h"

namespace mor::cpu {

namespace {

// A stored operand matrix (before op()): rows×cols, leading dimension ld.
struct Stored {
  const void* p;
  mor_dtype t;
  int64_t rows, cols, ld;
};

float load(const void* p, mor_dtype t, int64_t i) {
  switch (t) {
    case MOR_DTYPE_F32:
      return static_cast<const float*>(p)[i];
    case MOR_DTYPE_BF16:
      return bf16_to_f32(static_cast<const uint16_t*>(p)[i]);
    case MOR_DTYPE_F16:
      return f16_to_f32(static_cast<const uint16_t*>(p)[i]);
    default:
      fail(MOR_ERR_DTYPE, "gemm: unsupported dtype");
  }
}

// Round-trips an F32 value through the narrow type: the "round the F32 operand" rule.
float narrow(float v, mor_dtype to) {
  if (to == MOR_DTYPE_BF16) return bf16_to_f32(f32_to_bf16(v));
  if (to == MOR_DTYPE_F16) return f16_to_f32(f32_to_f16(v));
  return v;
}

// Dense F32 copy (ld = cols) of a stored operand, rounded to `round_to` first when mixing types.
std::vector<float> to_f32(const Stored& s, mor_dtype round_to) {
  std::vector<float> out(static_cast<size_t>(s.rows * s.cols));
  // The two conversions the widening GEMM path lives on get loops the compiler vectorises; the rest stay generic.
  if (s.t == MOR_DTYPE_BF16) {
    const auto* src = static_cast<const uint16_t*>(s.p);
#pragma omp parallel for schedule(static) if (s.rows * s.cols > 65536)
    for (int64_t i = 0; i < s.rows; ++i)
      for (int64_t j = 0; j < s.cols; ++j) out[i * s.cols + j] = bf16_to_f32(src[i * s.ld + j]);
    return out;
  }
  if (s.t == MOR_DTYPE_F32 && round_to == MOR_DTYPE_BF16) {
    const auto* src = static_cast<const float*>(s.p);
#pragma omp parallel for schedule(static) if (s.rows * s.cols > 65536)
    for (int64_t i = 0; i < s.rows; ++i)
      for (int64_t j = 0; j < s.cols; ++j) out[i * s.cols + j] = bf16_to_f32(f32_to_bf16(src[i * s.ld + j]));
    return out;
  }
#pragma omp parallel for schedule(static) if (s.rows * s.cols > 65536)
  for (int64_t i = 0; i < s.rows; ++i)
    for (int64_t j = 0; j < s.cols; ++j) out[i * s.cols + j] = narrow(load(s.p, s.t, i * s.ld + j), round_to);
  return out;
}

std::vector<unsigned short> to_bf16(const Stored& s) {
  std::vector<unsigned short> out(static_cast<size_t>(s.rows * s.cols));
#pragma omp parallel for schedule(static) if (s.rows * s.cols > 65536)
  for (int64_t i = 0; i < s.rows; ++i)
    for (int64_t j = 0; j < s.cols; ++j) {
      const int64_t src = i * s.ld + j;
      uint16_t bits = s.t == MOR_DTYPE_BF16 ? static_cast<const uint16_t*>(s.p)[src] : f32_to_bf16(load(s.p, s.t, src));
      out[i * s.cols + j] = bits;
    }
  return out;
}

}  // namespace

// C[m×n] (F32, ldc) = alpha·op(A)·op(B) + beta·C for dense F32 operands.
void sgemm_f32(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
               const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (const SgemmFn sgemm = cpu_blas().sgemm) {
    sgemm(kCblasRowMajor, ta ? kCblasTrans : kCblasNoTrans, tb ? kCblasTrans : kCblasNoTrans, static_cast<int>(m),
          static_cast<int>(n), static_cast<int>(k), alpha, a, static_cast<int>(lda), b, static_cast<int>(ldb), beta, c,
          static_cast<int>(ldc));
    return;
  }
  // Built-in: pack op(B) as k×n rows so the inner loop streams contiguous memory and vectorises.
  std::vector<float> bp(static_cast<size_t>(k * n));
  for (int64_t p = 0; p < k; ++p)
    for (int64_t j = 0; j < n; ++j) bp[p * n + j] = tb ? b[j * ldb + p] : b[p * ldb + j];
#pragma omp parallel
  {
    std::vector<float> row(static_cast<size_t>(n));
#pragma omp for schedule(static)
    for (int64_t i = 0; i < m; ++i) {
      std::fill(row.begin(), row.end(), 0.0f);
      for (int64_t p = 0; p < k; ++p) {
        const float av = ta ? a[p * lda + i] : a[i * lda + p];
        const float* brow = &bp[p * n];
        for (int64_t j = 0; j < n; ++j) row[j] += av * brow[j];
      }
      float* crow = c + i * ldc;
      for (int64_t j = 0; j < n; ++j) crow[j] = alpha * row[j] + (beta == 0.0f ? 0.0f : beta * crow[j]);
    }
  }
}

namespace {

void check_int_range(const GemmArgs& g) {
  for (int64_t v : {g.m, g.n, g.k, g.lda, g.ldb, g.ldc})
    if (v > INT_MAX)
      fail(MOR_ERR_NOT_SUPPORTED, "gemm: dimension " + std::to_string(v) + " exceeds the CPU BLAS 32-bit limit");
}

// Up to this many rows, X·Wᵀ with a BF16 W streams W instead of handing it to sbgemm (see cpu_gemv_bf16.cpp).
constexpr int64_t kFewRows = 8;

// Elements of a narrow operand widened to F32 per block (16 MiB).
constexpr int64_t kWidenBlock = int64_t{1} << 22;

// BF16 products go to OpenBLAS's sbgemm when it has one; MOR_CPU_SBGEMM=0 widens to F32 and uses sgemm instead
// (on this project's AVX-512-BF16 test machine the two were within noise of each other for a 30M model).
// Read per call (a getenv next to a GEMM costs nothing) so a test can exercise both paths in one process.
bool prefer_sbgemm() {
  const char* v = std::getenv("MOR_CPU_SBGEMM");
  return v == nullptr || v[0] != '0';
}

// One batch entry with F32 output.
void gemm_one(const GemmArgs& g, const void* a, const void* b, float* c, int64_t ldc) {
  const bool all_f32 = g.a_type == MOR_DTYPE_F32 && g.b_type == MOR_DTYPE_F32;
  if (all_f32) {
    sgemm_f32(g.trans_a, g.trans_b, g.m, g.n, g.k, g.alpha, static_cast<const float*>(a), g.lda,
              static_cast<const float*>(b), g.ldb, g.beta, c, ldc);
    return;
  }
  if (g.a_type == MOR_DTYPE_F32 && g.b_type == MOR_DTYPE_BF16 && !g.trans_a && g.trans_b && g.m <= kFewRows) {
    gemm_rows_bf16_weight(g.m, g.n, g.k, g.alpha, static_cast<const float*>(a), g.lda, static_cast<const uint16_t*>(b),
                          g.ldb, g.beta, c, ldc);
    return;
  }
  const mor_dtype narrow_type = g.a_type != MOR_DTYPE_F32 ? g.a_type : g.b_type;
  const Stored sa{a, g.a_type, g.trans_a ? g.k : g.m, g.trans_a ? g.m : g.k, g.lda};
  const Stored sb{b, g.b_type, g.trans_b ? g.n : g.k, g.trans_b ? g.k : g.n, g.ldb};
  const SbgemmFn sbgemm = cpu_blas().sbgemm;
  if (sbgemm != nullptr && narrow_type == MOR_DTYPE_BF16 && prefer_sbgemm()) {
    // A BF16 operand is used in place; only the F32 one is rounded into a temporary.
    std::vector<unsigned short> ta16, tb16;
    const auto* pa = static_cast<const unsigned short*>(a);
    const auto* pb = static_cast<const unsigned short*>(b);
    int64_t lda = g.lda, ldb = g.ldb;
    if (g.a_type != MOR_DTYPE_BF16) ta16 = to_bf16(sa), pa = ta16.data(), lda = sa.cols;
    if (g.b_type != MOR_DTYPE_BF16) tb16 = to_bf16(sb), pb = tb16.data(), ldb = sb.cols;
    sbgemm(kCblasRowMajor, g.trans_a ? kCblasTrans : kCblasNoTrans, g.trans_b ? kCblasTrans : kCblasNoTrans,
           static_cast<int>(g.m), static_cast<int>(g.n), static_cast<int>(g.k), g.alpha, pa, static_cast<int>(lda), pb,
           static_cast<int>(ldb), g.beta, c, static_cast<int>(ldc));
    return;
  }
  // Widen the narrow operand to F32 a block at a time (the F32 one rounded through the narrow type first, so
  // the numbers multiplied are those sbgemm and CUDA multiply) and let sgemm do the FLOPs; the blocks keep the
  // temporary small for 7B-sized weights (the previous whole-operand copy was as large as the weight in F32).
  const size_t elt = g.b_type == MOR_DTYPE_F32 ? 4 : 2;
  if (g.b_type != MOR_DTYPE_F32) {  // block over C's columns: op(B)[:, j0:j1]
    const std::vector<float> fa = to_f32(sa, narrow_type);
    const int64_t nb = std::max<int64_t>(1, kWidenBlock / std::max<int64_t>(1, g.k));
    for (int64_t j0 = 0; j0 < g.n; j0 += nb) {
      const int64_t cols = std::min(nb, g.n - j0);
      const auto* base = static_cast<const char*>(b) + (g.trans_b ? j0 * g.ldb : j0) * static_cast<int64_t>(elt);
      const Stored blk{base, g.b_type, g.trans_b ? cols : g.k, g.trans_b ? g.k : cols, g.ldb};
      const std::vector<float> fb = to_f32(blk, narrow_type);
      sgemm_f32(g.trans_a, g.trans_b, g.m, cols, g.k, g.alpha, fa.data(), sa.cols, fb.data(), blk.cols, g.beta, c + j0,
                ldc);
    }
    return;
  }
  // Only A is narrow: block over C's rows, op(A)[i0:i1, :].
  const std::vector<float> fb = to_f32(sb, narrow_type);
  const int64_t mb = std::max<int64_t>(1, kWidenBlock / std::max<int64_t>(1, g.k));
  for (int64_t i0 = 0; i0 < g.m; i0 += mb) {
    const int64_t rows = std::min(mb, g.m - i0);
    const auto* base = static_cast<const char*>(a) + (g.trans_a ? i0 : i0 * g.lda) * int64_t{2};
    const Stored blk{base, g.a_type, g.trans_a ? g.k : rows, g.trans_a ? rows : g.k, g.lda};
    const std::vector<float> fa = to_f32(blk, narrow_type);
    sgemm_f32(g.trans_a, g.trans_b, rows, g.n, g.k, g.alpha, fa.data(), blk.cols, fb.data(), sb.cols, g.beta,
              c + i0 * ldc, ldc);
  }
}

}  // namespace

void gemm(const GemmArgs& g) {
  check_int_range(g);
  const size_t as = g.a_type == MOR_DTYPE_F32 ? 4 : 2, bs = g.b_type == MOR_DTYPE_F32 ? 4 : 2;
  for (int64_t batch = 0; batch < g.batch; ++batch) {
    const void* a = static_cast<const char*>(g.a) + batch * g.stride_a * static_cast<int64_t>(as);
    const void* b = static_cast<const char*>(g.b) + batch * g.stride_b * static_cast<int64_t>(bs);
    if (g.c_type == MOR_DTYPE_F32) {
      gemm_one(g, a, b, static_cast<float*>(g.c) + batch * g.stride_c, g.ldc);
      continue;
    }
    // 16-bit output: compute in F32 (with the old C when beta != 0), then round once.
    uint16_t* c16 = static_cast<uint16_t*>(g.c) + batch * g.stride_c;
    std::vector<float> cf(static_cast<size_t>(g.m * g.n), 0.0f);
    if (g.beta != 0.0f)
      for (int64_t i = 0; i < g.m; ++i)
        for (int64_t j = 0; j < g.n; ++j) cf[i * g.n + j] = load(c16, g.c_type, i * g.ldc + j);
    gemm_one(g, a, b, cf.data(), g.n);
    for (int64_t i = 0; i < g.m; ++i)
      for (int64_t j = 0; j < g.n; ++j) {
        const float v = cf[i * g.n + j];
        c16[i * g.ldc + j] = g.c_type == MOR_DTYPE_BF16 ? f32_to_bf16(v) : f32_to_f16(v);
      }
  }
}

}  // namespace mor::cpu
