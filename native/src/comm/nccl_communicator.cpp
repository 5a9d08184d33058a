// NCCL backend: one GPU per rank, device pointers only, bootstrapped over the MPI communicator
// (rank 0's ncclUniqueId is broadcast to the others). NCCL calls are enqueued on the caller's
// stream; each collective is then waited for against the same deadline as the MPI backend, and
// a timeout aborts the NCCL communicator (ncclCommAbort) so no kernel stays spinning on the GPU.
#include <cuda_runtime.h>
#include <nccl.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "comm/communicator.h"
#include "core/handles.h"

namespace mor {

namespace {

#if defined(NCCL_VERSION_CODE) && NCCL_VERSION_CODE >= NCCL_VERSION(2, 14, 0)
#define MOR_NCCL_NONBLOCKING 1
constexpr bool in_progress(ncclResult_t r) { return r == ncclInProgress; }
#else
constexpr bool in_progress(ncclResult_t) { return false; }
#endif

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(Communicator& bootstrap, mor_context_t* ctx)
      : timeout_s_(comm_timeout_seconds()), rank_(bootstrap.rank()), size_(bootstrap.size()) {
    require(ctx->backend->kind() == MOR_BACKEND_CUDA, MOR_ERR_NOT_SUPPORTED,
            "mor_comm_create_nccl: NCCL needs a CUDA context (one GPU per rank)");
    require(bootstrap.takes_host_pointers(), MOR_ERR_INVALID_ARGUMENT,
            "mor_comm_create_nccl: the bootstrap communicator must be an MPI communicator");
    ctx->backend->activate();
    ncclUniqueId id{};
    if (rank_ == 0) check(ncclGetUniqueId(&id), "ncclGetUniqueId");
    bootstrap.broadcast(&id, static_cast<int64_t>(sizeof id), 0, nullptr);
#if defined(MOR_NCCL_NONBLOCKING)
    // Non-blocking init, so that a peer that never arrives is a timeout too.
    ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
    config.blocking = 0;
    const ncclResult_t r = ncclCommInitRankConfig(&comm_, size_, id, rank_, &config);
    if (r != ncclSuccess && !in_progress(r)) check(r, "ncclCommInitRankConfig");
    wait_ready("NCCL communicator creation");
#else
    check(ncclCommInitRank(&comm_, size_, id, rank_), "ncclCommInitRank");
#endif
    cudaError_t e = cudaMalloc(reinterpret_cast<void**>(&scratch_), sizeof(float));
    if (e != cudaSuccess) {
      ncclCommDestroy(comm_);
      fail(MOR_ERR_OUT_OF_MEMORY, std::string("mor_comm_create_nccl: cudaMalloc: ") + cudaGetErrorString(e));
    }
  }

  ~NcclCommunicator() override {
    if (comm_ != nullptr) {
      if (broken_)
        ncclCommAbort(comm_);
      else
        ncclCommDestroy(comm_);
    }
    if (scratch_ != nullptr) cudaFree(scratch_);
  }

  const char* backend_name() const override { return "NCCL"; }
  int32_t rank() const override { return rank_; }
  int32_t size() const override { return size_; }
  bool takes_device_pointers() const override { return true; }
  bool takes_host_pointers() const override { return false; }

  void allreduce_sum_f32(float* data, int64_t count, NativeStream stream) override {
    const std::string op = "all-reduce of " + std::to_string(count) + " floats";
    enqueued(ncclAllReduce(data, data, static_cast<size_t>(count), ncclFloat32, ncclSum, comm_,
                           static_cast<cudaStream_t>(stream)),
             op);
    wait(static_cast<cudaStream_t>(stream), op);
  }

  void broadcast(void* data, int64_t bytes, int32_t root, NativeStream stream) override {
    const std::string op = "broadcast of " + std::to_string(bytes) + " bytes from rank " + std::to_string(root);
    enqueued(ncclBroadcast(data, data, static_cast<size_t>(bytes), ncclUint8, root, comm_,
                           static_cast<cudaStream_t>(stream)),
             op);
    wait(static_cast<cudaStream_t>(stream), op);
  }

  // NCCL has no barrier: a one-element all-reduce on the communicator's own stream-0 scratch.
  void barrier() override {
    enqueued(ncclAllReduce(scratch_, scratch_, 1, ncclFloat32, ncclSum, comm_, nullptr), "barrier");
    wait(nullptr, "barrier");
  }

  // NCCL cannot end other processes: abort the GPU side and exit; the peers then time out (or the
  // launcher ends them). Abort the MPI communicator instead to end the whole job at once.
  void abort(int32_t code) override {
    if (comm_ != nullptr) ncclCommAbort(comm_);
    comm_ = nullptr;
    std::_Exit(code);
  }

 private:
  void check(ncclResult_t r, const char* what) {
    if (r != ncclSuccess) fail(MOR_ERR_COMM, std::string(what) + " failed: " + ncclGetErrorString(r));
  }

  void enqueued(ncclResult_t r, const std::string& op) {
    if (r == ncclSuccess || in_progress(r)) return;
    broken_ = true;
    fail(MOR_ERR_COMM, "rank " + std::to_string(rank_) + ": " + op + " failed: " + ncclGetErrorString(r));
  }

  // Done when NCCL reports no pending or asynchronous error and (for a collective) the stream has
  // drained; a NCCL error, a CUDA error or the deadline aborts the communicator.
  void wait_ready(const std::string& op) { wait(nullptr, op, /*drain_stream=*/false); }

  void wait(cudaStream_t stream, const std::string& op, bool drain_stream = true) {
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    const auto deadline =
        start + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(timeout_s_));
    for (int polls = 0;; ++polls) {
      ncclResult_t async = ncclSuccess;
      ncclResult_t r = ncclCommGetAsyncError(comm_, &async);
      if (r != ncclSuccess || (async != ncclSuccess && !in_progress(async))) {
        broken_ = true;
        fail(MOR_ERR_COMM, "rank " + std::to_string(rank_) + ": " + op +
                               " failed: " + ncclGetErrorString(r != ncclSuccess ? r : async));
      }
      if (async == ncclSuccess) {
        if (!drain_stream) return;
        const cudaError_t e = cudaStreamQuery(stream);
        if (e == cudaSuccess) return;
        if (e != cudaErrorNotReady) {
          broken_ = true;
          fail(MOR_ERR_CUDA, "rank " + std::to_string(rank_) + ": " + op + ": " + cudaGetErrorString(e));
        }
      }
      const auto now = clock::now();
      if (now >= deadline) {
        broken_ = true;
        fail_timeout(rank_, op, timeout_s_);
      }
      if (polls > 1000)
        std::this_thread::sleep_for(std::chrono::microseconds(now - start > std::chrono::seconds(1) ? 1000 : 20));
    }
  }

  double timeout_s_;
  int32_t rank_;
  int32_t size_;
  ncclComm_t comm_ = nullptr;
  float* scratch_ = nullptr;
};

}  // namespace

std::unique_ptr<Communicator> create_nccl_communicator(Communicator& bootstrap, mor_context_t* ctx) {
  return std::make_unique<NcclCommunicator>(bootstrap, ctx);
}

}  // namespace mor
