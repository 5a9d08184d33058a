// mor_cuda_kernel_bench: GPU-side time of the CUDA backend's fused adapter kernels at T=4096, N=8, r=32,
// d_out=11008, next to a device-to-device copy measured in the same run, as achieved GB/s and the ratio to
// the bandwidth bound (bytes each kernel must move / copy bandwidth). Built with the CUDA backend.
#include <cstdio>
#include <functional>

#include "cuda/kernels.h"
using namespace mor;
using namespace mor::cuda;
#define CK(x)                                         \
  do {                                                \
    cudaError_t e_ = (x);                             \
    if (e_ != cudaSuccess) {                          \
      printf("%s: %s\n", #x, cudaGetErrorString(e_)); \
      return 1;                                       \
    }                                                 \
  } while (0)
static cudaStream_t s;
__global__ void empty_kernel(int) {}
__global__ void spin_kernel(long long cycles) {
  const long long start = clock64();
  while (clock64() - start < cycles) {
  }
}
// GPU-side time per call: the calls queue up behind a ~2 ms spin, so host launch overhead is hidden.
static float time_ms(const std::function<void()>& f, int iters = 20) {
  f();
  f();
  cudaStreamSynchronize(s);
  cudaEvent_t a, b;
  cudaEventCreate(&a);
  cudaEventCreate(&b);
  spin_kernel<<<1, 1, 0, s>>>(4000000LL);
  cudaEventRecord(a, s);
  for (int i = 0; i < iters; ++i) f();
  cudaEventRecord(b, s);
  cudaEventSynchronize(b);
  float ms = 0;
  cudaEventElapsedTime(&ms, a, b);
  return ms / iters;
}
int main() {
  const int64_t T = 4096, N = 8, r = 32, d_out = 11008, d_in = 4096, K = N * r;
  CK(cudaStreamCreate(&s));
  Launch l{s, false};
  auto alloc = [](size_t bytes) {
    void* p = nullptr;
    cudaMalloc(&p, bytes);
    cudaMemset(p, 0, bytes);
    return static_cast<float*>(p);
  };
  float *big1 = alloc(T * d_out * 4), *big2 = alloc(T * d_out * 4), *big3 = alloc(T * d_out * 4);
  float *hz = alloc(T * (r + N) * 4), *g = alloc(T * N * 4), *p = alloc(T * K * 4), *dp = alloc(T * K * 4);
  float *dhz = alloc(T * (r + N) * 4), *oa = alloc(N * r * 4), *doa = alloc(N * r * 4);
  float *b = alloc(d_out * r * 4), *ob = alloc(N * d_out * 4), *q = alloc(d_out * K * 4), *db = alloc(d_out * r * 4);
  float *dob = alloc(N * d_out * 4), *w = alloc(d_out * d_in * 4), *out = alloc(d_out * 4), *m = alloc(d_out * 4);
  float *nrm = alloc(d_out * 4), *gram = alloc(r * r * 4), *wat = alloc(d_out * r * 4), *dm = alloc(d_out * 4);
  float* scratch = alloc(64 << 20);
  const uint32_t one = 0x3f800000u;
  fill_pattern(l, nrm, 4, one, d_out);
  fill_pattern(l, m, 4, one, d_out);
  CK(cudaStreamSynchronize(s));
  const double copy_bytes = 2.0 * T * d_out * 4;
  const float copy_ms = time_ms([&] { cudaMemcpyAsync(big2, big1, T * d_out * 4, cudaMemcpyDeviceToDevice, s); });
  const double peak = copy_bytes / copy_ms / 1e6;
  printf("device-to-device copy: %.3f ms, %.0f GB/s (reference bandwidth)\n", copy_ms, peak);
  printf("empty kernel launch: %.4f ms\n", time_ms([&] { empty_kernel<<<512, 256, 0, s>>>(0); }));
  GateShape sh{T, N, r, true};
  GateShape moe{T, N, r, false};
  struct Row {
    const char* name;
    double bytes;
    std::function<void()> f;
  };
  float* hz_moe = big3;  // T×(N·r+N) fits
  Row rows[] = {
      {"gate_forward (MoR)", 4.0 * (T * (r + N) + T * N + T * K), [&] { gate_forward(l, sh, hz, oa, g, p); }},
      {"gate_forward (MoE)", 4.0 * (T * (K + N) + T * N + T * K), [&] { gate_forward(l, moe, hz_moe, nullptr, g, p); }},
      {"gate_backward (MoR, dω_A)", 4.0 * (T * (r + N) * 2 + T * N + T * K),
       [&] { gate_backward(l, sh, hz, g, oa, dp, dhz, doa, scratch); }},
      {"gate_backward (MoE)", 4.0 * (T * (K + N) * 2 + T * N + T * K),
       [&] { gate_backward(l, moe, hz_moe, g, nullptr, dp, big2, nullptr, scratch); }},
      {"build_q", 4.0 * (d_out * K + d_out * r + N * d_out), [&] { build_q(l, d_out, r, N, b, ob, q); }},
      {"reduce_dq", 4.0 * (d_out * K + 3 * d_out * r + 3 * N * d_out),
       [&] { reduce_dq(l, d_out, r, N, q, b, ob, db, dob); }},
      {"row_norm2 F32", 4.0 * d_out * d_in, [&] { row_norm2(l, d_out, d_in, w, MOR_DTYPE_F32, out); }},
      {"row_norm2 BF16", 2.0 * d_out * d_in, [&] { row_norm2(l, d_out, d_in, w, MOR_DTYPE_BF16, out); }},
      {"dora_norm", 4.0 * (2 * d_out * r + 2 * d_out), [&] { dora_norm(l, d_out, r, 0.5f, out, b, wat, gram, nrm); }},
      {"dora_scale_forward", 8.0 * T * d_out, [&] { dora_scale_forward(l, T, d_out, m, nrm, big1, big2); }},
      {"dora_scale_backward", 12.0 * T * d_out,
       [&] { dora_scale_backward(l, T, d_out, m, nrm, big1, big2, big3, dm, scratch); }},
      {"cast F32->BF16", 6.0 * T * d_out, [&] { cast(l, big2, MOR_DTYPE_BF16, big1, MOR_DTYPE_F32, T * d_out); }},
      {"cast BF16->F32", 6.0 * T * d_out / 2,
       [&] { cast(l, big2, MOR_DTYPE_F32, big1, MOR_DTYPE_BF16, T * d_out / 2); }},
      {"fill F32 (1.0)", 4.0 * T * d_out, [&] { fill_pattern(l, big1, 4, one, T * d_out); }},
      {"pack_rounded T×d_out", 6.0 * T * d_out,
       [&] { pack_rounded(l, big2, MOR_DTYPE_BF16, big1, T, d_out, d_out, 0, 1); }},
  };
  for (auto& row : rows) {
    const float ms = time_ms(row.f);
    const double gbs = row.bytes / ms / 1e6;
    printf("%-28s %9.4f ms  %7.0f GB/s  %5.1f%% of copy bw  (bound %.4f ms)\n", row.name, ms, gbs, 100.0 * gbs / peak,
           row.bytes / peak / 1e6);
  }
  CK(cudaGetLastError());
  CK(cudaDeviceSynchronize());
  return 0;
}
