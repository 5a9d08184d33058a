#include "cpu/cpu_backend.h"

#include <cstring>
#include <string>

#include "core/error.h"
#include "core/handles.h"
#include "platform/platform.h"

namespace mor {

namespace {

// 64-byte alignment: whole cache lines and aligned AVX-512 loads.
constexpr size_t kAlignment = 64;

class CpuBackend final : public Backend {
 public:
  mor_backend kind() const override { return MOR_BACKEND_CPU; }
  int32_t device() const override { return 0; }

  void* raw_alloc(size_t bytes) override {
    void* p = platform::aligned_alloc(bytes, kAlignment);
    if (p == nullptr) fail(MOR_ERR_OUT_OF_MEMORY, "host allocation of " + std::to_string(bytes) + " bytes failed");
    return p;
  }
  void raw_free(void* p) noexcept override { platform::aligned_free(p); }

  // Everything runs synchronously on the calling thread, so a stream is only a distinct token.
  NativeStream default_stream() override { return &default_token_; }
  NativeStream create_stream() override { return new char; }
  void destroy_stream(NativeStream s) noexcept override { delete static_cast<char*>(s); }
  void synchronize(NativeStream) override {}
  void synchronize_device() override {}

  void copy_to_device(void* dst, const void* host, size_t bytes, NativeStream) override {
    std::memcpy(dst, host, bytes);
  }
  void copy_to_host(void* host, const void* src, size_t bytes, NativeStream) override { std::memcpy(host, src, bytes); }
  void copy_on_device(void* dst, const void* src, size_t bytes, NativeStream) override {
    std::memmove(dst, src, bytes);
  }
  void fill(void* dst, mor_dtype t, int64_t count, double value, NativeStream) override {
    cpu::fill(dst, t, count, value);
  }
  void cast(void* dst, mor_dtype dt, const void* src, mor_dtype st, int64_t count, NativeStream) override {
    cpu::cast(dst, dt, src, st, count);
  }
  void gemm(const GemmArgs& g, NativeStream) override { cpu::gemm(g); }

  void gate_forward(const GateShape& sh, const float* hz, const float* omega_a, float* g, float* p,
                    NativeStream) override {
    cpu::gate_forward(sh, hz, omega_a, g, p);
  }
  void gate_backward(const GateShape& sh, const float* hz, const float* g, const float* omega_a, const float* dp,
                     float* dhz, float* domega_a, NativeStream) override {
    cpu::gate_backward(sh, hz, g, omega_a, dp, dhz, domega_a);
  }
  void build_q(int64_t d_out, int64_t r, int64_t N, const float* b, const float* omega_b, float* q,
               NativeStream) override {
    cpu::build_q(d_out, r, N, b, omega_b, q);
  }
  void reduce_dq(int64_t d_out, int64_t r, int64_t N, const float* dq, const float* b, const float* omega_b, float* db,
                 float* domega_b, NativeStream) override {
    cpu::reduce_dq(d_out, r, N, dq, b, omega_b, db, domega_b);
  }
  void row_norm2(int64_t rows, int64_t cols, const void* w, mor_dtype w_type, float* out, NativeStream) override {
    cpu::row_norm2(rows, cols, w, w_type, out);
  }
  void dora_norm(int64_t d_out, int64_t r, float scale, const float* w_norm2, const float* b, const float* wat,
                 const float* gram, float* norm, NativeStream) override {
    cpu::dora_norm(d_out, r, scale, w_norm2, b, wat, gram, norm);
  }
  void dora_scale_forward(int64_t T, int64_t d_out, const float* m, const float* norm, const float* u, float* y,
                          NativeStream) override {
    cpu::dora_scale_forward(T, d_out, m, norm, u, y);
  }
  void dora_scale_backward(int64_t T, int64_t d_out, const float* m, const float* norm, const float* u, const float* dy,
                           float* du, float* dm, NativeStream) override {
    cpu::dora_scale_backward(T, d_out, m, norm, u, dy, du, dm);
  }

  void rmsnorm_forward(int64_t T, int64_t C, float eps, const float* x, const float* w, float* y, float* rstd,
                       NativeStream) override {
    cpu::rmsnorm_forward(T, C, eps, x, w, y, rstd);
  }
  void rmsnorm_backward(int64_t T, int64_t C, const float* x, const float* w, const float* rstd, const float* dy,
                        float* dx, float* dw, NativeStream) override {
    cpu::rmsnorm_backward(T, C, x, w, rstd, dy, dx, dw);
  }
  void rope(int64_t T, int64_t H, int64_t D, float* x, int64_t ld, const int32_t* positions, const float* inv_freq,
            bool inverse, NativeStream) override {
    cpu::rope(T, H, D, x, ld, positions, inv_freq, inverse);
  }
  void attention_forward(const AttentionArgs& a, const float* q, const float* k, const float* v, float* out, float* lse,
                         NativeStream) override {
    cpu::attention_forward(a, q, k, v, out, lse);
  }
  void attention_backward(const AttentionArgs& a, const float* q, const float* k, const float* v, const float* out,
                          const float* lse, const float* dout, float* dq, float* dk, float* dv, NativeStream) override {
    cpu::attention_backward(a, q, k, v, out, lse, dout, dq, dk, dv);
  }
  void swiglu_forward(int64_t n, const float* gate, const float* up, float* out, NativeStream) override {
    cpu::swiglu_forward(n, gate, up, out);
  }
  void swiglu_backward(int64_t n, const float* gate, const float* up, const float* dout, float* dgate, float* dup,
                       NativeStream) override {
    cpu::swiglu_backward(n, gate, up, dout, dgate, dup);
  }
  void embedding_forward(int64_t T, int64_t C, const int32_t* ids, const void* table, mor_dtype table_type, float* out,
                         NativeStream) override {
    cpu::embedding_forward(T, C, ids, table, table_type, out);
  }
  void embedding_backward(int64_t T, int64_t C, int64_t, const int32_t* ids, const float* dout, float* dtable,
                          NativeStream) override {
    cpu::embedding_backward(T, C, ids, dout, dtable);
  }
  void cross_entropy(int64_t T, int64_t V, float* logits, const int32_t* targets, int32_t ignore_index, float* losses,
                     float grad_scale, NativeStream) override {
    cpu::cross_entropy(T, V, logits, targets, ignore_index, losses, grad_scale);
  }
  void adamw(int64_t n, float* params, const float* grads, float* m, float* v, const AdamWArgs& hp,
             NativeStream) override {
    cpu::adamw(n, params, grads, m, v, hp);
  }
  double sum_squares(int64_t n, const float* x, NativeStream) override { return cpu::sum_squares(n, x); }
  void axpy(int64_t n, float alpha, const float* x, float* y, NativeStream) override { cpu::axpy(n, alpha, x, y); }
  void scale(int64_t n, float alpha, float* x, NativeStream) override { cpu::scale(n, alpha, x); }
  void dropout(int64_t n, uint64_t threshold, float inv_keep, uint64_t seed, uint64_t offset, const float* x,
               float* out, NativeStream) override {
    cpu::dropout(n, threshold, inv_keep, seed, offset, x, out);
  }

 private:
  char default_token_ = 0;
};

}  // namespace

std::unique_ptr<Backend> create_cpu_backend() { return std::make_unique<CpuBackend>(); }

}  // namespace mor
