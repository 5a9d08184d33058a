// Buffers, copies, fills, casts, the caching allocator's counters, handle lifetimes and the error
// contract of the ABI (status + thread-local message, never a crash on a bad handle).
#include <cstdlib>
#include <cstring>
#include <thread>

#include "common/float16.h"
#include "test_support.h"

using namespace mortest;

TEST(Library, AbiVersionAndBuildInfo) {
  EXPECT_EQ(mor_abi_version(), MOR_ABI_VERSION);
  const char* info = nullptr;
  MOR_ASSERT_OK(mor_build_info(&info));
  EXPECT_NE(std::string(info).find("cpu:"), std::string::npos);
  // MOR_BLAS_LIBRARY=builtin (tests/MoR.Tests/NativeSuiteTests.cs runs the GEMM tests so) must really select it.
  const char* blas = std::getenv("MOR_BLAS_LIBRARY");
  if (blas != nullptr && std::string(blas) == "builtin") {
    EXPECT_NE(std::string(info).find("cpu: builtin"), std::string::npos) << info;
  }
}

TEST(Library, LastErrorIsThreadLocalAndClearedOnSuccess) {
  mor_context ctx = nullptr;
  EXPECT_EQ(mor_context_create(42, 0, &ctx), MOR_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(mor_last_error()).find("unknown backend 42"), std::string::npos);
  std::string other;
  std::thread([&] { other = mor_last_error(); }).join();
  EXPECT_EQ(other, "");
  int32_t v = 0;
  MOR_ASSERT_OK(mor_context_create(MOR_BACKEND_CPU, 0, &ctx));
  EXPECT_STREQ(mor_last_error(), "");
  MOR_ASSERT_OK(mor_context_backend(ctx, &v));
  EXPECT_EQ(v, MOR_BACKEND_CPU);
  MOR_ASSERT_OK(mor_context_destroy(ctx));
}

TEST(Devices, CudaDiscoveryNeverAborts) {
  int32_t n = -1;
  MOR_ASSERT_OK(mor_device_count(MOR_BACKEND_CUDA, &n));
  EXPECT_GE(n, 0);
  mor_context ctx = nullptr;
  const int32_t st = mor_context_create(MOR_BACKEND_CUDA, n, &ctx);  // index == count: never valid
  EXPECT_EQ(st, MOR_ERR_NO_DEVICE) << mor_last_error();
  EXPECT_EQ(ctx, nullptr);
  int32_t cpu = 0;
  MOR_ASSERT_OK(mor_device_count(MOR_BACKEND_CPU, &cpu));
  EXPECT_EQ(cpu, 1);
  mor_device_info info;
  MOR_ASSERT_OK(mor_device_info_get(MOR_BACKEND_CPU, 0, &info));
  EXPECT_STREQ(info.name, "cpu");
}

TEST(Devices, MemoryQueryIsCudaOnlyAndChecksItsArguments) {
  int64_t free_bytes = -1, total_bytes = -1;
  EXPECT_EQ(mor_device_memory_get(MOR_BACKEND_CPU, 0, &free_bytes, &total_bytes), MOR_ERR_NOT_SUPPORTED);
  EXPECT_NE(std::string(mor_last_error()).find("operating system"), std::string::npos) << mor_last_error();
  EXPECT_EQ(free_bytes, 0);
  EXPECT_EQ(total_bytes, 0);
  EXPECT_EQ(mor_device_memory_get(MOR_BACKEND_CUDA, 0, nullptr, &total_bytes), MOR_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(mor_device_memory_get(42, 0, &free_bytes, &total_bytes), MOR_ERR_INVALID_ARGUMENT);
  int32_t n = 0;
  MOR_ASSERT_OK(mor_device_count(MOR_BACKEND_CUDA, &n));
  EXPECT_EQ(mor_device_memory_get(MOR_BACKEND_CUDA, n, &free_bytes, &total_bytes), MOR_ERR_NO_DEVICE);  // never valid
}

TEST(Buffers, RoundTripEveryDtype) {
  Context ctx;
  for (int32_t t : {MOR_DTYPE_F32, MOR_DTYPE_F16, MOR_DTYPE_BF16, MOR_DTYPE_I32, MOR_DTYPE_I64}) {
    const size_t size = (t == MOR_DTYPE_I64) ? 8 : (t == MOR_DTYPE_F32 || t == MOR_DTYPE_I32) ? 4 : 2;
    const int64_t n = 37;
    std::vector<unsigned char> src(n * size), dst(n * size);
    for (size_t i = 0; i < src.size(); ++i) src[i] = (unsigned char)(i * 31 + t);
    Buffer b(ctx.get(), t, n);
    MOR_ASSERT_OK(mor_buffer_upload(b.get(), 0, src.data(), n, nullptr));
    MOR_ASSERT_OK(mor_buffer_download(b.get(), 0, dst.data(), n, nullptr));
    EXPECT_EQ(src, dst) << "dtype " << t;
    int32_t got = -1;
    MOR_ASSERT_OK(mor_buffer_dtype(b.get(), &got));
    EXPECT_EQ(got, t);
  }
}

TEST(Buffers, CopyFillAndRangeChecks) {
  Context ctx;
  Buffer a(ctx.get(), std::vector<float>{1, 2, 3, 4, 5}), b(ctx.get(), MOR_DTYPE_F32, 5);
  MOR_ASSERT_OK(mor_buffer_fill(b.get(), 0, 5, -1.5, nullptr));
  MOR_ASSERT_OK(mor_buffer_copy(b.get(), 1, a.get(), 2, 3, nullptr));
  EXPECT_EQ(b.f32(), (std::vector<float>{-1.5f, 3, 4, 5, -1.5f}));
  EXPECT_EQ(mor_buffer_copy(b.get(), 3, a.get(), 0, 3, nullptr), MOR_ERR_SHAPE);
  EXPECT_NE(std::string(mor_last_error()).find("outside the buffer of 5 elements"), std::string::npos);
  EXPECT_EQ(mor_buffer_download(a.get(), -1, nullptr, 1, nullptr), MOR_ERR_INVALID_ARGUMENT);
  Buffer i64(ctx.get(), MOR_DTYPE_I64, 3);
  MOR_ASSERT_OK(mor_buffer_fill(i64.get(), 0, 3, 7.0, nullptr));
  EXPECT_EQ(i64.raw<int64_t>(), (std::vector<int64_t>{7, 7, 7}));
  Buffer i32(ctx.get(), MOR_DTYPE_I32, 3);
  EXPECT_EQ(mor_buffer_copy(i32.get(), 0, a.get(), 0, 3, nullptr), MOR_ERR_DTYPE);
  mor_buffer out = nullptr;
  EXPECT_EQ(mor_buffer_create(ctx.get(), MOR_DTYPE_F32, -1, nullptr, &out), MOR_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(mor_buffer_create(ctx.get(), 99, 1, nullptr, &out), MOR_ERR_DTYPE);
  EXPECT_EQ(mor_buffer_create(ctx.get(), MOR_DTYPE_F32, INT64_MAX / 2, nullptr, &out), MOR_ERR_INVALID_ARGUMENT);
}

TEST(Buffers, HostOutOfMemoryIsAStatusNotACrash) {
  Context ctx;
  mor_buffer out = nullptr;
  // 2^60 bytes cannot exist; the allocator must say so with the size.
  EXPECT_EQ(mor_buffer_create(ctx.get(), MOR_DTYPE_F32, int64_t(1) << 58, nullptr, &out), MOR_ERR_OUT_OF_MEMORY);
  EXPECT_NE(std::string(mor_last_error()).find("bytes"), std::string::npos) << mor_last_error();
}

TEST(Casts, Bf16AndF16RoundToNearestEven) {
  Context ctx;
  // 1 + 2^-8 lies exactly between two BF16 values: ties go to the even mantissa (1.0);
  // 1 + 3·2^-8 goes up to 1 + 2^-6.
  std::vector<float> src = {1.0f + 1.0f / 256, 1.0f + 3.0f / 256, -0.0f, 65504.0f, 1e-8f, 3.0e38f};
  Buffer f(ctx.get(), src), bf(ctx.get(), MOR_DTYPE_BF16, 6), hf(ctx.get(), MOR_DTYPE_F16, 6),
      back(ctx.get(), MOR_DTYPE_F32, 6);
  MOR_ASSERT_OK(mor_cast(bf.get(), f.get(), nullptr));
  MOR_ASSERT_OK(mor_cast(back.get(), bf.get(), nullptr));
  auto b = back.f32();
  EXPECT_EQ(b[0], 1.0f);
  EXPECT_EQ(b[1], 1.0f + 1.0f / 64);
  EXPECT_TRUE(std::signbit(b[2]));
  MOR_ASSERT_OK(mor_cast(hf.get(), f.get(), nullptr));
  MOR_ASSERT_OK(mor_cast(back.get(), hf.get(), nullptr));
  b = back.f32();
  EXPECT_EQ(b[3], 65504.0f);
  EXPECT_EQ(b[4], 0.0f);  // below half the smallest F16 subnormal
  EXPECT_TRUE(std::isinf(b[5]));
  Buffer wrong(ctx.get(), MOR_DTYPE_BF16, 5);
  EXPECT_EQ(mor_cast(wrong.get(), f.get(), nullptr), MOR_ERR_SHAPE);
}

TEST(Casts, ScalarHelpersMatchExhaustiveF16RoundTrip) {
  // Every finite F16 value survives F16 -> F32 -> F16 unchanged.
  for (uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7c00) == 0x7c00) continue;
    EXPECT_EQ(mor::f32_to_f16(mor::f16_to_f32((uint16_t)h)), h) << std::hex << h;
  }
  EXPECT_TRUE(std::isnan(mor::bf16_to_f32(mor::f32_to_bf16(NAN))));
}

TEST(Allocator, CountsReturnToBaselineAndSteadyStateReuses) {
  Context ctx;
  mor_allocator_stats s0, s1, s2;
  mor_handle_stats h0, h1;
  MOR_ASSERT_OK(mor_allocator_stats_get(ctx.get(), &s0));
  MOR_ASSERT_OK(mor_handle_stats_get(&h0));
  {
    Buffer a(ctx.get(), MOR_DTYPE_F32, 1000), b(ctx.get(), MOR_DTYPE_BF16, 3000);
    MOR_ASSERT_OK(mor_allocator_stats_get(ctx.get(), &s1));
    EXPECT_EQ(s1.live_allocations - s0.live_allocations, 2);
    EXPECT_EQ(s1.live_bytes - s0.live_bytes, 4000 + 6000);
    MOR_ASSERT_OK(mor_handle_stats_get(&h1));
    EXPECT_EQ(h1.buffers - h0.buffers, 2);
  }
  MOR_ASSERT_OK(mor_allocator_stats_get(ctx.get(), &s1));
  EXPECT_EQ(s1.live_bytes, s0.live_bytes);
  EXPECT_EQ(s1.live_allocations, s0.live_allocations);
  EXPECT_GE(s1.peak_bytes, 10000);
  // Same sizes again: served from the cache, no new system allocation.
  { Buffer a(ctx.get(), MOR_DTYPE_F32, 1000), b(ctx.get(), MOR_DTYPE_BF16, 3000); }
  MOR_ASSERT_OK(mor_allocator_stats_get(ctx.get(), &s2));
  EXPECT_EQ(s2.system_allocations, s1.system_allocations);
  MOR_ASSERT_OK(mor_allocator_trim(ctx.get()));
  MOR_ASSERT_OK(mor_allocator_stats_get(ctx.get(), &s2));
  EXPECT_EQ(s2.cached_bytes, 0);
  EXPECT_EQ(s2.reserved_bytes, s2.live_bytes == 0 ? 0 : s2.reserved_bytes);
  MOR_ASSERT_OK(mor_handle_stats_get(&h1));
  EXPECT_EQ(h1.buffers, h0.buffers);
}

TEST(Handles, BufferOutlivesDestroyedContextAndStreams) {
  mor_handle_stats h0, h1;
  MOR_ASSERT_OK(mor_handle_stats_get(&h0));
  mor_context ctx = nullptr;
  MOR_ASSERT_OK(mor_context_create(MOR_BACKEND_CPU, 0, &ctx));
  mor_stream s = nullptr;
  MOR_ASSERT_OK(mor_stream_create(ctx, &s));
  mor_buffer b = nullptr;
  MOR_ASSERT_OK(mor_buffer_create(ctx, MOR_DTYPE_F32, 4, s, &b));
  MOR_ASSERT_OK(mor_context_destroy(ctx));  // the buffer and stream keep the context alive
  float v[4] = {1, 2, 3, 4}, w[4] = {};
  MOR_ASSERT_OK(mor_buffer_upload(b, 0, v, 4, s));
  MOR_ASSERT_OK(mor_buffer_download(b, 0, w, 4, s));
  EXPECT_EQ(std::memcmp(v, w, sizeof v), 0);
  MOR_ASSERT_OK(mor_stream_destroy(s));
  MOR_ASSERT_OK(mor_buffer_destroy(b));  // freed after its stream: lands in the default pool
  MOR_ASSERT_OK(mor_handle_stats_get(&h1));
  EXPECT_EQ(h1.contexts, h0.contexts);
  EXPECT_EQ(h1.streams, h0.streams);
  EXPECT_EQ(h1.buffers, h0.buffers);
}

TEST(Handles, NullAndStaleHandlesAreErrors) {
  int64_t n = 0;
  EXPECT_EQ(mor_buffer_numel(nullptr, &n), MOR_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(mor_context_synchronize(nullptr), MOR_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(mor_stream_synchronize(nullptr), MOR_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(mor_buffer_destroy(nullptr), MOR_OK);  // like free(NULL)
  Context a, b;
  mor_stream s = nullptr;
  MOR_ASSERT_OK(mor_stream_create(a.get(), &s));
  Buffer buf(b.get(), MOR_DTYPE_F32, 1);
  EXPECT_EQ(mor_buffer_fill(buf.get(), 0, 1, 0.0, s), MOR_ERR_INVALID_ARGUMENT);  // stream of another context
  MOR_ASSERT_OK(mor_stream_destroy(s));
}

TEST(Library, Tf32SwitchIsAcceptedAndLeavesCpuResultsBitIdentical) {
  Context ctx;
  std::vector<float> x = random_vector(6 * 5, 1), a = random_vector(2 * 5, 2), b = random_vector(4 * 2, 3);
  auto run = [&] {
    Buffer bx(ctx.get(), x), ba(ctx.get(), a), bb(ctx.get(), b), bh(ctx.get(), MOR_DTYPE_F32, 12),
        by(ctx.get(), std::vector<float>(24, 0.0f));
    EXPECT_EQ(mor_lora_forward(ctx.get(), nullptr, 6, 5, 4, 2, 1.0f, bx.get(), ba.get(), bb.get(), bh.get(), by.get()),
              MOR_OK);
    return by.f32();
  };
  const auto off = run();
  MOR_ASSERT_OK(mor_context_set_allow_tf32(ctx.get(), 1));
  EXPECT_EQ(run(), off);  // the CPU backend has no TF32 path
  EXPECT_EQ(mor_context_set_allow_tf32(nullptr, 1), MOR_ERR_INVALID_ARGUMENT);
}
