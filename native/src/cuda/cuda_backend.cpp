// CUDA device discovery (never aborts: no driver or no GPU is an answer, not a crash) and the
// CudaBackend's memory, streams, copies and kernel dispatch. GEMM lives in cuda_gemm.cpp.
#include "cuda/cuda_backend.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>
#include <string>

#include "common/float16.h"
#include "core/handles.h"
#include "cuda/kernels.h"
#include "platform/platform.h"

namespace mor {

namespace {

std::string device_count_text(int n) { return std::to_string(n) + (n == 1 ? " CUDA device is" : " CUDA devices are"); }

// Throws MOR_ERR_NO_DEVICE unless `device` names a visible device.
void require_device(int32_t device) {
  std::string why;
  const int32_t n = cuda_device_count(&why);
  if (n == 0) fail(MOR_ERR_NO_DEVICE, why);
  if (device < 0 || device >= n)
    fail(MOR_ERR_NO_DEVICE, "CUDA device index " + std::to_string(device) + " is out of range: " +
                                device_count_text(n) + " visible (valid indices 0.." + std::to_string(n - 1) + ")");
}

// "80;90" (a CMake list), "80 90" or "80-real" → "sm_80,sm_90"; words such as "native" pass through.
std::string arch_list() {
#if defined(MOR_CUDA_ARCHS)
  const std::string raw = MOR_CUDA_ARCHS;
#else
  const std::string raw;
#endif
  std::string out, token;
  auto flush = [&] {
    if (token.empty()) return;
    std::string digits;
    for (char c : token) {
      if (!std::isdigit(static_cast<unsigned char>(c))) break;
      digits += c;
    }
    if (!out.empty()) out += ",";
    out += digits.empty() ? token : "sm_" + digits;
    token.clear();
  };
  for (char c : raw) {
    if (c == ';' || c == ',' || c == ' ')
      flush();
    else
      token += c;
  }
  flush();
  return out.empty() ? "unknown archs" : out;
}

}  // namespace

int32_t cuda_device_count(std::string* why_zero) {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    cudaGetLastError();
    if (why_zero)
      *why_zero = std::string("CUDA is not available: ") + cudaGetErrorString(e) +
                  " (cudaGetDeviceCount: " + cudaGetErrorName(e) + ")";
    return 0;
  }
  if (n == 0 && why_zero) *why_zero = "the CUDA driver reports no device (check CUDA_VISIBLE_DEVICES)";
  return n;
}

void cuda_device_info(int32_t device, mor_device_info* out) {
  require_device(device);
  cudaDeviceProp prop;
  std::memset(&prop, 0, sizeof(prop));
  cuda::check(cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties");
  std::memset(out, 0, sizeof(*out));
  std::memcpy(out->name, prop.name, strnlen(prop.name, std::min(sizeof(prop.name), sizeof(out->name) - 1)));
  out->total_memory_bytes = static_cast<int64_t>(prop.totalGlobalMem);
  out->compute_capability_major = prop.major;
  out->compute_capability_minor = prop.minor;
  out->multiprocessor_count = prop.multiProcessorCount;
}

void cuda_memory_info(int32_t device, int64_t* free_bytes, int64_t* total_bytes) {
  require_device(device);
  int previous = 0;
  cuda::check(cudaGetDevice(&previous), "cudaGetDevice");
  cuda::check(cudaSetDevice(device), "cudaSetDevice");
  size_t free_now = 0, total = 0;
  const cudaError_t e = cudaMemGetInfo(&free_now, &total);
  if (e != cudaSuccess) cudaGetLastError();
  cuda::check(cudaSetDevice(previous), "cudaSetDevice (restoring the current device)");
  cuda::check(e, "cudaMemGetInfo");
  *free_bytes = static_cast<int64_t>(free_now);
  *total_bytes = static_cast<int64_t>(total);
}

const char* cuda_build_info() {
  static const std::string info = std::to_string(CUDART_VERSION / 1000) + "." +
                                  std::to_string(CUDART_VERSION % 1000 / 10) + " " + arch_list() + " (cuBLAS " +
                                  std::to_string(CUBLAS_VER_MAJOR) + "." + std::to_string(CUBLAS_VER_MINOR) + ")";
  return info.c_str();
}

std::unique_ptr<Backend> create_cuda_backend(int32_t device) {
  require_device(device);
  return std::make_unique<cuda::CudaBackend>(device);
}

namespace cuda {

CudaBackend::CudaBackend(int32_t device) : device_(device) {
  sync_launch_ = platform::getenv_string("MOR_SYNC_LAUNCH") == "1";
  try {
    check(cudaSetDevice(device_), "cudaSetDevice");
    check_kernel_image(device_);
    int major = 0;
    check(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device_), "cudaDeviceGetAttribute");
    // NVIDIA's recommended cuBLAS workspace: 32 MiB on Hopper and later, 4 MiB before.
    cublas_workspace_bytes_ = major >= 9 ? (32u << 20) : (4u << 20);
    check(cudaStreamCreateWithFlags(&default_stream_, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
    check(cublasCreate(&cublas_), "cublasCreate");
    // F32 accumulation all the way: no split-K partial sums rounded to a 16-bit C.
    check(cublasSetMathMode(cublas_, static_cast<cublasMath_t>(CUBLAS_DEFAULT_MATH |
                                                               CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION)),
          "cublasSetMathMode");
  } catch (...) {
    release_all();
    throw;
  }
}

CudaBackend::~CudaBackend() { release_all(); }

void CudaBackend::release_all() noexcept {
  cudaSetDevice(device_);
  for (auto& [stream, res] : resources_) {
    cudaStreamSynchronize(stream);
    if (res.cublas_workspace != nullptr) cudaFree(res.cublas_workspace);
    if (res.scratch != nullptr) cudaFree(res.scratch);
  }
  resources_.clear();
  if (cublas_ != nullptr) cublasDestroy(cublas_);
  cublas_ = nullptr;
  if (default_stream_ != nullptr) {
    cudaStreamSynchronize(default_stream_);
    cudaStreamDestroy(default_stream_);
  }
  default_stream_ = nullptr;
  cudaGetLastError();  // nothing here may leave an error behind for the next, unrelated call
}

void CudaBackend::activate() { check(cudaSetDevice(device_), "cudaSetDevice"); }

// ---- memory ------------------------------------------------------------------------------------

void* CudaBackend::raw_alloc(size_t bytes) {
  void* p = nullptr;
  const cudaError_t e = cudaMalloc(&p, bytes);
  if (e == cudaSuccess) return p;
  cudaGetLastError();
  if (e != cudaErrorMemoryAllocation) throw_cuda(e, "cudaMalloc of " + std::to_string(bytes) + " bytes");
  size_t free_bytes = 0, total_bytes = 0;
  if (cudaMemGetInfo(&free_bytes, &total_bytes) != cudaSuccess) cudaGetLastError();
  fail(MOR_ERR_OUT_OF_MEMORY, "cudaMalloc of " + std::to_string(bytes) + " bytes failed on CUDA device " +
                                  std::to_string(device_) + ": out of memory (" + std::to_string(free_bytes) +
                                  " bytes free of " + std::to_string(total_bytes) + ")");
}

void CudaBackend::raw_free(void* p) noexcept {
  if (p == nullptr) return;
  if (cudaFree(p) != cudaSuccess) cudaGetLastError();
}

CudaBackend::StreamResources& CudaBackend::resources_locked(cudaStream_t s) { return resources_[s]; }

void* CudaBackend::scratch_locked(cudaStream_t s, size_t bytes) {
  StreamResources& res = resources_locked(s);
  if (bytes <= res.scratch_bytes) return res.scratch;
  // Earlier work on this stream may still read the old scratch: drain it before letting go.
  check(cudaStreamSynchronize(s), "cudaStreamSynchronize (growing the backend scratch)");
  // Grow geometrically so that a slowly increasing size does not reallocate every call.
  const size_t want = std::max(bytes, res.scratch_bytes + res.scratch_bytes / 2);
  if (res.scratch != nullptr) {
    cudaFree(res.scratch);
    res.scratch = nullptr;
    res.scratch_bytes = 0;
  }
  void* p = raw_alloc(want);
  res.scratch = p;
  res.scratch_bytes = want;
  return p;
}

void* CudaBackend::scratch(cudaStream_t s, size_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  return scratch_locked(s, bytes);
}

// ---- streams -----------------------------------------------------------------------------------

NativeStream CudaBackend::create_stream() {
  cudaStream_t s = nullptr;
  check(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
  return s;
}

void CudaBackend::destroy_stream(NativeStream ns) noexcept {
  cudaStream_t s = static_cast<cudaStream_t>(ns);
  if (s == nullptr || s == default_stream_) return;
  cudaStreamSynchronize(s);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = resources_.find(s);
    if (it != resources_.end()) {
      if (it->second.cublas_workspace != nullptr) cudaFree(it->second.cublas_workspace);
      if (it->second.scratch != nullptr) cudaFree(it->second.scratch);
      resources_.erase(it);
    }
  }
  cudaStreamDestroy(s);
  cudaGetLastError();
}

void CudaBackend::synchronize(NativeStream s) { check(cudaStreamSynchronize(stream_of(s)), "cudaStreamSynchronize"); }

void CudaBackend::synchronize_device() { check(cudaDeviceSynchronize(), "cudaDeviceSynchronize"); }

// ---- copies, fill, cast ------------------------------------------------------------------------

void CudaBackend::copy_to_device(void* dst, const void* host, size_t bytes, NativeStream ns) {
  const cudaStream_t s = stream_of(ns);
  check(cudaMemcpyAsync(dst, host, bytes, cudaMemcpyHostToDevice, s), "cudaMemcpyAsync (host to device)");
  // From pageable memory the call returns once the data is staged, so the caller may reuse its
  // buffer at once (the ABI promises that). From page-locked or managed memory the copy is truly
  // asynchronous: wait for it.
  cudaPointerAttributes attr;
  std::memset(&attr, 0, sizeof(attr));
  if (cudaPointerGetAttributes(&attr, host) != cudaSuccess) {
    cudaGetLastError();
    attr.type = cudaMemoryTypeHost;  // unknown: be safe
  }
  if (attr.type != cudaMemoryTypeUnregistered) synchronize(s);
  if (sync_launch_) synchronize(s);
}

void CudaBackend::copy_to_host(void* host, const void* src, size_t bytes, NativeStream ns) {
  const cudaStream_t s = stream_of(ns);
  check(cudaMemcpyAsync(host, src, bytes, cudaMemcpyDeviceToHost, s), "cudaMemcpyAsync (device to host)");
  check(cudaStreamSynchronize(s), "cudaStreamSynchronize (after a device to host copy)");
}

void CudaBackend::copy_on_device(void* dst, const void* src, size_t bytes, NativeStream ns) {
  if (dst == src || bytes == 0) return;
  const cudaStream_t s = stream_of(ns);
  const char* d = static_cast<const char*>(dst);
  const char* c = static_cast<const char*>(src);
  if (d < c + bytes && c < d + bytes) {
    // Overlapping ranges (memmove semantics, as on the CPU): go through the scratch.
    std::lock_guard<std::mutex> lock(mu_);
    void* tmp = scratch_locked(s, bytes);
    check(cudaMemcpyAsync(tmp, src, bytes, cudaMemcpyDeviceToDevice, s), "cudaMemcpyAsync (device to device)");
    check(cudaMemcpyAsync(dst, tmp, bytes, cudaMemcpyDeviceToDevice, s), "cudaMemcpyAsync (device to device)");
  } else {
    check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, s), "cudaMemcpyAsync (device to device)");
  }
  if (sync_launch_) synchronize(s);
}

void CudaBackend::fill(void* dst, mor_dtype t, int64_t count, double value, NativeStream ns) {
  if (count <= 0) return;
  // The element's bits are computed here exactly as the CPU backend converts the value.
  uint64_t pattern = 0;
  size_t size = 0;
  switch (t) {
    case MOR_DTYPE_F32: {
      const float f = static_cast<float>(value);
      uint32_t u;
      std::memcpy(&u, &f, 4);
      pattern = u, size = 4;
      break;
    }
    case MOR_DTYPE_BF16:
      pattern = f32_to_bf16(static_cast<float>(value)), size = 2;
      break;
    case MOR_DTYPE_F16:
      pattern = f32_to_f16(static_cast<float>(value)), size = 2;
      break;
    case MOR_DTYPE_I32:
      pattern = static_cast<uint32_t>(static_cast<int32_t>(value)), size = 4;
      break;
    case MOR_DTYPE_I64:
      pattern = static_cast<uint64_t>(static_cast<int64_t>(value)), size = 8;
      break;
    default:
      fail(MOR_ERR_DTYPE, "fill: unknown dtype");
  }
  const cudaStream_t s = stream_of(ns);
  if (pattern == 0) {
    check(cudaMemsetAsync(dst, 0, static_cast<size_t>(count) * size, s), "cudaMemsetAsync");
    if (sync_launch_) synchronize(s);
  } else {
    fill_pattern(launch(s), dst, size, pattern, count);
  }
}

void CudaBackend::cast(void* dst, mor_dtype dst_type, const void* src, mor_dtype src_type, int64_t count,
                       NativeStream ns) {
  if (count <= 0) return;
  if (dst_type == src_type) {
    copy_on_device(dst, src, static_cast<size_t>(count) * (dst_type == MOR_DTYPE_F32 ? 4 : 2), ns);
    return;
  }
  cuda::cast(launch(stream_of(ns)), dst, dst_type, src, src_type, count);
}

// ---- fused kernels -----------------------------------------------------------------------------

void CudaBackend::gate_forward(const GateShape& sh, const float* hz, const float* omega_a, float* g, float* p,
                               NativeStream s) {
  cuda::gate_forward(launch(stream_of(s)), sh, hz, omega_a, g, p);
}

void CudaBackend::gate_backward(const GateShape& sh, const float* hz, const float* g, const float* omega_a,
                                const float* dp, float* dhz, float* domega_a, NativeStream ns) {
  const cudaStream_t s = stream_of(ns);
  float* partial = nullptr;
  if (domega_a != nullptr && sh.T > 0) partial = static_cast<float*>(scratch(s, gate_backward_scratch_bytes(sh)));
  cuda::gate_backward(launch(s), sh, hz, g, omega_a, dp, dhz, domega_a, partial);
}

void CudaBackend::build_q(int64_t d_out, int64_t r, int64_t N, const float* b, const float* omega_b, float* q,
                          NativeStream s) {
  cuda::build_q(launch(stream_of(s)), d_out, r, N, b, omega_b, q);
}

void CudaBackend::reduce_dq(int64_t d_out, int64_t r, int64_t N, const float* dq, const float* b, const float* omega_b,
                            float* db, float* domega_b, NativeStream s) {
  cuda::reduce_dq(launch(stream_of(s)), d_out, r, N, dq, b, omega_b, db, domega_b);
}

void CudaBackend::row_norm2(int64_t rows, int64_t cols, const void* w, mor_dtype w_type, float* out, NativeStream s) {
  cuda::row_norm2(launch(stream_of(s)), rows, cols, w, w_type, out);
}

void CudaBackend::dora_norm(int64_t d_out, int64_t r, float scale, const float* w_norm2, const float* b,
                            const float* wat, const float* gram, float* norm, NativeStream s) {
  cuda::dora_norm(launch(stream_of(s)), d_out, r, scale, w_norm2, b, wat, gram, norm);
}

void CudaBackend::dora_scale_forward(int64_t T, int64_t d_out, const float* m, const float* norm, const float* u,
                                     float* y, NativeStream s) {
  cuda::dora_scale_forward(launch(stream_of(s)), T, d_out, m, norm, u, y);
}

void CudaBackend::dora_scale_backward(int64_t T, int64_t d_out, const float* m, const float* norm, const float* u,
                                      const float* dy, float* du, float* dm, NativeStream ns) {
  if (T <= 0 || d_out <= 0) return;
  const cudaStream_t s = stream_of(ns);
  float* partial = static_cast<float*>(scratch(s, dora_scale_backward_scratch_bytes(T, d_out)));
  cuda::dora_scale_backward(launch(s), T, d_out, m, norm, u, dy, du, dm, partial);
}

}  // namespace cuda

}  // namespace mor
