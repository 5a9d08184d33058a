// Runs one adapter's forward and backward through the ABI on any context, with random initial
// contents in y and in every gradient buffer (the ops accumulate), and computes what the float64
// reference says they must become. Shared by the CPU tests and the CUDA-vs-CPU tests.
#pragma once

#include "common/float16.h"
#include "reference.h"
#include "test_support.h"

namespace mortest {

struct AdapterRun {
  std::vector<float> y;
  ref::Vec want_y;
  std::vector<std::vector<float>> grads;  // parameter grads in the reference's order, then dx
  std::vector<ref::Vec> want_grads;
};

inline std::vector<float> to_float(const ref::Vec& v) { return std::vector<float>(v.begin(), v.end()); }

inline ref::Vec concat(const ref::Vec& a, const ref::Vec& b) {
  ref::Vec c(a);
  c.insert(c.end(), b.begin(), b.end());
  return c;
}

// Initial gradient-buffer contents: random (tests accumulation) or zero.
inline std::vector<float> initial(size_t n, uint64_t seed, bool zero) {
  return zero ? std::vector<float>(n, 0.0f) : random_vector(n, seed);
}

inline void add_into(ref::Vec& want, const std::vector<float>& init) {
  for (size_t i = 0; i < want.size(); ++i) want[i] += init[i];
}

inline AdapterRun run_lora(mor_context ctx, const ref::Dims& d, const std::vector<ref::Vec>& p, uint64_t seed,
                           bool zero_grads = false, bool with_reference = true) {
  auto x = random_vector((size_t)(d.T * d.d_in), seed), dy = random_vector((size_t)(d.T * d.d_out), seed + 1);
  auto y0 = random_vector((size_t)(d.T * d.d_out), seed + 2);
  auto ga = initial(p[0].size(), seed + 3, zero_grads), gb = initial(p[1].size(), seed + 4, zero_grads),
       gx = initial(x.size(), seed + 5, zero_grads);
  Buffer bx(ctx, x), ba(ctx, to_float(p[0])), bb(ctx, to_float(p[1])), bh(ctx, MOR_DTYPE_F32, d.T * d.r), by(ctx, y0),
      bdy(ctx, dy), bda(ctx, ga), bdb(ctx, gb), bdx(ctx, gx);
  AdapterRun run;
  EXPECT_EQ(mor_lora_forward(ctx, nullptr, d.T, d.d_in, d.d_out, d.r, (float)d.s, bx.get(), ba.get(), bb.get(),
                             bh.get(), by.get()),
            MOR_OK)
      << mor_last_error();
  EXPECT_EQ(mor_lora_backward(ctx, nullptr, d.T, d.d_in, d.d_out, d.r, (float)d.s, bx.get(), ba.get(), bb.get(),
                              bh.get(), bdy.get(), bda.get(), bdb.get(), bdx.get()),
            MOR_OK)
      << mor_last_error();
  run.y = by.f32();
  run.grads = {bda.f32(), bdb.f32(), bdx.f32()};
  if (with_reference) {
    // The reference sees exactly the F32 inputs the library saw.
    std::vector<ref::Vec> pf = {to_double(to_float(p[0])), to_double(to_float(p[1]))};
    run.want_y = ref::lora_forward(d, pf, to_double(x));
    add_into(run.want_y, y0);
    run.want_grads = ref::lora_backward(d, pf, to_double(x), to_double(dy));
    add_into(run.want_grads[0], ga), add_into(run.want_grads[1], gb), add_into(run.want_grads[2], gx);
  }
  return run;
}

// p = {A, W_g, ω_A, B, ω_B}
inline AdapterRun run_mor(mor_context ctx, const ref::Dims& d, const std::vector<ref::Vec>& p, uint64_t seed,
                          bool zero_grads = false, bool with_reference = true) {
  auto x = random_vector((size_t)(d.T * d.d_in), seed), dy = random_vector((size_t)(d.T * d.d_out), seed + 1);
  auto y0 = random_vector((size_t)(d.T * d.d_out), seed + 2);
  const size_t nag = (size_t)((d.r + d.N) * d.d_in);
  auto gag = initial(nag, seed + 3, zero_grads), gwa = initial(p[2].size(), seed + 4, zero_grads),
       gb = initial(p[3].size(), seed + 5, zero_grads), gwb = initial(p[4].size(), seed + 6, zero_grads),
       gx = initial(x.size(), seed + 7, zero_grads);
  Buffer bx(ctx, x), bag(ctx, to_float(concat(p[0], p[1]))), bwa(ctx, to_float(p[2])), bb(ctx, to_float(p[3])),
      bwb(ctx, to_float(p[4])), bq(ctx, MOR_DTYPE_F32, d.d_out * d.N * d.r), bhz(ctx, MOR_DTYPE_F32, d.T * (d.r + d.N)),
      bg(ctx, MOR_DTYPE_F32, d.T * d.N), by(ctx, y0), bdy(ctx, dy), bdag(ctx, gag), bdwa(ctx, gwa), bdb(ctx, gb),
      bdwb(ctx, gwb), bdx(ctx, gx);
  EXPECT_EQ(mor_build_q(ctx, nullptr, d.d_out, d.r, d.N, bb.get(), bwb.get(), bq.get()), MOR_OK) << mor_last_error();
  EXPECT_EQ(mor_forward(ctx, nullptr, d.T, d.d_in, d.d_out, d.r, d.N, (float)d.s, bx.get(), bag.get(), bwa.get(),
                        bq.get(), bhz.get(), bg.get(), by.get()),
            MOR_OK)
      << mor_last_error();
  EXPECT_EQ(mor_backward(ctx, nullptr, d.T, d.d_in, d.d_out, d.r, d.N, (float)d.s, bx.get(), bag.get(), bwa.get(),
                         bb.get(), bwb.get(), bq.get(), bhz.get(), bg.get(), bdy.get(), bdag.get(), bdwa.get(),
                         bdb.get(), bdwb.get(), bdx.get()),
            MOR_OK)
      << mor_last_error();
  AdapterRun run;
  run.y = by.f32();
  auto dag = bdag.f32();
  const size_t na = (size_t)(d.r * d.d_in);
  run.grads = {std::vector<float>(dag.begin(), dag.begin() + na),
               std::vector<float>(dag.begin() + na, dag.end()),
               bdwa.f32(),
               bdb.f32(),
               bdwb.f32(),
               bdx.f32()};
  if (with_reference) {
    std::vector<ref::Vec> pf;
    for (const auto& v : p) pf.push_back(to_double(to_float(v)));
    run.want_y = ref::mor_forward(d, pf, to_double(x));
    add_into(run.want_y, y0);
    run.want_grads = ref::mor_backward(d, pf, to_double(x), to_double(dy));
    add_into(run.want_grads[0], std::vector<float>(gag.begin(), gag.begin() + na));
    add_into(run.want_grads[1], std::vector<float>(gag.begin() + na, gag.end()));
    add_into(run.want_grads[2], gwa), add_into(run.want_grads[3], gb), add_into(run.want_grads[4], gwb);
    add_into(run.want_grads[5], gx);
  }
  return run;
}

// p = {A_cat, W_g, B_cat}
inline AdapterRun run_moe(mor_context ctx, const ref::Dims& d, const std::vector<ref::Vec>& p, uint64_t seed,
                          bool zero_grads = false, bool with_reference = true) {
  const int64_t K = d.N * d.r;
  auto x = random_vector((size_t)(d.T * d.d_in), seed), dy = random_vector((size_t)(d.T * d.d_out), seed + 1);
  auto y0 = random_vector((size_t)(d.T * d.d_out), seed + 2);
  const size_t nag = (size_t)((K + d.N) * d.d_in);
  auto gag = initial(nag, seed + 3, zero_grads), gb = initial(p[2].size(), seed + 4, zero_grads),
       gx = initial(x.size(), seed + 5, zero_grads);
  Buffer bx(ctx, x), bag(ctx, to_float(concat(p[0], p[1]))), bb(ctx, to_float(p[2])),
      bhz(ctx, MOR_DTYPE_F32, d.T * (K + d.N)), bg(ctx, MOR_DTYPE_F32, d.T * d.N), by(ctx, y0), bdy(ctx, dy),
      bdag(ctx, gag), bdb(ctx, gb), bdx(ctx, gx);
  EXPECT_EQ(mor_moe_lora_forward(ctx, nullptr, d.T, d.d_in, d.d_out, d.r, d.N, (float)d.s, bx.get(), bag.get(),
                                 bb.get(), bhz.get(), bg.get(), by.get()),
            MOR_OK)
      << mor_last_error();
  EXPECT_EQ(mor_moe_lora_backward(ctx, nullptr, d.T, d.d_in, d.d_out, d.r, d.N, (float)d.s, bx.get(), bag.get(),
                                  bb.get(), bhz.get(), bg.get(), bdy.get(), bdag.get(), bdb.get(), bdx.get()),
            MOR_OK)
      << mor_last_error();
  AdapterRun run;
  run.y = by.f32();
  auto dag = bdag.f32();
  const size_t na = (size_t)(K * d.d_in);
  run.grads = {std::vector<float>(dag.begin(), dag.begin() + na), std::vector<float>(dag.begin() + na, dag.end()),
               bdb.f32(), bdx.f32()};
  if (with_reference) {
    std::vector<ref::Vec> pf;
    for (const auto& v : p) pf.push_back(to_double(to_float(v)));
    run.want_y = ref::moe_forward(d, pf, to_double(x));
    add_into(run.want_y, y0);
    run.want_grads = ref::moe_backward(d, pf, to_double(x), to_double(dy));
    add_into(run.want_grads[0], std::vector<float>(gag.begin(), gag.begin() + na));
    add_into(run.want_grads[1], std::vector<float>(gag.begin() + na, gag.end()));
    add_into(run.want_grads[2], gb), add_into(run.want_grads[3], gx);
  }
  return run;
}

// p = {A, B, m}; W is random, stored as F32 or BF16.
inline AdapterRun run_dora(mor_context ctx, const ref::Dims& d, const std::vector<ref::Vec>& p, uint64_t seed,
                           bool bf16_base, bool zero_grads = false, bool with_reference = true) {
  auto x = random_vector((size_t)(d.T * d.d_in), seed), dy = random_vector((size_t)(d.T * d.d_out), seed + 1);
  auto w = random_vector((size_t)(d.d_out * d.d_in), seed + 2);
  std::vector<uint16_t> w16(w.size());
  for (size_t i = 0; i < w.size(); ++i) {
    w16[i] = mor::f32_to_bf16(w[i]);
    if (bf16_base) w[i] = mor::bf16_to_f32(w16[i]);
  }
  auto ga = initial(p[0].size(), seed + 3, zero_grads), gb = initial(p[1].size(), seed + 4, zero_grads),
       gm = initial(p[2].size(), seed + 5, zero_grads), gx = initial(x.size(), seed + 6, zero_grads);
  Buffer bw(ctx, bf16_base ? MOR_DTYPE_BF16 : MOR_DTYPE_F32, d.d_out * d.d_in);
  if (bf16_base)
    EXPECT_EQ(mor_buffer_upload(bw.get(), 0, w16.data(), (int64_t)w16.size(), nullptr), MOR_OK);
  else
    bw.upload(w);
  Buffer bx(ctx, x), ba(ctx, to_float(p[0])), bb(ctx, to_float(p[1])), bm(ctx, to_float(p[2])),
      bw2(ctx, MOR_DTYPE_F32, d.d_out), bh(ctx, MOR_DTYPE_F32, d.T * d.r), bnorm(ctx, MOR_DTYPE_F32, d.d_out),
      bbase(ctx, MOR_DTYPE_F32, d.T * d.d_out), by(ctx, MOR_DTYPE_F32, d.T * d.d_out), bdy(ctx, dy), bda(ctx, ga),
      bdb(ctx, gb), bdm(ctx, gm), bdx(ctx, gx);
  EXPECT_EQ(mor_row_norm2(ctx, nullptr, d.d_out, d.d_in, bw.get(), bw2.get()), MOR_OK) << mor_last_error();
  // base = W x, as the frozen Linear computes it.
  EXPECT_EQ(mor_gemm(ctx, nullptr, 0, 1, d.T, d.d_out, d.d_in, 1.0f, bx.get(), 0, d.d_in, 0, bw.get(), 0, d.d_in, 0,
                     0.0f, bbase.get(), 0, d.d_out, 0, 1, 0),
            MOR_OK)
      << mor_last_error();
  EXPECT_EQ(mor_dora_forward(ctx, nullptr, d.T, d.d_in, d.d_out, d.r, (float)d.s, bx.get(), bw.get(), bw2.get(),
                             ba.get(), bb.get(), bm.get(), bh.get(), bnorm.get(), bbase.get(), by.get()),
            MOR_OK)
      << mor_last_error();
  EXPECT_EQ(mor_dora_backward(ctx, nullptr, d.T, d.d_in, d.d_out, d.r, (float)d.s, bx.get(), bw.get(), ba.get(),
                              bb.get(), bm.get(), bh.get(), bnorm.get(), bbase.get(), bdy.get(), bdm.get(), bda.get(),
                              bdb.get(), bdx.get()),
            MOR_OK)
      << mor_last_error();
  AdapterRun run;
  run.y = by.f32();
  run.grads = {bda.f32(), bdb.f32(), bdm.f32(), bdx.f32()};
  if (with_reference) {
    std::vector<ref::Vec> pf;
    for (const auto& v : p) pf.push_back(to_double(to_float(v)));
    const ref::Vec W = to_double(w), xd = to_double(x);
    const ref::Vec norm = ref::dora_norm(d, W, pf[0], pf[1]);
    run.want_y = ref::dora_forward(d, W, norm, pf, xd);
    run.want_grads = ref::dora_backward(d, W, norm, pf, xd, to_double(dy));
    add_into(run.want_grads[0], ga), add_into(run.want_grads[1], gb), add_into(run.want_grads[2], gm);
    add_into(run.want_grads[3], gx);
  }
  return run;
}

}  // namespace mortest
