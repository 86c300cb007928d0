// ParallelFor and ParallelWorkers with a WorkQueue: every index of [0, n) is
// handed out exactly once, nested calls run inline, and a child made by fork()
// after the threads have run finishes its calls (serially) instead of waiting
// on threads it does not have.

#include "backends/cpu/parallel.h"

#include <omp.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <utility>
#include <vector>

#include "backends/cpu/work_queue.h"
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

// How many times the workers of one ParallelWorkers call claimed each item
// of [0, n), and how many workers ran.
struct Claims {
  std::vector<int> visits;
  int workers;
};
Claims ClaimAll(int64_t n, int threads) {
  std::vector<std::atomic<int>> counts(n);
  std::atomic<int> workers{0};
  WorkQueue queue(n, threads > 0 ? threads : 2);
  ParallelWorkers(n, threads, [&] {
    workers.fetch_add(1);
    WorkCursor cursor(&queue);
    for (int64_t i = cursor.Next(); i >= 0; i = cursor.Next()) {
      counts[i].fetch_add(1);
    }
  });
  Claims out{std::vector<int>(n), workers.load()};
  for (int64_t i = 0; i < n; ++i) out.visits[i] = counts[i].load();
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

// Ranges in order, each 1/(2 * workers) of what is left (at least one item),
// covering every item once; then none.
TEST(WorkQueueTest, HandsOutShrinkingRangesInOrderThenNone) {
  WorkQueue queue(100, 2);
  EXPECT_EQ(queue.num_items(), 100);
  std::vector<std::pair<int64_t, int64_t>> ranges;
  int64_t begin = -1, end = -1;
  while (queue.Claim(&begin, &end)) ranges.emplace_back(begin, end);
  ASSERT_FALSE(ranges.empty());
  EXPECT_EQ(ranges.front(), std::make_pair(int64_t{0}, int64_t{25}));
  EXPECT_EQ(ranges[1], std::make_pair(int64_t{25}, int64_t{43}));
  int64_t expect_begin = 0;
  for (const auto& [b, e] : ranges) {
    EXPECT_EQ(b, expect_begin);
    EXPECT_EQ(e - b, std::max<int64_t>(1, (100 - b) / 4));
    expect_begin = e;
  }
  EXPECT_EQ(expect_begin, 100);
  EXPECT_EQ(ranges.back().second - ranges.back().first, 1);
  EXPECT_FALSE(queue.Claim(&begin, &end));
  WorkQueue empty(0, 2);
  EXPECT_FALSE(empty.Claim(&begin, &end));
}

TEST(WorkCursorTest, WalksEveryItemInOrder) {
  WorkQueue queue(37, 3);
  WorkCursor cursor(&queue);
  for (int64_t i = 0; i < 37; ++i) EXPECT_EQ(cursor.Next(), i);
  EXPECT_EQ(cursor.Next(), -1);
  EXPECT_EQ(cursor.Next(), -1);
}

TEST(ParallelWorkersTest, WorkersClaimEveryItemOnce) {
  for (int threads : {0, 1, 2, 3}) {
    for (int64_t n : {1, 2, 7, 1000}) {
      const Claims claims = ClaimAll(n, threads);
      for (int64_t i = 0; i < n; ++i) {
        ASSERT_EQ(claims.visits[i], 1)
            << "item " << i << " n=" << n << " threads=" << threads;
      }
      EXPECT_GE(claims.workers, 1);
      EXPECT_LE(claims.workers, n) << "more workers than items";
      if (threads > 0) {
        EXPECT_LE(claims.workers, threads);
      }
    }
  }
  EXPECT_EQ(ClaimAll(0, 2).workers, 0) << "no items, no workers";
}

// Two workers asked for run at the same time: each waits (up to 20 s) for the
// other to start, which a serial fallback would never let happen.
TEST(ParallelWorkersTest, TwoWorkersRunAtOnce) {
  std::atomic<int> started{0}, met{0};
  ParallelWorkers(2, 2, [&] {
    started.fetch_add(1);
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (started.load() < 2 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    if (started.load() == 2) met.fetch_add(1);
  });
  EXPECT_EQ(started.load(), 2);
  EXPECT_EQ(met.load(), 2) << "the workers did not run concurrently";
}

TEST(ParallelWorkersTest, NestedCallsRunOnceInTheCallingThread) {
  std::atomic<int> inner_workers{0}, foreign{0};
  ParallelFor(4, 1, 0, [&](int64_t begin, int64_t end) {
    const std::thread::id outer = std::this_thread::get_id();
    for (int64_t i = begin; i < end; ++i) {
      ParallelWorkers(8, 0, [&] {
        if (std::this_thread::get_id() != outer) foreign.fetch_add(1);
        inner_workers.fetch_add(1);
      });
    }
  });
  EXPECT_EQ(inner_workers.load(), 4);
  EXPECT_EQ(foreign.load(), 0);
}

// torch.set_num_threads(n) calls omp_set_num_threads(n): the ops follow it.
TEST(DefaultThreadCountTest, FollowsTheOpenMpSetting) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  EXPECT_EQ(DefaultThreadCount(), 1);
  EXPECT_EQ(ClaimAll(100, 0).workers, 1);
  omp_set_num_threads(3);
  EXPECT_EQ(DefaultThreadCount(), 3);
  omp_set_num_threads(saved);
  EXPECT_EQ(DefaultThreadCount(), saved);
}

// Runs ParallelFor and ParallelWorkers in a forked child and reports through
// the exit status: 0 all indices visited once and InForkedChild() true, 1
// wrong visits, 2 InForkedChild() false. The parent gives it 60 s.
TEST(ParallelForTest, FinishesInAChildForkedAfterItsThreadsRan) {
  ASSERT_EQ(Visits(1000, 1, 0), std::vector<int>(1000, 1));  // threads started
  ASSERT_EQ(ClaimAll(1000, 0).visits, std::vector<int>(1000, 1));
  EXPECT_FALSE(InForkedChild());
  const pid_t child = fork();
  ASSERT_GE(child, 0) << "fork failed";
  if (child == 0) {
    const bool visited_once =
        Visits(1000, 1, 0) == std::vector<int>(1000, 1) &&
        ClaimAll(1000, 0).visits == std::vector<int>(1000, 1);
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
