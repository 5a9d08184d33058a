// Row-major GEMM over column-major cuBLAS. A row-major matrix is the column-major view of its
// transpose, so C = op(A)·op(B) is computed as Cᵀ = op(B)ᵀ·op(A)ᵀ: B goes first, A second, m and
// n swap, and each operand keeps its own transpose flag and leading dimension.
#include <climits>
#include <string>

#include "cuda/cuda_backend.h"
#include "cuda/kernels.h"

namespace mor::cuda {

namespace {

cudaDataType_t data_type(mor_dtype t) {
  switch (t) {
    case MOR_DTYPE_F32:
      return CUDA_R_32F;
    case MOR_DTYPE_F16:
      return CUDA_R_16F;
    case MOR_DTYPE_BF16:
      return CUDA_R_16BF;
    default:
      fail(MOR_ERR_DTYPE, "gemm: operands must be F32, F16 or BF16");
  }
}

int cublas_int(int64_t v, const char* name) {
  if (v < 0 || v > INT_MAX)
    fail(MOR_ERR_NOT_SUPPORTED,
         std::string("gemm: ") + name + " = " + std::to_string(v) + " exceeds cuBLAS's 32-bit limit");
  return static_cast<int>(v);
}

}  // namespace

void CudaBackend::gemm(const GemmArgs& g, NativeStream ns) {
  if (g.m <= 0 || g.n <= 0 || g.batch <= 0) return;
  const cudaStream_t s = stream_of(ns);
  const int m = cublas_int(g.m, "m"), n = cublas_int(g.n, "n"), k = cublas_int(g.k, "k");
  const int batch = cublas_int(g.batch, "batch");
  const int ldc = cublas_int(g.ldc, "ldc");
  data_type(g.c_type);
  if (batch > 1 && g.stride_c == 0)
    fail(MOR_ERR_NOT_SUPPORTED, "gemm: batch > 1 with stride_c = 0 would write one C from concurrent batch entries");
  if (k == 0) {  // C = beta·C: nothing for cuBLAS to multiply
    scale_matrix(launch(s), g.c, g.c_type, g.m, g.n, g.ldc, g.stride_c, g.batch, g.beta);
    return;
  }

  const void* a = g.a;
  const void* b = g.b;
  mor_dtype a_type = g.a_type, b_type = g.b_type;
  int64_t lda = g.lda, ldb = g.ldb, stride_a = g.stride_a, stride_b = g.stride_b;

  std::lock_guard<std::mutex> lock(mu_);
  if (a_type != b_type) {
    // mor.h: the F32 operand is first rounded to the other operand's 16-bit type, so CPU and CUDA
    // multiply the same numbers. It is packed densely (ld = cols) into the stream's scratch.
    const bool a_wide = a_type == MOR_DTYPE_F32;
    const mor_dtype narrow = a_wide ? b_type : a_type;
    if ((a_wide ? a_type : b_type) != MOR_DTYPE_F32 || narrow == MOR_DTYPE_F32)
      fail(MOR_ERR_DTYPE, "gemm: F16 with BF16 is not supported");
    const int64_t rows = a_wide ? (g.trans_a ? g.k : g.m) : (g.trans_b ? g.n : g.k);
    const int64_t cols = a_wide ? (g.trans_a ? g.m : g.k) : (g.trans_b ? g.k : g.n);
    const int64_t ld = a_wide ? lda : ldb;
    const int64_t stride = a_wide ? stride_a : stride_b;
    const int64_t copies = stride == 0 ? 1 : g.batch;  // a broadcast operand is rounded once
    void* packed = scratch_locked(s, static_cast<size_t>(copies * rows * cols) * 2);
    pack_rounded(launch(s), packed, narrow, static_cast<const float*>(a_wide ? a : b), rows, cols, ld, stride, copies);
    const int64_t packed_stride = copies == 1 ? 0 : rows * cols;
    if (a_wide)
      a = packed, a_type = narrow, lda = cols, stride_a = packed_stride;
    else
      b = packed, b_type = narrow, ldb = cols, stride_b = packed_stride;
  }

  StreamResources& res = resources_locked(s);
  if (res.cublas_workspace == nullptr) res.cublas_workspace = raw_alloc(cublas_workspace_bytes_);
  check(cublasSetStream(cublas_, s), "cublasSetStream");
  // cublasSetStream resets the workspace to cuBLAS's own pool: set this stream's one every call.
  check(cublasSetWorkspace(cublas_, res.cublas_workspace, cublas_workspace_bytes_), "cublasSetWorkspace");

  const cublasComputeType_t compute = g.allow_tf32 && a_type == MOR_DTYPE_F32 && b_type == MOR_DTYPE_F32
                                          ? CUBLAS_COMPUTE_32F_FAST_TF32
                                          : CUBLAS_COMPUTE_32F;
  const cublasOperation_t op_b = g.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;  // cuBLAS's first operand
  const cublasOperation_t op_a = g.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;  // cuBLAS's second operand
  const float alpha = g.alpha, beta = g.beta;
  if (batch == 1) {
    check(cublasGemmEx(cublas_, op_b, op_a, n, m, k, &alpha, b, data_type(b_type), cublas_int(ldb, "ldb"), a,
                       data_type(a_type), cublas_int(lda, "lda"), &beta, g.c, data_type(g.c_type), ldc, compute,
                       CUBLAS_GEMM_DEFAULT),
          "cublasGemmEx");
  } else {
    check(cublasGemmStridedBatchedEx(cublas_, op_b, op_a, n, m, k, &alpha, b, data_type(b_type), cublas_int(ldb, "ldb"),
                                     static_cast<long long>(stride_b), a, data_type(a_type), cublas_int(lda, "lda"),
                                     static_cast<long long>(stride_a), &beta, g.c, data_type(g.c_type), ldc,
                                     static_cast<long long>(g.stride_c), batch, compute, CUBLAS_GEMM_DEFAULT),
          "cublasGemmStridedBatchedEx");
  }
  launch(s).check("cuBLAS GEMM");
}

}  // namespace mor::cuda
