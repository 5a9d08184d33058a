// The CUDA transformer ops against the CPU backend: every op runs on a CPU and a CUDA context with the
// same inputs and the results are compared (norm-relative error: ‖got − want‖∞ / ‖want‖∞; 1e-5 for
// the F32 paths, 1e-4 for attention gradients). Backward outputs are pre-filled, so what is compared
// is the part each backend ADDED. Covers GQA ratios 1/2/4, a KV cache with a padded batch stride, a
// fused-QKV layout (q, k, v and their gradients inside one buffer), T = 1, odd sizes, every padded
// head dim (64/128/256) and the scalar (unaligned) load path; and determinism: the CUDA backwards run
// twice are bit-identical. Every test skips with the reason when no CUDA device is usable (also in
// builds without CUDA).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "common/float16.h"
#include "test_support.h"

using namespace mortest;

#define TX_REQUIRE_CUDA()                                                   \
  do {                                                                      \
    std::string why_;                                                       \
    if (!cuda_available(&why_)) GTEST_SKIP() << "no CUDA device: " << why_; \
  } while (0)

namespace {

constexpr int kCpu = 0, kGpu = 1;

// A CPU and a CUDA context side by side.
class TxPair {
 public:
  TxPair() : cpu_(MOR_BACKEND_CPU), gpu_(MOR_BACKEND_CUDA) {}
  bool ok() const { return cpu_.status() == MOR_OK && gpu_.status() == MOR_OK; }
  mor_context operator[](int side) const { return side == kCpu ? cpu_.get() : gpu_.get(); }

 private:
  Context cpu_, gpu_;
};

#define TX_PAIR(name) \
  TxPair name;        \
  ASSERT_TRUE(name.ok()) << "context creation failed: " << mor_last_error()

Buffer i32_buffer(mor_context ctx, const std::vector<int32_t>& v) {
  Buffer b(ctx, MOR_DTYPE_I32, (int64_t)v.size());
  EXPECT_EQ(mor_buffer_upload(b.get(), 0, v.data(), (int64_t)v.size(), nullptr), MOR_OK) << mor_last_error();
  return b;
}

// ‖got − want‖∞ / ‖want‖∞.
double rel(const std::vector<float>& got, const std::vector<float>& want) { return rel_error(got, to_double(want)); }

// The same, over what each side added to a common initial value. `floor` bounds the denominator
// from below for results that are exactly zero on the CPU (e.g. dq and dk with one visible key).
double rel_added(const std::vector<float>& got, const std::vector<float>& want, const std::vector<float>& init,
                 double floor = 1e-30) {
  if (got.size() != want.size() || want.size() != init.size()) return INFINITY;
  double num = 0, den = floor;
  for (size_t i = 0; i < want.size(); ++i) {
    const double g = (double)got[i] - init[i], w = (double)want[i] - init[i];
    num = std::max(num, std::fabs(g - w));
    den = std::max(den, std::fabs(w));
  }
  return num / den;
}

bool bit_identical(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

// ---- attention ------------------------------------------------------------------------------------

struct AttnCase {
  int64_t B, Tq, Tk, Hq, Hkv, D;
  bool causal = true;
  int64_t q_pad = 0;    // extra columns per q row (odd: the scalar load path)
  int64_t kv_pad = 0;   // extra columns per k/v row
  int64_t cap_pad = 0;  // extra rows per kv batch (a KV cache with spare capacity)
  bool fused = false;   // q, k, v (and dq, dk, dv) in one [q | k | v] buffer; needs Tq == Tk
  float in_scale = 1.0f;
  bool aligned = false;  // offsets that keep every row 16-byte aligned (the tensor-core path needs it)
};

std::string describe(const AttnCase& c) {
  char s[256];
  std::snprintf(s, sizeof s,
                "B=%lld Tq=%lld Tk=%lld Hq=%lld Hkv=%lld D=%lld causal=%d q_pad=%lld kv_pad=%lld cap_pad=%lld fused=%d "
                "aligned=%d",
                (long long)c.B, (long long)c.Tq, (long long)c.Tk, (long long)c.Hq, (long long)c.Hkv, (long long)c.D,
                (int)c.causal, (long long)c.q_pad, (long long)c.kv_pad, (long long)c.cap_pad, (int)c.fused,
                (int)c.aligned);
  return s;
}

struct AttnLayout {
  mor_attention_dims d;
  int64_t q_numel, k_numel, v_numel;  // fused: all three are the one buffer's size
};

AttnLayout layout(const AttnCase& c) {
  AttnLayout L;
  mor_attention_dims& d = L.d;
  std::memset(&d, 0, sizeof d);
  d.batch = c.B, d.q_len = c.Tq, d.kv_len = c.Tk, d.q_heads = c.Hq, d.kv_heads = c.Hkv, d.head_dim = c.D;
  d.scale = (float)(1.0 / std::sqrt((double)c.D));
  d.causal = c.causal ? 1 : 0;
  if (c.fused) {
    const int64_t W = (c.Hq + 2 * c.Hkv) * c.D + c.q_pad;
    d.q_offset = 0, d.q_row_stride = W;
    d.k_offset = c.Hq * c.D, d.v_offset = (c.Hq + c.Hkv) * c.D;
    d.kv_row_stride = W, d.kv_batch_stride = c.Tk * W;
    L.q_numel = L.k_numel = L.v_numel = c.B * c.Tq * W;
  } else {
    d.q_offset = c.aligned ? 4 : 3, d.q_row_stride = c.Hq * c.D + c.q_pad;
    d.k_offset = c.aligned ? 8 : 5, d.v_offset = c.aligned ? 12 : 2;
    d.kv_row_stride = c.Hkv * c.D + c.kv_pad;
    d.kv_batch_stride = (c.Tk + c.cap_pad) * d.kv_row_stride;
    L.q_numel = d.q_offset + c.B * c.Tq * d.q_row_stride;
    L.k_numel = d.k_offset + c.B * d.kv_batch_stride;
    L.v_numel = d.v_offset + c.B * d.kv_batch_stride;
  }
  return L;
}

struct AttnResult {
  std::vector<float> out, lse, dq, dk, dv;  // fused: dq holds the whole gradient buffer, dk/dv empty
};

// Forward, then (if backward) backward into pre-filled gradient buffers, on one context.
AttnResult run_attention(mor_context ctx, const AttnCase& c, bool backward, uint64_t seed) {
  const AttnLayout L = layout(c);
  AttnResult r;
  const int64_t out_n = c.B * c.Tq * c.Hq * c.D, lse_n = c.B * c.Hq * c.Tq;
  Buffer bq(ctx, random_vector(L.q_numel, seed + 1, c.in_scale));
  Buffer bk, bv;
  if (!c.fused) {
    bk = Buffer(ctx, random_vector(L.k_numel, seed + 2, c.in_scale));
    bv = Buffer(ctx, random_vector(L.v_numel, seed + 3));
  }
  mor_buffer q = bq.get(), k = c.fused ? q : bk.get(), v = c.fused ? q : bv.get();
  Buffer bo(ctx, MOR_DTYPE_F32, out_n), bl(ctx, MOR_DTYPE_F32, lse_n);
  EXPECT_EQ(mor_attention_forward(ctx, nullptr, &L.d, q, k, v, bo.get(), bl.get()), MOR_OK) << mor_last_error();
  r.out = bo.f32();
  r.lse = bl.f32();
  if (!backward) return r;
  Buffer bdo(ctx, random_vector(out_n, seed + 4));
  Buffer bdq(ctx, random_vector(L.q_numel, seed + 5, 0.5f)), bdk, bdv;
  if (!c.fused) {
    bdk = Buffer(ctx, random_vector(L.k_numel, seed + 6, 0.5f));
    bdv = Buffer(ctx, random_vector(L.v_numel, seed + 7, 0.5f));
  }
  mor_buffer dq = bdq.get(), dk = c.fused ? dq : bdk.get(), dv = c.fused ? dq : bdv.get();
  EXPECT_EQ(mor_attention_backward(ctx, nullptr, &L.d, q, k, v, bo.get(), bl.get(), bdo.get(), dq, dk, dv), MOR_OK)
      << mor_last_error();
  r.dq = bdq.f32();
  if (!c.fused) {
    r.dk = bdk.f32();
    r.dv = bdv.f32();
  }
  return r;
}

void check_attention(const TxPair& ctx, const AttnCase& c) {
  SCOPED_TRACE(describe(c));
  const uint64_t seed = 1000 + (uint64_t)(c.B * 131 + c.Tq * 17 + c.Tk * 7 + c.D);
  const AttnResult cpu = run_attention(ctx[kCpu], c, true, seed);
  const AttnResult gpu = run_attention(ctx[kGpu], c, true, seed);
  EXPECT_LT(rel(gpu.out, cpu.out), 1e-5);
  EXPECT_LT(rel(gpu.lse, cpu.lse), 1e-5);
  const AttnLayout L = layout(c);
  const auto dq0 = random_vector(L.q_numel, seed + 5, 0.5f);
  // With a single visible key (T = 1) the softmax is constant, so dq and dk are exactly zero on the
  // CPU and rounding noise (~1e-8) on the GPU: the denominator floor of 1e-3 turns that case into an
  // absolute check (1e-7) without weakening the others (their gradients are O(0.1..10)).
  const double floor = 1e-3;
  EXPECT_LT(rel_added(gpu.dq, cpu.dq, dq0, floor), 1e-4) << (c.fused ? "d[q|k|v]" : "dq");
  if (!c.fused) {
    EXPECT_LT(rel_added(gpu.dk, cpu.dk, random_vector(L.k_numel, seed + 6, 0.5f), floor), 1e-4) << "dk";
    EXPECT_LT(rel_added(gpu.dv, cpu.dv, random_vector(L.v_numel, seed + 7, 0.5f), floor), 1e-4) << "dv";
  }
}

// A CUDA context that allows reduced precision: attention takes the BF16 tensor-core kernels where
// they apply (sm_80+, head_dim 64/128, q_len >= 16, aligned rows; MOR_ATTENTION unset).
class Bf16Context {
 public:
  Bf16Context() : ctx_(MOR_BACKEND_CUDA) {
    if (ctx_.status() == MOR_OK) status_ = mor_context_set_allow_tf32(ctx_.get(), 1);
  }
  bool ok() const { return ctx_.status() == MOR_OK && status_ == MOR_OK; }
  mor_context get() const { return ctx_.get(); }

 private:
  Context ctx_;
  int32_t status_ = MOR_ERR_INVALID_ARGUMENT;
};

bool device_has_bf16_mma() {
  mor_device_info info;
  std::memset(&info, 0, sizeof info);
  return mor_device_info_get(MOR_BACKEND_CUDA, 0, &info) == MOR_OK && info.compute_capability_major >= 8;
}

// The tensor-core path against the CPU. Tolerances come from a float64 emulation of the kernels'
// rounding (q, k, v, dout, P and dS rounded to BF16, F32 accumulation) on these U(−1, 1) inputs at
// T = 64..512, D = 64/128: worst norm-relative errors out 3e-3, lse 2.5e-4, dv 3e-3, dq/dk 7e-3
// (dS = P ⊙ (dP − D_i) loses a little more: D_i is exact F32 while dP has BF16 operands). BF16 has
// an 8-bit significand (unit roundoff 2^-9 ≈ 2e-3), so the bounds below are ~3× the emulated worst
// case; an indexing or masking bug gives errors of order 1.
void check_attention_bf16(mor_context cpu, mor_context gpu, const AttnCase& c, double lse_tol = 1e-3) {
  SCOPED_TRACE(describe(c) + " [bf16 tensor cores]");
  const uint64_t seed = 3000 + (uint64_t)(c.B * 131 + c.Tq * 17 + c.Tk * 7 + c.D);
  const AttnResult want = run_attention(cpu, c, true, seed);
  const AttnResult got = run_attention(gpu, c, true, seed);
  EXPECT_LT(rel(got.out, want.out), 1e-2) << "out";
  EXPECT_LT(rel(got.lse, want.lse), lse_tol) << "lse";
  const AttnLayout L = layout(c);
  const double floor = 1e-3;  // as in check_attention: exact zeros on the CPU (one visible key)
  EXPECT_LT(rel_added(got.dq, want.dq, random_vector(L.q_numel, seed + 5, 0.5f), floor), 2e-2)
      << (c.fused ? "d[q|k|v]" : "dq");
  if (!c.fused) {
    EXPECT_LT(rel_added(got.dk, want.dk, random_vector(L.k_numel, seed + 6, 0.5f), floor), 2e-2) << "dk";
    EXPECT_LT(rel_added(got.dv, want.dv, random_vector(L.v_numel, seed + 7, 0.5f), floor), 1e-2) << "dv";
  }
}

#define TX_BF16(name)                  \
  Context name##_cpu(MOR_BACKEND_CPU); \
  Bf16Context name;                    \
  ASSERT_TRUE(name##_cpu.status() == MOR_OK && name.ok()) << "context creation failed: " << mor_last_error()

}  // namespace

// ---- RMSNorm ---------------------------------------------------------------------------------------

TEST(CudaTransformer, RmsNormForwardBackwardMatchCpu) {
  TX_REQUIRE_CUDA();
  TX_PAIR(ctx);
  const int64_t shapes[][2] = {{1, 1}, {1, 33}, {70, 33}, {129, 4099}, {200, 64}};
  for (auto& sh : shapes) {
    const int64_t T = sh[0], C = sh[1];
    SCOPED_TRACE("T=" + std::to_string(T) + " C=" + std::to_string(C));
    auto x = random_vector(T * C, 1), w = random_vector(C, 2), dy = random_vector(T * C, 3);
    auto dx0 = random_vector(T * C, 4, 0.5f), dw0 = random_vector(C, 5, 0.5f);
    std::vector<float> y[2], r[2], dx[2], dw[2], dx_nodw[2];
    for (int s : {kCpu, kGpu}) {
      Buffer bx(ctx[s], x), bw(ctx[s], w), by(ctx[s], MOR_DTYPE_F32, T * C), br(ctx[s], MOR_DTYPE_F32, T),
          bdy(ctx[s], dy), bdx(ctx[s], dx0), bdw(ctx[s], dw0);
      MOR_ASSERT_OK(mor_rmsnorm_forward(ctx[s], nullptr, T, C, 1e-5f, bx.get(), bw.get(), by.get(), br.get()));
      MOR_ASSERT_OK(
          mor_rmsnorm_backward(ctx[s], nullptr, T, C, bx.get(), bw.get(), br.get(), bdy.get(), bdx.get(), bdw.get()));
      y[s] = by.f32(), r[s] = br.f32(), dx[s] = bdx.f32(), dw[s] = bdw.f32();
      bdx.upload(dx0);  // frozen norm: dw may be null
      MOR_ASSERT_OK(
          mor_rmsnorm_backward(ctx[s], nullptr, T, C, bx.get(), bw.get(), br.get(), bdy.get(), bdx.get(), nullptr));
      dx_nodw[s] = bdx.f32();
    }
    EXPECT_LT(rel(y[kGpu], y[kCpu]), 1e-5);
    EXPECT_LT(rel(r[kGpu], r[kCpu]), 1e-5);
    EXPECT_LT(rel_added(dx[kGpu], dx[kCpu], dx0), 1e-5);
    EXPECT_LT(rel_added(dw[kGpu], dw[kCpu], dw0), 1e-5);
    EXPECT_LT(rel_added(dx_nodw[kGpu], dx_nodw[kCpu], dx0), 1e-5);
  }
}

// ---- RoPE ------------------------------------------------------------------------------------------

TEST(CudaTransformer, RopeOnAFusedSliceWithLargePositionsMatchesCpu) {
  TX_REQUIRE_CUDA();
  TX_PAIR(ctx);
  struct Case {
    int64_t T, H, D, ld, off;
  };
  const Case cases[] = {{1, 1, 2, 2, 0}, {7, 3, 6, 2 * 3 * 6 + 5, 3}, {40, 4, 128, 3 * 4 * 128, 0}, {9, 2, 64, 131, 1}};
  for (const Case& c : cases) {
    SCOPED_TRACE("T=" + std::to_string(c.T) + " H=" + std::to_string(c.H) + " D=" + std::to_string(c.D));
    std::vector<int32_t> pos((size_t)c.T);
    const int32_t big[] = {0, 1, 7, 4095, 100000, 1 << 20, 16777215, 2000000000};
    for (int64_t t = 0; t < c.T; ++t) pos[t] = big[t % 8] + (int32_t)(t / 8);
    std::vector<float> inv((size_t)(c.D / 2));
    for (int64_t i = 0; i < c.D / 2; ++i) inv[i] = (float)std::pow(500000.0, -2.0 * i / c.D);
    const auto base = random_vector((size_t)(c.off + c.T * c.ld), 7);
    std::vector<float> fwd[2], back[2];
    for (int s : {kCpu, kGpu}) {
      Buffer bx(ctx[s], base), bp = i32_buffer(ctx[s], pos), bi(ctx[s], inv);
      MOR_ASSERT_OK(mor_rope(ctx[s], nullptr, c.T, c.H, c.D, bx.get(), c.off, c.ld, bp.get(), bi.get(), 0));
      fwd[s] = bx.f32();
      MOR_ASSERT_OK(mor_rope(ctx[s], nullptr, c.T, c.H, c.D, bx.get(), c.off, c.ld, bp.get(), bi.get(), 1));
      back[s] = bx.f32();
    }
    EXPECT_LT(rel(fwd[kGpu], fwd[kCpu]), 1e-5);
    EXPECT_LT(rel(back[kGpu], back[kCpu]), 1e-5);
    EXPECT_LT(rel(back[kGpu], base), 1e-5);  // the inverse undoes the rotation
    for (int64_t t = 0; t < c.T; ++t)        // columns outside the heads are untouched
      for (int64_t col = c.H * c.D; col < c.ld; ++col) {
        const size_t i = (size_t)(c.off + t * c.ld + col);
        if (i < base.size()) ASSERT_EQ(fwd[kGpu][i], base[i]);
      }
  }
}

// ---- attention -------------------------------------------------------------------------------------

TEST(CudaTransformer, AttentionGqaRatiosOneTwoFourMatchCpu) {
  TX_REQUIRE_CUDA();
  TX_PAIR(ctx);
  check_attention(ctx, {2, 37, 37, 4, 4, 64});     // GQA 1, one partial tile
  check_attention(ctx, {1, 100, 100, 4, 2, 128});  // GQA 2, crosses 32/64-row tiles
  check_attention(ctx, {2, 70, 70, 8, 2, 32});     // GQA 4
  AttnCase sharp{1, 65, 65, 2, 1, 64};
  sharp.in_scale = 3.0f;  // peaked softmax: exercises the online rescaling
  check_attention(ctx, sharp);
}

TEST(CudaTransformer, AttentionSingleTokenAndOddHeadDims) {
  TX_REQUIRE_CUDA();
  TX_PAIR(ctx);
  check_attention(ctx, {1, 1, 1, 2, 1, 2});      // T = 1
  check_attention(ctx, {3, 1, 1, 4, 4, 128});    // T = 1, batch > 1
  check_attention(ctx, {1, 45, 45, 2, 1, 7});    // odd D: scalar path
  check_attention(ctx, {2, 33, 33, 3, 3, 20});   // D % 4 == 0, not a power of two
  check_attention(ctx, {1, 50, 50, 2, 2, 96});   // padded to 128
  check_attention(ctx, {1, 40, 40, 2, 1, 200});  // padded to 256
  check_attention(ctx, {1, 70, 70, 2, 2, 256});  // the largest head dim
}

TEST(CudaTransformer, AttentionKvCacheAndNonCausalMatchCpu) {
  TX_REQUIRE_CUDA();
  TX_PAIR(ctx);
  AttnCase cache{2, 3, 77, 4, 2, 64};
  cache.cap_pad = 5;  // padded kv_batch_stride
  check_attention(ctx, cache);
  AttnCase cache2{1, 40, 130, 8, 2, 128};
  cache2.cap_pad = 3;
  cache2.kv_pad = 4;
  check_attention(ctx, cache2);
  AttnCase one{2, 1, 200, 4, 1, 128};  // decoding one token against a long cache
  one.cap_pad = 8;
  check_attention(ctx, one);
  AttnCase full{2, 20, 90, 4, 2, 32};
  full.causal = false;  // q_len != kv_len, every key visible
  check_attention(ctx, full);
}

TEST(CudaTransformer, AttentionStridedAndFusedQkvLayoutsMatchCpu) {
  TX_REQUIRE_CUDA();
  TX_PAIR(ctx);
  AttnCase fused{2, 67, 67, 4, 2, 64};
  fused.fused = true;  // gradients land in one fused d[q|k|v] buffer too
  check_attention(ctx, fused);
  AttnCase fused_odd{1, 30, 30, 6, 3, 16};
  fused_odd.fused = true;
  fused_odd.q_pad = 1;  // odd row stride: scalar loads
  check_attention(ctx, fused_odd);
  AttnCase strided{2, 50, 50, 4, 4, 128};
  strided.q_pad = 3;
  strided.kv_pad = 1;
  check_attention(ctx, strided);
}

TEST(CudaTransformer, AttentionHeadDimAbove256IsNotSupported) {
  TX_REQUIRE_CUDA();
  TX_PAIR(ctx);
  const AttnCase c{1, 2, 2, 1, 1, 260};
  const AttnLayout L = layout(c);
  Buffer bq(ctx[kGpu], MOR_DTYPE_F32, L.q_numel), bk(ctx[kGpu], MOR_DTYPE_F32, L.k_numel),
      bv(ctx[kGpu], MOR_DTYPE_F32, L.v_numel), bo(ctx[kGpu], MOR_DTYPE_F32, 2 * 260), bl(ctx[kGpu], MOR_DTYPE_F32, 2);
  EXPECT_EQ(mor_attention_forward(ctx[kGpu], nullptr, &L.d, bq.get(), bk.get(), bv.get(), bo.get(), bl.get()),
            MOR_ERR_NOT_SUPPORTED);
  EXPECT_NE(std::string(mor_last_error()).find("head_dim"), std::string::npos) << mor_last_error();
}

// ---- SwiGLU, embedding, cross-entropy --------------------------------------------------------------

TEST(CudaTransformer, SwiGluMatchesCpu) {
  TX_REQUIRE_CUDA();
  TX_PAIR(ctx);
  for (int64_t n : {1, 1001}) {
    auto g = random_vector(n, 31, 6.0f), u = random_vector(n, 32), dy = random_vector(n, 33);
    auto dg0 = random_vector(n, 34, 0.5f), du0 = random_vector(n, 35, 0.5f);
    std::vector<float> out[2], dg[2], du[2];
    for (int s : {kCpu, kGpu}) {
      Buffer bg(ctx[s], g), bu(ctx[s], u), bo(ctx[s], MOR_DTYPE_F32, n), bdy(ctx[s], dy), bdg(ctx[s], dg0),
          bdu(ctx[s], du0);
      MOR_ASSERT_OK(mor_swiglu_forward(ctx[s], nullptr, n, bg.get(), bu.get(), bo.get()));
      MOR_ASSERT_OK(mor_swiglu_backward(ctx[s], nullptr, n, bg.get(), bu.get(), bdy.get(), bdg.get(), bdu.get()));
      out[s] = bo.f32(), dg[s] = bdg.f32(), du[s] = bdu.f32();
    }
    EXPECT_LT(rel(out[kGpu], out[kCpu]), 1e-5);
    EXPECT_LT(rel_added(dg[kGpu], dg[kCpu], dg0), 1e-5);
    EXPECT_LT(rel_added(du[kGpu], du[kCpu], du0), 1e-5);
  }
}

TEST(CudaTransformer, EmbeddingF32AndBf16LookupAndDeterministicBackward) {
  TX_REQUIRE_CUDA();
  TX_PAIR(ctx);
  struct Case {
    int64_t T, C, V;
  };
  for (const Case& c : {Case{1, 5, 3}, Case{1000, 70, 50}, Case{300, 257, 20000}}) {
    SCOPED_TRACE("T=" + std::to_string(c.T) + " C=" + std::to_string(c.C) + " V=" + std::to_string(c.V));
    std::vector<int32_t> ids((size_t)c.T);
    for (int64_t t = 0; t < c.T; ++t)  // skewed: a frequent id (long run), repeats, and the last row
      ids[t] = t % 3 == 0 ? 0 : t % 5 == 0 ? (int32_t)(c.V - 1) : (int32_t)((t * 7919) % c.V);
    auto table = random_vector(c.V * c.C, 41), dout = random_vector(c.T * c.C, 42);
    auto dt0 = random_vector(c.V * c.C, 43, 0.5f);
    std::vector<uint16_t> t16(table.size());
    for (size_t i = 0; i < t16.size(); ++i) t16[i] = mor::f32_to_bf16(table[i]);
    std::vector<float> out[2], out16[2], dt[2], dt_again;
    for (int s : {kCpu, kGpu}) {
      Buffer bids = i32_buffer(ctx[s], ids), bt(ctx[s], table), bo(ctx[s], MOR_DTYPE_F32, c.T * c.C), bdo(ctx[s], dout),
             bdt(ctx[s], dt0), bt16(ctx[s], MOR_DTYPE_BF16, c.V * c.C);
      MOR_ASSERT_OK(mor_buffer_upload(bt16.get(), 0, t16.data(), c.V * c.C, nullptr));
      MOR_ASSERT_OK(mor_embedding_forward(ctx[s], nullptr, c.T, c.C, c.V, bids.get(), bt.get(), bo.get()));
      out[s] = bo.f32();
      MOR_ASSERT_OK(mor_embedding_forward(ctx[s], nullptr, c.T, c.C, c.V, bids.get(), bt16.get(), bo.get()));
      out16[s] = bo.f32();
      MOR_ASSERT_OK(mor_embedding_backward(ctx[s], nullptr, c.T, c.C, c.V, bids.get(), bdo.get(), bdt.get()));
      dt[s] = bdt.f32();
      if (s == kGpu) {
        bdt.upload(dt0);
        MOR_ASSERT_OK(mor_embedding_backward(ctx[s], nullptr, c.T, c.C, c.V, bids.get(), bdo.get(), bdt.get()));
        dt_again = bdt.f32();
      }
    }
    EXPECT_TRUE(bit_identical(out[kGpu], out[kCpu]));  // a lookup is exact
    EXPECT_TRUE(bit_identical(out16[kGpu], out16[kCpu]));
    EXPECT_LT(rel_added(dt[kGpu], dt[kCpu], dt0), 1e-5);
    EXPECT_TRUE(bit_identical(dt_again, dt[kGpu])) << "embedding backward is not deterministic";
  }
}

TEST(CudaTransformer, CrossEntropyLossesAndInPlaceGradientMatchCpu) {
  TX_REQUIRE_CUDA();
  TX_PAIR(ctx);
  struct Case {
    int64_t T, V;
  };
  for (const Case& c : {Case{1, 1}, Case{9, 1003}, Case{4, 50000}}) {
    SCOPED_TRACE("T=" + std::to_string(c.T) + " V=" + std::to_string(c.V));
    auto logits = random_vector(c.T * c.V, 51, 8.0f);
    std::vector<int32_t> tg((size_t)c.T);
    for (int64_t t = 0; t < c.T; ++t) tg[t] = t % 4 == 1 ? -100 : (int32_t)((t * 37) % c.V);
    for (float gs : {0.0f, 0.25f}) {
      std::vector<float> loss[2], grad[2];
      for (int s : {kCpu, kGpu}) {
        Buffer bl(ctx[s], logits), bt = i32_buffer(ctx[s], tg), bloss(ctx[s], MOR_DTYPE_F32, c.T);
        MOR_ASSERT_OK(mor_cross_entropy(ctx[s], nullptr, c.T, c.V, bl.get(), bt.get(), -100, bloss.get(), gs));
        loss[s] = bloss.f32(), grad[s] = bl.f32();
      }
      EXPECT_LT(rel(loss[kGpu], loss[kCpu]), 1e-5) << "grad_scale " << gs;
      if (gs == 0.0f)
        EXPECT_TRUE(bit_identical(grad[kGpu], logits)) << "logits must be untouched when grad_scale == 0";
      else
        EXPECT_LT(rel(grad[kGpu], grad[kCpu]), 1e-5);
      for (int64_t t = 0; t < c.T; ++t)
        if (tg[t] == -100) {
          EXPECT_EQ(loss[kGpu][t], 0.0f);
          if (gs != 0.0f)
            for (int64_t j = 0; j < c.V; ++j) ASSERT_EQ(grad[kGpu][t * c.V + j], 0.0f);
        }
    }
  }
}

// ---- AdamW and reductions --------------------------------------------------------------------------

TEST(CudaTransformer, AdamWThreeStepsMatchCpu) {
  TX_REQUIRE_CUDA();
  TX_PAIR(ctx);
  const int64_t n = 1001;
  auto p = random_vector(n, 61);
  std::vector<float> P[2], M[2], V[2];
  for (int s : {kCpu, kGpu}) {
    Buffer bp(ctx[s], p), bm(ctx[s], std::vector<float>(n, 0.0f)), bv(ctx[s], std::vector<float>(n, 0.0f)),
        bg(ctx[s], MOR_DTYPE_F32, n);
    for (int64_t step = 1; step <= 3; ++step) {
      bg.upload(random_vector(n, 70 + step));
      mor_adamw_params hp{1e-2f, 0.9f, 0.999f, 1e-8f, 0.1f, 0.5f, step};
      MOR_ASSERT_OK(mor_adamw_step(ctx[s], nullptr, n, bp.get(), bg.get(), bm.get(), bv.get(), &hp));
    }
    P[s] = bp.f32(), M[s] = bm.f32(), V[s] = bv.f32();
  }
  EXPECT_LT(rel(P[kGpu], P[kCpu]), 1e-5);
  EXPECT_LT(rel(M[kGpu], M[kCpu]), 1e-5);
  EXPECT_LT(rel(V[kGpu], V[kCpu]), 1e-5);
}

TEST(CudaTransformer, SumSquaresAxpyScaleMatchCpuAndPropagateNonFinite) {
  TX_REQUIRE_CUDA();
  TX_PAIR(ctx);
  for (int64_t n : {1, 3, 4097, 100001}) {
    SCOPED_TRACE("n=" + std::to_string(n));
    auto x = random_vector(n + 2, 81), y = random_vector(n + 2, 82);
    double ss[2] = {0, 0}, ss_again = 0;
    std::vector<float> yy[2], xx[2];
    for (int s : {kCpu, kGpu}) {
      Buffer bx(ctx[s], x), by(ctx[s], y);
      MOR_ASSERT_OK(mor_sum_squares(ctx[s], nullptr, n, bx.get(), 1, &ss[s]));
      if (s == kGpu) MOR_ASSERT_OK(mor_sum_squares(ctx[s], nullptr, n, bx.get(), 1, &ss_again));
      MOR_ASSERT_OK(mor_axpy(ctx[s], nullptr, n, 1.5f, bx.get(), 2, by.get(), 1));
      MOR_ASSERT_OK(mor_scale(ctx[s], nullptr, n, -0.75f, bx.get(), 1));
      yy[s] = by.f32(), xx[s] = bx.f32();
    }
    EXPECT_NEAR(ss[kGpu], ss[kCpu], 1e-12 * ss[kCpu]);
    EXPECT_EQ(ss_again, ss[kGpu]) << "sum_squares is not deterministic";
    EXPECT_LT(rel(yy[kGpu], yy[kCpu]), 1e-6);
    EXPECT_LT(rel(xx[kGpu], xx[kCpu]), 1e-6);
    EXPECT_EQ(yy[kGpu][0], y[0]);  // outside the range: untouched
    EXPECT_EQ(xx[kGpu][0], x[0]);
  }
  const int64_t n = 10001;
  Buffer bx(ctx[kGpu], random_vector(n, 83));
  double ss = 0;
  const float inf = INFINITY, nan = NAN;
  MOR_ASSERT_OK(mor_buffer_upload(bx.get(), 5000, &inf, 1, nullptr));
  MOR_ASSERT_OK(mor_sum_squares(ctx[kGpu], nullptr, n, bx.get(), 0, &ss));
  EXPECT_TRUE(std::isinf(ss));
  MOR_ASSERT_OK(mor_buffer_upload(bx.get(), 777, &nan, 1, nullptr));
  MOR_ASSERT_OK(mor_sum_squares(ctx[kGpu], nullptr, n, bx.get(), 0, &ss));
  EXPECT_TRUE(std::isnan(ss));
}

// ---- attention on BF16 tensor cores (allow_tf32 = 1) -------------------------------------------------

TEST(CudaTransformer, AttentionTensorCoresGqaAndHeadDimsMatchCpu) {
  TX_REQUIRE_CUDA();
  TX_BF16(gpu);
  auto run = [&](AttnCase c) {
    c.aligned = true;
    check_attention_bf16(gpu_cpu.get(), gpu.get(), c);
  };
  run({2, 64, 64, 4, 4, 64});     // GQA 1, exactly one tile
  run({2, 127, 127, 4, 2, 128});  // GQA 2, a partial second tile
  run({1, 200, 200, 8, 2, 128});  // GQA 4, partial tiles in every kernel
  run({2, 200, 200, 4, 1, 64});   // GQA 4 at D = 64 (64-query tiles in dK/dV)
  run({1, 16, 16, 2, 1, 128});    // the smallest q_len the fast path takes
  AttnCase sharp{1, 130, 130, 2, 1, 64};
  sharp.in_scale = 2.0f;  // peaked softmax: exercises the online rescaling across key tiles
  sharp.aligned = true;
  // Scores are 4× larger and so is their absolute BF16 error: the emulation gives lse 8e-4 here.
  check_attention_bf16(gpu_cpu.get(), gpu.get(), sharp, 3e-3);
}

TEST(CudaTransformer, AttentionTensorCoresKvCacheFusedAndNonCausalMatchCpu) {
  TX_REQUIRE_CUDA();
  TX_BF16(gpu);
  AttnCase cache{2, 40, 130, 8, 2, 128};  // q_len < kv_len: queries see a cache prefix
  cache.cap_pad = 3;                      // padded kv_batch_stride
  cache.kv_pad = 4;                       // padded kv rows (still 16-byte multiples)
  cache.aligned = true;
  check_attention_bf16(gpu_cpu.get(), gpu.get(), cache);
  AttnCase cache64{2, 70, 300, 4, 4, 64};
  cache64.cap_pad = 8;
  cache64.aligned = true;
  check_attention_bf16(gpu_cpu.get(), gpu.get(), cache64);
  AttnCase fused{2, 96, 96, 4, 2, 64};
  fused.fused = true;  // q/k/v and the gradients inside one buffer each, 16-byte-aligned columns
  check_attention_bf16(gpu_cpu.get(), gpu.get(), fused);
  AttnCase full{2, 50, 150, 4, 2, 128};
  full.causal = false;
  full.aligned = true;
  check_attention_bf16(gpu_cpu.get(), gpu.get(), full);
  // Cases the fast path declines (T = 1 decode, odd D, unaligned rows) fall back to the F32 kernels.
  AttnCase one{2, 1, 200, 4, 1, 128};
  one.aligned = true;
  check_attention_bf16(gpu_cpu.get(), gpu.get(), one);
  check_attention_bf16(gpu_cpu.get(), gpu.get(), {1, 45, 45, 2, 1, 96});
  AttnCase odd{1, 64, 64, 2, 2, 64};
  odd.q_pad = 1;
  check_attention_bf16(gpu_cpu.get(), gpu.get(), odd);
}

TEST(CudaTransformer, AttentionTensorCoresLongSequenceMatchesCpu) {
  TX_REQUIRE_CUDA();
  TX_BF16(gpu);
  AttnCase c{1, 2048, 2048, 4, 1, 128};  // 32 key tiles of online softmax, GQA 4
  c.aligned = true;
  check_attention_bf16(gpu_cpu.get(), gpu.get(), c);
}

// The fast path is deterministic too, and it is really taken: its results differ from the F32
// kernels' (BF16 operands) on a device that has it.
TEST(CudaTransformer, AttentionTensorCoresAreBitIdenticalRunToRunAndSelected) {
  TX_REQUIRE_CUDA();
  Bf16Context fast;
  Context exact(MOR_BACKEND_CUDA);
  ASSERT_TRUE(fast.ok() && exact.status() == MOR_OK) << mor_last_error();
  for (int64_t D : {64, 128}) {
    AttnCase c{2, 150, 150, 8, 2, D};
    c.aligned = true;
    SCOPED_TRACE(describe(c));
    const AttnResult a = run_attention(fast.get(), c, true, 7), b = run_attention(fast.get(), c, true, 7);
    EXPECT_TRUE(bit_identical(a.out, b.out) && bit_identical(a.lse, b.lse));
    EXPECT_TRUE(bit_identical(a.dq, b.dq)) << "dq";
    EXPECT_TRUE(bit_identical(a.dk, b.dk)) << "dk";
    EXPECT_TRUE(bit_identical(a.dv, b.dv)) << "dv";
    if (device_has_bf16_mma()) {
      const AttnResult f = run_attention(exact.get(), c, true, 7);
      EXPECT_FALSE(bit_identical(a.out, f.out)) << "allow_tf32 = 1 did not select the tensor-core forward";
      EXPECT_FALSE(bit_identical(a.dk, f.dk)) << "allow_tf32 = 1 did not select the tensor-core backward";
    }
  }
}

// ---- determinism -----------------------------------------------------------------------------------

TEST(CudaTransformer, BackwardsAreBitIdenticalRunToRun) {
  TX_REQUIRE_CUDA();
  Context ctx(MOR_BACKEND_CUDA);
  ASSERT_EQ(ctx.status(), MOR_OK) << mor_last_error();
  AttnCase c{2, 150, 150, 8, 2, 128};
  const AttnResult a = run_attention(ctx.get(), c, true, 7), b = run_attention(ctx.get(), c, true, 7);
  EXPECT_TRUE(bit_identical(a.out, b.out) && bit_identical(a.lse, b.lse));
  EXPECT_TRUE(bit_identical(a.dq, b.dq)) << "dq";
  EXPECT_TRUE(bit_identical(a.dk, b.dk)) << "dk";
  EXPECT_TRUE(bit_identical(a.dv, b.dv)) << "dv";

  const int64_t T = 300, C = 513;
  auto x = random_vector(T * C, 1), w = random_vector(C, 2), dy = random_vector(T * C, 3);
  auto run_norm = [&] {
    Buffer bx(ctx.get(), x), bw(ctx.get(), w), by(ctx.get(), MOR_DTYPE_F32, T * C), br(ctx.get(), MOR_DTYPE_F32, T),
        bdy(ctx.get(), dy), bdx(ctx.get(), std::vector<float>(T * C, 0.0f)),
        bdw(ctx.get(), std::vector<float>(C, 0.0f));
    EXPECT_EQ(mor_rmsnorm_forward(ctx.get(), nullptr, T, C, 1e-6f, bx.get(), bw.get(), by.get(), br.get()), MOR_OK);
    EXPECT_EQ(
        mor_rmsnorm_backward(ctx.get(), nullptr, T, C, bx.get(), bw.get(), br.get(), bdy.get(), bdx.get(), bdw.get()),
        MOR_OK);
    auto out = bdx.f32();
    auto dwv = bdw.f32();
    out.insert(out.end(), dwv.begin(), dwv.end());
    return out;
  };
  EXPECT_TRUE(bit_identical(run_norm(), run_norm())) << "rmsnorm backward";
}

// ---- timing (run with --gtest_also_run_disabled_tests on a GPU machine) ------------------------------

// Both paths: F32 SIMT kernels (allow_tf32 = 0) and BF16 tensor cores (allow_tf32 = 1).
TEST(CudaTransformerPerf, DISABLED_AttentionT2048D128H32) {
  TX_REQUIRE_CUDA();
  Context ctx(MOR_BACKEND_CUDA);
  ASSERT_EQ(ctx.status(), MOR_OK) << mor_last_error();
  for (int32_t fast : {0, 1})
    for (int64_t Hkv : {32, 8}) {
      ASSERT_EQ(mor_context_set_allow_tf32(ctx.get(), fast), MOR_OK);
      AttnCase c{1, 2048, 2048, 32, Hkv, 128};
      c.aligned = true;
      const AttnLayout L = layout(c);
      const int64_t out_n = c.B * c.Tq * c.Hq * c.D, lse_n = c.B * c.Hq * c.Tq;
      Buffer bq(ctx.get(), random_vector(L.q_numel, 1)), bk(ctx.get(), random_vector(L.k_numel, 2)),
          bv(ctx.get(), random_vector(L.v_numel, 3)), bo(ctx.get(), MOR_DTYPE_F32, out_n),
          bl(ctx.get(), MOR_DTYPE_F32, lse_n), bdo(ctx.get(), random_vector(out_n, 4)),
          bdq(ctx.get(), MOR_DTYPE_F32, L.q_numel), bdk(ctx.get(), MOR_DTYPE_F32, L.k_numel),
          bdv(ctx.get(), MOR_DTYPE_F32, L.v_numel);
      auto fwd = [&] {
        return mor_attention_forward(ctx.get(), nullptr, &L.d, bq.get(), bk.get(), bv.get(), bo.get(), bl.get());
      };
      auto bwd = [&] {
        return mor_attention_backward(ctx.get(), nullptr, &L.d, bq.get(), bk.get(), bv.get(), bo.get(), bl.get(),
                                      bdo.get(), bdq.get(), bdk.get(), bdv.get());
      };
      auto time_ms = [&](auto&& op) {
        for (int i = 0; i < 2; ++i) EXPECT_EQ(op(), MOR_OK) << mor_last_error();
        EXPECT_EQ(mor_context_synchronize(ctx.get()), MOR_OK);
        const int reps = 10;
        const auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < reps; ++i) EXPECT_EQ(op(), MOR_OK) << mor_last_error();
        EXPECT_EQ(mor_context_synchronize(ctx.get()), MOR_OK);
        return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / reps;
      };
      const double f = time_ms(fwd), b = time_ms(bwd);
      // Causal: half the T×T scores. Forward 2 GEMM-like products, backward 5 (incl. the dQ recompute).
      const double half_flops = 2.0 * c.B * c.Hq * (double)c.Tq * c.Tk * c.D / 2.0;
      std::printf(
          "[ perf ] attention %s B=1 T=2048 Hq=32 Hkv=%lld D=128 causal: forward %.3f ms (%.1f TFLOP/s), "
          "backward %.3f ms (%.1f TFLOP/s incl. recompute)\n",
          fast ? "bf16-mma" : "f32-simt", (long long)Hkv, f, 2 * half_flops / f * 1e-9, b, 5 * half_flops / b * 1e-9);
    }
}
