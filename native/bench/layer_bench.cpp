// mor_layer_bench: forward + backward time of one adapted linear layer through the public ABI, on
// the CPU or CUDA backend, next to the frozen base layer measured in the same run.
//
//   mor_layer_bench [--backend cpu|cuda] [--T 512] [--d-in 4096] [--d-out 11008] [--N 8] [--r 32]
//                   [--base f32|bf16] [--tf32] [--iters 5] [--json]
//
// Per iteration, every method does the frozen base work (Y = X·Wᵀ, dX = dY·W; no weight gradient)
// plus its adapter's forward and backward. MoR also rebuilds Q (once per optimizer step in
// training). The overhead of a method is (its time − base time) / base time. A BF16 base rounds X
// and dY to BF16 for the frozen GEMMs, as training with a BF16 base does.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "mor/mor.h"

namespace {

void check(int32_t status, const char* what) {
  if (status != MOR_OK) {
    std::fprintf(stderr, "mor_layer_bench: %s failed (status %d): %s\n", what, status, mor_last_error());
    std::exit(1);
  }
}

struct Args {
  std::string backend = "cpu", base = "f32";
  int64_t T = 512, d_in = 4096, d_out = 11008, N = 8, r = 32, iters = 5;
  bool json = false, tf32 = false;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "mor_layer_bench: %s needs a value\n", k.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (k == "--backend")
      a.backend = next();
    else if (k == "--base")
      a.base = next();
    else if (k == "--T")
      a.T = std::stoll(next());
    else if (k == "--d-in")
      a.d_in = std::stoll(next());
    else if (k == "--d-out")
      a.d_out = std::stoll(next());
    else if (k == "--N")
      a.N = std::stoll(next());
    else if (k == "--r")
      a.r = std::stoll(next());
    else if (k == "--iters")
      a.iters = std::stoll(next());
    else if (k == "--json")
      a.json = true;
    else if (k == "--tf32")
      a.tf32 = true;
    else {
      std::fprintf(stderr, "mor_layer_bench: unknown option %s\n", k.c_str());
      std::exit(2);
    }
  }
  return a;
}

struct Buf {
  mor_buffer b = nullptr;
  Buf(mor_context ctx, int32_t dtype, int64_t n, float scale) {
    check(mor_buffer_create(ctx, dtype, n, nullptr, &b), "mor_buffer_create");
    if (dtype == MOR_DTYPE_F32) {
      std::vector<float> v((size_t)n);
      std::mt19937 rng(static_cast<unsigned>(n));
      std::uniform_real_distribution<float> d(-scale, scale);
      for (auto& x : v) x = d(rng);
      check(mor_buffer_upload(b, 0, v.data(), n, nullptr), "upload");
    } else {
      check(mor_buffer_fill(b, 0, n, scale, nullptr), "fill");
    }
  }
  ~Buf() { mor_buffer_destroy(b); }
  Buf(const Buf&) = delete;
  Buf& operator=(const Buf&) = delete;
};

double time_ms(mor_context ctx, int64_t iters, const std::function<void()>& body) {
  body();  // warm-up: caches, cuBLAS heuristics, allocator pools
  check(mor_context_synchronize(ctx), "sync");
  auto t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < iters; ++i) body();
  check(mor_context_synchronize(ctx), "sync");
  auto t1 = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::milli>(t1 - t0).count() / static_cast<double>(iters);
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  const int32_t backend = a.backend == "cuda" ? MOR_BACKEND_CUDA : MOR_BACKEND_CPU;
  mor_context ctx = nullptr;
  check(mor_context_create(backend, 0, &ctx), "mor_context_create");
  // --tf32: the adapters' F32 GEMMs may use TF32 tensor cores (mixed precision with a BF16 base).
  check(mor_context_set_allow_tf32(ctx, a.tf32 ? 1 : 0), "mor_context_set_allow_tf32");
  const int32_t wt = a.base == "bf16" ? MOR_DTYPE_BF16 : MOR_DTYPE_F32;
  const int64_t T = a.T, di = a.d_in, dout = a.d_out, N = a.N, r = a.r, K = N * r;
  const float s = 2.0f;
  const int32_t tf32 = 0;

  Buf W(ctx, wt, dout * di, 0.02f), X(ctx, MOR_DTYPE_F32, T * di, 1.0f), Y(ctx, MOR_DTYPE_F32, T * dout, 0.0f),
      dY(ctx, MOR_DTYPE_F32, T * dout, 1.0f), dX(ctx, MOR_DTYPE_F32, T * di, 0.0f);
  Buf X16(ctx, wt, T * di, 0.0f), dY16(ctx, wt, T * dout, 0.0f);
  // LoRA
  Buf A(ctx, MOR_DTYPE_F32, r * di, 0.01f), B(ctx, MOR_DTYPE_F32, dout * r, 0.01f), H(ctx, MOR_DTYPE_F32, T * r, 0.0f),
      dA(ctx, MOR_DTYPE_F32, r * di, 0.0f), dB(ctx, MOR_DTYPE_F32, dout * r, 0.0f);
  // MoR
  Buf AG(ctx, MOR_DTYPE_F32, (r + N) * di, 0.01f), wA(ctx, MOR_DTYPE_F32, N * r, 1.0f),
      wB(ctx, MOR_DTYPE_F32, N * dout, 1.0f), Q(ctx, MOR_DTYPE_F32, dout * K, 0.0f),
      HZ(ctx, MOR_DTYPE_F32, T * (r + N), 0.0f), G(ctx, MOR_DTYPE_F32, T * N, 0.0f),
      dAG(ctx, MOR_DTYPE_F32, (r + N) * di, 0.0f), dwA(ctx, MOR_DTYPE_F32, N * r, 0.0f),
      dwB(ctx, MOR_DTYPE_F32, N * dout, 0.0f);
  // MoE-LoRA
  Buf AGm(ctx, MOR_DTYPE_F32, (K + N) * di, 0.01f), Bm(ctx, MOR_DTYPE_F32, dout * K, 0.01f),
      HZm(ctx, MOR_DTYPE_F32, T * (K + N), 0.0f), dAGm(ctx, MOR_DTYPE_F32, (K + N) * di, 0.0f),
      dBm(ctx, MOR_DTYPE_F32, dout * K, 0.0f);

  const bool narrow = wt != MOR_DTYPE_F32;
  auto base = [&] {
    mor_buffer x = X.b, dy = dY.b;
    if (narrow) {
      check(mor_cast(X16.b, X.b, nullptr), "cast x");
      check(mor_cast(dY16.b, dY.b, nullptr), "cast dy");
      x = X16.b, dy = dY16.b;
    }
    check(mor_gemm(ctx, nullptr, 0, 1, T, dout, di, 1.0f, x, 0, di, 0, W.b, 0, di, 0, 0.0f, Y.b, 0, dout, 0, 1, tf32),
          "base fwd");
    check(mor_gemm(ctx, nullptr, 0, 0, T, di, dout, 1.0f, dy, 0, dout, 0, W.b, 0, di, 0, 0.0f, dX.b, 0, di, 0, 1, tf32),
          "base bwd");
  };
  auto lora = [&] {
    base();
    check(mor_lora_forward(ctx, nullptr, T, di, dout, r, s, X.b, A.b, B.b, H.b, Y.b), "lora fwd");
    check(mor_lora_backward(ctx, nullptr, T, di, dout, r, s, X.b, A.b, B.b, H.b, dY.b, dA.b, dB.b, dX.b), "lora bwd");
  };
  auto mor = [&] {
    base();
    check(mor_build_q(ctx, nullptr, dout, r, N, B.b, wB.b, Q.b), "build q");
    check(mor_forward(ctx, nullptr, T, di, dout, r, N, s, X.b, AG.b, wA.b, Q.b, HZ.b, G.b, Y.b), "mor fwd");
    check(mor_backward(ctx, nullptr, T, di, dout, r, N, s, X.b, AG.b, wA.b, B.b, wB.b, Q.b, HZ.b, G.b, dY.b, dAG.b,
                       dwA.b, dB.b, dwB.b, dX.b),
          "mor bwd");
  };
  auto moe = [&] {
    base();
    check(mor_moe_lora_forward(ctx, nullptr, T, di, dout, r, N, s, X.b, AGm.b, Bm.b, HZm.b, G.b, Y.b), "moe fwd");
    check(mor_moe_lora_backward(ctx, nullptr, T, di, dout, r, N, s, X.b, AGm.b, Bm.b, HZm.b, G.b, dY.b, dAGm.b, dBm.b,
                                dX.b),
          "moe bwd");
  };

  const double t_base = time_ms(ctx, a.iters, base);
  const double t_lora = time_ms(ctx, a.iters, lora);
  const double t_moe = time_ms(ctx, a.iters, moe);
  const double t_mor = time_ms(ctx, a.iters, mor);
  // FLOPs of the frozen layer's fwd + input-grad (2 GEMMs) and MoR's floor (MOR.md §2).
  const double base_flops = 4.0 * T * di * dout;
  const char* info = nullptr;
  mor_build_info(&info);
  mor_device_info dev{};
  mor_device_info_get(backend, 0, &dev);
  if (a.json) {
    std::printf(
        "{\"backend\":\"%s\",\"device\":\"%s\",\"base_dtype\":\"%s\",\"T\":%lld,\"d_in\":%lld,\"d_out\":%lld,\"N\":%"
        "lld,"
        "\"r\":%lld,\"ms\":{\"base\":%.4f,\"lora\":%.4f,\"moe_lora\":%.4f,\"mor\":%.4f},\"base_tflops\":%.3f}\n",
        a.backend.c_str(), dev.name, a.base.c_str(), (long long)T, (long long)di, (long long)dout, (long long)N,
        (long long)r, t_base, t_lora, t_moe, t_mor, base_flops / (t_base * 1e9));
  } else {
    std::printf("# %s\n# backend %s (%s), base %s%s, T=%lld d_in=%lld d_out=%lld N=%lld r=%lld, %lld iterations\n",
                info, a.backend.c_str(), dev.name, a.base.c_str(), a.tf32 ? ", adapter GEMMs TF32" : "", (long long)T,
                (long long)di, (long long)dout, (long long)N, (long long)r, (long long)a.iters);
    std::printf("%-22s %10s %10s\n", "layer fwd+bwd", "ms", "overhead");
    std::printf("%-22s %10.3f %10s   (%.2f TFLOP/s)\n", "frozen base", t_base, "-", base_flops / (t_base * 1e9));
    std::printf("%-22s %10.3f %9.1f%%\n", "base + LoRA", t_lora, 100.0 * (t_lora - t_base) / t_base);
    std::printf("%-22s %10.3f %9.1f%%\n", "base + MoE-LoRA", t_moe, 100.0 * (t_moe - t_base) / t_base);
    std::printf("%-22s %10.3f %9.1f%%\n", "base + MoR", t_mor, 100.0 * (t_mor - t_base) / t_base);
  }
  mor_context_destroy(ctx);
  return 0;
}
