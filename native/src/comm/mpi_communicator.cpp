// MPI backend: a duplicate of MPI_COMM_WORLD; host pointers only (CUDA buffers are staged by the
// ABI layer, so any MPI works, CUDA-aware or not). Every collective is non-blocking (MPI_I*) and
// polled against a deadline, so a dead or hung peer becomes an error message, not a hang.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <thread>

#include "comm/communicator.h"

#if !defined(_WIN32)
#include <dlfcn.h>
#endif

namespace mor {

namespace {

// Process-wide MPI lifetime: initialised by the first communicator unless the host program did it,
// finalised with the last one only when we initialised it. MPI cannot be initialised twice.
std::mutex g_mpi_mutex;
int g_live = 0;
bool g_we_initialised = false;
bool g_finalised = false;

std::string mpi_error_text(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) return "MPI error " + std::to_string(code);
  return std::string(text, static_cast<size_t>(length));
}

void check_mpi(int code, const std::string& what) {
  if (code != MPI_SUCCESS) fail(MOR_ERR_COMM, what + " failed: " + mpi_error_text(code));
}

// libmor is loaded with RTLD_LOCAL (dlopen by the .NET runtime), and so is the libmpi it links.
// Open MPI then dlopens its components, which resolve MPI symbols globally and fail to load
// ("undefined symbol: ompi_..."). Promoting the already-loaded libmpi to RTLD_GLOBAL fixes that.
void make_libmpi_global() {
#if !defined(_WIN32)
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&MPI_Init_thread), &info) != 0 && info.dli_fname != nullptr)
    dlopen(info.dli_fname, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
#endif
}

void acquire_mpi() {
  std::lock_guard<std::mutex> lock(g_mpi_mutex);
  require(!g_finalised, MOR_ERR_COMM,
          "MPI was already finalised in this process (the last communicator was destroyed); MPI can be initialised "
          "only once per process: keep one communicator for the whole run");
  int initialised = 0;
  check_mpi(MPI_Initialized(&initialised), "MPI_Initialized");
  if (!initialised) {
    make_libmpi_global();
    int provided = 0;
    check_mpi(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided), "MPI_Init_thread");
    g_we_initialised = true;
    // Calls are serialised by mor_comm_t's mutex but may come from different threads (a .NET
    // continuation can resume anywhere): FUNNELED or SINGLE would not be enough.
    if (provided < MPI_THREAD_SERIALIZED) {
      MPI_Finalize();
      g_finalised = true;
      fail(MOR_ERR_NOT_SUPPORTED,
           "this MPI library provides thread level " + std::to_string(provided) + ", MPI_THREAD_SERIALIZED is needed");
    }
  }
  ++g_live;
}

void release_mpi() noexcept {
  std::lock_guard<std::mutex> lock(g_mpi_mutex);
  if (--g_live == 0 && g_we_initialised && !g_finalised) {
    int finalised = 0;
    MPI_Finalized(&finalised);
    if (!finalised) MPI_Finalize();
    g_finalised = true;
  }
}

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() : timeout_s_(comm_timeout_seconds()) {
    acquire_mpi();
    try {
      check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "MPI_Comm_dup(MPI_COMM_WORLD)");
      check_mpi(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
      check_mpi(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
      check_mpi(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
    } catch (...) {
      if (comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
      release_mpi();
      throw;
    }
  }

  ~MpiCommunicator() override {
    if (broken_) {
      // A peer is gone or a request is still in flight on our memory: freeing the communicator or
      // finalising could block. Leave MPI as it is; the job is expected to abort.
      return;
    }
    MPI_Comm_free(&comm_);
    release_mpi();
  }

  const char* backend_name() const override { return "MPI"; }
  int32_t rank() const override { return rank_; }
  int32_t size() const override { return size_; }
  bool takes_device_pointers() const override { return false; }
  bool takes_host_pointers() const override { return true; }

  void allreduce_sum_f32(float* data, int64_t count, NativeStream) override {
    // MPI counts are int: large ranges go in pieces (the sum is elementwise, so pieces are exact).
    for (int64_t done = 0; done < count;) {
      const int n = static_cast<int>(std::min<int64_t>(count - done, INT_MAX / 2));
      MPI_Request request = MPI_REQUEST_NULL;
      check_mpi(MPI_Iallreduce(MPI_IN_PLACE, data + done, n, MPI_FLOAT, MPI_SUM, comm_, &request), "MPI_Iallreduce");
      wait(request, "all-reduce of " + std::to_string(count) + " floats");
      done += n;
    }
  }

  void broadcast(void* data, int64_t bytes, int32_t root, NativeStream) override {
    char* p = static_cast<char*>(data);
    for (int64_t done = 0; done < bytes;) {
      const int n = static_cast<int>(std::min<int64_t>(bytes - done, INT_MAX / 2));
      MPI_Request request = MPI_REQUEST_NULL;
      check_mpi(MPI_Ibcast(p + done, n, MPI_BYTE, root, comm_, &request), "MPI_Ibcast");
      wait(request, "broadcast of " + std::to_string(bytes) + " bytes from rank " + std::to_string(root));
      done += n;
    }
  }

  void barrier() override {
    MPI_Request request = MPI_REQUEST_NULL;
    check_mpi(MPI_Ibarrier(comm_, &request), "MPI_Ibarrier");
    wait(request, "barrier");
  }

  void abort(int32_t code) override {
    MPI_Abort(comm_ != MPI_COMM_NULL ? comm_ : MPI_COMM_WORLD, code);
    fail(MOR_ERR_COMM, "MPI_Abort returned");
  }

 private:
  // Progress is made inside MPI_Test: spin briefly (small collectives finish in microseconds),
  // then back off so a rank waiting for a slow peer does not burn a core.
  void wait(MPI_Request& request, const std::string& operation) {
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    const auto deadline =
        start + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(timeout_s_));
    for (int polls = 0;; ++polls) {
      int done = 0;
      const int code = MPI_Test(&request, &done, MPI_STATUS_IGNORE);
      if (code != MPI_SUCCESS) {
        broken_ = true;
        fail(MOR_ERR_COMM, "rank " + std::to_string(rank_) + ": " + operation + " failed: " + mpi_error_text(code));
      }
      if (done) return;
      const auto now = clock::now();
      if (now >= deadline) {
        broken_ = true;
        fail_timeout(rank_, operation, timeout_s_);
      }
      if (polls > 1000)
        std::this_thread::sleep_for(std::chrono::microseconds(now - start > std::chrono::seconds(1) ? 1000 : 50));
    }
  }

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
  double timeout_s_;
};

}  // namespace

std::unique_ptr<Communicator> create_mpi_communicator() { return std::make_unique<MpiCommunicator>(); }

std::string comm_build_info() {
  char version[MPI_MAX_LIBRARY_VERSION_STRING];
  int length = 0;
  std::string info = "mpi";
  if (MPI_Get_library_version(version, &length) == MPI_SUCCESS) {
    std::string text(version, static_cast<size_t>(length));
    text = text.substr(0, text.find_first_of(",\n"));  // "Open MPI v4.1.4, package: ..." -> "Open MPI v4.1.4"
    info += " (" + text + ")";
  }
#if defined(MOR_WITH_NCCL)
  info += ", nccl";
#endif
  return info;
}

}  // namespace mor
