// The CPU thread pool (src/cpu/thread_pool.h) on its own: this file compiles the pool's source into the test
// binary (native/tests/CMakeLists.txt), so these tests drive a second pool, not the library's.
#include "cpu/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

namespace {

using mor::cpu::parallel_for;
using mor::cpu::set_thread_count;
using mor::cpu::thread_stats;

// Restores the default count however a test ends.
struct ThreadCount {
  explicit ThreadCount(int n) { set_thread_count(n); }
  ~ThreadCount() { set_thread_count(0); }
};

TEST(ThreadPool, EveryChunkRunsOnceWithBoundsFixedByTheProblemWhateverTheThreadCount) {
  const int64_t n = 1003, grain = 10, chunks = (n + grain - 1) / grain;
  for (int threads : {1, 2, 3, 5}) {
    ThreadCount count(threads);
    std::vector<std::atomic<int>> runs(static_cast<size_t>(chunks));
    std::vector<int64_t> ends(static_cast<size_t>(chunks), -1);
    parallel_for(n, grain, [&](int64_t begin, int64_t end) {
      ASSERT_EQ(begin % grain, 0);
      runs[static_cast<size_t>(begin / grain)]++;
      ends[static_cast<size_t>(begin / grain)] = end;
    });
    for (int64_t c = 0; c < chunks; ++c) {
      EXPECT_EQ(runs[c].load(), 1) << "chunk " << c << " with " << threads << " threads";
      EXPECT_EQ(ends[c], std::min(n, (c + 1) * grain));
    }
  }
}

TEST(ThreadPool, ALoopOfOneChunkRunsOnTheCallingThreadWithoutWakingTheWorkers) {
  ThreadCount count(4);
  parallel_for(100, 1, [](int64_t, int64_t) {});  // starts the workers
  const auto before = thread_stats();
  std::set<std::thread::id> ran_on;
  parallel_for(100, 100, [&](int64_t, int64_t) { ran_on.insert(std::this_thread::get_id()); });
  const auto after = thread_stats();
  EXPECT_EQ(ran_on, std::set<std::thread::id>{std::this_thread::get_id()});
  EXPECT_EQ(after.serial_loops, before.serial_loops + 1);
  EXPECT_EQ(after.parallel_loops, before.parallel_loops);
}

TEST(ThreadPool, SeveralThreadsShareALoopOfManyChunks) {
  ThreadCount count(2);
  std::mutex m;
  std::set<std::thread::id> ran_on;
  const auto before = thread_stats();
  // Chunks that each take a while, so the worker certainly wakes before the caller has run them all.
  parallel_for(64, 1, [&](int64_t, int64_t) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::lock_guard<std::mutex> lock(m);
    ran_on.insert(std::this_thread::get_id());
  });
  EXPECT_EQ(thread_stats().parallel_loops, before.parallel_loops + 1);
  EXPECT_EQ(thread_stats().workers, 1);
  EXPECT_EQ(ran_on.size(), 2u);
}

TEST(ThreadPool, ANestedLoopRunsSeriallyOnTheThreadOfItsChunk) {
  ThreadCount count(3);
  std::atomic<int64_t> total{0};
  std::atomic<bool> same_thread{true};
  parallel_for(8, 1, [&](int64_t, int64_t) {
    const auto outer = std::this_thread::get_id();
    parallel_for(100, 7, [&](int64_t begin, int64_t end) {
      if (std::this_thread::get_id() != outer) same_thread = false;
      total += end - begin;
    });
  });
  EXPECT_EQ(total.load(), 800);
  EXPECT_TRUE(same_thread.load());
}

TEST(ThreadPool, LoopsStartedFromManyThreadsAtOnceAllComplete) {
  ThreadCount count(3);
  std::vector<std::thread> callers;
  std::vector<int64_t> sums(6, 0);
  for (size_t t = 0; t < sums.size(); ++t)
    callers.emplace_back([&, t] {
      for (int rep = 0; rep < 300; ++rep) {
        std::vector<int64_t> part(50, 0);
        parallel_for(5000, 100, [&](int64_t begin, int64_t end) {
          for (int64_t i = begin; i < end; ++i) part[static_cast<size_t>(begin / 100)] += i;
        });
        for (int64_t p : part) sums[t] += p;
      }
    });
  for (auto& c : callers) c.join();
  for (int64_t s : sums) EXPECT_EQ(s, int64_t{300} * 4999 * 5000 / 2);
}

TEST(ThreadPool, AnExceptionInAChunkReachesTheCallerAndThePoolKeepsWorking) {
  ThreadCount count(2);
  EXPECT_THROW(parallel_for(40, 1,
                            [](int64_t begin, int64_t) {
                              if (begin == 17) throw std::runtime_error("chunk 17");
                            }),
               std::runtime_error);
  std::atomic<int64_t> total{0};
  parallel_for(40, 1, [&](int64_t begin, int64_t end) { total += end - begin; });
  EXPECT_EQ(total.load(), 40);
}

TEST(ThreadPool, IdleWorkersGoToSleepInsteadOfSpinning) {
  ThreadCount count(3);
  const auto before = thread_stats();
  parallel_for(64, 1, [](int64_t, int64_t) { std::this_thread::sleep_for(std::chrono::microseconds(200)); });
  // Far longer than any spin: both workers have gone to sleep since the loop, and stay asleep while idle...
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const auto asleep = thread_stats();
  EXPECT_GE(asleep.worker_sleeps, before.worker_sleeps + 2);
  const std::clock_t cpu0 = std::clock();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const double cpu_ms = 1000.0 * static_cast<double>(std::clock() - cpu0) / CLOCKS_PER_SEC;
  EXPECT_EQ(thread_stats().worker_sleeps, asleep.worker_sleeps);  // no wake-ups without work
  // ...burning (next to) no CPU time: a spinning worker would use ~100 ms here.
  EXPECT_LT(cpu_ms, 10.0);
}

TEST(ThreadPool, ChangingTheThreadCountStartsAndStopsWorkers) {
  ThreadCount count(4);
  parallel_for(64, 1, [](int64_t, int64_t) {});
  EXPECT_EQ(thread_stats().workers, 3);
  set_thread_count(2);
  EXPECT_EQ(thread_stats().threads, 2);
  parallel_for(64, 1, [](int64_t, int64_t) {});
  EXPECT_EQ(thread_stats().workers, 1);
  set_thread_count(1);
  const auto before = thread_stats();
  parallel_for(64, 1, [](int64_t, int64_t) {});
  EXPECT_EQ(thread_stats().inline_loops, before.inline_loops + 1);
  EXPECT_EQ(thread_stats().workers, 0);
}

}  // namespace
