#include "util/neighbours.hpp"

#include <gtest/gtest.h>

namespace diskless {
namespace {

constexpr std::string_view table =
    "IP address       HW type     Flags       HW address            Mask     Device\n"
    "10.9.0.21        0x1         0x2         52:54:00:12:34:21     *        br0\n"
    "10.9.0.22        0x1         0x0         00:00:00:00:00:00     *        br0\n"
    "10.9.0.23        0x1         0x6         52:54:00:12:34:23     *        br0\n";

ipv4_address ip(std::string_view s) {
  return *ipv4_address::parse(s);
}

TEST(ArpEntry, CompleteEntryNamesItsMac) {
  EXPECT_EQ(arp_entry_for(table, ip("10.9.0.21")), mac_address::parse("52:54:00:12:34:21"));
  EXPECT_EQ(arp_entry_for(table, ip("10.9.0.23")), mac_address::parse("52:54:00:12:34:23"));
}

TEST(ArpEntry, IncompleteOrAbsentNamesNobody) {
  EXPECT_FALSE(arp_entry_for(table, ip("10.9.0.22")));
  EXPECT_FALSE(arp_entry_for(table, ip("10.9.0.99")));
}

TEST(ArpEntry, MalformedLinesAreSkipped) {
  constexpr std::string_view bad =
      "IP address HW type Flags HW address Mask Device\n"
      "10.9.0.21\n"
      "10.9.0.21 0x1 zz 52:54:00:12:34:21 * br0\n"
      "10.9.0.21 0x1 0x2 not-a-mac * br0\n"
      "\n"
      "10.9.0.21 0x1 0x2 52:54:00:12:34:21 * br0";  // no final newline
  EXPECT_EQ(arp_entry_for(bad, ip("10.9.0.21")), mac_address::parse("52:54:00:12:34:21"));
  EXPECT_FALSE(arp_entry_for("", ip("10.9.0.21")));
}

TEST(ArpEntry, TheHeaderIsNotAnEntry) {
  // Without the header line, the first entry would be skipped: the reader expects it.
  constexpr std::string_view only = "10.9.0.21 0x1 0x2 52:54:00:12:34:21 * br0\n";
  EXPECT_FALSE(arp_entry_for(only, ip("10.9.0.21")));
}

}  // namespace
}  // namespace diskless
