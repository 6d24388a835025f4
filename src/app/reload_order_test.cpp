#include "app/reload_order.hpp"

#include <gtest/gtest.h>

namespace diskless::app {
namespace {

TEST(ReloadOrder, LoadsCompletingInOrderAreAllApplied) {
  reload_order o;
  auto a = o.begin(), b = o.begin();
  EXPECT_TRUE(o.accept(a));
  EXPECT_TRUE(o.accept(b));
}

TEST(ReloadOrder, AnOlderLoadCompletingLateIsDropped) {
  reload_order o;
  auto older = o.begin(), newer = o.begin();
  EXPECT_TRUE(o.accept(newer));
  EXPECT_FALSE(o.accept(older));
  // The next edit is applied again.
  EXPECT_TRUE(o.accept(o.begin()));
}

TEST(ReloadOrder, AnInvalidNewerLoadAlsoMakesTheOlderOneStale) {
  // The server passes every completion through accept(), failed validation included, so the
  // older file does not come back after the newer one was refused.
  reload_order o;
  auto older = o.begin(), newer = o.begin();
  ASSERT_TRUE(o.accept(newer));
  EXPECT_FALSE(o.accept(older));
}

TEST(ReloadOrder, ACompletionTwiceOrFromNowhereIsRefused) {
  reload_order o;
  auto g = o.begin();
  EXPECT_TRUE(o.accept(g));
  EXPECT_FALSE(o.accept(g));
  EXPECT_FALSE(o.accept(g + 1));  // never issued
  EXPECT_FALSE(o.accept(0));
}

}  // namespace
}  // namespace diskless::app
