// The CUDA backend against the CPU backend: every op runs on a CPU and a CUDA context with the same
// random inputs and the results are compared (bit for bit where both sides round with
// common/float16.h, by norm-relative error where summation order may differ). Also: run-to-run
// determinism, allocator accounting, streams, MOR_SYNC_LAUNCH and device-index errors.
//
// Only the public ABI (mor.h) and the float16 helpers are used. The file is always compiled; every
// test skips with the reason when no CUDA device is usable (including builds without CUDA).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "common/float16.h"
#include "mor/mor.h"

namespace {

#define CUDA_TEST_OK(expr)                                              \
  do {                                                                  \
    const int32_t st_ = (expr);                                         \
    ASSERT_EQ(st_, MOR_OK) << #expr << " failed: " << mor_last_error(); \
  } while (0)

#define REQUIRE_CUDA_DEVICE()                                                           \
  do {                                                                                  \
    int32_t count_ = 0;                                                                 \
    ASSERT_EQ(mor_device_count(MOR_BACKEND_CUDA, &count_), MOR_OK) << mor_last_error(); \
    if (count_ == 0) GTEST_SKIP() << "no CUDA device: " << mor_last_error();            \
  } while (0)

constexpr int kCpu = 0, kGpu = 1;

size_t dtype_bytes(int32_t t) {
  switch (t) {
    case MOR_DTYPE_F16:
    case MOR_DTYPE_BF16:
      return 2;
    case MOR_DTYPE_I64:
      return 8;
    default:
      return 4;
  }
}

// An owned buffer handle.
class Buf {
 public:
  Buf() = default;
  Buf(mor_context ctx, int32_t dtype, int64_t numel) : dtype_(dtype), numel_(numel) {
    const int32_t st = mor_buffer_create(ctx, dtype, numel, nullptr, &buf_);
    if (st != MOR_OK) ADD_FAILURE() << "mor_buffer_create(" << numel << "): " << mor_last_error();
  }
  ~Buf() { mor_buffer_destroy(buf_); }
  Buf(Buf&& o) noexcept : buf_(o.buf_), dtype_(o.dtype_), numel_(o.numel_) { o.buf_ = nullptr; }
  Buf& operator=(Buf&& o) noexcept {
    std::swap(buf_, o.buf_);
    dtype_ = o.dtype_, numel_ = o.numel_;
    return *this;
  }
  mor_buffer get() const { return buf_; }
  int64_t numel() const { return numel_; }
  void upload_bytes(const void* data) {
    if (numel_ > 0 && mor_buffer_upload(buf_, 0, data, numel_, nullptr) != MOR_OK)
      ADD_FAILURE() << "upload: " << mor_last_error();
  }
  std::vector<unsigned char> bytes() const {
    std::vector<unsigned char> out(static_cast<size_t>(numel_) * dtype_bytes(dtype_));
    if (numel_ > 0 && mor_buffer_download(buf_, 0, out.data(), numel_, nullptr) != MOR_OK)
      ADD_FAILURE() << "download: " << mor_last_error();
    return out;
  }
  // Values as float, whatever the (floating) dtype.
  std::vector<float> floats() const {
    const std::vector<unsigned char> raw = bytes();
    std::vector<float> out(static_cast<size_t>(numel_));
    for (size_t i = 0; i < out.size(); ++i) {
      if (dtype_ == MOR_DTYPE_F32) {
        std::memcpy(&out[i], &raw[i * 4], 4);
      } else {
        uint16_t h;
        std::memcpy(&h, &raw[i * 2], 2);
        out[i] = dtype_ == MOR_DTYPE_BF16 ? mor::bf16_to_f32(h) : mor::f16_to_f32(h);
      }
    }
    return out;
  }

 private:
  mor_buffer buf_ = nullptr;
  int32_t dtype_ = MOR_DTYPE_F32;
  int64_t numel_ = 0;
};

// The same tensor on the CPU context (side 0) and the CUDA context (side 1).
struct Twin {
  Buf side[2];
  mor_buffer operator[](int s) const { return side[s].get(); }
};

std::vector<float> random_floats(size_t n, uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// Float values stored as `dtype` (16-bit types are rounded with the shared helpers).
std::vector<unsigned char> encode(const std::vector<float>& v, int32_t dtype) {
  std::vector<unsigned char> out(v.size() * dtype_bytes(dtype));
  for (size_t i = 0; i < v.size(); ++i) {
    if (dtype == MOR_DTYPE_F32) {
      std::memcpy(&out[i * 4], &v[i], 4);
    } else {
      const uint16_t h = dtype == MOR_DTYPE_BF16 ? mor::f32_to_bf16(v[i]) : mor::f32_to_f16(v[i]);
      std::memcpy(&out[i * 2], &h, 2);
    }
  }
  return out;
}

// ‖got − want‖₂ / ‖want‖₂ (with a floor): scale-free, and robust to the odd element whose
// summation order differs between BLAS libraries.
double norm_rel_error(const std::vector<float>& got, const std::vector<float>& want) {
  if (got.size() != want.size()) return INFINITY;
  double num = 0, den = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    if (std::isnan(got[i]) != std::isnan(want[i])) return INFINITY;
    if (std::isnan(want[i])) continue;
    const double d = static_cast<double>(got[i]) - want[i];
    num += d * d;
    den += static_cast<double>(want[i]) * want[i];
  }
  return std::sqrt(num) / std::max(std::sqrt(den), 1e-30);
}

class CudaVsCpu : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_CUDA_DEVICE();
    CUDA_TEST_OK(mor_context_create(MOR_BACKEND_CPU, 0, &ctx_[kCpu]));
    CUDA_TEST_OK(mor_context_create(MOR_BACKEND_CUDA, 0, &ctx_[kGpu]));
  }
  void TearDown() override {
    for (mor_context c : ctx_) mor_context_destroy(c);
  }

  Twin twin(int32_t dtype, const std::vector<unsigned char>& bytes) {
    const int64_t n = static_cast<int64_t>(bytes.size() / dtype_bytes(dtype));
    Twin t;
    for (int s : {kCpu, kGpu}) {
      t.side[s] = Buf(ctx_[s], dtype, n);
      t.side[s].upload_bytes(bytes.data());
    }
    return t;
  }
  Twin twin(const std::vector<float>& v, int32_t dtype = MOR_DTYPE_F32) { return twin(dtype, encode(v, dtype)); }
  Twin random_twin(size_t n, uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
    return twin(random_floats(n, seed, lo, hi));
  }

  static void expect_close(const Twin& t, double tol, const std::string& what) {
    const std::vector<float> cpu = t.side[kCpu].floats(), gpu = t.side[kGpu].floats();
    EXPECT_LT(norm_rel_error(gpu, cpu), tol) << what;
  }
  static void expect_same_bits(const Twin& t, const std::string& what) {
    EXPECT_TRUE(t.side[kCpu].bytes() == t.side[kGpu].bytes()) << what << ": CUDA bits differ from CPU bits";
  }

  mor_context ctx_[2] = {nullptr, nullptr};
};

// ---- devices ------------------------------------------------------------------------------------

TEST(CudaBackend, DeviceInfoAndBuildInfo) {
  REQUIRE_CUDA_DEVICE();
  mor_device_info info;
  CUDA_TEST_OK(mor_device_info_get(MOR_BACKEND_CUDA, 0, &info));
  EXPECT_GT(std::strlen(info.name), 0u);
  EXPECT_GT(info.total_memory_bytes, 0);
  EXPECT_GE(info.compute_capability_major, 1);
  EXPECT_GT(info.multiprocessor_count, 0);
  const char* build = nullptr;
  CUDA_TEST_OK(mor_build_info(&build));
  EXPECT_EQ(std::string(build).find("cuda: not built"), std::string::npos) << build;
}

TEST(CudaBackend, MemoryQueryReportsFreeWithinTotal) {
  REQUIRE_CUDA_DEVICE();
  mor_device_info info;
  CUDA_TEST_OK(mor_device_info_get(MOR_BACKEND_CUDA, 0, &info));
  int64_t free_bytes = 0, total_bytes = 0;
  CUDA_TEST_OK(mor_device_memory_get(MOR_BACKEND_CUDA, 0, &free_bytes, &total_bytes));
  EXPECT_GT(free_bytes, 0);
  EXPECT_LE(free_bytes, total_bytes);
  EXPECT_EQ(total_bytes, info.total_memory_bytes);
  // Holding 256 MiB lowers the free figure by at least that much (other processes can only lower it more).
  mor_context ctx = nullptr;
  CUDA_TEST_OK(mor_context_create(MOR_BACKEND_CUDA, 0, &ctx));
  mor_buffer buf = nullptr;
  CUDA_TEST_OK(mor_buffer_create(ctx, MOR_DTYPE_F32, int64_t{64} << 20, nullptr, &buf));
  int64_t free_after = 0;
  CUDA_TEST_OK(mor_device_memory_get(MOR_BACKEND_CUDA, 0, &free_after, &total_bytes));
  EXPECT_LE(free_after, free_bytes - (int64_t{256} << 20));
  CUDA_TEST_OK(mor_buffer_destroy(buf));
  CUDA_TEST_OK(mor_context_destroy(ctx));
}

TEST(CudaBackend, BadDeviceIndexIsNoDevice) {
  REQUIRE_CUDA_DEVICE();
  int32_t count = 0;
  CUDA_TEST_OK(mor_device_count(MOR_BACKEND_CUDA, &count));
  for (int32_t bad : {count, count + 7, -1}) {
    mor_context ctx = nullptr;
    EXPECT_EQ(mor_context_create(MOR_BACKEND_CUDA, bad, &ctx), MOR_ERR_NO_DEVICE);
    const std::string msg = mor_last_error();
    EXPECT_NE(msg.find(std::to_string(bad)), std::string::npos) << msg;
    EXPECT_NE(msg.find(std::to_string(count)), std::string::npos) << msg;
    EXPECT_EQ(ctx, nullptr);
    mor_device_info info;
    EXPECT_EQ(mor_device_info_get(MOR_BACKEND_CUDA, bad, &info), MOR_ERR_NO_DEVICE);
  }
}

// ---- fill, cast, copy ---------------------------------------------------------------------------

TEST_F(CudaVsCpu, FillEveryDtypeBitIdentical) {
  const int64_t n = 1000003, off = 3, count = n - 10;
  struct Case {
    int32_t dtype;
    double value;
  };
  const Case cases[] = {
      {MOR_DTYPE_F32, 1.5},         {MOR_DTYPE_F32, -0.0},     {MOR_DTYPE_F32, 0.0},   {MOR_DTYPE_F32, 3e-39},
      {MOR_DTYPE_F32, 0.1},         {MOR_DTYPE_F16, 65519.0},  {MOR_DTYPE_F16, -1e-7}, {MOR_DTYPE_F16, 0.1},
      {MOR_DTYPE_BF16, 1.00390625}, {MOR_DTYPE_BF16, -3.3e38}, {MOR_DTYPE_BF16, 0.0},  {MOR_DTYPE_I32, 7.0},
      {MOR_DTYPE_I32, -5.0},        {MOR_DTYPE_I64, 1e15},     {MOR_DTYPE_I64, -3.0},  {MOR_DTYPE_I64, 0.0}};
  for (const Case& c : cases) {
    std::vector<unsigned char> init(static_cast<size_t>(n) * dtype_bytes(c.dtype));
    std::mt19937 rng(7);
    for (auto& b : init) b = static_cast<unsigned char>(rng());
    Twin t = twin(c.dtype, init);
    for (int s : {kCpu, kGpu}) CUDA_TEST_OK(mor_buffer_fill(t[s], off, count, c.value, nullptr));
    expect_same_bits(t, "fill dtype " + std::to_string(c.dtype) + " value " + std::to_string(c.value));
  }
}

TEST_F(CudaVsCpu, CastsRoundTheSameBits) {
  // Specials, rounding ties of both 16-bit formats, overflow/underflow edges, then random bit patterns.
  std::vector<float> v = {0.0f,
                          -0.0f,
                          1.0f,
                          -1.0f,
                          65504.0f,
                          65519.99f,
                          65520.0f,
                          1e-8f,
                          5.96e-8f,
                          2.98e-8f,
                          6.1e-5f,
                          3.4e38f,
                          1.17549435e-38f,
                          1e-45f,
                          1.00390625f,
                          1.01171875f,
                          1.0009765625f,
                          INFINITY,
                          -INFINITY,
                          NAN,
                          -NAN,
                          0.1f,
                          -2.5f};
  std::mt19937 rng(11);
  for (int i = 0; i < 200000; ++i) {
    uint32_t u = rng();
    float f;
    std::memcpy(&f, &u, 4);
    v.push_back(f);
  }
  const int64_t n = static_cast<int64_t>(v.size());
  Twin src = twin(v);
  for (int32_t to : {MOR_DTYPE_F16, MOR_DTYPE_BF16, MOR_DTYPE_F32}) {
    Twin dst = twin(std::vector<float>(static_cast<size_t>(n), 0.0f), to);
    for (int s : {kCpu, kGpu}) CUDA_TEST_OK(mor_cast(dst[s], src[s], nullptr));
    expect_same_bits(dst, "cast F32 -> " + std::to_string(to));
  }
  // Every 16-bit pattern, to F32 and to the other 16-bit type.
  std::vector<unsigned char> all(65536 * 2);
  for (uint32_t i = 0; i < 65536; ++i) {
    const uint16_t h = static_cast<uint16_t>(i);
    std::memcpy(&all[i * 2], &h, 2);
  }
  for (int32_t from : {MOR_DTYPE_F16, MOR_DTYPE_BF16}) {
    Twin s16 = twin(from, all);
    for (int32_t to : {MOR_DTYPE_F32, from == MOR_DTYPE_F16 ? MOR_DTYPE_BF16 : MOR_DTYPE_F16}) {
      Twin dst = twin(std::vector<float>(65536, 0.0f), to);
      for (int s : {kCpu, kGpu}) CUDA_TEST_OK(mor_cast(dst[s], s16[s], nullptr));
      expect_same_bits(dst, "cast " + std::to_string(from) + " -> " + std::to_string(to));
    }
  }
}

TEST_F(CudaVsCpu, CopiesIncludingOverlappingRanges) {
  const int64_t n = 100003;
  Twin t = random_twin(static_cast<size_t>(n), 3);
  for (int s : {kCpu, kGpu}) {
    CUDA_TEST_OK(mor_buffer_copy(t[s], 10, t[s], 0, 50000, nullptr));         // overlapping, forward
    CUDA_TEST_OK(mor_buffer_copy(t[s], 60000, t[s], 60007, 30000, nullptr));  // overlapping, backward
    CUDA_TEST_OK(mor_buffer_copy(t[s], 0, t[s], 90000, 1000, nullptr));       // disjoint
  }
  expect_same_bits(t, "mor_buffer_copy");
}

// ---- GEMM ---------------------------------------------------------------------------------------

struct GemmCase {
  int64_t m, n, k;
  bool ta, tb;
  int64_t batch = 1;
  int32_t a_type = MOR_DTYPE_F32, b_type = MOR_DTYPE_F32, c_type = MOR_DTYPE_F32;
  float alpha = 1.0f, beta = 0.0f;
  bool tf32 = false;
  bool broadcast_a = false;  // stride_a = 0
};

std::string describe(const GemmCase& c) {
  return "m=" + std::to_string(c.m) + " n=" + std::to_string(c.n) + " k=" + std::to_string(c.k) +
         " ta=" + std::to_string(c.ta) + " tb=" + std::to_string(c.tb) + " batch=" + std::to_string(c.batch) +
         " types " + std::to_string(c.a_type) + "x" + std::to_string(c.b_type) + "->" + std::to_string(c.c_type);
}

class CudaGemm : public CudaVsCpu {
 protected:
  // Padded leading dimensions, gaps between batch entries and a non-zero offset: C's padding must
  // come back untouched.
  void run(const GemmCase& c, double tol) {
    const int64_t ar = c.ta ? c.k : c.m, ac = c.ta ? c.m : c.k;
    const int64_t br = c.tb ? c.n : c.k, bc = c.tb ? c.k : c.n;
    const int64_t lda = ac + 3, ldb = bc + 1, ldc = c.n + 2, off = 5;
    const int64_t sa = c.broadcast_a ? 0 : ar * lda + 7, sb = br * ldb + 2, sc = c.m * ldc + 1;
    const int64_t na = off + (c.broadcast_a ? 1 : c.batch) * (ar * lda + 7), nb = off + c.batch * sb;
    const int64_t nc = off + c.batch * sc;
    const uint64_t seed = static_cast<uint64_t>(c.m * 131 + c.n * 17 + c.k + c.ta * 2 + c.tb);
    const std::vector<float> hc = random_floats(static_cast<size_t>(nc), seed + 3);
    Twin a = twin(random_floats(static_cast<size_t>(na), seed + 1), c.a_type);
    Twin b = twin(random_floats(static_cast<size_t>(nb), seed + 2), c.b_type);
    Twin cc = twin(hc, c.c_type);
    for (int s : {kCpu, kGpu})
      CUDA_TEST_OK(mor_gemm(ctx_[s], nullptr, c.ta, c.tb, c.m, c.n, c.k, c.alpha, a[s], off, lda, sa, b[s], off, ldb,
                            sb, c.beta, cc[s], off, ldc, sc, c.batch, c.tf32 ? 1 : 0));
    const std::vector<float> cpu = cc.side[kCpu].floats(), gpu = cc.side[kGpu].floats();
    std::vector<bool> in_c(static_cast<size_t>(nc), false);
    for (int64_t e = 0; e < c.batch; ++e)
      for (int64_t i = 0; i < c.m; ++i)
        for (int64_t j = 0; j < c.n; ++j) in_c[static_cast<size_t>(off + e * sc + i * ldc + j)] = true;
    std::vector<float> got, want;
    int64_t padding_changed = 0;
    for (int64_t i = 0; i < nc; ++i) {
      if (in_c[static_cast<size_t>(i)]) {
        got.push_back(gpu[static_cast<size_t>(i)]);
        want.push_back(cpu[static_cast<size_t>(i)]);
      } else if (std::memcmp(&gpu[static_cast<size_t>(i)], &cpu[static_cast<size_t>(i)], 4) != 0) {
        ++padding_changed;
      }
    }
    EXPECT_EQ(padding_changed, 0) << describe(c);
    EXPECT_LT(norm_rel_error(got, want), tol) << describe(c);
  }
};

TEST_F(CudaGemm, F32AllTransposesAwkwardSizes) {
  const int64_t sizes[][3] = {{1, 1, 1},      {7, 33, 1},   {33, 7, 13},      {1, 1000, 33},
                              {1031, 17, 33}, {5, 1001, 7}, {33, 1029, 1031}, {1000, 1, 1}};
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (const auto& s : sizes) {
        GemmCase c{s[0], s[1], s[2], ta, tb};
        run(c, 1e-5);
      }
}

TEST_F(CudaGemm, F32StridedBatchAlphaBetaAndBroadcast) {
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      GemmCase c{33, 65, 129, ta, tb, 3};
      c.alpha = 0.75f, c.beta = 0.5f;
      run(c, 1e-5);
      c.broadcast_a = true;
      run(c, 1e-5);
    }
}

TEST_F(CudaGemm, ZeroKScalesC) {
  for (float beta : {0.0f, 2.0f})
    for (int32_t ct : {MOR_DTYPE_F32, MOR_DTYPE_BF16}) {
      GemmCase c{4, 5, 0, false, false, 2};
      c.beta = beta;
      c.a_type = c.b_type = ct;
      c.c_type = ct;
      run(c, 1e-7);
    }
}

TEST_F(CudaGemm, SixteenBitAndMixedOperands) {
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (int64_t batch : {1, 2}) {
        GemmCase c{37, 1030, 259, ta, tb, batch};
        c.alpha = 1.25f, c.beta = 0.5f;
        // Same 16-bit products on both sides, F32 accumulation: only summation order differs.
        c.a_type = c.b_type = MOR_DTYPE_BF16, c.c_type = MOR_DTYPE_F32;
        run(c, 1e-5);
        c.c_type = MOR_DTYPE_BF16;
        run(c, 1e-2);
        c.a_type = MOR_DTYPE_F32, c.b_type = MOR_DTYPE_BF16, c.c_type = MOR_DTYPE_F32;
        run(c, 1e-5);
        c.a_type = MOR_DTYPE_BF16, c.b_type = MOR_DTYPE_F32, c.c_type = MOR_DTYPE_BF16;
        run(c, 1e-2);
        c.a_type = c.b_type = c.c_type = MOR_DTYPE_F16;
        run(c, 1e-2);
        c.a_type = MOR_DTYPE_F32, c.b_type = MOR_DTYPE_F16, c.c_type = MOR_DTYPE_F32;
        run(c, 1e-5);
      }
}

TEST_F(CudaGemm, MixedOperandBroadcastAcrossBatch) {
  for (bool ta : {false, true}) {
    GemmCase c{19, 70, 45, ta, true, 3};
    c.a_type = MOR_DTYPE_F32, c.b_type = MOR_DTYPE_BF16, c.beta = 1.0f;
    c.broadcast_a = true;  // the rounded copy of A is made once and shared by the batch
    run(c, 1e-5);
  }
}

TEST_F(CudaGemm, Tf32IsCloseToF32) {
  GemmCase c{257, 300, 512, false, true};
  c.tf32 = true;
  run(c, 5e-3);
}

// ---- adapters -----------------------------------------------------------------------------------

struct AdapterDims {
  int64_t T, d_in, d_out, r, N;
  float scale;
};
const AdapterDims kAdapterShapes[] = {{37, 67, 45, 8, 3, 0.5f}, {300, 256, 1030, 32, 8, 2.0f}, {1, 5, 3, 1, 1, 1.0f}};

std::string describe(const AdapterDims& d) {
  return "T=" + std::to_string(d.T) + " d_in=" + std::to_string(d.d_in) + " d_out=" + std::to_string(d.d_out) +
         " r=" + std::to_string(d.r) + " N=" + std::to_string(d.N);
}

constexpr double kAdapterTol = 1e-5;

TEST_F(CudaVsCpu, LoraForwardBackward) {
  for (const AdapterDims& d : kAdapterShapes)
    for (bool with_dx : {true, false}) {
      const size_t T = d.T, di = d.d_in, dout = d.d_out, r = d.r;
      Twin x = random_twin(T * di, 1), a = random_twin(r * di, 2, -0.3f, 0.3f), b = random_twin(dout * r, 3);
      Twin h = random_twin(T * r, 4), y = random_twin(T * dout, 5), dy = random_twin(T * dout, 6);
      Twin da = random_twin(r * di, 7), db = random_twin(dout * r, 8), dx = random_twin(T * di, 9);
      for (int s : {kCpu, kGpu}) {
        CUDA_TEST_OK(
            mor_lora_forward(ctx_[s], nullptr, d.T, d.d_in, d.d_out, d.r, d.scale, x[s], a[s], b[s], h[s], y[s]));
        CUDA_TEST_OK(mor_lora_backward(ctx_[s], nullptr, d.T, d.d_in, d.d_out, d.r, d.scale, x[s], a[s], b[s], h[s],
                                       dy[s], da[s], db[s], with_dx ? dx[s] : nullptr));
      }
      const std::string what = "lora " + describe(d);
      expect_close(h, kAdapterTol, what + " h");
      expect_close(y, kAdapterTol, what + " y");
      expect_close(da, kAdapterTol, what + " dA");
      expect_close(db, kAdapterTol, what + " dB");
      expect_close(dx, kAdapterTol, what + " dx");
    }
}

// MoR parameters and state on both contexts, with non-trivial ω and router so that every gradient
// path carries signal, and non-zero initial gradients so that accumulation is checked.
struct MorTensors {
  Twin x, ag, omega_a, b, omega_b, q, hz, g, y, dy, dag, domega_a, db, domega_b, dx;
};

class CudaMor : public CudaVsCpu {
 protected:
  MorTensors make(const AdapterDims& d, uint64_t seed) {
    const size_t T = d.T, di = d.d_in, dout = d.d_out, r = d.r, N = d.N;
    MorTensors m;
    m.x = random_twin(T * di, seed + 1);
    m.ag = random_twin((r + N) * di, seed + 2, -0.3f, 0.3f);
    m.omega_a = random_twin(N * r, seed + 3, 0.5f, 1.5f);
    m.b = random_twin(dout * r, seed + 4);
    m.omega_b = random_twin(N * dout, seed + 5, 0.5f, 1.5f);
    m.q = twin(std::vector<float>(dout * N * r, 0.0f));
    m.hz = twin(std::vector<float>(T * (r + N), 0.0f));
    m.g = twin(std::vector<float>(T * N, 0.0f));
    m.y = random_twin(T * dout, seed + 6);
    m.dy = random_twin(T * dout, seed + 7);
    m.dag = random_twin((r + N) * di, seed + 8);
    m.domega_a = random_twin(N * r, seed + 9);
    m.db = random_twin(dout * r, seed + 10);
    m.domega_b = random_twin(N * dout, seed + 11);
    m.dx = random_twin(T * di, seed + 12);
    return m;
  }
  void forward_backward(int s, const AdapterDims& d, MorTensors& m, bool with_dx) {
    CUDA_TEST_OK(mor_build_q(ctx_[s], nullptr, d.d_out, d.r, d.N, m.b[s], m.omega_b[s], m.q[s]));
    CUDA_TEST_OK(mor_forward(ctx_[s], nullptr, d.T, d.d_in, d.d_out, d.r, d.N, d.scale, m.x[s], m.ag[s], m.omega_a[s],
                             m.q[s], m.hz[s], m.g[s], m.y[s]));
    CUDA_TEST_OK(mor_backward(ctx_[s], nullptr, d.T, d.d_in, d.d_out, d.r, d.N, d.scale, m.x[s], m.ag[s], m.omega_a[s],
                              m.b[s], m.omega_b[s], m.q[s], m.hz[s], m.g[s], m.dy[s], m.dag[s], m.domega_a[s], m.db[s],
                              m.domega_b[s], with_dx ? m.dx[s] : nullptr));
  }
};

TEST_F(CudaMor, BuildQIsExact) {
  for (const AdapterDims& d : kAdapterShapes) {
    MorTensors m = make(d, 100);
    for (int s : {kCpu, kGpu})
      CUDA_TEST_OK(mor_build_q(ctx_[s], nullptr, d.d_out, d.r, d.N, m.b[s], m.omega_b[s], m.q[s]));
    expect_same_bits(m.q, "build_q " + describe(d));  // one product per element: no rounding freedom
  }
}

TEST_F(CudaMor, ForwardBackward) {
  for (const AdapterDims& d : kAdapterShapes)
    for (bool with_dx : {true, false}) {
      MorTensors m = make(d, 200);
      for (int s : {kCpu, kGpu}) forward_backward(s, d, m, with_dx);
      const std::string what = "mor " + describe(d);
      expect_close(m.q, kAdapterTol, what + " Q");
      expect_close(m.hz, kAdapterTol, what + " hz");
      expect_close(m.g, kAdapterTol, what + " g");
      expect_close(m.y, kAdapterTol, what + " y");
      expect_close(m.dag, kAdapterTol, what + " d[A;W_g]");
      expect_close(m.domega_a, kAdapterTol, what + " d omega_A");
      expect_close(m.db, kAdapterTol, what + " dB");
      expect_close(m.domega_b, kAdapterTol, what + " d omega_B");
      expect_close(m.dx, kAdapterTol, what + " dx");
    }
}

TEST_F(CudaVsCpu, MoeLoraForwardBackward) {
  for (const AdapterDims& d : kAdapterShapes)
    for (bool with_dx : {true, false}) {
      const size_t T = d.T, di = d.d_in, dout = d.d_out, R = d.N * d.r, N = d.N;
      Twin x = random_twin(T * di, 1), ag = random_twin((R + N) * di, 2, -0.3f, 0.3f), b = random_twin(dout * R, 3);
      Twin hz = twin(std::vector<float>(T * (R + N), 0.0f)), g = twin(std::vector<float>(T * N, 0.0f));
      Twin y = random_twin(T * dout, 4), dy = random_twin(T * dout, 5);
      Twin dag = random_twin((R + N) * di, 6), db = random_twin(dout * R, 7), dx = random_twin(T * di, 8);
      for (int s : {kCpu, kGpu}) {
        CUDA_TEST_OK(mor_moe_lora_forward(ctx_[s], nullptr, d.T, d.d_in, d.d_out, d.r, d.N, d.scale, x[s], ag[s], b[s],
                                          hz[s], g[s], y[s]));
        CUDA_TEST_OK(mor_moe_lora_backward(ctx_[s], nullptr, d.T, d.d_in, d.d_out, d.r, d.N, d.scale, x[s], ag[s], b[s],
                                           hz[s], g[s], dy[s], dag[s], db[s], with_dx ? dx[s] : nullptr));
      }
      const std::string what = "moe_lora " + describe(d);
      expect_close(hz, kAdapterTol, what + " hz");
      expect_close(g, kAdapterTol, what + " g");
      expect_close(y, kAdapterTol, what + " y");
      expect_close(dag, kAdapterTol, what + " d[A_cat;W_g]");
      expect_close(db, kAdapterTol, what + " dB_cat");
      expect_close(dx, kAdapterTol, what + " dx");
    }
}

TEST_F(CudaVsCpu, RowNorm2F32AndBf16) {
  for (int32_t wt : {MOR_DTYPE_F32, MOR_DTYPE_BF16})
    for (auto [rows, cols] : {std::pair<int64_t, int64_t>{37, 4099}, {1030, 256}, {3, 1}, {5, 0}}) {
      Twin w = twin(random_floats(static_cast<size_t>(std::max<int64_t>(rows * cols, 1)), 17), wt);
      Twin out = random_twin(static_cast<size_t>(rows), 18);
      for (int s : {kCpu, kGpu}) CUDA_TEST_OK(mor_row_norm2(ctx_[s], nullptr, rows, cols, w[s], out[s]));
      // Both sides accumulate in double: agreement to float rounding.
      expect_close(out, 1e-6, "row_norm2 " + std::to_string(rows) + "x" + std::to_string(cols));
    }
}

struct DoraTensors {
  Twin x, w, w_norm2, a, b, m, h, norm, base, y, dy, dm, da, db, dx;
};

class CudaDora : public CudaVsCpu {
 protected:
  DoraTensors make(const AdapterDims& d, int32_t w_type, uint64_t seed) {
    const size_t T = d.T, di = d.d_in, dout = d.d_out, r = d.r;
    DoraTensors t;
    t.x = random_twin(T * di, seed + 1);
    t.w = twin(random_floats(dout * di, seed + 2), w_type);
    t.w_norm2 = twin(std::vector<float>(dout, 0.0f));
    t.a = random_twin(r * di, seed + 3, -0.3f, 0.3f);
    t.b = random_twin(dout * r, seed + 4, -0.3f, 0.3f);
    t.m = random_twin(dout, seed + 5, 0.5f, 2.0f);
    t.h = twin(std::vector<float>(T * r, 0.0f));
    t.norm = twin(std::vector<float>(dout, 0.0f));
    t.base = random_twin(T * dout, seed + 6);
    t.y = twin(std::vector<float>(T * dout, 0.0f));
    t.dy = random_twin(T * dout, seed + 7);
    t.dm = random_twin(dout, seed + 8);
    t.da = random_twin(r * di, seed + 9);
    t.db = random_twin(dout * r, seed + 10);
    t.dx = random_twin(T * di, seed + 11);
    return t;
  }
  void forward_backward(int s, const AdapterDims& d, DoraTensors& t, bool with_dx) {
    CUDA_TEST_OK(mor_row_norm2(ctx_[s], nullptr, d.d_out, d.d_in, t.w[s], t.w_norm2[s]));
    CUDA_TEST_OK(mor_dora_forward(ctx_[s], nullptr, d.T, d.d_in, d.d_out, d.r, d.scale, t.x[s], t.w[s], t.w_norm2[s],
                                  t.a[s], t.b[s], t.m[s], t.h[s], t.norm[s], t.base[s], t.y[s]));
    CUDA_TEST_OK(mor_dora_backward(ctx_[s], nullptr, d.T, d.d_in, d.d_out, d.r, d.scale, t.x[s], t.w[s], t.a[s], t.b[s],
                                   t.m[s], t.h[s], t.norm[s], t.base[s], t.dy[s], t.dm[s], t.da[s], t.db[s],
                                   with_dx ? t.dx[s] : nullptr));
  }
};

TEST_F(CudaDora, ForwardBackwardF32AndBf16Base) {
  for (int32_t wt : {MOR_DTYPE_F32, MOR_DTYPE_BF16})
    for (const AdapterDims& d : kAdapterShapes)
      for (bool with_dx : {true, false}) {
        DoraTensors t = make(d, wt, 300);
        for (int s : {kCpu, kGpu}) forward_backward(s, d, t, with_dx);
        const std::string what = "dora " + describe(d) + (wt == MOR_DTYPE_BF16 ? " bf16 W" : " f32 W");
        expect_close(t.w_norm2, 1e-6, what + " w_norm2");
        expect_close(t.norm, kAdapterTol, what + " norm");
        expect_close(t.h, kAdapterTol, what + " h");
        expect_close(t.base, kAdapterTol, what + " u");
        expect_close(t.y, kAdapterTol, what + " y");
        expect_close(t.dm, kAdapterTol, what + " dm");
        expect_close(t.da, kAdapterTol, what + " dA");
        expect_close(t.db, kAdapterTol, what + " dB");
        expect_close(t.dx, kAdapterTol, what + " dx");
      }
}

// ---- determinism, allocator, streams ------------------------------------------------------------

// Runs `op` twice on the CUDA side from identical starting gradients and expects identical bits.
TEST_F(CudaMor, BackwardIsBitIdenticalRunToRun) {
  const AdapterDims d{1000, 256, 1030, 32, 8, 2.0f};  // many dω_A / dm token chunks
  MorTensors m = make(d, 400);
  const auto start = [&](const Twin& t) { return t.side[kGpu].bytes(); };
  const std::vector<std::vector<unsigned char>> initial = {start(m.y),  start(m.dag),      start(m.domega_a),
                                                           start(m.db), start(m.domega_b), start(m.dx)};
  Twin* outputs[] = {&m.y, &m.dag, &m.domega_a, &m.db, &m.domega_b, &m.dx};
  std::vector<std::vector<unsigned char>> first;
  for (int run = 0; run < 2; ++run) {
    for (size_t i = 0; i < initial.size(); ++i) outputs[i]->side[kGpu].upload_bytes(initial[i].data());
    forward_backward(kGpu, d, m, true);
    for (size_t i = 0; i < initial.size(); ++i) {
      std::vector<unsigned char> got = outputs[i]->side[kGpu].bytes();
      if (run == 0)
        first.push_back(std::move(got));
      else
        EXPECT_TRUE(got == first[i]) << "MoR output " << i << " differs between two identical runs";
    }
  }
}

TEST_F(CudaDora, BackwardIsBitIdenticalRunToRun) {
  const AdapterDims d{1000, 256, 1030, 32, 1, 2.0f};
  DoraTensors t = make(d, MOR_DTYPE_BF16, 500);
  Twin* outputs[] = {&t.dm, &t.da, &t.db, &t.dx};
  std::vector<std::vector<unsigned char>> initial, first;
  for (Twin* o : outputs) initial.push_back(o->side[kGpu].bytes());
  const std::vector<unsigned char> base0 = t.base.side[kGpu].bytes();
  for (int run = 0; run < 2; ++run) {
    for (size_t i = 0; i < initial.size(); ++i) outputs[i]->side[kGpu].upload_bytes(initial[i].data());
    t.base.side[kGpu].upload_bytes(base0.data());
    forward_backward(kGpu, d, t, true);
    for (size_t i = 0; i < initial.size(); ++i) {
      std::vector<unsigned char> got = outputs[i]->side[kGpu].bytes();
      if (run == 0)
        first.push_back(std::move(got));
      else
        EXPECT_TRUE(got == first[i]) << "DoRA gradient " << i << " differs between two identical runs";
    }
  }
}

TEST(CudaBackend, AllocatorAndHandlesReturnToBaseline) {
  REQUIRE_CUDA_DEVICE();
  mor_handle_stats handles0{};
  CUDA_TEST_OK(mor_handle_stats_get(&handles0));
  mor_context ctx = nullptr;
  CUDA_TEST_OK(mor_context_create(MOR_BACKEND_CUDA, 0, &ctx));
  mor_allocator_stats base{};
  CUDA_TEST_OK(mor_allocator_stats_get(ctx, &base));
  EXPECT_EQ(base.live_bytes, 0);
  EXPECT_EQ(base.live_allocations, 0);
  {
    const int64_t T = 100, di = 64, dout = 96, r = 8, N = 4;
    std::vector<Buf> bufs;
    auto make = [&](int64_t n) -> mor_buffer {
      bufs.emplace_back(ctx, MOR_DTYPE_F32, n);
      const std::vector<float> v = random_floats(static_cast<size_t>(n), static_cast<uint64_t>(n));
      bufs.back().upload_bytes(v.data());
      return bufs.back().get();
    };
    bufs.reserve(32);
    mor_buffer x = make(T * di), ag = make((r + N) * di), wa = make(N * r), b = make(dout * r), wb = make(N * dout);
    mor_buffer q = make(dout * N * r), hz = make(T * (r + N)), g = make(T * N), y = make(T * dout), dy = make(T * dout);
    mor_buffer dag = make((r + N) * di), dwa = make(N * r), db = make(dout * r), dwb = make(N * dout),
               dx = make(T * di);
    CUDA_TEST_OK(mor_build_q(ctx, nullptr, dout, r, N, b, wb, q));
    CUDA_TEST_OK(mor_forward(ctx, nullptr, T, di, dout, r, N, 0.5f, x, ag, wa, q, hz, g, y));
    CUDA_TEST_OK(
        mor_backward(ctx, nullptr, T, di, dout, r, N, 0.5f, x, ag, wa, b, wb, q, hz, g, dy, dag, dwa, db, dwb, dx));
    CUDA_TEST_OK(mor_context_synchronize(ctx));
    mor_allocator_stats mid{};
    CUDA_TEST_OK(mor_allocator_stats_get(ctx, &mid));
    EXPECT_EQ(mid.live_allocations, static_cast<int64_t>(bufs.size()));
    // A second identical step is served from the cache: no new system allocations.
    CUDA_TEST_OK(
        mor_backward(ctx, nullptr, T, di, dout, r, N, 0.5f, x, ag, wa, b, wb, q, hz, g, dy, dag, dwa, db, dwb, dx));
    mor_allocator_stats again{};
    CUDA_TEST_OK(mor_allocator_stats_get(ctx, &again));
    EXPECT_EQ(again.system_allocations, mid.system_allocations);
  }
  mor_allocator_stats after{};
  CUDA_TEST_OK(mor_allocator_stats_get(ctx, &after));
  EXPECT_EQ(after.live_bytes, base.live_bytes);
  EXPECT_EQ(after.live_allocations, base.live_allocations);
  CUDA_TEST_OK(mor_allocator_trim(ctx));
  CUDA_TEST_OK(mor_allocator_stats_get(ctx, &after));
  EXPECT_EQ(after.cached_bytes, 0);
  EXPECT_EQ(after.reserved_bytes, 0);
  CUDA_TEST_OK(mor_context_destroy(ctx));
  mor_handle_stats handles1{};
  CUDA_TEST_OK(mor_handle_stats_get(&handles1));
  EXPECT_EQ(handles1.contexts, handles0.contexts);
  EXPECT_EQ(handles1.buffers, handles0.buffers);
  EXPECT_EQ(handles1.streams, handles0.streams);
}

TEST_F(CudaVsCpu, ExplicitStreamsGiveTheSameResults) {
  mor_stream stream[2] = {nullptr, nullptr};
  for (int s : {kCpu, kGpu}) CUDA_TEST_OK(mor_stream_create(ctx_[s], &stream[s]));
  const int64_t m = 129, n = 65, k = 300;
  Twin a = random_twin(static_cast<size_t>(m * k), 1), b = random_twin(static_cast<size_t>(k * n), 2);
  Twin c = random_twin(static_cast<size_t>(m * n), 3);
  for (int s : {kCpu, kGpu}) {
    CUDA_TEST_OK(
        mor_gemm(ctx_[s], stream[s], 0, 0, m, n, k, 1.0f, a[s], 0, k, 0, b[s], 0, n, 0, 1.0f, c[s], 0, n, 0, 1, 0));
    CUDA_TEST_OK(mor_stream_synchronize(stream[s]));
  }
  expect_close(c, 1e-5, "gemm on an explicit stream");
  for (int s : {kCpu, kGpu}) CUDA_TEST_OK(mor_stream_destroy(stream[s]));
}

void set_env(const char* name, const char* value) {
#if defined(_WIN32)
  _putenv_s(name, value == nullptr ? "" : value);
#else
  if (value == nullptr)
    unsetenv(name);
  else
    setenv(name, value, 1);
#endif
}

TEST_F(CudaMor, SyncLaunchModeGivesTheSameResults) {
  set_env("MOR_SYNC_LAUNCH", "1");  // read when a CUDA context is created
  mor_context synced = nullptr;
  const int32_t st = mor_context_create(MOR_BACKEND_CUDA, 0, &synced);
  set_env("MOR_SYNC_LAUNCH", nullptr);
  ASSERT_EQ(st, MOR_OK) << mor_last_error();
  std::swap(ctx_[kGpu], synced);  // the buffers below are made on the synced context
  const AdapterDims d{70, 48, 40, 4, 3, 1.0f};
  {
    MorTensors m = make(d, 600);
    for (int s : {kCpu, kGpu}) forward_backward(s, d, m, true);
    expect_close(m.y, kAdapterTol, "MOR_SYNC_LAUNCH y");
    expect_close(m.dag, kAdapterTol, "MOR_SYNC_LAUNCH d[A;W_g]");
    expect_close(m.domega_a, kAdapterTol, "MOR_SYNC_LAUNCH d omega_A");
  }
  std::swap(ctx_[kGpu], synced);
  CUDA_TEST_OK(mor_context_destroy(synced));
}

}  // namespace
