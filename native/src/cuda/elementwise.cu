// Fill, dtype casts, the rounding pack used by mixed-type GEMMs, and C = beta·C for k = 0 GEMMs.
// Conversions use the scalar helpers of common/float16.h, so every bit matches the CPU backend.
#include "common/float16.h"
#include "cuda/kernel_common.cuh"
#include "cuda/kernels.h"

namespace mor::cuda {

namespace {

template <typename T>
__global__ void fill_kernel(T* __restrict__ dst, int64_t n, T value) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    dst[i] = value;
}

template <mor_dtype T>
struct Storage;
template <>
struct Storage<MOR_DTYPE_F32> {
  using type = float;
  using vec4 = float4;
  __device__ static float load(float v) { return v; }
  __device__ static float store(float v) { return v; }
  __device__ static void load4(const float4& v, float (&f)[4]) { f[0] = v.x, f[1] = v.y, f[2] = v.z, f[3] = v.w; }
  __device__ static float4 store4(const float (&f)[4]) { return make_float4(f[0], f[1], f[2], f[3]); }
};

// Four 16-bit values in a uint2, element 0 in the low half of .x (little-endian memory order).
template <typename Self>
struct Half4 {
  __device__ static void load4(const uint2& v, float (&f)[4]) {
    f[0] = Self::load(static_cast<uint16_t>(v.x & 0xffffu)), f[1] = Self::load(static_cast<uint16_t>(v.x >> 16));
    f[2] = Self::load(static_cast<uint16_t>(v.y & 0xffffu)), f[3] = Self::load(static_cast<uint16_t>(v.y >> 16));
  }
  __device__ static uint2 store4(const float (&f)[4]) {
    uint2 v;
    v.x = static_cast<uint32_t>(Self::store(f[0])) | (static_cast<uint32_t>(Self::store(f[1])) << 16);
    v.y = static_cast<uint32_t>(Self::store(f[2])) | (static_cast<uint32_t>(Self::store(f[3])) << 16);
    return v;
  }
};
template <>
struct Storage<MOR_DTYPE_F16> : Half4<Storage<MOR_DTYPE_F16>> {
  using type = uint16_t;
  using vec4 = uint2;
  __device__ static float load(uint16_t v) { return f16_to_f32(v); }
  __device__ static uint16_t store(float v) { return f32_to_f16(v); }
};
template <>
struct Storage<MOR_DTYPE_BF16> : Half4<Storage<MOR_DTYPE_BF16>> {
  using type = uint16_t;
  using vec4 = uint2;
  __device__ static float load(uint16_t v) { return bf16_to_f32(v); }
  __device__ static uint16_t store(float v) { return f32_to_bf16(v); }
};

template <mor_dtype S, mor_dtype D>
__global__ void cast_kernel(typename Storage<D>::type* __restrict__ dst,
                            const typename Storage<S>::type* __restrict__ src, int64_t n) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    dst[i] = Storage<D>::store(Storage<S>::load(src[i]));
}

// Four elements per thread with one vector load and store (16-bit data moves 8 bytes at a time);
// block 0 also converts the n % 4 tail.
template <mor_dtype S, mor_dtype D>
__global__ void cast4_kernel(typename Storage<D>::type* __restrict__ dst,
                             const typename Storage<S>::type* __restrict__ src, int64_t n) {
  using SV = typename Storage<S>::vec4;
  using DV = typename Storage<D>::vec4;
  const int64_t groups = n / 4;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < groups;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float f[4];
    Storage<S>::load4(reinterpret_cast<const SV*>(src)[i], f);
    reinterpret_cast<DV*>(dst)[i] = Storage<D>::store4(f);
  }
  if (blockIdx.x == 0 && threadIdx.x < n - groups * 4) {
    const int64_t i = groups * 4 + threadIdx.x;
    dst[i] = Storage<D>::store(Storage<S>::load(src[i]));
  }
}

template <mor_dtype S, mor_dtype D>
void launch_cast(const Launch& l, void* dst, const void* src, int64_t n) {
  using SV = typename Storage<S>::vec4;
  using DV = typename Storage<D>::vec4;
  const bool aligned =
      reinterpret_cast<uintptr_t>(src) % sizeof(SV) == 0 && reinterpret_cast<uintptr_t>(dst) % sizeof(DV) == 0;
  auto* d = static_cast<typename Storage<D>::type*>(dst);
  auto* s = static_cast<const typename Storage<S>::type*>(src);
  if (aligned)
    cast4_kernel<S, D><<<grid_stride_blocks((n + 3) / 4), kThreads, 0, l.stream>>>(d, s, n);
  else
    cast_kernel<S, D><<<grid_stride_blocks(n), kThreads, 0, l.stream>>>(d, s, n);
  l.check("cast kernel");
}

// One block per matrix row: the (batch, row) split is computed once per block, not per element.
template <mor_dtype D>
__global__ void pack_rounded_kernel(typename Storage<D>::type* __restrict__ dst, const float* __restrict__ src,
                                    int64_t rows, int64_t cols, int64_t ld, int64_t stride, int64_t total_rows) {
  for (int64_t row = blockIdx.x; row < total_rows; row += gridDim.x) {
    const int64_t b = row / rows, i = row - b * rows;
    const float* s = src + b * stride + i * ld;
    typename Storage<D>::type* d = dst + row * cols;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) d[j] = Storage<D>::store(s[j]);
  }
}

template <mor_dtype D>
__global__ void scale_matrix_kernel(typename Storage<D>::type* __restrict__ c, int64_t m, int64_t n, int64_t ldc,
                                    int64_t stride_c, int64_t total_rows, float beta) {
  for (int64_t row = blockIdx.x; row < total_rows; row += gridDim.x) {
    const int64_t b = row / m, i = row - b * m;
    typename Storage<D>::type* p = c + b * stride_c + i * ldc;
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x)
      p[j] = beta == 0.0f ? Storage<D>::store(0.0f) : Storage<D>::store(beta * Storage<D>::load(p[j]));
  }
}

unsigned row_blocks(int64_t rows) {
  return static_cast<unsigned>(std::min<int64_t>(std::max<int64_t>(rows, 1), INT_MAX));
}

}  // namespace

void check_kernel_image(int32_t device) {
  cudaFuncAttributes attr;
  const cudaError_t e = cudaFuncGetAttributes(&attr, fill_kernel<uint32_t>);
  if (e == cudaSuccess) return;
  cudaGetLastError();
  int major = 0, minor = 0;
  cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device);
  cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device);
  cudaGetLastError();
  fail(MOR_ERR_NO_DEVICE, "CUDA device " + std::to_string(device) + " (compute capability " + std::to_string(major) +
                              "." + std::to_string(minor) + ") cannot run this build's kernels: " +
                              cudaGetErrorString(e) + " (see `mor_build_info` for the compiled architectures)");
}

void fill_pattern(const Launch& l, void* dst, size_t elem_size, uint64_t pattern, int64_t count) {
  if (count <= 0) return;
  const unsigned blocks = grid_stride_blocks(count);
  switch (elem_size) {
    case 2:
      fill_kernel<<<blocks, kThreads, 0, l.stream>>>(static_cast<uint16_t*>(dst), count,
                                                     static_cast<uint16_t>(pattern));
      break;
    case 4:
      fill_kernel<<<blocks, kThreads, 0, l.stream>>>(static_cast<uint32_t*>(dst), count,
                                                     static_cast<uint32_t>(pattern));
      break;
    case 8:
      fill_kernel<<<blocks, kThreads, 0, l.stream>>>(static_cast<uint64_t*>(dst), count, pattern);
      break;
    default:
      fail(MOR_ERR_INTERNAL, "fill: element size " + std::to_string(elem_size));
  }
  l.check("fill kernel");
}

void cast(const Launch& l, void* dst, mor_dtype dst_type, const void* src, mor_dtype src_type, int64_t count) {
  if (count <= 0) return;
#define MOR_CAST_CASE(S, D) \
  if (src_type == S && dst_type == D) return launch_cast<S, D>(l, dst, src, count)
  MOR_CAST_CASE(MOR_DTYPE_F32, MOR_DTYPE_F16);
  MOR_CAST_CASE(MOR_DTYPE_F32, MOR_DTYPE_BF16);
  MOR_CAST_CASE(MOR_DTYPE_F16, MOR_DTYPE_F32);
  MOR_CAST_CASE(MOR_DTYPE_BF16, MOR_DTYPE_F32);
  MOR_CAST_CASE(MOR_DTYPE_F16, MOR_DTYPE_BF16);
  MOR_CAST_CASE(MOR_DTYPE_BF16, MOR_DTYPE_F16);
#undef MOR_CAST_CASE
  fail(MOR_ERR_DTYPE, "cast: unsupported conversion");
}

void pack_rounded(const Launch& l, void* dst, mor_dtype dst_type, const float* src, int64_t rows, int64_t cols,
                  int64_t ld, int64_t stride, int64_t batch) {
  const int64_t total_rows = rows * batch;
  if (total_rows <= 0 || cols <= 0) return;
  const unsigned blocks = row_blocks(total_rows);
  if (dst_type == MOR_DTYPE_BF16)
    pack_rounded_kernel<MOR_DTYPE_BF16>
        <<<blocks, kThreads, 0, l.stream>>>(static_cast<uint16_t*>(dst), src, rows, cols, ld, stride, total_rows);
  else if (dst_type == MOR_DTYPE_F16)
    pack_rounded_kernel<MOR_DTYPE_F16>
        <<<blocks, kThreads, 0, l.stream>>>(static_cast<uint16_t*>(dst), src, rows, cols, ld, stride, total_rows);
  else
    fail(MOR_ERR_INTERNAL, "pack_rounded: target must be F16 or BF16");
  l.check("gemm operand rounding kernel");
}

void scale_matrix(const Launch& l, void* c, mor_dtype c_type, int64_t m, int64_t n, int64_t ldc, int64_t stride_c,
                  int64_t batch, float beta) {
  const int64_t total_rows = m * batch;
  if (total_rows <= 0 || n <= 0) return;
  const unsigned blocks = row_blocks(total_rows);
  switch (c_type) {
    case MOR_DTYPE_F32:
      scale_matrix_kernel<MOR_DTYPE_F32>
          <<<blocks, kThreads, 0, l.stream>>>(static_cast<float*>(c), m, n, ldc, stride_c, total_rows, beta);
      break;
    case MOR_DTYPE_F16:
      scale_matrix_kernel<MOR_DTYPE_F16>
          <<<blocks, kThreads, 0, l.stream>>>(static_cast<uint16_t*>(c), m, n, ldc, stride_c, total_rows, beta);
      break;
    case MOR_DTYPE_BF16:
      scale_matrix_kernel<MOR_DTYPE_BF16>
          <<<blocks, kThreads, 0, l.stream>>>(static_cast<uint16_t*>(c), m, n, ldc, stride_c, total_rows, beta);
      break;
    default:
      fail(MOR_ERR_DTYPE, "gemm: C must be F32, F16 or BF16");
  }
  l.check("gemm k = 0 scaling kernel");
}

}  // namespace mor::cuda
