#include "iscsi/throttle.hpp"

#include <gtest/gtest.h>

namespace diskless::iscsi {
namespace {

using namespace std::chrono_literals;
using verdict = auth_throttle::verdict;

TEST(auth_throttle, slows_then_refuses_then_forgets) {
  auth_throttle t({.slow_after = 3, .refuse_after = 5, .period = 60s, .max_sources = 16});
  auto now = auth_throttle::clock::time_point{} + 1000s;
  const std::string a = "192.0.2.7";
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(t.check(a, now), verdict::allow) << i;
    t.failed(a, now);
  }
  EXPECT_EQ(t.check(a, now), verdict::wait);  // 3 failures: wait 1 s
  EXPECT_EQ(t.check(a, now + 1s), verdict::allow);
  t.failed(a, now + 1s);  // 4: wait 2 s
  EXPECT_EQ(t.check(a, now + 2s), verdict::wait);
  EXPECT_EQ(t.check(a, now + 3s), verdict::allow);
  t.failed(a, now + 3s);  // 5: refused for the period
  EXPECT_EQ(t.check(a, now + 30s), verdict::refuse);
  EXPECT_EQ(t.check(a, now + 62s), verdict::refuse);
  EXPECT_EQ(t.check("192.0.2.8", now + 30s), verdict::allow);  // other sources unaffected
  EXPECT_EQ(t.check(a, now + 63s), verdict::allow);            // a period after the last failure
  EXPECT_EQ(t.sources(), 0u);
}

TEST(auth_throttle, logs_once_per_source_and_period) {
  auth_throttle t({.slow_after = 1, .refuse_after = 1, .period = 60s, .max_sources = 16});
  auto now = auth_throttle::clock::time_point{} + 1000s;
  t.failed("a", now);
  EXPECT_TRUE(t.should_log("a", now));
  EXPECT_FALSE(t.should_log("a", now + 10s));
  EXPECT_FALSE(t.should_log("a", now + 59s));
  EXPECT_TRUE(t.should_log("a", now + 60s));
}

TEST(auth_throttle, table_is_bounded) {
  auth_throttle t({.slow_after = 1, .refuse_after = 1, .period = 600s, .max_sources = 8});
  auto now = auth_throttle::clock::time_point{} + 1000s;
  for (int i = 0; i < 1000; ++i)
    t.failed("10.0." + std::to_string(i), now + std::chrono::seconds(i));
  EXPECT_EQ(t.sources(), 8u);
  // The most recent failures are the ones kept.
  EXPECT_EQ(t.check("10.0.999", now + 1000s), verdict::refuse);
  EXPECT_EQ(t.check("10.0.0", now + 1000s), verdict::allow);
}

}  // namespace
}  // namespace diskless::iscsi
