#include "dhcp/leases.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace diskless::dhcp {
namespace {

using namespace std::chrono_literals;
const sys_time t0{std::chrono::seconds(1800000000)};
ipv4_address ip(const char* s) {
  return *ipv4_address::parse(s);
}
mac_address mac(int i) {
  return mac_address(
      {0x52, 0x54, 0, 0, static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i)});
}

lease_table pool(const char* a, const char* b, std::unordered_set<ipv4_address> reserved = {}) {
  lease_table t;
  t.configure(ip(a), ip(b), std::move(reserved));
  return t;
}

TEST(DhcpLeases, AllocatesDistinctAddressesUntilExhausted) {
  auto t = pool("10.0.0.10", "10.0.0.13", {ip("10.0.0.11")});
  std::set<ipv4_address> got;
  for (int i = 0; i < 3; ++i) {
    auto a = t.allocate(mac(i), t0);
    ASSERT_TRUE(a);
    EXPECT_NE(*a, ip("10.0.0.11"));
    t.offer(mac(i), *a, t0);
    got.insert(*a);
  }
  EXPECT_EQ(got.size(), 3u);
  EXPECT_FALSE(t.allocate(mac(9), t0));
  // Offers expire: the address becomes free again.
  EXPECT_TRUE(t.allocate(mac(9), t0 + lease_table::offer_hold + 1s));
}

TEST(DhcpLeases, SameMacGetsSameAddress) {
  auto t = pool("10.0.0.10", "10.0.0.20");
  auto a = t.allocate(mac(1), t0);
  t.bind(mac(1), *a, t0 + 1h);
  (void)t.allocate(mac(2), t0);
  EXPECT_EQ(t.allocate(mac(1), t0), a);
  // Even after expiry, while nobody took it.
  EXPECT_EQ(t.allocate(mac(1), t0 + 2h), a);
}

TEST(DhcpLeases, NeverTwoMacs) {
  auto t = pool("10.0.0.10", "10.0.0.20");
  t.bind(mac(1), ip("10.0.0.10"), t0 + 1h);
  EXPECT_FALSE(t.free_for(ip("10.0.0.10"), mac(2), t0));
  EXPECT_TRUE(t.free_for(ip("10.0.0.10"), mac(1), t0));
  // A forced bind (static address) evicts the previous holder.
  t.bind(mac(2), ip("10.0.0.10"), t0 + 1h);
  EXPECT_EQ(t.by_mac(mac(1)), nullptr);
  EXPECT_EQ(t.holder(ip("10.0.0.10"), t0)->mac, mac(2));
}

TEST(DhcpLeases, ReleaseAndDecline) {
  auto t = pool("10.0.0.10", "10.0.0.11");
  t.bind(mac(1), ip("10.0.0.10"), t0 + 1h);
  t.release(mac(2), ip("10.0.0.10"));  // not the holder: ignored
  EXPECT_NE(t.holder(ip("10.0.0.10"), t0), nullptr);
  t.release(mac(1), ip("10.0.0.10"));
  EXPECT_EQ(t.holder(ip("10.0.0.10"), t0), nullptr);
  t.decline(ip("10.0.0.10"), t0 + 1h);
  EXPECT_FALSE(t.assignable(ip("10.0.0.10"), mac(3), t0));
  EXPECT_EQ(t.allocate(mac(3), t0), ip("10.0.0.11"));
}

TEST(DhcpLeases, JournalReplayRestoresState) {
  auto t = pool("10.0.0.10", "10.0.0.20");
  t.bind(mac(1), ip("10.0.0.10"), t0 + 1h);
  t.bind(mac(2), ip("10.0.0.11"), t0 + 1h);
  t.release(mac(2), ip("10.0.0.11"));
  t.bind(mac(3), ip("10.0.0.12"), t0 + 1h);
  t.decline(ip("10.0.0.13"), t0 + 1h);
  auto j = t.take_journal();
  EXPECT_FALSE(t.journal_pending());
  auto u = pool("10.0.0.10", "10.0.0.20");
  EXPECT_EQ(u.load(j), 0u);
  EXPECT_EQ(u.by_mac(mac(1))->ip, ip("10.0.0.10"));
  EXPECT_EQ(u.by_mac(mac(2)), nullptr);
  EXPECT_EQ(u.by_mac(mac(3))->ip, ip("10.0.0.12"));
  EXPECT_FALSE(u.assignable(ip("10.0.0.13"), mac(4), t0));
  // The snapshot is equivalent.
  auto v = pool("10.0.0.10", "10.0.0.20");
  EXPECT_EQ(v.load(u.snapshot(t0)), 0u);
  EXPECT_EQ(v.bound_count(t0), 2u);
  EXPECT_EQ(v.snapshot(t0).size(), u.snapshot(t0).size());
}

TEST(DhcpLeases, JournalSkipsGarbageAndTornLastLine) {
  auto t = pool("10.0.0.10", "10.0.0.20");
  auto n = t.load(
      "# comment\n"
      "B 52:54:00:00:00:01 10.0.0.10 1800003600\n"
      "B nonsense 10.0.0.11 1\n"
      "X what\n"
      "D 10.0.0.300 5\n"
      "B 52:54:00:00:00:02 10.0.0.12 18000");  // torn
  EXPECT_EQ(n, 4u);
  EXPECT_EQ(t.bound_count(t0), 1u);
}

TEST(DhcpLeases, ExpiredNotInSnapshot) {
  auto t = pool("10.0.0.10", "10.0.0.20");
  t.bind(mac(1), ip("10.0.0.10"), t0 + 1h);
  t.bind(mac(2), ip("10.0.0.11"), t0 - 1s);
  auto u = pool("10.0.0.10", "10.0.0.20");
  u.load(t.snapshot(t0));
  EXPECT_EQ(u.size(), 1u);
}

TEST(DhcpLeases, CompactionPolicy) {
  auto t = pool("10.0.0.10", "10.0.0.20");
  for (int i = 0; i < 4096; ++i) t.bind(mac(1), ip("10.0.0.10"), t0 + 1h);  // renewals
  EXPECT_FALSE(t.should_compact());  // not above 4096 records yet
  t.bind(mac(1), ip("10.0.0.10"), t0 + 1h);
  EXPECT_TRUE(t.should_compact());
  // The snapshot holds one line per live lease; replayed it gives the same table.
  const auto snap = t.snapshot(t0);
  t.mark_compacted();
  EXPECT_FALSE(t.should_compact());
  auto u = pool("10.0.0.10", "10.0.0.20");
  EXPECT_EQ(u.load(snap), 0u);
  EXPECT_EQ(u.by_mac(mac(1))->ip, ip("10.0.0.10"));
  EXPECT_EQ(std::count(snap.begin(), snap.end(), '\n'), 2);  // header + one lease
}

}  // namespace
}  // namespace diskless::dhcp
