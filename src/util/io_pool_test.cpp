#include "util/io_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>

namespace diskless {
namespace {

TEST(IoPool, InlineModeRunsWorkAndPostsCompletion) {
  std::vector<io_pool::task> loop;
  io_pool pool(0, [&](io_pool::task t) { loop.push_back(std::move(t)); });
  int got = 0;
  pool.submit([] { return 42; }, [&](int v) { got = v; });
  ASSERT_EQ(loop.size(), 1u);
  EXPECT_EQ(got, 0);  // completion only runs on the "loop"
  loop[0]();
  EXPECT_EQ(got, 42);
}

TEST(IoPool, ThreadsRunWorkOffTheCallerAndCompletionsCarryMoveOnlyResults) {
  std::mutex m;
  std::vector<io_pool::task> loop;
  auto caller = std::this_thread::get_id();
  std::atomic<int> off_thread{0};
  {
    io_pool pool(2, [&](io_pool::task t) {
      std::lock_guard lock(m);
      loop.push_back(std::move(t));
    });
    for (int i = 0; i < 10; ++i) {
      pool.submit(
          [&, i] {
            if (std::this_thread::get_id() != caller) ++off_thread;
            return std::make_unique<int>(i);
          },
          [](std::unique_ptr<int> p) { EXPECT_NE(p, nullptr); });
    }
    pool.shutdown();  // drains the queue
  }
  EXPECT_EQ(off_thread.load(), 10);
  ASSERT_EQ(loop.size(), 10u);
  for (auto& t : loop) t();
}

}  // namespace
}  // namespace diskless
