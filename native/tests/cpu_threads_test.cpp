// The CPU thread count through the ABI (mor_cpu_set_threads): results must not depend on it, small ops must stay
// on the calling thread, large ones must be shared. The shapes here are large enough that every op below is cut
// into several chunks (the other tests' shapes mostly run in one), so this is also where the parallel paths are
// checked against the float64 references.
#include <cstring>
#include <functional>
#include <map>

#include "adapter_runner.h"
#include "transformer_reference.h"

using namespace mortest;

namespace {

struct Threads {
  explicit Threads(int n) { EXPECT_EQ(mor_cpu_set_threads(n), MOR_OK) << mor_last_error(); }
  ~Threads() { mor_cpu_set_threads(0); }
};

mor_cpu_thread_stats stats() {
  mor_cpu_thread_stats s{};
  EXPECT_EQ(mor_cpu_thread_stats_get(&s), MOR_OK);
  return s;
}

std::vector<ref::Vec> random_params(const std::vector<size_t>& sizes, uint64_t seed) {
  std::vector<ref::Vec> p;
  for (size_t i = 0; i < sizes.size(); ++i) p.push_back(to_double(random_vector(sizes[i], seed + i, 0.5f)));
  return p;
}

Buffer i32_buffer(mor_context ctx, const std::vector<int32_t>& v) {
  Buffer b(ctx, MOR_DTYPE_I32, (int64_t)v.size());
  EXPECT_EQ(mor_buffer_upload(b.get(), 0, v.data(), (int64_t)v.size(), nullptr), MOR_OK);
  return b;
}

bool bit_equal(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Named outputs of one run of every op, on one thread count.
using Outputs = std::map<std::string, std::vector<float>>;

const ref::Dims kAdapter{300, 96, 160, 8, 4, 0.5};

Outputs run_all_ops() {
  Context ctx;
  mor_context c = ctx.get();
  Outputs out;

  // GEMM, both layouts, cut into tiles along rows (m ≥ n) and along columns (m < n).
  for (auto [m, n, k, ta, tb] : {std::tuple{384, 200, 150, 0, 1}, std::tuple{160, 420, 130, 1, 0}}) {
    auto a = random_vector((size_t)(m * k), 1), b = random_vector((size_t)(k * n), 2), c0 = random_vector(m * n, 3);
    Buffer ba(c, a), bb(c, b), bc(c, c0);
    EXPECT_EQ(mor_gemm(c, nullptr, ta, tb, m, n, k, 0.5f, ba.get(), 0, ta ? m : k, 0, bb.get(), 0, tb ? k : n, 0, 0.25f,
                       bc.get(), 0, n, 0, 1, 0),
              MOR_OK)
        << mor_last_error();
    out["gemm " + std::to_string(m)] = bc.f32();
  }

  // Adapters.
  const ref::Dims& d = kAdapter;
  auto lora = run_lora(c, d, random_params({(size_t)(d.r * d.d_in), (size_t)(d.d_out * d.r)}, 10), 11, false, false);
  auto mor = run_mor(c, d,
                     random_params({(size_t)(d.r * d.d_in), (size_t)(d.N * d.d_in), (size_t)(d.N * d.r),
                                    (size_t)(d.d_out * d.r), (size_t)(d.N * d.d_out)},
                                   12),
                     13, false, false);
  auto moe = run_moe(
      c, d, random_params({(size_t)(d.N * d.r * d.d_in), (size_t)(d.N * d.d_in), (size_t)(d.d_out * d.N * d.r)}, 14),
      15, false, false);
  for (auto [name, run] : {std::pair{"lora", &lora}, std::pair{"mor", &mor}, std::pair{"moe", &moe}}) {
    out[std::string(name) + " y"] = run->y;
    for (size_t i = 0; i < run->grads.size(); ++i)
      out[std::string(name) + " grad " + std::to_string(i)] = run->grads[i];
  }

  // Attention, GQA 4/2, two query blocks, forward and backward.
  const int64_t B = 2, T = 200, Hq = 4, Hkv = 2, D = 16;
  auto q = random_vector(B * T * Hq * D, 21), k = random_vector(B * T * Hkv * D, 22),
       v = random_vector(B * T * Hkv * D, 23), dout = random_vector(B * T * Hq * D, 24);
  Buffer bq(c, q), bk(c, k), bv(c, v), bo(c, MOR_DTYPE_F32, B * T * Hq * D), bl(c, MOR_DTYPE_F32, B * Hq * T),
      bdo(c, dout), bdq(c, random_vector(q.size(), 25)), bdk(c, random_vector(k.size(), 26)),
      bdv(c, random_vector(v.size(), 27));
  mor_attention_dims ad{B, T, T, Hq, Hkv, D, 0, Hq * D, 0, 0, Hkv * D, T * Hkv * D, 0.25f, 1};
  EXPECT_EQ(mor_attention_forward(c, nullptr, &ad, bq.get(), bk.get(), bv.get(), bo.get(), bl.get()), MOR_OK);
  EXPECT_EQ(mor_attention_backward(c, nullptr, &ad, bq.get(), bk.get(), bv.get(), bo.get(), bl.get(), bdo.get(),
                                   bdq.get(), bdk.get(), bdv.get()),
            MOR_OK);
  out["attention out"] = bo.f32(), out["attention lse"] = bl.f32();
  out["attention dq"] = bdq.f32(), out["attention dk"] = bdk.f32(), out["attention dv"] = bdv.f32();

  // RMSNorm backward (two-phase weight-gradient reduction), RoPE, SwiGLU, cross-entropy, embedding backward.
  const int64_t Tn = 400, C = 256, V = 1000;
  auto x = random_vector(Tn * C, 31), w = random_vector(C, 32), dy = random_vector(Tn * C, 33);
  Buffer bx(c, x), bw(c, w), by(c, MOR_DTYPE_F32, Tn * C), br(c, MOR_DTYPE_F32, Tn), bdy(c, dy),
      bdx(c, random_vector(x.size(), 34)), bdw(c, random_vector(C, 35));
  EXPECT_EQ(mor_rmsnorm_forward(c, nullptr, Tn, C, 1e-5f, bx.get(), bw.get(), by.get(), br.get()), MOR_OK);
  EXPECT_EQ(mor_rmsnorm_backward(c, nullptr, Tn, C, bx.get(), bw.get(), br.get(), bdy.get(), bdx.get(), bdw.get()),
            MOR_OK);
  out["rmsnorm y"] = by.f32(), out["rmsnorm dx"] = bdx.f32(), out["rmsnorm dw"] = bdw.f32();

  std::vector<int32_t> pos(Tn), ids(Tn);
  for (int64_t t = 0; t < Tn; ++t) pos[t] = (int32_t)(t % 150), ids[t] = (int32_t)((t * 7919) % V);
  std::vector<float> inv(D / 2);
  for (int64_t i = 0; i < D / 2; ++i) inv[i] = (float)std::pow(10000.0, -2.0 * i / D);
  Buffer bpos = i32_buffer(c, pos), binv(c, inv);
  EXPECT_EQ(mor_rope(c, nullptr, Tn, C / D, D, by.get(), 0, C, bpos.get(), binv.get(), 0), MOR_OK);
  out["rope"] = by.f32();

  // Positions 0..2047 at head_dim 64: the cos/sin table itself is built by the pool. The table is cached per
  // thread while the frequencies stay the same, so each call uses new ones (and is checked on its own).
  {
    static int calls = 0;
    const double base = 500000.0 + 1000.0 * calls++;
    const int64_t Tr = 2048, Hr = 2, Dr = 64;
    std::vector<int32_t> rpos(Tr);
    for (int64_t t = 0; t < Tr; ++t) rpos[t] = (int32_t)t;
    std::vector<float> rinv(Dr / 2);
    for (int64_t i = 0; i < Dr / 2; ++i) rinv[i] = (float)std::pow(base, -2.0 * i / Dr);
    auto rx = random_vector(Tr * Hr * Dr, 45);
    Buffer brx(c, rx), brp = i32_buffer(c, rpos), bri(c, rinv);
    EXPECT_EQ(mor_rope(c, nullptr, Tr, Hr, Dr, brx.get(), 0, Hr * Dr, brp.get(), bri.get(), 0), MOR_OK);
    EXPECT_LT(rel_error(brx.f32(), ref::rope(Tr, Hr, Dr, to_double(rx), rpos, rinv)), 1e-5);
  }

  Buffer bgate(c, random_vector(Tn * C, 36, 4.0f)), bup(c, random_vector(Tn * C, 37)), bsw(c, MOR_DTYPE_F32, Tn * C),
      bdg(c, random_vector(Tn * C, 38)), bdu(c, random_vector(Tn * C, 39));
  EXPECT_EQ(mor_swiglu_forward(c, nullptr, Tn * C, bgate.get(), bup.get(), bsw.get()), MOR_OK);
  EXPECT_EQ(mor_swiglu_backward(c, nullptr, Tn * C, bgate.get(), bup.get(), bdy.get(), bdg.get(), bdu.get()), MOR_OK);
  out["swiglu"] = bsw.f32(), out["swiglu dgate"] = bdg.f32(), out["swiglu dup"] = bdu.f32();

  Buffer blog(c, random_vector(Tn * V, 40, 3.0f)), bids = i32_buffer(c, ids), bloss(c, MOR_DTYPE_F32, Tn);
  EXPECT_EQ(mor_cross_entropy(c, nullptr, Tn, V, blog.get(), bids.get(), -100, bloss.get(), 0.01f), MOR_OK);
  out["cross entropy loss"] = bloss.f32(), out["cross entropy grad"] = blog.f32();

  Buffer btable(c, random_vector(V * C, 41));
  EXPECT_EQ(mor_embedding_backward(c, nullptr, Tn, C, V, bids.get(), bdy.get(), btable.get()), MOR_OK);
  out["embedding dtable"] = btable.f32();

  double ss = 0;
  EXPECT_EQ(mor_sum_squares(c, nullptr, Tn * V, blog.get(), 0, &ss), MOR_OK);
  out["sum squares"] = {(float)ss, (float)(ss - (double)(float)ss)};
  return out;
}

}  // namespace

TEST(CpuThreads, TheCountCanBeSetReadAndRestored) {
  int32_t n = 0;
  MOR_ASSERT_OK(mor_cpu_set_threads(3));
  MOR_ASSERT_OK(mor_cpu_get_threads(&n));
  EXPECT_EQ(n, 3);
  EXPECT_EQ(stats().threads, 3);
  EXPECT_EQ(mor_cpu_set_threads(-1), MOR_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(mor_last_error()).find("threads"), std::string::npos);
  EXPECT_EQ(mor_cpu_set_threads(100000), MOR_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(mor_cpu_get_threads(nullptr), MOR_ERR_INVALID_ARGUMENT);
  MOR_ASSERT_OK(mor_cpu_set_threads(0));
  MOR_ASSERT_OK(mor_cpu_get_threads(&n));
  EXPECT_GE(n, 1);
}

TEST(CpuThreads, EveryOpGivesBitIdenticalResultsOnOneTwoThreeAndFourThreads) {
  Outputs one;
  {
    Threads t(1);
    one = run_all_ops();
  }
  for (int threads : {2, 3, 4}) {
    Threads t(threads);
    const auto before = stats();
    Outputs got = run_all_ops();
    EXPECT_GT(stats().parallel_loops, before.parallel_loops) << "nothing ran in parallel on " << threads << " threads";
    ASSERT_EQ(got.size(), one.size());
    for (const auto& [name, values] : one)
      EXPECT_TRUE(bit_equal(got[name], values)) << name << ", " << threads << " threads";
  }
  // Reruns on the same count agree as well.
  Threads t(2);
  Outputs again = run_all_ops();
  for (const auto& [name, values] : one) EXPECT_TRUE(bit_equal(again[name], values)) << name << " (rerun)";
}

TEST(CpuThreads, AdaptersCutIntoManyChunksStillMatchTheFloat64Reference) {
  Threads t(3);
  Context ctx;
  const ref::Dims& d = kAdapter;
  auto mor = run_mor(ctx.get(), d,
                     random_params({(size_t)(d.r * d.d_in), (size_t)(d.N * d.d_in), (size_t)(d.N * d.r),
                                    (size_t)(d.d_out * d.r), (size_t)(d.N * d.d_out)},
                                   12),
                     13);
  EXPECT_LT(rel_error(mor.y, mor.want_y), 1e-5);
  for (size_t i = 0; i < mor.grads.size(); ++i) EXPECT_LT(rel_error(mor.grads[i], mor.want_grads[i]), 1e-5) << i;
  auto moe = run_moe(
      ctx.get(), d,
      random_params({(size_t)(d.N * d.r * d.d_in), (size_t)(d.N * d.d_in), (size_t)(d.d_out * d.N * d.r)}, 14), 15);
  EXPECT_LT(rel_error(moe.y, moe.want_y), 1e-5);
  for (size_t i = 0; i < moe.grads.size(); ++i) EXPECT_LT(rel_error(moe.grads[i], moe.want_grads[i]), 1e-5) << i;
}

TEST(CpuThreads, SmallOpsStayOnTheCallingThreadAndLargeOnesAreShared) {
  Threads t(2);
  Context ctx;
  mor_context c = ctx.get();
  // A 2-layer d = 64 model's per-token ops on a handful of tokens: one chunk each, no other thread involved.
  const int64_t T = 16, C = 64;
  Buffer bx(c, random_vector(T * C, 1)), bw(c, random_vector(C, 2)), by(c, MOR_DTYPE_F32, T * C),
      br(c, MOR_DTYPE_F32, T), bm(c, MOR_DTYPE_F32, C * C);
  const auto before = stats();
  MOR_ASSERT_OK(mor_rmsnorm_forward(c, nullptr, T, C, 1e-5f, bx.get(), bw.get(), by.get(), br.get()));
  MOR_ASSERT_OK(mor_swiglu_forward(c, nullptr, T * C, bx.get(), by.get(), by.get()));
  MOR_ASSERT_OK(
      mor_gemm(c, nullptr, 0, 1, T, C, C, 1.0f, bx.get(), 0, C, 0, bm.get(), 0, C, 0, 0.0f, by.get(), 0, C, 0, 1, 0));
  const auto small = stats();
  EXPECT_EQ(small.parallel_loops, before.parallel_loops);
  EXPECT_EQ(small.inline_loops, before.inline_loops);
  EXPECT_GE(small.serial_loops, before.serial_loops + 3);
  // A product of 2·512³ FLOPs is worth sharing.
  const int64_t n = 512;
  Buffer ba(c, random_vector(n * n, 3)), bb(c, random_vector(n * n, 4)), bc(c, MOR_DTYPE_F32, n * n);
  MOR_ASSERT_OK(
      mor_gemm(c, nullptr, 0, 0, n, n, n, 1.0f, ba.get(), 0, n, 0, bb.get(), 0, n, 0, 0.0f, bc.get(), 0, n, 0, 1, 0));
  EXPECT_GT(stats().parallel_loops, small.parallel_loops);
}
