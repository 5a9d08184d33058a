// Helpers shared by the native tests: RAII owners over the public ABI, seeded random data, and
// error measures. The tests only use mor.h, as the managed layer does.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "mor/mor.h"

#define MOR_ASSERT_OK(expr)                                             \
  do {                                                                  \
    int32_t _st = (expr);                                               \
    ASSERT_EQ(_st, MOR_OK) << #expr << " failed: " << mor_last_error(); \
  } while (0)

namespace mortest {

class Context {
 public:
  explicit Context(int32_t backend = MOR_BACKEND_CPU, int32_t device = 0) {
    status_ = mor_context_create(backend, device, &ctx_);
  }
  ~Context() { mor_context_destroy(ctx_); }
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  mor_context get() const { return ctx_; }
  int32_t status() const { return status_; }

 private:
  mor_context ctx_ = nullptr;
  int32_t status_ = MOR_OK;
};

class Buffer {
 public:
  Buffer() = default;
  Buffer(mor_context ctx, int32_t dtype, int64_t numel) {
    int32_t st = mor_buffer_create(ctx, dtype, numel, nullptr, &buf_);
    if (st != MOR_OK) ADD_FAILURE() << "mor_buffer_create: " << mor_last_error();
  }
  Buffer(mor_context ctx, const std::vector<float>& values) : Buffer(ctx, MOR_DTYPE_F32, (int64_t)values.size()) {
    upload(values);
  }
  ~Buffer() { mor_buffer_destroy(buf_); }
  Buffer(Buffer&& o) noexcept : buf_(o.buf_) { o.buf_ = nullptr; }
  Buffer& operator=(Buffer&& o) noexcept {
    std::swap(buf_, o.buf_);
    return *this;
  }
  mor_buffer get() const { return buf_; }
  void upload(const std::vector<float>& v) {
    if (mor_buffer_upload(buf_, 0, v.data(), (int64_t)v.size(), nullptr) != MOR_OK)
      ADD_FAILURE() << "upload: " << mor_last_error();
  }
  std::vector<float> f32() const {
    int64_t n = 0;
    mor_buffer_numel(buf_, &n);
    std::vector<float> out((size_t)n);
    if (mor_buffer_download(buf_, 0, out.data(), n, nullptr) != MOR_OK)
      ADD_FAILURE() << "download: " << mor_last_error();
    return out;
  }
  template <typename T>
  std::vector<T> raw() const {
    int64_t n = 0;
    mor_buffer_numel(buf_, &n);
    std::vector<T> out((size_t)n);
    mor_buffer_download(buf_, 0, out.data(), n, nullptr);
    return out;
  }

 private:
  mor_buffer buf_ = nullptr;
};

inline std::vector<float> random_vector(size_t n, uint64_t seed, float scale = 1.0f) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(-scale, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

inline std::vector<double> to_double(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }

// ‖got − want‖∞ / max(‖want‖∞, tiny): one number that is scale-free and strict.
inline double rel_error(const std::vector<float>& got, const std::vector<double>& want) {
  double num = 0, den = 1e-30;
  for (size_t i = 0; i < want.size(); ++i) {
    num = std::max(num, std::fabs((double)got[i] - want[i]));
    den = std::max(den, std::fabs(want[i]));
  }
  return got.size() == want.size() ? num / den : INFINITY;
}

inline bool cuda_available(std::string* why) {
  int32_t n = 0;
  mor_device_count(MOR_BACKEND_CUDA, &n);
  if (n == 0 && why) *why = mor_last_error();
  return n > 0;
}

}  // namespace mortest
