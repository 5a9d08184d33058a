// TF32 inside the adapter ops (mor_context_set_allow_tf32): the MoR forward and every gradient stay
// within TF32's ~1e-3 of the float64 reference on CUDA. Skips without a GPU.
#include "adapter_runner.h"

using namespace mortest;

TEST(CudaTf32, MorAdapterGemmsOnTensorCoresStayCloseToFloat64) {
  std::string why;
  if (!cuda_available(&why)) GTEST_SKIP() << "no CUDA device: " << why;
  Context ctx(MOR_BACKEND_CUDA, 0);
  ASSERT_EQ(ctx.status(), MOR_OK) << mor_last_error();
  MOR_ASSERT_OK(mor_context_set_allow_tf32(ctx.get(), 1));
  const ref::Dims d{64, 96, 80, 8, 4, 0.5};
  std::vector<ref::Vec> p;
  const size_t sizes[] = {(size_t)(d.r * d.d_in), (size_t)(d.N * d.d_in), (size_t)(d.N * d.r), (size_t)(d.d_out * d.r),
                          (size_t)(d.N * d.d_out)};
  for (size_t i = 0; i < 5; ++i) p.push_back(to_double(random_vector(sizes[i], 100 + i, 0.5f)));
  AdapterRun run = run_mor(ctx.get(), d, p, 7, /*zero_grads=*/true);
  EXPECT_LT(rel_error(run.y, run.want_y), 5e-3);
  for (size_t i = 0; i < run.grads.size(); ++i)
    EXPECT_LT(rel_error(run.grads[i], run.want_grads[i]), 5e-3) << "grad " << i;
}
