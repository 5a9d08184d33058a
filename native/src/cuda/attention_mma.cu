// BF16 tensor-core flash attention (FlashAttention-2 structure) for sm_80+.
//
// Every kernel runs 4 warps; a warp owns 16 rows of its block's 64-row tile (the m of
// mma.m16n8k16) and keeps its scores, probabilities and output/gradient accumulators in the mma
// accumulator registers. Tiles are read from global memory as float4, rounded to BF16 and stored
// row-major in shared memory with rows padded by 8 elements (16 bytes): the 8 row addresses of an
// ldmatrix then fall on distinct bank quads, so fragment loads are conflict-free. Operands whose
// mma layout is the transpose of the stored one (V in P·V, dO and Q in the dV/dK products, K in dQ)
// come through ldmatrix.trans, so no tile is stored twice.
//
//  forward: block = (64 queries, q head, batch), heaviest (latest) query tiles first; 64-key tiles.
//    Q fragments stay in registers; S = Q·Kᵀ, online softmax in the log2 domain (scale·log2 e
//    folded into one multiply), P is re-packed from the S accumulators straight into A fragments
//    (the C layout of m16n8 equals the A layout of m16k16) for O += P·V.
//  backward: D_i = dout·out first (transformer.cu). dK/dV: block = (64 keys, kv head, batch)
//    loops over the group's q heads and the query tiles that see its keys, in order, computing
//    Sᵀ = K·Qᵀ and dPᵀ = V·dOᵀ, then dV += Pᵀ·dO and dK += dSᵀ·Q. dQ: block = (64 queries, q head,
//    batch) loops over key tiles in order: S, dP, dQ += dS·K. Each gradient element is owned by one
//    thread and added to memory once, so runs repeat bit for bit.
//
// Shared memory (bf16, LD = D + 8): forward 3 tiles of 64 rows (51 KiB at D = 128); dK/dV 2×64 +
// 2×BQ rows plus 2·BQ floats; dQ 4×64 rows (68 KiB at D = 128). Above 48 KiB needs the opt-in.
#include <cuda_bf16.h>

#include <cmath>
#include <string>

#include "cuda/attention_mma.h"
#include "cuda/kernel_common.cuh"
#include "platform/platform.h"

namespace mor::cuda {

namespace {

constexpr int kWarps = 4;
constexpr int kMmaThreads = 32 * kWarps;
constexpr int kTile = 16 * kWarps;  // rows a block owns: 16 per warp
constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

using bf16 = __nv_bfloat16;

struct MmaDims {
  int q_len, kv_len, q_heads, group, off;  // off = kv_len − q_len
  int64_t q_row_stride, kv_row_stride, kv_batch_stride, o_row_stride;
  float scale, scale_log2;  // scale·log2(e): scores go straight into exp2
  bool causal;
};

template <int D>
struct Shape {
  static constexpr int LD = D + 8;   // padded bf16 row: 16 bytes extra keeps ldmatrix conflict-free
  static constexpr int KD = D / 16;  // k-steps over the head dimension
  static constexpr int ND = D / 8;   // n-tiles over the head dimension
  static constexpr size_t rows_bytes(int rows) { return sizeof(bf16) * static_cast<size_t>(rows) * LD; }
};

// ---- fragments ------------------------------------------------------------------------------------

__device__ __forceinline__ uint32_t smem_u32(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// Two floats as one bf16x2 register: the lower column in the low half, as mma expects.
__device__ __forceinline__ uint32_t pack_bf16(float lo, float hi) {
  const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&v);
}

__device__ __forceinline__ void ldsm_x4(uint32_t (&r)[4], const bf16* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_u32(p)));
}

__device__ __forceinline__ void ldsm_x4_trans(uint32_t (&r)[4], const bf16* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_u32(p)));
}

// c (16×8, F32) += a (16×16, row) · b (16×8, col).
__device__ __forceinline__ void mma_bf16(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// ldmatrix.x4 lane roles: lanes 8i..8i+7 give the 8 row addresses of matrix i.
// A fragment of the 16×16 block at (row0, col0) of a row-major tile: matrices (rows 0-7 | 8-15) ×
// (cols 0-7 | 8-15) in the order a0 (r0-7,c0-7), a1 (r8-15,c0-7), a2 (r0-7,c8-15), a3 (r8-15,c8-15).
template <int LD>
__device__ __forceinline__ void load_a(uint32_t (&a)[4], const bf16* s, int row0, int col0) {
  const int lane = threadIdx.x & 31, mi = lane >> 3, r = lane & 7;
  ldsm_x4(a, s + (row0 + (mi & 1) * 8 + r) * LD + col0 + (mi >> 1) * 8);
}

// B fragments of two adjacent n-tiles (n0, n0+8) for the k-step at k0, from a tile stored [n][k]
// (k contiguous: K rows for Q·Kᵀ). b[0], b[1] belong to n-tile n0; b[2], b[3] to n0 + 8.
template <int LD>
__device__ __forceinline__ void load_b_nk(uint32_t (&b)[4], const bf16* s, int n0, int k0) {
  const int lane = threadIdx.x & 31, mi = lane >> 3, r = lane & 7;
  ldsm_x4(b, s + (n0 + (mi >> 1) * 8 + r) * LD + k0 + (mi & 1) * 8);
}

// The same from a tile stored [k][n] (n contiguous: V rows for P·V); ldmatrix.trans hands each
// lane the (k = 2t, 2t+1; n = lane/4) pairs the B layout needs.
template <int LD>
__device__ __forceinline__ void load_b_kn(uint32_t (&b)[4], const bf16* s, int k0, int n0) {
  const int lane = threadIdx.x & 31, mi = lane >> 3, r = lane & 7;
  ldsm_x4_trans(b, s + (k0 + (mi & 1) * 8 + r) * LD + n0 + (mi >> 1) * 8);
}

// A fragment for the k-step `kk` (16 columns) of a product whose left operand is a 16×N
// accumulator (n-tiles 2kk and 2kk+1): the m16n8 C layout is the m16k16 A layout, halves side by side.
template <int NT>
__device__ __forceinline__ void acc_to_a(uint32_t (&a)[4], const float (&c)[NT][4], int kk) {
  a[0] = pack_bf16(c[2 * kk][0], c[2 * kk][1]);
  a[1] = pack_bf16(c[2 * kk][2], c[2 * kk][3]);
  a[2] = pack_bf16(c[2 * kk + 1][0], c[2 * kk + 1][1]);
  a[3] = pack_bf16(c[2 * kk + 1][2], c[2 * kk + 1][3]);
}

// R rows × D floats (row r at src + r·ld; rows >= rows_valid read as zero, so padded keys and
// queries contribute exact zeros) into a bf16 [R][D + 8] tile. Called by the whole block.
template <int R, int D>
__device__ __forceinline__ void load_tile(bf16* s, const float* __restrict__ src, int64_t ld, int rows_valid) {
  constexpr int C4 = D / 4, N = R * C4, LD = D + 8;
  static_assert(N % kMmaThreads == 0, "tile must split evenly over the block");
  // 4 float4 loads in flight a thread: full unrolling would hold a whole tile in registers and
  // push the forward kernel to 255 registers (2 blocks an SM).
#pragma unroll 4
  for (int i = 0; i < N / kMmaThreads; ++i) {
    const int idx = threadIdx.x + i * kMmaThreads;
    const int r = idx / C4, c = (idx - r * C4) * 4;
    float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    if (r < rows_valid) v = __ldg(reinterpret_cast<const float4*>(src + r * ld + c));
    *reinterpret_cast<uint2*>(s + r * LD + c) = make_uint2(pack_bf16(v.x, v.y), pack_bf16(v.z, v.w));
  }
}

__device__ __forceinline__ float quad_max(float v) {
  v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 1));
  return fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 2));
}
__device__ __forceinline__ float quad_sum(float v) {
  v += __shfl_xor_sync(0xffffffffu, v, 1);
  return v + __shfl_xor_sync(0xffffffffu, v, 2);
}

// Accumulator element e of n-tile nt (lane = 4g + tq) sits at row g + 8·(e >> 1), column
// nt·8 + 2·tq + (e & 1) of the warp's 16-row slice.

// ---- forward ----------------------------------------------------------------------------------------

template <int D>
__global__ void __launch_bounds__(kMmaThreads)
    attention_mma_forward_kernel(MmaDims d, const float* __restrict__ q, const float* __restrict__ k,
                                 const float* __restrict__ v, float* __restrict__ out, float* __restrict__ lse) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  using S = Shape<D>;
  constexpr int LD = S::LD, KD = S::KD, ND = S::ND, NS = kTile / 8, KS = kTile / 16;
  extern __shared__ uint4 smem_u4[];
  bf16* Qs = reinterpret_cast<bf16*>(smem_u4);
  bf16* Ks = Qs + kTile * LD;
  bf16* Vs = Ks + kTile * LD;

  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, tq = lane & 3;
  const int b = blockIdx.z, h = blockIdx.y, kvh = h / d.group;
  const int q0 = (gridDim.x - 1 - blockIdx.x) * kTile;  // heaviest (latest) query tiles first
  const int nq = min(kTile, d.q_len - q0);
  const int row0 = q0 + warp * 16 + g;  // this thread's rows: row0 and row0 + 8
  load_tile<kTile, D>(Qs, q + (static_cast<int64_t>(b) * d.q_len + q0) * d.q_row_stride + static_cast<int64_t>(h) * D,
                      d.q_row_stride, nq);
  const int64_t kv_base = static_cast<int64_t>(b) * d.kv_batch_stride + static_cast<int64_t>(kvh) * D;
  __syncthreads();
  uint32_t qa[KD][4];
#pragma unroll
  for (int kd = 0; kd < KD; ++kd) load_a<LD>(qa[kd], Qs, warp * 16, kd * 16);

  const int kend = d.causal ? min(d.kv_len, d.off + q0 + nq) : d.kv_len;
  const int warp_last = q0 + warp * 16 + 15;  // the warp's latest row: it sees the most keys

  float o[ND][4], m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};
#pragma unroll
  for (int n = 0; n < ND; ++n) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.0f;

  for (int k0 = 0; k0 < kend; k0 += kTile) {
    const int nk = min(kTile, kend - k0);
    __syncthreads();  // the previous tile's (and Q's) readers are done
    load_tile<kTile, D>(Ks, k + kv_base + static_cast<int64_t>(k0) * d.kv_row_stride, d.kv_row_stride, nk);
    load_tile<kTile, D>(Vs, v + kv_base + static_cast<int64_t>(k0) * d.kv_row_stride, d.kv_row_stride, nk);
    __syncthreads();
    if (d.causal && k0 > d.off + warp_last) continue;  // all masked for this warp (warp-uniform)

    float s[NS][4];
#pragma unroll
    for (int n = 0; n < NS; ++n) s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.0f;
#pragma unroll
    for (int kd = 0; kd < KD; ++kd)
#pragma unroll
      for (int np = 0; np < NS / 2; ++np) {
        uint32_t kb[4];
        load_b_nk<LD>(kb, Ks, np * 16, kd * 16);
        mma_bf16(s[2 * np], qa[kd], kb[0], kb[1]);
        mma_bf16(s[2 * np + 1], qa[kd], kb[2], kb[3]);
      }

    // Online softmax in the log2 domain; a row's 64 scores are spread over the 4 lanes of a quad.
    float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int n = 0; n < NS; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int key = k0 + n * 8 + 2 * tq + (e & 1), row = row0 + 8 * (e >> 1);
        const bool ok = key < kend && (!d.causal || key <= d.off + row);
        s[n][e] = ok ? s[n][e] * d.scale_log2 : -INFINITY;
        mx[e >> 1] = fmaxf(mx[e >> 1], s[n][e]);
      }
    float corr[2];
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const float mn = fmaxf(m[i], quad_max(mx[i]));
      corr[i] = mn == -INFINITY ? 1.0f : exp2f(m[i] - mn);
      m[i] = mn;
      l[i] *= corr[i];
    }
#pragma unroll
    for (int n = 0; n < NS; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const float p = s[n][e] == -INFINITY ? 0.0f : exp2f(s[n][e] - m[e >> 1]);
        s[n][e] = p;
        l[e >> 1] += p;  // this lane's share of the row sum; the quad is summed at the end
      }
#pragma unroll
    for (int n = 0; n < ND; ++n) {
      o[n][0] *= corr[0], o[n][1] *= corr[0];
      o[n][2] *= corr[1], o[n][3] *= corr[1];
    }

#pragma unroll
    for (int kk = 0; kk < KS; ++kk) {
      uint32_t pa[4];
      acc_to_a<NS>(pa, s, kk);
#pragma unroll
      for (int np = 0; np < ND / 2; ++np) {
        uint32_t vb[4];
        load_b_kn<LD>(vb, Vs, kk * 16, np * 16);
        mma_bf16(o[2 * np], pa, vb[0], vb[1]);
        mma_bf16(o[2 * np + 1], pa, vb[2], vb[3]);
      }
    }
  }

#pragma unroll
  for (int i = 0; i < 2; ++i) {
    const float lt = quad_sum(l[i]);  // every row has >= 1 visible key (key 0), so lt >= 1
    const int row = row0 + 8 * i;
    if (row - q0 >= nq) continue;
    float* orow = out + ((static_cast<int64_t>(b) * d.q_len + row) * d.q_heads + h) * D + 2 * tq;
    const float inv = 1.0f / lt;
#pragma unroll
    for (int n = 0; n < ND; ++n)
      *reinterpret_cast<float2*>(orow + n * 8) = make_float2(o[n][2 * i] * inv, o[n][2 * i + 1] * inv);
    if (tq == 0) lse[(static_cast<int64_t>(b) * d.q_heads + h) * d.q_len + row] = m[i] * kLn2 + logf(lt);
  }
#else
  __trap();  // never launched: attention_mma_selected requires compute capability 8.0
#endif
}

// ---- backward: dK and dV ----------------------------------------------------------------------------

template <int D, int BQ>
struct KvShape {
  static constexpr size_t bytes =
      Shape<D>::rows_bytes(2 * kTile + 2 * BQ) + sizeof(float) * 2 * static_cast<size_t>(BQ);
};

template <int D, int BQ>
__global__ void __launch_bounds__(kMmaThreads)
    attention_mma_backward_kv_kernel(MmaDims d, const float* __restrict__ q, const float* __restrict__ k,
                                     const float* __restrict__ v, const float* __restrict__ dout,
                                     const float* __restrict__ lse, const float* __restrict__ di, float* dk,
                                     float* dv) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  using S = Shape<D>;
  constexpr int LD = S::LD, KD = S::KD, ND = S::ND, NQ = BQ / 8, KQ = BQ / 16;
  extern __shared__ uint4 smem_u4[];
  bf16* Ks = reinterpret_cast<bf16*>(smem_u4);
  bf16* Vs = Ks + kTile * LD;
  bf16* Qs = Vs + kTile * LD;
  bf16* Os = Qs + BQ * LD;                              // dout rows
  float* L2s = reinterpret_cast<float*>(Os + BQ * LD);  // lse·log2 e of the tile's queries
  float* Dis = L2s + BQ;                                // D_i of the tile's queries

  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, tq = lane & 3;
  const int b = blockIdx.z, kvh = blockIdx.y;
  const int k0 = blockIdx.x * kTile;  // key tile 0 sees the most queries: heaviest blocks first
  const int nk = min(kTile, d.kv_len - k0);
  const int key0 = k0 + warp * 16 + g;  // this thread's keys: key0 and key0 + 8
  const int64_t kv_base = static_cast<int64_t>(b) * d.kv_batch_stride + static_cast<int64_t>(kvh) * D;
  load_tile<kTile, D>(Ks, k + kv_base + static_cast<int64_t>(k0) * d.kv_row_stride, d.kv_row_stride, nk);
  load_tile<kTile, D>(Vs, v + kv_base + static_cast<int64_t>(k0) * d.kv_row_stride, d.kv_row_stride, nk);

  float dka[ND][4], dva[ND][4];
#pragma unroll
  for (int n = 0; n < ND; ++n)
#pragma unroll
    for (int e = 0; e < 4; ++e) dka[n][e] = dva[n][e] = 0.0f;

  // The first query that sees key k0, rounded down to a tile boundary.
  const int t_first = d.causal ? max(0, k0 - d.off) : 0;
  const int t_begin = t_first / BQ * BQ;
  const int warp_first_key = k0 + warp * 16;

  for (int hh = 0; hh < d.group; ++hh) {
    const int h = kvh * d.group + hh;
    const float* qb = q + static_cast<int64_t>(b) * d.q_len * d.q_row_stride + static_cast<int64_t>(h) * D;
    const float* ob = dout + static_cast<int64_t>(b) * d.q_len * d.o_row_stride + static_cast<int64_t>(h) * D;
    const float* lb = lse + (static_cast<int64_t>(b) * d.q_heads + h) * d.q_len;
    const float* db = di + (static_cast<int64_t>(b) * d.q_heads + h) * d.q_len;
    for (int t0 = t_begin; t0 < d.q_len; t0 += BQ) {
      const int nq = min(BQ, d.q_len - t0);
      __syncthreads();  // K/V visible (first pass); the previous tile's readers are done
      load_tile<BQ, D>(Qs, qb + static_cast<int64_t>(t0) * d.q_row_stride, d.q_row_stride, nq);
      load_tile<BQ, D>(Os, ob + static_cast<int64_t>(t0) * d.o_row_stride, d.o_row_stride, nq);
      for (int i = threadIdx.x; i < BQ; i += kMmaThreads) {
        L2s[i] = i < nq ? lb[t0 + i] * kLog2e : 0.0f;
        Dis[i] = i < nq ? db[t0 + i] : 0.0f;
      }
      __syncthreads();
      // No query of this tile sees the warp's keys (warp-uniform).
      if (d.causal && warp_first_key > d.off + t0 + BQ - 1) continue;

      // Sᵀ = K·Qᵀ and dPᵀ = V·dOᵀ: rows are this warp's 16 keys, columns the BQ queries.
      float s[NQ][4], dp[NQ][4];
#pragma unroll
      for (int n = 0; n < NQ; ++n)
#pragma unroll
        for (int e = 0; e < 4; ++e) s[n][e] = dp[n][e] = 0.0f;
#pragma unroll
      for (int kd = 0; kd < KD; ++kd) {
        uint32_t ka[4], va[4];
        load_a<LD>(ka, Ks, warp * 16, kd * 16);
        load_a<LD>(va, Vs, warp * 16, kd * 16);
#pragma unroll
        for (int np = 0; np < NQ / 2; ++np) {
          uint32_t qb4[4], ob4[4];
          load_b_nk<LD>(qb4, Qs, np * 16, kd * 16);
          load_b_nk<LD>(ob4, Os, np * 16, kd * 16);
          mma_bf16(s[2 * np], ka, qb4[0], qb4[1]);
          mma_bf16(s[2 * np + 1], ka, qb4[2], qb4[3]);
          mma_bf16(dp[2 * np], va, ob4[0], ob4[1]);
          mma_bf16(dp[2 * np + 1], va, ob4[2], ob4[3]);
        }
      }

      // Pᵀ and dSᵀ = Pᵀ ⊙ (dPᵀ − D)·scale, in place.
#pragma unroll
      for (int n = 0; n < NQ; ++n)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int key = key0 + 8 * (e >> 1), tl = n * 8 + 2 * tq + (e & 1), t = t0 + tl;
          const bool ok = tl < nq && key < d.kv_len && (!d.causal || key <= d.off + t);
          const float p = ok ? exp2f(s[n][e] * d.scale_log2 - L2s[tl]) : 0.0f;
          dp[n][e] = ok ? p * (dp[n][e] - Dis[tl]) * d.scale : 0.0f;
          s[n][e] = p;
        }

        // dV += Pᵀ·dO and dK += dSᵀ·Q: k runs over the tile's queries, n over the head dimension.
#pragma unroll
      for (int kk = 0; kk < KQ; ++kk) {
        uint32_t pa[4], sa[4];
        acc_to_a<NQ>(pa, s, kk);
        acc_to_a<NQ>(sa, dp, kk);
#pragma unroll
        for (int np = 0; np < ND / 2; ++np) {
          uint32_t ob4[4], qb4[4];
          load_b_kn<LD>(ob4, Os, kk * 16, np * 16);
          load_b_kn<LD>(qb4, Qs, kk * 16, np * 16);
          mma_bf16(dva[2 * np], pa, ob4[0], ob4[1]);
          mma_bf16(dva[2 * np + 1], pa, ob4[2], ob4[3]);
          mma_bf16(dka[2 * np], sa, qb4[0], qb4[1]);
          mma_bf16(dka[2 * np + 1], sa, qb4[2], qb4[3]);
        }
      }
    }
  }

#pragma unroll
  for (int i = 0; i < 2; ++i) {
    const int key = key0 + 8 * i;
    if (key - k0 >= nk) continue;
    const int64_t row = kv_base + static_cast<int64_t>(key) * d.kv_row_stride + 2 * tq;
#pragma unroll
    for (int n = 0; n < ND; ++n) {
      dk[row + n * 8] += dka[n][2 * i];
      dk[row + n * 8 + 1] += dka[n][2 * i + 1];
      dv[row + n * 8] += dva[n][2 * i];
      dv[row + n * 8 + 1] += dva[n][2 * i + 1];
    }
  }
#else
  __trap();
#endif
}

// ---- backward: dQ -----------------------------------------------------------------------------------

template <int D>
__global__ void __launch_bounds__(kMmaThreads)
    attention_mma_backward_q_kernel(MmaDims d, const float* __restrict__ q, const float* __restrict__ k,
                                    const float* __restrict__ v, const float* __restrict__ dout,
                                    const float* __restrict__ lse, const float* __restrict__ di, float* dq) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  using S = Shape<D>;
  constexpr int LD = S::LD, KD = S::KD, ND = S::ND, NK = kTile / 8, KK = kTile / 16;
  extern __shared__ uint4 smem_u4[];
  bf16* Qs = reinterpret_cast<bf16*>(smem_u4);
  bf16* Os = Qs + kTile * LD;
  bf16* Ks = Os + kTile * LD;
  bf16* Vs = Ks + kTile * LD;

  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, tq = lane & 3;
  const int b = blockIdx.z, h = blockIdx.y, kvh = h / d.group;
  const int q0 = (gridDim.x - 1 - blockIdx.x) * kTile;
  const int nq = min(kTile, d.q_len - q0);
  const int row0 = q0 + warp * 16 + g;  // this thread's rows: row0 and row0 + 8
  load_tile<kTile, D>(Qs, q + (static_cast<int64_t>(b) * d.q_len + q0) * d.q_row_stride + static_cast<int64_t>(h) * D,
                      d.q_row_stride, nq);
  load_tile<kTile, D>(Os,
                      dout + (static_cast<int64_t>(b) * d.q_len + q0) * d.o_row_stride + static_cast<int64_t>(h) * D,
                      d.o_row_stride, nq);
  const int64_t kv_base = static_cast<int64_t>(b) * d.kv_batch_stride + static_cast<int64_t>(kvh) * D;
  const int64_t stat = (static_cast<int64_t>(b) * d.q_heads + h) * d.q_len;
  float L2[2], Dr[2];
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    const int row = row0 + 8 * i;
    L2[i] = row - q0 < nq ? lse[stat + row] * kLog2e : 0.0f;
    Dr[i] = row - q0 < nq ? di[stat + row] : 0.0f;
  }

  float dqa[ND][4];
#pragma unroll
  for (int n = 0; n < ND; ++n) dqa[n][0] = dqa[n][1] = dqa[n][2] = dqa[n][3] = 0.0f;

  const int kend = d.causal ? min(d.kv_len, d.off + q0 + nq) : d.kv_len;
  const int warp_last = q0 + warp * 16 + 15;
  for (int k0 = 0; k0 < kend; k0 += kTile) {
    const int nk = min(kTile, kend - k0);
    __syncthreads();  // Q/dout visible (first tile); the previous tile's readers are done
    load_tile<kTile, D>(Ks, k + kv_base + static_cast<int64_t>(k0) * d.kv_row_stride, d.kv_row_stride, nk);
    load_tile<kTile, D>(Vs, v + kv_base + static_cast<int64_t>(k0) * d.kv_row_stride, d.kv_row_stride, nk);
    __syncthreads();
    if (d.causal && k0 > d.off + warp_last) continue;  // all masked for this warp (warp-uniform)

    float s[NK][4], dp[NK][4];
#pragma unroll
    for (int n = 0; n < NK; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) s[n][e] = dp[n][e] = 0.0f;
#pragma unroll
    for (int kd = 0; kd < KD; ++kd) {
      uint32_t qa[4], oa[4];
      load_a<LD>(qa, Qs, warp * 16, kd * 16);
      load_a<LD>(oa, Os, warp * 16, kd * 16);
#pragma unroll
      for (int np = 0; np < NK / 2; ++np) {
        uint32_t kb[4], vb[4];
        load_b_nk<LD>(kb, Ks, np * 16, kd * 16);
        load_b_nk<LD>(vb, Vs, np * 16, kd * 16);
        mma_bf16(s[2 * np], qa, kb[0], kb[1]);
        mma_bf16(s[2 * np + 1], qa, kb[2], kb[3]);
        mma_bf16(dp[2 * np], oa, vb[0], vb[1]);
        mma_bf16(dp[2 * np + 1], oa, vb[2], vb[3]);
      }
    }

    // dS = P ⊙ (dP − D)·scale, in place of dP.
#pragma unroll
    for (int n = 0; n < NK; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int i = e >> 1, row = row0 + 8 * i, key = k0 + n * 8 + 2 * tq + (e & 1);
        const bool ok = row - q0 < nq && key < kend && (!d.causal || key <= d.off + row);
        const float p = ok ? exp2f(s[n][e] * d.scale_log2 - L2[i]) : 0.0f;
        dp[n][e] = ok ? p * (dp[n][e] - Dr[i]) * d.scale : 0.0f;
      }

      // dQ += dS·K: k runs over the tile's keys, n over the head dimension (K read transposed).
#pragma unroll
    for (int kk = 0; kk < KK; ++kk) {
      uint32_t sa[4];
      acc_to_a<NK>(sa, dp, kk);
#pragma unroll
      for (int np = 0; np < ND / 2; ++np) {
        uint32_t kb[4];
        load_b_kn<LD>(kb, Ks, kk * 16, np * 16);
        mma_bf16(dqa[2 * np], sa, kb[0], kb[1]);
        mma_bf16(dqa[2 * np + 1], sa, kb[2], kb[3]);
      }
    }
  }

#pragma unroll
  for (int i = 0; i < 2; ++i) {
    const int row = row0 + 8 * i;
    if (row - q0 >= nq) continue;
    float* dst = dq + (static_cast<int64_t>(b) * d.q_len + row) * d.q_row_stride + static_cast<int64_t>(h) * D + 2 * tq;
#pragma unroll
    for (int n = 0; n < ND; ++n) {
      dst[n * 8] += dqa[n][2 * i];
      dst[n * 8 + 1] += dqa[n][2 * i + 1];
    }
  }
#else
  __trap();
#endif
}

// ---- host side --------------------------------------------------------------------------------------

// Query-tile rows of the dK/dV kernel: at D = 128 its dK and dV accumulators already take 128
// registers a thread, so the Sᵀ/dPᵀ tiles are kept to 32 queries (32 more) to stay clear of spills.
template <int D>
constexpr int kv_query_rows() {
  return D <= 64 ? 64 : 32;
}

MmaDims mma_dims(const AttentionArgs& a) {
  MmaDims d;
  d.q_len = static_cast<int>(a.q_len);
  d.kv_len = static_cast<int>(a.kv_len);
  d.q_heads = static_cast<int>(a.q_heads);
  d.group = static_cast<int>(a.q_heads / a.kv_heads);
  d.off = d.kv_len - d.q_len;
  d.q_row_stride = a.q_row_stride;
  d.kv_row_stride = a.kv_row_stride;
  d.kv_batch_stride = a.kv_batch_stride;
  d.o_row_stride = a.q_heads * a.head_dim;  // out and dout are dense
  d.scale = a.scale;
  d.scale_log2 = a.scale * kLog2e;
  d.causal = a.causal;
  return d;
}

unsigned tiles(int64_t n) { return static_cast<unsigned>((n + kTile - 1) / kTile); }

template <int D>
void launch_forward(const Launch& l, const AttentionArgs& a, const float* q, const float* k, const float* v, float* out,
                    float* lse) {
  const size_t bytes = Shape<D>::rows_bytes(3 * kTile);
  allow_shared(attention_mma_forward_kernel<D>, bytes, "attention_forward (tensor cores)");
  const dim3 grid(tiles(a.q_len), static_cast<unsigned>(a.q_heads), static_cast<unsigned>(a.batch));
  attention_mma_forward_kernel<D><<<grid, kMmaThreads, bytes, l.stream>>>(mma_dims(a), q, k, v, out, lse);
  l.check("attention_forward tensor-core kernel");
}

template <int D>
void launch_backward(const Launch& l, const AttentionArgs& a, const float* q, const float* k, const float* v,
                     const float* dout, const float* lse, const float* di, float* dq, float* dk, float* dv) {
  constexpr int BQ = kv_query_rows<D>();
  const MmaDims d = mma_dims(a);
  const size_t kv_bytes = KvShape<D, BQ>::bytes;
  allow_shared(attention_mma_backward_kv_kernel<D, BQ>, kv_bytes, "attention_backward dK/dV (tensor cores)");
  const dim3 kv_grid(tiles(a.kv_len), static_cast<unsigned>(a.kv_heads), static_cast<unsigned>(a.batch));
  attention_mma_backward_kv_kernel<D, BQ>
      <<<kv_grid, kMmaThreads, kv_bytes, l.stream>>>(d, q, k, v, dout, lse, di, dk, dv);
  l.check("attention_backward dK/dV tensor-core kernel");
  const size_t q_bytes = Shape<D>::rows_bytes(4 * kTile);
  allow_shared(attention_mma_backward_q_kernel<D>, q_bytes, "attention_backward dQ (tensor cores)");
  const dim3 q_grid(tiles(a.q_len), static_cast<unsigned>(a.q_heads), static_cast<unsigned>(a.batch));
  attention_mma_backward_q_kernel<D><<<q_grid, kMmaThreads, q_bytes, l.stream>>>(d, q, k, v, dout, lse, di, dq);
  l.check("attention_backward dQ tensor-core kernel");
}

// MOR_ATTENTION=f32 keeps the F32 kernels even where reduced precision is allowed (read once).
bool env_allows_mma() {
  static const bool allowed = platform::getenv_string("MOR_ATTENTION") != "f32";
  return allowed;
}

bool device_has_bf16_mma() {
  int dev = 0, major = 0;
  check(cudaGetDevice(&dev), "cudaGetDevice");
  check(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev), "cudaDeviceGetAttribute");
  return major >= 8;
}

}  // namespace

bool attention_mma_selected(const AttentionArgs& a, bool aligned_ptrs) {
  if (!a.reduced_precision || !env_allows_mma()) return false;
  if (a.head_dim != 64 && a.head_dim != 128) return false;
  if (a.q_len < 16 || !aligned_ptrs) return false;
  if (a.q_row_stride % 4 != 0 || a.kv_row_stride % 4 != 0 || (a.batch > 1 && a.kv_batch_stride % 4 != 0)) return false;
  return device_has_bf16_mma();
}

void attention_mma_forward(const Launch& l, const AttentionArgs& a, const float* q, const float* k, const float* v,
                           float* out, float* lse) {
  if (a.head_dim == 64)
    launch_forward<64>(l, a, q, k, v, out, lse);
  else
    launch_forward<128>(l, a, q, k, v, out, lse);
}

void attention_mma_backward(const Launch& l, const AttentionArgs& a, const float* q, const float* k, const float* v,
                            const float* dout, const float* lse, const float* di, float* dq, float* dk, float* dv) {
  if (a.head_dim == 64)
    launch_backward<64>(l, a, q, k, v, dout, lse, di, dq, dk, dv);
  else
    launch_backward<128>(l, a, q, k, v, dout, lse, di, dq, dk, dv);
}

}  // namespace mor::cuda
