#include "core/adapter_ops.h"

namespace mor {

namespace {

// Row-major F32 GEMM on raw pointers: C[m×n] = alpha·op(A)·op(B) + beta·C.
void gemm(const OpEnv& env, bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const void* a, mor_dtype at,
          int64_t lda, const void* b, mor_dtype bt, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  GemmArgs g;
  g.trans_a = ta, g.trans_b = tb, g.m = m, g.n = n, g.k = k, g.alpha = alpha, g.beta = beta;
  g.a = a, g.a_type = at, g.lda = lda, g.b = b, g.b_type = bt, g.ldb = ldb;
  g.c = c, g.c_type = MOR_DTYPE_F32, g.ldc = ldc;
  g.allow_tf32 = env.tf32;
  env.be.gemm(g, env.s);
}

void gemm(const OpEnv& env, bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  gemm(env, ta, tb, m, n, k, alpha, a, MOR_DTYPE_F32, lda, b, MOR_DTYPE_F32, ldb, beta, c, ldc);
}

}  // namespace

void lora_forward(const OpEnv& env, const LinearDims& d, int64_t r, float scale, const float* x, const float* a,
                  const float* b, float* h, float* y) {
  gemm(env, false, true, d.T, r, d.d_in, 1.0f, x, d.d_in, a, d.d_in, 0.0f, h, r);  // h = x Aᵀ
  gemm(env, false, true, d.T, d.d_out, r, scale, h, r, b, r, 1.0f, y, d.d_out);    // y += s h Bᵀ
}

void lora_backward(const OpEnv& env, const LinearDims& d, int64_t r, float scale, const float* x, const float* a,
                   const float* b, const float* h, const float* dy, float* da, float* db, float* dx) {
  Scratch dh(env.alloc, env.s, d.T * r);
  gemm(env, false, false, d.T, r, d.d_out, scale, dy, d.d_out, b, r, 0.0f, dh.get(), r);   // dh = s dy B
  gemm(env, true, false, d.d_out, r, d.T, scale, dy, d.d_out, h, r, 1.0f, db, r);          // dB += s dyᵀ h
  gemm(env, true, false, r, d.d_in, d.T, 1.0f, dh.get(), r, x, d.d_in, 1.0f, da, d.d_in);  // dA += dhᵀ x
  if (dx != nullptr)
    gemm(env, false, false, d.T, d.d_in, r, 1.0f, dh.get(), r, a, d.d_in, 1.0f, dx, d.d_in);  // dx += dh A
}

void mor_build_q(const OpEnv& env, int64_t d_out, int64_t r, int64_t N, const float* b, const float* omega_b,
                 float* q) {
  env.be.build_q(d_out, r, N, b, omega_b, q, env.s);
}

void gated_forward(const OpEnv& env, const LinearDims& d, const GateShape& sh, float scale, const float* x,
                   const float* ag, const float* omega_a, const float* q, float* hz, float* g, float* y) {
  const int64_t K = sh.N * sh.r, ldhz = sh.ldhz();
  gemm(env, false, true, d.T, ldhz, d.d_in, 1.0f, x, d.d_in, ag, d.d_in, 0.0f, hz, ldhz);  // [h|z] = x [A;W_g]ᵀ
  Scratch p(env.alloc, env.s, d.T * K);
  env.be.gate_forward(sh, hz, omega_a, g, p.get(), env.s);                             // g, P
  gemm(env, false, true, d.T, d.d_out, K, scale, p.get(), K, q, K, 1.0f, y, d.d_out);  // y += s P Qᵀ
}

void gated_backward(const OpEnv& env, const LinearDims& d, const GateShape& sh, float scale, const float* x,
                    const float* ag, const float* omega_a, const float* q, const float* hz, float* g, const float* dy,
                    float* dag, float* domega_a, float* dq_out, float dq_beta, float* dx) {
  const int64_t K = sh.N * sh.r, ldhz = sh.ldhz();
  // P is cheaper to rebuild than to keep (T×N·r vs the saved T×(R+N)); g is rewritten bit-identically.
  Scratch p(env.alloc, env.s, d.T * K);
  env.be.gate_forward(sh, hz, omega_a, g, p.get(), env.s);
  Scratch dp(env.alloc, env.s, d.T * K);
  gemm(env, false, false, d.T, K, d.d_out, scale, dy, d.d_out, q, K, 0.0f, dp.get(), K);        // dP = s dy Q
  gemm(env, true, false, d.d_out, K, d.T, scale, dy, d.d_out, p.get(), K, dq_beta, dq_out, K);  // dQ = s dyᵀ P
  Scratch dhz(env.alloc, env.s, d.T * ldhz);
  env.be.gate_backward(sh, hz, g, omega_a, dp.get(), dhz.get(), domega_a, env.s);                  // [dh|dz], dω_A
  gemm(env, true, false, ldhz, d.d_in, d.T, 1.0f, dhz.get(), ldhz, x, d.d_in, 1.0f, dag, d.d_in);  // d[A;W_g] += ..ᵀ x
  if (dx != nullptr)
    gemm(env, false, false, d.T, d.d_in, ldhz, 1.0f, dhz.get(), ldhz, ag, d.d_in, 1.0f, dx,
         d.d_in);  // dx += ..·[A;W_g]
}

void dora_forward(const OpEnv& env, const LinearDims& d, int64_t r, float scale, const float* x, const void* w,
                  mor_dtype w_type, const float* w_norm2, const float* a, const float* b, const float* m, float* h,
                  float* norm, float* base_u, float* y) {
  // ‖W_j + s(BA)_j‖² = ‖W_j‖² + 2s·B_j·(W Aᵀ)_j + s²·B_j (A Aᵀ) B_jᵀ: no d_out×d_in temporary.
  Scratch wat(env.alloc, env.s, d.d_out * r);
  Scratch gram(env.alloc, env.s, r * r);
  gemm(env, false, true, d.d_out, r, d.d_in, 1.0f, w, w_type, d.d_in, a, MOR_DTYPE_F32, d.d_in, 0.0f, wat.get(), r);
  gemm(env, false, true, r, r, d.d_in, 1.0f, a, d.d_in, a, d.d_in, 0.0f, gram.get(), r);
  env.be.dora_norm(d.d_out, r, scale, w_norm2, b, wat.get(), gram.get(), norm, env.s);
  lora_forward(env, d, r, scale, x, a, b, h, base_u);  // u = W x + s B A x
  env.be.dora_scale_forward(d.T, d.d_out, m, norm, base_u, y, env.s);
}

void dora_backward(const OpEnv& env, const LinearDims& d, int64_t r, float scale, const float* x, const void* w,
                   mor_dtype w_type, const float* a, const float* b, const float* m, const float* h, const float* norm,
                   const float* u, const float* dy, float* dm, float* da, float* db, float* dx) {
  Scratch du(env.alloc, env.s, d.T * d.d_out);
  env.be.dora_scale_backward(d.T, d.d_out, m, norm, u, dy, du.get(), dm, env.s);
  lora_backward(env, d, r, scale, x, a, b, h, du.get(), da, db, dx);
  if (dx != nullptr)  // frozen path: dx += du·W
    gemm(env, false, false, d.T, d.d_in, d.d_out, 1.0f, du.get(), MOR_DTYPE_F32, d.d_out, w, w_type, d.d_in, 1.0f, dx,
         d.d_in);
}

}  // namespace mor
