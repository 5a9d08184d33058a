// Transformer ops on the CPU backend: forward against naive float64 references, every backward
// against central finite differences of those references, plus layouts (fused QKV slices, KV-cache
// strides), GQA ratios, accumulation, error messages and determinism.
#include "common/float16.h"
#include "cpu/cpu_vector_math.h"
#include "test_support.h"
#include "transformer_reference.h"

using namespace mortest;

namespace {

std::vector<float> download(const Buffer& b) { return b.f32(); }

Buffer i32_buffer(mor_context ctx, const std::vector<int32_t>& v) {
  Buffer b(ctx, MOR_DTYPE_I32, (int64_t)v.size());
  EXPECT_EQ(mor_buffer_upload(b.get(), 0, v.data(), (int64_t)v.size(), nullptr), MOR_OK);
  return b;
}

// got − initial, as doubles: the part a backward added into a pre-filled buffer.
ref::Vec added(const std::vector<float>& got, const std::vector<float>& initial) {
  ref::Vec d(got.size());
  for (size_t i = 0; i < got.size(); ++i) d[i] = (double)got[i] - initial[i];
  return d;
}

double rel(const ref::Vec& got, const ref::Vec& want) {
  double num = 0, den = 1e-30;
  for (size_t i = 0; i < want.size(); ++i) {
    num = std::max(num, std::fabs(got[i] - want[i]));
    den = std::max(den, std::fabs(want[i]));
  }
  return num / den;
}

}  // namespace

TEST(VectorMath, ExpApproxIsWithinTwoUlpOfExpAndPassesNaN) {
  double worst = 0;
  for (int i = 0; i <= 200000; ++i) {
    const float x = -87.0f + 175.5f * static_cast<float>(i) / 200000.0f;
    const double want = std::exp(static_cast<double>(x));
    worst = std::max(worst, std::abs(mor::cpu::exp_approx(x) - want) / want);
  }
  EXPECT_LT(worst, 2.5e-7);  // 2 ulp of a float is 2.4e-7 relative
  EXPECT_TRUE(std::isnan(mor::cpu::exp_approx(std::nanf(""))));
  EXPECT_EQ(mor::cpu::exp_approx(0.0f), 1.0f);
  EXPECT_LT(mor::cpu::exp_approx(-std::numeric_limits<float>::infinity()), 1e-37f);
  EXPECT_TRUE(std::isfinite(mor::cpu::exp_approx(1000.0f)));
}

TEST(RmsNorm, ForwardAndBackwardMatchFloat64AndFiniteDifferences) {
  Context ctx;
  const int64_t T = 70, C = 33;  // T spans two 64-row reduction chunks
  const double eps = 1e-5;
  auto x = random_vector(T * C, 1), w = random_vector(C, 2), dy = random_vector(T * C, 3);
  auto dx0 = random_vector(T * C, 4), dw0 = random_vector(C, 5);
  Buffer bx(ctx.get(), x), bw(ctx.get(), w), by(ctx.get(), MOR_DTYPE_F32, T * C), br(ctx.get(), MOR_DTYPE_F32, T),
      bdy(ctx.get(), dy), bdx(ctx.get(), dx0), bdw(ctx.get(), dw0);
  MOR_ASSERT_OK(mor_rmsnorm_forward(ctx.get(), nullptr, T, C, (float)eps, bx.get(), bw.get(), by.get(), br.get()));
  EXPECT_LT(rel_error(by.f32(), ref::rmsnorm(T, C, eps, to_double(x), to_double(w))), 1e-5);
  MOR_ASSERT_OK(
      mor_rmsnorm_backward(ctx.get(), nullptr, T, C, bx.get(), bw.get(), br.get(), bdy.get(), bdx.get(), bdw.get()));
  const ref::Vec xd = to_double(x), wd = to_double(w), R = to_double(dy);
  auto gx = ref::numeric_grad([&](const ref::Vec& xx) { return ref::rmsnorm(T, C, eps, xx, wd); }, xd, R);
  auto gw = ref::numeric_grad([&](const ref::Vec& ww) { return ref::rmsnorm(T, C, eps, xd, ww); }, wd, R);
  EXPECT_LT(rel(added(bdx.f32(), dx0), gx), 1e-4);
  EXPECT_LT(rel(added(bdw.f32(), dw0), gw), 1e-4);
  // Frozen norm: dw may be null.
  MOR_ASSERT_OK(
      mor_rmsnorm_backward(ctx.get(), nullptr, T, C, bx.get(), bw.get(), br.get(), bdy.get(), bdx.get(), nullptr));
}

TEST(Rope, MatchesReferenceOnAFusedQkvSliceAndInverseUndoesIt) {
  Context ctx;
  const int64_t T = 5, H = 3, D = 8, ld = 2 * H * D + 4, off = 2;  // q heads inside a wider row
  auto base = random_vector((size_t)(off + T * ld), 7);
  std::vector<int32_t> pos = {0, 1, 7, 100, 4095};
  std::vector<float> inv(D / 2);
  for (int64_t i = 0; i < D / 2; ++i) inv[i] = (float)std::pow(10000.0, -2.0 * i / D);
  Buffer bx(ctx.get(), base), bp = i32_buffer(ctx.get(), pos), bi(ctx.get(), inv);
  MOR_ASSERT_OK(mor_rope(ctx.get(), nullptr, T, H, D, bx.get(), off, ld, bp.get(), bi.get(), 0));
  auto got = bx.f32();
  ref::Vec slice((size_t)(T * H * D));
  std::vector<float> got_slice(slice.size());
  for (int64_t t = 0; t < T; ++t)
    for (int64_t c = 0; c < H * D; ++c) {
      slice[t * H * D + c] = base[off + t * ld + c];
      got_slice[t * H * D + c] = got[off + t * ld + c];
    }
  EXPECT_LT(rel_error(got_slice, ref::rope(T, H, D, slice, pos, inv)), 1e-5);
  for (int64_t t = 0; t < T; ++t)  // columns outside the heads are untouched
    for (int64_t c = H * D; c < ld; ++c) EXPECT_EQ(got[off + t * ld + c], base[off + t * ld + c]);
  MOR_ASSERT_OK(mor_rope(ctx.get(), nullptr, T, H, D, bx.get(), off, ld, bp.get(), bi.get(), 1));
  EXPECT_LT(rel_error(bx.f32(), to_double(base)), 1e-5);
  // The backward is the inverse rotation: check it against finite differences of the forward.
  auto R = to_double(random_vector(slice.size(), 8));
  auto num = ref::numeric_grad([&](const ref::Vec& xx) { return ref::rope(T, H, D, xx, pos, inv); }, slice, R);
  Buffer bR(ctx.get(), std::vector<float>(R.begin(), R.end()));
  MOR_ASSERT_OK(mor_rope(ctx.get(), nullptr, T, H, D, bR.get(), 0, H * D, bp.get(), bi.get(), 1));
  EXPECT_LT(rel_error(bR.f32(), num), 1e-5);
  EXPECT_EQ(mor_rope(ctx.get(), nullptr, T, H, 7, bx.get(), 0, ld, bp.get(), bi.get(), 0), MOR_ERR_INVALID_ARGUMENT);
}

namespace {

struct AttnCase {
  int64_t B, Tq, Tk, Hq, Hkv, D;
};

// q, k, v are dense here (ld = heads·D); the strided layouts have their own test below.
void check_attention(const AttnCase& c) {
  Context ctx;
  const double scale = 1.0 / std::sqrt((double)c.D);
  auto q = random_vector(c.B * c.Tq * c.Hq * c.D, 11), k = random_vector(c.B * c.Tk * c.Hkv * c.D, 12),
       v = random_vector(c.B * c.Tk * c.Hkv * c.D, 13), dout = random_vector(c.B * c.Tq * c.Hq * c.D, 14);
  Buffer bq(ctx.get(), q), bk(ctx.get(), k), bv(ctx.get(), v), bo(ctx.get(), MOR_DTYPE_F32, (int64_t)q.size()),
      bl(ctx.get(), MOR_DTYPE_F32, c.B * c.Hq * c.Tq), bdo(ctx.get(), dout);
  mor_attention_dims d{c.B,          c.Tq, c.Tk, c.Hq, c.Hkv, c.D, 0, c.Hq * c.D, 0, 0, c.Hkv * c.D, c.Tk * c.Hkv * c.D,
                       (float)scale, 1};
  MOR_ASSERT_OK(mor_attention_forward(ctx.get(), nullptr, &d, bq.get(), bk.get(), bv.get(), bo.get(), bl.get()));
  const ref::Vec qd = to_double(q), kd = to_double(k), vd = to_double(v), R = to_double(dout);
  auto fwd = [&](const ref::Vec& qq, const ref::Vec& kk, const ref::Vec& vv) {
    return ref::attention(c.B, c.Tq, c.Tk, c.Hq, c.Hkv, c.D, scale, true, qq, kk, vv);
  };
  EXPECT_LT(rel_error(bo.f32(), fwd(qd, kd, vd)), 1e-5) << "Hq/Hkv=" << c.Hq << "/" << c.Hkv;
  auto dq0 = random_vector(q.size(), 15), dk0 = random_vector(k.size(), 16), dv0 = random_vector(v.size(), 17);
  Buffer bdq(ctx.get(), dq0), bdk(ctx.get(), dk0), bdv(ctx.get(), dv0);
  MOR_ASSERT_OK(mor_attention_backward(ctx.get(), nullptr, &d, bq.get(), bk.get(), bv.get(), bo.get(), bl.get(),
                                       bdo.get(), bdq.get(), bdk.get(), bdv.get()));
  auto gq = ref::numeric_grad([&](const ref::Vec& x) { return fwd(x, kd, vd); }, qd, R);
  auto gk = ref::numeric_grad([&](const ref::Vec& x) { return fwd(qd, x, vd); }, kd, R);
  auto gv = ref::numeric_grad([&](const ref::Vec& x) { return fwd(qd, kd, x); }, vd, R);
  EXPECT_LT(rel(added(bdq.f32(), dq0), gq), 1e-4);
  EXPECT_LT(rel(added(bdk.f32(), dk0), gk), 1e-4);
  EXPECT_LT(rel(added(bdv.f32(), dv0), gv), 1e-4);
}

}  // namespace

TEST(Attention, CausalGqaRatiosOneTwoFourMatchReferenceAndFiniteDifferences) {
  check_attention({2, 5, 5, 4, 4, 8});
  check_attention({2, 5, 5, 4, 2, 8});
  check_attention({1, 6, 6, 4, 1, 4});
  check_attention({1, 1, 1, 2, 1, 2});  // T = 1
}

TEST(Attention, SeveralQueryBlocksMatchReferenceAndFiniteDifferences) {
  // The CPU kernel works in blocks of 128 query rows; cross a block boundary with and without a cached prefix.
  check_attention({1, 150, 150, 2, 1, 4});
  check_attention({1, 129, 133, 2, 1, 2});
}

TEST(Attention, KvCacheQueriesSeeThePrefix) {
  check_attention({2, 2, 7, 4, 2, 8});  // two new tokens after five cached ones
}

TEST(Attention, FusedQkvAndPaddedCacheLayoutsMatchDense) {
  Context ctx;
  const int64_t B = 2, T = 4, Hq = 4, Hkv = 2, D = 4, Tcap = 6;
  const int64_t qkv_w = (Hq + 2 * Hkv) * D;
  // Dense run first.
  auto q = random_vector(B * T * Hq * D, 21), k = random_vector(B * T * Hkv * D, 22),
       v = random_vector(B * T * Hkv * D, 23);
  auto want = ref::attention(B, T, T, Hq, Hkv, D, 0.5, true, to_double(q), to_double(k), to_double(v));
  // q inside a fused [q | k | v] row; k and v in a cache with capacity Tcap rows per batch.
  std::vector<float> qkv((size_t)(B * T * qkv_w), 0.0f), kc((size_t)(B * Tcap * Hkv * D), 9.0f), vc(kc);
  for (int64_t r = 0; r < B * T; ++r)
    for (int64_t c = 0; c < Hq * D; ++c) qkv[r * qkv_w + c] = q[r * Hq * D + c];
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t c = 0; c < Hkv * D; ++c) {
        kc[(b * Tcap + t) * Hkv * D + c] = k[(b * T + t) * Hkv * D + c];
        vc[(b * Tcap + t) * Hkv * D + c] = v[(b * T + t) * Hkv * D + c];
      }
  Buffer bqkv(ctx.get(), qkv), bk(ctx.get(), kc), bv(ctx.get(), vc), bo(ctx.get(), MOR_DTYPE_F32, B * T * Hq * D),
      bl(ctx.get(), MOR_DTYPE_F32, B * Hq * T);
  mor_attention_dims d{B, T, T, Hq, Hkv, D, 0, qkv_w, 0, 0, Hkv * D, Tcap * Hkv * D, 0.5f, 1};
  MOR_ASSERT_OK(mor_attention_forward(ctx.get(), nullptr, &d, bqkv.get(), bk.get(), bv.get(), bo.get(), bl.get()));
  EXPECT_LT(rel_error(bo.f32(), want), 1e-5);
  d.kv_batch_stride = 2 * Hkv * D;  // fewer rows than kv_len
  EXPECT_EQ(mor_attention_forward(ctx.get(), nullptr, &d, bqkv.get(), bk.get(), bv.get(), bo.get(), bl.get()),
            MOR_ERR_INVALID_ARGUMENT);
  d.kv_batch_stride = Tcap * Hkv * D;
  d.kv_heads = 3;
  EXPECT_EQ(mor_attention_forward(ctx.get(), nullptr, &d, bqkv.get(), bk.get(), bv.get(), bo.get(), bl.get()),
            MOR_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(mor_last_error()).find("multiple of kv_heads"), std::string::npos);
}

TEST(SwiGlu, ForwardAndBackward) {
  Context ctx;
  const int64_t n = 101;
  auto g = random_vector(n, 31, 4.0f), u = random_vector(n, 32), dy = random_vector(n, 33);
  Buffer bg(ctx.get(), g), bu(ctx.get(), u), bo(ctx.get(), MOR_DTYPE_F32, n), bdy(ctx.get(), dy),
      bdg(ctx.get(), std::vector<float>(n, 0.0f)), bdu(ctx.get(), std::vector<float>(n, 0.0f));
  MOR_ASSERT_OK(mor_swiglu_forward(ctx.get(), nullptr, n, bg.get(), bu.get(), bo.get()));
  EXPECT_LT(rel_error(bo.f32(), ref::swiglu(to_double(g), to_double(u))), 1e-6);
  MOR_ASSERT_OK(mor_swiglu_backward(ctx.get(), nullptr, n, bg.get(), bu.get(), bdy.get(), bdg.get(), bdu.get()));
  const ref::Vec gd = to_double(g), ud = to_double(u), R = to_double(dy);
  EXPECT_LT(rel_error(bdg.f32(), ref::numeric_grad([&](const ref::Vec& x) { return ref::swiglu(x, ud); }, gd, R)),
            1e-5);
  EXPECT_LT(rel_error(bdu.f32(), ref::numeric_grad([&](const ref::Vec& x) { return ref::swiglu(gd, x); }, ud, R)),
            1e-5);
}

TEST(Embedding, LookupBf16TableAccumulatingBackwardAndRangeErrors) {
  Context ctx;
  const int64_t V = 11, C = 70, T = 6;
  std::vector<int32_t> ids = {3, 0, 3, 10, 5, 3};
  auto table = random_vector(V * C, 41), dout = random_vector(T * C, 42);
  Buffer bids = i32_buffer(ctx.get(), ids), bt(ctx.get(), table), bo(ctx.get(), MOR_DTYPE_F32, T * C),
         bdo(ctx.get(), dout), bdt(ctx.get(), std::vector<float>(V * C, 0.0f));
  MOR_ASSERT_OK(mor_embedding_forward(ctx.get(), nullptr, T, C, V, bids.get(), bt.get(), bo.get()));
  auto out = bo.f32();
  for (int64_t t = 0; t < T; ++t)
    for (int64_t c = 0; c < C; ++c) ASSERT_EQ(out[t * C + c], table[ids[t] * C + c]);
  std::vector<uint16_t> t16(table.size());
  for (size_t i = 0; i < t16.size(); ++i) t16[i] = mor::f32_to_bf16(table[i]);
  Buffer bt16(ctx.get(), MOR_DTYPE_BF16, V * C);
  MOR_ASSERT_OK(mor_buffer_upload(bt16.get(), 0, t16.data(), V * C, nullptr));
  MOR_ASSERT_OK(mor_embedding_forward(ctx.get(), nullptr, T, C, V, bids.get(), bt16.get(), bo.get()));
  EXPECT_EQ(bo.f32()[C + 1], mor::bf16_to_f32(t16[0 * C + 1]));
  MOR_ASSERT_OK(mor_embedding_backward(ctx.get(), nullptr, T, C, V, bids.get(), bdo.get(), bdt.get()));
  auto dt = bdt.f32();
  for (int64_t c = 0; c < C; ++c) {
    EXPECT_FLOAT_EQ(dt[3 * C + c], dout[0 * C + c] + dout[2 * C + c] + dout[5 * C + c]);
    EXPECT_EQ(dt[1 * C + c], 0.0f);
  }
  Buffer bad = i32_buffer(ctx.get(), {1, 2, 11, 0, 0, 0});
  EXPECT_EQ(mor_embedding_forward(ctx.get(), nullptr, T, C, V, bad.get(), bt.get(), bo.get()),
            MOR_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(mor_last_error()).find("id 11 at position 2"), std::string::npos) << mor_last_error();
}

TEST(CrossEntropy, LossesAndInPlaceGradientWithIgnoredRows) {
  Context ctx;
  const int64_t T = 5, V = 37;
  const float gs = 0.25f;
  auto logits = random_vector(T * V, 51, 5.0f);
  std::vector<int32_t> tg = {3, -100, 36, 0, 3};
  Buffer bl(ctx.get(), logits), bt = i32_buffer(ctx.get(), tg), bloss(ctx.get(), MOR_DTYPE_F32, T);
  MOR_ASSERT_OK(mor_cross_entropy(ctx.get(), nullptr, T, V, bl.get(), bt.get(), -100, bloss.get(), gs));
  const ref::Vec ld = to_double(logits);
  EXPECT_LT(rel_error(bloss.f32(), ref::cross_entropy(T, V, ld, tg, -100)), 1e-5);
  auto num = ref::numeric_grad([&](const ref::Vec& x) { return ref::cross_entropy(T, V, x, tg, -100); }, ld,
                               ref::Vec((size_t)T, gs));
  EXPECT_LT(rel_error(bl.f32(), num), 1e-5);
  for (int64_t j = 0; j < V; ++j) EXPECT_EQ(bl.f32()[1 * V + j], 0.0f);
  Buffer bad = i32_buffer(ctx.get(), {3, 37, 0, 0, 0});
  EXPECT_EQ(mor_cross_entropy(ctx.get(), nullptr, T, V, bl.get(), bad.get(), -100, bloss.get(), 0.0f),
            MOR_ERR_INVALID_ARGUMENT);
}

TEST(AdamW, ThreeStepsMatchTheFloat64Formula) {
  Context ctx;
  const int64_t n = 50;
  auto p = random_vector(n, 61), m0 = std::vector<float>(n, 0.0f);
  Buffer bp(ctx.get(), p), bm(ctx.get(), m0), bv(ctx.get(), m0), bg(ctx.get(), MOR_DTYPE_F32, n);
  ref::Vec P = to_double(p), M((size_t)n, 0.0), Vv((size_t)n, 0.0);
  const double lr = 1e-2, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.1, gs = 0.5;
  for (int64_t step = 1; step <= 3; ++step) {
    auto g = random_vector(n, 70 + step);
    bg.upload(g);
    mor_adamw_params hp{(float)lr, (float)b1, (float)b2, (float)eps, (float)wd, (float)gs, step};
    MOR_ASSERT_OK(mor_adamw_step(ctx.get(), nullptr, n, bp.get(), bg.get(), bm.get(), bv.get(), &hp));
    for (int64_t i = 0; i < n; ++i) {
      const double gi = g[i] * gs;
      M[i] = b1 * M[i] + (1 - b1) * gi;
      Vv[i] = b2 * Vv[i] + (1 - b2) * gi * gi;
      P[i] = P[i] * (1 - lr * wd) -
             lr * (M[i] / (1 - std::pow(b1, step))) / (std::sqrt(Vv[i] / (1 - std::pow(b2, step))) + eps);
    }
  }
  EXPECT_LT(rel_error(bp.f32(), P), 1e-5);
  mor_adamw_params bad{1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f, 1.0f, 0};
  EXPECT_EQ(mor_adamw_step(ctx.get(), nullptr, n, bp.get(), bg.get(), bm.get(), bv.get(), &bad),
            MOR_ERR_INVALID_ARGUMENT);
}

TEST(Reductions, SumSquaresAxpyScaleAndNonFinite) {
  Context ctx;
  const int64_t n = 10001;
  auto x = random_vector(n, 81), y = random_vector(n, 82);
  Buffer bx(ctx.get(), x), by(ctx.get(), y);
  double ss = 0, want = 0;
  for (float v : x) want += (double)v * v;
  MOR_ASSERT_OK(mor_sum_squares(ctx.get(), nullptr, n, bx.get(), 0, &ss));
  EXPECT_NEAR(ss, want, 1e-9 * want);
  MOR_ASSERT_OK(mor_axpy(ctx.get(), nullptr, n - 1, 2.0f, bx.get(), 1, by.get(), 0));
  MOR_ASSERT_OK(mor_scale(ctx.get(), nullptr, n, -0.5f, by.get(), 0));
  auto got = by.f32();
  EXPECT_FLOAT_EQ(got[5], -0.5f * (y[5] + 2.0f * x[6]));
  EXPECT_FLOAT_EQ(got[n - 1], -0.5f * y[n - 1]);
  float nan = NAN;
  MOR_ASSERT_OK(mor_buffer_upload(bx.get(), 777, &nan, 1, nullptr));
  MOR_ASSERT_OK(mor_sum_squares(ctx.get(), nullptr, n, bx.get(), 0, &ss));
  EXPECT_TRUE(std::isnan(ss));
}

TEST(Determinism, AttentionAndNormBackwardsAreBitIdentical) {
  auto run = [] {
    Context ctx;
    const int64_t B = 1, T = 70, H = 4, D = 16, C = H * D;
    auto x = random_vector(B * T * C, 91), dy = random_vector(B * T * C, 92);
    Buffer bq(ctx.get(), x), bo(ctx.get(), MOR_DTYPE_F32, B * T * C), bl(ctx.get(), MOR_DTYPE_F32, B * H * T),
        bdo(ctx.get(), dy), bdq(ctx.get(), std::vector<float>(x.size(), 0.0f)),
        bdk(ctx.get(), std::vector<float>(x.size(), 0.0f)), bdv(ctx.get(), std::vector<float>(x.size(), 0.0f));
    mor_attention_dims d{B, T, T, H, H, D, 0, C, 0, 0, C, T * C, 0.25f, 1};
    EXPECT_EQ(mor_attention_forward(ctx.get(), nullptr, &d, bq.get(), bq.get(), bq.get(), bo.get(), bl.get()), MOR_OK);
    EXPECT_EQ(mor_attention_backward(ctx.get(), nullptr, &d, bq.get(), bq.get(), bq.get(), bo.get(), bl.get(),
                                     bdo.get(), bdq.get(), bdk.get(), bdv.get()),
              MOR_OK);
    auto a = bdq.f32(), b = bdk.f32(), c = bdv.f32();
    a.insert(a.end(), b.begin(), b.end());
    a.insert(a.end(), c.begin(), c.end());
    return a;
  };
  EXPECT_EQ(run(), run());
}
