// ABI: adapter ops. Each entry point checks every buffer against the dimensions, then runs the
// sequence in adapter_ops.cpp.
#include <string>

#include "core/abi_guard.h"
#include "core/adapter_ops.h"
#include "core/validate.h"

using namespace mor;

namespace {

float* f32(mor_buffer_t* b) { return b == nullptr ? nullptr : static_cast<float*>(b->data); }

OpEnv env_for(mor_context_t* ctx, mor_stream_t* stream) {
  return OpEnv{*ctx->backend, *ctx->allocator, resolve_stream(ctx, stream), ctx->allow_tf32.load()};
}

void require_rank(int64_t r, int64_t N, const char* op) {
  require(r >= 1, MOR_ERR_INVALID_ARGUMENT, std::string(op) + ": rank r must be >= 1, got " + std::to_string(r));
  require(N >= 1, MOR_ERR_INVALID_ARGUMENT, std::string(op) + ": experts N must be >= 1, got " + std::to_string(N));
}

void require_frozen_weight(const mor_buffer_t* w, int64_t d_out, int64_t d_in, const char* what) {
  require(w != nullptr && w->magic == mor_buffer_t::kMagic, MOR_ERR_INVALID_ARGUMENT,
          std::string(what) + ": buffer is null, invalid or destroyed");
  require(w->dtype == MOR_DTYPE_F32 || w->dtype == MOR_DTYPE_BF16, MOR_ERR_DTYPE,
          std::string(what) + ": frozen weight must be F32 or BF16, got " + dtype_name(w->dtype));
  require(w->numel >= d_out * d_in, MOR_ERR_SHAPE,
          std::string(what) + ": needs " + std::to_string(d_out * d_in) + " elements, buffer has " +
              std::to_string(w->numel));
}

}  // namespace

extern "C" {

MOR_API int32_t mor_lora_forward(mor_context ctx, mor_stream stream, int64_t T, int64_t d_in, int64_t d_out, int64_t r,
                                 float scale, mor_buffer x, mor_buffer a, mor_buffer b, mor_buffer h, mor_buffer y) {
  return abi_guard([&] {
    const char* op = "mor_lora_forward";
    check_context(ctx);
    require_dims({{"T", T}, {"d_in", d_in}, {"d_out", d_out}}, op);
    require_rank(r, 1, op);
    require_f32(x, T * d_in, "mor_lora_forward x");
    require_f32(a, r * d_in, "mor_lora_forward A");
    require_f32(b, d_out * r, "mor_lora_forward B");
    require_f32(h, T * r, "mor_lora_forward h");
    require_f32(y, T * d_out, "mor_lora_forward y");
    require_same_context(ctx, {x, a, b, h, y}, op);
    lora_forward(env_for(ctx, stream), {T, d_in, d_out}, r, scale, f32(x), f32(a), f32(b), f32(h), f32(y));
  });
}

MOR_API int32_t mor_lora_backward(mor_context ctx, mor_stream stream, int64_t T, int64_t d_in, int64_t d_out, int64_t r,
                                  float scale, mor_buffer x, mor_buffer a, mor_buffer b, mor_buffer h, mor_buffer dy,
                                  mor_buffer da, mor_buffer db, mor_buffer dx) {
  return abi_guard([&] {
    const char* op = "mor_lora_backward";
    check_context(ctx);
    require_dims({{"T", T}, {"d_in", d_in}, {"d_out", d_out}}, op);
    require_rank(r, 1, op);
    require_f32(x, T * d_in, "mor_lora_backward x");
    require_f32(a, r * d_in, "mor_lora_backward A");
    require_f32(b, d_out * r, "mor_lora_backward B");
    require_f32(h, T * r, "mor_lora_backward h");
    require_f32(dy, T * d_out, "mor_lora_backward dy");
    require_f32(da, r * d_in, "mor_lora_backward dA");
    require_f32(db, d_out * r, "mor_lora_backward dB");
    if (dx != nullptr) require_f32(dx, T * d_in, "mor_lora_backward dx");
    require_same_context(ctx, {x, a, b, h, dy, da, db, dx}, op);
    lora_backward(env_for(ctx, stream), {T, d_in, d_out}, r, scale, f32(x), f32(a), f32(b), f32(h), f32(dy), f32(da),
                  f32(db), f32(dx));
  });
}

MOR_API int32_t mor_build_q(mor_context ctx, mor_stream stream, int64_t d_out, int64_t r, int64_t N, mor_buffer b,
                            mor_buffer omega_b, mor_buffer q) {
  return abi_guard([&] {
    const char* op = "mor_build_q";
    check_context(ctx);
    require_dims({{"d_out", d_out}}, op);
    require_rank(r, N, op);
    require_f32(b, d_out * r, "mor_build_q B");
    require_f32(omega_b, N * d_out, "mor_build_q omega_B");
    require_f32(q, d_out * N * r, "mor_build_q Q");
    require_same_context(ctx, {b, omega_b, q}, op);
    mor::mor_build_q(env_for(ctx, stream), d_out, r, N, f32(b), f32(omega_b), f32(q));
  });
}

MOR_API int32_t mor_forward(mor_context ctx, mor_stream stream, int64_t T, int64_t d_in, int64_t d_out, int64_t r,
                            int64_t N, float scale, mor_buffer x, mor_buffer ag, mor_buffer omega_a, mor_buffer q,
                            mor_buffer hz, mor_buffer g, mor_buffer y) {
  return abi_guard([&] {
    const char* op = "mor_forward";
    check_context(ctx);
    require_dims({{"T", T}, {"d_in", d_in}, {"d_out", d_out}}, op);
    require_rank(r, N, op);
    require_f32(x, T * d_in, "mor_forward x");
    require_f32(ag, (r + N) * d_in, "mor_forward [A;W_g]");
    require_f32(omega_a, N * r, "mor_forward omega_A");
    require_f32(q, d_out * N * r, "mor_forward Q");
    require_f32(hz, T * (r + N), "mor_forward hz");
    require_f32(g, T * N, "mor_forward g");
    require_f32(y, T * d_out, "mor_forward y");
    require_same_context(ctx, {x, ag, omega_a, q, hz, g, y}, op);
    GateShape sh{T, N, r, true};
    gated_forward(env_for(ctx, stream), {T, d_in, d_out}, sh, scale, f32(x), f32(ag), f32(omega_a), f32(q), f32(hz),
                  f32(g), f32(y));
  });
}

MOR_API int32_t mor_backward(mor_context ctx, mor_stream stream, int64_t T, int64_t d_in, int64_t d_out, int64_t r,
                             int64_t N, float scale, mor_buffer x, mor_buffer ag, mor_buffer omega_a, mor_buffer b,
                             mor_buffer omega_b, mor_buffer q, mor_buffer hz, mor_buffer g, mor_buffer dy,
                             mor_buffer dag, mor_buffer domega_a, mor_buffer db, mor_buffer domega_b, mor_buffer dx) {
  return abi_guard([&] {
    const char* op = "mor_backward";
    check_context(ctx);
    require_dims({{"T", T}, {"d_in", d_in}, {"d_out", d_out}}, op);
    require_rank(r, N, op);
    require_f32(x, T * d_in, "mor_backward x");
    require_f32(ag, (r + N) * d_in, "mor_backward [A;W_g]");
    require_f32(omega_a, N * r, "mor_backward omega_A");
    require_f32(b, d_out * r, "mor_backward B");
    require_f32(omega_b, N * d_out, "mor_backward omega_B");
    require_f32(q, d_out * N * r, "mor_backward Q");
    require_f32(hz, T * (r + N), "mor_backward hz");
    require_f32(g, T * N, "mor_backward g");
    require_f32(dy, T * d_out, "mor_backward dy");
    require_f32(dag, (r + N) * d_in, "mor_backward d[A;W_g]");
    require_f32(domega_a, N * r, "mor_backward d omega_A");
    require_f32(db, d_out * r, "mor_backward dB");
    require_f32(domega_b, N * d_out, "mor_backward d omega_B");
    if (dx != nullptr) require_f32(dx, T * d_in, "mor_backward dx");
    require_same_context(ctx, {x, ag, omega_a, b, omega_b, q, hz, g, dy, dag, domega_a, db, domega_b, dx}, op);
    OpEnv env = env_for(ctx, stream);
    GateShape sh{T, N, r, true};
    Scratch dq(env.alloc, env.s, d_out * N * r);
    gated_backward(env, {T, d_in, d_out}, sh, scale, f32(x), f32(ag), f32(omega_a), f32(q), f32(hz), f32(g), f32(dy),
                   f32(dag), f32(domega_a), dq.get(), 0.0f, f32(dx));
    env.be.reduce_dq(d_out, r, N, dq.get(), f32(b), f32(omega_b), f32(db), f32(domega_b), env.s);
  });
}

MOR_API int32_t mor_moe_lora_forward(mor_context ctx, mor_stream stream, int64_t T, int64_t d_in, int64_t d_out,
                                     int64_t r, int64_t N, float scale, mor_buffer x, mor_buffer ag, mor_buffer b,
                                     mor_buffer hz, mor_buffer g, mor_buffer y) {
  return abi_guard([&] {
    const char* op = "mor_moe_lora_forward";
    check_context(ctx);
    require_dims({{"T", T}, {"d_in", d_in}, {"d_out", d_out}}, op);
    require_rank(r, N, op);
    const int64_t R = N * r;
    require_f32(x, T * d_in, "mor_moe_lora_forward x");
    require_f32(ag, (R + N) * d_in, "mor_moe_lora_forward [A_cat;W_g]");
    require_f32(b, d_out * R, "mor_moe_lora_forward B_cat");
    require_f32(hz, T * (R + N), "mor_moe_lora_forward hz");
    require_f32(g, T * N, "mor_moe_lora_forward g");
    require_f32(y, T * d_out, "mor_moe_lora_forward y");
    require_same_context(ctx, {x, ag, b, hz, g, y}, op);
    GateShape sh{T, N, r, false};
    gated_forward(env_for(ctx, stream), {T, d_in, d_out}, sh, scale, f32(x), f32(ag), nullptr, f32(b), f32(hz), f32(g),
                  f32(y));
  });
}

MOR_API int32_t mor_moe_lora_backward(mor_context ctx, mor_stream stream, int64_t T, int64_t d_in, int64_t d_out,
                                      int64_t r, int64_t N, float scale, mor_buffer x, mor_buffer ag, mor_buffer b,
                                      mor_buffer hz, mor_buffer g, mor_buffer dy, mor_buffer dag, mor_buffer db,
                                      mor_buffer dx) {
  return abi_guard([&] {
    const char* op = "mor_moe_lora_backward";
    check_context(ctx);
    require_dims({{"T", T}, {"d_in", d_in}, {"d_out", d_out}}, op);
    require_rank(r, N, op);
    const int64_t R = N * r;
    require_f32(x, T * d_in, "mor_moe_lora_backward x");
    require_f32(ag, (R + N) * d_in, "mor_moe_lora_backward [A_cat;W_g]");
    require_f32(b, d_out * R, "mor_moe_lora_backward B_cat");
    require_f32(hz, T * (R + N), "mor_moe_lora_backward hz");
    require_f32(g, T * N, "mor_moe_lora_backward g");
    require_f32(dy, T * d_out, "mor_moe_lora_backward dy");
    require_f32(dag, (R + N) * d_in, "mor_moe_lora_backward d[A_cat;W_g]");
    require_f32(db, d_out * R, "mor_moe_lora_backward dB_cat");
    if (dx != nullptr) require_f32(dx, T * d_in, "mor_moe_lora_backward dx");
    require_same_context(ctx, {x, ag, b, hz, g, dy, dag, db, dx}, op);
    GateShape sh{T, N, r, false};
    gated_backward(env_for(ctx, stream), {T, d_in, d_out}, sh, scale, f32(x), f32(ag), nullptr, f32(b), f32(hz), f32(g),
                   f32(dy), f32(dag), nullptr, f32(db), 1.0f, f32(dx));
  });
}

MOR_API int32_t mor_row_norm2(mor_context ctx, mor_stream stream, int64_t rows, int64_t cols, mor_buffer w,
                              mor_buffer out) {
  return abi_guard([&] {
    check_context(ctx);
    require_dims({{"rows", rows}, {"cols", cols}}, "mor_row_norm2");
    require_frozen_weight(w, rows, cols, "mor_row_norm2 w");
    require_f32(out, rows, "mor_row_norm2 out");
    require_same_context(ctx, {w, out}, "mor_row_norm2");
    ctx->backend->row_norm2(rows, cols, w->data, w->dtype, f32(out), resolve_stream(ctx, stream));
  });
}

MOR_API int32_t mor_dora_forward(mor_context ctx, mor_stream stream, int64_t T, int64_t d_in, int64_t d_out, int64_t r,
                                 float scale, mor_buffer x, mor_buffer w, mor_buffer w_norm2, mor_buffer a,
                                 mor_buffer b, mor_buffer m, mor_buffer h, mor_buffer norm, mor_buffer base,
                                 mor_buffer y) {
  return abi_guard([&] {
    const char* op = "mor_dora_forward";
    check_context(ctx);
    require_dims({{"T", T}, {"d_in", d_in}, {"d_out", d_out}}, op);
    require_rank(r, 1, op);
    require_f32(x, T * d_in, "mor_dora_forward x");
    require_frozen_weight(w, d_out, d_in, "mor_dora_forward W");
    require_f32(w_norm2, d_out, "mor_dora_forward w_norm2");
    require_f32(a, r * d_in, "mor_dora_forward A");
    require_f32(b, d_out * r, "mor_dora_forward B");
    require_f32(m, d_out, "mor_dora_forward m");
    require_f32(h, T * r, "mor_dora_forward h");
    require_f32(norm, d_out, "mor_dora_forward norm");
    require_f32(base, T * d_out, "mor_dora_forward base");
    require_f32(y, T * d_out, "mor_dora_forward y");
    require_same_context(ctx, {x, w, w_norm2, a, b, m, h, norm, base, y}, op);
    dora_forward(env_for(ctx, stream), {T, d_in, d_out}, r, scale, f32(x), w->data, w->dtype, f32(w_norm2), f32(a),
                 f32(b), f32(m), f32(h), f32(norm), f32(base), f32(y));
  });
}

MOR_API int32_t mor_dora_backward(mor_context ctx, mor_stream stream, int64_t T, int64_t d_in, int64_t d_out, int64_t r,
                                  float scale, mor_buffer x, mor_buffer w, mor_buffer a, mor_buffer b, mor_buffer m,
                                  mor_buffer h, mor_buffer norm, mor_buffer u, mor_buffer dy, mor_buffer dm,
                                  mor_buffer da, mor_buffer db, mor_buffer dx) {
  return abi_guard([&] {
    const char* op = "mor_dora_backward";
    check_context(ctx);
    require_dims({{"T", T}, {"d_in", d_in}, {"d_out", d_out}}, op);
    require_rank(r, 1, op);
    require_f32(x, T * d_in, "mor_dora_backward x");
    require_frozen_weight(w, d_out, d_in, "mor_dora_backward W");
    require_f32(a, r * d_in, "mor_dora_backward A");
    require_f32(b, d_out * r, "mor_dora_backward B");
    require_f32(m, d_out, "mor_dora_backward m");
    require_f32(h, T * r, "mor_dora_backward h");
    require_f32(norm, d_out, "mor_dora_backward norm");
    require_f32(u, T * d_out, "mor_dora_backward u");
    require_f32(dy, T * d_out, "mor_dora_backward dy");
    require_f32(dm, d_out, "mor_dora_backward dm");
    require_f32(da, r * d_in, "mor_dora_backward dA");
    require_f32(db, d_out * r, "mor_dora_backward dB");
    if (dx != nullptr) require_f32(dx, T * d_in, "mor_dora_backward dx");
    require_same_context(ctx, {x, w, a, b, m, h, norm, u, dy, dm, da, db, dx}, op);
    dora_backward(env_for(ctx, stream), {T, d_in, d_out}, r, scale, f32(x), w->data, w->dtype, f32(a), f32(b), f32(m),
                  f32(h), f32(norm), f32(u), f32(dy), f32(dm), f32(da), f32(db), f32(dx));
  });
}

}  // extern "C"
