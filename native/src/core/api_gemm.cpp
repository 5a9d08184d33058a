// ABI: mor_gemm.
#include <string>

#include "core/abi_guard.h"
#include "core/validate.h"

using namespace mor;

extern "C" MOR_API int32_t mor_gemm(mor_context ctx, mor_stream stream, int32_t trans_a, int32_t trans_b, int64_t m,
                                    int64_t n, int64_t k, float alpha, mor_buffer a, int64_t a_offset, int64_t lda,
                                    int64_t stride_a, mor_buffer b, int64_t b_offset, int64_t ldb, int64_t stride_b,
                                    float beta, mor_buffer c, int64_t c_offset, int64_t ldc, int64_t stride_c,
                                    int64_t batch, int32_t allow_tf32) {
  return abi_guard([&] {
    check_context(ctx);
    check_buffer(a, "mor_gemm A");
    check_buffer(b, "mor_gemm B");
    check_buffer(c, "mor_gemm C");
    require_same_context(ctx, {a, b, c}, "mor_gemm");
    require(trans_a == 0 || trans_a == 1, MOR_ERR_INVALID_ARGUMENT, "mor_gemm: trans_a must be 0 or 1");
    require(trans_b == 0 || trans_b == 1, MOR_ERR_INVALID_ARGUMENT, "mor_gemm: trans_b must be 0 or 1");
    require_dims({{"m", m}, {"n", n}, {"k", k}, {"batch", batch}}, "mor_gemm");
    require(dtype_is_float(a->dtype) && dtype_is_float(b->dtype), MOR_ERR_DTYPE,
            std::string("mor_gemm: A and B must be F32, F16 or BF16, got ") + dtype_name(a->dtype) + " and " +
                dtype_name(b->dtype));
    const bool mixed16 = a->dtype != b->dtype && a->dtype != MOR_DTYPE_F32 && b->dtype != MOR_DTYPE_F32;
    require(!mixed16, MOR_ERR_DTYPE, "mor_gemm: F16 with BF16 is not supported");
    const mor_dtype narrow = a->dtype != MOR_DTYPE_F32 ? a->dtype : b->dtype;
    require(c->dtype == MOR_DTYPE_F32 || c->dtype == narrow, MOR_ERR_DTYPE,
            std::string("mor_gemm: C must be F32 or the inputs' 16-bit type, got ") + dtype_name(c->dtype));
    require_matrix(a, a_offset, trans_a ? k : m, trans_a ? m : k, lda, stride_a, batch, "mor_gemm A");
    require_matrix(b, b_offset, trans_b ? n : k, trans_b ? k : n, ldb, stride_b, batch, "mor_gemm B");
    require_matrix(c, c_offset, m, n, ldc, stride_c, batch, "mor_gemm C");
    if (m == 0 || n == 0 || batch == 0) return;

    GemmArgs g;
    g.trans_a = trans_a != 0;
    g.trans_b = trans_b != 0;
    g.m = m, g.n = n, g.k = k, g.alpha = alpha, g.beta = beta;
    g.a = static_cast<const char*>(a->data) + a_offset * static_cast<int64_t>(dtype_size(a->dtype));
    g.a_type = a->dtype, g.lda = lda, g.stride_a = stride_a;
    g.b = static_cast<const char*>(b->data) + b_offset * static_cast<int64_t>(dtype_size(b->dtype));
    g.b_type = b->dtype, g.ldb = ldb, g.stride_b = stride_b;
    g.c = static_cast<char*>(c->data) + c_offset * static_cast<int64_t>(dtype_size(c->dtype));
    g.c_type = c->dtype, g.ldc = ldc, g.stride_c = stride_c;
    g.batch = batch;
    g.allow_tf32 = allow_tf32 != 0;
    ctx->backend->gemm(g, resolve_stream(ctx, stream));
  });
}
