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
#include "cpu/thread_pool.h"

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
  float* dst = out.data();
  // The two conversions the widening GEMM path lives on get loops the compiler vectorises; the rest stay generic.
  if (s.t == MOR_DTYPE_BF16) {
    const auto* src = static_cast<const uint16_t*>(s.p);
    parallel_for_each(s.rows, s.cols, [&](int64_t i) {
      for (int64_t j = 0; j < s.cols; ++j) dst[i * s.cols + j] = bf16_to_f32(src[i * s.ld + j]);
    });
    return out;
  }
  if (s.t == MOR_DTYPE_F32 && round_to == MOR_DTYPE_BF16) {
    const auto* src = static_cast<const float*>(s.p);
    parallel_for_each(s.rows, s.cols, [&](int64_t i) {
      for (int64_t j = 0; j < s.cols; ++j) dst[i * s.cols + j] = bf16_to_f32(f32_to_bf16(src[i * s.ld + j]));
    });
    return out;
  }
  parallel_for_each(s.rows, s.cols, [&](int64_t i) {
    for (int64_t j = 0; j < s.cols; ++j) dst[i * s.cols + j] = narrow(load(s.p, s.t, i * s.ld + j), round_to);
  });
  return out;
}

std::vector<unsigned short> to_bf16(const Stored& s) {
  std::vector<unsigned short> out(static_cast<size_t>(s.rows * s.cols));
  unsigned short* dst = out.data();
  parallel_for_each(s.rows, s.cols, [&](int64_t i) {
    for (int64_t j = 0; j < s.cols; ++j) {
      const int64_t src = i * s.ld + j;
      dst[i * s.cols + j] =
          s.t == MOR_DTYPE_BF16 ? static_cast<const uint16_t*>(s.p)[src] : f32_to_bf16(load(s.p, s.t, src));
    }
  });
  return out;
}

// How a product C[m×n] += op(A)·op(B) is cut into tiles for the thread pool: along C's rows or its columns,
// in `tiles` pieces of `size` (the last may be shorter). Each tile is one single-threaded BLAS call, so a tile
// repacks the operand it shares with the others: cutting rows repacks op(B) (k×n) per tile, cutting columns
// op(A) (m×k). The cut goes along the dimension that makes the repacked operand the smaller one. The plan
// depends only on the shape, never on the thread count (thread_pool.h), and each element of C is summed over k
// in the same order whatever the tiling.
struct TilePlan {
  bool rows;
  int64_t size, tiles;
};

// Work below which a product stays one call (~40 µs on one core), and the most tiles it is cut into.
constexpr double kMinTileFlops = 4.0e6;
constexpr int64_t kMaxTiles = 8;
constexpr int64_t kTileAlign = 32;  // a multiple of every BLAS micro-kernel's row and column block
// Repacking one element of the shared operand costs about as much as this many FLOPs of the product (measured
// with OpenBLAS 0.3.21's SkylakeX kernels: 8 row tiles of a 2048x1376x512 product cost ~8 % more than one call),
// and the tiles beyond the first may spend this share of the product's time on it.
constexpr double kRepackFlops = 40.0;
constexpr double kRepackBudget = 0.05;

TilePlan plan_tiles(int64_t m, int64_t n, int64_t k) {
  const bool rows = m >= n;
  const int64_t dim = rows ? m : n;
  const double flops = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  const double shared = static_cast<double>(k) * static_cast<double>(rows ? n : m);
  const double limit =
      std::min({static_cast<double>(kMaxTiles), flops / kMinTileFlops,
                1.0 + kRepackBudget * flops / (kRepackFlops * shared), static_cast<double>(dim / kTileAlign)});
  // A power of two: two or four threads then share the tiles evenly.
  int64_t tiles = 1;
  while (tiles * 2 <= limit) tiles *= 2;
  const int64_t size = tiles == 1 ? dim : ((dim + tiles - 1) / tiles + kTileAlign - 1) / kTileAlign * kTileAlign;
  return {rows, size, (dim + size - 1) / size};
}

// call(row0, rows, col0, cols) for each tile of C, on the thread pool.
template <class Call>
void for_each_tile(int64_t m, int64_t n, int64_t k, Call&& call) {
  const TilePlan plan = plan_tiles(m, n, k);
  parallel_for(plan.tiles, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t start = t * plan.size, len = std::min(plan.size, (plan.rows ? m : n) - start);
      if (plan.rows)
        call(start, len, int64_t{0}, n);
      else
        call(int64_t{0}, m, start, len);
    }
  });
}

// Offsets of the tile (row0, col0) of C in row-major operands: rows of C are rows of op(A), columns of C are
// columns of op(B).
int64_t a_offset(bool ta, int64_t lda, int64_t row0) { return ta ? row0 : row0 * lda; }
int64_t b_offset(bool tb, int64_t ldb, int64_t col0) { return tb ? col0 * ldb : col0; }

void builtin_sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                   const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

}  // namespace

// C[m×n] (F32, ldc) = alpha·op(A)·op(B) + beta·C for dense F32 operands, tile by tile on the thread pool.
void sgemm_f32(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
               const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  const SgemmFn sgemm = cpu_blas().sgemm;
  if (sgemm == nullptr) {
    builtin_sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  for_each_tile(m, n, k, [&](int64_t row0, int64_t rows, int64_t col0, int64_t cols) {
    sgemm(kCblasRowMajor, ta ? kCblasTrans : kCblasNoTrans, tb ? kCblasTrans : kCblasNoTrans, static_cast<int>(rows),
          static_cast<int>(cols), static_cast<int>(k), alpha, a + a_offset(ta, lda, row0), static_cast<int>(lda),
          b + b_offset(tb, ldb, col0), static_cast<int>(ldb), beta, c + row0 * ldc + col0, static_cast<int>(ldc));
  });
}

namespace {

// Without a BLAS: op(B) packed once as k×n rows so the inner loop streams contiguous memory and vectorises, then
// rows of C in parallel.
void builtin_sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                   const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  std::vector<float> bp(static_cast<size_t>(k * n));
  parallel_for_each(k, n, [&](int64_t p) {
    for (int64_t j = 0; j < n; ++j) bp[p * n + j] = tb ? b[j * ldb + p] : b[p * ldb + j];
  });
  const double row_flops = 2.0 * static_cast<double>(n) * static_cast<double>(k);
  parallel_for(m, std::max<int64_t>(1, static_cast<int64_t>(kMinTileFlops / std::max(1.0, row_flops))),
               [&](int64_t i0, int64_t i1) {
                 std::vector<float> row(static_cast<size_t>(n));
                 for (int64_t i = i0; i < i1; ++i) {
                   std::fill(row.begin(), row.end(), 0.0f);
                   for (int64_t p = 0; p < k; ++p) {
                     const float av = ta ? a[p * lda + i] : a[i * lda + p];
                     const float* brow = &bp[p * n];
                     for (int64_t j = 0; j < n; ++j) row[j] += av * brow[j];
                   }
                   float* crow = c + i * ldc;
                   for (int64_t j = 0; j < n; ++j) crow[j] = alpha * row[j] + (beta == 0.0f ? 0.0f : beta * crow[j]);
                 }
               });
}

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
    for_each_tile(g.m, g.n, g.k, [&](int64_t row0, int64_t rows, int64_t col0, int64_t cols) {
      sbgemm(kCblasRowMajor, g.trans_a ? kCblasTrans : kCblasNoTrans, g.trans_b ? kCblasTrans : kCblasNoTrans,
             static_cast<int>(rows), static_cast<int>(cols), static_cast<int>(g.k), g.alpha,
             pa + a_offset(g.trans_a, lda, row0), static_cast<int>(lda), pb + b_offset(g.trans_b, ldb, col0),
             static_cast<int>(ldb), g.beta, c + row0 * ldc + col0, static_cast<int>(ldc));
    });
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
      parallel_for_each(g.m, g.n, [&](int64_t i) {
        for (int64_t j = 0; j < g.n; ++j) cf[i * g.n + j] = load(c16, g.c_type, i * g.ldc + j);
      });
    gemm_one(g, a, b, cf.data(), g.n);
    parallel_for_each(g.m, g.n, [&](int64_t i) {
      for (int64_t j = 0; j < g.n; ++j) {
        const float v = cf[i * g.n + j];
        c16[i * g.ldc + j] = g.c_type == MOR_DTYPE_BF16 ? f32_to_bf16(v) : f32_to_f16(v);
      }
    });
  }
}

}  // namespace mor::cpu
