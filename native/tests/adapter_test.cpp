// Every adapter op (LoRA, MoR, MoE-LoRA, DoRA) on the CPU backend: the float64 references are first
// checked against central finite differences, then the library's F32 forward and every gradient are
// checked against them, including the accumulate-into semantics, odd shapes, T=1, r=1, N=1,
// MoR(N=1, ω=1) == LoRA, the B=0 initialisation property, and bit-exact determinism.
#include "adapter_runner.h"

using namespace mortest;

namespace {

const ref::Dims kShapes[] = {
    {1, 33, 97, 1, 1, 2.0},  // T=1, odd dims, r=1, N=1
    {5, 33, 97, 4, 3, 0.5},  // odd dims
    {70, 17, 9, 3, 2, 1.0},  // T > the 64-token reduction chunk
    {3, 8, 8, 8, 8, 0.25},   // r = d, N = 8
};

std::vector<ref::Vec> random_params(const std::vector<size_t>& sizes, uint64_t seed) {
  std::vector<ref::Vec> p;
  for (size_t i = 0; i < sizes.size(); ++i) p.push_back(to_double(random_vector(sizes[i], seed + i, 0.5f)));
  return p;
}

void expect_close(const std::vector<float>& got, const ref::Vec& want, double tol, const std::string& what) {
  EXPECT_LT(rel_error(got, want), tol) << what;
}

}  // namespace

// ---- the references against finite differences (float64) ----

TEST(Reference, LoraGradientsMatchFiniteDifferences) {
  ref::Dims d{3, 5, 4, 2, 1, 0.7};
  auto p = random_params({10, 8}, 1);
  auto x = to_double(random_vector(15, 9)), R = to_double(random_vector(12, 10));
  auto fwd = [&](const std::vector<ref::Vec>& pp, const ref::Vec& xx) { return ref::lora_forward(d, pp, xx); };
  EXPECT_LT(ref::fd_max_rel_error(p, x, R, fwd, ref::lora_backward(d, p, x, R)), 1e-7);
}

TEST(Reference, MorGradientsMatchFiniteDifferences) {
  ref::Dims d{3, 5, 4, 2, 3, 0.7};
  auto p = random_params({10, 15, 6, 8, 12}, 2);
  auto x = to_double(random_vector(15, 9)), R = to_double(random_vector(12, 10));
  auto fwd = [&](const std::vector<ref::Vec>& pp, const ref::Vec& xx) { return ref::mor_forward(d, pp, xx); };
  EXPECT_LT(ref::fd_max_rel_error(p, x, R, fwd, ref::mor_backward(d, p, x, R)), 1e-7);
}

TEST(Reference, MoeLoraGradientsMatchFiniteDifferences) {
  ref::Dims d{3, 5, 4, 2, 3, 0.7};
  auto p = random_params({30, 15, 24}, 3);
  auto x = to_double(random_vector(15, 9)), R = to_double(random_vector(12, 10));
  auto fwd = [&](const std::vector<ref::Vec>& pp, const ref::Vec& xx) { return ref::moe_forward(d, pp, xx); };
  EXPECT_LT(ref::fd_max_rel_error(p, x, R, fwd, ref::moe_backward(d, p, x, R)), 1e-7);
}

TEST(Reference, DoraGradientsMatchFiniteDifferencesWithDetachedNorm) {
  ref::Dims d{3, 5, 4, 2, 1, 0.7};
  auto p = random_params({10, 8, 4}, 4);
  auto W = to_double(random_vector(20, 5));
  auto x = to_double(random_vector(15, 9)), R = to_double(random_vector(12, 10));
  const ref::Vec norm = ref::dora_norm(d, W, p[0], p[1]);  // held fixed: PEFT detaches it
  auto fwd = [&](const std::vector<ref::Vec>& pp, const ref::Vec& xx) { return ref::dora_forward(d, W, norm, pp, xx); };
  EXPECT_LT(ref::fd_max_rel_error(p, x, R, fwd, ref::dora_backward(d, W, norm, p, x, R)), 1e-7);
}

// ---- the library (F32) against the references ----

TEST(Lora, ForwardAndGradientsMatchReference) {
  for (const auto& d : kShapes) {
    Context ctx;
    auto p = random_params({(size_t)(d.r * d.d_in), (size_t)(d.d_out * d.r)}, 20);
    auto res = run_lora(ctx.get(), d, p, 30);
    expect_close(res.y, res.want_y, 1e-5, "lora y");
    for (size_t i = 0; i < res.grads.size(); ++i)
      expect_close(res.grads[i], res.want_grads[i], 1e-5, "lora grad " + std::to_string(i));
  }
}

TEST(Mor, ForwardAndGradientsMatchReference) {
  for (const auto& d : kShapes) {
    Context ctx;
    auto p = random_params({(size_t)(d.r * d.d_in), (size_t)(d.N * d.d_in), (size_t)(d.N * d.r),
                            (size_t)(d.d_out * d.r), (size_t)(d.N * d.d_out)},
                           40);
    auto res = run_mor(ctx.get(), d, p, 50);
    expect_close(res.y, res.want_y, 1e-5, "mor y");
    const char* names[] = {"dA", "dW_g", "d omega_A", "dB", "d omega_B", "dx"};
    for (size_t i = 0; i < res.grads.size(); ++i)
      expect_close(res.grads[i], res.want_grads[i], 1e-5, std::string("mor ") + names[i] + " T=" + std::to_string(d.T));
  }
}

TEST(MoeLora, ForwardAndGradientsMatchReference) {
  for (const auto& d : kShapes) {
    Context ctx;
    auto p = random_params({(size_t)(d.N * d.r * d.d_in), (size_t)(d.N * d.d_in), (size_t)(d.d_out * d.N * d.r)}, 60);
    auto res = run_moe(ctx.get(), d, p, 70);
    expect_close(res.y, res.want_y, 1e-5, "moe y");
    for (size_t i = 0; i < res.grads.size(); ++i)
      expect_close(res.grads[i], res.want_grads[i], 1e-5, "moe grad " + std::to_string(i));
  }
}

TEST(Dora, ForwardAndGradientsMatchReferenceF32AndBf16Base) {
  for (bool bf16 : {false, true})
    for (const auto& d : kShapes) {
      Context ctx;
      auto p = random_params({(size_t)(d.r * d.d_in), (size_t)(d.d_out * d.r), (size_t)d.d_out}, 80);
      auto res = run_dora(ctx.get(), d, p, 90, bf16);
      // BF16 base: the reference uses the same rounded W; W·Aᵀ inside the norm rounds A to BF16
      // (mor.h's mixed-precision rule), which moves the detached norm slightly.
      const double tol = bf16 ? 1e-2 : 1e-5;
      expect_close(res.y, res.want_y, tol, "dora y");
      for (size_t i = 0; i < res.grads.size(); ++i)
        expect_close(res.grads[i], res.want_grads[i], tol, "dora grad " + std::to_string(i));
    }
}

// ---- properties ----

TEST(Mor, WithOneExpertAndUnitScalesEqualsLora) {
  ref::Dims d{6, 33, 97, 4, 1, 0.5};
  Context ctx;
  auto A = random_params({(size_t)(d.r * d.d_in)}, 1)[0], B = random_params({(size_t)(d.d_out * d.r)}, 2)[0];
  ref::Vec Wg((size_t)d.d_in, 0.3), wA((size_t)d.r, 1.0), wB((size_t)d.d_out, 1.0);
  auto mor = run_mor(ctx.get(), d, {A, Wg, wA, B, wB}, 3, /*zero_grads=*/true);
  auto lora = run_lora(ctx.get(), d, {A, B}, 3, true);
  EXPECT_LT(rel_error(mor.y, to_double(lora.y)), 1e-6);
  EXPECT_LT(rel_error(mor.grads[0], to_double(lora.grads[0])), 1e-6);  // dA
  EXPECT_LT(rel_error(mor.grads[3], to_double(lora.grads[1])), 1e-6);  // dB
  EXPECT_LT(rel_error(mor.grads[5], to_double(lora.grads[2])), 1e-6);  // dx
  double dwg = 0;
  for (float v : mor.grads[1]) dwg = std::max(dwg, (double)std::fabs(v));
  EXPECT_LT(dwg, 1e-6);  // with one expert the softmax is constant: no router gradient
}

TEST(Mor, ZeroBInitialisationMovesOnlyBAndOmegaAFirst) {
  // MOR.md §5: with B = 0, dA = 0 and dω_B = 0 and dω_A = 0 on the first step; dB != 0.
  ref::Dims d{4, 9, 7, 3, 2, 1.0};
  Context ctx;
  auto p = random_params({(size_t)(d.r * d.d_in), (size_t)(d.N * d.d_in), (size_t)(d.N * d.r), (size_t)(d.d_out * d.r),
                          (size_t)(d.N * d.d_out)},
                         5);
  std::fill(p[3].begin(), p[3].end(), 0.0);
  std::fill(p[2].begin(), p[2].end(), 1.0);
  std::fill(p[4].begin(), p[4].end(), 1.0);
  auto res = run_mor(ctx.get(), d, p, 6, /*zero_initial_grads=*/true);
  auto max_abs = [](const std::vector<float>& v) {
    double m = 0;
    for (float x : v) m = std::max(m, (double)std::fabs(x));
    return m;
  };
  EXPECT_EQ(max_abs(res.grads[0]), 0.0);  // dA
  EXPECT_EQ(max_abs(res.grads[1]), 0.0);  // dW_g
  EXPECT_EQ(max_abs(res.grads[2]), 0.0);  // dω_A
  EXPECT_GT(max_abs(res.grads[3]), 0.0);  // dB
  EXPECT_EQ(max_abs(res.grads[4]), 0.0);  // dω_B
}

TEST(Mor, BackwardIsBitIdenticalRunToRun) {
  ref::Dims d{257, 33, 97, 8, 4, 0.5};
  auto p = random_params({(size_t)(d.r * d.d_in), (size_t)(d.N * d.d_in), (size_t)(d.N * d.r), (size_t)(d.d_out * d.r),
                          (size_t)(d.N * d.d_out)},
                         7);
  Context c1, c2;
  auto a = run_mor(c1.get(), d, p, 8, true, /*with_reference=*/false);
  auto b = run_mor(c2.get(), d, p, 8, true, false);
  EXPECT_EQ(a.y, b.y);
  for (size_t i = 0; i < a.grads.size(); ++i) EXPECT_EQ(a.grads[i], b.grads[i]) << "grad " << i;
}

TEST(Adapters, ShapeAndDtypeErrorsNameTheTensor) {
  Context ctx;
  Buffer x(ctx.get(), MOR_DTYPE_F32, 10), a(ctx.get(), MOR_DTYPE_F32, 4), b(ctx.get(), MOR_DTYPE_F32, 6),
      h(ctx.get(), MOR_DTYPE_F32, 4), y(ctx.get(), MOR_DTYPE_F32, 6);
  // T=2, d_in=5: A needs r·d_in = 10 elements but has 4.
  EXPECT_EQ(mor_lora_forward(ctx.get(), nullptr, 2, 5, 3, 2, 1.0f, x.get(), a.get(), b.get(), h.get(), y.get()),
            MOR_ERR_SHAPE);
  EXPECT_NE(std::string(mor_last_error()).find("mor_lora_forward A"), std::string::npos) << mor_last_error();
  Buffer a16(ctx.get(), MOR_DTYPE_BF16, 10);
  EXPECT_EQ(mor_lora_forward(ctx.get(), nullptr, 2, 5, 3, 2, 1.0f, x.get(), a16.get(), b.get(), h.get(), y.get()),
            MOR_ERR_DTYPE);
  EXPECT_EQ(mor_lora_forward(ctx.get(), nullptr, 2, 5, 3, 0, 1.0f, x.get(), a.get(), b.get(), h.get(), y.get()),
            MOR_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(mor_last_error()).find("rank r"), std::string::npos);
}
