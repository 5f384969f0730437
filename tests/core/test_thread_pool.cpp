// The persistent pool runs each share exactly once per job, job after job, and falls back to the caller
// when nested.
#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "core/thread_pool.h"

namespace lowbit {
namespace test_thread_pool {

TEST(ThreadPool, EveryShareRunsOncePerJob) {
  for (int threads : {1, 2, 3, 5}) {
    for (int job = 0; job < 50; ++job) {
      std::vector<std::atomic<int>> runs(static_cast<size_t>(threads));
      std::atomic<int> reported_count{0};
      run_on_threads(threads, [&](int thread, int count) {
        runs[static_cast<size_t>(thread)].fetch_add(1);
        if (count == threads) reported_count.fetch_add(1);
      });
      for (int t = 0; t < threads; ++t) {
        ASSERT_EQ(runs[static_cast<size_t>(t)].load(), 1) << threads << " threads, job " << job;
      }
      ASSERT_EQ(reported_count.load(), threads);
    }
  }
}

TEST(ThreadPool, SharesCoverTheRangeOnce) {
  std::vector<int> hits(1000, 0);
  run_on_threads(3, [&](int thread, int count) {
    const auto [begin, end] = share_of(static_cast<int64_t>(hits.size()), thread, count);
    for (int64_t i = begin; i < end; ++i) ++hits[static_cast<size_t>(i)];
  });
  for (int h : hits) ASSERT_EQ(h, 1);
}

TEST(ThreadPool, NestedCallRunsOnTheCaller) {
  std::atomic<int> inner_runs{0};
  run_on_threads(2, [&](int, int) {
    run_on_threads(2, [&](int, int count) {
      EXPECT_EQ(count, 2);
      inner_runs.fetch_add(1);
    });
  });
  EXPECT_EQ(inner_runs.load(), 4);
}

}  // namespace test_thread_pool
}  // namespace lowbit
