// Communicator ABI in a single process (MPI singleton: one rank). Several ranks are exercised by
// the managed distributed tests under mpirun. MPI can be initialised once per process, so one test
// walks the whole lifetime, ending with the refusal to initialise again.
#include <cstdlib>
#include <string>

#include "test_support.h"

using mortest::Buffer;
using mortest::Context;

#if defined(MOR_WITH_MPI)

TEST(Comm, SingleRankLifetimeAndValidation) {
  Context ctx;
  mor_comm comm = nullptr;
  MOR_ASSERT_OK(mor_comm_create_mpi(nullptr, &comm));
  int32_t rank = -1, size = -1;
  MOR_ASSERT_OK(mor_comm_rank(comm, &rank));
  MOR_ASSERT_OK(mor_comm_size(comm, &size));
  EXPECT_EQ(rank, 0);
  EXPECT_EQ(size, 1);

  // One rank: the sum over ranks is the data itself; broadcast from rank 0 leaves it as it is.
  Buffer buf(ctx.get(), std::vector<float>{1, 2, 3, 4, 5});
  MOR_ASSERT_OK(mor_comm_allreduce_sum_f32(comm, ctx.get(), nullptr, buf.get(), 1, 3));
  MOR_ASSERT_OK(mor_comm_broadcast(comm, ctx.get(), nullptr, buf.get(), 0, 5, 0));
  EXPECT_EQ(buf.f32(), (std::vector<float>{1, 2, 3, 4, 5}));
  MOR_ASSERT_OK(mor_comm_barrier(comm));

  EXPECT_EQ(mor_comm_allreduce_sum_f32(comm, ctx.get(), nullptr, buf.get(), 3, 3), MOR_ERR_SHAPE);
  EXPECT_NE(std::string(mor_last_error()).find("outside the buffer"), std::string::npos) << mor_last_error();
  EXPECT_EQ(mor_comm_allreduce_sum_f32(comm, ctx.get(), nullptr, buf.get(), -1, 1), MOR_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(mor_comm_broadcast(comm, ctx.get(), nullptr, buf.get(), 0, 1, 1), MOR_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(mor_last_error()).find("root 1"), std::string::npos) << mor_last_error();
  Buffer ints(ctx.get(), MOR_DTYPE_I32, 4);
  EXPECT_EQ(mor_comm_allreduce_sum_f32(comm, ctx.get(), nullptr, ints.get(), 0, 4), MOR_ERR_DTYPE);
  MOR_ASSERT_OK(mor_comm_broadcast(comm, ctx.get(), nullptr, ints.get(), 0, 4, 0));  // any dtype
  Context other;
  EXPECT_EQ(mor_comm_allreduce_sum_f32(comm, other.get(), nullptr, buf.get(), 0, 1), MOR_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(mor_comm_rank(nullptr, &rank), MOR_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(mor_comm_create_mpi(&rank, &comm), MOR_ERR_INVALID_ARGUMENT);  // argc_unused must be NULL

  // NCCL needs a CUDA context (or is not built in at all): either way a clear refusal, no crash.
  mor_comm nccl = nullptr;
  EXPECT_EQ(mor_comm_create_nccl(comm, ctx.get(), &nccl), MOR_ERR_NOT_SUPPORTED);
  EXPECT_EQ(nccl, nullptr);

  const char* info = nullptr;
  MOR_ASSERT_OK(mor_build_info(&info));
  EXPECT_NE(std::string(info).find("comm: mpi"), std::string::npos) << info;

  MOR_ASSERT_OK(mor_comm_destroy(comm));  // finalises MPI: we initialised it
  MOR_ASSERT_OK(mor_comm_destroy(nullptr));
  mor_comm again = nullptr;
  EXPECT_EQ(mor_comm_create_mpi(nullptr, &again), MOR_ERR_COMM);
  EXPECT_NE(std::string(mor_last_error()).find("only once per process"), std::string::npos) << mor_last_error();
}

TEST(Comm, TimeoutSettingIsValidated) {
  // Read before MPI is touched, so this works whatever the other test left behind.
  setenv("MOR_COMM_TIMEOUT_S", "soon", 1);
  mor_comm comm = nullptr;
  EXPECT_EQ(mor_comm_create_mpi(nullptr, &comm), MOR_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(mor_last_error()).find("MOR_COMM_TIMEOUT_S"), std::string::npos) << mor_last_error();
  unsetenv("MOR_COMM_TIMEOUT_S");
}

#else

TEST(Comm, WithoutMpiCreateSaysHowToBuildIt) {
  mor_comm comm = nullptr;
  EXPECT_EQ(mor_comm_create_mpi(nullptr, &comm), MOR_ERR_NOT_SUPPORTED);
  EXPECT_NE(std::string(mor_last_error()).find("MOR_MPI"), std::string::npos) << mor_last_error();
  EXPECT_EQ(comm, nullptr);
}

#endif
