// The interface each communication backend implements (mpi_communicator.cpp, nccl_communicator.cpp).
// The ABI layer (api_comm.cpp) validates handles and ranges, serialises calls and stages device
// memory through the host for backends that only take host pointers; a backend sees raw pointers.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/backend.h"
#include "core/error.h"

struct mor_context_t;

namespace mor {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual const char* backend_name() const = 0;
  virtual int32_t rank() const = 0;
  virtual int32_t size() const = 0;
  // True when pointers into CUDA buffers can be passed as they are (NCCL); false means host
  // pointers only (MPI without CUDA awareness: the ABI layer stages CUDA buffers).
  virtual bool takes_device_pointers() const = 0;
  // True when pointers into host (CPU-backend) buffers can be passed.
  virtual bool takes_host_pointers() const = 0;

  // All complete (or fail with MOR_ERR_COMM) within the deadline; `stream` is meaningful to
  // device-pointer backends only.
  virtual void allreduce_sum_f32(float* data, int64_t count, NativeStream stream) = 0;
  virtual void broadcast(void* data, int64_t bytes, int32_t root, NativeStream stream) = 0;
  virtual void barrier() = 0;
  virtual void abort(int32_t code) = 0;

  // Set when a collective failed or timed out: the peers' state is unknown, so nothing more may
  // be sent on this communicator and tearing it down collectively could hang.
  bool broken() const { return broken_; }

 protected:
  bool broken_ = false;
};

// MOR_COMM_TIMEOUT_S (seconds, > 0), default 300: long enough for a rank that is writing a
// checkpoint while the others wait, short enough that a dead peer does not hold a job for hours.
double comm_timeout_seconds();

// "rank 1: all-reduce of 4096 floats timed out after 5 s (a peer rank probably died ...)".
[[noreturn]] void fail_timeout(int32_t rank, const std::string& operation, double seconds);

// Factories: defined by the backend's source file, or by comm_unavailable.cpp when the backend was
// not compiled in (they then fail with MOR_ERR_NOT_SUPPORTED saying how to build it in).
std::unique_ptr<Communicator> create_mpi_communicator();
std::unique_ptr<Communicator> create_nccl_communicator(Communicator& bootstrap, mor_context_t* ctx);
// "mpi (Open MPI v4.1.4 ...)", "nccl 2.18.3" or "off" for mor_build_info.
std::string comm_build_info();

}  // namespace mor

struct mor_comm_t {
  static constexpr uint32_t kMagic = 0x4d6f524d;  // "MoRM"
  uint32_t magic = kMagic;
  std::mutex mutex;  // one collective at a time: ranks must issue them in the same order
  std::unique_ptr<mor::Communicator> impl;
  std::vector<char> staging;  // host copy of CUDA data for host-only backends, reused across calls
};
