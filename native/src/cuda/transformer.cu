// CUDA transformer ops: RMSNorm, RoPE, flash-style causal GQA attention, SwiGLU, embedding, fused
// cross-entropy, AdamW and the reductions. Semantics are those of the CPU reference
// (cpu/cpu_transformer.cpp); every backward ACCUMULATES into its outputs.
//
// Launch shapes
//  - rmsnorm forward / dx: one warp per token row (8 rows a block). rmsnorm dw: 256-column tiles ×
//    64-token chunks write partials, then one thread per column sums the chunks in order.
//  - rope: one thread per (token, frequency); cos/sin in double, applied to every head of the row.
//  - attention: 256 threads as a 16×16 grid; F32 FMA math, tiles in shared memory (rows padded by 4
//    floats: conflict-free 16-byte accesses), online softmax, no T×T matrix. The head dimension is
//    padded (zeros) to DP ∈ {64, 128, 256}. With reduced precision allowed, head_dim 64/128 problems
//    go to the BF16 tensor-core kernels instead (attention_mma.cu; D_i still comes from here).
//      forward: block = (64-query tile, q head, batch); 64-key tiles. Thread (ty, tx) owns queries
//        ty+16i (i < 4) and keys tx+16j of a tile, and output columns 64g+4tx..+3.
//      backward: D_i = dout·out (warp per row) into scratch; then dK/dV with block = (key tile, kv
//        head, batch) looping over its q heads and 32-query tiles in order, and dQ with block =
//        (query tile, q head, batch) looping over 32-key tiles in order. Each gradient element is
//        owned by one thread that accumulates in registers and adds to memory once.
//  - embedding backward: stable radix sort of (id, token) (cub), then one block per (equal-id segment,
//    256-column tile) adds the segment's rows in token order: the CPU's order, bit for bit.
//  - cross-entropy: one 256-thread block per row. sum_squares: double partials per 4096 elements,
//    then one block sums them in order.
// Determinism: no atomics anywhere; every reduction order is a function of the shapes only.
#include <cmath>
#include <cub/cub.cuh>
#include <string>

#include "common/dropout_hash.h"
#include "common/float16.h"
#include "cuda/attention_mma.h"
#include "cuda/kernel_common.cuh"
#include "cuda/transformer_kernels.h"

namespace mor::cuda {

namespace {

constexpr int64_t kTokenChunk = 64;     // rows per partial sum of the rmsnorm dw reduction (as the CPU)
constexpr int64_t kReduceChunk = 4096;  // elements per double partial of sum_squares (as the CPU)
constexpr int kMaxHeadDim = 256;

bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15u) == 0; }
size_t align_up(size_t v, size_t a) { return (v + a - 1) / a * a; }

unsigned row_grid(int64_t rows, int64_t cap = int64_t{1} << 20) {
  return static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>(rows, cap)));
}

// ---- block reductions (blockDim.x == kThreads) ----------------------------------------------------
// Warp butterflies, then every warp combines the kWarpsPerBlock partials the same way, so every
// thread returns the same, deterministic value. `red` holds kWarpsPerBlock values; the trailing
// barrier lets the caller reuse it at once.
__device__ double block_sum(double v, double* red) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warp_sum(v);
  if (lane == 0) red[warp] = v;
  __syncthreads();
  double t = lane < kWarpsPerBlock ? red[lane] : 0.0;
  t = warp_sum(t);
  __syncthreads();
  return t;
}

__device__ float block_max(float v, float* red) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warp_max(v);
  if (lane == 0) red[warp] = v;
  __syncthreads();
  float t = lane < kWarpsPerBlock ? red[lane] : -INFINITY;
  t = warp_max(t);
  __syncthreads();
  return t;
}

// ---- RMSNorm --------------------------------------------------------------------------------------

__global__ void rmsnorm_forward_kernel(int64_t T, int64_t C, float eps, const float* x, const float* __restrict__ w,
                                       float* y, float* __restrict__ rstd) {
  const int lane = threadIdx.x & 31;
  const int64_t t = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + (threadIdx.x >> 5);
  if (t >= T) return;  // uniform per warp
  const float* xt = x + t * C;
  float ss = 0.0f;
  for (int64_t c = lane; c < C; c += 32) ss += xt[c] * xt[c];
  ss = warp_sum(ss);
  const float r = 1.0f / sqrtf(ss / static_cast<float>(C) + eps);
  if (lane == 0) rstd[t] = r;
  float* yt = y + t * C;
  for (int64_t c = lane; c < C; c += 32) yt[c] = xt[c] * r * w[c];
}

// dx += w⊙dy·r − x·(Σ w dy x)·r³/C. One warp per row.
__global__ void rmsnorm_backward_dx_kernel(int64_t T, int64_t C, const float* __restrict__ x,
                                           const float* __restrict__ w, const float* __restrict__ rstd,
                                           const float* __restrict__ dy, float* __restrict__ dx) {
  const int lane = threadIdx.x & 31;
  const int64_t t = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + (threadIdx.x >> 5);
  if (t >= T) return;
  const float *xt = x + t * C, *dyt = dy + t * C;
  float* dxt = dx + t * C;
  const float r = rstd[t];
  float wdx = 0.0f;
  for (int64_t c = lane; c < C; c += 32) wdx += w[c] * dyt[c] * xt[c];
  wdx = warp_sum(wdx);
  const float k = wdx * r * r * r / static_cast<float>(C);
  for (int64_t c = lane; c < C; c += 32) dxt[c] += w[c] * dyt[c] * r - xt[c] * k;
}

// partial[ch, c] = Σ_{t in chunk ch, in order} dy·x·r. Grid (column tiles, chunks, grid-stride).
__global__ void rmsnorm_dw_partial_kernel(int64_t T, int64_t C, const float* __restrict__ x,
                                          const float* __restrict__ rstd, const float* __restrict__ dy,
                                          float* __restrict__ partial) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= C) return;
  const int64_t chunks = (T + kTokenChunk - 1) / kTokenChunk;
  for (int64_t ch = blockIdx.y; ch < chunks; ch += gridDim.y) {
    const int64_t t1 = (ch + 1) * kTokenChunk < T ? (ch + 1) * kTokenChunk : T;
    float acc = 0.0f;
    for (int64_t t = ch * kTokenChunk; t < t1; ++t) acc += dy[t * C + c] * x[t * C + c] * rstd[t];
    partial[ch * C + c] = acc;
  }
}

// dw[c] += partial[0, c], += partial[1, c], ...: the CPU's order.
__global__ void rmsnorm_dw_finish_kernel(int64_t C, int64_t chunks, const float* __restrict__ partial,
                                         float* __restrict__ dw) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= C) return;
  float s = dw[c];
  for (int64_t ch = 0; ch < chunks; ++ch) s += partial[ch * C + c];
  dw[c] = s;
}

// ---- RoPE -------------------------------------------------------------------------------------------

__global__ void rope_kernel(int64_t T, int64_t H, int64_t D, float* x, int64_t ld,
                            const int32_t* __restrict__ positions, const float* __restrict__ inv_freq, float sign) {
  const int64_t half = D / 2, total = T * half;
  for (int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; idx < total;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t t = idx / half, i = idx - t * half;
    // F32 product as HF computes freqs; cos/sin in double so large positions stay accurate.
    const float angle = __fmul_rn(static_cast<float>(positions[t]), inv_freq[i]);
    double sd, cd;
    sincos(static_cast<double>(angle), &sd, &cd);
    const float cs = static_cast<float>(cd);
    const float sn = static_cast<float>(sd) * sign;
    float* row = x + t * ld + i;
    for (int64_t h = 0; h < H; ++h) {
      float* v = row + h * D;
      const float a = v[0], b = v[half];
      v[0] = a * cs - b * sn;
      v[half] = b * cs + a * sn;
    }
  }
}

// ---- attention --------------------------------------------------------------------------------------

struct AttnDims {
  int q_len, kv_len, q_heads, kv_heads, group, D, off;  // off = kv_len − q_len
  int64_t q_row_stride, kv_row_stride, kv_batch_stride;
  float scale;
  bool causal;
  bool vec;  // D % 4 == 0, strides % 4 == 0 and every base 16-byte aligned: float4 global accesses
};

constexpr int kAttnThreads = 256;  // a 16×16 thread grid

template <int DP>
struct FwdCfg {
  static constexpr int BQ = 64, BK = 64, LD = DP + 4, PLD = BQ + 4, NC = DP / 64;
  static constexpr size_t bytes = sizeof(float) * (static_cast<size_t>(BQ) * LD + BK * LD + BK * PLD);
};

template <int DP, int KPT>
struct KvCfg {  // dK/dV kernel
  static constexpr int BK = 16 * KPT, BQ = 32, LD = DP + 4, PLD = BK + 4, NC = DP / 64;
  static constexpr size_t bytes =
      sizeof(float) * (2 * static_cast<size_t>(BK) * LD + 2 * BQ * LD + 2 * BQ * PLD + 2 * BQ);
};

template <int DP, int QPT>
struct QCfg {  // dQ kernel
  static constexpr int BQ = 16 * QPT, BK = 32, LD = DP + 4, SLD = BQ + 4, NC = DP / 64;
  static constexpr size_t bytes = sizeof(float) * (2 * static_cast<size_t>(BQ) * LD + 2 * BK * LD + BK * SLD);
};

__device__ __forceinline__ float dot4(float acc, const float4 a, const float4 b) {
  acc = fmaf(a.x, b.x, acc);
  acc = fmaf(a.y, b.y, acc);
  acc = fmaf(a.z, b.z, acc);
  return fmaf(a.w, b.w, acc);
}

__device__ __forceinline__ float4 lds4(const float* p) { return *reinterpret_cast<const float4*>(p); }

__device__ __forceinline__ void lds_vec(float (&r)[4], const float* p) {
  const float4 v = *reinterpret_cast<const float4*>(p);
  r[0] = v.x, r[1] = v.y, r[2] = v.z, r[3] = v.w;
}
__device__ __forceinline__ void lds_vec(float (&r)[2], const float* p) {
  const float2 v = *reinterpret_cast<const float2*>(p);
  r[0] = v.x, r[1] = v.y;
}
__device__ __forceinline__ void sts_vec(float* p, const float (&r)[4]) {
  *reinterpret_cast<float4*>(p) = make_float4(r[0], r[1], r[2], r[3]);
}
__device__ __forceinline__ void sts_vec(float* p, const float (&r)[2]) {
  *reinterpret_cast<float2*>(p) = make_float2(r[0], r[1]);
}

// Butterflies over the 16 lanes that share ty (xor offsets < 16 never leave a half-warp). Every
// lane ends with the same value.
__device__ __forceinline__ float half_warp_max(float v) {
#pragma unroll
  for (int o = 8; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
__device__ __forceinline__ float half_warp_sum(float v) {
#pragma unroll
  for (int o = 8; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// Copies a R×D tile (row r at src + r·ld; rows >= rows_valid read as zero) into shared memory with
// row stride LD, zero-filling columns D..DP-1. Called by the whole block.
template <int R, int DP, int LD>
__device__ __forceinline__ void load_tile(float* s, const float* src, int64_t ld, int rows_valid, int D, bool vec) {
  if (vec) {
    constexpr int C4 = DP / 4;
    for (int idx = threadIdx.x; idx < R * C4; idx += kAttnThreads) {
      const int r = idx / C4, c = (idx - r * C4) * 4;
      float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
      if (r < rows_valid && c < D) v = *reinterpret_cast<const float4*>(src + r * ld + c);
      *reinterpret_cast<float4*>(s + r * LD + c) = v;
    }
  } else {
    for (int idx = threadIdx.x; idx < R * DP; idx += kAttnThreads) {
      const int r = idx / DP, c = idx - r * DP;
      s[r * LD + c] = (r < rows_valid && c < D) ? src[r * ld + c] : 0.0f;
    }
  }
}

template <int DP>
__global__ void __launch_bounds__(kAttnThreads)
    attention_forward_kernel(AttnDims d, const float* __restrict__ q, const float* __restrict__ k,
                             const float* __restrict__ v, float* __restrict__ out, float* __restrict__ lse) {
  using Cfg = FwdCfg<DP>;
  constexpr int BQ = Cfg::BQ, BK = Cfg::BK, LD = Cfg::LD, PLD = Cfg::PLD, NC = Cfg::NC;
  extern __shared__ float4 smem4[];
  float* Qs = reinterpret_cast<float*>(smem4);
  float* KVs = Qs + BQ * LD;  // K, then V, of the current key tile
  float* Ps = KVs + BK * LD;  // P[key][query ty*4+i]

  const int tx = threadIdx.x & 15, ty = threadIdx.x >> 4;
  const int b = blockIdx.z, h = blockIdx.y, kvh = h / d.group, D = d.D;
  const int q0 = (gridDim.x - 1 - blockIdx.x) * BQ;  // heaviest (latest) query tiles first
  const int nq = min(BQ, d.q_len - q0);
  const float* qb = q + (static_cast<int64_t>(b) * d.q_len + q0) * d.q_row_stride + static_cast<int64_t>(h) * D;
  const int64_t kv_base = static_cast<int64_t>(b) * d.kv_batch_stride + static_cast<int64_t>(kvh) * D;
  const float* kb = k + kv_base;
  const float* vb = v + kv_base;
  load_tile<BQ, DP, LD>(Qs, qb, d.q_row_stride, nq, D, d.vec);

  // Keys any real row of this tile can see (the last real row sees the most).
  const int kend = d.causal ? min(d.kv_len, d.off + q0 + nq) : d.kv_len;

  float m[4], l[4], acc[4][NC * 4];
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    m[i] = -INFINITY;
    l[i] = 0.0f;
#pragma unroll
    for (int c = 0; c < NC * 4; ++c) acc[i][c] = 0.0f;
  }

  for (int k0 = 0; k0 < kend; k0 += BK) {
    const int nk = min(BK, kend - k0);
    __syncthreads();  // Qs written (first tile); the previous tile's P·V no longer reads KVs/Ps
    load_tile<BK, DP, LD>(KVs, kb + static_cast<int64_t>(k0) * d.kv_row_stride, d.kv_row_stride, nk, D, d.vec);
    __syncthreads();

    float s[4][4];
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
      for (int j = 0; j < 4; ++j) s[i][j] = 0.0f;
#pragma unroll 4
    for (int dd = 0; dd < DP; dd += 4) {
      float4 qv[4], kv4[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) qv[i] = lds4(Qs + (ty + 16 * i) * LD + dd);
#pragma unroll
      for (int j = 0; j < 4; ++j) kv4[j] = lds4(KVs + (tx + 16 * j) * LD + dd);
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) s[i][j] = dot4(s[i][j], qv[i], kv4[j]);
    }

    // Online softmax per row; the 16 lanes of a half-warp hold the row's 64 scores.
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int t = q0 + ty + 16 * i;
      float rm = -INFINITY;
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const int key = k0 + tx + 16 * j;
        const bool ok = key < kend && (!d.causal || key <= d.off + t);
        s[i][j] = ok ? s[i][j] * d.scale : -INFINITY;
        rm = fmaxf(rm, s[i][j]);
      }
      rm = half_warp_max(rm);
      const float mn = fmaxf(m[i], rm);
      const float corr = mn == -INFINITY ? 1.0f : expf(m[i] - mn);
      float ps = 0.0f;
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const float p = s[i][j] == -INFINITY ? 0.0f : expf(s[i][j] - mn);
        s[i][j] = p;
        ps += p;
      }
      l[i] = l[i] * corr + ps;  // this thread's share of the row sum, all shares scaled alike
#pragma unroll
      for (int c = 0; c < NC * 4; ++c) acc[i][c] *= corr;
      m[i] = mn;
    }

    __syncthreads();  // every thread is done reading K
#pragma unroll
    for (int j = 0; j < 4; ++j)
      *reinterpret_cast<float4*>(Ps + (tx + 16 * j) * PLD + ty * 4) = make_float4(s[0][j], s[1][j], s[2][j], s[3][j]);
    load_tile<BK, DP, LD>(KVs, vb + static_cast<int64_t>(k0) * d.kv_row_stride, d.kv_row_stride, nk, D, d.vec);
    __syncthreads();

#pragma unroll 2
    for (int j = 0; j < nk; ++j) {
      const float4 p4 = lds4(Ps + j * PLD + ty * 4);
      const float pp[4] = {p4.x, p4.y, p4.z, p4.w};
#pragma unroll
      for (int g = 0; g < NC; ++g) {
        const float4 v4 = lds4(KVs + j * LD + 64 * g + 4 * tx);
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          acc[i][4 * g + 0] = fmaf(pp[i], v4.x, acc[i][4 * g + 0]);
          acc[i][4 * g + 1] = fmaf(pp[i], v4.y, acc[i][4 * g + 1]);
          acc[i][4 * g + 2] = fmaf(pp[i], v4.z, acc[i][4 * g + 2]);
          acc[i][4 * g + 3] = fmaf(pp[i], v4.w, acc[i][4 * g + 3]);
        }
      }
    }
  }

#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const float lt = half_warp_sum(l[i]);  // all lanes: the butterfly is uniform
    const int tl = ty + 16 * i;
    if (tl < nq) {
      const int t = q0 + tl;
      float* ot = out + ((static_cast<int64_t>(b) * d.q_len + t) * d.q_heads + h) * D;
#pragma unroll
      for (int g = 0; g < NC; ++g) {
        const int c = 64 * g + 4 * tx;
        if (d.vec) {
          if (c < D)
            *reinterpret_cast<float4*>(ot + c) =
                make_float4(acc[i][4 * g] / lt, acc[i][4 * g + 1] / lt, acc[i][4 * g + 2] / lt, acc[i][4 * g + 3] / lt);
        } else {
#pragma unroll
          for (int e = 0; e < 4; ++e)
            if (c + e < D) ot[c + e] = acc[i][4 * g + e] / lt;
        }
      }
      if (tx == 0) lse[(static_cast<int64_t>(b) * d.q_heads + h) * d.q_len + t] = m[i] + logf(lt);
    }
  }
}

// D_i = Σ_c dout·out for every dense row (b, t, h); stored at (b·Hq + h)·q_len + t. Warp per row.
__global__ void attention_dot_kernel(int64_t rows, int q_len, int q_heads, int D, const float* __restrict__ out,
                                     const float* __restrict__ dout, float* __restrict__ di) {
  const int lane = threadIdx.x & 31;
  const int64_t r = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + (threadIdx.x >> 5);
  if (r >= rows) return;
  const float* o = out + r * D;
  const float* g = dout + r * D;
  float s = 0.0f;
  for (int c = lane; c < D; c += 32) s += g[c] * o[c];
  s = warp_sum(s);
  if (lane == 0) {
    const int64_t per_batch = static_cast<int64_t>(q_len) * q_heads;
    const int64_t b = r / per_batch, rem = r - b * per_batch;
    const int64_t t = rem / q_heads, h = rem - t * q_heads;
    di[(b * q_heads + h) * q_len + t] = s;
  }
}

// dK and dV of one key tile of one kv head: loops over the group's q heads and over the query
// tiles that can see the keys, in order. Thread (ty, tx) owns keys ty+16kk and columns 64g+4tx..+3.
template <int DP, int KPT>
__global__ void __launch_bounds__(kAttnThreads)
    attention_backward_kv_kernel(AttnDims d, const float* __restrict__ q, const float* __restrict__ k,
                                 const float* __restrict__ v, const float* __restrict__ dout,
                                 const float* __restrict__ lse, const float* __restrict__ di, float* dk, float* dv) {
  using Cfg = KvCfg<DP, KPT>;
  constexpr int BK = Cfg::BK, BQ = Cfg::BQ, LD = Cfg::LD, PLD = Cfg::PLD, NC = Cfg::NC;
  extern __shared__ float4 smem4[];
  float* Ks = reinterpret_cast<float*>(smem4);
  float* Vs = Ks + BK * LD;
  float* Qs = Vs + BK * LD;
  float* Os = Qs + BQ * LD;   // dout rows
  float* Ps = Os + BQ * LD;   // P[query][key ty*KPT+kk]
  float* Ss = Ps + BQ * PLD;  // dS, same layout
  float* Ls = Ss + BQ * PLD;  // lse of the tile's queries
  float* Ds = Ls + BQ;        // D_i of the tile's queries

  const int tx = threadIdx.x & 15, ty = threadIdx.x >> 4;
  const int b = blockIdx.z, kvh = blockIdx.y, D = d.D;
  const int k0 = blockIdx.x * BK;
  const int nk = min(BK, d.kv_len - k0);
  const int64_t kv_base = static_cast<int64_t>(b) * d.kv_batch_stride + static_cast<int64_t>(kvh) * D;
  load_tile<BK, DP, LD>(Ks, k + kv_base + static_cast<int64_t>(k0) * d.kv_row_stride, d.kv_row_stride, nk, D, d.vec);
  load_tile<BK, DP, LD>(Vs, v + kv_base + static_cast<int64_t>(k0) * d.kv_row_stride, d.kv_row_stride, nk, D, d.vec);

  float dka[KPT][NC * 4], dva[KPT][NC * 4];
#pragma unroll
  for (int kk = 0; kk < KPT; ++kk)
#pragma unroll
    for (int c = 0; c < NC * 4; ++c) dka[kk][c] = dva[kk][c] = 0.0f;

  // The first query that sees key k0, rounded down to a tile boundary.
  const int t_first = d.causal ? max(0, k0 - d.off) : 0;
  const int t_begin = t_first / BQ * BQ;
  const int64_t orow = static_cast<int64_t>(d.q_heads) * D;  // dout row stride

  for (int hh = 0; hh < d.group; ++hh) {
    const int h = kvh * d.group + hh;
    const float* qb = q + static_cast<int64_t>(b) * d.q_len * d.q_row_stride + static_cast<int64_t>(h) * D;
    const float* ob = dout + static_cast<int64_t>(b) * d.q_len * orow + static_cast<int64_t>(h) * D;
    const float* lb = lse + (static_cast<int64_t>(b) * d.q_heads + h) * d.q_len;
    const float* db = di + (static_cast<int64_t>(b) * d.q_heads + h) * d.q_len;
    for (int t0 = t_begin; t0 < d.q_len; t0 += BQ) {
      const int nq = min(BQ, d.q_len - t0);
      __syncthreads();  // K/V visible (first pass); the previous tile's readers are done
      load_tile<BQ, DP, LD>(Qs, qb + static_cast<int64_t>(t0) * d.q_row_stride, d.q_row_stride, nq, D, d.vec);
      load_tile<BQ, DP, LD>(Os, ob + static_cast<int64_t>(t0) * orow, orow, nq, D, d.vec);
      for (int i = threadIdx.x; i < BQ; i += kAttnThreads) {
        Ls[i] = i < nq ? lb[t0 + i] : 0.0f;
        Ds[i] = i < nq ? db[t0 + i] : 0.0f;
      }
      __syncthreads();

      float s[KPT][2], dp[KPT][2];
#pragma unroll
      for (int kk = 0; kk < KPT; ++kk)
#pragma unroll
        for (int ii = 0; ii < 2; ++ii) s[kk][ii] = dp[kk][ii] = 0.0f;
#pragma unroll 2
      for (int dd = 0; dd < DP; dd += 4) {
        float4 kq[KPT], vq[KPT], qq[2], oq[2];
#pragma unroll
        for (int kk = 0; kk < KPT; ++kk) {
          kq[kk] = lds4(Ks + (ty + 16 * kk) * LD + dd);
          vq[kk] = lds4(Vs + (ty + 16 * kk) * LD + dd);
        }
#pragma unroll
        for (int ii = 0; ii < 2; ++ii) {
          qq[ii] = lds4(Qs + (tx + 16 * ii) * LD + dd);
          oq[ii] = lds4(Os + (tx + 16 * ii) * LD + dd);
        }
#pragma unroll
        for (int kk = 0; kk < KPT; ++kk)
#pragma unroll
          for (int ii = 0; ii < 2; ++ii) {
            s[kk][ii] = dot4(s[kk][ii], kq[kk], qq[ii]);
            dp[kk][ii] = dot4(dp[kk][ii], vq[kk], oq[ii]);
          }
      }
#pragma unroll
      for (int ii = 0; ii < 2; ++ii) {
        const int tl = tx + 16 * ii, t = t0 + tl;
        float pv[KPT], sv[KPT];
#pragma unroll
        for (int kk = 0; kk < KPT; ++kk) {
          const int key = k0 + ty + 16 * kk;
          const bool ok = tl < nq && key < d.kv_len && (!d.causal || key <= d.off + t);
          const float p = ok ? expf(d.scale * s[kk][ii] - Ls[tl]) : 0.0f;
          pv[kk] = p;
          sv[kk] = ok ? p * (dp[kk][ii] - Ds[tl]) * d.scale : 0.0f;
        }
        sts_vec(Ps + tl * PLD + ty * KPT, pv);
        sts_vec(Ss + tl * PLD + ty * KPT, sv);
      }
      __syncthreads();

#pragma unroll 2
      for (int tl = 0; tl < nq; ++tl) {
        float pv[KPT], sv[KPT];
        lds_vec(pv, Ps + tl * PLD + ty * KPT);
        lds_vec(sv, Ss + tl * PLD + ty * KPT);
#pragma unroll
        for (int g = 0; g < NC; ++g) {
          const float4 o4 = lds4(Os + tl * LD + 64 * g + 4 * tx);
          const float4 q4 = lds4(Qs + tl * LD + 64 * g + 4 * tx);
#pragma unroll
          for (int kk = 0; kk < KPT; ++kk) {
            dva[kk][4 * g + 0] = fmaf(pv[kk], o4.x, dva[kk][4 * g + 0]);
            dva[kk][4 * g + 1] = fmaf(pv[kk], o4.y, dva[kk][4 * g + 1]);
            dva[kk][4 * g + 2] = fmaf(pv[kk], o4.z, dva[kk][4 * g + 2]);
            dva[kk][4 * g + 3] = fmaf(pv[kk], o4.w, dva[kk][4 * g + 3]);
            dka[kk][4 * g + 0] = fmaf(sv[kk], q4.x, dka[kk][4 * g + 0]);
            dka[kk][4 * g + 1] = fmaf(sv[kk], q4.y, dka[kk][4 * g + 1]);
            dka[kk][4 * g + 2] = fmaf(sv[kk], q4.z, dka[kk][4 * g + 2]);
            dka[kk][4 * g + 3] = fmaf(sv[kk], q4.w, dka[kk][4 * g + 3]);
          }
        }
      }
    }
  }

#pragma unroll
  for (int kk = 0; kk < KPT; ++kk) {
    const int jl = ty + 16 * kk;
    if (jl >= nk) continue;
    const int64_t row = kv_base + static_cast<int64_t>(k0 + jl) * d.kv_row_stride;
#pragma unroll
    for (int g = 0; g < NC; ++g)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int c = 64 * g + 4 * tx + e;
        if (c < D) {
          dk[row + c] += dka[kk][4 * g + e];
          dv[row + c] += dva[kk][4 * g + e];
        }
      }
  }
}

// dQ of one query tile of one q head: loops over the visible key tiles in order. Thread (ty, tx)
// owns queries ty+16ii and columns 64g+4tx..+3.
template <int DP, int QPT>
__global__ void __launch_bounds__(kAttnThreads)
    attention_backward_q_kernel(AttnDims d, const float* __restrict__ q, const float* __restrict__ k,
                                const float* __restrict__ v, const float* __restrict__ dout,
                                const float* __restrict__ lse, const float* __restrict__ di, float* dq) {
  using Cfg = QCfg<DP, QPT>;
  constexpr int BQ = Cfg::BQ, BK = Cfg::BK, LD = Cfg::LD, SLD = Cfg::SLD, NC = Cfg::NC;
  extern __shared__ float4 smem4[];
  float* Qs = reinterpret_cast<float*>(smem4);
  float* Os = Qs + BQ * LD;
  float* Ks = Os + BQ * LD;
  float* Vs = Ks + BK * LD;
  float* Ss = Vs + BK * LD;  // dS[key][query ty*QPT+ii]

  const int tx = threadIdx.x & 15, ty = threadIdx.x >> 4;
  const int b = blockIdx.z, h = blockIdx.y, kvh = h / d.group, D = d.D;
  const int q0 = (gridDim.x - 1 - blockIdx.x) * BQ;
  const int nq = min(BQ, d.q_len - q0);
  const int64_t orow = static_cast<int64_t>(d.q_heads) * D;
  const float* qb = q + (static_cast<int64_t>(b) * d.q_len + q0) * d.q_row_stride + static_cast<int64_t>(h) * D;
  const float* ob = dout + (static_cast<int64_t>(b) * d.q_len + q0) * orow + static_cast<int64_t>(h) * D;
  load_tile<BQ, DP, LD>(Qs, qb, d.q_row_stride, nq, D, d.vec);
  load_tile<BQ, DP, LD>(Os, ob, orow, nq, D, d.vec);
  const int64_t kv_base = static_cast<int64_t>(b) * d.kv_batch_stride + static_cast<int64_t>(kvh) * D;
  const int64_t stat = (static_cast<int64_t>(b) * d.q_heads + h) * d.q_len + q0;

  float Lr[QPT], Dr[QPT], dqa[QPT][NC * 4];
#pragma unroll
  for (int ii = 0; ii < QPT; ++ii) {
    const int tl = ty + 16 * ii;
    Lr[ii] = tl < nq ? lse[stat + tl] : 0.0f;
    Dr[ii] = tl < nq ? di[stat + tl] : 0.0f;
#pragma unroll
    for (int c = 0; c < NC * 4; ++c) dqa[ii][c] = 0.0f;
  }

  const int kend = d.causal ? min(d.kv_len, d.off + q0 + nq) : d.kv_len;
  for (int k0 = 0; k0 < kend; k0 += BK) {
    const int nk = min(BK, kend - k0);
    __syncthreads();  // Q/dout visible (first tile); the previous tile's readers are done
    load_tile<BK, DP, LD>(Ks, k + kv_base + static_cast<int64_t>(k0) * d.kv_row_stride, d.kv_row_stride, nk, D, d.vec);
    load_tile<BK, DP, LD>(Vs, v + kv_base + static_cast<int64_t>(k0) * d.kv_row_stride, d.kv_row_stride, nk, D, d.vec);
    __syncthreads();

    float s[QPT][2], dp[QPT][2];
#pragma unroll
    for (int ii = 0; ii < QPT; ++ii)
#pragma unroll
      for (int jj = 0; jj < 2; ++jj) s[ii][jj] = dp[ii][jj] = 0.0f;
#pragma unroll 2
    for (int dd = 0; dd < DP; dd += 4) {
      float4 qv[QPT], ov[QPT], kq[2], vq[2];
#pragma unroll
      for (int ii = 0; ii < QPT; ++ii) {
        qv[ii] = lds4(Qs + (ty + 16 * ii) * LD + dd);
        ov[ii] = lds4(Os + (ty + 16 * ii) * LD + dd);
      }
#pragma unroll
      for (int jj = 0; jj < 2; ++jj) {
        kq[jj] = lds4(Ks + (tx + 16 * jj) * LD + dd);
        vq[jj] = lds4(Vs + (tx + 16 * jj) * LD + dd);
      }
#pragma unroll
      for (int ii = 0; ii < QPT; ++ii)
#pragma unroll
        for (int jj = 0; jj < 2; ++jj) {
          s[ii][jj] = dot4(s[ii][jj], qv[ii], kq[jj]);
          dp[ii][jj] = dot4(dp[ii][jj], ov[ii], vq[jj]);
        }
    }
#pragma unroll
    for (int jj = 0; jj < 2; ++jj) {
      const int jl = tx + 16 * jj, key = k0 + jl;
      float sv[QPT];
#pragma unroll
      for (int ii = 0; ii < QPT; ++ii) {
        const int tl = ty + 16 * ii, t = q0 + tl;
        const bool ok = tl < nq && key < kend && (!d.causal || key <= d.off + t);
        const float p = ok ? expf(d.scale * s[ii][jj] - Lr[ii]) : 0.0f;
        sv[ii] = ok ? p * (dp[ii][jj] - Dr[ii]) * d.scale : 0.0f;
      }
      sts_vec(Ss + jl * SLD + ty * QPT, sv);
    }
    __syncthreads();

#pragma unroll 2
    for (int j = 0; j < nk; ++j) {
      float sv[QPT];
      lds_vec(sv, Ss + j * SLD + ty * QPT);
#pragma unroll
      for (int g = 0; g < NC; ++g) {
        const float4 k4 = lds4(Ks + j * LD + 64 * g + 4 * tx);
#pragma unroll
        for (int ii = 0; ii < QPT; ++ii) {
          dqa[ii][4 * g + 0] = fmaf(sv[ii], k4.x, dqa[ii][4 * g + 0]);
          dqa[ii][4 * g + 1] = fmaf(sv[ii], k4.y, dqa[ii][4 * g + 1]);
          dqa[ii][4 * g + 2] = fmaf(sv[ii], k4.z, dqa[ii][4 * g + 2]);
          dqa[ii][4 * g + 3] = fmaf(sv[ii], k4.w, dqa[ii][4 * g + 3]);
        }
      }
    }
  }

#pragma unroll
  for (int ii = 0; ii < QPT; ++ii) {
    const int tl = ty + 16 * ii;
    if (tl >= nq) continue;
    float* row = dq + (static_cast<int64_t>(b) * d.q_len + q0 + tl) * d.q_row_stride + static_cast<int64_t>(h) * D;
#pragma unroll
    for (int g = 0; g < NC; ++g)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int c = 64 * g + 4 * tx + e;
        if (c < D) row[c] += dqa[ii][4 * g + e];
      }
  }
}

// ---- SwiGLU -----------------------------------------------------------------------------------------

__global__ void swiglu_forward_kernel(int64_t n, const float* __restrict__ gate, const float* __restrict__ up,
                                      float* __restrict__ out) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float g = gate[i];
    out[i] = g / (1.0f + expf(-g)) * up[i];
  }
}

__global__ void swiglu_backward_kernel(int64_t n, const float* __restrict__ gate, const float* __restrict__ up,
                                       const float* __restrict__ dout, float* __restrict__ dgate,
                                       float* __restrict__ dup) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float g = gate[i], dy = dout[i];
    const float sig = 1.0f / (1.0f + expf(-g));
    const float silu = g * sig;
    dup[i] += dy * silu;
    dgate[i] += dy * up[i] * sig * (1.0f + g * (1.0f - sig));
  }
}

// ---- embedding ----------------------------------------------------------------------------------------

template <typename W>
__global__ void embedding_forward_kernel(int64_t T, int64_t C, const int32_t* __restrict__ ids,
                                         const W* __restrict__ table, float* __restrict__ out) {
  for (int64_t t = blockIdx.x; t < T; t += gridDim.x) {
    const W* src = table + static_cast<int64_t>(ids[t]) * C;
    float* dst = out + t * C;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
      if constexpr (sizeof(W) == 2)
        dst[c] = bf16_to_f32(src[c]);
      else
        dst[c] = src[c];
    }
  }
}

__global__ void iota_kernel(int64_t n, int* __restrict__ out) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    out[i] = static_cast<int>(i);
}

// keys: ids sorted (stable), toks: their token indices. Block (p, column tile): if p starts a run
// of equal ids, dtable[id, c] += dout[t, c] for the run's tokens in increasing t (the CPU's order).
__global__ void embedding_backward_segments_kernel(int64_t T, int64_t C, const unsigned* __restrict__ keys,
                                                   const int* __restrict__ toks, const float* __restrict__ dout,
                                                   float* __restrict__ dtable) {
  const int64_t c = static_cast<int64_t>(blockIdx.y) * blockDim.x + threadIdx.x;
  for (int64_t p = blockIdx.x; p < T; p += gridDim.x) {
    const unsigned id = keys[p];
    if (p > 0 && keys[p - 1] == id) continue;  // uniform over the block
    if (c >= C) continue;
    float* drow = dtable + static_cast<int64_t>(id) * C;
    float acc = drow[c];
    for (int64_t e = p; e < T && keys[e] == id; ++e) acc += dout[static_cast<int64_t>(toks[e]) * C + c];
    drow[c] = acc;
  }
}

// ---- cross-entropy ------------------------------------------------------------------------------------

__global__ void cross_entropy_kernel(int64_t T, int64_t V, float* logits, const int32_t* __restrict__ targets,
                                     int32_t ignore_index, float* __restrict__ losses, float grad_scale) {
  __shared__ double red_d[kWarpsPerBlock];
  __shared__ float red_f[kWarpsPerBlock];
  for (int64_t t = blockIdx.x; t < T; t += gridDim.x) {
    float* row = logits + t * V;
    const int32_t target = targets[t];
    if (target == ignore_index) {  // uniform over the block
      if (threadIdx.x == 0) losses[t] = 0.0f;
      if (grad_scale != 0.0f)
        for (int64_t j = threadIdx.x; j < V; j += blockDim.x) row[j] = 0.0f;
      continue;
    }
    float mx = -INFINITY;
    for (int64_t j = threadIdx.x; j < V; j += blockDim.x) mx = fmaxf(mx, row[j]);
    mx = block_max(mx, red_f);
    double sum = 0.0;
    for (int64_t j = threadIdx.x; j < V; j += blockDim.x) sum += static_cast<double>(expf(row[j] - mx));
    sum = block_sum(sum, red_d);
    const float lse = mx + static_cast<float>(log(sum));
    if (threadIdx.x == 0) losses[t] = lse - row[target];
    if (grad_scale != 0.0f) {
      __syncthreads();  // row[target] is read above before any thread overwrites it
      for (int64_t j = threadIdx.x; j < V; j += blockDim.x) {
        float g = __fmul_rn(grad_scale, expf(row[j] - lse));
        if (j == target) g = __fsub_rn(g, grad_scale);
        row[j] = g;
      }
    }
  }
}

// ---- AdamW and reductions -----------------------------------------------------------------------------

struct AdamWConsts {
  float lr, beta1, beta2, eps, decay, grad_scale, bc1, bc2;
};

__global__ void adamw_kernel(int64_t n, float* __restrict__ p, const float* __restrict__ g, float* __restrict__ m,
                             float* __restrict__ v, AdamWConsts k) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float gi = g[i] * k.grad_scale;
    const float mi = k.beta1 * m[i] + (1.0f - k.beta1) * gi;
    const float vi = k.beta2 * v[i] + (1.0f - k.beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    const float mhat = mi / k.bc1, vhat = vi / k.bc2;
    p[i] = p[i] * k.decay - k.lr * mhat / (sqrtf(vhat) + k.eps);  // PyTorch AdamW order
  }
}

__global__ void sum_squares_partial_kernel(int64_t n, int64_t chunks, const float* __restrict__ x,
                                           double* __restrict__ partial) {
  __shared__ double red[kWarpsPerBlock];
  for (int64_t ch = blockIdx.x; ch < chunks; ch += gridDim.x) {
    const int64_t i1 = (ch + 1) * kReduceChunk < n ? (ch + 1) * kReduceChunk : n;
    double s = 0.0;
    for (int64_t i = ch * kReduceChunk + threadIdx.x; i < i1; i += blockDim.x) {
      const double xv = x[i];
      s += xv * xv;
    }
    s = block_sum(s, red);
    if (threadIdx.x == 0) partial[ch] = s;
  }
}

// One block: thread i sums partials i, i+256, ... in order, then the fixed block tree.
__global__ void sum_squares_final_kernel(int64_t chunks, const double* __restrict__ partial,
                                         double* __restrict__ result) {
  __shared__ double red[kWarpsPerBlock];
  double s = 0.0;
  for (int64_t c = threadIdx.x; c < chunks; c += blockDim.x) s += partial[c];
  s = block_sum(s, red);
  if (threadIdx.x == 0) *result = s;
}

__global__ void axpy_kernel(int64_t n, float alpha, const float* __restrict__ x, float* __restrict__ y) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    y[i] += alpha * x[i];
}

__global__ void scale_kernel(int64_t n, float alpha, float* __restrict__ x) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    x[i] *= alpha;
}

// x may alias out (no __restrict__): each element is read before it is written by the same thread.
__global__ void dropout_kernel(int64_t n, uint64_t threshold, float inv_keep, uint64_t seed, uint64_t offset,
                               const float* x, float* out) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    out[i] = dropout_keep(seed, offset + static_cast<uint64_t>(i), threshold) ? __fmul_rn(x[i], inv_keep) : 0.0f;
}

// ---- host helpers -----------------------------------------------------------------------------------

AttnDims attn_dims(const AttentionArgs& a, bool vec_ptrs) {
  AttnDims d;
  d.q_len = checked_int(a.q_len, "attention q_len");
  d.kv_len = checked_int(a.kv_len, "attention kv_len");
  d.q_heads = checked_int(a.q_heads, "attention q_heads");
  d.kv_heads = checked_int(a.kv_heads, "attention kv_heads");
  d.group = d.q_heads / d.kv_heads;
  d.D = checked_int(a.head_dim, "attention head_dim");
  d.off = d.kv_len - d.q_len;
  d.q_row_stride = a.q_row_stride;
  d.kv_row_stride = a.kv_row_stride;
  d.kv_batch_stride = a.kv_batch_stride;
  d.scale = a.scale;
  d.causal = a.causal;
  if (d.D > kMaxHeadDim)
    fail(MOR_ERR_NOT_SUPPORTED, "attention: head_dim " + std::to_string(d.D) + " exceeds the CUDA kernels' limit of " +
                                    std::to_string(kMaxHeadDim));
  if (a.q_heads > 65535 || a.kv_heads > 65535 || a.batch > 65535)
    fail(MOR_ERR_NOT_SUPPORTED, "attention: batch and head counts must be <= 65535 on CUDA");
  d.vec = vec_ptrs && d.D % 4 == 0 && a.q_row_stride % 4 == 0 && a.kv_row_stride % 4 == 0 &&
          (a.batch <= 1 || a.kv_batch_stride % 4 == 0);
  return d;
}

int padded_head_dim(int D) { return D <= 64 ? 64 : D <= 128 ? 128 : 256; }

template <int DP>
void launch_attention_forward(const Launch& l, const AttnDims& d, int64_t batch, const float* q, const float* k,
                              const float* v, float* out, float* lse) {
  using Cfg = FwdCfg<DP>;
  allow_shared(attention_forward_kernel<DP>, Cfg::bytes, "attention_forward");
  const dim3 grid(static_cast<unsigned>((d.q_len + Cfg::BQ - 1) / Cfg::BQ), static_cast<unsigned>(d.q_heads),
                  static_cast<unsigned>(batch));
  attention_forward_kernel<DP><<<grid, kAttnThreads, Cfg::bytes, l.stream>>>(d, q, k, v, out, lse);
  l.check("attention_forward kernel");
}

template <int DP, int PT>
void launch_attention_backward(const Launch& l, const AttnDims& d, int64_t batch, const float* q, const float* k,
                               const float* v, const float* dout, const float* lse, const float* di, float* dq,
                               float* dk, float* dv) {
  using Kv = KvCfg<DP, PT>;
  using Qc = QCfg<DP, PT>;
  allow_shared(attention_backward_kv_kernel<DP, PT>, Kv::bytes, "attention_backward (dK/dV)");
  const dim3 kv_grid(static_cast<unsigned>((d.kv_len + Kv::BK - 1) / Kv::BK), static_cast<unsigned>(d.kv_heads),
                     static_cast<unsigned>(batch));
  attention_backward_kv_kernel<DP, PT>
      <<<kv_grid, kAttnThreads, Kv::bytes, l.stream>>>(d, q, k, v, dout, lse, di, dk, dv);
  l.check("attention_backward dK/dV kernel");
  allow_shared(attention_backward_q_kernel<DP, PT>, Qc::bytes, "attention_backward (dQ)");
  const dim3 q_grid(static_cast<unsigned>((d.q_len + Qc::BQ - 1) / Qc::BQ), static_cast<unsigned>(d.q_heads),
                    static_cast<unsigned>(batch));
  attention_backward_q_kernel<DP, PT><<<q_grid, kAttnThreads, Qc::bytes, l.stream>>>(d, q, k, v, dout, lse, di, dq);
  l.check("attention_backward dQ kernel");
}

// The embedding sort's scratch: sorted keys, token indices in and out, then cub's temporary storage.
struct EmbeddingSort {
  int n = 0, end_bit = 1;
  size_t keys = 0, vals_in = 0, vals_out = 0, temp = 0, temp_bytes = 0, total = 0;
};

EmbeddingSort embedding_sort_layout(int64_t T, int64_t V) {
  EmbeddingSort s;
  s.n = checked_int(T, "embedding tokens T");
  // Ids are validated to lie in [0, V): sorting their low bits only is exact (and faster).
  const uint64_t max_id = static_cast<uint64_t>(std::max<int64_t>(V - 1, 0));
  int bits = 1;
  while (bits < 31 && (max_id >> bits) != 0) ++bits;
  s.end_bit = bits;
  check(cub::DeviceRadixSort::SortPairs(nullptr, s.temp_bytes, static_cast<const unsigned*>(nullptr),
                                        static_cast<unsigned*>(nullptr), static_cast<const int*>(nullptr),
                                        static_cast<int*>(nullptr), s.n, 0, s.end_bit),
        "cub::DeviceRadixSort::SortPairs (size query)");
  const size_t arr = align_up(static_cast<size_t>(s.n) * sizeof(int), 256);
  s.keys = 0;
  s.vals_in = arr;
  s.vals_out = 2 * arr;
  s.temp = 3 * arr;
  s.total = s.temp + align_up(std::max<size_t>(s.temp_bytes, 1), 256);
  return s;
}

}  // namespace

// ---- launchers ----------------------------------------------------------------------------------------

void rmsnorm_forward(const Launch& l, int64_t T, int64_t C, float eps, const float* x, const float* w, float* y,
                     float* rstd) {
  if (T <= 0 || C <= 0) return;
  rmsnorm_forward_kernel<<<blocks_for(T, kWarpsPerBlock, "rmsnorm_forward"), kThreads, 0, l.stream>>>(T, C, eps, x, w,
                                                                                                      y, rstd);
  l.check("rmsnorm_forward kernel");
}

size_t rmsnorm_backward_scratch_bytes(int64_t T, int64_t C) {
  if (T <= 0 || C <= 0) return 0;
  return static_cast<size_t>((T + kTokenChunk - 1) / kTokenChunk) * static_cast<size_t>(C) * sizeof(float);
}

void rmsnorm_backward(const Launch& l, int64_t T, int64_t C, const float* x, const float* w, const float* rstd,
                      const float* dy, float* dx, float* dw, float* scratch) {
  if (T <= 0 || C <= 0) return;
  rmsnorm_backward_dx_kernel<<<blocks_for(T, kWarpsPerBlock, "rmsnorm_backward"), kThreads, 0, l.stream>>>(
      T, C, x, w, rstd, dy, dx);
  l.check("rmsnorm_backward dx kernel");
  if (dw == nullptr) return;
  const int64_t chunks = (T + kTokenChunk - 1) / kTokenChunk;
  const unsigned col_blocks = blocks_for(C, kThreads, "rmsnorm_backward dw");
  const dim3 grid(col_blocks, static_cast<unsigned>(std::min<int64_t>(chunks, 65535)));
  rmsnorm_dw_partial_kernel<<<grid, kThreads, 0, l.stream>>>(T, C, x, rstd, dy, scratch);
  l.check("rmsnorm_backward dw partial kernel");
  rmsnorm_dw_finish_kernel<<<col_blocks, kThreads, 0, l.stream>>>(C, chunks, scratch, dw);
  l.check("rmsnorm_backward dw final-sum kernel");
}

void rope(const Launch& l, int64_t T, int64_t H, int64_t D, float* x, int64_t ld, const int32_t* positions,
          const float* inv_freq, bool inverse) {
  if (T <= 0 || H <= 0 || D < 2) return;
  rope_kernel<<<grid_stride_blocks(T * (D / 2)), kThreads, 0, l.stream>>>(T, H, D, x, ld, positions, inv_freq,
                                                                          inverse ? -1.0f : 1.0f);
  l.check("rope kernel");
}

void attention_forward(const Launch& l, const AttentionArgs& a, const float* q, const float* k, const float* v,
                       float* out, float* lse) {
  if (a.batch <= 0 || a.q_len <= 0) return;
  const bool aligned = aligned16(q) && aligned16(k) && aligned16(v) && aligned16(out);
  const AttnDims d = attn_dims(a, aligned);  // validates the sizes for both paths
  if (attention_mma_selected(a, aligned)) return attention_mma_forward(l, a, q, k, v, out, lse);
  switch (padded_head_dim(d.D)) {
    case 64:
      launch_attention_forward<64>(l, d, a.batch, q, k, v, out, lse);
      break;
    case 128:
      launch_attention_forward<128>(l, d, a.batch, q, k, v, out, lse);
      break;
    default:
      launch_attention_forward<256>(l, d, a.batch, q, k, v, out, lse);
      break;
  }
}

size_t attention_backward_scratch_bytes(const AttentionArgs& a) {
  if (a.batch <= 0 || a.q_len <= 0) return 0;
  return static_cast<size_t>(a.batch) * static_cast<size_t>(a.q_heads) * static_cast<size_t>(a.q_len) * sizeof(float);
}

void attention_backward(const Launch& l, const AttentionArgs& a, const float* q, const float* k, const float* v,
                        const float* out, const float* lse, const float* dout, float* dq, float* dk, float* dv,
                        float* scratch) {
  if (a.batch <= 0 || a.q_len <= 0) return;
  const bool aligned = aligned16(q) && aligned16(k) && aligned16(v) && aligned16(dout);
  const AttnDims d = attn_dims(a, aligned);
  const int64_t rows = a.batch * a.q_len * a.q_heads;
  attention_dot_kernel<<<blocks_for(rows, kWarpsPerBlock, "attention_backward"), kThreads, 0, l.stream>>>(
      rows, d.q_len, d.q_heads, d.D, out, dout, scratch);
  l.check("attention_backward dout·out kernel");
  if (attention_mma_selected(a, aligned)) return attention_mma_backward(l, a, q, k, v, dout, lse, scratch, dq, dk, dv);
  switch (padded_head_dim(d.D)) {
    case 64:
      launch_attention_backward<64, 4>(l, d, a.batch, q, k, v, dout, lse, scratch, dq, dk, dv);
      break;
    case 128:
      launch_attention_backward<128, 4>(l, d, a.batch, q, k, v, dout, lse, scratch, dq, dk, dv);
      break;
    default:
      launch_attention_backward<256, 2>(l, d, a.batch, q, k, v, dout, lse, scratch, dq, dk, dv);
      break;
  }
}

void swiglu_forward(const Launch& l, int64_t n, const float* gate, const float* up, float* out) {
  if (n <= 0) return;
  swiglu_forward_kernel<<<grid_stride_blocks(n), kThreads, 0, l.stream>>>(n, gate, up, out);
  l.check("swiglu_forward kernel");
}

void swiglu_backward(const Launch& l, int64_t n, const float* gate, const float* up, const float* dout, float* dgate,
                     float* dup) {
  if (n <= 0) return;
  swiglu_backward_kernel<<<grid_stride_blocks(n), kThreads, 0, l.stream>>>(n, gate, up, dout, dgate, dup);
  l.check("swiglu_backward kernel");
}

void embedding_forward(const Launch& l, int64_t T, int64_t C, const int32_t* ids, const void* table,
                       mor_dtype table_type, float* out) {
  if (T <= 0 || C <= 0) return;
  if (table_type == MOR_DTYPE_BF16)
    embedding_forward_kernel<<<row_grid(T), kThreads, 0, l.stream>>>(T, C, ids, static_cast<const uint16_t*>(table),
                                                                     out);
  else if (table_type == MOR_DTYPE_F32)
    embedding_forward_kernel<<<row_grid(T), kThreads, 0, l.stream>>>(T, C, ids, static_cast<const float*>(table), out);
  else
    fail(MOR_ERR_DTYPE, "embedding_forward: table must be F32 or BF16");
  l.check("embedding_forward kernel");
}

size_t embedding_backward_scratch_bytes(int64_t T, int64_t V) {
  if (T <= 0) return 0;
  return embedding_sort_layout(T, V).total;
}

void embedding_backward(const Launch& l, int64_t T, int64_t C, int64_t V, const int32_t* ids, const float* dout,
                        float* dtable, void* scratch, size_t scratch_bytes) {
  if (T <= 0 || C <= 0) return;
  const EmbeddingSort s = embedding_sort_layout(T, V);
  if (scratch == nullptr || scratch_bytes < s.total)
    fail(MOR_ERR_INTERNAL, "embedding_backward: scratch of " + std::to_string(scratch_bytes) + " bytes, needs " +
                               std::to_string(s.total));
  char* base = static_cast<char*>(scratch);
  unsigned* keys = reinterpret_cast<unsigned*>(base + s.keys);
  int* vals_in = reinterpret_cast<int*>(base + s.vals_in);
  int* vals_out = reinterpret_cast<int*>(base + s.vals_out);
  iota_kernel<<<grid_stride_blocks(T), kThreads, 0, l.stream>>>(s.n, vals_in);
  l.check("embedding_backward iota kernel");
  size_t temp_bytes = s.temp_bytes;
  check(cub::DeviceRadixSort::SortPairs(base + s.temp, temp_bytes, reinterpret_cast<const unsigned*>(ids), keys,
                                        static_cast<const int*>(vals_in), vals_out, s.n, 0, s.end_bit, l.stream),
        "cub::DeviceRadixSort::SortPairs");
  l.check("embedding_backward radix sort");
  const int64_t col_tiles = (C + kThreads - 1) / kThreads;
  if (col_tiles > 65535) fail(MOR_ERR_NOT_SUPPORTED, "embedding_backward: C exceeds the CUDA grid limit");
  const dim3 grid(row_grid(T), static_cast<unsigned>(col_tiles));
  embedding_backward_segments_kernel<<<grid, kThreads, 0, l.stream>>>(T, C, keys, vals_out, dout, dtable);
  l.check("embedding_backward segment-sum kernel");
}

void cross_entropy(const Launch& l, int64_t T, int64_t V, float* logits, const int32_t* targets, int32_t ignore_index,
                   float* losses, float grad_scale) {
  if (T <= 0 || V <= 0) return;
  cross_entropy_kernel<<<row_grid(T), kThreads, 0, l.stream>>>(T, V, logits, targets, ignore_index, losses, grad_scale);
  l.check("cross_entropy kernel");
}

void adamw(const Launch& l, int64_t n, float* params, const float* grads, float* m, float* v, const AdamWArgs& hp) {
  if (n <= 0) return;
  AdamWConsts k;
  k.lr = hp.lr;
  k.beta1 = hp.beta1;
  k.beta2 = hp.beta2;
  k.eps = hp.eps;
  k.grad_scale = hp.grad_scale;
  // As the CPU backend: bias corrections from a double pow, decay in float.
  k.bc1 = 1.0f - static_cast<float>(std::pow(static_cast<double>(hp.beta1), static_cast<double>(hp.step)));
  k.bc2 = 1.0f - static_cast<float>(std::pow(static_cast<double>(hp.beta2), static_cast<double>(hp.step)));
  k.decay = 1.0f - hp.lr * hp.weight_decay;
  adamw_kernel<<<grid_stride_blocks(n), kThreads, 0, l.stream>>>(n, params, grads, m, v, k);
  l.check("adamw kernel");
}

size_t sum_squares_scratch_bytes(int64_t n) {
  const int64_t chunks = std::max<int64_t>(1, (n + kReduceChunk - 1) / kReduceChunk);
  return (static_cast<size_t>(chunks) + 1) * sizeof(double);
}

double sum_squares(const Launch& l, int64_t n, const float* x, void* scratch) {
  if (n <= 0) return 0.0;
  const int64_t chunks = (n + kReduceChunk - 1) / kReduceChunk;
  double* partial = static_cast<double*>(scratch);
  double* result = partial + chunks;
  sum_squares_partial_kernel<<<row_grid(chunks), kThreads, 0, l.stream>>>(n, chunks, x, partial);
  l.check("sum_squares partial kernel");
  sum_squares_final_kernel<<<1, kThreads, 0, l.stream>>>(chunks, partial, result);
  l.check("sum_squares final kernel");
  double host = 0.0;
  check(cudaMemcpyAsync(&host, result, sizeof(double), cudaMemcpyDeviceToHost, l.stream),
        "cudaMemcpyAsync (sum_squares result)");
  check(cudaStreamSynchronize(l.stream), "cudaStreamSynchronize (sum_squares)");
  return host;
}

void axpy(const Launch& l, int64_t n, float alpha, const float* x, float* y) {
  if (n <= 0) return;
  axpy_kernel<<<grid_stride_blocks(n), kThreads, 0, l.stream>>>(n, alpha, x, y);
  l.check("axpy kernel");
}

void scale(const Launch& l, int64_t n, float alpha, float* x) {
  if (n <= 0) return;
  scale_kernel<<<grid_stride_blocks(n), kThreads, 0, l.stream>>>(n, alpha, x);
  l.check("scale kernel");
}

void dropout(const Launch& l, int64_t n, uint64_t threshold, float inv_keep, uint64_t seed, uint64_t offset,
             const float* x, float* out) {
  if (n <= 0) return;
  dropout_kernel<<<grid_stride_blocks(n), kThreads, 0, l.stream>>>(n, threshold, inv_keep, seed, offset, x, out);
  l.check("dropout kernel");
}

}  // namespace mor::cuda
