// The adapter forward/backward sequences of MOR.md §2–§4, written once against Backend: GEMMs plus
// the backend's fused kernels. The ABI entry points (api_adapters.cpp) validate and then call these.
#pragma once

#include "core/backend.h"
#include "core/caching_allocator.h"

namespace mor {

// Per-call temporaries from the context's caching allocator (released stream-ordered on scope exit;
// steady-state calls therefore reach the system allocator zero times).
class Scratch {
 public:
  Scratch(CachingAllocator& alloc, NativeStream s, int64_t count)
      : alloc_(alloc), stream_(s), p_(static_cast<float*>(alloc.allocate(static_cast<size_t>(count) * 4, s))) {}
  ~Scratch() { alloc_.release(p_, stream_); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  float* get() const { return p_; }

 private:
  CachingAllocator& alloc_;
  NativeStream stream_;
  float* p_;
};

struct OpEnv {
  Backend& be;
  CachingAllocator& alloc;
  NativeStream s;
  bool tf32 = false;  // mor_context_set_allow_tf32
};

struct LinearDims {
  int64_t T, d_in, d_out;
};

void lora_forward(const OpEnv& env, const LinearDims& d, int64_t r, float scale, const float* x, const float* a,
                  const float* b, float* h, float* y);
void lora_backward(const OpEnv& env, const LinearDims& d, int64_t r, float scale, const float* x, const float* a,
                   const float* b, const float* h, const float* dy, float* da, float* db, float* dx);

void mor_build_q(const OpEnv& env, int64_t d_out, int64_t r, int64_t N, const float* b, const float* omega_b, float* q);
// Shared by MoR (sh.h_shared, omega_a set, q = Q) and MoE-LoRA (!sh.h_shared, omega_a null, q = B_cat).
void gated_forward(const OpEnv& env, const LinearDims& d, const GateShape& sh, float scale, const float* x,
                   const float* ag, const float* omega_a, const float* q, float* hz, float* g, float* y);
// dq_out: where dQ = s·dyᵀ·P goes with beta = dq_beta (MoE-LoRA: straight into dB, beta 1;
// MoR: a scratch, beta 0, then reduced into dB and dω_B).
void gated_backward(const OpEnv& env, const LinearDims& d, const GateShape& sh, float scale, const float* x,
                    const float* ag, const float* omega_a, const float* q, const float* hz, float* g, const float* dy,
                    float* dag, float* domega_a, float* dq_out, float dq_beta, float* dx);

void dora_forward(const OpEnv& env, const LinearDims& d, int64_t r, float scale, const float* x, const void* w,
                  mor_dtype w_type, const float* w_norm2, const float* a, const float* b, const float* m, float* h,
                  float* norm, float* base_u, float* y);
void dora_backward(const OpEnv& env, const LinearDims& d, int64_t r, float scale, const float* x, const void* w,
                   mor_dtype w_type, const float* a, const float* b, const float* m, const float* h, const float* norm,
                   const float* u, const float* dy, float* dm, float* da, float* db, float* dx);

}  // namespace mor
