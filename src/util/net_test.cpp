#include "util/net.hpp"

#include <gtest/gtest.h>

namespace diskless {
namespace {

TEST(Mac, ParsesEveryAcceptedForm) {
  for (const char* s :
       {"52:54:00:12:34:0A", "52-54-00-12-34-0a", "5254.0012.340a", "52540012340A"}) {
    auto m = mac_address::parse(s);
    ASSERT_TRUE(m) << s;
    EXPECT_EQ(m->str(), "52:54:00:12:34:0a") << s;
    EXPECT_EQ(m->dashed(), "52-54-00-12-34-0a") << s;
  }
}

TEST(Mac, RejectsMalformed) {
  for (const char* s : {"", "52:54:00:12:34", "52:54:00:12:34:0g", "52:54-00:12:34:0a",
                        "52.54.00.12.34.0a", "5254.0012-340a", "52:54:00:12:34:0a:", "x"}) {
    EXPECT_FALSE(mac_address::parse(s)) << s;
  }
}

TEST(Ipv4, ParsesAndFormats) {
  auto a = ipv4_address::parse("10.77.0.1");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->value(), 0x0a4d0001u);
  EXPECT_EQ(a->str(), "10.77.0.1");
  EXPECT_EQ(ipv4_address::parse("255.255.255.255")->value(), 0xffffffffu);
}

TEST(Ipv4, RejectsMalformed) {
  for (const char* s : {"", "10.0.0", "10.0.0.256", "10.0.0.1.", "10..0.1", "a.b.c.d", "010.0.0.1",
                        " 10.0.0.1", "10.0.0.1 ", "1000.0.0.1"}) {
    EXPECT_FALSE(ipv4_address::parse(s)) << s;
  }
}

TEST(Ipv4, SubnetAndNetmask) {
  ipv4_subnet net{*ipv4_address::parse("10.0.0.0"), *ipv4_address::parse("255.255.255.0")};
  EXPECT_TRUE(net.contains(*ipv4_address::parse("10.0.0.200")));
  EXPECT_FALSE(net.contains(*ipv4_address::parse("10.0.1.1")));
  EXPECT_EQ(net.broadcast().str(), "10.0.0.255");
  EXPECT_TRUE(is_valid_netmask(*ipv4_address::parse("255.255.252.0")));
  EXPECT_FALSE(is_valid_netmask(*ipv4_address::parse("255.0.255.0")));
}

}  // namespace
}  // namespace diskless
