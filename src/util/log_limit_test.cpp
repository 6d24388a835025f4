#include "util/log_limit.hpp"

#include <gtest/gtest.h>

#include <string>

namespace diskless {
namespace {

using namespace std::chrono_literals;
const log_limiter::clock::time_point t0{};

TEST(LogLimiter, OneLinePerSourceAndPeriodWithSuppressedCount) {
  log_limiter l(60s, 16);
  std::uint64_t n = 99;
  EXPECT_TRUE(l.allow("a", t0, &n));
  EXPECT_EQ(n, 0u);
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(l.allow("a", t0 + 10s));
  EXPECT_TRUE(l.allow("b", t0 + 10s));  // another source is independent
  EXPECT_FALSE(l.allow("a", t0 + 59s));
  EXPECT_TRUE(l.allow("a", t0 + 60s, &n));
  EXPECT_EQ(n, 6u);
  EXPECT_FALSE(l.allow("a", t0 + 61s));
}

TEST(LogLimiter, FloodOfSourcesStaysWithinCapacity) {
  log_limiter l(60s, 8);
  int allowed = 0;
  for (int i = 0; i < 1000; ++i) allowed += l.allow("mac" + std::to_string(i), t0 + 1s) ? 1 : 0;
  EXPECT_EQ(allowed, 8);
  EXPECT_EQ(l.size(), 8u);
  EXPECT_EQ(l.overflowed(), 992u);
  // A period later the stale sources are swept and new ones are logged again.
  EXPECT_TRUE(l.allow("late", t0 + 61s));
  EXPECT_LE(l.size(), 8u);
}

}  // namespace
}  // namespace diskless
