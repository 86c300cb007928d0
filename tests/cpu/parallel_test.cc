// ParallelFor: every index of [0, n) is handed out exactly once, nested calls
// run inline, and a child made by fork() after the threads have run finishes
// its calls (serially) instead of waiting on threads it does not have.

#include "backends/cpu/parallel.h"

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace tapconv::cpu {
namespace {

// How many times ParallelFor visited each index of [0, n).
std::vector<int> Visits(int64_t n, int64_t grain, int threads) {
  std::vector<std::atomic<int>> counts(n);
  ParallelFor(n, grain, threads, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) counts[i].fetch_add(1);
  });
  std::vector<int> out(n);
  for (int64_t i = 0; i < n; ++i) out[i] = counts[i].load();
  return out;
}

TEST(ParallelForTest, VisitsEveryIndexOnce) {
  for (int threads : {0, 1, 2, 3}) {
    for (int64_t n : {1, 2, 7, 64, 1000}) {
      for (int64_t grain : {1, 5, 2000}) {
        const std::vector<int> visits = Visits(n, grain, threads);
        for (int64_t i = 0; i < n; ++i) {
          ASSERT_EQ(visits[i], 1)
              << "index " << i << " n=" << n << " grain=" << grain
              << " threads=" << threads;
        }
      }
    }
  }
}

TEST(ParallelForTest, NestedCallsRunInTheCallingThread) {
  std::atomic<int> inner_total{0}, foreign{0};
  ParallelFor(8, 1, 0, [&](int64_t begin, int64_t end) {
    const std::thread::id outer = std::this_thread::get_id();
    for (int64_t i = begin; i < end; ++i) {
      ParallelFor(16, 1, 0, [&](int64_t b, int64_t e) {
        if (std::this_thread::get_id() != outer) foreign.fetch_add(1);
        inner_total.fetch_add(static_cast<int>(e - b));
      });
    }
  });
  EXPECT_EQ(inner_total.load(), 8 * 16);
  EXPECT_EQ(foreign.load(), 0);
}

// Runs ParallelFor in a forked child and reports through the exit status: 0 all
// indices visited once and InForkedChild() true, 1 wrong visits, 2
// InForkedChild() false. The parent gives it 60 s.
TEST(ParallelForTest, FinishesInAChildForkedAfterItsThreadsRan) {
  ASSERT_EQ(Visits(1000, 1, 0), std::vector<int>(1000, 1));  // threads started
  EXPECT_FALSE(InForkedChild());
  const pid_t child = fork();
  ASSERT_GE(child, 0) << "fork failed";
  if (child == 0) {
    const bool visited_once = Visits(1000, 1, 0) == std::vector<int>(1000, 1);
    _exit(!visited_once ? 1 : !InForkedChild() ? 2 : 0);
  }
  int status = 0;
  pid_t done = 0;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while ((done = waitpid(child, &status, WNOHANG)) == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (done == 0) {
    kill(child, SIGKILL);
    waitpid(child, &status, 0);
    FAIL() << "ParallelFor hung in the forked child";
  }
  ASSERT_TRUE(WIFEXITED(status))
      << "child ended by signal "
      << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "1: wrong visits in the child, 2: InForkedChild() was false there";
  // The parent's threads still work.
  EXPECT_EQ(Visits(1000, 1, 0), std::vector<int>(1000, 1));
}

}  // namespace
}  // namespace tapconv::cpu
