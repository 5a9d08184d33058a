// The CPU backend's one pool of worker threads. Every parallel loop of the CPU backend runs on it — the
// backend's own kernels and the tiles of BLAS products alike (BLAS itself is kept single-threaded,
// cpu_blas.cpp) — so a process never has two thread pools spinning for the same cores. docs/PERFORMANCE.md
// ("CPU threads") says why this design was chosen over an OpenMP build of OpenBLAS.
//
// A loop is cut into chunks whose bounds depend only on the problem (n and grain), never on the number of
// threads, and any thread may run any chunk. Kernels write each chunk's results to places no other chunk
// writes (or to per-chunk partials reduced in chunk order afterwards), so results are bit-identical whatever
// the thread count and however the chunks were scheduled — and a thread slowed by another process simply
// ends up running fewer chunks.
//
// Waiting threads spin for a few microseconds (consecutive loops of a training step follow each other that
// closely), then yield, then sleep on a condition variable: an idle pool costs other processes nothing.
#pragma once

#include <algorithm>
#include <cstdint>

namespace mor::cpu {

// Threads a parallel loop may use, the calling thread included (>= 1).
int thread_count();

// Sets the thread count for later loops; 0 restores the default (default_thread_count()). Waits for a loop
// running on another thread to finish first.
void set_thread_count(int threads);

// MOR_NUM_THREADS when set, else OMP_NUM_THREADS, else the CPUs this process may run on (its affinity mask,
// capped by a cgroup CPU quota on Linux).
int default_thread_count();

struct ThreadStats {
  int64_t serial_loops, parallel_loops, inline_loops, worker_sleeps;
  int threads, workers;
};
ThreadStats thread_stats();

// The work below which a loop is not worth sharing, in "element operations" (one load-compute-store of a
// vectorised element-wise loop, a fraction of a nanosecond): about 20–50 µs on one core. Waking a sleeping
// worker costs several microseconds and every shared loop ends in a wait for the slowest chunk, so a chunk
// must be worth many times that.
constexpr int64_t kMinParallelWork = int64_t{1} << 16;

// Items per chunk so that a chunk holds at least kMinParallelWork when one item costs `work_per_item`.
inline int64_t grain_for(int64_t work_per_item) {
  const int64_t per_item = std::max<int64_t>(1, work_per_item);
  return (kMinParallelWork + per_item - 1) / per_item;
}

namespace detail {
using ChunkFn = void (*)(void* context, int64_t begin, int64_t end);
// Runs every chunk of [0, n) on the pool, the caller included; false when the loop must run inline instead
// (one chunk or one thread, a nested loop, or the pool busy with another caller's loop). Counts the loop.
bool run_on_pool(int64_t n, int64_t grain, ChunkFn fn, void* context);
}  // namespace detail

// Calls fn(begin, end) for the consecutive chunks [begin, end) of [0, n), each `grain` items long (the last
// may be shorter), in parallel when there is more than one chunk. A loop started from inside another parallel
// loop runs serially on its thread, chunk by chunk, with the same bounds.
template <class F>
void parallel_for(int64_t n, int64_t grain, F&& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  auto call = [](void* context, int64_t begin, int64_t end) { (*static_cast<F*>(context))(begin, end); };
  if (detail::run_on_pool(n, grain, call, &fn)) return;
  for (int64_t begin = 0; begin < n; begin += grain) fn(begin, std::min(n, begin + grain));
}

// fn(i) for every i in [0, n), chunked so that each chunk holds about kMinParallelWork.
template <class F>
void parallel_for_each(int64_t n, int64_t work_per_item, F&& fn) {
  parallel_for(n, grain_for(work_per_item), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) fn(i);
  });
}

}  // namespace mor::cpu
