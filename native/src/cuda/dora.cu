// DoRA (MOR.md §4, PEFT semantics with the norm detached): the frozen weight's row norms, the
// adapted row norm n_j, the column scaling y = (m/n)⊙u and its backward.
// Launch shapes: one warp per row for the row reductions; 256-thread column tiles × token tiles
// for the T×d_out scalings (float4 when d_out % 4 == 0 and the pointers are 16-byte aligned).
#include "common/float16.h"
#include "cuda/kernel_common.cuh"
#include "cuda/kernels.h"

namespace mor::cuda {

namespace {

// Rows per block of dora_scale_forward (token tile), and tokens per partial sum of the two-phase
// dm reduction (a constant of the algorithm: dm's bits depend only on T, never on the GPU).
constexpr int64_t kScaleRows = 8;
constexpr int64_t kDmChunk = 32;
// dora_norm stages A·Aᵀ in shared memory (rows padded to r+1 floats: conflict-free column reads)
// up to this rank; larger ranks read it through L1.
constexpr int kGramSharedMaxRank = 96;

// Σ_j w[i,j]² accumulated in double (a constant computed once per model load, as on the CPU).
template <typename W>
__global__ void row_norm2_kernel(int64_t rows, int64_t cols, const W* __restrict__ w, float* __restrict__ out) {
  const int lane = threadIdx.x & 31;
  const int64_t i = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + (threadIdx.x >> 5);
  if (i >= rows) return;
  const W* wi = w + i * cols;
  double s = 0.0;
  for (int64_t j = lane; j < cols; j += 32) {
    float v;
    if constexpr (sizeof(W) == 2)
      v = bf16_to_f32(wi[j]);
    else
      v = wi[j];
    s += static_cast<double>(v) * v;
  }
  s = warp_sum(s);
  if (lane == 0) out[i] = static_cast<float>(s);
}

// n_j = sqrt(max(0, ‖W_j‖² + 2s·B_j·(WAᵀ)_j + s²·B_j G B_jᵀ)), G = A·Aᵀ. One warp per row j;
// lane k forms (G B_jᵀ)_k = Σ_l G[k,l]·B[j,l] in l order (the CPU's order).
template <bool kSharedGram>
__global__ void dora_norm_kernel(int64_t d_out, int r, float scale, const float* __restrict__ w_norm2,
                                 const float* __restrict__ b, const float* __restrict__ wat,
                                 const float* __restrict__ gram, float* __restrict__ norm) {
  extern __shared__ float gram_s[];
  const int lane = threadIdx.x & 31;
  const int64_t j_raw = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + (threadIdx.x >> 5);
  const bool active = j_raw < d_out;
  const int64_t j = active ? j_raw : 0;
  const float* bj = b + j * r;
  const float* watj = wat + j * r;
  // The row's own values are requested before the block waits for the staged A·Aᵀ.
  const float b_first = lane < r ? bj[lane] : 0.0f;
  const float wat_first = lane < r ? watj[lane] : 0.0f;
  const float wn = w_norm2[j];
  const int ldg = kSharedGram ? r + 1 : r;
  if (kSharedGram) {
    for (int e = threadIdx.x; e < r * r; e += blockDim.x) gram_s[(e / r) * ldg + e % r] = gram[e];
    __syncthreads();
  }
  if (!active) return;  // after the only __syncthreads
  const float* G = kSharedGram ? gram_s : gram;
  float cross = 0.0f, quad = 0.0f;
  for (int k = lane; k < r; k += 32) {
    const float bk = k < 32 ? b_first : bj[k];
    const float* gk = G + k * ldg;
    float t = 0.0f;
#pragma unroll 8
    for (int l = 0; l < r; ++l) t += gk[l] * bj[l];
    cross += bk * (k < 32 ? wat_first : watj[k]);
    quad += bk * t;
  }
  cross = warp_sum(cross);
  quad = warp_sum(quad);
  if (lane == 0) {
    const float n2 = wn + 2.0f * scale * cross + scale * scale * quad;
    norm[j] = sqrtf(fmaxf(n2, 0.0f));
  }
}

template <int V>
struct VecF;
template <>
struct VecF<1> {
  using type = float;
};
template <>
struct VecF<4> {
  using type = float4;
};

// y[t,j] = (m_j / n_j)·u[t,j]. Thread = V adjacent columns; the scale is computed once per thread
// and applied down a tile of kScaleRows tokens (grid-stride over token tiles).
template <int V>
__global__ void dora_scale_forward_kernel(int64_t T, int64_t d_out, const float* __restrict__ m,
                                          const float* __restrict__ norm, const float* __restrict__ u,
                                          float* __restrict__ y) {
  using Vec = typename VecF<V>::type;
  const int64_t col = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) * V;
  if (col >= d_out) return;
  float c[V];
#pragma unroll
  for (int v = 0; v < V; ++v) c[v] = m[col + v] / norm[col + v];
  for (int64_t t0 = blockIdx.y * kScaleRows; t0 < T; t0 += static_cast<int64_t>(gridDim.y) * kScaleRows) {
    const int64_t t1 = t0 + kScaleRows < T ? t0 + kScaleRows : T;
    for (int64_t t = t0; t < t1; ++t) {
      Vec x = *reinterpret_cast<const Vec*>(u + t * d_out + col);
      float* xf = reinterpret_cast<float*>(&x);
#pragma unroll
      for (int v = 0; v < V; ++v) xf[v] = c[v] * xf[v];
      *reinterpret_cast<Vec*>(y + t * d_out + col) = x;
    }
  }
}

// du[t,j] = dy[t,j]·(m_j/n_j) and phase 1 of dm: partial[chunk, j] = Σ_{t in chunk, in order} dy·u.
// Grid (column tiles, chunks) with grid-stride over chunks.
template <int V>
__global__ void dora_scale_backward_kernel(int64_t T, int64_t d_out, const float* __restrict__ m,
                                           const float* __restrict__ norm, const float* __restrict__ u,
                                           const float* __restrict__ dy, float* __restrict__ du,
                                           float* __restrict__ partial) {
  using Vec = typename VecF<V>::type;
  const int64_t col = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) * V;
  if (col >= d_out) return;
  float c[V];
#pragma unroll
  for (int v = 0; v < V; ++v) c[v] = m[col + v] / norm[col + v];
  const int64_t chunks = (T + kDmChunk - 1) / kDmChunk;
  for (int64_t q = blockIdx.y; q < chunks; q += gridDim.y) {
    const int64_t t0 = q * kDmChunk, t1 = t0 + kDmChunk < T ? t0 + kDmChunk : T;
    float acc[V];
#pragma unroll
    for (int v = 0; v < V; ++v) acc[v] = 0.0f;
    for (int64_t t = t0; t < t1; ++t) {
      Vec g = *reinterpret_cast<const Vec*>(dy + t * d_out + col);
      const Vec x = *reinterpret_cast<const Vec*>(u + t * d_out + col);
      float* gf = reinterpret_cast<float*>(&g);
      const float* xf = reinterpret_cast<const float*>(&x);
#pragma unroll
      for (int v = 0; v < V; ++v) {
        acc[v] += gf[v] * xf[v];
        gf[v] = gf[v] * c[v];
      }
      *reinterpret_cast<Vec*>(du + t * d_out + col) = g;
    }
#pragma unroll
    for (int v = 0; v < V; ++v) partial[q * d_out + col + v] = acc[v];
  }
}

// Phase 2 of dm: dm_j += (Σ_chunks partial, in chunk order) / n_j. Thread per column.
__global__ void dm_finish_kernel(int64_t d_out, int64_t chunks, const float* __restrict__ norm,
                                 const float* __restrict__ partial, float* __restrict__ dm) {
  const int64_t j = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (j >= d_out) return;
  float s = 0.0f;
#pragma unroll 8
  for (int64_t q = 0; q < chunks; ++q) s += partial[q * d_out + j];
  dm[j] += s / norm[j];
}

bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15u) == 0; }

}  // namespace

void row_norm2(const Launch& l, int64_t rows, int64_t cols, const void* w, mor_dtype w_type, float* out) {
  if (rows <= 0) return;
  const unsigned blocks = blocks_for(rows, kWarpsPerBlock, "row_norm2");
  if (w_type == MOR_DTYPE_BF16)
    row_norm2_kernel<<<blocks, kThreads, 0, l.stream>>>(rows, cols, static_cast<const uint16_t*>(w), out);
  else if (w_type == MOR_DTYPE_F32)
    row_norm2_kernel<<<blocks, kThreads, 0, l.stream>>>(rows, cols, static_cast<const float*>(w), out);
  else
    fail(MOR_ERR_DTYPE, "row_norm2: weight must be F32 or BF16");
  l.check("row_norm2 kernel");
}

void dora_norm(const Launch& l, int64_t d_out, int64_t r, float scale, const float* w_norm2, const float* b,
               const float* wat, const float* gram, float* norm) {
  if (d_out <= 0) return;
  const int ri = checked_int(r, "rank r");
  checked_int(r * r, "r²");
  const unsigned blocks = blocks_for(d_out, kWarpsPerBlock, "dora_norm");
  if (ri <= kGramSharedMaxRank) {
    const size_t shmem = static_cast<size_t>(ri) * (ri + 1) * sizeof(float);
    dora_norm_kernel<true><<<blocks, kThreads, shmem, l.stream>>>(d_out, ri, scale, w_norm2, b, wat, gram, norm);
  } else {
    dora_norm_kernel<false><<<blocks, kThreads, 0, l.stream>>>(d_out, ri, scale, w_norm2, b, wat, gram, norm);
  }
  l.check("dora_norm kernel");
}

void dora_scale_forward(const Launch& l, int64_t T, int64_t d_out, const float* m, const float* norm, const float* u,
                        float* y) {
  if (T <= 0 || d_out <= 0) return;
  const bool vec = d_out % 4 == 0 && aligned16(u) && aligned16(y);
  const int V = vec ? 4 : 1;
  const unsigned col_blocks = blocks_for((d_out + V - 1) / V, kThreads, "dora_scale_forward");
  const unsigned row_blocks = static_cast<unsigned>(std::min<int64_t>((T + kScaleRows - 1) / kScaleRows, 65535));
  const dim3 grid(col_blocks, row_blocks);
  if (vec)
    dora_scale_forward_kernel<4><<<grid, kThreads, 0, l.stream>>>(T, d_out, m, norm, u, y);
  else
    dora_scale_forward_kernel<1><<<grid, kThreads, 0, l.stream>>>(T, d_out, m, norm, u, y);
  l.check("dora_scale_forward kernel");
}

size_t dora_scale_backward_scratch_bytes(int64_t T, int64_t d_out) {
  return static_cast<size_t>((T + kDmChunk - 1) / kDmChunk) * static_cast<size_t>(d_out) * sizeof(float);
}

void dora_scale_backward(const Launch& l, int64_t T, int64_t d_out, const float* m, const float* norm, const float* u,
                         const float* dy, float* du, float* dm, float* scratch) {
  if (T <= 0 || d_out <= 0) return;  // du is empty and dm gains nothing
  const bool vec = d_out % 4 == 0 && aligned16(u) && aligned16(dy) && aligned16(du);
  const int V = vec ? 4 : 1;
  const int64_t chunks = (T + kDmChunk - 1) / kDmChunk;
  const unsigned col_blocks = blocks_for((d_out + V - 1) / V, kThreads, "dora_scale_backward");
  const dim3 grid(col_blocks, static_cast<unsigned>(std::min<int64_t>(chunks, 65535)));
  if (vec)
    dora_scale_backward_kernel<4><<<grid, kThreads, 0, l.stream>>>(T, d_out, m, norm, u, dy, du, scratch);
  else
    dora_scale_backward_kernel<1><<<grid, kThreads, 0, l.stream>>>(T, d_out, m, norm, u, dy, du, scratch);
  l.check("dora_scale_backward kernel");
  dm_finish_kernel<<<blocks_for(d_out, kThreads, "dora_scale_backward"), kThreads, 0, l.stream>>>(d_out, chunks, norm,
                                                                                                  scratch, dm);
  l.check("dora_scale_backward dm final-sum kernel");
}

}  // namespace mor::cuda
