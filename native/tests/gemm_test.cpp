// mor_gemm against a float64 reference: every transpose combination, awkward sizes, alpha/beta,
// padded leading dimensions, offsets, strided batches, 16-bit and mixed inputs, and error paths.
#include <cstdlib>

#include "common/float16.h"
#include "reference.h"
#include "test_support.h"

using namespace mortest;

namespace {

struct GemmCase {
  int64_t m, n, k;
  bool ta, tb;
};

// Runs C = alpha·op(A)·op(B) + beta·C with padded lds, a non-zero offset and `batch` entries on the
// given backend; compares each batch entry with the float64 reference.
void run_f32_case(int32_t backend, const GemmCase& c, int64_t batch, float alpha, float beta, double tol) {
  Context ctx(backend);
  ASSERT_EQ(ctx.status(), MOR_OK) << mor_last_error();
  const int64_t ar = c.ta ? c.k : c.m, ac = c.ta ? c.m : c.k;
  const int64_t br = c.tb ? c.n : c.k, bc = c.tb ? c.k : c.n;
  const int64_t lda = ac + 3, ldb = bc + 1, ldc = c.n + 2, off = 5;
  const int64_t sa = ar * lda + 7, sb = br * ldb, sc = c.m * ldc + 1;
  auto ha = random_vector((size_t)(off + batch * sa), 1);
  auto hb = random_vector((size_t)(off + batch * sb), 2);
  auto hc = random_vector((size_t)(off + batch * sc), 3);
  Buffer a(ctx.get(), ha), b(ctx.get(), hb), cb(ctx.get(), hc);
  MOR_ASSERT_OK(mor_gemm(ctx.get(), nullptr, c.ta, c.tb, c.m, c.n, c.k, alpha, a.get(), off, lda, sa, b.get(), off, ldb,
                         sb, beta, cb.get(), off, ldc, sc, batch, 0));
  auto got = cb.f32();
  for (int64_t e = 0; e < batch; ++e) {
    ref::Vec da((size_t)(ar * ac)), db((size_t)(br * bc));
    for (int64_t i = 0; i < ar; ++i)
      for (int64_t j = 0; j < ac; ++j) da[i * ac + j] = ha[off + e * sa + i * lda + j];
    for (int64_t i = 0; i < br; ++i)
      for (int64_t j = 0; j < bc; ++j) db[i * bc + j] = hb[off + e * sb + i * ldb + j];
    ref::Vec want = ref::gemm(c.ta, c.tb, c.m, c.n, c.k, da, db);
    std::vector<float> g((size_t)(c.m * c.n));
    for (int64_t i = 0; i < c.m; ++i)
      for (int64_t j = 0; j < c.n; ++j) {
        const int64_t at = off + e * sc + i * ldc + j;
        want[i * c.n + j] = alpha * want[i * c.n + j] + beta * (double)hc[at];
        g[i * c.n + j] = got[at];
      }
    EXPECT_LT(rel_error(g, want), tol) << "m=" << c.m << " n=" << c.n << " k=" << c.k << " ta=" << c.ta
                                       << " tb=" << c.tb << " batch entry " << e;
  }
  // Padding between rows and batches must be untouched.
  for (int64_t i = 0; i < off; ++i) EXPECT_EQ(got[i], hc[i]);
}

}  // namespace

TEST(Gemm, F32AllTransposesAwkwardSizes) {
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (auto [m, n, k] : {std::tuple<int64_t, int64_t, int64_t>{1, 1, 1},
                             {7, 33, 1},
                             {33, 7, 13},
                             {1, 64, 1000},
                             {1031, 17, 33},
                             {5, 1001, 7}})
        run_f32_case(MOR_BACKEND_CPU, {m, n, k, ta, tb}, 1, 1.0f, 0.0f, 1e-5);
}

TEST(Gemm, F32AlphaBetaAndStridedBatch) {
  for (bool ta : {false, true})
    for (bool tb : {false, true}) run_f32_case(MOR_BACKEND_CPU, {9, 13, 17, ta, tb}, 3, 0.5f, -1.25f, 1e-5);
}

TEST(Gemm, ZeroKScalesC) { run_f32_case(MOR_BACKEND_CPU, {4, 5, 0, false, false}, 1, 1.0f, 2.0f, 1e-6); }

TEST(Gemm, FewRowsTimesBf16WeightMatchReferenceWithAlphaBetaAndStrides) {
  // m <= 8 with an F32 X and a BF16 Wᵀ takes the streaming path (decode); m = 9 goes to sbgemm / the built-in one.
  Context ctx;
  const int64_t n = 37, k = 301, ldx = k + 3, ldc = n + 5;
  for (int64_t m : {1, 3, 8, 9}) {
    SCOPED_TRACE(m);
    auto hx = random_vector((size_t)(m * ldx), 21), hw = random_vector((size_t)(n * k), 22),
         hc = random_vector((size_t)(m * ldc), 23);
    std::vector<uint16_t> w16(hw.size());
    ref::Vec rx((size_t)(m * k)), rw(hw.size());
    for (size_t i = 0; i < hw.size(); ++i) w16[i] = mor::f32_to_bf16(hw[i]), rw[i] = mor::bf16_to_f32(w16[i]);
    for (int64_t r = 0; r < m; ++r)
      for (int64_t i = 0; i < k; ++i) rx[r * k + i] = mor::bf16_to_f32(mor::f32_to_bf16(hx[r * ldx + i]));
    const ref::Vec prod = ref::gemm(false, true, m, n, k, rx, rw);
    Buffer x(ctx.get(), hx), w(ctx.get(), MOR_DTYPE_BF16, n * k), c(ctx.get(), hc);
    MOR_ASSERT_OK(mor_buffer_upload(w.get(), 0, w16.data(), n * k, nullptr));
    MOR_ASSERT_OK(mor_gemm(ctx.get(), nullptr, 0, 1, m, n, k, 0.5f, x.get(), 0, ldx, 0, w.get(), 0, k, 0, 2.0f, c.get(),
                           0, ldc, 0, 1, 0));
    const auto got = c.f32();
    double err = 0, norm = 0;
    for (int64_t r = 0; r < m; ++r)
      for (int64_t j = 0; j < ldc; ++j) {
        const double want =
            j < n ? 0.5 * prod[r * n + j] + 2.0 * hc[r * ldc + j] : hc[r * ldc + j];  // padding untouched
        err = std::max(err, std::abs(got[r * ldc + j] - want));
        norm = std::max(norm, std::abs(want));
      }
    EXPECT_LT(err / norm, 1e-5);
  }
}

namespace {
void set_env(const char* name, const char* value) {  // value null: unset
#ifdef _WIN32
  _putenv_s(name, value ? value : "");
#else
  if (value)
    setenv(name, value, 1);
  else
    unsetenv(name);
#endif
}

void check_widened_blocks() {
  // A narrow operand is widened to F32 in blocks of 2^22 elements: 300,000 x 16 spans two of them.
  Context ctx;
  const int64_t big = 300000, small = 9, k = 16;
  auto hbig = random_vector((size_t)(big * k), 31), hsmall = random_vector((size_t)(small * k), 32);
  std::vector<uint16_t> big16(hbig.size());
  ref::Vec rbig(hbig.size()), rsmall(hsmall.size());
  for (size_t i = 0; i < hbig.size(); ++i) big16[i] = mor::f32_to_bf16(hbig[i]), rbig[i] = mor::bf16_to_f32(big16[i]);
  for (size_t i = 0; i < hsmall.size(); ++i) rsmall[i] = mor::bf16_to_f32(mor::f32_to_bf16(hsmall[i]));
  Buffer wbig(ctx.get(), MOR_DTYPE_BF16, big * k), xsmall(ctx.get(), hsmall);
  MOR_ASSERT_OK(mor_buffer_upload(wbig.get(), 0, big16.data(), big * k, nullptr));
  auto check = [](const std::vector<float>& got, const ref::Vec& want) {
    double err = 0, norm = 0;
    for (size_t i = 0; i < want.size(); ++i)
      err = std::max(err, std::abs(got[i] - want[i])), norm = std::max(norm, std::abs(want[i]));
    EXPECT_LT(err / norm, 1e-5);
  };
  // B narrow, C = X[9×16]·Wᵀ with W [300000×16] (the projection forward).
  Buffer c1(ctx.get(), MOR_DTYPE_F32, small * big);
  MOR_ASSERT_OK(mor_gemm(ctx.get(), nullptr, 0, 1, small, big, k, 1.0f, xsmall.get(), 0, k, 0, wbig.get(), 0, k, 0,
                         0.0f, c1.get(), 0, big, 0, 1, 0));
  check(c1.f32(), ref::gemm(false, true, small, big, k, rsmall, rbig));
  // B narrow, not transposed: C[9×16] = Y[9×300000]·W (the input gradient); with k = 300000 a block holds 13 of
  // C's 16 columns, i.e. strided columns of W.
  auto hy = random_vector((size_t)(small * big), 33);
  ref::Vec ry(hy.size());
  for (size_t i = 0; i < hy.size(); ++i) ry[i] = mor::bf16_to_f32(mor::f32_to_bf16(hy[i]));
  Buffer y(ctx.get(), hy), c2(ctx.get(), MOR_DTYPE_F32, small * k);
  MOR_ASSERT_OK(mor_gemm(ctx.get(), nullptr, 0, 0, small, k, big, 1.0f, y.get(), 0, big, 0, wbig.get(), 0, k, 0, 0.0f,
                         c2.get(), 0, k, 0, 1, 0));
  check(c2.f32(), ref::gemm(false, false, small, k, big, ry, rbig));
  // A narrow: C[300000×9] = W[300000×16]·Xᵀ, blocks over C's rows.
  Buffer c3(ctx.get(), MOR_DTYPE_F32, big * small);
  MOR_ASSERT_OK(mor_gemm(ctx.get(), nullptr, 0, 1, big, small, k, 1.0f, wbig.get(), 0, k, 0, xsmall.get(), 0, k, 0,
                         0.0f, c3.get(), 0, small, 0, 1, 0));
  check(c3.f32(), ref::gemm(false, true, big, small, k, rbig, rsmall));
}

}  // namespace

TEST(Gemm, WidenedBf16OperandsSpanSeveralBlocksInEitherRoleAndLayout) {
  check_widened_blocks();  // sbgemm where OpenBLAS has it
  set_env("MOR_CPU_SBGEMM", "0");
  check_widened_blocks();  // the F32 widening path, blocks included
  set_env("MOR_CPU_SBGEMM", nullptr);
}

TEST(Gemm, Bf16InputsF32AccumulateAndMixedOperands) {
  Context ctx;
  const int64_t m = 33, n = 19, k = 257;
  auto ha = random_vector((size_t)(m * k), 11), hb = random_vector((size_t)(n * k), 12);
  std::vector<uint16_t> a16(ha.size()), b16(hb.size());
  ref::Vec ra(ha.size()), rb(hb.size());
  for (size_t i = 0; i < ha.size(); ++i) a16[i] = mor::f32_to_bf16(ha[i]), ra[i] = mor::bf16_to_f32(a16[i]);
  for (size_t i = 0; i < hb.size(); ++i) b16[i] = mor::f32_to_bf16(hb[i]), rb[i] = mor::bf16_to_f32(b16[i]);
  // Reference on the rounded values: BF16 products are exact in F32, only accumulation differs.
  ref::Vec want = ref::gemm(false, true, m, n, k, ra, rb);
  Buffer a(ctx.get(), MOR_DTYPE_BF16, m * k), b(ctx.get(), MOR_DTYPE_BF16, n * k), af(ctx.get(), ha);
  MOR_ASSERT_OK(mor_buffer_upload(a.get(), 0, a16.data(), m * k, nullptr));
  MOR_ASSERT_OK(mor_buffer_upload(b.get(), 0, b16.data(), n * k, nullptr));
  Buffer c(ctx.get(), MOR_DTYPE_F32, m * n);
  MOR_ASSERT_OK(mor_gemm(ctx.get(), nullptr, 0, 1, m, n, k, 1.0f, a.get(), 0, k, 0, b.get(), 0, k, 0, 0.0f, c.get(), 0,
                         n, 0, 1, 0));
  EXPECT_LT(rel_error(c.f32(), want), 1e-5);
  // F32 A with BF16 B: A is rounded to BF16 first, so the result equals the all-BF16 one.
  Buffer c2(ctx.get(), MOR_DTYPE_F32, m * n);
  MOR_ASSERT_OK(mor_gemm(ctx.get(), nullptr, 0, 1, m, n, k, 1.0f, af.get(), 0, k, 0, b.get(), 0, k, 0, 0.0f, c2.get(),
                         0, n, 0, 1, 0));
  EXPECT_LT(rel_error(c2.f32(), want), 1e-5);
  // BF16 output: within one BF16 rounding of the F32 result.
  Buffer c3(ctx.get(), MOR_DTYPE_BF16, m * n);
  MOR_ASSERT_OK(mor_gemm(ctx.get(), nullptr, 0, 1, m, n, k, 1.0f, a.get(), 0, k, 0, b.get(), 0, k, 0, 0.0f, c3.get(), 0,
                         n, 0, 1, 0));
  auto raw = c3.raw<uint16_t>();
  std::vector<float> c3f(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) c3f[i] = mor::bf16_to_f32(raw[i]);
  EXPECT_LT(rel_error(c3f, want), 1e-2);
}

TEST(Gemm, F16Inputs) {
  Context ctx;
  const int64_t m = 7, n = 9, k = 33;
  auto ha = random_vector((size_t)(m * k), 21), hb = random_vector((size_t)(k * n), 22);
  std::vector<uint16_t> a16(ha.size()), b16(hb.size());
  ref::Vec ra(ha.size()), rb(hb.size());
  for (size_t i = 0; i < ha.size(); ++i) a16[i] = mor::f32_to_f16(ha[i]), ra[i] = mor::f16_to_f32(a16[i]);
  for (size_t i = 0; i < hb.size(); ++i) b16[i] = mor::f32_to_f16(hb[i]), rb[i] = mor::f16_to_f32(b16[i]);
  Buffer a(ctx.get(), MOR_DTYPE_F16, m * k), b(ctx.get(), MOR_DTYPE_F16, k * n), c(ctx.get(), MOR_DTYPE_F32, m * n);
  MOR_ASSERT_OK(mor_buffer_upload(a.get(), 0, a16.data(), m * k, nullptr));
  MOR_ASSERT_OK(mor_buffer_upload(b.get(), 0, b16.data(), k * n, nullptr));
  MOR_ASSERT_OK(mor_gemm(ctx.get(), nullptr, 0, 0, m, n, k, 1.0f, a.get(), 0, k, 0, b.get(), 0, n, 0, 0.0f, c.get(), 0,
                         n, 0, 1, 0));
  EXPECT_LT(rel_error(c.f32(), ref::gemm(false, false, m, n, k, ra, rb)), 1e-5);
}

TEST(Gemm, ErrorsNameTheProblem) {
  Context ctx;
  Buffer a(ctx.get(), MOR_DTYPE_F32, 6), b(ctx.get(), MOR_DTYPE_F32, 6), c(ctx.get(), MOR_DTYPE_F32, 3);
  EXPECT_EQ(
      mor_gemm(ctx.get(), nullptr, 0, 0, 2, 2, 3, 1, a.get(), 0, 3, 0, b.get(), 0, 2, 0, 0, c.get(), 0, 2, 0, 1, 0),
      MOR_ERR_SHAPE);
  EXPECT_NE(std::string(mor_last_error()).find("mor_gemm C"), std::string::npos) << mor_last_error();
  EXPECT_EQ(
      mor_gemm(ctx.get(), nullptr, 0, 0, 2, 3, 3, 1, a.get(), 0, 2, 0, b.get(), 0, 3, 0, 0, c.get(), 0, 3, 0, 1, 0),
      MOR_ERR_INVALID_ARGUMENT);  // lda < k
  EXPECT_EQ(
      mor_gemm(ctx.get(), nullptr, 2, 0, 1, 1, 1, 1, a.get(), 0, 1, 0, b.get(), 0, 1, 0, 0, c.get(), 0, 1, 0, 1, 0),
      MOR_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(
      mor_gemm(ctx.get(), nullptr, 0, 0, -1, 1, 1, 1, a.get(), 0, 1, 0, b.get(), 0, 1, 0, 0, c.get(), 0, 1, 0, 1, 0),
      MOR_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(
      mor_gemm(ctx.get(), nullptr, 0, 0, 1, 1, 1, 1, nullptr, 0, 1, 0, b.get(), 0, 1, 0, 0, c.get(), 0, 1, 0, 1, 0),
      MOR_ERR_INVALID_ARGUMENT);
  Buffer i32(ctx.get(), MOR_DTYPE_I32, 6);
  EXPECT_EQ(
      mor_gemm(ctx.get(), nullptr, 0, 0, 1, 1, 1, 1, i32.get(), 0, 1, 0, b.get(), 0, 1, 0, 0, c.get(), 0, 1, 0, 1, 0),
      MOR_ERR_DTYPE);
  Buffer f16(ctx.get(), MOR_DTYPE_F16, 6), bf16(ctx.get(), MOR_DTYPE_BF16, 6);
  EXPECT_EQ(mor_gemm(ctx.get(), nullptr, 0, 0, 1, 1, 1, 1, f16.get(), 0, 1, 0, bf16.get(), 0, 1, 0, 0, c.get(), 0, 1, 0,
                     1, 0),
            MOR_ERR_DTYPE);
}
