#include "cpu/thread_pool.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "platform/platform.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#endif

namespace mor::cpu {

namespace {

void cpu_relax() {
#if defined(__x86_64__) || defined(_M_X64)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// How long a thread with nothing to do keeps looking for work before it sleeps: first busy-waiting (the next
// loop of a training step usually starts within microseconds), then offering its core to other threads.
constexpr auto kSpinFor = std::chrono::microseconds(4);
constexpr auto kYieldFor = std::chrono::microseconds(60);

// Waits until ready() holds: spins, then yields, then returns false so that the caller can sleep.
template <class Ready>
bool wait_briefly(Ready ready) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  for (int i = 0;; ++i) {
    if (ready()) return true;
    if ((i & 63) != 63) {
      cpu_relax();
      continue;
    }
    const auto waited = Clock::now() - start;
    if (waited > kYieldFor) return false;
    if (waited > kSpinFor) std::this_thread::yield();
  }
}

// Parsed positive integer from an environment variable, 0 when unset or not a positive integer.
int env_threads(const char* name) {
  const std::string v = platform::getenv_string(name);
  if (v.empty()) return 0;
  char* end = nullptr;
  const long n = std::strtol(v.c_str(), &end, 10);
  return end != v.c_str() && *end == '\0' && n > 0 && n <= 4096 ? static_cast<int>(n) : 0;
}

// The ticket is where threads claim chunks: (generation << 32) | position. A loop is published with an even
// generation and position 2^32 − chunks, so the fetch_add that claims its last chunk carries into the
// generation and leaves it odd: "no loop open". A claim is valid exactly when the value it returned had an
// even generation; the chunk index is then position − (2^32 − chunks). Threads thus claim with one fetch_add,
// and a thread that arrives late can only find a closed loop or a whole new one, never a half-rewritten one.
constexpr uint64_t kPositionSpan = uint64_t{1} << 32;
constexpr int64_t kMaxChunks = int64_t{1} << 30;

bool ticket_open(uint64_t ticket) { return ((ticket >> 32) & 1u) == 0; }

class ThreadPool {
 public:
  static ThreadPool& instance() {
    // Never destroyed: joining workers from a static destructor at process exit can hang (on Windows the
    // threads are already gone when DLL destructors run). The threads end with the process.
    static ThreadPool* pool = new ThreadPool();
    return *pool;
  }

  int threads() {
    std::lock_guard<std::mutex> lock(loop_mutex_);
    return threads_;
  }

  void set_threads(int threads) {
    std::lock_guard<std::mutex> lock(loop_mutex_);
    threads_ = threads > 0 ? threads : default_thread_count();
    if (static_cast<int>(workers_.size()) > threads_ - 1) stop_workers();
  }

  bool run(int64_t n, int64_t grain, detail::ChunkFn fn, void* context) {
    const int64_t chunks = (n + grain - 1) / grain;
    if (chunks < 2) return run_inline(serial_loops_);
    // Nested (the outer loop already occupies the threads), absurdly many chunks, or another thread's loop is
    // running: inline.
    if (t_inside_loop || chunks > kMaxChunks) return run_inline(inline_loops_);
    std::unique_lock<std::mutex> lock(loop_mutex_, std::try_to_lock);
    if (!lock.owns_lock() || threads_ < 2) return run_inline(inline_loops_);
    start_workers();
    parallel_loops_.fetch_add(1, std::memory_order_relaxed);

    fn_ = fn;
    context_ = context;
    n_ = n;
    grain_ = grain;
    chunks_ = chunks;
    done_.store(0, std::memory_order_relaxed);
    generation_ += 2;
    ticket_.store((generation_ << 32) | (kPositionSpan - static_cast<uint64_t>(chunks)), std::memory_order_seq_cst);
    if (sleeping_workers_.load(std::memory_order_seq_cst) > 0) {
      std::lock_guard<std::mutex> sleep(sleep_mutex_);
      work_available_.notify_all();
    }

    t_inside_loop = true;
    run_chunks();
    t_inside_loop = false;
    // Chunks other threads claimed may still be running.
    if (!wait_briefly([&] { return done_.load(std::memory_order_acquire) == chunks_; })) {
      std::unique_lock<std::mutex> sleep(sleep_mutex_);
      caller_sleeping_.store(true, std::memory_order_seq_cst);
      loop_finished_.wait(sleep, [&] { return done_.load(std::memory_order_seq_cst) == chunks_; });
      caller_sleeping_.store(false, std::memory_order_relaxed);
    }
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));  // the first chunk that failed
    return true;
  }

  ThreadStats stats() {
    std::lock_guard<std::mutex> lock(loop_mutex_);
    return {serial_loops_.load(),
            parallel_loops_.load(),
            inline_loops_.load(),
            worker_sleeps_.load(),
            threads_,
            static_cast<int>(workers_.size())};
  }

 private:
  ThreadPool() : threads_(default_thread_count()) {}

  // Counts a loop its caller runs itself; returns false, "not run here".
  static bool run_inline(std::atomic<int64_t>& counter) {
    counter.fetch_add(1, std::memory_order_relaxed);
    return false;
  }

  // Claims and runs chunks of the open loop until none is left.
  void run_chunks() {
    for (;;) {
      const uint64_t claim = ticket_.fetch_add(1, std::memory_order_acq_rel);
      if (!ticket_open(claim)) return;
      // The loop's fields are stable: the caller rewrites them only after every chunk is done.
      const int64_t chunk = static_cast<int64_t>((claim & (kPositionSpan - 1)) - (kPositionSpan - chunks_));
      const int64_t begin = chunk * grain_;
      try {
        fn_(context_, begin, std::min(n_, begin + grain_));
      } catch (...) {  // e.g. mor::Error from a kernel: rethrown by the caller once every chunk has ended
        std::lock_guard<std::mutex> lock(sleep_mutex_);
        if (!error_) error_ = std::current_exception();
      }
      if (done_.fetch_add(1, std::memory_order_seq_cst) + 1 == chunks_ &&
          caller_sleeping_.load(std::memory_order_seq_cst)) {
        std::lock_guard<std::mutex> sleep(sleep_mutex_);
        loop_finished_.notify_one();
      }
    }
  }

  void worker_main() {
    t_inside_loop = true;  // a loop started by a chunk runs inline
    for (;;) {
      if (!wait_briefly([&] { return stopping_.load(std::memory_order_relaxed) || has_work(); })) {
        std::unique_lock<std::mutex> sleep(sleep_mutex_);
        sleeping_workers_.fetch_add(1, std::memory_order_seq_cst);
        worker_sleeps_.fetch_add(1, std::memory_order_relaxed);
        work_available_.wait(sleep, [&] { return stopping_.load(std::memory_order_relaxed) || has_work(); });
        sleeping_workers_.fetch_sub(1, std::memory_order_relaxed);
      }
      if (stopping_.load(std::memory_order_relaxed)) return;
      run_chunks();
    }
  }

  bool has_work() const { return ticket_open(ticket_.load(std::memory_order_seq_cst)); }

  // Both called with loop_mutex_ held, so no loop is running.
  void start_workers() {
    while (static_cast<int>(workers_.size()) < threads_ - 1) workers_.emplace_back([this] { worker_main(); });
  }
  void stop_workers() {
    {
      std::lock_guard<std::mutex> sleep(sleep_mutex_);
      stopping_.store(true);
      work_available_.notify_all();
    }
    for (auto& t : workers_) t.join();
    workers_.clear();
    stopping_.store(false);
  }

  std::mutex loop_mutex_;  // one loop at a time; also guards threads_ and workers_
  int threads_;
  std::vector<std::thread> workers_;

  // The open loop (written by its caller before the ticket is published).
  detail::ChunkFn fn_ = nullptr;
  void* context_ = nullptr;
  int64_t n_ = 0, grain_ = 1, chunks_ = 0;
  uint64_t generation_ = 0;                          // of the last loop published; even, +2 per loop
  std::atomic<uint64_t> ticket_{uint64_t{1} << 32};  // generation 1: closed
  std::atomic<int64_t> done_{0};
  std::exception_ptr error_;  // guarded by sleep_mutex_ until the loop ends

  std::mutex sleep_mutex_;
  std::condition_variable work_available_, loop_finished_;
  std::atomic<int> sleeping_workers_{0};
  std::atomic<bool> caller_sleeping_{false}, stopping_{false};
  std::atomic<int64_t> serial_loops_{0}, parallel_loops_{0}, inline_loops_{0}, worker_sleeps_{0};

  static thread_local bool t_inside_loop;
};

thread_local bool ThreadPool::t_inside_loop = false;

int affinity_cpus() {
  const int n = platform::available_cpus();
  return n > 0 ? n : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

}  // namespace

int default_thread_count() {
  if (const int n = env_threads("MOR_NUM_THREADS")) return n;
  if (const int n = env_threads("OMP_NUM_THREADS")) return n;
  return affinity_cpus();
}

int thread_count() { return ThreadPool::instance().threads(); }

void set_thread_count(int threads) { ThreadPool::instance().set_threads(threads); }

ThreadStats thread_stats() { return ThreadPool::instance().stats(); }

namespace detail {
bool run_on_pool(int64_t n, int64_t grain, ChunkFn fn, void* context) {
  return ThreadPool::instance().run(n, grain, fn, context);
}
}  // namespace detail

}  // namespace mor::cpu
