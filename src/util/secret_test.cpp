#include "util/secret.hpp"

#include <gtest/gtest.h>

#include <set>

namespace diskless {
namespace {

TEST(RandomSecret, LengthAndAlphabet) {
  auto s = random_secret(16);
  ASSERT_EQ(s.size(), 16u);
  for (char c : s)
    EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) << s;
}

TEST(RandomSecret, UsesTheWholeAlphabet) {
  // 62 symbols over 62,000 draws: a symbol missing means a broken mapping (p ≈ 62·e^-1000).
  auto s = random_secret(62000);
  std::set<char> seen(s.begin(), s.end());
  EXPECT_EQ(seen.size(), 62u);
}

TEST(PerBootSecrets, NoneBeforeTheFirstBoot) {
  per_boot_secrets p;
  EXPECT_FALSE(p.current(*mac_address::parse("52:54:00:00:00:01")));
}

TEST(PerBootSecrets, RotateReplacesAndIsPerMac) {
  per_boot_secrets p;
  auto a = *mac_address::parse("52:54:00:00:00:01"), b = *mac_address::parse("52:54:00:00:00:02");
  auto first = p.rotate(a);
  EXPECT_EQ(first.size(), per_boot_secrets::length);
  EXPECT_EQ(p.current(a), first);
  EXPECT_FALSE(p.current(b));
  auto second = p.rotate(a);
  EXPECT_NE(first, second);
  EXPECT_EQ(p.current(a), second);
}

}  // namespace
}  // namespace diskless
