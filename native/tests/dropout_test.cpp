// mor_dropout: the counter-based inverted dropout that adapters apply to their input (PEFT's
// lora_dropout). Checked against an independent reimplementation of the documented hash, for keep-rate
// statistics, determinism, offset semantics (a slice at offset k equals elements k.. of a whole call),
// p = 0 identity, in-place use, argument errors, and CUDA against CPU bit for bit.
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "test_support.h"

using namespace mortest;

namespace {

// The formula of mor.h, written out again here (not the library's header) so the test pins it.
uint64_t ref_hash(uint64_t seed, uint64_t index) {
  uint64_t z = seed + (index + 1u) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::vector<float> ref_dropout(const std::vector<float>& x, float p, uint64_t seed, uint64_t offset) {
  const uint64_t threshold = (uint64_t)((double)p * 4294967296.0);
  const float inv = 1.0f / (1.0f - p);
  std::vector<float> out(x.size());
  for (size_t i = 0; i < x.size(); ++i) out[i] = (ref_hash(seed, offset + i) >> 32) >= threshold ? x[i] * inv : 0.0f;
  return out;
}

bool bit_equal(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

std::vector<float> run(mor_context ctx, const std::vector<float>& x, float p, uint64_t seed, uint64_t offset) {
  Buffer bx(ctx, x), out(ctx, MOR_DTYPE_F32, (int64_t)x.size());
  EXPECT_EQ(mor_dropout(ctx, nullptr, (int64_t)x.size(), p, seed, offset, bx.get(), out.get()), MOR_OK)
      << mor_last_error();
  return out.f32();
}

}  // namespace

TEST(Dropout, KeepFractionIsOneMinusPWithinFourSigma) {
  Context ctx;
  const int64_t n = 1000000;
  std::vector<float> ones((size_t)n, 1.0f);
  for (float p : {0.05f, 0.1f, 0.5f, 0.9f}) {
    auto out = run(ctx.get(), ones, p, 1234, 0);
    int64_t kept = 0;
    for (float v : out) kept += v != 0.0f;
    const double q = 1.0 - p, sigma = std::sqrt(n * q * (1.0 - q));
    EXPECT_NEAR((double)kept, n * q, 4 * sigma) << "p = " << p;
    // Inverted scaling keeps the expectation: kept values are exactly 1 / (1 − p).
    for (float v : out) ASSERT_TRUE(v == 0.0f || v == 1.0f / (1.0f - p));
  }
}

TEST(Dropout, MatchesTheDocumentedHashExactly) {
  Context ctx;
  auto x = random_vector(10007, 5);
  for (uint64_t seed : {0ull, 1ull, 0xDEADBEEFCAFEF00Dull})
    for (float p : {0.1f, 0.3f, 0.75f}) {
      auto got = run(ctx.get(), x, p, seed, 17);
      EXPECT_TRUE(bit_equal(got, ref_dropout(x, p, seed, 17))) << "seed " << seed << " p " << p;
    }
}

TEST(Dropout, DeterministicAndSeedSensitive) {
  Context ctx;
  auto x = random_vector(4096, 6);
  auto a = run(ctx.get(), x, 0.2f, 99, 0), b = run(ctx.get(), x, 0.2f, 99, 0), c = run(ctx.get(), x, 0.2f, 100, 0);
  EXPECT_TRUE(bit_equal(a, b));
  EXPECT_FALSE(bit_equal(a, c));
}

TEST(Dropout, PZeroCopiesAndInPlaceWorks) {
  Context ctx;
  auto x = random_vector(1000, 7);
  EXPECT_TRUE(bit_equal(run(ctx.get(), x, 0.0f, 3, 0), x));
  Buffer b(ctx.get(), x);
  MOR_ASSERT_OK(mor_dropout(ctx.get(), nullptr, 1000, 0.4f, 3, 5, b.get(), b.get()));
  EXPECT_TRUE(bit_equal(b.f32(), ref_dropout(x, 0.4f, 3, 5)));
}

TEST(Dropout, OffsetSelectsTheSameDecisionsAsAWholeCall) {
  Context ctx;
  auto x = random_vector(3000, 8);
  auto whole = run(ctx.get(), x, 0.3f, 42, 0);
  std::vector<float> tail(x.begin() + 1000, x.end());
  auto part = run(ctx.get(), tail, 0.3f, 42, 1000);
  EXPECT_TRUE(bit_equal(part, std::vector<float>(whole.begin() + 1000, whole.end())));
  // The backward is the same call on dy: applying the mask twice to ones gives keep / (1 − p)².
  std::vector<float> ones(3000, 1.0f);
  auto once = run(ctx.get(), ones, 0.3f, 42, 0), twice = run(ctx.get(), once, 0.3f, 42, 0);
  for (size_t i = 0; i < once.size(); ++i) ASSERT_EQ(twice[i] != 0.0f, once[i] != 0.0f);
}

TEST(Dropout, ArgumentErrors) {
  Context ctx;
  Buffer x(ctx.get(), MOR_DTYPE_F32, 10), out(ctx.get(), MOR_DTYPE_F32, 10), small(ctx.get(), MOR_DTYPE_F32, 5),
      i32(ctx.get(), MOR_DTYPE_I32, 10);
  EXPECT_EQ(mor_dropout(ctx.get(), nullptr, 10, 1.0f, 0, 0, x.get(), out.get()), MOR_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(mor_dropout(ctx.get(), nullptr, 10, -0.1f, 0, 0, x.get(), out.get()), MOR_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(mor_dropout(ctx.get(), nullptr, 10, NAN, 0, 0, x.get(), out.get()), MOR_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(mor_last_error()).find("p must be in [0, 1)"), std::string::npos);
  EXPECT_NE(mor_dropout(ctx.get(), nullptr, -1, 0.1f, 0, 0, x.get(), out.get()), MOR_OK);
  EXPECT_EQ(mor_dropout(ctx.get(), nullptr, 10, 0.1f, 0, 0, x.get(), small.get()), MOR_ERR_SHAPE);
  EXPECT_EQ(mor_dropout(ctx.get(), nullptr, 10, 0.1f, 0, 0, i32.get(), out.get()), MOR_ERR_DTYPE);
  EXPECT_NE(mor_dropout(ctx.get(), nullptr, 10, 0.1f, 0, 0, nullptr, out.get()), MOR_OK);
  EXPECT_NE(mor_dropout(nullptr, nullptr, 10, 0.1f, 0, 0, x.get(), out.get()), MOR_OK);
  MOR_ASSERT_OK(mor_dropout(ctx.get(), nullptr, 0, 0.1f, 0, 0, x.get(), out.get()));
}

TEST(Dropout, CudaMatchesCpuBitForBit) {
  std::string why;
  if (!cuda_available(&why)) GTEST_SKIP() << "no CUDA device: " << why;
  Context cpu(MOR_BACKEND_CPU), gpu(MOR_BACKEND_CUDA);
  ASSERT_EQ(gpu.status(), MOR_OK) << mor_last_error();
  auto x = random_vector(1000003, 9);
  for (float p : {0.0f, 0.1f, 0.5f})
    EXPECT_TRUE(bit_equal(run(gpu.get(), x, p, 77, 123456789), run(cpu.get(), x, p, 77, 123456789))) << "p " << p;
}
