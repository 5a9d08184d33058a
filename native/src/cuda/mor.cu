// The gated rank expansion of MOR.md §2–§3, shared by MoR (one h for all experts, ω_A) and dense
// MoE-LoRA (expert i owns h columns i·r..i·r+r-1, no ω_A), plus the Q build and dQ reduction of MoR.
//
// Layouts: hz is T×(R+N) (ld R+N) holding [h | z]; g is T×N; P and dP are T×K with K = N·r and
// column i·r+k; Q and dQ are d_out×K; B is d_out×r; ω_A is N×r; ω_B is N×d_out.
// Launch shapes: one warp per token (gate kernels) or per output row (Q kernels), 8 warps a block.
//
// These kernels move a few MB each, so they are latency-bound rather than bandwidth-bound: the
// designs keep the dependent global round trips per warp to a minimum (a token's g lives in shared
// memory, h and ω_B are fetched up front and broadcast with shuffles, loops are unrolled so that
// independent loads are in flight together).
#include "cuda/kernel_common.cuh"
#include "cuda/kernels.h"

namespace mor::cuda {

namespace {

// Each warp keeps its token's g (and dg) in shared memory; this bounds N for the CUDA kernels.
constexpr int kMaxExperts = 512;
// dω_A columns per shared-memory tile of the fused backward (one column per thread).
constexpr int kTile = kThreads;

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
  if (d.N > kMaxExperts)
    fail(MOR_ERR_NOT_SUPPORTED,
         "the CUDA gate kernels take at most " + std::to_string(kMaxExperts) + " experts, got " + std::to_string(d.N));
  return d;
}

// g = softmax(z) (max-subtracted, then one reciprocal, as the CPU backend does) and
// P[t,(i,k)] = g_i·ω_A[i,k]·h[t,hidx]. One warp per token; dynamic shared memory: 8·N floats.
__global__ void gate_forward_kernel(GateDims d, const float* __restrict__ hz, const float* __restrict__ omega_a,
                                    float* __restrict__ g, float* __restrict__ p) {
  extern __shared__ float smem[];
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int64_t t = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + warp;
  if (t >= d.T) return;  // uniform per warp; no block-wide barrier follows
  float* s_g = smem + warp * d.N;
  const float* h = hz + t * d.ld;
  const float* z = h + d.R;
  // A shared h of rank <= 32 is one value per lane: load it now, overlapping the softmax below.
  const bool h_in_reg = d.shared && d.r <= 32;
  const float h_reg = h_in_reg && lane < d.r ? h[lane] : 0.0f;
  float zmax = -INFINITY;
  for (int i = lane; i < d.N; i += 32) zmax = fmaxf(zmax, z[i]);
  zmax = warp_max(zmax);
  float sum = 0.0f;
  for (int i = lane; i < d.N; i += 32) sum += expf(z[i] - zmax);
  sum = warp_sum(sum);
  const float inv = 1.0f / sum;
  float* gt = g + t * d.N;
  for (int i = lane; i < d.N; i += 32) {
    const float v = expf(z[i] - zmax) * inv;
    gt[i] = v;
    s_g[i] = v;
  }
  __syncwarp();
  float* pt = p + t * d.K;
#pragma unroll 4
  for (int c0 = 0; c0 < d.K; c0 += 32) {  // warp-uniform trip count: every lane reaches the shuffle
    const int c = c0 + lane;
    const int cc = c < d.K ? c : d.K - 1;
    const int i = cc / d.r, k = cc - i * d.r;
    const float hr = __shfl_sync(0xffffffffu, h_reg, k & 31);
    const float hv = h_in_reg ? hr : h[d.shared ? k : cc];
    const float w = omega_a != nullptr ? omega_a[cc] : 1.0f;
    if (c < d.K) pt[c] = s_g[i] * w * hv;
  }
}

// Per token, from dP: dh (shared: Σ_i dP·g_i·ω_A; MoE: dP·g_i), dg_i = Σ_k dP·ω_A·h and the softmax
// backward dz = g⊙(dg − Σ_l g_l dg_l). One warp per token.
//
// With `partial` set it also does phase 1 of dω_A: partial[block, c] = Σ over the block's 8 tokens
// (in token order) of dP[t,c]·g[t,i]·h[t,hidx], through a shared-memory tile of kTile columns.
// The chunk is the block (8 tokens), a constant of the algorithm: dω_A's bits depend only on T.
// Dynamic shared memory: 8·2N floats (+ 8·kTile with `partial`).
__global__ void gate_backward_kernel(GateDims d, const float* __restrict__ hz, const float* __restrict__ g,
                                     const float* __restrict__ omega_a, const float* __restrict__ dp,
                                     float* __restrict__ dhz, float* __restrict__ partial) {
  extern __shared__ float smem[];
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int64_t t_raw = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + warp;
  const bool active = t_raw < d.T;
  const int64_t t = active ? t_raw : 0;  // inactive warps only feed zeros into the dω_A tile
  float* s_g = smem + warp * 2 * d.N;
  float* s_dg = s_g + d.N;
  const float* h = hz + t * d.ld;
  const float* dpt = dp + t * d.K;
  const bool h_in_reg = d.shared && d.r <= 32;
  if (active) {
    // Every global load this warp needs is requested before the first one is used: g, h and the
    // dP row (through the unrolled dg loop) share one memory latency; the dh pass re-reads dP from L1.
    const float h_reg = h_in_reg && lane < d.r ? h[lane] : 0.0f;
    const float* gt = g + t * d.N;
    const float g_first = lane < d.N ? gt[lane] : 0.0f;
#pragma unroll 8
    for (int i = 0; i < d.N; ++i) {
      float s = 0.0f;
      for (int k = lane; k < d.r; k += 32) {  // with h_in_reg this is the single k = lane
        const int c = i * d.r + k;
        const float hv = h_in_reg ? h_reg : h[d.shared ? k : c];
        s += dpt[c] * (omega_a != nullptr ? omega_a[c] : 1.0f) * hv;
      }
      s = warp_sum(s);
      if (lane == 0) s_dg[i] = s;
    }
    for (int i = lane; i < d.N; i += 32) s_g[i] = i < 32 ? g_first : gt[i];
    __syncwarp();
    float* dh = dhz + t * d.ld;
    float* dz = dh + d.R;
    if (d.shared) {
      for (int k = lane; k < d.r; k += 32) {
        float acc = 0.0f;
#pragma unroll 8
        for (int i = 0; i < d.N; ++i) {
          const int c = i * d.r + k;
          acc += dpt[c] * s_g[i] * (omega_a != nullptr ? omega_a[c] : 1.0f);
        }
        dh[k] = acc;
      }
    } else {
#pragma unroll 4
      for (int c = lane; c < d.K; c += 32) dh[c] = dpt[c] * s_g[c / d.r];
    }
    float dot = 0.0f;
    for (int i = lane; i < d.N; i += 32) dot += s_g[i] * s_dg[i];
    dot = warp_sum(dot);
    for (int i = lane; i < d.N; i += 32) dz[i] = s_g[i] * (s_dg[i] - dot);
  }
  if (partial == nullptr) return;  // a kernel argument: uniform over the block
  float* s_tile = smem + kWarpsPerBlock * 2 * d.N;
  for (int c0 = 0; c0 < d.K; c0 += kTile) {
    for (int cl = lane; cl < kTile; cl += 32) {
      const int c = c0 + cl;
      float v = 0.0f;
      if (active && c < d.K) {
        const int i = c / d.r, k = c - i * d.r;
        v = dpt[c] * s_g[i] * h[d.shared ? k : c];
      }
      s_tile[warp * kTile + cl] = v;
    }
    __syncthreads();
    const int c = c0 + static_cast<int>(threadIdx.x);
    if (c < d.K) {
      float acc = 0.0f;
#pragma unroll
      for (int w = 0; w < kWarpsPerBlock; ++w) acc += s_tile[w * kTile + threadIdx.x];
      partial[static_cast<int64_t>(blockIdx.x) * d.K + c] = acc;
    }
    __syncthreads();
  }
}

// Phase 2 of dω_A: one warp per ω_A element; lanes take chunks lane, lane+32, … in order, a
// butterfly combines them, and the total is ADDED to dω_A.
__global__ void domega_a_finish_kernel(int K, int64_t chunks, const float* __restrict__ partial,
                                       float* __restrict__ domega_a) {
  const int lane = threadIdx.x & 31;
  const int64_t c = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + (threadIdx.x >> 5);
  if (c >= K) return;
  float s = 0.0f;
#pragma unroll 4
  for (int64_t q = lane; q < chunks; q += 32) s += partial[q * K + c];
  s = warp_sum(s);
  if (lane == 0) domega_a[c] += s;
}

// Lane l of the warp gets m[i0 + l, j] of an N×d_out matrix (ω_B or dω_B); the loops below
// broadcast it with a shuffle.
__device__ __forceinline__ float expert_lane(const float* m, int64_t d_out, int64_t j, int i0, int N, int lane) {
  return i0 + lane < N ? m[static_cast<int64_t>(i0 + lane) * d_out + j] : 0.0f;
}

// Q[j,(i,k)] = ω_B[i,j]·B[j,k]. One warp per row j; lanes over k, so a row is written in r-wide runs.
__global__ void build_q_kernel(int64_t d_out, int r, int N, const float* __restrict__ b,
                               const float* __restrict__ omega_b, float* __restrict__ q) {
  const int lane = threadIdx.x & 31;
  const int64_t j = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + (threadIdx.x >> 5);
  if (j >= d_out) return;
  const float* bj = b + j * r;
  float* qj = q + j * static_cast<int64_t>(N) * r;
  for (int k0 = 0; k0 < r; k0 += 32) {
    const int k = k0 + lane;
    const bool valid = k < r;
    const float bk = valid ? bj[k] : 0.0f;
    for (int i0 = 0; i0 < N; i0 += 32) {
      const float w_lane = expert_lane(omega_b, d_out, j, i0, N, lane);
      const int n = N - i0 < 32 ? N - i0 : 32;
#pragma unroll 8
      for (int ii = 0; ii < n; ++ii) {
        const float w = __shfl_sync(0xffffffffu, w_lane, ii);
        if (valid) qj[(i0 + ii) * r + k] = w * bk;
      }
    }
  }
}

// dB[j,k] += Σ_i dQ[j,(i,k)]·ω_B[i,j] (per lane, i in order);
// dω_B[i,j] += Σ_k dQ[j,(i,k)]·B[j,k] (lanes over k, butterfly). One warp per row j.
__global__ void reduce_dq_kernel(int64_t d_out, int r, int N, const float* __restrict__ dq, const float* __restrict__ b,
                                 const float* __restrict__ omega_b, float* __restrict__ db,
                                 float* __restrict__ domega_b) {
  const int lane = threadIdx.x & 31;
  const int64_t j = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + (threadIdx.x >> 5);
  if (j >= d_out) return;
  const float* dqj = dq + j * static_cast<int64_t>(N) * r;
  const float* bj = b + j * r;
  // The first round's ω_B column and dω_B values are requested up front, alongside the dQ row, so
  // that (for r <= 32 and N <= 32, a single round each) one memory latency covers every load.
  const float w_first = expert_lane(omega_b, d_out, j, 0, N, lane);
  const float dob_first = expert_lane(domega_b, d_out, j, 0, N, lane);
  for (int k0 = 0; k0 < r; k0 += 32) {
    const int k = k0 + lane;
    const bool valid = k < r;
    const float db_old = valid ? db[j * r + k] : 0.0f;
    float acc = 0.0f;
    for (int i0 = 0; i0 < N; i0 += 32) {
      const float w_lane = i0 == 0 ? w_first : expert_lane(omega_b, d_out, j, i0, N, lane);
      const int n = N - i0 < 32 ? N - i0 : 32;
#pragma unroll 8
      for (int ii = 0; ii < n; ++ii) {
        const float w = __shfl_sync(0xffffffffu, w_lane, ii);
        const float v = valid ? dqj[(i0 + ii) * r + k] : 0.0f;
        acc += v * w;
      }
    }
    if (valid) db[j * r + k] = db_old + acc;
  }
  for (int i0 = 0; i0 < N; i0 += 32) {
    const int n = N - i0 < 32 ? N - i0 : 32;
    const float dob_old = i0 == 0 ? dob_first : expert_lane(domega_b, d_out, j, i0, N, lane);
    float mine = 0.0f;  // lane ii ends with the sum of expert i0 + ii
#pragma unroll 4
    for (int ii = 0; ii < n; ++ii) {
      float s = 0.0f;
      for (int k = lane; k < r; k += 32) s += dqj[(i0 + ii) * r + k] * bj[k];
      s = warp_sum(s);
      if (lane == ii) mine = s;
    }
    if (lane < n) domega_b[static_cast<int64_t>(i0 + lane) * d_out + j] = dob_old + mine;
  }
}

int64_t backward_chunks(int64_t T) { return (T + kWarpsPerBlock - 1) / kWarpsPerBlock; }

}  // namespace

void gate_forward(const Launch& l, const GateShape& sh, const float* hz, const float* omega_a, float* g, float* p) {
  if (sh.T <= 0) return;
  const GateDims d = gate_dims(sh);
  const size_t shmem = static_cast<size_t>(kWarpsPerBlock) * d.N * sizeof(float);
  gate_forward_kernel<<<blocks_for(d.T, kWarpsPerBlock, "gate_forward"), kThreads, shmem, l.stream>>>(d, hz, omega_a, g,
                                                                                                      p);
  l.check("gate_forward kernel");
}

size_t gate_backward_scratch_bytes(const GateShape& sh) {
  return static_cast<size_t>(backward_chunks(sh.T)) * static_cast<size_t>(sh.N * sh.r) * sizeof(float);
}

void gate_backward(const Launch& l, const GateShape& sh, const float* hz, const float* g, const float* omega_a,
                   const float* dp, float* dhz, float* domega_a, float* scratch) {
  if (sh.T <= 0) return;  // dhz is empty and dω_A gains nothing
  const GateDims d = gate_dims(sh);
  float* partial = domega_a != nullptr ? scratch : nullptr;
  const size_t shmem =
      static_cast<size_t>(kWarpsPerBlock) * (2 * d.N + (partial != nullptr ? kTile : 0)) * sizeof(float);
  const unsigned blocks = blocks_for(d.T, kWarpsPerBlock, "gate_backward");
  gate_backward_kernel<<<blocks, kThreads, shmem, l.stream>>>(d, hz, g, omega_a, dp, dhz, partial);
  l.check("gate_backward kernel");
  if (partial == nullptr) return;
  domega_a_finish_kernel<<<blocks_for(d.K, kWarpsPerBlock, "gate_backward"), kThreads, 0, l.stream>>>(
      d.K, backward_chunks(d.T), partial, domega_a);
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
