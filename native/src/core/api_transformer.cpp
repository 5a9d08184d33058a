// ABI: transformer ops. Shapes are checked here for every buffer; token ids and targets are range-
// checked on the host before any kernel can index with them (an out-of-range id is a user error
// that must never become an out-of-bounds device read).
#include <cmath>
#include <string>
#include <vector>

#include "core/abi_guard.h"
#include "core/validate.h"

using namespace mor;

namespace {

float* f32(mor_buffer_t* b) { return b == nullptr ? nullptr : static_cast<float*>(b->data); }

void require_i32(const mor_buffer_t* buf, int64_t numel, const char* what) {
  require(buf != nullptr && buf->magic == mor_buffer_t::kMagic, MOR_ERR_INVALID_ARGUMENT,
          std::string(what) + ": buffer is null, invalid or destroyed");
  require(buf->dtype == MOR_DTYPE_I32, MOR_ERR_DTYPE,
          std::string(what) + ": expected I32, got " + dtype_name(buf->dtype));
  require(
      buf->numel >= numel, MOR_ERR_SHAPE,
      std::string(what) + ": needs " + std::to_string(numel) + " elements, buffer has " + std::to_string(buf->numel));
}

// Every id in [0, V), except `allowed` (the ignore index) when `has_allowed`.
void require_ids_in_range(mor_context_t* ctx, mor::NativeStream s, const mor_buffer_t* ids, int64_t T, int64_t V,
                          bool has_allowed, int32_t allowed, const char* what) {
  std::vector<int32_t> host(static_cast<size_t>(T));
  if (T > 0) ctx->backend->copy_to_host(host.data(), ids->data, static_cast<size_t>(T) * 4, s);
  for (int64_t t = 0; t < T; ++t) {
    const int32_t id = host[t];
    if (has_allowed && id == allowed) continue;
    require(id >= 0 && id < V, MOR_ERR_INVALID_ARGUMENT,
            std::string(what) + ": id " + std::to_string(id) + " at position " + std::to_string(t) +
                " is outside the vocabulary [0, " + std::to_string(V) + ")");
  }
}

}  // namespace

extern "C" {

MOR_API int32_t mor_rmsnorm_forward(mor_context ctx, mor_stream stream, int64_t T, int64_t C, float eps, mor_buffer x,
                                    mor_buffer w, mor_buffer y, mor_buffer rstd) {
  return abi_guard([&] {
    check_context(ctx);
    require_dims({{"T", T}, {"C", C}}, "mor_rmsnorm_forward");
    require(C >= 1, MOR_ERR_INVALID_ARGUMENT, "mor_rmsnorm_forward: C must be >= 1");
    require_f32(x, T * C, "mor_rmsnorm_forward x");
    require_f32(w, C, "mor_rmsnorm_forward w");
    require_f32(y, T * C, "mor_rmsnorm_forward y");
    require_f32(rstd, T, "mor_rmsnorm_forward rstd");
    require_same_context(ctx, {x, w, y, rstd}, "mor_rmsnorm_forward");
    ctx->backend->rmsnorm_forward(T, C, eps, f32(x), f32(w), f32(y), f32(rstd), resolve_stream(ctx, stream));
  });
}

MOR_API int32_t mor_rmsnorm_backward(mor_context ctx, mor_stream stream, int64_t T, int64_t C, mor_buffer x,
                                     mor_buffer w, mor_buffer rstd, mor_buffer dy, mor_buffer dx, mor_buffer dw) {
  return abi_guard([&] {
    check_context(ctx);
    require_dims({{"T", T}, {"C", C}}, "mor_rmsnorm_backward");
    require(C >= 1, MOR_ERR_INVALID_ARGUMENT, "mor_rmsnorm_backward: C must be >= 1");
    require_f32(x, T * C, "mor_rmsnorm_backward x");
    require_f32(w, C, "mor_rmsnorm_backward w");
    require_f32(rstd, T, "mor_rmsnorm_backward rstd");
    require_f32(dy, T * C, "mor_rmsnorm_backward dy");
    require_f32(dx, T * C, "mor_rmsnorm_backward dx");
    if (dw != nullptr) require_f32(dw, C, "mor_rmsnorm_backward dw");
    require_same_context(ctx, {x, w, rstd, dy, dx, dw}, "mor_rmsnorm_backward");
    ctx->backend->rmsnorm_backward(T, C, f32(x), f32(w), f32(rstd), f32(dy), f32(dx), f32(dw),
                                   resolve_stream(ctx, stream));
  });
}

MOR_API int32_t mor_rope(mor_context ctx, mor_stream stream, int64_t T, int64_t H, int64_t D, mor_buffer x,
                         int64_t x_offset, int64_t ld, mor_buffer positions, mor_buffer inv_freq, int32_t inverse) {
  return abi_guard([&] {
    check_context(ctx);
    require_dims({{"T", T}, {"H", H}, {"D", D}, {"x_offset", x_offset}}, "mor_rope");
    require(D % 2 == 0 && D > 0, MOR_ERR_INVALID_ARGUMENT, "mor_rope: head dim must be even, got " + std::to_string(D));
    check_buffer(x, "mor_rope x");
    require(x->dtype == MOR_DTYPE_F32, MOR_ERR_DTYPE, "mor_rope x: expected F32");
    require_matrix(x, x_offset, T, H * D, ld, 0, 1, "mor_rope x");
    require_i32(positions, T, "mor_rope positions");
    require_f32(inv_freq, D / 2, "mor_rope inv_freq");
    require_same_context(ctx, {x, positions, inv_freq}, "mor_rope");
    if (T == 0 || H == 0) return;
    ctx->backend->rope(T, H, D, f32(x) + x_offset, ld, static_cast<const int32_t*>(positions->data), f32(inv_freq),
                       inverse != 0, resolve_stream(ctx, stream));
  });
}

namespace {
AttentionArgs check_attention(mor_context_t* ctx, const mor_attention_dims* d, mor_buffer_t* q, mor_buffer_t* k,
                              mor_buffer_t* v, mor_buffer_t* out, mor_buffer_t* lse, const char* op) {
  require(d != nullptr, MOR_ERR_INVALID_ARGUMENT, std::string(op) + ": dims is null");
  require_dims({{"batch", d->batch}, {"q_len", d->q_len}, {"kv_len", d->kv_len}}, op);
  require(d->q_heads >= 1 && d->kv_heads >= 1 && d->head_dim >= 1, MOR_ERR_INVALID_ARGUMENT,
          std::string(op) + ": heads and head_dim must be >= 1");
  require(d->q_heads % d->kv_heads == 0, MOR_ERR_INVALID_ARGUMENT,
          std::string(op) + ": q_heads (" + std::to_string(d->q_heads) + ") must be a multiple of kv_heads (" +
              std::to_string(d->kv_heads) + ")");
  require(!d->causal || d->kv_len >= d->q_len, MOR_ERR_INVALID_ARGUMENT,
          std::string(op) + ": causal attention needs kv_len >= q_len");
  require(d->q_len == 0 || d->kv_len >= 1, MOR_ERR_INVALID_ARGUMENT, std::string(op) + ": kv_len must be >= 1");
  for (auto* b : {q, k, v}) {
    check_buffer(b, op);
    require(b->dtype == MOR_DTYPE_F32, MOR_ERR_DTYPE, std::string(op) + ": q, k and v must be F32");
  }
  const int64_t B = d->batch, qw = d->q_heads * d->head_dim, kw = d->kv_heads * d->head_dim;
  require_matrix(q, d->q_offset, B * d->q_len, qw, d->q_row_stride, 0, 1, (std::string(op) + " q").c_str());
  require(d->kv_batch_stride >= d->kv_len * d->kv_row_stride || B <= 1, MOR_ERR_INVALID_ARGUMENT,
          std::string(op) + ": kv_batch_stride is smaller than kv_len rows");
  require_matrix(k, d->k_offset, d->kv_len, kw, d->kv_row_stride, d->kv_batch_stride, B,
                 (std::string(op) + " k").c_str());
  require_matrix(v, d->v_offset, d->kv_len, kw, d->kv_row_stride, d->kv_batch_stride, B,
                 (std::string(op) + " v").c_str());
  require_f32(out, B * d->q_len * qw, (std::string(op) + " out").c_str());
  require_f32(lse, B * d->q_heads * d->q_len, (std::string(op) + " lse").c_str());
  require_same_context(ctx, {q, k, v, out, lse}, op);
  return AttentionArgs{B,
                       d->q_len,
                       d->kv_len,
                       d->q_heads,
                       d->kv_heads,
                       d->head_dim,
                       d->q_row_stride,
                       d->kv_row_stride,
                       d->kv_batch_stride,
                       d->scale,
                       d->causal != 0,
                       ctx->allow_tf32.load()};
}
}  // namespace

MOR_API int32_t mor_attention_forward(mor_context ctx, mor_stream stream, const mor_attention_dims* dims, mor_buffer q,
                                      mor_buffer k, mor_buffer v, mor_buffer out, mor_buffer lse) {
  return abi_guard([&] {
    check_context(ctx);
    AttentionArgs a = check_attention(ctx, dims, q, k, v, out, lse, "mor_attention_forward");
    if (a.batch == 0 || a.q_len == 0) return;
    ctx->backend->attention_forward(a, f32(q) + dims->q_offset, f32(k) + dims->k_offset, f32(v) + dims->v_offset,
                                    f32(out), f32(lse), resolve_stream(ctx, stream));
  });
}

MOR_API int32_t mor_attention_backward(mor_context ctx, mor_stream stream, const mor_attention_dims* dims, mor_buffer q,
                                       mor_buffer k, mor_buffer v, mor_buffer out, mor_buffer lse, mor_buffer dout,
                                       mor_buffer dq, mor_buffer dk, mor_buffer dv) {
  return abi_guard([&] {
    const char* op = "mor_attention_backward";
    check_context(ctx);
    AttentionArgs a = check_attention(ctx, dims, q, k, v, out, lse, op);
    // Gradients share their inputs' layouts, so the same checks apply to them.
    check_attention(ctx, dims, dq, dk, dv, dout, lse, op);
    if (a.batch == 0 || a.q_len == 0) return;
    ctx->backend->attention_backward(a, f32(q) + dims->q_offset, f32(k) + dims->k_offset, f32(v) + dims->v_offset,
                                     f32(out), f32(lse), f32(dout), f32(dq) + dims->q_offset, f32(dk) + dims->k_offset,
                                     f32(dv) + dims->v_offset, resolve_stream(ctx, stream));
  });
}

MOR_API int32_t mor_swiglu_forward(mor_context ctx, mor_stream stream, int64_t n, mor_buffer gate, mor_buffer up,
                                   mor_buffer out) {
  return abi_guard([&] {
    check_context(ctx);
    require_dims({{"n", n}}, "mor_swiglu_forward");
    require_f32(gate, n, "mor_swiglu_forward gate");
    require_f32(up, n, "mor_swiglu_forward up");
    require_f32(out, n, "mor_swiglu_forward out");
    require_same_context(ctx, {gate, up, out}, "mor_swiglu_forward");
    ctx->backend->swiglu_forward(n, f32(gate), f32(up), f32(out), resolve_stream(ctx, stream));
  });
}

MOR_API int32_t mor_swiglu_backward(mor_context ctx, mor_stream stream, int64_t n, mor_buffer gate, mor_buffer up,
                                    mor_buffer dout, mor_buffer dgate, mor_buffer dup) {
  return abi_guard([&] {
    check_context(ctx);
    require_dims({{"n", n}}, "mor_swiglu_backward");
    require_f32(gate, n, "mor_swiglu_backward gate");
    require_f32(up, n, "mor_swiglu_backward up");
    require_f32(dout, n, "mor_swiglu_backward dout");
    require_f32(dgate, n, "mor_swiglu_backward dgate");
    require_f32(dup, n, "mor_swiglu_backward dup");
    require_same_context(ctx, {gate, up, dout, dgate, dup}, "mor_swiglu_backward");
    ctx->backend->swiglu_backward(n, f32(gate), f32(up), f32(dout), f32(dgate), f32(dup), resolve_stream(ctx, stream));
  });
}

MOR_API int32_t mor_embedding_forward(mor_context ctx, mor_stream stream, int64_t T, int64_t C, int64_t V,
                                      mor_buffer ids, mor_buffer table, mor_buffer out) {
  return abi_guard([&] {
    check_context(ctx);
    require_dims({{"T", T}, {"C", C}, {"V", V}}, "mor_embedding_forward");
    require_i32(ids, T, "mor_embedding_forward ids");
    check_buffer(table, "mor_embedding_forward table");
    require(table->dtype == MOR_DTYPE_F32 || table->dtype == MOR_DTYPE_BF16, MOR_ERR_DTYPE,
            "mor_embedding_forward table: expected F32 or BF16");
    require(table->numel >= V * C, MOR_ERR_SHAPE, "mor_embedding_forward table: needs V*C elements");
    require_f32(out, T * C, "mor_embedding_forward out");
    require_same_context(ctx, {ids, table, out}, "mor_embedding_forward");
    NativeStream s = resolve_stream(ctx, stream);
    require_ids_in_range(ctx, s, ids, T, V, false, 0, "mor_embedding_forward ids");
    ctx->backend->embedding_forward(T, C, static_cast<const int32_t*>(ids->data), table->data, table->dtype, f32(out),
                                    s);
  });
}

MOR_API int32_t mor_embedding_backward(mor_context ctx, mor_stream stream, int64_t T, int64_t C, int64_t V,
                                       mor_buffer ids, mor_buffer dout, mor_buffer dtable) {
  return abi_guard([&] {
    check_context(ctx);
    require_dims({{"T", T}, {"C", C}, {"V", V}}, "mor_embedding_backward");
    require_i32(ids, T, "mor_embedding_backward ids");
    require_f32(dout, T * C, "mor_embedding_backward dout");
    require_f32(dtable, V * C, "mor_embedding_backward dtable");
    require_same_context(ctx, {ids, dout, dtable}, "mor_embedding_backward");
    NativeStream s = resolve_stream(ctx, stream);
    require_ids_in_range(ctx, s, ids, T, V, false, 0, "mor_embedding_backward ids");
    ctx->backend->embedding_backward(T, C, V, static_cast<const int32_t*>(ids->data), f32(dout), f32(dtable), s);
  });
}

MOR_API int32_t mor_cross_entropy(mor_context ctx, mor_stream stream, int64_t T, int64_t V, mor_buffer logits,
                                  mor_buffer targets, int32_t ignore_index, mor_buffer losses, float grad_scale) {
  return abi_guard([&] {
    check_context(ctx);
    require_dims({{"T", T}, {"V", V}}, "mor_cross_entropy");
    require(V >= 1, MOR_ERR_INVALID_ARGUMENT, "mor_cross_entropy: V must be >= 1");
    require_f32(logits, T * V, "mor_cross_entropy logits");
    require_i32(targets, T, "mor_cross_entropy targets");
    require_f32(losses, T, "mor_cross_entropy losses");
    require_same_context(ctx, {logits, targets, losses}, "mor_cross_entropy");
    NativeStream s = resolve_stream(ctx, stream);
    require_ids_in_range(ctx, s, targets, T, V, true, ignore_index, "mor_cross_entropy targets");
    ctx->backend->cross_entropy(T, V, f32(logits), static_cast<const int32_t*>(targets->data), ignore_index,
                                f32(losses), grad_scale, s);
  });
}

MOR_API int32_t mor_adamw_step(mor_context ctx, mor_stream stream, int64_t n, mor_buffer params, mor_buffer grads,
                               mor_buffer m, mor_buffer v, const mor_adamw_params* hp) {
  return abi_guard([&] {
    check_context(ctx);
    require(hp != nullptr, MOR_ERR_INVALID_ARGUMENT, "mor_adamw_step: hyper-parameters are null");
    require_dims({{"n", n}}, "mor_adamw_step");
    require(hp->step >= 1, MOR_ERR_INVALID_ARGUMENT, "mor_adamw_step: step counts from 1");
    require(hp->beta1 >= 0 && hp->beta1 < 1 && hp->beta2 >= 0 && hp->beta2 < 1, MOR_ERR_INVALID_ARGUMENT,
            "mor_adamw_step: betas must be in [0, 1)");
    require_f32(params, n, "mor_adamw_step params");
    require_f32(grads, n, "mor_adamw_step grads");
    require_f32(m, n, "mor_adamw_step m");
    require_f32(v, n, "mor_adamw_step v");
    require_same_context(ctx, {params, grads, m, v}, "mor_adamw_step");
    AdamWArgs a{hp->lr, hp->beta1, hp->beta2, hp->eps, hp->weight_decay, hp->grad_scale, hp->step};
    ctx->backend->adamw(n, f32(params), f32(grads), f32(m), f32(v), a, resolve_stream(ctx, stream));
  });
}

MOR_API int32_t mor_sum_squares(mor_context ctx, mor_stream stream, int64_t n, mor_buffer x, int64_t x_offset,
                                double* out) {
  return abi_guard([&] {
    check_context(ctx);
    require(out != nullptr, MOR_ERR_INVALID_ARGUMENT, "mor_sum_squares: out is null");
    require_dims({{"n", n}, {"x_offset", x_offset}}, "mor_sum_squares");
    require_f32(x, x_offset + n, "mor_sum_squares x");
    require_same_context(ctx, {x}, "mor_sum_squares");
    *out = n == 0 ? 0.0 : ctx->backend->sum_squares(n, f32(x) + x_offset, resolve_stream(ctx, stream));
  });
}

MOR_API int32_t mor_axpy(mor_context ctx, mor_stream stream, int64_t n, float alpha, mor_buffer x, int64_t x_offset,
                         mor_buffer y, int64_t y_offset) {
  return abi_guard([&] {
    check_context(ctx);
    require_dims({{"n", n}, {"x_offset", x_offset}, {"y_offset", y_offset}}, "mor_axpy");
    require_f32(x, x_offset + n, "mor_axpy x");
    require_f32(y, y_offset + n, "mor_axpy y");
    require_same_context(ctx, {x, y}, "mor_axpy");
    if (n > 0) ctx->backend->axpy(n, alpha, f32(x) + x_offset, f32(y) + y_offset, resolve_stream(ctx, stream));
  });
}

MOR_API int32_t mor_scale(mor_context ctx, mor_stream stream, int64_t n, float alpha, mor_buffer x, int64_t x_offset) {
  return abi_guard([&] {
    check_context(ctx);
    require_dims({{"n", n}, {"x_offset", x_offset}}, "mor_scale");
    require_f32(x, x_offset + n, "mor_scale x");
    require_same_context(ctx, {x}, "mor_scale");
    if (n > 0) ctx->backend->scale(n, alpha, f32(x) + x_offset, resolve_stream(ctx, stream));
  });
}

MOR_API int32_t mor_dropout(mor_context ctx, mor_stream stream, int64_t n, float p, uint64_t seed, uint64_t offset,
                            mor_buffer x, mor_buffer out) {
  return abi_guard([&] {
    check_context(ctx);
    require_dims({{"n", n}}, "mor_dropout");
    require(std::isfinite(p) && p >= 0.0f && p < 1.0f, MOR_ERR_INVALID_ARGUMENT,
            "mor_dropout: p must be in [0, 1), got " + std::to_string(p));
    require_f32(x, n, "mor_dropout x");
    require_f32(out, n, "mor_dropout out");
    require_same_context(ctx, {x, out}, "mor_dropout");
    if (n == 0) return;
    // Both derived on the host once, so every backend decides and scales identically.
    const uint64_t threshold = static_cast<uint64_t>(static_cast<double>(p) * 4294967296.0);
    const float inv_keep = 1.0f / (1.0f - p);
    ctx->backend->dropout(n, threshold, inv_keep, seed, offset, f32(x), f32(out), resolve_stream(ctx, stream));
  });
}

}  // extern "C"
