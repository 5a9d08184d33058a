// The gated rank expansion of MOR.md §2–§3, shared by MoR (one h for all experts, ω_A) and dense
// MoE-LoRA (expert i owns h columns i·r..i·r+r-1, no ω_A), plus the Q build and dQ reduction of MoR.
//
// Layouts: hz is T×(R+N) (ld R+N) holding [h | z]; g is T×N; P and dP are T×K with K = N·r and
// column i·r+k; Q and dQ are d_out×K; B is d_out×r; ω_A is N×r; ω_B is N×d_out.
// Launch shapes: one warp per token (gate kernels) or per output row (Q kernels), 8 warps a block.
#include "cuda/kernel_common.cuh"
#include "cuda/kernels.h"

namespace mor::cuda {

namespace {

// Tokens per partial sum of the two-phase dω_A reduction. A constant of the algorithm, not of the
// GPU: the summation order (and so every bit of dω_A) depends only on T.
constexpr int64_t kTokenChunk = 32;

struct GateDims {
  int64_t T;
  int N, r, R, ld, K;  // experts, rank, h columns, hz leading dimension, N·r
  bool shared;         // MoR: h index k; MoE-LoRA: h index i·r+k
};

GateDims gate_dims(const GateShape& sh) {
  GateDims d;
  d.T = sh.T;
  d.N = checked_int(sh.N, "experts N");
  d.r = checked_int(sh.r, "rank r");
  d.K = checked_int(sh.N * sh.r, "N·r");
  d.R = checked_int(sh.R(), "h columns");
  d.ld = checked_int(sh.ldhz(), "hz columns");
  d.shared = sh.h_shared;
  return d;
}

// g = softmax(z) (max-subtracted, then one reciprocal, as the CPU backend does) and
// P[t,(i,k)] = g_i·ω_A[i,k]·h[t,hidx]. One warp per token.
__global__ void gate_forward_kernel(GateDims d, const float* __restrict__ hz, const float* __restrict__ omega_a,
                                    float* g, float* __restrict__ p) {
  const int lane = threadIdx.x & 31;
  const int64_t t = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + (threadIdx.x >> 5);
  if (t >= d.T) return;  // uniform per warp
  const float* h = hz + t * d.ld;
  const float* z = h + d.R;
  float zmax = -INFINITY;
  for (int i = lane; i < d.N; i += 32) zmax = fmaxf(zmax, z[i]);
  zmax = warp_max(zmax);
  float sum = 0.0f;
  for (int i = lane; i < d.N; i += 32) sum += expf(z[i] - zmax);
  sum = warp_sum(sum);
  const float inv = 1.0f / sum;
  float* gt = g + t * d.N;
  for (int i = lane; i < d.N; i += 32) gt[i] = expf(z[i] - zmax) * inv;
  __syncwarp();  // orders the g stores above before other lanes read them below
  float* pt = p + t * d.K;
  for (int c = lane; c < d.K; c += 32) {
    const int i = c / d.r, k = c - i * d.r;
    const float w = omega_a != nullptr ? omega_a[c] : 1.0f;
    pt[c] = gt[i] * w * h[d.shared ? k : c];
  }
}

// Per token, from dP: dh (shared: Σ_i dP·g_i·ω_A; MoE: dP·g_i), dg_i = Σ_k dP·ω_A·h and the softmax
// backward dz = g⊙(dg − Σ_l g_l dg_l). dg is parked in the dz slots; each lane reads back only the
// slots it wrote itself. One warp per token.
__global__ void gate_backward_token_kernel(GateDims d, const float* __restrict__ hz, const float* __restrict__ g,
                                           const float* __restrict__ omega_a, const float* __restrict__ dp,
                                           float* dhz) {
  const int lane = threadIdx.x & 31;
  const int64_t t = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + (threadIdx.x >> 5);
  if (t >= d.T) return;
  const float* h = hz + t * d.ld;
  const float* gt = g + t * d.N;
  const float* dpt = dp + t * d.K;
  float* dh = dhz + t * d.ld;
  float* dz = dh + d.R;
  if (d.shared) {
    for (int k = lane; k < d.r; k += 32) {
      float acc = 0.0f;
      for (int i = 0; i < d.N; ++i) {
        const int c = i * d.r + k;
        acc += dpt[c] * gt[i] * (omega_a != nullptr ? omega_a[c] : 1.0f);
      }
      dh[k] = acc;
    }
  } else {
    for (int c = lane; c < d.K; c += 32) dh[c] = dpt[c] * gt[c / d.r];
  }
  for (int i = 0; i < d.N; ++i) {
    float s = 0.0f;
    for (int k = lane; k < d.r; k += 32) {
      const int c = i * d.r + k;
      s += dpt[c] * (omega_a != nullptr ? omega_a[c] : 1.0f) * h[d.shared ? k : c];
    }
    s = warp_sum(s);
    if (lane == (i & 31)) dz[i] = s;
  }
  float dot = 0.0f;
  for (int i = lane; i < d.N; i += 32) dot += gt[i] * dz[i];
  dot = warp_sum(dot);
  for (int i = lane; i < d.N; i += 32) dz[i] = gt[i] * (dz[i] - dot);
}

// Phase 1 of dω_A: partial[chunk, c] = Σ_{t in chunk, in order} dP[t,c]·g[t,i]·h[t,hidx].
// Grid (chunks, ceil(K/256)); thread per column c, reading one dP row per token (coalesced).
__global__ void domega_a_partial_kernel(GateDims d, const float* __restrict__ hz, const float* __restrict__ g,
                                        const float* __restrict__ dp, float* __restrict__ partial) {
  const int c = blockIdx.y * blockDim.x + threadIdx.x;
  if (c >= d.K) return;
  const int i = c / d.r, k = c - i * d.r;
  const int hidx = d.shared ? k : c;
  const int64_t t0 = static_cast<int64_t>(blockIdx.x) * kTokenChunk;
  const int64_t t1 = t0 + kTokenChunk < d.T ? t0 + kTokenChunk : d.T;
  float acc = 0.0f;
#pragma unroll 8
  for (int64_t t = t0; t < t1; ++t) acc += dp[t * d.K + c] * g[t * d.N + i] * hz[t * d.ld + hidx];
  partial[static_cast<int64_t>(blockIdx.x) * d.K + c] = acc;
}

// Phase 2: one warp per ω_A element; lanes take chunks lane, lane+32, … in order, a butterfly
// combines them, and the total is ADDED to dω_A.
__global__ void domega_a_finish_kernel(int K, int64_t chunks, const float* __restrict__ partial,
                                       float* __restrict__ domega_a) {
  const int lane = threadIdx.x & 31;
  const int64_t c = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + (threadIdx.x >> 5);
  if (c >= K) return;
  float s = 0.0f;
  for (int64_t q = lane; q < chunks; q += 32) s += partial[q * K + c];
  s = warp_sum(s);
  if (lane == 0) domega_a[c] += s;
}

// Q[j,(i,k)] = ω_B[i,j]·B[j,k]. One warp per row j; lanes over k, so a row is written in r-wide runs.
__global__ void build_q_kernel(int64_t d_out, int r, int N, const float* __restrict__ b,
                               const float* __restrict__ omega_b, float* __restrict__ q) {
  const int lane = threadIdx.x & 31;
  const int64_t j = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + (threadIdx.x >> 5);
  if (j >= d_out) return;
  const float* bj = b + j * r;
  float* qj = q + j * static_cast<int64_t>(N) * r;
  for (int i = 0; i < N; ++i) {
    const float w = omega_b[static_cast<int64_t>(i) * d_out + j];
    for (int k = lane; k < r; k += 32) qj[i * r + k] = w * bj[k];
  }
}

// dB[j,k] += Σ_i dQ[j,(i,k)]·ω_B[i,j] (per lane, i in order);
// dω_B[i,j] += Σ_k dQ[j,(i,k)]·B[j,k] (lanes over k, butterfly). One warp per row j.
__global__ void reduce_dq_kernel(int64_t d_out, int r, int N, const float* __restrict__ dq,
                                 const float* __restrict__ b, const float* __restrict__ omega_b,
                                 float* __restrict__ db, float* __restrict__ domega_b) {
  const int lane = threadIdx.x & 31;
  const int64_t j = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + (threadIdx.x >> 5);
  if (j >= d_out) return;
  const float* dqj = dq + j * static_cast<int64_t>(N) * r;
  const float* bj = b + j * r;
  for (int k = lane; k < r; k += 32) {
    float s = 0.0f;
    for (int i = 0; i < N; ++i) s += dqj[i * r + k] * omega_b[static_cast<int64_t>(i) * d_out + j];
    db[j * r + k] += s;
  }
  for (int i = 0; i < N; ++i) {
    float s = 0.0f;
    for (int k = lane; k < r; k += 32) s += dqj[i * r + k] * bj[k];
    s = warp_sum(s);
    if (lane == 0) domega_b[static_cast<int64_t>(i) * d_out + j] += s;
  }
}

int64_t token_chunks(int64_t T) { return (T + kTokenChunk - 1) / kTokenChunk; }

}  // namespace

void gate_forward(const Launch& l, const GateShape& sh, const float* hz, const float* omega_a, float* g, float* p) {
  if (sh.T <= 0) return;
  const GateDims d = gate_dims(sh);
  gate_forward_kernel<<<blocks_for(d.T, kWarpsPerBlock, "gate_forward"), kThreads, 0, l.stream>>>(d, hz, omega_a, g,
                                                                                                  p);
  l.check("gate_forward kernel");
}

size_t gate_backward_scratch_bytes(const GateShape& sh) {
  return static_cast<size_t>(token_chunks(sh.T)) * static_cast<size_t>(sh.N * sh.r) * sizeof(float);
}

void gate_backward(const Launch& l, const GateShape& sh, const float* hz, const float* g, const float* omega_a,
                   const float* dp, float* dhz, float* domega_a, float* scratch) {
  if (sh.T <= 0) return;  // dhz is empty and dω_A gains nothing
  const GateDims d = gate_dims(sh);
  gate_backward_token_kernel<<<blocks_for(d.T, kWarpsPerBlock, "gate_backward"), kThreads, 0, l.stream>>>(
      d, hz, g, omega_a, dp, dhz);
  l.check("gate_backward token kernel");
  if (domega_a == nullptr) return;
  const int64_t chunks = token_chunks(d.T);
  if (chunks > INT_MAX) fail(MOR_ERR_NOT_SUPPORTED, "gate_backward: too many tokens for the CUDA grid");
  const unsigned col_blocks = blocks_for(d.K, kThreads, "gate_backward");
  if (col_blocks > 65535) fail(MOR_ERR_NOT_SUPPORTED, "gate_backward: N·r exceeds the CUDA grid limit");
  domega_a_partial_kernel<<<dim3(static_cast<unsigned>(chunks), col_blocks), kThreads, 0, l.stream>>>(d, hz, g, dp,
                                                                                                      scratch);
  l.check("gate_backward dω_A partial-sum kernel");
  domega_a_finish_kernel<<<blocks_for(d.K, kWarpsPerBlock, "gate_backward"), kThreads, 0, l.stream>>>(
      d.K, chunks, scratch, domega_a);
  l.check("gate_backward dω_A final-sum kernel");
}

void build_q(const Launch& l, int64_t d_out, int64_t r, int64_t N, const float* b, const float* omega_b, float* q) {
  if (d_out <= 0) return;
  checked_int(N * r, "N·r");
  build_q_kernel<<<blocks_for(d_out, kWarpsPerBlock, "build_q"), kThreads, 0, l.stream>>>(
      d_out, static_cast<int>(r), static_cast<int>(N), b, omega_b, q);
  l.check("build_q kernel");
}

void reduce_dq(const Launch& l, int64_t d_out, int64_t r, int64_t N, const float* dq, const float* b,
               const float* omega_b, float* db, float* domega_b) {
  if (d_out <= 0) return;
  checked_int(N * r, "N·r");
  reduce_dq_kernel<<<blocks_for(d_out, kWarpsPerBlock, "reduce_dq"), kThreads, 0, l.stream>>>(
      d_out, static_cast<int>(r), static_cast<int>(N), dq, b, omega_b, db, domega_b);
  l.check("reduce_dq kernel");
}

}  // namespace mor::cuda
