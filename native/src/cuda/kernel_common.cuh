// Pieces shared by the .cu files: launch shapes and warp reductions. Only .cu files include this.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "cuda/cuda_check.h"

namespace mor::cuda {

constexpr int kThreads = 256;                  // block size of every kernel here
constexpr int kWarpsPerBlock = kThreads / 32;  // warp-per-row / warp-per-token kernels
// Grid-stride kernels stop growing the grid here: enough blocks to fill any current GPU many
// times over, few enough that a huge count does not launch millions of tiny blocks.
constexpr int64_t kMaxGridStrideBlocks = 1 << 16;

inline unsigned grid_stride_blocks(int64_t n) {
  const int64_t blocks = (n + kThreads - 1) / kThreads;
  return static_cast<unsigned>(std::max<int64_t>(1, std::min(blocks, kMaxGridStrideBlocks)));
}

// Blocks for `n` items at `per_block` items per block, for kernels with one item per warp/thread.
inline unsigned blocks_for(int64_t n, int64_t per_block, const char* what) {
  const int64_t blocks = (n + per_block - 1) / per_block;
  if (blocks > INT_MAX)
    fail(MOR_ERR_NOT_SUPPORTED, std::string(what) + ": " + std::to_string(n) + " rows exceed the CUDA grid limit");
  return static_cast<unsigned>(std::max<int64_t>(1, blocks));
}

// Butterfly reductions: every lane ends with the same value, and the combination order is a
// fixed function of the lane values (a + b == b + a bitwise), so the result is deterministic.
__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ __forceinline__ double warp_sum(double v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Raises a kernel's dynamic shared-memory limit (needed above 48 KiB) after checking the device has it.
template <typename Kernel>
inline void allow_shared(Kernel kernel, size_t bytes, const char* what) {
  int dev = 0, optin = 0;
  check(cudaGetDevice(&dev), "cudaGetDevice");
  check(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev), "cudaDeviceGetAttribute");
  if (bytes > static_cast<size_t>(optin))
    fail(MOR_ERR_NOT_SUPPORTED, std::string(what) + " needs " + std::to_string(bytes) +
                                    " bytes of shared memory per block; CUDA device " + std::to_string(dev) +
                                    " allows " + std::to_string(optin));
  check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)),
        "cudaFuncSetAttribute (dynamic shared memory)");
}

}  // namespace mor::cuda
